"""Read-only query endpoint of the process that owns the embedded chDB directory.

chDB locks its directory to one process, so the metrics projection answers other processes'
reads (status, demo summary, tests, a dealership's dashboards) over loopback HTTP:

- `GET /ping` answers what it serves (`chDB at <dir>`), without a token;
- `POST /query` with `Authorization: Bearer <token>` and ONE SELECT as the body returns
  JSONEachRow. The token says who asks (projections/metrics_auth.py): the operator reads
  every table, a tenant only its own rows. The statement runs through `MetricsStore.read`
  (projections/metrics_query.py): checked on the engine's own parse, then run on a fresh
  read-only connection (readonly=1, time, memory, result and thread limits), never on the
  writer's session, so no setting a reader sends reaches the projection.

Answers: 200 rows; 401 no or a bad token; 403 refused by the read policy (the body says
what); 400 the engine refused or failed it (timeout, memory, syntax, readonly); 413 a body
over the size limit; 503 `concurrency` reads already running.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from projections.metrics_auth import InvalidToken, tenant_of
from projections.metrics_errors import MetricsStoreError, QueryRefused
from projections.metrics_store import MetricsStore

REQUEST_TIMEOUT_S = 30.0


def serve(store: MetricsStore, port: int, key: bytes, concurrency: int = 4) -> ThreadingHTTPServer:
    """Start serving `store` read-only on 127.0.0.1:`port` in a daemon thread; `key` checks
    the bearer tokens (Settings.resolved_metrics_endpoint_key)."""
    slots = threading.BoundedSemaphore(concurrency)
    max_body = store.limits.max_query_bytes

    class Handler(BaseHTTPRequestHandler):
        timeout = REQUEST_TIMEOUT_S  # a client that stops sending does not hold a thread

        def log_message(self, *args: object) -> None:  # keep request logs out of worker logs
            return

        def _reply(self, code: int, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 - http.server naming
            if self.path == "/ping":
                self._reply(200, store.describe().encode())
            else:
                self._reply(404, b"not found")

        def do_POST(self) -> None:  # noqa: N802 - http.server naming
            if self.path != "/query":
                self.close_connection = True
                self._reply(404, b"not found")
                return
            auth = self.headers.get("Authorization", "")
            try:
                tenant = tenant_of(key, auth.removeprefix("Bearer ").strip())
            except InvalidToken as exc:
                self.close_connection = True
                self._reply(401, f"metrics endpoint: {exc}".encode())
                return
            try:
                length = int(self.headers.get("Content-Length", ""))
            except ValueError:
                length = -1
            if not 0 <= length <= max_body:
                self.close_connection = True  # the body is not read: drop the connection
                self._reply(413, f"a read is at most {max_body} bytes, with Content-Length"
                                 .encode())
                return
            try:
                sql = self.rfile.read(length).decode()
            except UnicodeDecodeError:
                self._reply(400, b"the body is not UTF-8")
                return
            if not slots.acquire(blocking=False):
                self._reply(503, f"{concurrency} reads are already running; retry".encode())
                return
            try:
                rows = store.read(sql, tenant)
            except QueryRefused as exc:
                self._reply(403, str(exc).encode())
                return
            except MetricsStoreError as exc:
                self._reply(400, str(exc).encode())
                return
            finally:
                slots.release()
            self._reply(200, "\n".join(json.dumps(r) for r in rows).encode())

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True).start()
    return server
