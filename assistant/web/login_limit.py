"""A price on wrong passwords: Gradio's ``/login`` answers as fast as it is asked.

Why: with ``--auth`` one shared password guards the chat, and Gradio checks
any number of guesses (30 in a third of a second). Each client address gets a
few free tries; after that each wrong password shuts that address out for
twice as long as the last (1, 2, 4 … seconds, at most ``MAX_WAIT_S``), with
HTTP 429, a ``Retry-After`` header and a sentence saying when to try again. A
right password clears the address's record. Behind a reverse proxy every client
shares the proxy's address, so one guesser slows everyone's sign-in, never
anyone's session.

A pure ASGI middleware (``app_kwargs={"middleware": [...]}`` at launch): it
sees only ``POST /login``, the one route that checks a password, and lets every
other request through untouched, streams included.
"""

from __future__ import annotations

import json
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

FREE_TRIES = 5  # wrong passwords an address may send before it has to wait
FIRST_WAIT_S = 1.0  # the first wait; each further wrong password doubles it
MAX_WAIT_S = 300.0  # the longest wait: a typo-prone owner is never locked out for long
MAX_ADDRESSES = 10_000  # addresses remembered; the oldest are forgotten first


@dataclass
class Record:
    failures: int = 0
    until: float = 0.0  # monotonic time before which this address is refused


class LoginLimit:
    """Refuse ``POST /login`` from an address that sent too many wrong passwords, for a doubling while."""

    def __init__(self, app: ASGIApp, *, free: int = FREE_TRIES, first_wait: float = FIRST_WAIT_S,
                 max_wait: float = MAX_WAIT_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.app = app
        self.free = free
        self.first_wait = first_wait
        self.max_wait = max_wait
        self.clock = clock
        self.records: OrderedDict[str, Record] = OrderedDict()  # touched on the event loop only: no lock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http" or scope.get("method") != "POST" or \
                scope.get("path", "").rstrip("/") not in ("/login", (scope.get("root_path") or "") + "/login"):
            await self.app(scope, receive, send)
            return
        address = (scope.get("client") or ("unknown", 0))[0]
        record = self.records.get(address)
        now = self.clock()
        if record is not None and now < record.until:
            await self._refuse(send, record.until - now)
            return
        status: list[int] = []

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(int(message["status"]))
            await send(message)

        await self.app(scope, receive, watch)
        if status and 200 <= status[0] < 300:
            self.records.pop(address, None)
        elif status and status[0] in (400, 401, 403):  # Gradio answers a wrong password with 400
            self._failed(address)

    def _failed(self, address: str) -> None:
        record = self.records.pop(address, None) or Record()
        record.failures += 1
        beyond = record.failures - self.free
        if beyond >= 0:
            record.until = self.clock() + min(self.first_wait * 2 ** beyond, self.max_wait)
        self.records[address] = record  # most recent last
        while len(self.records) > MAX_ADDRESSES:
            self.records.popitem(last=False)

    async def _refuse(self, send: Send, wait: float) -> None:
        seconds = max(1, math.ceil(wait))
        body = json.dumps({"detail": f"Too many wrong passwords from your address. Wait {seconds} s, then sign in "
                                     "again."}).encode("utf-8")
        await send({"type": "http.response.start", "status": 429,
                    "headers": [(b"content-type", b"application/json"), (b"retry-after", str(seconds).encode()),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


__all__ = ["LoginLimit"]
