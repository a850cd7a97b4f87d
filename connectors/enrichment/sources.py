"""External enrichment data sources for the customer intelligence agent.

Invariants:
- What leaves the pipeline: only an `EnrichmentQuery`, a kind and a non-personal key (a VIN
  or a company domain), as the path `GET {base_url}/{kind}/{key}`, plus the source's own API
  key in one header. No name, email, phone or other personal field is ever sent; the query
  model cannot hold one.
- What comes back: a `SourceResult` whose `fields` are the answer's top-level JSON scalars
  only (nested values dropped, at most `MAX_FIELDS`, strings cut to `MAX_STRING_CHARS`).
- How failures are reported: `fetch` returns a result or raises `SourceFailed` with a short
  machine `reason` (`REASONS`), never anything else and never silently; "not found" is the
  reported outcome `http_404`. 429, 5xx and timeouts are retried once after a short backoff.
- Error text carries the source name, the reason, status codes and at most
  `MAX_EXCERPT_CHARS` of the answer body, with the API key blanked out; the key is held as a
  `SecretStr`, never logged and never part of any message.
- Off by default: `configured_sources` returns no source unless AUTERITY_ENRICHMENT_SOURCES
  names some.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Literal, Protocol, get_args

import httpx
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationInfo, field_validator

from runtime.settings import Settings

Kind = Literal["vehicle", "organization"]
KINDS: frozenset[str] = frozenset(get_args(Kind))
Reason = Literal["unreachable", "timeout", "http_401", "http_404", "http_429", "http_5xx",
                 "bad_response", "not_supported"]
REASONS: frozenset[str] = frozenset(get_args(Reason))
Scalar = str | int | float | bool | None

MAX_FIELDS = 50
MAX_STRING_CHARS = 500
MAX_NAME_CHARS = 100
MAX_EXCERPT_CHARS = 200
MAX_RESPONSE_BYTES = 1024 * 1024
_RETRIED = frozenset({"timeout", "http_429", "http_5xx"})

_VIN = re.compile(r"[A-HJ-NPR-Z0-9]{17}")
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_SOURCE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_HEADER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")


class EnrichmentQuery(BaseModel):
    """The ONLY thing sent to a provider: a kind and a non-personal key.

    `vehicle`: a VIN, 17 characters of A-Z and 0-9 without I, O, Q (upper-cased).
    `organization`: a company domain such as `fleet.example.com`, a plain hostname of at least
    two labels (lower-cased; no `@`, scheme, port, path or IP address).
    Never a person's name, email address or phone number.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Kind
    key: str

    @field_validator("key")
    @classmethod
    def _valid_key(cls, key: str, info: ValidationInfo) -> str:
        kind = info.data.get("kind")
        if kind == "vehicle":
            vin = key.strip().upper()
            if not _VIN.fullmatch(vin):
                raise ValueError("a VIN is 17 characters of A-Z and 0-9 without I, O, Q")
            return vin
        if kind == "organization":
            host = key.strip().lower()
            labels = host.split(".")
            if (len(host) > 253 or len(labels) < 2 or labels[-1].isdigit()
                    or not all(_LABEL.fullmatch(label) for label in labels)):
                raise ValueError("an organization key is a company domain (a plain hostname "
                                 "such as fleet.example.com)")
            return host
        return key  # kind itself failed validation and is reported


class SourceResult(BaseModel):
    """One provider's answer; `fetched_ms` is the fetch's wall time (retries included)."""

    model_config = ConfigDict(frozen=True)

    source: str
    kind: Kind
    key: str
    fields: dict[str, Scalar]
    fetched_ms: float


class SourceFailed(RuntimeError):
    """A source gave no result; `reason` is one of `REASONS` (module doc)."""

    def __init__(self, source: str, reason: Reason, detail: str = "") -> None:
        self.source = source
        self.reason: str = reason
        super().__init__(f"enrichment source {source!r} failed: {reason}"
                         + (f" ({detail})" if detail else ""))


class DataSource(Protocol):
    name: str
    kinds: frozenset[str]

    def fetch(self, query: EnrichmentQuery) -> SourceResult:
        """Blocking; returns the provider's answer or raises SourceFailed."""
        ...


class HttpDataSource:
    """A provider answering `GET {base_url}/{kind}/{key}` with a JSON object.

    The API key goes in `header`: as `Bearer <key>` when that is Authorization, as is
    otherwise; without a key no auth header is sent. Redirects are not followed (the key
    would follow them). Status mapping: 401/403 -> http_401, 404/410 -> http_404, 429 ->
    http_429, 5xx -> http_5xx, any other non-200 or a body that is not a JSON object (or is
    over MAX_RESPONSE_BYTES) -> bad_response.
    """

    def __init__(self, name: str, base_url: str, *, api_key: SecretStr | None = None,
                 header: str = "Authorization", kinds: Iterable[str] = KINDS,
                 timeout_s: float = 10.0, backoff_s: float = 0.5,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        try:
            url = httpx.URL(base_url)
        except httpx.InvalidURL:
            url = httpx.URL()
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"enrichment source {name!r}: base URL must be http(s)://host/...")
        if not _HEADER_NAME.fullmatch(header):
            raise ValueError(f"enrichment source {name!r}: {header!r} is not a header name")
        self.name = name
        self.kinds = frozenset(kinds)
        if not self.kinds <= KINDS:
            raise ValueError(f"enrichment source {name!r}: kinds must be among {sorted(KINDS)}")
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._header = header
        self._timeout_s = timeout_s
        self._backoff_s = backoff_s
        self._sleep = sleep

    def fetch(self, query: EnrichmentQuery) -> SourceResult:
        if query.kind not in self.kinds:
            raise SourceFailed(self.name, "not_supported", f"no {query.kind} lookups")
        started = time.perf_counter()
        for attempt in (1, 2):
            try:
                fields = self._attempt(query)
                break
            except SourceFailed as failed:
                if attempt == 2 or failed.reason not in _RETRIED:
                    raise
            self._sleep(self._backoff_s)
        return SourceResult(source=self.name, kind=query.kind, key=query.key, fields=fields,
                            fetched_ms=round((time.perf_counter() - started) * 1000, 1))

    def _attempt(self, query: EnrichmentQuery) -> dict[str, Scalar]:
        headers: dict[str, str] = {}
        if self._api_key is not None:
            secret = self._api_key.get_secret_value()
            headers[self._header] = (f"Bearer {secret}" if self._header.lower() == "authorization"
                                     else secret)
        url = f"{self._base_url}/{query.kind}/{query.key}"
        try:
            with (httpx.Client(timeout=self._timeout_s, follow_redirects=False) as client,
                  client.stream("GET", url, headers=headers) as answer):
                status, body = answer.status_code, _read_capped(answer)
        except httpx.TimeoutException:
            detail = f"no answer within {self._timeout_s} s"
            raise SourceFailed(self.name, "timeout", detail) from None
        except httpx.TransportError as exc:
            raise SourceFailed(self.name, "unreachable", type(exc).__name__) from None
        if body is None:
            raise SourceFailed(self.name, "bad_response",
                               f"HTTP {status}, body over {MAX_RESPONSE_BYTES} bytes")
        if status != 200:
            raise SourceFailed(self.name, _status_reason(status),
                               f"HTTP {status}" + self._excerpt(body))
        try:
            document = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            document = None
        if not isinstance(document, dict):
            raise SourceFailed(self.name, "bad_response", "not a JSON object" + self._excerpt(body))
        return _scalar_fields(document)

    def _excerpt(self, body: bytes) -> str:
        """`: <at most MAX_EXCERPT_CHARS of the body>`, the API key blanked out first."""
        text = body.decode("utf-8", "replace")
        if self._api_key is not None and self._api_key.get_secret_value():
            text = text.replace(self._api_key.get_secret_value(), "***")
        text = " ".join(text.split())[:MAX_EXCERPT_CHARS]
        return f": {text}" if text else ""


def _read_capped(answer: httpx.Response) -> bytes | None:
    """The body, or None when it is over MAX_RESPONSE_BYTES (the rest is not read)."""
    chunks: list[bytes] = []
    size = 0
    for chunk in answer.iter_bytes():
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _status_reason(status: int) -> Reason:
    if status in (401, 403):
        return "http_401"
    if status in (404, 410):
        return "http_404"
    if status == 429:
        return "http_429"
    return "http_5xx" if 500 <= status <= 599 else "bad_response"


def _scalar_fields(document: dict[str, object]) -> dict[str, Scalar]:
    """Top-level scalars in document order: nested values dropped, at most MAX_FIELDS, names
    cut to MAX_NAME_CHARS and strings to MAX_STRING_CHARS."""
    fields: dict[str, Scalar] = {}
    for name, value in document.items():
        if len(fields) == MAX_FIELDS:
            break
        if isinstance(value, str):
            value = value[:MAX_STRING_CHARS]
        elif not (value is None or isinstance(value, bool | int | float)):
            continue
        fields[name[:MAX_NAME_CHARS]] = value
    return fields


def _env(environ: Mapping[str, str], name: str, suffix: str) -> tuple[str, str | None]:
    """(variable name, its stripped value or None when unset or empty)."""
    variable = f"AUTERITY_ENRICHMENT_{name.upper()}_{suffix}"
    value = environ.get(variable, "").strip()
    return variable, value or None


def configured_sources(settings: Settings,
                       environ: Mapping[str, str] | None = None) -> list[DataSource]:
    """The sources named in AUTERITY_ENRICHMENT_SOURCES (none by default), each configured by
    AUTERITY_ENRICHMENT_<NAME>_URL (required), _KEY, _KINDS and _HEADER from `environ`
    (default: os.environ). A bad configuration raises ValueError naming the variable."""
    env = os.environ if environ is None else environ
    sources: list[DataSource] = []
    names = [n.strip() for n in settings.enrichment_sources.split(",") if n.strip()]
    for name in names:
        if not _SOURCE_NAME.fullmatch(name) or names.count(name) > 1:
            raise ValueError(f"AUTERITY_ENRICHMENT_SOURCES: {name!r} is not a unique name of "
                             "letters, digits and underscores")
        url_var, url = _env(env, name, "URL")
        if url is None:
            raise ValueError(f"enrichment source {name!r} is listed but {url_var} is not set")
        kinds_var, kinds = _env(env, name, "KINDS")
        kind_set = {k.strip() for k in (kinds or ",".join(sorted(KINDS))).split(",") if k.strip()}
        if not kind_set or not kind_set <= KINDS:
            raise ValueError(f"{kinds_var}: kinds must be among {sorted(KINDS)}")
        header_var, header = _env(env, name, "HEADER")
        if header is not None and not _HEADER_NAME.fullmatch(header):
            raise ValueError(f"{header_var}: not a header name")
        key = _env(env, name, "KEY")[1]
        try:
            sources.append(HttpDataSource(
                name, url, api_key=SecretStr(key) if key else None,
                header=header or "Authorization", kinds=kind_set,
                timeout_s=settings.enrichment_timeout_s))
        except ValueError as exc:
            raise ValueError(f"{url_var}: {exc}") from None
    return sources
