"""Validation and decoding of call recordings to 16 kHz mono float32.

Order of checks, cheapest first, so bad input is refused before it costs anything:

1. `empty_payload` — zero bytes;
2. `payload_too_large` — more than `max_bytes` (checked before any decoding);
3. `not_audio` — a declared content type that is not audio/video, bytes no demuxer
   recognises, or a container without an audio stream;
4. `too_long` — the container's declared duration over `max_duration_s` (before decoding),
   and again while decoding (headers can lie): decoding stops at the limit;
5. `corrupt_audio` — bytes with an audio file's header (`audio_magic`) of which no sample
   could be decoded; without such a header they are `not_audio`, whatever FFmpeg's prober
   guessed from them;
6. `no_speech` — the decoded audio never rises above `SILENCE_DBFS` (an hour of silence is
   refused in well under a second after decoding, before VAD or whisper see it).

Decoding uses PyAV (FFmpeg), as faster-whisper's `decode_audio` does, but streams the frames
so the duration limit is enforced as samples arrive.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import av
import numpy as np

from processors.errors import StepInputError

SAMPLE_RATE = 16000
DEFAULT_MAX_BYTES = 100 * 1024 * 1024
DEFAULT_MAX_DURATION_S = 7200.0
#: A 20 ms frame whose RMS is below this level (dBFS) is silent.
SILENCE_DBFS = -50.0
FRAME = SAMPLE_RATE // 50
#: Audio with less than this much non-silent time is refused as `no_speech`.
MIN_SOUND_S = 0.2
_ACCEPTED_TYPES = ("audio/", "video/", "application/octet-stream", "application/ogg")


def audio_magic(head: bytes) -> str | None:
    """The audio format whose signature starts `head`, if any (to tell corrupt from foreign)."""
    if head[:4] == b"RIFF" and head[8:12] in (b"WAVE", b""):
        return "WAV"
    if head[:4] in (b"fLaC", b"OggS") or head[4:8] == b"ftyp" or head[:4] == b"FORM":
        return {b"fLaC": "FLAC", b"OggS": "Ogg"}.get(head[:4], "MP4/AIFF")
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "MP3"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "WebM/Matroska"
    if head[:5] == b"#!AMR":
        return "AMR"
    return None


@dataclass
class DecodedAudio:
    samples: np.ndarray  # float32, mono, SAMPLE_RATE
    container: str

    @property
    def duration_s(self) -> float:
        return len(self.samples) / SAMPLE_RATE


def check_content_type(content_type: str | None) -> None:
    """A declared type must be audio/video (or unspecific); None means 'sniff the bytes'."""
    if content_type is None:
        return
    base = content_type.split(";")[0].strip().lower()
    if base and not base.startswith(_ACCEPTED_TYPES):
        raise StepInputError("not_audio", f"content type {base!r} is not audio")


def decode(data: bytes, *, content_type: str | None = None,
           max_bytes: int = DEFAULT_MAX_BYTES,
           max_duration_s: float = DEFAULT_MAX_DURATION_S) -> DecodedAudio:
    """Validate `data` and decode it to 16 kHz mono float32 (see the module doc for errors)."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise StepInputError("not_audio", f"expected bytes, got {type(data).__name__}")
    if len(data) == 0:
        raise StepInputError("empty_payload", "the recording is empty (0 bytes)")
    if len(data) > max_bytes:
        raise StepInputError("payload_too_large",
                             f"recording is {len(data)} bytes, over the {max_bytes} byte limit")
    check_content_type(content_type)
    magic = audio_magic(bytes(data[:16]))
    # without an audio header, bytes ffmpeg's prober happens to accept but cannot decode are
    # not audio; "corrupt" is kept for files that announce themselves as audio
    undecodable = "corrupt_audio" if magic else "not_audio"
    try:
        container = av.open(io.BytesIO(bytes(data)), mode="r", metadata_errors="ignore")
    except (av.FFmpegError, ValueError) as exc:
        if magic:  # an audio file's header, then nothing a demuxer can use
            raise StepInputError("corrupt_audio",
                                 f"{magic} header but the file is unreadable: {exc}") from exc
        raise StepInputError("not_audio", f"not a recognisable audio file: {exc}") from exc
    with container:
        if not container.streams.audio:
            raise StepInputError("not_audio",
                                 f"{container.format.name} container has no audio stream")
        declared = container.duration / av.time_base if container.duration else None
        if declared is not None and declared > max_duration_s:
            raise StepInputError("too_long", f"recording is {declared:.0f} s long, over the "
                                 f"{max_duration_s:.0f} s limit")
        pcm = _decode_stream(container, max_duration_s, undecodable)
        name = container.format.name
    if pcm.size == 0:
        raise StepInputError(undecodable, f"no audio samples could be decoded ({name})")
    samples = pcm.astype(np.float32) / 32768.0
    check_not_silent(samples)
    return DecodedAudio(samples, name)


def _decode_stream(container: av.container.InputContainer, max_duration_s: float,
                   undecodable: str = "corrupt_audio") -> np.ndarray:
    """int16 mono samples at SAMPLE_RATE; raises `too_long` as soon as the limit is passed."""
    limit = int(max_duration_s * SAMPLE_RATE)
    resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
    chunks: list[np.ndarray] = []
    total = 0

    def take(frames: list[av.AudioFrame]) -> None:
        nonlocal total
        for frame in frames:
            arr = frame.to_ndarray().reshape(-1)
            chunks.append(arr)
            total += arr.size
        if total > limit:
            raise StepInputError("too_long", f"recording is over the {max_duration_s:.0f} s "
                                 "limit (found while decoding)")

    try:
        for frame in container.decode(audio=0):
            take(resampler.resample(frame))
        take(resampler.resample(None))  # flush
    except av.FFmpegError as exc:
        if total == 0:
            raise StepInputError(undecodable, f"audio could not be decoded: {exc}") from exc
        # A recording cut short mid-stream: keep what decoded (the call up to the cut).
    return np.concatenate(chunks) if chunks else np.zeros(0, np.int16)


def frame_dbfs(samples: np.ndarray, frame: int = FRAME, chunk_frames: int = 50_000
               ) -> np.ndarray:
    """RMS level (dBFS) of every `frame`-sample frame, computed in chunks (bounded memory)."""
    n = len(samples) // frame
    out = np.empty(n, dtype=np.float32)
    for i in range(0, n, chunk_frames):
        j = min(n, i + chunk_frames)
        block = samples[i * frame:j * frame].reshape(j - i, frame).astype(np.float32)
        ms = np.einsum("ij,ij->i", block, block) / frame
        out[i:j] = 10.0 * np.log10(np.maximum(ms, 1e-12))
    return out


def check_not_silent(samples: np.ndarray) -> None:
    """Raise `no_speech` unless at least MIN_SOUND_S of audio is above SILENCE_DBFS."""
    levels = frame_dbfs(samples)
    loud = int(np.count_nonzero(levels > SILENCE_DBFS))
    if loud * FRAME < MIN_SOUND_S * SAMPLE_RATE:
        peak = float(levels.max()) if levels.size else float("-inf")
        raise StepInputError(
            "no_speech", f"no speech: {len(samples) / SAMPLE_RATE:.1f} s of audio with only "
            f"{loud * FRAME / SAMPLE_RATE:.2f} s above {SILENCE_DBFS:.0f} dBFS "
            f"(peak frame {peak:.1f} dBFS)")
