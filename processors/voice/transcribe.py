"""faster-whisper transcription of decoded audio: segments with word timings.

Every call uses `TRANSCRIBE_OPTIONS` (silero VAD on, word timestamps on: the speaker step
splits segments at word boundaries). The benchmark passes the same options to the bare
library, so the measured overhead is ours alone. `batched=True` runs faster-whisper's
`BatchedInferencePipeline` (VAD chunks decoded in batches) over the same model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from processors.voice.model import get_batched_pipeline, get_model

TRANSCRIBE_OPTIONS: dict[str, Any] = {"vad_filter": True, "word_timestamps": True,
                                      "beam_size": 5}
BATCH_SIZE = 8


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    text: str
    probability: float


@dataclass
class WhisperSegment:
    start: float
    end: float
    text: str
    avg_logprob: float
    no_speech_prob: float
    words: list[Word] = field(default_factory=list)

    @property
    def confidence(self) -> float:
        """exp(average token log-probability): 1.0 = the model was certain of every token."""
        return float(min(1.0, max(0.0, math.exp(self.avg_logprob))))


@dataclass
class WhisperResult:
    segments: list[WhisperSegment]
    language: str
    language_probability: float


def run_whisper(audio: np.ndarray, *, batched: bool = False, cpu_threads: int | None = None
                ) -> WhisperResult:
    """Transcribe 16 kHz mono float32 `audio`; segments in time order, empty texts dropped."""
    if batched:
        segments, info = get_batched_pipeline(cpu_threads).transcribe(
            audio, batch_size=BATCH_SIZE, **TRANSCRIBE_OPTIONS)
    else:
        segments, info = get_model(cpu_threads).transcribe(audio, **TRANSCRIBE_OPTIONS)
    out = []
    for s in segments:  # the generator runs the model
        text = s.text.strip()
        if not text:
            continue
        words = [Word(float(w.start), float(w.end), w.word, float(w.probability))
                 for w in (s.words or [])]
        out.append(WhisperSegment(float(s.start), float(s.end), text, float(s.avg_logprob),
                                  float(s.no_speech_prob), words))
    out.sort(key=lambda s: s.start)
    return WhisperResult(out, info.language, float(info.language_probability))
