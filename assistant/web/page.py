"""The page's updatable parts by name, and what a handler returns: named updates.

Why: a Gradio handler that returns a positional tuple must list every output in
order, with ``gr.skip()`` for each it leaves alone, so adding an output shifts
every handler. Ours return ``{"log": html, "session": session}``: only what
changes, by name. ``Page.wrap`` turns such a handler into what Gradio calls
(a dict keyed by components; Gradio leaves outputs missing from it untouched),
and every chat event lists the whole page as its outputs.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import gradio as gr

Updates = dict[str, Any]  # component name -> its new value (or gr.update(...))


@dataclass
class Page:
    """The components handlers may update, by name (built in ``ChatUI.create_app``)."""

    session: gr.State
    browser_id: gr.BrowserState
    box: gr.Textbox
    error: gr.HTML
    live: gr.HTML
    stop: gr.Button
    log: gr.HTML
    sources: gr.HTML
    conversations: gr.HTML
    header: gr.HTML
    picker: gr.Dropdown
    status: gr.HTML
    documents: gr.HTML
    upload: gr.File
    timer: gr.Timer  # ticks only while an upload of this tab waits for another process's ingest

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    def outputs(self, *names: str) -> list[Any]:
        """The components ``names`` (default: all of them), in a fixed order."""
        return [getattr(self, n) for n in (names or self.names())]

    def components(self, updates: Updates) -> dict[Any, Any]:
        unknown = set(updates) - set(self.names())
        if unknown:
            raise KeyError(f"no page component named {sorted(unknown)}")
        return {getattr(self, name): value for name, value in updates.items()}

    def wrap(self, handler: Callable[..., Any]) -> Callable[..., Any]:
        """``handler`` (returning or yielding ``Updates``) as Gradio calls it: updates keyed by component.

        ``functools.wraps`` keeps the signature and type hints, so Gradio still fills in
        ``gr.Request`` and ``ActionData`` arguments.
        """
        if inspect.isgeneratorfunction(handler):
            @functools.wraps(handler)
            def stream(*args: Any, **kwargs: Any) -> Any:
                for updates in handler(*args, **kwargs):
                    yield self.components(updates) or {self.session: gr.skip()}

            return stream

        @functools.wraps(handler)
        def call(*args: Any, **kwargs: Any) -> Any:
            return self.components(handler(*args, **kwargs)) or {self.session: gr.skip()}

        return call
