"""The Faust passthrough worker the Kafka benchmark measures (run as a subprocess).

    python -m bench.faust_passthrough '<json config>'

A Faust app built with streams/app.py's settings, with one agent that decodes each raw
conversation event and forwards it re-encoded. `bench.kafka_bench.faust_passthrough` starts
it with its config and stops it; only this subprocess loads Faust.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import faust
from faust import Worker

from runtime.kafka_auth import Principal
from runtime.settings import Settings
from schemas import serde
from schemas.events import ConversationMessageRaw
from streams.app import new_faust_app


def main(config: dict[str, Any]) -> None:
    """Run the passthrough worker until terminated."""
    app = new_faust_app(Settings(home=Path(config["home"]), kafka_bootstrap=config["kafka_servers"],
                                 app_id=config["app_id"],
                                 max_message_bytes=config["max_message_bytes"]),
                        principal=Principal.PII_STEP)  # the worker's login and ACLs
    in_topic = app.topic(config["in_topic"], key_type=bytes, value_type=bytes, partitions=3)
    out_topic = app.topic(config["out_topic"], key_type=bytes, value_type=bytes)

    @app.agent(in_topic, name="bench-passthrough")
    async def passthrough(stream: faust.StreamT) -> None:
        # take_events is in faust-streaming's Stream but not in its StreamT protocol
        async for batch in stream.take_events(config["batch"], 0.05):  # type: ignore[attr-defined]
            futures = []
            for ev in batch:
                event = serde.decode(ev.message.value, ConversationMessageRaw)
                futures.append(await out_topic.send(key=ev.message.key,
                                                    value=serde.encode(event)))
            await asyncio.gather(*futures)

    sys.argv = [sys.argv[0], "worker"]
    Worker(app, loglevel="warning", quiet=True, override_logging=True).execute_from_commandline()


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
