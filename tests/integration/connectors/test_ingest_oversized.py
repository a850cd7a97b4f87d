"""`auterity produce`: a line too large for the topic is reported by its line number and
reason, every other line is sent and acknowledged, and the command exits non-zero."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from connectors.kafka_io import read_topic
from runtime.kafka_auth import Principal
from runtime.settings import REPO_ROOT
from schemas import serde, topics
from schemas.events import ConversationMessageRaw


def _line(tenant: str, conversation: str, text: str) -> str:
    return json.dumps({"event_id": str(uuid.uuid4()), "tenant_id": tenant,
                       "conversation_id": conversation, "channel": "sms", "text": text})


def test_oversized_line_is_reported_and_the_others_are_sent(settings, tmp_path: Path):
    run = f"big{uuid.uuid4().hex[:8]}"
    tenant = f"{run}-dealer"
    text = "My car needs an oil change. " * (9_000_000 // 28 + 1)  # ~9 MB
    assert len(text.encode()) > settings.max_message_bytes
    lines = [_line(tenant, f"{run}-c1", "first line, small"),
             _line(tenant, f"{run}-c2", text),
             _line(tenant, f"{run}-c3", "third line, small")]
    path = tmp_path / "three.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    proc = subprocess.run(
        [sys.executable, "-m", "cli.main", "produce", "--topic", "conversations.raw", str(path)],
        cwd=REPO_ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=180)

    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    rejected = [ln for ln in proc.stderr.splitlines() if ln.startswith("rejected")]
    assert len(rejected) == 1, proc.stderr
    assert "line 2:" in rejected[0] and "bytes" in rejected[0] and "limit" in rejected[0], \
        rejected[0]
    assert "sent 2 event(s)" in proc.stdout and "rejected 1" in proc.stdout, proc.stdout

    topic = topics.CONVERSATIONS_RAW.name(settings.topic_prefix)
    mine = sorted(ev.conversation_id for ev in (
        serde.decode(m.value(), ConversationMessageRaw)
        for m in read_topic(settings, topic, principal=Principal.PII_STEP))
        if ev.tenant_id == tenant)
    assert mine == [f"{run}-c1", f"{run}-c3"]
