"""LiteLLM CustomLLM provider `auterity-local`: the packaged GGUF model on llama-cpp-python.

Every completion is JSON-constrained: the OpenAI-style `response_format` (json_schema or
json_object) becomes a llama.cpp grammar; a call without one still gets JSON-object mode, so
the local model can only ever answer JSON.

Invariants:
- one Llama instance per process, used under a lock (llama.cpp contexts are not
  thread-safe); the C calls release the GIL, so the event loop keeps running when a Faust
  agent calls this from a worker thread;
- the request timeout is enforced during generation (a stopping criterion checks the
  deadline) and surfaces as `litellm.Timeout`, so the router retries/falls back.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import threading
import time
from typing import Any

import litellm
from litellm import ModelResponse
from litellm.llms.custom_llm import CustomLLM, CustomLLMError

from processors.llm.model_files import MODEL_NAME, local_model_path

PROVIDER = "auterity-local"
LOCAL_MODEL = f"{PROVIDER}/{MODEL_NAME}"

_lock = threading.Lock()
_llama: Any = None


def threads() -> int:
    """AUTERITY_LLM_THREADS, default: every core (llama.cpp's own default is half)."""
    return int(os.environ.get("AUTERITY_LLM_THREADS") or max(1, os.cpu_count() or 1))


def _get_llama() -> Any:
    global _llama
    if _llama is None:
        from llama_cpp import Llama

        _llama = Llama(model_path=str(local_model_path()), n_ctx=int(
            os.environ.get("AUTERITY_LLM_CTX", "4096")), n_threads=threads(), verbose=False,
            seed=0)
        atexit.register(_close)
    return _llama


def _close() -> None:
    """Free the model before interpreter teardown (llama's __del__ fails once ctypes is gone)."""
    global _llama
    if _llama is not None:
        _llama.close()
        _llama = None


#: the largest length bound kept in a grammar: llama.cpp expands `{m,n}` into n rules and
#: ABORTS the process (not an exception) past its limit ("number of rules that are going to
#: be repeated ... exceeds sane defaults": a `maxLength: 1500` string killed the worker)
GRAMMAR_MAX_REPEAT = 64
_BOUNDS = ("maxLength", "minLength", "maxItems", "minItems")


def grammar_schema(schema: Any) -> Any:
    """`schema` without length bounds above GRAMMAR_MAX_REPEAT (a bigger `max*` is dropped,
    a bigger `min*` lowered to it), recursively. The answer is still validated against the
    full schema by the gateway, so only the grammar is looser."""
    if isinstance(schema, list):
        return [grammar_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _BOUNDS and isinstance(value, int) and value > GRAMMAR_MAX_REPEAT:
            if key.startswith("min"):
                out[key] = GRAMMAR_MAX_REPEAT
            continue
        out[key] = grammar_schema(value) if key != "enum" and key != "const" else value
    return out


def llama_response_format(response_format: dict[str, Any] | None) -> dict[str, Any]:
    """OpenAI/LiteLLM `response_format` -> llama-cpp-python's (always JSON-constrained, the
    schema's length bounds made safe for llama.cpp: `grammar_schema`)."""
    if not response_format:
        return {"type": "json_object"}
    schema = None
    if response_format.get("type") == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
    elif response_format.get("type") == "json_object":
        schema = response_format.get("schema")
    if schema:
        return {"type": "json_object", "schema": grammar_schema(schema)}
    return {"type": "json_object"}


def _timeout_seconds(timeout: Any) -> float:
    if isinstance(timeout, int | float):
        return float(timeout)
    read = getattr(timeout, "read", None)
    return float(read) if read else 120.0


class LocalLlamaLLM(CustomLLM):
    """The `auterity-local/<model>` provider."""

    def completion(self, model: str, messages: list, api_base: str, custom_prompt_dict: dict,
                   model_response: ModelResponse, print_verbose: Any, encoding: Any,
                   api_key: Any, logging_obj: Any, optional_params: dict,
                   *args: Any, timeout: Any = None, **kwargs: Any) -> ModelResponse:
        if model != MODEL_NAME:
            raise CustomLLMError(status_code=404, message=(
                f"{PROVIDER} serves only {MODEL_NAME!r}, not {model!r}"))
        limit = _timeout_seconds(timeout)
        deadline = time.monotonic() + limit
        parts: list[str] = []
        finish = "stop"
        with _lock:
            llm = _get_llama()
            chunks = llm.create_chat_completion(
                messages=messages,
                response_format=llama_response_format(optional_params.get("response_format")),
                temperature=float(optional_params.get("temperature", 0.0) or 0.0),
                max_tokens=int(optional_params.get("max_tokens") or 512),
                seed=0, stream=True)
            try:
                for chunk in chunks:  # one token per chunk: the deadline is checked per token
                    choice = chunk["choices"][0]
                    parts.append(choice["delta"].get("content") or "")
                    finish = choice.get("finish_reason") or finish
                    if time.monotonic() > deadline:
                        raise litellm.Timeout(message=f"{LOCAL_MODEL} exceeded {limit}s",
                                              model=model, llm_provider=PROVIDER)
            finally:
                chunks.close()
            completion_tokens = sum(1 for p in parts if p)
            prompt_tokens = max(0, llm.n_tokens - completion_tokens)
        model_response.choices[0].message.content = "".join(parts)
        model_response.choices[0].finish_reason = finish  # type: ignore[assignment]
        model_response.usage = litellm.Usage(  # type: ignore[attr-defined]
            prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
            total_tokens=prompt_tokens + completion_tokens)
        model_response.model = model
        return model_response

    async def acompletion(self, *args: Any, **kwargs: Any) -> ModelResponse:
        return await asyncio.to_thread(self.completion, *args, **kwargs)


_registered = False


def register() -> None:
    """Add the provider to litellm (idempotent)."""
    global _registered
    if _registered:
        return
    litellm.custom_provider_map = [
        *[p for p in litellm.custom_provider_map if p["provider"] != PROVIDER],
        {"provider": PROVIDER, "custom_handler": LocalLlamaLLM()},
    ]
    _registered = True
