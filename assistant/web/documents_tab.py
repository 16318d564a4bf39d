"""The documents: the Documents tab (list, uploads, removal) and the picker of what a question is asked of.

Why together: both read the same list (``library.documents()``) and an upload
or a removal changes both. The picker above the question box holds document
keys (never a server path), is kept with the conversation, and the line above
the chat names what is searched ("Searching: <title>", "Searching 2 of 14
documents: …").
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import gradio as gr

from ..errors import UnknownDocument
from . import actions as act
from .chat import ChatSession
from .library import DocumentInfo, forget_copy
from .page import Updates
from .redact import redact
from .render import render_documents, render_error, render_header, render_status, searched

log = logging.getLogger(__name__)


class DocumentEvents:
    """The documents list, uploads, removal and the scope picker; mixed into ``ChatUI``."""

    def catalog(self) -> list[DocumentInfo]:
        try:
            return self.library.documents()
        except Exception:  # the list is a convenience; a store problem shows up when asking
            log.exception("web chat: listing documents failed")
            return []

    def documents_html(self, docs: list[DocumentInfo] | None = None) -> str:
        try:
            return render_documents(self.library.documents(queued=True) if docs is None else docs)
        except Exception:
            log.exception("web chat: listing documents failed")
            return '<p class="docs-summary">The document list is unavailable; questions still work.</p>'

    def _chosen(self, session: ChatSession, docs: list[DocumentInfo]) -> list[DocumentInfo]:
        by_key = {d.key: d for d in docs}
        return [by_key[k] for k in session.scope if k in by_key]

    def scope_sources(self, session: ChatSession) -> list[str] | None:
        """The store's source ids of the chosen documents (never shown), None for all.

        Documents removed since they were chosen are left out; when none is left the
        reader is told, rather than silently answered from every document.
        """
        if not session.scope:
            return None
        by_key = {d.key: d.source for d in self.catalog()}
        chosen = [by_key[k] for k in session.scope if k in by_key]
        if not chosen:
            raise UnknownDocument("None of the documents chosen for this conversation is in the library any more.",
                                  "Choose others above the question box, or clear the choice to search them all.")
        return chosen

    def scope_words(self, session: ChatSession) -> str:
        """Where an answer is looked for, in words ("all 14 documents", "“White paper”")."""
        docs = self.catalog()
        chosen = self._chosen(session, docs) or (docs if len(docs) == 1 else [])
        return searched([d.title for d in chosen], len(docs))

    def scope_updates(self, session: ChatSession, docs: list[DocumentInfo] | None = None) -> Updates:
        """The header line and the picker for ``session``'s documents; keys of removed documents are dropped."""
        docs = self.catalog() if docs is None else docs
        chosen = self._chosen(session, docs)
        session.scope = [d.key for d in chosen]
        titles = [d.title for d in chosen] or ([docs[0].title] if len(docs) == 1 else [])
        choices = [(f"{d.title} ({d.name})" if d.name not in d.title else d.title, d.key) for d in docs]
        return {"header": render_header(titles, len(docs), self.bot.status), "session": session,
                "picker": gr.update(choices=choices, value=list(session.scope))}

    def choose_documents(self, keys: Any, session: ChatSession) -> Updates:
        """The picker changed: ask the chosen documents from now on, and keep them with the conversation."""
        if session.pending:
            return {"error": render_error("The documents apply from the next question."), "session": session}
        session.scope = [str(k) for k in (keys or []) if isinstance(k, str)]
        updates = self.scope_updates(session)
        if session.conversation:
            self.store.set_scope(session.owner, session.conversation, session.scope)
        updates.pop("picker")  # the reader is using it: redrawing it would close its list
        return {**updates, "error": ""}

    def _documents_changed(self, session: ChatSession, lines: list[tuple[bool, str]]) -> Updates:
        docs = self.catalog()
        lines = [(ok, redact(msg, self.bot.settings, self.library.received)) for ok, msg in lines]
        return {"status": render_status(lines), "documents": self.documents_html(), **self.scope_updates(session, docs)}

    def upload(self, files: Any, session: ChatSession) -> Updates:
        """The upload event: each file Gradio just received (its upload cache) is added, with one line each.

        The zone is emptied every time, so after a refused file it is ready for the next one;
        Gradio's copy is deleted once the library has its own (or refused it). A file
        queued behind another process's ingest is followed by the timer (``poll_uploads``).
        """
        from gradio.utils import get_upload_folder, is_in_or_equal

        if not files:
            return {}
        received = Path(get_upload_folder())
        lines: list[tuple[bool, str]] = []
        for f in files if isinstance(files, list) else [files]:
            path = Path(f if isinstance(f, str) else getattr(f, "name", "") or f.get("path", ""))
            if not is_in_or_equal(path, received) or path.is_symlink() or not path.is_file():
                lines.append((False, "Not added. That file was not uploaded through this page."))
                continue
            try:
                result = self.library.add(path)
                lines.append((result.ok, result.message))
                if result.token:
                    session.uploads.append(result.token)
            except OSError as exc:
                log.exception("web chat: upload of %s failed", path.name)
                lines.append((False, f"Not added. {path.name} could not be saved ({exc.strerror or type(exc).__name__})."))
            finally:
                forget_copy(path, received)  # the library has its own copy now, or refused it
        return {**self._documents_changed(session, lines), "upload": None}

    def watch_uploads(self, session: ChatSession) -> Updates:
        """After an upload: the timer runs while any of this tab's uploads waits for another ingest (or an
        ingest's progress is shown)."""
        return {"timer": gr.Timer(active=bool(session.uploads or self.bot.status))}

    def poll_uploads(self, session: ChatSession) -> Updates:
        """The timer, while this tab has uploads queued or an ingest runs: their outcome when there is one,
        the ingest's progress in the header; then it stops."""
        done, session.uploads = self.library.outcomes(session.uploads)
        updates: Updates = {"session": session}
        if done:
            updates.update(self._documents_changed(session, done))
        else:
            updates["documents"] = self.documents_html()  # still queued: the list says so
        status = self.bot.status
        if status or session.ingest_shown:
            scope = self.scope_updates(session)
            # while it runs only the line changes (redrawing the picker would close it under the reader);
            # when it has ended, the documents it added are listed and offered
            updates.update({"header": scope["header"]} if status else scope)
            session.ingest_shown = bool(status)
        if not session.uploads and not status:
            updates["timer"] = gr.Timer(active=False)
        return updates

    def upload_refused(self, session: ChatSession) -> Updates:
        """The upload event failed before ``upload`` saw the files: Gradio refused them. Say why and what to do.

        Gradio refuses a file whose name starts with a dot (a hidden file) once its upload
        cache lies in the working folder, as ``serve``'s does; the page script catches such
        names before they are sent, so this is the last resort for any other refusal.
        """
        line = (False, "Not added. The server refused the file before reading it. Hidden files (names that start "
                       "with a dot, such as .notes.md) are refused: rename the file without the leading dot and "
                       "upload it again.")
        return {"status": render_status([line]), "upload": None, "session": session}

    @act.handles(act.REMOVE)
    def remove_document(self, session: ChatSession, key: str = "") -> Updates:
        message = self.library.remove(key)
        return self._documents_changed(session, [(message.startswith("Removed"), message)])

    def refresh_documents(self, session: ChatSession) -> Updates:
        return {"documents": self.documents_html(), **self.scope_updates(session)}


__all__ = ["DocumentEvents"]
