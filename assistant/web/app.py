"""The web chat: a thin Gradio UI over ``Assistant`` (``assistant serve``).

Why the shape: ``ChatUI`` holds no question-answering logic, only presentation
(streaming, citation cards, refusals, documents, conversations), so the UI and
the Python API can never disagree. Its handlers sit with their concern:
``chat`` (asking, answers, feedback), ``sidebar`` (conversations and their
address), ``documents_tab`` (documents, uploads, the scope picker); each returns
named updates (``page``), and our buttons' clicks arrive through one event as
declared ``actions``. HTML comes from ``render`` (pure functions), uploads go
through ``library`` (names from the name received and the content, a queue
behind another process's ingest), conversations and feedback through
``conversations`` (SQLite); messages from the assistant lose server paths in
``redact``, and ``login_limit`` slows down wrong passwords. ``create_app()`` builds the ``gr.Blocks``
without starting a server, so tests and programs can mount or launch it
themselves; ``launch()`` adds what Gradio 6 takes at launch time (theme, CSS,
the page script in ``static/``).

The chat log is our own HTML rather than ``gr.Chatbot``: each message needs a
plain-text accessible name, [n] links that open cards, and per-answer Copy /
Regenerate / feedback controls, which the Chatbot renders as raw HTML labels
or not at all. A question is shown at once (a fast unqueued step), then the
answer streams into a separate "live" area so earlier messages are never
re-drawn under the reader.

Everything stays on the machine: analytics are off, the theme uses system fonts
(no font CDN), the app never serves files outside Gradio's upload cache (no
``allowed_paths``), and uploads are copied into ``data_dir/uploads`` only:
Gradio's copy is deleted once the library has its own, and removing a document
deletes every copy, so no old link downloads it.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import sys
import threading
from pathlib import Path
from typing import Any

from .. import offline

offline.apply()  # before Gradio reads its analytics switch

import gradio as gr  # noqa: E402
from gradio.utils import get_upload_folder  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402

from ingest import RESUME_LABEL  # noqa: E402

from ..core import Assistant  # noqa: E402
from ..errors import AssistantError  # noqa: E402
from ..settings import Settings  # noqa: E402
from . import actions as act  # noqa: E402
from .chat import ChatEvents, ChatSession  # noqa: E402
from .conversations import ConversationStore, shorten  # noqa: E402
from .documents_tab import DocumentEvents  # noqa: E402
from .library import UPLOAD_SUFFIXES, Library, human_size, safe_filename  # noqa: E402
from .login_limit import FREE_TRIES, LoginLimit  # noqa: E402
from .page import Page, Updates  # noqa: E402
from .render import esc, render_conversations, render_header, render_log, render_sources  # noqa: E402
from .sidebar import ConversationEvents  # noqa: E402

log = logging.getLogger(__name__)

STATIC = Path(__file__).with_name("static")
QUEUE_MAX_SIZE = 256  # bounded: beyond this, users are told the server is busy instead of waiting forever
AUTH_MESSAGE = (f"Sign in to use the assistant. After {FREE_TRIES} wrong passwords, each further try from your "
                "address waits twice as long as the last (1, 2, 4 … seconds); a right password clears the count.")
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

def theme() -> gr.themes.Base:
    """Gradio's default theme with system fonts and colours that meet WCAG AA in light and dark."""
    return gr.themes.Default(primary_hue="blue", neutral_hue="gray", font=SYSTEM_FONTS, font_mono=MONO_FONTS).set(
        body_text_color_subdued="#4b5563", body_text_color_subdued_dark="#cbd5e1",
        block_label_text_color="#374151", block_label_text_color_dark="#e5e7eb",
        block_info_text_color="#4b5563", block_info_text_color_dark="#cbd5e1",
        input_placeholder_color="#6b7280", input_placeholder_color_dark="#9ca3af",
        input_border_color="#6b7280", input_border_color_dark="#9ca3af",
        input_border_color_focus="#1d4ed8", input_border_color_focus_dark="#93c5fd",  # a focused box stays AA
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


class ChatUI(ChatEvents, ConversationEvents, DocumentEvents):
    """Presentation of an ``Assistant`` as a Gradio chat; the assistant is injected.

    The handlers live with their concern (``chat``, ``sidebar``, ``documents_tab``)
    and return named updates (``page``); this class builds the page and wires them.
    """

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
        self.library = Library(assistant, self.max_upload_bytes, received=Path(get_upload_folder()))
        self.store = ConversationStore(settings.data_dir / "conversations.sqlite")
        self.question_limit = settings.max_question_chars
        self.handlers = act.dispatch_table(self)  # every declared action has its one handler

    @property
    def uploads_dir(self) -> Path:
        return self.library.folder

    def dispatch(self, session: ChatSession, evt: act.ActionData) -> Updates:
        """A click on one of our buttons (``actions``): its declared action's handler, with its fields."""
        if evt.action is None:
            return {}
        return self.handlers[evt.action.name](session, **evt.values)

    # -- the app
    def create_app(self) -> gr.Blocks:
        """The Blocks app, queued and ready to ``launch()`` or mount; starts nothing."""
        secret = browser_secret(self.bot.settings.data_dir)
        limits = {"concurrency_limit": self.concurrency_limit, "concurrency_id": "answer"}
        fast = {"queue": False, "show_progress": "hidden", "api_visibility": "private"}
        docs = self.catalog()
        first = ChatSession()
        with gr.Blocks(title="Japan policy assistant", analytics_enabled=False, fill_width=True) as demo:
            browser_id = gr.BrowserState(None, storage_key="assistant-browser", secret=secret)
            session = gr.State(first)
            with gr.Sidebar(label="Conversations", open=True, elem_id="conversations", width=280):
                gr.HTML('<h2 class="side-h">Conversations</h2><p class="conv-help">Saved on this server for this '
                        f'browser (or your sign-in).</p><button type="button" class="new-conv" {act.NEW.attrs()}>'
                        'New conversation</button>', js_on_load=None, elem_id="conv-head")
                conversations = gr.HTML(render_conversations([], None), elem_id="conversation-list", js_on_load=None)
            gr.HTML(
                '<div id="app-header-inner"><h1>Japan’s policy response to Russia’s invasion of Ukraine</h1>'
                '<button type="button" id="theme-toggle" aria-pressed="false">Dark theme</button></div>',
                elem_id="app-header", js_on_load=None,
            )
            with gr.Row(equal_height=False, elem_id="main"):
                with gr.Column(scale=3, elem_id="chat-col"):
                    header = gr.HTML(render_header([d.title for d in docs][:1] if len(docs) == 1 else [], len(docs)),
                                     elem_id="doc-count-box", js_on_load=None)
                    with gr.Column(elem_id="chat-scroll"):
                        chat_log = gr.HTML(render_log([], self.examples, initial=True), elem_id="log", js_on_load=None)
                        live = gr.HTML("", elem_id="live", js_on_load=None)
                    gr.HTML('<button type="button" id="new-answer" hidden>New answer ↓</button>', js_on_load=None,
                            elem_id="new-answer-box")
                    picker = gr.Dropdown(
                        choices=[(d.title, d.key) for d in docs], value=[], multiselect=True, filterable=True,
                        label="Documents to search", show_label=True, elem_id="doc-picker")
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
                                documents = gr.HTML(self.documents_html(docs), elem_id="document-list",
                                                    js_on_load=None)
            # the one place our buttons' clicks reach the server (actions.BUS_JS)
            bus = gr.HTML("", elem_id="action-bus", js_on_load=act.BUS_JS)

            timer = gr.Timer(2.0, active=False)
            page = Page(session=session, browser_id=browser_id, box=box, error=error, live=live, stop=stop,
                        log=chat_log, sources=sources, conversations=conversations, header=header, picker=picker,
                        status=status, documents=documents, upload=upload, timer=timer)
            every = page.outputs()

            # asking: show the question at once (unqueued), then stream the answer (queued, limited)
            asked = gr.on([box.submit, send.click], page.wrap(self.submit), [box, session], every, **fast)
            answer1 = asked.then(page.wrap(self.answer), [session], every, show_progress="hidden",
                                 api_visibility="private", **limits)
            # every other button of ours: one event, dispatched by action name; an asking action streams next
            clicked = bus.click(page.wrap(self.dispatch), [session], every, **fast)
            answer2 = clicked.then(page.wrap(self.answer), [session], every, show_progress="hidden",
                                   api_visibility="private", **limits)
            stop.click(page.wrap(self.stop), [session], every, cancels=[answer1, answer2], **fast)
            picker.input(page.wrap(self.choose_documents), [picker, session], every, **fast)

            documents_out = page.outputs("status", "upload", "documents", "header", "picker", "session")
            uploaded = upload.upload(page.wrap(self.upload), [upload, session], documents_out, api_name="upload",
                                     api_visibility="undocumented", concurrency_limit=1, concurrency_id="upload",
                                     show_progress="minimal")
            # in the page only (programs see /upload's own reply): follow queued uploads, explain a refusal
            uploaded.success(page.wrap(self.watch_uploads), [session], [timer], **fast)
            uploaded.failure(page.wrap(self.upload_refused), [session], documents_out, **fast)
            timer.tick(page.wrap(self.poll_uploads), [session], [*documents_out, timer], **fast)
            demo.load(page.wrap(self.on_load), [browser_id], every, show_progress="hidden", api_visibility="private")

            # The named endpoint for programs: Client(url).predict(question, history, sources, api_name="/ask").
            api_question = gr.Textbox(visible=False)
            api_history = gr.JSON(visible=False)
            api_sources = gr.JSON(None, visible=False)
            api_answer = gr.JSON(visible=False)
            api_button = gr.Button(visible=False)
            api_button.click(self.api_ask, [api_question, api_history, api_sources], api_answer, api_name="ask",
                             **limits)
        demo.queue(max_size=QUEUE_MAX_SIZE, default_concurrency_limit=self.concurrency_limit)
        return demo

    def head(self) -> str:
        """The page-level style and the script (``static/``), the action registry and the question limit.

        ``page.css`` goes in ``<head>``: Gradio scopes the app's ``css`` to its content
        area (inside ``@media`` blocks it keeps only that copy), and these rules style
        ``<body>``, the page frame and the phone drawer.
        """
        style = (STATIC / "page.css").read_text(encoding="utf-8")
        script = (STATIC / "chat.js").read_text(encoding="utf-8")
        accept = json.dumps(",".join(UPLOAD_SUFFIXES))  # the file picker offers what the library takes
        return (f"<style>{style}</style>\n<script>window.assistantQuestionLimit = {int(self.question_limit)};"
                f"window.assistantUploadTypes = {accept};{act.script()}</script>\n<script>{script}</script>")

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
            # wrong passwords cost time (login_limit); inert without --auth
            "app_kwargs": {"middleware": [Middleware(LoginLimit)]},
        }

    def launch(self, app: gr.Blocks | None = None, **kwargs: Any):
        """Build (unless given) and launch the app; ``kwargs`` go to ``Blocks.launch``.

        With ``auth``, the sign-in page says how wrong passwords are slowed down
        (``login_limit``): Gradio's form shows nothing of a refusal but "Incorrect
        credentials", and our page script does not run there.
        """
        app = app or self.create_app()
        if kwargs.get("auth") and not kwargs.get("auth_message"):
            kwargs["auth_message"] = AUTH_MESSAGE
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
    bot = Assistant(settings, auto_ingest=False)
    # finishing an interrupted ingest can take minutes: the page then opens at once, answers from the
    # passages already in and shows the progress; any other refresh is a stat per file, done first
    behind = settings.auto_ingest and bot.resume_pending()
    if settings.auto_ingest and not behind:
        bot.refresh()
    ui = ChatUI(bot)
    if behind:
        print(f"{RESUME_LABEL} in the background; the page shows its progress.", file=sys.stderr, flush=True)
        threading.Thread(target=bot.refresh, name="finish-ingest", daemon=True).start()
    try:
        ui.launch(server_name=settings.host, server_port=settings.port, share=share, auth=auth)
    except OSError as exc:
        raise AssistantError(f"Cannot serve on {settings.host}:{settings.port} ({exc}).",
                             "Pick another port with --port.") from exc
    return 0


__all__ = ["ChatSession", "ChatUI", "serve", "parse_auth", "safe_filename", "human_size", "shorten", "esc"]
