"""Asking in the web chat: a question shown at once, its answer streamed, and what can be done to an answer.

Why the two steps: ``submit`` is unqueued and shows the question the instant it
is sent (or keeps a bad one in the box with the reason); ``answer`` is queued,
limited to ``concurrency`` at a time, and streams into a separate "live" area so
earlier messages are never re-drawn under the reader. Each handler returns
named updates (``page.Updates``); the chat actions of our HTML (an example,
Regenerate, a rating, a note) are ``@handles`` of their declared ``Action``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from ..core import Assistant
from ..errors import AssistantError, InvalidQuestion
from ..types import Answer
from . import actions as act
from .conversations import Turn
from .page import Updates
from .redact import redact
from .render import render_error, render_pending, render_sources

log = logging.getLogger(__name__)

PACE_S = 0.03  # an answer made faster than this per word is shown word by word at this pace…
PACE_BUDGET_S = 1.0  # …but never slowed down by more than this in all
STOPPED = "Stopped before the answer was complete. Ask again, or press Regenerate."
BUSY = "Wait for the answer, or press Stop."


@dataclass
class ChatSession:
    """One browser tab's view: whose conversations, which one is open, what is being answered."""

    owner: str = ""
    conversation: str | None = None
    turns: list[Turn] = field(default_factory=list)
    pending: str | None = None  # the question being answered right now
    regenerate: bool = False  # the pending question replaces the last turn
    scope: list[str] = field(default_factory=list)  # the chosen documents (Documents tab keys); [] = all
    uploads: list[str] = field(default_factory=list)  # this tab's uploads queued behind another ingest (tokens)
    ingest_shown: bool = False  # the header shows an ingest's progress ("Finishing an interrupted ingest: 40 %")


class ChatEvents:
    """Asking and answering, and the actions on answers; mixed into ``ChatUI``."""

    @staticmethod
    def history_of(turns: list[Turn]) -> list[dict]:
        """Role/content history for the assistant: the plain texts, never the rendered HTML."""
        out: list[dict] = []
        for turn in turns:
            if turn.answer is not None:
                out += [{"role": "user", "content": turn.question}, {"role": "assistant", "content": turn.answer.text}]
        return out

    def _begin(self, question: str, session: ChatSession, turn: int | None = None) -> Updates:
        """Show ``question`` at once with where its answer is looked for; the answer is pending."""
        session.pending = question
        n = turn or len(session.turns) + 1
        return {"box": "", "error": "", "stop": gr.update(visible=True), "session": session,
                "live": render_pending(n, question, "", self.scope_words(session))}

    def submit(self, question: Any, session: ChatSession) -> Updates:
        """Unqueued first step: check the question and show it; a bad one stays in the box with the reason."""
        if session.pending:
            return {"error": render_error(BUSY)}
        if not isinstance(question, str) or not question.strip():
            return {"error": render_error("Type a question first.")}
        try:
            question = Assistant.validate_question(question, self.question_limit)
        except InvalidQuestion as exc:
            return {"error": render_error(str(exc))}
        return self._begin(question, session)

    def answer(self, session: ChatSession) -> Iterator[Updates]:
        """Queued second step: stream the pending question's answer, then file it in the conversation.

        Extractive answers are made in milliseconds; they are paced word by word (within
        ``PACE_BUDGET_S``) so the reader sees them arrive as generative ones do.
        """
        question = session.pending
        if not question:
            yield {"stop": gr.update(visible=False)}
            return
        if session.regenerate and session.turns:
            session.turns.pop()
        session.regenerate = False
        n = len(session.turns) + 1
        scope = self.scope_words(session)
        history = self.history_of(session.turns)
        final: Answer | None = None
        error = ""
        text = ""
        last = time.monotonic()
        budget = PACE_BUDGET_S
        try:
            sources = self.scope_sources(session)
            for item in self.bot.stream(question, history, sources=sources):
                if isinstance(item, Answer):
                    final = item
                    continue
                text += item
                wait = min(PACE_S - (time.monotonic() - last), budget)
                if wait > 0:
                    time.sleep(wait)
                    budget -= wait
                last = time.monotonic()
                yield {"live": render_pending(n, question, text, scope)}
        except AssistantError as exc:
            error = redact(str(exc), self.bot.settings)
        except Exception as exc:  # never show a traceback in the chat
            log.exception("web chat: answering %r failed", question)
            error = f"Something went wrong on the server ({type(exc).__name__}). Please try again."
        if final is None and not error:
            error = "The answer was cut off. Please try again."
        if session.pending != question:  # stopped meanwhile: the stop handler filed the turn
            return
        self._file(session, Turn(question, final, error))
        yield self._filed(session)

    def _filed(self, session: ChatSession) -> Updates:
        return {"live": "", "log": self.log_html(session), "sources": render_sources(session.turns),
                "stop": gr.update(visible=False), "session": session,
                "conversations": self.conversations_html(session)}

    def _file(self, session: ChatSession, turn: Turn) -> None:
        """Add the finished turn to the conversation (created on its first answer) and save it."""
        session.turns.append(turn)
        session.pending = None
        try:
            if session.conversation is None:
                session.conversation = self.store.create(session.owner, turn.question, session.scope)
            self.store.save_turn(session.owner, session.conversation, len(session.turns) - 1, turn)
        except Exception:  # the answer is shown either way; only its saving failed
            log.exception("web chat: saving the conversation failed")

    def stop(self, session: ChatSession) -> Updates:
        """Stop: the question stays, marked as stopped; the reader can regenerate it."""
        if not session.pending:
            return {"stop": gr.update(visible=False)}
        if session.regenerate and session.turns:
            session.turns.pop()
        session.regenerate = False
        self._file(session, Turn(session.pending, None, STOPPED))
        return self._filed(session)

    # -- actions in the chat log
    @act.handles(act.EXAMPLE)
    def ask_example(self, session: ChatSession, q: str = "") -> Updates:
        return self.submit(q, session)

    @act.handles(act.REGENERATE)
    def regenerate(self, session: ChatSession, turn: int = 0) -> Updates:
        if session.pending:
            return {"error": render_error(BUSY), "log": self.log_html(session)}
        if not session.turns or turn != len(session.turns):
            return {"log": self.log_html(session)}
        session.regenerate = True
        # the old answer stays visible under the new one until it is replaced
        shown = ChatSession(conversation=session.conversation, turns=session.turns[:-1])
        return {**self._begin(session.turns[-1].question, session, turn), "log": self.log_html(shown)}

    def _rated(self, session: ChatSession, turn: int, value: int, note: str | None) -> Updates:
        if session.pending:
            return {"error": render_error(BUSY), "log": self.log_html(session)}
        if not 1 <= turn <= len(session.turns) or not session.conversation:
            return {"log": self.log_html(session)}
        t = session.turns[turn - 1]
        if t.answer is None or value not in (1, -1) or not self.store.rate(
                session.owner, session.conversation, turn - 1, value, note):
            return {"error": render_error("The feedback could not be saved. Please try again."),
                    "log": self.log_html(session)}
        t.rating = value
        if note is not None:
            t.note = note.strip()
        return {"error": "", "log": self.log_html(session), "session": session}

    @act.handles(act.RATE)
    def rate(self, session: ChatSession, turn: int = 0, value: int = 0) -> Updates:
        return self._rated(session, turn, value, None)

    @act.handles(act.NOTE)
    def save_note(self, session: ChatSession, turn: int = 0, note: str = "") -> Updates:
        t = session.turns[turn - 1] if 1 <= turn <= len(session.turns) else None
        return self._rated(session, turn, (t.rating if t else 0) or -1, note)

    # -- the API for programs
    @staticmethod
    def check_history(history: Any) -> list[dict]:
        """The shape the page's API takes; its size and text are the assistant's to check (``validate_history``)."""
        if history in (None, "", []):
            return []
        if not isinstance(history, list) or not all(
            isinstance(m, dict) and m.get("role") in ("user", "assistant") and isinstance(m.get("content"), str)
            for m in history
        ):
            raise gr.Error(
                'history must be a list of {"role": "user" | "assistant", "content": "..."} messages, or [].',
                title="Bad history",
                print_exception=False,
            )
        return [{"role": m["role"], "content": m["content"]} for m in history]

    @staticmethod
    def check_sources(sources: Any) -> list[str] | None:
        if sources in (None, "", []):
            return None
        if isinstance(sources, str):
            return [sources]
        if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
            raise gr.Error("sources must be a list of document names (file names or titles), or [] for all.",
                           title="Bad sources", print_exception=False)
        return sources

    def api_ask(self, question: str, history: Any, sources: Any = None) -> dict:
        """``/ask``: the Python API's ``Answer.to_dict()``; assistant errors become a clear gr.Error.

        ``sources`` limits the answer to the named documents, as ``Assistant.ask`` does.
        """
        hist = self.check_history(history)
        names = self.check_sources(sources)
        try:
            return self.bot.ask(question, hist, sources=names).to_dict()
        except AssistantError as exc:
            raise gr.Error(redact(str(exc), self.bot.settings), title=type(exc).__name__,
                           print_exception=False) from exc
