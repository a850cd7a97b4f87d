"""The clock command's spans."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cli.runs import parse_span


@pytest.mark.parametrize("text, span", [("90s", timedelta(seconds=90)),
                                        ("15m", timedelta(minutes=15)),
                                        ("1.5h", timedelta(hours=1.5)),
                                        ("3d", timedelta(days=3))])
def test_spans(text: str, span: timedelta) -> None:
    assert parse_span(text) == span


@pytest.mark.parametrize("text", ["3", "-1d", "3 days", "d", "1w"])
def test_a_bad_span_is_named(text: str) -> None:
    with pytest.raises(ValueError, match="not a span like 90s"):
        parse_span(text)
