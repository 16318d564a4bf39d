"""The web chat: a thin Gradio UI over ``Assistant`` (``assistant serve``).

Why the shape: ``ChatUI`` holds no question-answering logic, only presentation
(streaming, citation cards, refusals, documents, conversations), so the UI and
the Python API can never disagree. HTML comes from ``render`` (pure
functions), uploads go through ``library`` (names, write-index-swap), and
conversations and feedback through ``conversations`` (SQLite). ``create_app()``
builds the ``gr.Blocks`` without starting a server, so tests and programs can
mount or launch it themselves; ``launch()`` adds what Gradio 6 takes at launch
time (theme, CSS, the page script in ``static/``).

The chat log is our own HTML rather than ``gr.Chatbot``: each message needs a
plain-text accessible name, [n] links that open cards, and per-answer Copy /
Regenerate / feedback controls, which the Chatbot renders as raw HTML labels
or not at all. A question is shown at once (a fast unqueued step), then the
answer streams into a separate "live" area so earlier messages are never
re-drawn under the reader.

Everything stays on the machine: analytics are off, the theme uses system fonts
(no font CDN), the app never serves files outside Gradio's upload cache (no
``allowed_paths``), and uploads are copied into ``data_dir/uploads`` only.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import offline

offline.apply()  # before Gradio reads its analytics switch

import gradio as gr  # noqa: E402

from ..core import Assistant  # noqa: E402
from ..errors import AssistantError, InvalidQuestion  # noqa: E402
from ..settings import Settings  # noqa: E402
from ..types import Answer  # noqa: E402
from .conversations import ConversationStore, Turn, shorten  # noqa: E402
from .library import UPLOAD_SUFFIXES, Library, human_size, safe_filename  # noqa: E402
from .render import (  # noqa: E402
    esc,
    render_documents,
    render_error,
    render_log,
    render_pending,
    render_sources,
    render_status,
)

log = logging.getLogger(__name__)

STATIC = Path(__file__).with_name("static")
QUEUE_MAX_SIZE = 256  # bounded: beyond this, users are told the server is busy instead of waiting forever
MAX_HISTORY_MESSAGES = 40  # follow-up resolution only looks at the last turns; cap what programs can send
PACE_S = 0.03  # an answer made faster than this per word is shown word by word at this pace…
PACE_BUDGET_S = 1.0  # …but never slowed down by more than this in all
STOPPED = "Stopped before the answer was complete. Ask again, or press Regenerate."

EXAMPLES = [
    "How many Ukrainians has Japan taken in?",
    "How much financial aid did Japan announce in February?",
    "What share of Japanese people supported sanctions on Russia?",
    "What equipment has Japan supplied to Ukraine?",
]

# System fonts only: Gradio's default theme is local, but being explicit keeps any
# future default (or a Google font) from making the page fetch fonts off the machine.
SYSTEM_FONTS = ["Segoe UI", "Helvetica Neue", "Helvetica", "Arial", "DejaVu Sans", "sans-serif"]
MONO_FONTS = ["DejaVu Sans Mono", "Menlo", "Consolas", "monospace"]

# Server actions from our HTML (examples, regenerate, feedback, remove): js_on_load owns
# Gradio's `trigger`, so each component forwards its own buttons' clicks with their data.
FORWARD_ACTIONS = """
if (element.dataset.bound) return;
element.dataset.bound = "1";
element.addEventListener("click", function (ev) {
  var b = ev.target && ev.target.closest ? ev.target.closest("button[data-action]") : null;
  if (!b || !element.contains(b)) return;
  var action = b.getAttribute("data-action");
  if (["example", "regenerate", "rate", "note", "remove"].indexOf(action) < 0) return;
  var data = {action: action, turn: parseInt(b.getAttribute("data-turn") || "0", 10),
              value: parseInt(b.getAttribute("data-value") || "0", 10),
              q: b.getAttribute("data-q") || "", key: b.getAttribute("data-key") || ""};
  if (action === "note") {
    var form = b.closest("form");
    var ta = form && form.querySelector("textarea");
    data.note = ta ? ta.value : "";
  }
  b.disabled = true;  // one click, one action; the re-rendered HTML brings the button back
  trigger("click", data);
});
"""


def theme() -> gr.themes.Base:
    """Gradio's default theme with system fonts and colours that meet WCAG AA in light and dark."""
    return gr.themes.Default(primary_hue="blue", neutral_hue="gray", font=SYSTEM_FONTS, font_mono=MONO_FONTS).set(
        body_text_color_subdued="#4b5563", body_text_color_subdued_dark="#cbd5e1",
        block_label_text_color="#374151", block_label_text_color_dark="#e5e7eb",
        block_info_text_color="#4b5563", block_info_text_color_dark="#cbd5e1",
        input_placeholder_color="#6b7280", input_placeholder_color_dark="#9ca3af",
        input_border_color="#6b7280", input_border_color_dark="#9ca3af",
        checkbox_border_color="#6b7280", checkbox_border_color_dark="#9ca3af",
        checkbox_background_color_selected="#1d4ed8", checkbox_background_color_selected_dark="#60a5fa",
        checkbox_border_color_selected="#1d4ed8", checkbox_border_color_selected_dark="#60a5fa",
        button_primary_background_fill="#1d4ed8", button_primary_background_fill_dark="#2563eb",
        button_primary_background_fill_hover="#1e40af", button_primary_background_fill_hover_dark="#1d4ed8",
        button_primary_text_color="#ffffff", button_primary_text_color_dark="#ffffff",
        button_secondary_border_color="#6b7280", button_secondary_border_color_dark="#9ca3af",
        button_cancel_background_fill="#b91c1c", button_cancel_background_fill_dark="#b91c1c",
        button_cancel_text_color="#ffffff", button_cancel_text_color_dark="#ffffff",
        link_text_color="#1d4ed8", link_text_color_dark="#93c5fd",
        color_accent="#1d4ed8",  # selected tab, radio, focus (dark: page.css)
        button_border_width="1px", button_secondary_background_fill="#ffffff",
        button_secondary_background_fill_dark="#1f2937",
    )


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """``user:password`` → (user, password); None when unset; a clear error when malformed."""
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise AssistantError("--auth / ASSISTANT_AUTH must look like user:password.", "Example: --auth alice:s3cret")
    return user, password


def browser_secret(data_dir: Path) -> str:
    """The key the browser's conversation id is encrypted with, kept so a restart can still read it."""
    path = data_dir / "web-secret"
    try:
        value = path.read_text(encoding="utf-8").strip()
        if value:
            return value
    except OSError:
        pass
    value = secrets.token_urlsafe(24)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(value)
    except OSError:  # a read-only data folder: conversations then last until the server restarts
        log.warning("cannot keep the browser key in %s; conversations are tied to this server run", path)
    return value


@dataclass
class ChatSession:
    """One browser tab's view: whose conversations, which one is open, what is being answered."""

    owner: str = ""
    conversation: str | None = None
    turns: list[Turn] = field(default_factory=list)
    pending: str | None = None  # the question being answered right now
    regenerate: bool = False  # the pending question replaces the last turn


class ChatUI:
    """Presentation of an ``Assistant`` as a Gradio chat; the assistant is injected."""

    def __init__(
        self,
        assistant: Assistant,
        *,
        max_upload_bytes: int | None = None,
        concurrency_limit: int | None = None,
        examples: list[str] | None = None,
    ) -> None:
        """Limits default to the assistant's settings (``max_upload_mb``, ``concurrency``)."""
        self.bot = assistant
        settings = assistant.settings
        self.max_upload_bytes = max_upload_bytes or int(settings.max_upload_mb * 1024 * 1024)
        self.concurrency_limit = concurrency_limit or settings.concurrency
        self.examples = EXAMPLES if examples is None else examples
        self.library = Library(assistant, self.max_upload_bytes)
        self.store = ConversationStore(settings.data_dir / "conversations.sqlite")
        self.question_limit = settings.max_question_chars

    @property
    def uploads_dir(self) -> Path:
        return self.library.folder

    # -- small views
    def document_count(self) -> int:
        try:
            return len(self.bot.ingestor.manifest())
        except Exception:  # a count is a convenience; a store problem shows up when asking
            return 0

    def header_count(self) -> str:
        n = self.document_count()
        return (f'<p id="doc-count">Searching {n} document{"s" if n != 1 else ""}. '
                '<button type="button" class="act" data-open-panel="Documents" id="show-documents">'
                'Documents</button><button type="button" class="act phone-only" data-open-panel="Sources" '
                'id="show-sources">Sources</button></p>')

    def documents_html(self) -> str:
        try:
            return render_documents(self.library.documents())
        except Exception:
            log.exception("web chat: listing documents failed")
            return '<p class="docs-summary">The document list is unavailable; questions still work.</p>'

    def log_html(self, session: ChatSession) -> str:
        return render_log(session.turns, self.examples)

    def conversation_choices(self, session: ChatSession) -> Any:
        items = self.store.list(session.owner) if session.owner else []
        choices = [(f"{c.title} ({c.turns})", c.id) for c in items]
        return gr.update(choices=choices, value=session.conversation if session.conversation else None)

    # -- load: who is this, and a fresh page
    def on_load(self, browser_id: Any, request: gr.Request) -> tuple[Any, ...]:
        """Name the owner (signed-in user, else this browser's random id) and draw the page."""
        user = getattr(request, "username", None) if request is not None else None
        if not (isinstance(browser_id, str) and re.fullmatch(r"[0-9a-f]{32}", browser_id)):
            browser_id = uuid.uuid4().hex
        session = ChatSession(owner=f"user:{user}" if user else f"browser:{browser_id}")
        return (browser_id, session, self.conversation_choices(session), self.log_html(session),
                render_sources([]), self.documents_html(), self.header_count())

    # -- asking
    @staticmethod
    def history_of(turns: list[Turn]) -> list[dict]:
        """Role/content history for the assistant: the plain texts, never the rendered HTML."""
        out: list[dict] = []
        for turn in turns:
            if turn.answer is not None:
                out += [{"role": "user", "content": turn.question}, {"role": "assistant", "content": turn.answer.text}]
        return out

    def _begin(self, question: str, session: ChatSession) -> tuple[Any, ...]:
        """Outputs (box, error, live, stop, session) that show ``question`` at once, answer pending."""
        session.pending = question
        n = len(session.turns) + 1
        return "", "", render_pending(n, question, "", self.document_count()), gr.update(visible=True), session

    def submit(self, question: Any, session: ChatSession) -> tuple[Any, ...]:
        """Unqueued first step: check the question and show it; a bad one stays in the box with the reason."""
        if session.pending:
            return gr.skip(), render_error("Wait for the answer, or press Stop."), gr.skip(), gr.skip(), session
        if not isinstance(question, str) or not question.strip():
            return gr.skip(), render_error("Type a question first."), gr.skip(), gr.skip(), session
        try:
            question = Assistant.validate_question(question, self.question_limit)
        except InvalidQuestion as exc:
            return gr.skip(), render_error(str(exc)), gr.skip(), gr.skip(), session
        return self._begin(question, session)

    def answer(self, session: ChatSession) -> Iterator[tuple[Any, ...]]:
        """Queued second step: stream the pending question's answer, then file it in the conversation.

        Yields (live, log, sources, stop, session, conversations) frames. Extractive
        answers are made in milliseconds; they are paced word by word (within
        ``PACE_BUDGET_S``) so the reader sees them arrive as generative ones do.
        """
        question = session.pending
        if not question:
            yield gr.skip(), gr.skip(), gr.skip(), gr.update(visible=False), session, gr.skip()
            return
        if session.regenerate and session.turns:
            session.turns.pop()
        session.regenerate = False
        n = len(session.turns) + 1
        documents = self.document_count()
        history = self.history_of(session.turns)
        final: Answer | None = None
        error = ""
        text = ""
        last = time.monotonic()
        budget = PACE_BUDGET_S
        try:
            for item in self.bot.stream(question, history):
                if isinstance(item, Answer):
                    final = item
                    continue
                text += item
                wait = min(PACE_S - (time.monotonic() - last), budget)
                if wait > 0:
                    time.sleep(wait)
                    budget -= wait
                last = time.monotonic()
                yield render_pending(n, question, text, documents), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        except AssistantError as exc:
            error = str(exc)
        except Exception as exc:  # never show a traceback in the chat
            log.exception("web chat: answering %r failed", question)
            error = f"Something went wrong on the server ({type(exc).__name__}). Please try again."
        if final is None and not error:
            error = "The answer was cut off. Please try again."
        if session.pending != question:  # stopped meanwhile: the stop handler filed the turn
            return
        self._file(session, Turn(question, final, error))
        yield ("", self.log_html(session), render_sources(session.turns), gr.update(visible=False), session,
               self.conversation_choices(session))

    def _file(self, session: ChatSession, turn: Turn) -> None:
        """Add the finished turn to the conversation (created on its first answer) and save it."""
        session.turns.append(turn)
        session.pending = None
        try:
            if session.conversation is None:
                session.conversation = self.store.create(session.owner, turn.question)
            self.store.save_turn(session.owner, session.conversation, len(session.turns) - 1, turn)
        except Exception:  # the answer is shown either way; only its saving failed
            log.exception("web chat: saving the conversation failed")

    def stop(self, session: ChatSession) -> tuple[Any, ...]:
        """Stop: the question stays, marked as stopped; the reader can regenerate it."""
        if not session.pending:
            return gr.skip(), gr.skip(), gr.skip(), gr.update(visible=False), session, gr.skip()
        if session.regenerate and session.turns:
            session.turns.pop()
        session.regenerate = False
        self._file(session, Turn(session.pending, None, STOPPED))
        return ("", self.log_html(session), render_sources(session.turns), gr.update(visible=False), session,
                self.conversation_choices(session))

    # -- actions from the chat log: examples, regenerate, feedback
    def log_action(self, session: ChatSession, evt: gr.EventData) -> tuple[Any, ...]:
        """Outputs (box, error, live, stop, session, log) for a button in the chat log."""
        data = evt._data if isinstance(getattr(evt, "_data", None), dict) else {}
        action = data.get("action")
        skip = (gr.skip(),) * 6
        if action == "example":
            q = str(data.get("q") or "")
            return (*self.submit(q, session), gr.skip())
        if session.pending:
            return gr.skip(), render_error("Wait for the answer, or press Stop."), gr.skip(), gr.skip(), session, \
                self.log_html(session)
        turn = data.get("turn")
        if not isinstance(turn, int) or not 1 <= turn <= len(session.turns):
            return skip
        t = session.turns[turn - 1]
        if action == "regenerate" and turn == len(session.turns):
            session.regenerate = True
            session.pending = t.question
            # the old answer stays visible under the new one until it is replaced
            return ("", "", render_pending(turn, t.question, "", self.document_count()), gr.update(visible=True),
                    session, self.log_html(ChatSession(turns=session.turns[:-1])))
        if action in ("rate", "note") and t.answer is not None and session.conversation:
            value = data.get("value") if action == "rate" else (t.rating or -1)
            note = str(data.get("note") or "")[:2000] if action == "note" else None
            if value in (1, -1) and self.store.rate(session.owner, session.conversation, turn - 1, value, note):
                t.rating = value
                if note is not None:
                    t.note = note.strip()
            else:
                return (gr.skip(), render_error("The feedback could not be saved. Please try again."), gr.skip(),
                        gr.skip(), session, self.log_html(session))
        return gr.skip(), "", gr.skip(), gr.skip(), session, self.log_html(session)

    # -- conversations
    def _show(self, session: ChatSession) -> tuple[Any, ...]:
        """Outputs (log, live, sources, session, conversations, rename box, error) for the open conversation."""
        title = ""
        if session.conversation:
            for c in self.store.list(session.owner):
                if c.id == session.conversation:
                    title = c.title
        return (self.log_html(session), "", render_sources(session.turns), session,
                self.conversation_choices(session), gr.update(value=title), "")

    def _busy(self, session: ChatSession) -> tuple[Any, ...] | None:
        if session.pending:
            return (gr.skip(),) * 3 + (session, gr.skip(), gr.skip(),
                                       render_error("Wait for the answer, or press Stop, first."))
        return None

    def new_conversation(self, session: ChatSession) -> tuple[Any, ...]:
        busy = self._busy(session)
        if busy:
            return busy
        session.conversation, session.turns = None, []
        return self._show(session)

    def open_conversation(self, cid: Any, session: ChatSession) -> tuple[Any, ...]:
        busy = self._busy(session)
        if busy:
            return busy
        conv = self.store.get(session.owner, str(cid or "")) if session.owner else None
        if conv is None:
            return (gr.skip(),) * 3 + (session, self.conversation_choices(session), gr.skip(),
                                       render_error("That conversation no longer exists."))
        session.conversation, session.turns = conv.id, conv.turns
        return self._show(session)

    def rename_conversation(self, title: Any, session: ChatSession) -> tuple[Any, ...]:
        if not session.conversation:
            return (gr.skip(),) * 3 + (session, gr.skip(), gr.skip(),
                                       render_error("Ask a question first: a conversation is saved with its first answer."))
        if not self.store.rename(session.owner, session.conversation, str(title or "")):
            return (gr.skip(),) * 3 + (session, gr.skip(), gr.skip(), render_error("Type a new name first."))
        return self._show(session)

    def delete_conversation(self, session: ChatSession) -> tuple[Any, ...]:
        busy = self._busy(session)
        if busy:
            return busy
        if session.conversation:
            self.store.delete(session.owner, session.conversation)
        session.conversation, session.turns = None, []
        return self._show(session)

    # -- the API for programs
    @staticmethod
    def check_history(history: Any) -> list[dict]:
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
        return [{"role": m["role"], "content": m["content"]} for m in history[-MAX_HISTORY_MESSAGES:]]

    def api_ask(self, question: str, history: Any) -> dict:
        """``/ask``: the Python API's ``Answer.to_dict()``; assistant errors become a clear gr.Error."""
        hist = self.check_history(history)
        try:
            return self.bot.ask(question, hist).to_dict()
        except AssistantError as exc:
            raise gr.Error(str(exc), title=type(exc).__name__, print_exception=False) from exc

    # -- documents
    def upload(self, files: Any) -> tuple[Any, ...]:
        """The upload event: each file Gradio just received (its upload cache) is added, with one line each.

        Outputs (status, upload zone, documents, header). The zone is emptied every
        time, so after a refused file it is ready for the next one.
        """
        from gradio.utils import get_upload_folder, is_in_or_equal

        if not files:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        lines: list[tuple[bool, str]] = []
        for f in files if isinstance(files, list) else [files]:
            path = Path(f if isinstance(f, str) else getattr(f, "name", "") or f.get("path", ""))
            if not is_in_or_equal(path, get_upload_folder()) or not path.is_file():
                lines.append((False, "Not added. That file was not uploaded through this page."))
                continue
            try:
                result = self.library.add(path)
                lines.append((result.ok, result.message))
            except OSError as exc:
                log.exception("web chat: upload of %s failed", path.name)
                lines.append((False, f"Not added. {path.name} could not be saved ({exc.strerror or type(exc).__name__})."))
        return render_status(lines), None, self.documents_html(), self.header_count()

    def documents_action(self, evt: gr.EventData) -> tuple[Any, ...]:
        """Remove a document from the list; outputs (status, documents, header)."""
        data = evt._data if isinstance(getattr(evt, "_data", None), dict) else {}
        if data.get("action") != "remove":
            return gr.skip(), gr.skip(), gr.skip()
        message = self.library.remove(str(data.get("key") or ""))
        return render_status([(message.startswith("Removed"), message)]), self.documents_html(), self.header_count()

    def refresh_documents(self) -> tuple[str, str]:
        return self.documents_html(), self.header_count()

    # -- the app
    def create_app(self) -> gr.Blocks:
        """The Blocks app, queued and ready to ``launch()`` or mount; starts nothing."""
        secret = browser_secret(self.bot.settings.data_dir)
        limits = {"concurrency_limit": self.concurrency_limit, "concurrency_id": "answer"}
        private = {"api_visibility": "private"}
        with gr.Blocks(title="Japan policy assistant", analytics_enabled=False, fill_width=True) as demo:
            browser_id = gr.BrowserState(None, storage_key="assistant-browser", secret=secret)
            session = gr.State(ChatSession())
            with gr.Sidebar(label="Conversations", open=True, elem_id="conversations", width=280):
                gr.HTML('<h2 class="side-h">Conversations</h2>', js_on_load=None)
                new = gr.Button("New conversation", variant="primary", size="sm", elem_id="new-conversation")
                conversations = gr.Radio([], label="Your conversations", elem_id="conversation-list",
                                         info="Saved on this server for this browser (or your sign-in).")
                rename_box = gr.Textbox(label="Rename the open conversation", max_lines=1, elem_id="rename-box")
                with gr.Row():
                    rename = gr.Button("Rename", size="sm", elem_id="rename")
                    delete = gr.Button("Delete", size="sm", variant="stop", elem_id="delete-conversation")
                with gr.Row(visible=False, elem_id="confirm-delete") as confirm_row:
                    gr.HTML('<p class="conv-help">Delete the open conversation? This cannot be undone.</p>',
                            js_on_load=None)
                    yes = gr.Button("Yes, delete", size="sm", variant="stop", elem_id="confirm-delete-yes")
                    no = gr.Button("Cancel", size="sm", elem_id="confirm-delete-no")
            gr.HTML(
                '<div id="app-header-inner"><h1>Japan’s policy response to Russia’s invasion of Ukraine</h1>'
                '<button type="button" id="theme-toggle" aria-pressed="false">Dark theme</button></div>',
                elem_id="app-header", js_on_load=None,
            )
            with gr.Row(equal_height=False, elem_id="main"):
                with gr.Column(scale=3, elem_id="chat-col"):
                    header = gr.HTML(self.header_count(), elem_id="doc-count-box", js_on_load=None)
                    with gr.Column(elem_id="chat-scroll"):
                        chat_log = gr.HTML(self.log_html(ChatSession()), elem_id="log", js_on_load=FORWARD_ACTIONS)
                        live = gr.HTML("", elem_id="live", js_on_load=None)
                    with gr.Row(elem_id="composer"):
                        box = gr.Textbox(label="Your question", show_label=False, elem_id="question", scale=5,
                                         placeholder="Type your question…", lines=1, max_lines=4,
                                         autofocus=True)
                        send = gr.Button("Ask", variant="primary", elem_id="ask", scale=0)
                        stop = gr.Button("Stop", variant="stop", elem_id="stop", scale=0, visible=False)
                    with gr.Row(elem_id="below-box"):
                        gr.HTML(f'<p id="counter-text">0 / {self.question_limit:,} characters</p>',
                                elem_id="counter", js_on_load=None, scale=0)
                        error = gr.HTML("", elem_id="ask-error-box", js_on_load=None, scale=1)
                with gr.Column(scale=2, elem_id="side"):
                    gr.HTML('<button type="button" id="back-to-answer">← Back to the answer</button>',
                            js_on_load=None, elem_id="back-box")
                    with gr.Tabs(elem_id="side-tabs"):
                        with gr.Tab("Sources", id="sources-tab"):
                            sources = gr.HTML(render_sources([]), elem_id="sources", js_on_load=None)
                        with gr.Tab("Documents", id="documents-tab"):
                            with gr.Column(elem_id="documents"):
                                upload = gr.File(
                                    label=f"Add documents ({', '.join(UPLOAD_SUFFIXES)}, up to "
                                          f"{human_size(self.max_upload_bytes)} each)",
                                    file_count="multiple", type="filepath", elem_id="upload", height=120)
                                status = gr.HTML("", elem_id="upload-status-box", js_on_load=None)
                                documents = gr.HTML(self.documents_html(), elem_id="document-list",
                                                    js_on_load=FORWARD_ACTIONS)

            # asking: show the question at once (unqueued), then stream the answer (queued, limited)
            begin = [box, error, live, stop, session]
            streamed = [live, chat_log, sources, stop, session, conversations]
            asked = gr.on([box.submit, send.click], self.submit, [box, session], begin, queue=False,
                          show_progress="hidden", **private)
            answer1 = asked.then(self.answer, [session], streamed, show_progress="hidden", **limits, **private)
            action = chat_log.click(self.log_action, [session], [*begin, chat_log], queue=False,
                                    show_progress="hidden", **private)
            answer2 = action.then(self.answer, [session], streamed, show_progress="hidden", **limits, **private)
            stop.click(self.stop, [session], streamed, cancels=[answer1, answer2], queue=False,
                       show_progress="hidden", **private)

            shown = [chat_log, live, sources, session, conversations, rename_box, error]
            new.click(self.new_conversation, [session], shown, queue=False, show_progress="hidden", **private)
            conversations.input(self.open_conversation, [conversations, session], shown, queue=False,
                                show_progress="hidden", **private)
            rename.click(self.rename_conversation, [rename_box, session], shown, queue=False,
                         show_progress="hidden", **private)
            rename_box.submit(self.rename_conversation, [rename_box, session], shown, queue=False,
                              show_progress="hidden", **private)
            delete.click(lambda: gr.update(visible=True), None, confirm_row, queue=False, **private)
            no.click(lambda: gr.update(visible=False), None, confirm_row, queue=False, **private)
            yes.click(self.delete_conversation, [session], shown, queue=False, show_progress="hidden",
                      **private).then(lambda: gr.update(visible=False), None, confirm_row, queue=False, **private)

            upload.upload(self.upload, [upload], [status, upload, documents, header], api_name="upload",
                          api_visibility="undocumented", concurrency_limit=1, concurrency_id="upload",
                          show_progress="minimal")
            documents.click(self.documents_action, None, [status, documents, header], concurrency_limit=1,
                            concurrency_id="upload", show_progress="hidden", **private)
            demo.load(self.on_load, [browser_id], [browser_id, session, conversations, chat_log, sources, documents,
                                                   header], show_progress="hidden", **private)

            # The named endpoint for programs: Client(url).predict(question, history, api_name="/ask").
            api_question = gr.Textbox(visible=False)
            api_history = gr.JSON(visible=False)
            api_answer = gr.JSON(visible=False)
            api_button = gr.Button(visible=False)
            api_button.click(self.api_ask, [api_question, api_history], api_answer, api_name="ask", **limits)
        demo.queue(max_size=QUEUE_MAX_SIZE, default_concurrency_limit=self.concurrency_limit)
        return demo

    def head(self) -> str:
        """The page-level style and the script (``static/``), and the question limit the counter counts to.

        ``page.css`` goes in ``<head>``: Gradio scopes the app's ``css`` to its content
        area (inside ``@media`` blocks it keeps only that copy), and these rules style
        ``<body>``, the page frame and the phone drawer.
        """
        style = (STATIC / "page.css").read_text(encoding="utf-8")
        script = (STATIC / "chat.js").read_text(encoding="utf-8")
        accept = json.dumps(",".join(UPLOAD_SUFFIXES))  # the file picker offers what the library takes
        return (f"<style>{style}</style>\n<script>window.assistantQuestionLimit = {int(self.question_limit)};"
                f"window.assistantUploadTypes = {accept};</script>\n<script>{script}</script>")

    def launch_kwargs(self) -> dict[str, Any]:
        """What Gradio 6 takes at launch rather than in Blocks(): theme, CSS, head script, limits."""
        return {
            "theme": theme(),
            "css": (STATIC / "chat.css").read_text(encoding="utf-8"),
            "head": self.head(),
            "max_file_size": self.max_upload_bytes,
            "footer_links": ["api"],  # no Settings: its developer items (screen studio, PWA) are not for readers
            "ssr_mode": False,
            "mcp_server": False,
            "show_error": False,
            "pwa": False,
        }

    def launch(self, app: gr.Blocks | None = None, **kwargs: Any):
        """Build (unless given) and launch the app; ``kwargs`` go to ``Blocks.launch``."""
        app = app or self.create_app()
        return app.launch(**{**self.launch_kwargs(), **kwargs})


def serve(settings: Settings, *, share: bool = False) -> int:
    """``assistant serve``: load the model and documents, then serve until interrupted.

    Host, port, sign-in, upload limit and concurrency come from ``settings``
    (``ASSISTANT_*`` or the command's flags); ``share`` asks Gradio for a public link.
    """
    auth = parse_auth(settings.auth)
    # keep Gradio's upload cache inside the data folder too
    os.environ.setdefault("GRADIO_TEMP_DIR", str((settings.data_dir / "gradio-cache").resolve()))
    print("Loading the embedding model and the documents…", file=sys.stderr, flush=True)
    bot = Assistant(settings)
    ui = ChatUI(bot)
    try:
        ui.launch(server_name=settings.host, server_port=settings.port, share=share, auth=auth,
                  auth_message="Sign in to use the assistant." if auth else None)
    except OSError as exc:
        raise AssistantError(f"Cannot serve on {settings.host}:{settings.port} ({exc}).",
                             "Pick another port with --port.") from exc
    return 0


__all__ = ["ChatUI", "serve", "parse_auth", "safe_filename", "human_size", "shorten", "esc"]
