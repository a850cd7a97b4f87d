"""Vocal stress indicators per segment and per speaker, and a 0-1 stress index.

Indicators (from the audio and the word timings, not the words' meaning):
- pitch variability: standard deviation of f0 in semitones around the speaker's median;
- loudness variability: standard deviation of the frame level (dB) over non-silent frames;
- speaking rate: words per second of speech.

Stress index = mean over the three indicators of clip((value - CALM) / (STRESSED - CALM),
0, 1). CALM/STRESSED are reference points for conversational English (about 2.5 vs 6
semitones, 5 vs 10 dB, 2.5 vs 4 words/s). 0 means every indicator at or below calm speech,
1 every indicator at or beyond the stressed reference; 0.5 is "noticeably agitated". It is a
heuristic screening signal (synthetic or monotone voices read low), not a diagnosis.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from processors.voice.acoustics import (
    FRAME_S,
    PITCH_HOP_S,
    SAMPLE_RATE,
    SILENT_DB,
    level_db,
    pitch_track,
)

CALM = {"pitch_sd_st": 2.5, "energy_sd_db": 5.0, "rate_wps": 2.5}
STRESSED = {"pitch_sd_st": 6.0, "energy_sd_db": 10.0, "rate_wps": 4.0}


@dataclass
class StretchAcoustics:
    """Raw measurements of one stretch of one speaker's speech."""

    f0: np.ndarray  # voiced f0 values, Hz
    levels: np.ndarray  # non-silent frame levels, dBFS
    words: int
    seconds: float
    rms: float = 0.0
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def pitch_hz(self) -> float | None:
        return float(np.median(self.f0)) if len(self.f0) >= 3 else None


def measure(audio: np.ndarray, start: float, end: float, words: int,
            tracks: Sequence[tuple[float, np.ndarray, np.ndarray]] = ()) -> StretchAcoustics:
    """Pitch, level and word count of audio[start:end] (seconds).

    `tracks`: (start_s, f0 every PITCH_HOP_S, levels every FRAME_S) of speech regions
    already analysed; their frames inside [start, end] are reused. Without them the stretch is
    analysed here."""
    x = audio[int(start * SAMPLE_RATE):max(int(end * SAMPLE_RATE), int(start * SAMPLE_RATE))]
    rms = float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) if len(x) else 0.0
    if tracks:
        f0_parts: list[np.ndarray] = []
        level_parts: list[np.ndarray] = []
        for t0, f0, levels in tracks:
            for values, hop, out in ((f0, PITCH_HOP_S, f0_parts),
                                     (levels, FRAME_S, level_parts)):
                times = t0 + hop * np.arange(len(values))
                out.append(values[(times >= start) & (times < end)])
        f0 = np.concatenate(f0_parts) if f0_parts else np.zeros(0, np.float32)
        levels = np.concatenate(level_parts) if level_parts else np.zeros(0, np.float32)
    else:
        f0, levels = pitch_track(x), level_db(x)
    return StretchAcoustics(f0[~np.isnan(f0)], levels[levels > SILENT_DB], words,
                            max(end - start, 0.0), rms)


def indicators(stretches: Sequence[StretchAcoustics]) -> dict[str, float]:
    """The three indicators and the index over the pooled stretches (one speaker, or all)."""
    f0 = np.concatenate([s.f0 for s in stretches]) if stretches else np.zeros(0)
    levels = np.concatenate([s.levels for s in stretches]) if stretches else np.zeros(0)
    seconds = sum(s.seconds for s in stretches)
    out = {
        "pitch_sd_st": float(np.std(12 * np.log2(f0 / np.median(f0)))) if len(f0) >= 3
        else 0.0,
        "energy_sd_db": float(np.std(levels)) if len(levels) >= 3 else 0.0,
        "rate_wps": sum(s.words for s in stretches) / seconds if seconds > 0 else 0.0,
    }
    out["stress_index"] = stress_index(out)
    return {k: round(v, 4) for k, v in out.items()}


def stress_index(values: dict[str, float]) -> float:
    """Mean clipped position of each indicator between CALM (0) and STRESSED (1)."""
    parts = [min(1.0, max(0.0, (values[k] - CALM[k]) / (STRESSED[k] - CALM[k]))) for k in CALM]
    return float(sum(parts) / len(parts))


def stress_report(by_speaker: dict[str, list[StretchAcoustics]]) -> dict[str, float | dict]:
    """{speaker: indicators, ..., "overall": the speakers' indices weighted by speech time}.

    Speakers are never pooled: pitch is relative to each speaker's own median."""
    report: dict[str, float | dict] = {}
    weighted = total = 0.0
    for speaker, stretches in by_speaker.items():
        values = indicators(stretches)
        report[speaker] = values
        seconds = sum(s.seconds for s in stretches)
        weighted += values["stress_index"] * seconds
        total += seconds
    report["overall"] = round(weighted / total, 4) if total else 0.0
    return report
