"""AI agents: units of AI work that declare capabilities and run typed tasks (issue 11).

Not to be confused with a Faust agent (`streams/`), which is a stream processor: an AI agent
here knows no Kafka. `model.py` holds the agent contract, `selection.py` how the best capable
agent is picked from learned performance, `status.py` how an agent's status is derived from
its task events.
"""
