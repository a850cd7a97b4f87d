"""The agent step's results table: keyed by task id (partitioned like the requests), one
answer per tenant in a row, so equal task ids of two tenants never share an answer; an
answer keeps the outbox records too (a redelivery sends them again)."""

import base64
import json

from streams.agent_steps import Answer, stored_answer, with_answer


def test_a_row_keeps_one_answer_per_tenant() -> None:
    row = with_answer(b"", "dealer-a", b"\x00\x01answer-a")
    row = with_answer(row, "dealer-b", b"answer-b", (b"mail-1", b"\xffmail-2"))
    assert stored_answer(row, "dealer-a") == Answer(b"\x00\x01answer-a", ())
    assert stored_answer(row, "dealer-b") == Answer(b"answer-b", (b"mail-1", b"\xffmail-2"))
    assert stored_answer(row, "dealer-c") is None
    assert stored_answer(b"", "dealer-a") is None


def test_a_row_written_before_outbox_records_still_reads() -> None:
    old = json.dumps({"dealer-a": base64.b64encode(b"answer").decode()}).encode()
    assert stored_answer(old, "dealer-a") == Answer(b"answer", ())
