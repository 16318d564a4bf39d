"""Shared helpers for the web chat tests: a real Gradio server on a free loopback port.

The server runs in-process over an ``Assistant`` that reuses the session's
embedding model, so starting one costs a launch, not a model load.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class RunningChat:
    url: str
    ui: Any  # assistant.web.app.ChatUI
    app: Any  # gr.Blocks

    def client(self, **kwargs: Any):
        from gradio_client import Client

        # download_files=False: gradio_client treats any dict with a "path" key as a file to
        # fetch, and citations have a "path"; analytics_enabled=False: the client's telemetry.
        return Client(self.url, verbose=False, analytics_enabled=False, download_files=False, **kwargs)


@contextmanager
def running_chat(bot, *, launch: dict[str, Any] | None = None, **ui_kwargs: Any) -> Iterator[RunningChat]:
    """``launch`` adds keyword arguments of ``Blocks.launch`` (``auth=("alice", "pw")``)."""
    from assistant.web.app import ChatUI

    ui = ChatUI(bot, **ui_kwargs)
    app = ui.create_app()
    port = free_port()
    ui.launch(app, server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **(launch or {}))
    try:
        yield RunningChat(f"http://127.0.0.1:{port}", ui, app)
    finally:
        app.close()
