"""The conversations sidebar and a conversation's address: open, new, rename, delete, reopen on load.

Why the address: a reload, or a link the reader kept, must bring back the
conversation it showed. The open conversation's id is written into the chat log
(``render_log``), the page script puts it in the location bar as ``?c=<id>``,
and ``on_load`` reopens it, for its owner only: anyone else (another browser,
another sign-in) gets a fresh chat and a sentence saying why. Each conversation
in the list has its own menu (rename, delete), so neither acts on "the open
one" by surprise.
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

import gradio as gr

from . import actions as act
from .chat import BUSY, ChatSession
from .page import Updates
from .render import render_conversations, render_error, render_log, render_sources

log = logging.getLogger(__name__)

CONVERSATION_ID = re.compile(r"[0-9a-f]{32}")
NOT_YOURS = "That conversation link is not one of your conversations (or it was deleted), so a new chat is open."


class ConversationEvents:
    """The conversations list and the page's first load; mixed into ``ChatUI``."""

    def log_html(self, session: ChatSession) -> str:
        return render_log(session.turns, self.examples, session.conversation)

    def conversations_html(self, session: ChatSession) -> str:
        items = self.store.list(session.owner) if session.owner else []
        return render_conversations(items, session.conversation)

    def _show(self, session: ChatSession, error: str = "") -> Updates:
        """The open conversation drawn whole: chat, sources, list, its documents and the header."""
        return {"log": self.log_html(session), "live": "", "sources": render_sources(session.turns),
                "session": session, "conversations": self.conversations_html(session),
                "error": render_error(error), **self.scope_updates(session)}

    def on_load(self, browser_id: Any, request: gr.Request) -> Updates:
        """Name the owner (signed-in user, else this browser's random id), then draw the page.

        A ``?c=<id>`` in the address reopens that conversation when it is the owner's.
        """
        user = getattr(request, "username", None) if request is not None else None
        if not (isinstance(browser_id, str) and re.fullmatch(r"[0-9a-f]{32}", browser_id)):
            browser_id = uuid.uuid4().hex
        session = ChatSession(owner=f"user:{user}" if user else f"browser:{browser_id}")
        params = getattr(request, "query_params", None) or {}
        wanted = str(params.get("c") or "")
        error = ""
        if wanted:
            conv = self.store.get(session.owner, wanted) if CONVERSATION_ID.fullmatch(wanted) else None
            if conv is None:
                error = NOT_YOURS
            else:
                session.conversation, session.turns, session.scope = conv.id, conv.turns, conv.scope
        updates = {"browser_id": browser_id, **self._show(session, error), "documents": self.documents_html()}
        if self.bot.status:  # an ingest is being finished: its progress is followed until it ends
            session.ingest_shown = True
            updates["timer"] = gr.Timer(active=True)
        return updates

    @act.handles(act.NEW)
    def new_conversation(self, session: ChatSession) -> Updates:
        if session.pending:
            return {"error": render_error(BUSY)}
        session.conversation, session.turns = None, []
        return self._show(session)

    @act.handles(act.OPEN)
    def open_conversation(self, session: ChatSession, cid: str = "") -> Updates:
        if session.pending:
            return {"error": render_error(BUSY)}
        conv = self.store.get(session.owner, cid) if session.owner else None
        if conv is None:
            return {"conversations": self.conversations_html(session),
                    "error": render_error("That conversation no longer exists.")}
        session.conversation, session.turns, session.scope = conv.id, conv.turns, conv.scope
        return self._show(session)

    @act.handles(act.RENAME)
    def rename_conversation(self, session: ChatSession, cid: str = "", title: str = "") -> Updates:
        if not self.store.rename(session.owner, cid, title):
            return {"conversations": self.conversations_html(session),
                    "error": render_error("Type a new name first.")}
        return {"conversations": self.conversations_html(session), "error": ""}

    @act.handles(act.DELETE)
    def delete_conversation(self, session: ChatSession, cid: str = "") -> Updates:
        if session.pending and cid == session.conversation:
            return {"error": render_error("Wait for the answer, or press Stop, first.")}
        self.store.delete(session.owner, cid)
        if cid != session.conversation:
            return {"conversations": self.conversations_html(session), "error": ""}
        session.conversation, session.turns = None, []
        return self._show(session)
