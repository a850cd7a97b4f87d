"""Speaker turns of a two-party call: VAD regions clustered by voice, words split at turns.

1. `speech_regions`: silero VAD (faster-whisper's) with short pauses (MIN_PAUSE_MS), so a
   region rarely holds two speakers (turns are separated by at least a short pause).
2. `region_features`: per region, log2 of the median pitch and the mean MFCCs 1-12
   (timbre), z-scored across the call; pitch is weighted PITCH_WEIGHT times a single MFCC.
3. `two_means`: k-means with k=2, deterministic (seeded by the two regions farthest apart).
   A call whose two clusters are not separated (`separation` < MIN_SEPARATION, e.g. one
   voice: voicemail, a monologue) has one speaker, "speaker_1".
4. Roles: the cluster that says a greeting ("thanks for calling", "how can I help") is the
   agent; without one, ASSUMPTION: the call is inbound and the first speaker is the agent
   (the dealership answers the phone).
5. `split_by_cluster`: every whisper word goes to the region it overlaps most (or the
   nearest), and a segment is cut where the speaker of consecutive words changes, because
   whisper segments can span a turn change, or at a pause of SPLIT_GAP_S or more.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from faster_whisper.vad import VadOptions, get_speech_timestamps

from processors.voice.acoustics import SAMPLE_RATE, level_db, mfcc, pitch_track
from processors.voice.transcribe import WhisperSegment, Word

MIN_PAUSE_MS = 400
#: Seconds of a region whose MFCCs are averaged (timbre settles within a few seconds).
TIMBRE_S = 6.0
PITCH_WEIGHT = 3.0
#: Measured on the generated calls: one voice 1.4-2.3, two voices 3.1-4.0.
MIN_SEPARATION = 2.7
#: A pause this long inside a whisper segment also starts a new piece (e.g. a hold).
SPLIT_GAP_S = 1.5
AGENT, CUSTOMER, SINGLE = "agent", "customer", "speaker_1"
GREETING = re.compile(
    r"\b(thanks?( you)? for (calling|holding|contacting)|how (can|may) i (help|assist)|"
    r"this is \S+( \S+)? speaking|you'?ve reached)\b", re.IGNORECASE)


@dataclass
class Region:
    start: float
    end: float
    cluster: int = 0
    pitch_hz: float | None = None
    #: f0 (Hz, NaN unvoiced; every PITCH_HOP_S) and level (dBFS; every FRAME_S) from `start`
    f0: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    levels: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))


@dataclass
class Piece:
    """A stretch of one whisper segment spoken by one speaker."""

    start: float
    end: float
    text: str
    cluster: int
    source: WhisperSegment
    words: list[Word] = field(default_factory=list)
    speaker: str = SINGLE


def speech_regions(audio: np.ndarray) -> list[Region]:
    """Speech stretches (seconds) separated by pauses of at least MIN_PAUSE_MS."""
    stamps = get_speech_timestamps(
        audio, VadOptions(min_silence_duration_ms=MIN_PAUSE_MS, speech_pad_ms=60))
    return [Region(s["start"] / SAMPLE_RATE, s["end"] / SAMPLE_RATE) for s in stamps]


def region_features(audio: np.ndarray, regions: Sequence[Region]) -> np.ndarray:
    """(n_regions, 13): log2 median pitch, then mean MFCC 1..12 (20 ms hop, at most
    TIMBRE_S seconds per region). Sets each region's pitch track and levels for stress."""
    rows = []
    for r in regions:
        x = audio[int(r.start * SAMPLE_RATE):int(r.end * SAMPLE_RATE)]
        r.f0, r.levels = pitch_track(x), level_db(x)
        voiced = r.f0[~np.isnan(r.f0)]
        r.pitch_hz = float(np.median(voiced)) if len(voiced) >= 3 else None
        c = mfcc(x[: int(TIMBRE_S * SAMPLE_RATE)], hop=SAMPLE_RATE // 50)
        timbre = c[:, 1:].mean(axis=0) if len(c) else np.full(12, np.nan)
        rows.append(np.concatenate([[np.log2(r.pitch_hz) if r.pitch_hz else np.nan], timbre]))
    feats = np.array(rows, dtype=np.float64).reshape(len(regions), 13)
    for j in range(feats.shape[1]):  # unknown values (unvoiced, too short) -> column median
        col = feats[:, j]
        col[np.isnan(col)] = np.nanmedian(col) if np.any(~np.isnan(col)) else 0.0
    std = feats.std(axis=0)
    z = (feats - feats.mean(axis=0)) / np.where(std > 1e-9, std, 1.0)
    z[:, 0] *= PITCH_WEIGHT
    return z


def two_means(z: np.ndarray, iterations: int = 50) -> tuple[np.ndarray, float]:
    """k-means, k=2 -> (labels, separation). Separation = distance between the centroids
    over the mean within-cluster distance (how many 'cluster radii' apart they are)."""
    n = len(z)
    if n < 2:
        return np.zeros(n, dtype=int), 0.0
    a = int(np.argmax(np.linalg.norm(z - z.mean(axis=0), axis=1)))
    b = int(np.argmax(np.linalg.norm(z - z[a], axis=1)))
    centroids = z[[a, b]].copy()
    labels = np.zeros(n, dtype=int)
    for iteration in range(iterations):
        dist = np.linalg.norm(z[:, None, :] - centroids[None, :, :], axis=2)
        new = np.argmin(dist, axis=1)
        if iteration and np.array_equal(new, labels):
            break
        labels = new
        for k in (0, 1):
            if np.any(labels == k):
                centroids[k] = z[labels == k].mean(axis=0)
    if len(set(labels.tolist())) < 2:
        return labels, 0.0
    within = np.mean(np.linalg.norm(z - centroids[labels], axis=1))
    between = float(np.linalg.norm(centroids[0] - centroids[1]))
    return labels, between / max(float(within), 1e-9)


def _region_of(word: Word, regions: Sequence[Region]) -> int:
    overlaps = [min(word.end, r.end) - max(word.start, r.start) for r in regions]
    best = int(np.argmax(overlaps))
    if overlaps[best] > 0:
        return best
    mid = (word.start + word.end) / 2
    return int(np.argmin([min(abs(mid - r.start), abs(mid - r.end)) for r in regions]))


def split_by_cluster(segments: Sequence[WhisperSegment], regions: Sequence[Region]
                     ) -> list[Piece]:
    """Cut segments where the cluster of consecutive words' regions changes."""
    pieces: list[Piece] = []
    for seg in segments:
        first = len(pieces)
        current: Piece | None = None
        for w in seg.words or [Word(seg.start, seg.end, seg.text, 1.0)]:
            cluster = regions[_region_of(w, regions)].cluster if regions else 0
            if current is None or cluster != current.cluster or \
                    w.start - current.end >= SPLIT_GAP_S:
                current = Piece(w.start, w.end, "", cluster, seg)
                pieces.append(current)
            current.words.append(w)
            current.end = w.end
        for p in pieces[first:]:
            p.text = "".join(w.text for w in p.words).strip()
    return [p for p in pieces if p.text]


def name_clusters(pieces: Sequence[Piece], separated: bool) -> dict[int, str]:
    """Cluster id -> "agent"/"customer" (or "speaker_1" for both when only one voice)."""
    if not separated or not pieces:
        return {0: SINGLE, 1: SINGLE}
    greetings = {0: 0, 1: 0}
    for p in pieces:
        greetings[p.cluster] += len(GREETING.findall(p.text))
    if greetings[0] != greetings[1]:
        agent = 0 if greetings[0] > greetings[1] else 1
    else:  # ASSUMPTION: inbound call, the dealership speaks first
        agent = pieces[0].cluster
    return {agent: AGENT, 1 - agent: CUSTOMER}


def diarize(audio: np.ndarray, segments: Sequence[WhisperSegment]
            ) -> tuple[list[Piece], list[Region]]:
    """Speaker-labelled pieces of `segments` and the speech regions they came from."""
    regions = speech_regions(audio)
    if not regions:
        regions = [Region(s.start, s.end) for s in segments]
    z = region_features(audio, regions)
    labels, separation = two_means(z)
    for r, k in zip(regions, labels, strict=True):
        r.cluster = int(k)
    pieces = split_by_cluster(segments, regions)
    names = name_clusters(pieces, separation >= MIN_SEPARATION)
    for p in pieces:
        p.speaker = names[p.cluster]
    return pieces, regions
