"""Errors of a model call (light: importing them does not load LiteLLM).

Callers that fall back to rules when a model fails catch `LlmError`; the gateway raises it.
"""

from __future__ import annotations

__all__ = ["BudgetExceeded", "LlmError", "ModelOutputError", "NoModelAvailable"]


class LlmError(RuntimeError):
    """A model call could not produce a valid answer."""


class BudgetExceeded(LlmError):
    """The tenant's daily budget does not allow this call and no free model can take it."""


class NoModelAvailable(LlmError):
    """No configured model is available for the operation."""


class ModelOutputError(LlmError):
    """The model answered, but not with JSON matching the requested schema."""
