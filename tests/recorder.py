"""A local HTTP server standing in for Twilio's REST API and partners' send_url.

It records exactly what the real clients sent (method, path, headers,
query and form fields) and answers like the real service would, or, as
Unanswered, takes the request and never answers.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    params: dict[str, str]


def _recorded(handler: BaseHTTPRequestHandler) -> Recorded:
    """What the client sent: method, path, headers, and query and form fields (the last of
    each name)."""
    parts = urlsplit(handler.path)
    length = int(handler.headers.get("Content-Length") or 0)
    body = handler.rfile.read(length).decode() if length else ""
    fields = parse_qs(parts.query, keep_blank_values=True)
    fields |= parse_qs(body, keep_blank_values=True)
    params = {k: v[-1] for k, v in fields.items()}
    return Recorded(handler.command, parts.path, dict(handler.headers.items()), params)


class _Quiet(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


class _Local:
    """A server on a free loopback port, in a thread of its own."""

    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def _serve(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.block_on_close = False  # do not wait out a held connection on exit
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()


@dataclass
class Recorder(_Local):
    """Thread-safe log of requests plus a queue of forced failure statuses."""

    requests: list[Recorded] = field(default_factory=list)
    fail_with: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.fail_with.clear()

    def to(self, path_part: str) -> list[Recorded]:
        with self.lock:
            return [r for r in self.requests if path_part in r.path]

    def start(self) -> Recorder:
        recorder = self

        class Handler(_Quiet):
            def _handle(self) -> None:
                recorded = _recorded(self)
                with recorder.lock:
                    recorder.requests.append(recorded)
                    status = recorder.fail_with.pop(0) if recorder.fail_with else 0
                if status:
                    self._reply(status, b'{"code": 20500, "message": "forced failure"}')
                elif recorded.path.endswith("/Messages.json"):
                    sid = "SM" + uuid.uuid4().hex
                    self._reply(201, json.dumps({"sid": sid, "status": "queued"}).encode())
                else:
                    self._reply(202, b"0: Accepted for delivery")

            def _reply(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _handle

        self._serve(Handler)
        return self


@dataclass
class Unanswered(_Local):
    """A carrier that takes the whole request, records it, and never answers: it holds the
    connection for `hold_s`, then drops it. The sender cannot know whether the SMS went out."""

    hold_s: float
    requests: list[Recorded] = field(default_factory=list)

    def __enter__(self) -> Unanswered:
        carrier = self

        class Handler(_Quiet):
            def _handle(self) -> None:
                carrier.requests.append(_recorded(self))
                time.sleep(carrier.hold_s)
                self.close_connection = True  # no status line: the connection just ends

            do_GET = do_POST = _handle

        self._serve(Handler)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
