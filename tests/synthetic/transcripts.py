"""The generated calls through `transcribe_audio` (the stream's path), once per process."""

from __future__ import annotations

from connectors.samples.calls import GeneratedCall, generated_calls
from processors.voice.models import Transcript

_TRANSCRIPTS: dict[str, list[tuple[GeneratedCall, Transcript]]] = {}


def transcribed_calls() -> list[tuple[GeneratedCall, Transcript]]:
    """Every generated call through `transcribe_audio` (the stream's path), once per process."""
    from processors.voice.call import transcribe_audio

    if "transcribed" not in _TRANSCRIPTS:
        _TRANSCRIPTS["transcribed"] = [(c, transcribe_audio(c.path.read_bytes()))
                                       for c in generated_calls()]
    return _TRANSCRIPTS["transcribed"]
