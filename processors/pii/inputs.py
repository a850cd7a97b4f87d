"""Checks a text must pass before redaction (shared by the stream and the CLI)."""

from __future__ import annotations

from processors.errors import StepInputError


def check_text(text: str, max_chars: int) -> None:
    """Raise StepInputError('empty_text' | 'oversized') for text the redactor will not take."""
    if not text.strip():
        raise StepInputError("empty_text", "text is empty or whitespace only")
    if len(text) > max_chars:
        raise StepInputError(
            "oversized", f"text has {len(text):,} characters; the limit is {max_chars:,} "
            "(AUTERITY_MAX_TEXT_CHARS)")
