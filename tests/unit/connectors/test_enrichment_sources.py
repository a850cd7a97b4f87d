"""Enrichment sources against a real local HTTP provider: what is sent (the query and the key
header only), how answers become fields, and how every failure is reported as a reason."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from connectors.enrichment.sources import (
    EnrichmentQuery,
    HttpDataSource,
    SourceFailed,
    configured_sources,
)
from runtime.settings import Settings

KEY = "sk-enrich-0123456789abcdef"
VIN = "1HGCM82633A004352"


class LocalProvider:
    """A ThreadingHTTPServer on 127.0.0.1 answering GETs from a queue of (status, body); once
    the queue holds one answer it is repeated. Records (path, headers) of every request."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, bytes]] = [(200, b"{}")]
        self.requests: list[tuple[str, dict[str, str]]] = []
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                provider.requests.append((self.path, dict(self.headers.items())))
                status, body = (provider.answers.pop(0) if len(provider.answers) > 1
                                else provider.answers[0])
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.01,),
                                       daemon=True)  # a short poll: shutdown is quick

    def answer(self, *answers: tuple[int, object]) -> None:
        self.answers = [(status, body if isinstance(body, bytes) else json.dumps(body).encode())
                        for status, body in answers]


@pytest.fixture
def provider() -> Iterator[LocalProvider]:
    local = LocalProvider()
    local.thread.start()
    yield local
    local.server.shutdown()
    local.server.server_close()


def _source(url: str, **kwargs: Any) -> HttpDataSource:
    """A source with the test key whose backoff sleep is a no-op."""
    options: dict[str, Any] = {"api_key": SecretStr(KEY), "timeout_s": 2.0,
                               "sleep": lambda _s: None}
    options.update(kwargs)
    return HttpDataSource("vindecoder", url, **options)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _fails(source: HttpDataSource, query: EnrichmentQuery, reason: str) -> SourceFailed:
    with pytest.raises(SourceFailed) as failed:
        source.fetch(query)
    assert failed.value.reason == reason and failed.value.source == source.name
    assert KEY not in str(failed.value) and len(str(failed.value)) < 400
    return failed.value


VEHICLE = EnrichmentQuery(kind="vehicle", key=VIN)


def test_a_fetch_sends_the_query_path_and_the_key_header_and_keeps_top_level_scalars(
        provider: LocalProvider) -> None:
    provider.answer((200, {"make": "Honda", "year": 2003, "msrp": 21500.5, "recalled": False,
                           "trim": None, "engine": {"cylinders": 4}, "options": ["a"],
                           "notes": "x" * 900}))
    result = _source(provider.url + "/").fetch(EnrichmentQuery(kind="vehicle", key=VIN.lower()))
    [(path, headers)] = provider.requests
    assert path == f"/v1/vehicle/{VIN}" and headers["Authorization"] == f"Bearer {KEY}"
    assert result.source == "vindecoder" and result.kind == "vehicle" and result.key == VIN
    assert result.fields == {"make": "Honda", "year": 2003, "msrp": 21500.5, "recalled": False,
                             "trim": None, "notes": "x" * 500}
    assert type(result.fields["recalled"]) is bool and result.fetched_ms >= 0


def test_at_most_50_fields_are_kept(provider: LocalProvider) -> None:
    provider.answer((200, {f"f{i:02}": i for i in range(80)}))
    fields = _source(provider.url).fetch(VEHICLE).fields
    assert list(fields) == [f"f{i:02}" for i in range(50)]


def test_not_found_and_refused_credentials_are_reported_once(provider: LocalProvider) -> None:
    provider.answer((404, {"error": "unknown VIN"}))
    assert "HTTP 404" in str(_fails(_source(provider.url), VEHICLE, "http_404"))
    provider.answer((401, f"key {KEY} is not valid".encode()))
    _fails(_source(provider.url), VEHICLE, "http_401")
    assert len(provider.requests) == 2  # neither is retried


def test_a_503_then_200_succeeds_after_one_retry_with_the_backoff(
        provider: LocalProvider) -> None:
    sleeps: list[float] = []
    provider.answer((503, b"busy"), (200, {"make": "Honda"}))
    source = _source(provider.url, sleep=sleeps.append, backoff_s=0.25)
    assert source.fetch(VEHICLE).fields == {"make": "Honda"}
    assert len(provider.requests) == 2 and sleeps == [0.25]


def test_a_provider_always_503_fails_as_http_5xx_after_two_requests(
        provider: LocalProvider) -> None:
    provider.answer((503, b"busy"))
    _fails(_source(provider.url), VEHICLE, "http_5xx")
    assert len(provider.requests) == 2


def test_429_is_retried_once(provider: LocalProvider) -> None:
    provider.answer((429, b"slow down"))
    _fails(_source(provider.url), VEHICLE, "http_429")
    assert len(provider.requests) == 2


def test_a_body_that_is_not_a_json_object_is_a_bad_response(provider: LocalProvider) -> None:
    provider.answer((200, b"<html>" + KEY.encode() + b"x" * 1000 + b"</html>"))
    failed = _fails(_source(provider.url), VEHICLE, "bad_response")
    assert "***" in str(failed) and "x" * 201 not in str(failed)
    provider.answer((200, [1, 2]))
    _fails(_source(provider.url), VEHICLE, "bad_response")
    assert len(provider.requests) == 2


def test_an_unreachable_provider_is_reported() -> None:
    _fails(_source(f"http://127.0.0.1:{_free_port()}"), VEHICLE, "unreachable")


def test_a_provider_that_never_answers_times_out_after_one_retry() -> None:
    accepted: list[socket.socket] = []
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)

        def accept() -> None:
            while len(accepted) < 2:
                accepted.append(listener.accept()[0])

        threading.Thread(target=accept, daemon=True).start()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        _fails(_source(url, timeout_s=0.2), VEHICLE, "timeout")
        assert len(accepted) == 2
    for conn in accepted:
        conn.close()


def test_a_kind_the_source_does_not_serve_is_not_supported(provider: LocalProvider) -> None:
    source = _source(provider.url, kinds={"vehicle"})
    _fails(source, EnrichmentQuery(kind="organization", key="fleet.example.com"),
           "not_supported")
    assert provider.requests == []


@pytest.mark.parametrize("key", ["1HGCM82633A00435", "1HGCM82633A0043521", "1HGCM82633I004352",
                                 "1HGCM82633O004352", "1HGCM82633Q004352", "1HGCM-2633A004352"])
def test_a_bad_vin_is_rejected(key: str) -> None:
    with pytest.raises(ValidationError, match="VIN"):
        EnrichmentQuery(kind="vehicle", key=key)


@pytest.mark.parametrize("key", ["ana@fleet.example.com", "https://fleet.example.com",
                                 "fleet.example.com/x", "fleet.example.com:443", "localhost",
                                 "10.0.0.1", "-fleet.example.com", "Ana Garcia", "+15550100"])
def test_only_a_plain_company_domain_is_an_organization_key(key: str) -> None:
    with pytest.raises(ValidationError, match="company domain"):
        EnrichmentQuery(kind="organization", key=key)


def test_queries_are_normalised() -> None:
    assert EnrichmentQuery(kind="organization", key=" Fleet.Example.COM ").key == \
        "fleet.example.com"
    assert EnrichmentQuery(kind="vehicle", key=VIN.lower()).key == VIN
    with pytest.raises(ValidationError):
        EnrichmentQuery(kind="person", key="ana@example.com")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        EnrichmentQuery(kind="vehicle", key=VIN, email="ana@example.com")  # type: ignore[call-arg]


def test_sources_are_off_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    # the integration suite configures sources for its worker in this process's environment
    monkeypatch.delenv("AUTERITY_ENRICHMENT_SOURCES", raising=False)
    assert configured_sources(Settings(), environ={}) == []
    assert configured_sources(Settings(enrichment_sources=" , "), environ={}) == []


def test_a_listed_source_without_a_url_names_the_missing_variable() -> None:
    with pytest.raises(ValueError, match="AUTERITY_ENRICHMENT_FIRMOGRAPHICS_URL"):
        configured_sources(Settings(enrichment_sources="firmographics"),
                           environ={"AUTERITY_ENRICHMENT_FIRMOGRAPHICS_KEY": KEY})


@pytest.mark.parametrize("variable, value", [("KINDS", "vehicle,person"),
                                              ("HEADER", "X Api Key"), ("URL", "ftp://host")])
def test_a_bad_source_setting_names_its_variable(variable: str, value: str) -> None:
    environ = {"AUTERITY_ENRICHMENT_VINDECODER_URL": "http://127.0.0.1:1",
               f"AUTERITY_ENRICHMENT_VINDECODER_{variable}": value}
    with pytest.raises(ValueError, match=f"AUTERITY_ENRICHMENT_VINDECODER_{variable}"):
        configured_sources(Settings(enrichment_sources="vindecoder"), environ=environ)


def test_configured_sources_read_url_key_kinds_and_header(provider: LocalProvider) -> None:
    environ = {"AUTERITY_ENRICHMENT_VINDECODER_URL": provider.url,
               "AUTERITY_ENRICHMENT_FIRMOGRAPHICS_URL": provider.url,
               "AUTERITY_ENRICHMENT_FIRMOGRAPHICS_KEY": KEY,
               "AUTERITY_ENRICHMENT_FIRMOGRAPHICS_KINDS": "organization",
               "AUTERITY_ENRICHMENT_FIRMOGRAPHICS_HEADER": "X-Api-Key"}
    settings = Settings(enrichment_sources="vindecoder,firmographics", enrichment_timeout_s=2)
    vin, firm = configured_sources(settings, environ=environ)
    assert (vin.name, vin.kinds) == ("vindecoder", frozenset({"vehicle", "organization"}))
    assert (firm.name, firm.kinds) == ("firmographics", frozenset({"organization"}))
    assert KEY not in repr(firm) and KEY not in repr(vars(firm))
    provider.answer((200, {"employees": 120}))
    assert firm.fetch(EnrichmentQuery(kind="organization", key="fleet.example.com")).fields == {
        "employees": 120}
    vin.fetch(VEHICLE)
    [(path, firm_headers), (_, vin_headers)] = provider.requests
    assert path == "/v1/organization/fleet.example.com" and firm_headers["X-Api-Key"] == KEY
    assert "Authorization" not in firm_headers and "Authorization" not in vin_headers
