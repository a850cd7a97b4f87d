"""The agent step's results table: keyed by task id (partitioned like the requests), one
answer per tenant in a row, so equal task ids of two tenants never share an answer."""

from streams.agent_steps import stored_answer, with_answer


def test_a_row_keeps_one_answer_per_tenant() -> None:
    row = with_answer(b"", "dealer-a", b"\x00\x01answer-a")
    row = with_answer(row, "dealer-b", b"answer-b")
    assert stored_answer(row, "dealer-a") == b"\x00\x01answer-a"
    assert stored_answer(row, "dealer-b") == b"answer-b"
    assert stored_answer(row, "dealer-c") is None
    assert stored_answer(b"", "dealer-a") is None
