"""The step loop's whole-batch fallback and the redaction step's grouping (no Kafka)."""

from __future__ import annotations

import asyncio
from typing import Any

from processors.errors import StepInputError
from runtime.postgres import StoreUnavailable
from streams.redaction_step import split_by_subject
from streams.step_loop import (
    STORE_RETRY_S,
    Outcome,
    error_kind,
    run_with_fallback,
    until_stores_answer,
)


def _fallback(handler: Any, events: list[Any]) -> tuple[list[Outcome], list[Any]]:
    told: list[Any] = []
    out = asyncio.run(run_with_fallback(handler, events, "t",
                                        lambda ev, exc: told.append((ev, type(exc)))))
    return out, told


def test_a_batch_that_fails_as_a_whole_is_retried_record_by_record() -> None:
    async def handler(events: list[int]) -> list[Outcome]:
        if 3 in events and len(events) > 1:
            raise RuntimeError("the batch broke")
        if events == [3]:
            raise ZeroDivisionError("record 3 breaks on its own")
        return [[("topic", b"k", str(e).encode())] for e in events]

    out, told = _fallback(handler, [1, 2, 3, 4])
    assert out[0] == [("topic", b"k", b"1")] and out[3] == [("topic", b"k", b"4")]
    assert isinstance(out[2], ZeroDivisionError) and error_kind(out[2]) is None
    assert told == [(3, ZeroDivisionError)]  # only the record that fails alone


def test_a_refusal_keeps_its_kind_and_is_not_reported_as_unexpected() -> None:
    async def handler(events: list[str]) -> list[Outcome]:
        if len(events) > 1:
            raise RuntimeError("batch")
        if events == ["empty"]:
            raise StepInputError("empty_text", "text is empty")
        return [[]]

    out, told = _fallback(handler, ["a", "empty"])
    assert out[0] == [] and error_kind(out[1]) == "empty_text" and told == []


def test_a_handler_that_miscounts_its_outcomes_is_not_trusted() -> None:
    async def handler(events: list[int]) -> list[Outcome]:
        return [[] for _ in events[:-1]] if len(events) > 1 else [[]] * (events[0] % 2)

    out, _ = _fallback(handler, [1, 2, 3])
    assert out[0] == [] and out[2] == []
    assert isinstance(out[1], RuntimeError)  # 2 -> no outcome: a dead letter, not a gap


def test_split_by_subject_keeps_each_conversation_whole_and_in_order() -> None:
    subjects = ["a", "b", "a", "c", "a", "b", "d"]
    groups = split_by_subject(subjects, 2)
    assert sorted(i for g in groups for i in g) == list(range(len(subjects)))
    for g in groups:
        assert g == sorted(g)
    owner = {subjects[i]: n for n, g in enumerate(groups) for i in g}
    assert all(owner[subjects[i]] == n for n, g in enumerate(groups) for i in g)
    assert len(groups) == 2 and split_by_subject(subjects, 1) == [list(range(7))]
    assert split_by_subject([], 2) == []


def test_records_whose_store_is_down_run_again_instead_of_becoming_dead_letters() -> None:
    calls: list[list[int]] = []
    waits: list[float] = []

    async def run(events: list[int]) -> list[Outcome]:
        calls.append(list(events))
        down = len(calls) < 3  # the store answers from the third call on
        return [StoreUnavailable("ledger: Postgres unavailable") if down and e % 2 else
                [("topic", b"k", str(e).encode())] for e in events]

    async def sleep(s: float) -> None:
        waits.append(s)

    out = asyncio.run(until_stores_answer(run, [1, 2, 3], "t", sleep))
    assert [o[0][2] for o in out if isinstance(o, list)] == [b"1", b"2", b"3"]
    assert calls == [[1, 2, 3], [1, 3], [1, 3]]  # only the waiting records, in order
    assert waits == [STORE_RETRY_S, STORE_RETRY_S * 2]
