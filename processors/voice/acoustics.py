"""Frame-level acoustic features in numpy: pitch (autocorrelation), level (RMS dB), MFCCs.

All functions take 16 kHz mono float32 samples of one stretch of speech (a VAD region or a
segment), so memory stays bounded by the stretch, never the whole call.

- `pitch_track`: f0 every 40 ms over 40 ms frames in 60-400 Hz with YIN (de Cheveigné &
  Kawahara 2002): the cumulative-mean-normalised difference function, first dip below
  YIN_THRESHOLD (else the global minimum); voiced when that dip is < VOICING and the frame is
  not silent. The first-dip rule is what avoids the octave errors of a plain ACF peak.
- `level_db`: RMS level (dBFS) per 20 ms frame.
- `mfcc`: 13 mel-frequency cepstral coefficients per 10 ms hop (25 ms Hamming frames,
  26 mel bands, DCT-II), the usual speaker-timbre feature.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

SAMPLE_RATE = 16000
FRAME_S = 0.02  # frame of level_db
PITCH_HOP_S = 0.04  # hop of pitch_track
F0_MIN, F0_MAX = 60.0, 400.0
YIN_THRESHOLD = 0.15
#: A frame is voiced when its YIN dip is below this (0 = perfectly periodic).
VOICING = 0.35
SILENT_DB = -45.0
_PITCH_FRAME, _PITCH_HOP = 640, 640
_MFCC_FRAME, _MFCC_HOP, _NFFT, _MELS, _CEPS = 400, 160, 512, 26, 13


def frames(x: np.ndarray, size: int, hop: int) -> np.ndarray:
    """A (n, size) strided view of `x` (no copy); empty when `x` is shorter than a frame."""
    if len(x) < size:
        return np.zeros((0, size), dtype=np.float32)
    return sliding_window_view(x, size)[::hop]


def level_db(x: np.ndarray, size: int = 320) -> np.ndarray:
    """RMS level per non-overlapping frame, in dBFS."""
    f = frames(x, size, size).astype(np.float32)
    return 10.0 * np.log10(np.maximum(np.mean(f * f, axis=1), 1e-12))


def pitch_track(x: np.ndarray) -> np.ndarray:
    """f0 (Hz) every PITCH_HOP_S (YIN); NaN where unvoiced or silent."""
    f = frames(x, _PITCH_FRAME, _PITCH_HOP).astype(np.float32)
    if not len(f):
        return np.zeros(0, dtype=np.float32)
    f = f - f.mean(axis=1, keepdims=True)
    energy = np.mean(f * f, axis=1)
    hi = int(SAMPLE_RATE / F0_MIN)
    # circular ACF with n=1024 is exact for lags <= 1024 - 640 = 384 > the 266 needed
    spec = np.fft.rfft(f, n=1024, axis=1)
    ac = np.fft.irfft(np.abs(spec) ** 2, axis=1)[:, : hi + 2]
    # YIN difference function via the autocorrelation (stationary approximation)
    d = 2.0 * (ac[:, :1] - ac)
    d[:, 0] = 0.0
    cum = np.cumsum(d[:, 1:], axis=1)
    cmnd = np.ones_like(d)
    cmnd[:, 1:] = d[:, 1:] * np.arange(1, d.shape[1]) / np.maximum(cum, 1e-12)
    lo = int(SAMPLE_RATE / F0_MAX)
    band = cmnd[:, lo:hi]
    below = band < YIN_THRESHOLD
    has = below.any(axis=1)
    first = np.where(has, np.argmax(below, axis=1), np.argmin(band, axis=1))
    # descend to the local minimum that follows the first dip under the threshold
    rows = np.arange(len(band))
    idx = np.clip(first[:, None] + np.arange(12)[None, :], 0, band.shape[1] - 1)
    window = band[rows[:, None], idx]
    steps = np.argmax(np.diff(window, axis=1) > 0, axis=1)  # first rise after the dip
    steps = np.where(np.all(np.diff(window, axis=1) <= 0, axis=1), 11, steps)
    at = np.minimum(first + steps, band.shape[1] - 1)
    tau = lo + at
    best = band[rows, at]
    f0 = SAMPLE_RATE / tau.astype(np.float32)
    voiced = (best < VOICING) & (10 * np.log10(np.maximum(energy, 1e-12)) > SILENT_DB)
    return np.where(voiced, f0, np.nan).astype(np.float32)


@cache
def _mel_filterbank() -> np.ndarray:
    def hz_to_mel(hz: np.ndarray) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + hz / 700.0)

    def mel_to_hz(mel: np.ndarray) -> np.ndarray:
        return 700.0 * (10 ** (mel / 2595.0) - 1.0)

    mels = np.linspace(hz_to_mel(np.array(80.0)), hz_to_mel(np.array(7600.0)), _MELS + 2)
    bins = np.floor((_NFFT + 1) * mel_to_hz(mels) / SAMPLE_RATE).astype(int)
    fb = np.zeros((_MELS, _NFFT // 2 + 1), dtype=np.float32)
    for m in range(1, _MELS + 1):
        left, centre, right = bins[m - 1], bins[m], bins[m + 1]
        fb[m - 1, left:centre] = (np.arange(left, centre) - left) / max(centre - left, 1)
        fb[m - 1, centre:right] = (right - np.arange(centre, right)) / max(right - centre, 1)
    return np.ascontiguousarray(fb.T)  # (bins, mels), ready for power @ fb


@cache
def _dct_matrix() -> np.ndarray:
    n = np.arange(_MELS)
    k = np.arange(_CEPS)[:, None]
    dct = np.cos(np.pi * k * (2 * n + 1) / (2 * _MELS)) * np.sqrt(2.0 / _MELS)
    return np.ascontiguousarray(dct.T.astype(np.float32))  # (mels, ceps)


def mfcc(x: np.ndarray, hop: int = _MFCC_HOP) -> np.ndarray:
    """(n_frames, 13) MFCCs every `hop` samples; coefficient 0 is the log energy."""
    emphasised = np.append(x[:1], x[1:] - 0.97 * x[:-1]).astype(np.float32)
    f = frames(emphasised, _MFCC_FRAME, hop)
    if not len(f):
        return np.zeros((0, _CEPS), dtype=np.float32)
    spec = np.fft.rfft(f * np.hamming(_MFCC_FRAME).astype(np.float32), n=_NFFT, axis=1)
    power = (spec.real ** 2 + spec.imag ** 2).astype(np.float32)  # float32 end to end: BLAS
    # einsum, not BLAS: these products are tiny, and a multi-threaded BLAS call spinning
    # next to whisper on shared cores was measured 5x slower than the single-threaded loop
    mel = np.einsum("fb,bm->fm", power, _mel_filterbank())
    return np.einsum("fm,mc->fc", np.log(np.maximum(mel, np.float32(1e-10))), _dct_matrix())
