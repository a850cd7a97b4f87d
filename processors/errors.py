"""Errors a processor raises for input it will not process; `kind` names the DLQ reason."""

from __future__ import annotations


class StepInputError(ValueError):
    """Input a step refuses; the stream routes it to the dead-letter topic as `kind`."""

    kind = "invalid_input"

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
