"""`auterity agents task` refuses input that is no JSON object, naming what is wrong."""

import pytest

from cli.agents import task_request
from cli.main import build_parser


def test_task_input_must_be_a_json_object() -> None:
    req = task_request("llm_generate", '{"prompt": "hi"}', "dealer-1")
    assert req.task_type == "llm_generate" and req.task_id.startswith("task-")
    with pytest.raises(ValueError, match="not JSON"):
        task_request("llm_generate", "{prompt: hi}", "dealer-1")
    with pytest.raises(ValueError, match="JSON object, not a list"):
        task_request("llm_generate", "[1]", "dealer-1")


def test_agents_commands_parse() -> None:
    args = build_parser().parse_args(["agents", "task", "llm_generate", "--input", "{}",
                                      "--wait", "5"])
    assert args.wait == 5.0 and args.tenant == "dealer-001"
    assert build_parser().parse_args(["agents", "list", "--json"]).json is True


def test_performance_days_must_be_positive() -> None:
    from cli.agents import cmd_agents_performance

    args = build_parser().parse_args(["agents", "performance", "--days", "0"])
    with pytest.raises(ValueError, match="--days"):
        cmd_agents_performance(args, None)  # type: ignore[arg-type]
