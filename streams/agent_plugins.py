"""Extra AI agents the worker runs, named by configuration: a dealership integrator's own
agents next to the built-in ones (processors/ai_agents/builtin.py).

    AUTERITY_AGENT_PLUGINS=my_dealer.agents:make_agents,other.module:agents

Each `module:function` is imported and called with the worker's LLM gateway; it returns AI
agents (processors/ai_agents/model.py `AiAgent`), which register, announce themselves and
take tasks like the built-in ones (selection learns their performance the same way).

Invariant: a bad entry stops the worker at start-up with an error naming the entry and what
is wrong with it; a worker never runs silently without an agent it was told to run.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from processors.ai_agents.model import AiAgent
from processors.llm.gateway import LlmGateway


class PluginError(ValueError):
    """An AUTERITY_AGENT_PLUGINS entry that cannot give agents."""


def load_plugins(spec: str, gateway: LlmGateway) -> list[AiAgent]:
    """The agents every entry of `spec` (module doc) returns, in order."""
    agents: list[AiAgent] = []
    for entry in (e.strip() for e in spec.split(",")):
        if not entry:
            continue
        module_name, sep, function_name = entry.partition(":")
        if not sep or not module_name or not function_name.isidentifier():
            raise PluginError(f"AUTERITY_AGENT_PLUGINS entry {entry!r} is not module:function")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise PluginError(f"AUTERITY_AGENT_PLUGINS entry {entry!r}: cannot import "
                              f"{module_name}: {exc}") from exc
        factory = getattr(module, function_name, None)
        if not callable(factory):
            raise PluginError(f"AUTERITY_AGENT_PLUGINS entry {entry!r}: {module_name} has no "
                              f"function {function_name}")
        try:
            made = factory(gateway)
        except Exception as exc:
            raise PluginError(f"AUTERITY_AGENT_PLUGINS entry {entry!r} failed: "
                              f"{type(exc).__name__}: {exc}") from exc
        got: list[object] = ([made] if isinstance(made, AiAgent)
                             or not isinstance(made, Iterable)
                             or isinstance(made, str | bytes) else list(made))
        wrong = sorted({type(a).__name__ for a in got if not isinstance(a, AiAgent)})
        if wrong or not got:
            raise PluginError(f"AUTERITY_AGENT_PLUGINS entry {entry!r} returned "
                              f"{', '.join(wrong) if wrong else 'no agents'}, not AiAgent "
                              "instances")
        agents.extend(a for a in got if isinstance(a, AiAgent))
    return agents
