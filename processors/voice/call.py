"""The voice step's API: `transcribe_audio` (audio -> Transcript, CPU only, no LLM) and
`analyze_transcript` (redacted segments -> CallReport, optionally with the LLM gateway).

`transcribe_audio` is a module-level function of picklable arguments, so the stream can run
it inside a spawn ProcessPoolExecutor worker (the model loads once per worker process).

Privacy invariant: in the stream `analyze_transcript` receives REDACTED segments
(`processors.pii.pieces.redact_pieces`), and only those texts go into a model prompt; it
works on raw text too (the CLI, tests), where PERSON/phone detection falls back to spaCy and
a phone pattern.
"""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import datetime
from typing import TYPE_CHECKING

from processors.errors import StepInputError
from processors.voice.action_items import model_action_items, rule_action_items
from processors.voice.audio import DEFAULT_MAX_BYTES, DEFAULT_MAX_DURATION_S, decode
from processors.voice.language import parse
from processors.voice.models import (
    ActionItemOut,
    CallReport,
    CallScore,
    Segment,
    Transcript,
)
from processors.voice.scoring import score_call
from processors.voice.sentiment import call_sentiment, compound, label
from processors.voice.speakers import diarize
from processors.voice.stress import StretchAcoustics, measure, stress_report
from processors.voice.summary import summarize
from processors.voice.transcribe import run_whisper

if TYPE_CHECKING:
    from processors.llm.gateway import LlmGateway

__all__ = ["ActionItemOut", "CallReport", "CallScore", "Segment", "Transcript",
           "analyze_transcript", "transcribe_audio"]


def transcribe_audio(data: bytes, *, content_type: str | None = None,
                     max_bytes: int = DEFAULT_MAX_BYTES,
                     max_duration_s: float = DEFAULT_MAX_DURATION_S, batched: bool = False,
                     cpu_threads: int | None = None) -> Transcript:
    """Validate, decode, transcribe (faster-whisper + VAD), split speakers, measure stress.

    Raises StepInputError (`empty_payload`, `payload_too_large`, `not_audio`,
    `corrupt_audio`, `too_long`, `no_speech`) for input it will not process."""
    started = time.perf_counter()
    audio = decode(data, content_type=content_type, max_bytes=max_bytes,
                   max_duration_s=max_duration_s)
    result = run_whisper(audio.samples, batched=batched, cpu_threads=cpu_threads)
    if not result.segments:
        raise StepInputError("no_speech", f"no speech found in {audio.duration_s:.1f} s of "
                             "audio (voice activity detection found none)")
    pieces, regions = diarize(audio.samples, result.segments)
    segments: list[Segment] = []
    by_speaker: dict[str, list[StretchAcoustics]] = defaultdict(list)
    for p in pieces:
        tracks = [(r.start, r.f0, r.levels) for r in regions
                  if r.start < p.end and p.start < r.end]
        acoustics = measure(audio.samples, p.start, p.end, len(p.words), tracks)
        by_speaker[p.speaker].append(acoustics)
        segments.append(Segment(
            start=round(p.start, 3), end=round(p.end, 3), text=p.text, speaker=p.speaker,
            confidence=round(p.source.confidence, 4),
            no_speech_prob=round(p.source.no_speech_prob, 4),
            pitch_hz=round(acoustics.pitch_hz, 1) if acoustics.pitch_hz else None,
            energy=round(acoustics.rms, 5)))
    speech = sum(r.end - r.start for r in regions)
    return Transcript(
        text=" ".join(s.text for s in segments), language=result.language,
        language_probability=round(result.language_probability, 4),
        duration_s=round(audio.duration_s, 3), segments=segments,
        speakers=sorted({s.speaker for s in segments}), stress=stress_report(by_speaker),
        speech_s=round(speech, 3), silence_s=round(max(0.0, audio.duration_s - speech), 3),
        processing_ms=round((time.perf_counter() - started) * 1000, 1))


def analyze_transcript(segments: list[Segment], *, call_time: datetime,
                       gateway: LlmGateway | None = None, tenant_id: str = "cli",
                       user_id: str | None = None, silence_s: float = 0.0) -> CallReport:
    """Sentiment, action items (rules, then the model if `gateway`), summary and score.

    A failing model never fails the analysis: rules/extractive results stand, `notes` say
    why. Deadlines are resolved from `call_time`, never from the clock."""
    notes: list[str] = []
    scores = [round(compound(s.text), 4) for s in segments]
    overall = call_sentiment(segments, scores)
    docs = parse([s.text for s in segments])
    items = rule_action_items(segments, call_time, docs=docs)
    if gateway is not None:
        items, note = model_action_items(gateway, segments, items, call_time,
                                         tenant_id=tenant_id, user_id=user_id)
        notes.append(note)
    summary, source, summary_note = summarize(segments, items, gateway=gateway,
                                              tenant_id=tenant_id, user_id=user_id)
    if summary_note:
        notes.append(summary_note)
    score, score_notes = score_call(segments, silence_s=silence_s, docs=docs)
    notes += score_notes
    return CallReport(sentiment=overall, sentiment_label=label(overall),
                      segment_sentiments=scores, action_items=items, summary=summary,
                      summary_source=source, score=score, notes=notes)
