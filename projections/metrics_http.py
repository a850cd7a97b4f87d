"""Read-only query endpoint of the process that owns the embedded chDB directory.

chDB locks its directory to one process, so the metrics projection answers other processes'
SELECTs (status, demo summary, tests) over loopback HTTP: `POST /query` with the SQL as the
body returns JSONEachRow; `GET /ping` answers `ok`. Statements other than SELECT/WITH/SHOW/
DESCRIBE are refused with 403.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from projections.metrics_store import MetricsStore, MetricsStoreError

READ_ONLY_PREFIXES = ("select", "with", "show", "describe", "desc", "exists")


def serve(store: MetricsStore, port: int) -> ThreadingHTTPServer:
    """Start serving `store` read-only on 127.0.0.1:`port` in a daemon thread."""

    class Handler(BaseHTTPRequestHandler):
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
            length = int(self.headers.get("Content-Length", "0"))
            sql = self.rfile.read(length).decode()
            if not sql.lstrip().lower().startswith(READ_ONLY_PREFIXES):
                self._reply(403, b"read-only endpoint: only SELECT/WITH/SHOW/DESCRIBE")
                return
            try:
                rows = store.query(sql)
            except MetricsStoreError as exc:
                self._reply(400, str(exc).encode())
                return
            self._reply(200, "\n".join(json.dumps(r) for r in rows).encode())

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True).start()
    return server
