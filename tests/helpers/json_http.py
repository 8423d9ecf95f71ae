"""The base of the tests' HTTP stand-ins (kubo, a beacon API, a forging RPC proxy): quiet, and
one way to answer with bytes or JSON."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import Any


class QuietHandler(BaseHTTPRequestHandler):
    timeout = 10  # seconds a silent client may hold a connection

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read assertions
        pass

    def _json(self, value: Any, status: int = 200) -> None:
        self._send(status, (json.dumps(value) + "\n").encode(), "application/json")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
