"""AUTERITY_AGENT_PLUGINS: configured agents load, and a bad entry names itself."""

from __future__ import annotations

import pytest

from processors.llm.gateway import LlmGateway
from streams.agent_plugins import PluginError, load_plugins

GATEWAY = LlmGateway.__new__(LlmGateway)  # the factories below never call it


def test_configured_agents_load_in_order() -> None:
    agents = load_plugins(" tests.integration.agent_plugins:agents ,", GATEWAY)
    assert [a.agent_id for a in agents] == ["quote-broken-1", "quote-steady-1"]
    assert load_plugins("", GATEWAY) == []


@pytest.mark.parametrize(("entry", "message"), [
    ("tests.integration.agent_plugins", "is not module:function"),
    ("no_such_module_xyz:agents", "cannot import no_such_module_xyz"),
    ("tests.integration.agent_plugins:missing", "has no function missing"),
    ("tests.integration.agent_plugins:TASK_TYPE", "has no function TASK_TYPE"),
    ("builtins:str", "returned str, not AiAgent"),
    ("json:dumps", "failed: TypeError"),
])
def test_a_bad_entry_stops_the_worker_naming_it(entry: str, message: str) -> None:
    with pytest.raises(PluginError, match=message) as exc:
        load_plugins(f"tests.integration.agent_plugins:agents,{entry}", GATEWAY)
    assert entry in str(exc.value)
