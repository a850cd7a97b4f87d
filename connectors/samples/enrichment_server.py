"""A local enrichment provider for the demo and the tests (an HTTP server on loopback,
answering the contract of connectors/enrichment/sources.py `HttpDataSource`):

    GET /vehicle/<VIN>          -> {"vin", "make", "model", "year", "body"} (404: unknown VIN)
    GET /organization/<domain>  -> {"name", "industry", "fleet_size", "domain"}

It checks `Authorization: Bearer <key>` when started with a key (401 otherwise) and keeps
every request it got (`requests`: (path, authorization)), so a test can see exactly what
left the pipeline. The vehicle answer echoes the VIN, as real decoders do.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: a few VINs the provider knows (WMI-valid, check digits not enforced)
VEHICLES: dict[str, dict[str, Any]] = {
    "1HGCM82633A004352": {"make": "Honda", "model": "Accord", "year": 2003, "body": "sedan"},
    "1FTFW1ET5DFC10312": {"make": "Ford", "model": "F-150", "year": 2013, "body": "pickup"},
    "5YJ3E1EA7KF317000": {"make": "Tesla", "model": "Model 3", "year": 2019, "body": "sedan"},
}
ORGANIZATIONS: dict[str, dict[str, Any]] = {
    "fleet.example.com": {"name": "Example Fleet Services", "industry": "logistics",
                          "fleet_size": 140},
}


class LocalEnrichmentServer:
    """The provider on 127.0.0.1:`port` (module doc)."""

    def __init__(self, port: int, api_key: str | None = None) -> None:
        self.requests: list[tuple[str, str | None]] = []
        lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                auth = self.headers.get("Authorization")
                with lock:
                    server.requests.append((self.path, auth))
                if api_key is not None and auth != f"Bearer {api_key}":
                    return self._answer(401, {"error": "unauthorized"})
                _, kind, key = (self.path.split("/", 2) + ["", ""])[:3]
                if kind == "vehicle" and key in VEHICLES:
                    return self._answer(200, {"vin": key, **VEHICLES[key]})
                if kind == "organization" and key in ORGANIZATIONS:
                    return self._answer(200, {"domain": key, **ORGANIZATIONS[key]})
                return self._answer(404, {"error": "not found"})

            def _answer(self, code: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> LocalEnrichmentServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
