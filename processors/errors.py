"""Errors a processor raises for input it will not process; `kind` names the DLQ reason."""

from __future__ import annotations


class StepInputError(ValueError):
    """Input a step refuses; the stream routes it to the dead-letter topic as `kind`."""

    kind = "invalid_input"

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind

    def __reduce__(self) -> tuple[type[StepInputError], tuple[str, str]]:
        # picklable with both arguments: steps raise it inside process-pool workers
        return (type(self), (self.kind, str(self)))
