"""A client app's webhook receiver for tests: a real HTTP server on a loopback port, in a
thread, that verifies each delivery's signature as an app would and answers as told."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    event_id: str
    signature: str
    body: bytes
    verified: bool

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class Receiver:
    """`answers`: the status code of each request in turn (the last one repeats);
    `delay_s`: how long each answer takes. `secret` is what signatures are checked with."""

    url: str
    answers: list[int]
    delay_s: float = 0.0
    secret: str = ""
    received: list[Received] = field(default_factory=list)


@contextmanager
def webhook_receiver(answers: list[int] | None = None, delay_s: float = 0.0) -> Iterator[Receiver]:
    from portal.clients.webhooks import EVENT_ID_HEADER, SIGNATURE_HEADER, verify_signature

    receiver = Receiver(url="", answers=list(answers or [200]), delay_s=delay_s)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            signature = self.headers.get(SIGNATURE_HEADER, "")
            receiver.received.append(
                Received(
                    event_id=self.headers.get(EVENT_ID_HEADER, ""),
                    signature=signature,
                    body=body,
                    verified=verify_signature(receiver.secret, signature, body),
                )
            )
            index = min(len(receiver.received), len(receiver.answers)) - 1
            if receiver.delay_s:
                time.sleep(receiver.delay_s)
            try:
                self.send_response(receiver.answers[index])
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except OSError:
                pass  # the sender gave up waiting (a timeout test)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/stemvault"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
