"""The web chat: a thin Gradio UI over ``Assistant`` (``assistant serve``).

Why the shape: ``ChatUI`` holds no question-answering logic, only presentation
(streaming, citation cards, refusals, uploads), so the UI and the Python API can
never disagree. ``create_app()`` builds the ``gr.Blocks`` without starting a
server, so tests and programs can mount or launch it themselves; ``launch()``
adds what Gradio 6 takes at launch time (theme, CSS, the small citation script).

Everything stays on the machine: analytics are off, the theme uses system fonts
(no font CDN), the app never serves files outside Gradio's upload cache (no
``allowed_paths``), and uploads are copied into ``data_dir/uploads`` only.
"""

from __future__ import annotations

import html
import logging
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import offline

offline.apply()  # before Gradio reads its analytics switch

import gradio as gr  # noqa: E402

from .core import Assistant  # noqa: E402
from .errors import AssistantError  # noqa: E402
from .files import atomic_copy  # noqa: E402
from .settings import Settings  # noqa: E402
from .text import MARKER  # noqa: E402
from .types import Answer, Citation  # noqa: E402

log = logging.getLogger(__name__)

UPLOAD_SUFFIXES = (".md", ".txt", ".html", ".pdf")
QUEUE_MAX_SIZE = 256  # bounded: beyond this, users are told the server is busy instead of waiting forever
MAX_HISTORY_MESSAGES = 40  # follow-up resolution only looks at the last turns; cap what programs can send

EXAMPLES = [
    "How many Ukrainians has Japan taken in?",
    "How much financial aid did Japan announce in February?",
    "What share of Japanese people supported sanctions on Russia?",
    "What equipment has Japan supplied to Ukraine?",
]

EMPTY_SOURCES = (
    '<div class="sources-empty">Sources appear here. Every <b>[n]</b> in an answer links to a card showing '
    "the quoted sentence highlighted inside its passage, with its location in the source.</div>"
)

# System fonts only: Gradio's default theme is local, but being explicit keeps any
# future default (or a Google font) from making the page fetch fonts off the machine.
SYSTEM_FONTS = ["Segoe UI", "Helvetica Neue", "Helvetica", "Arial", "DejaVu Sans", "sans-serif"]
MONO_FONTS = ["DejaVu Sans Mono", "Menlo", "Consolas", "monospace"]

CSS = """
#sources { max-height: 640px; overflow-y: auto; }
.sources-empty, .sources-help { color: var(--body-text-color-subdued); font-size: 0.9em; }
.turn { margin-bottom: 0.8em; }
.turn h4 { margin: 0.4em 0; font-size: 0.95em; }
details.cite { border: 1px solid var(--border-color-primary); border-radius: 6px; margin: 0.35em 0; padding: 0.3em 0.6em; }
details.cite[open] { background: var(--background-fill-secondary); }
details.cite.flash { outline: 3px solid #f59e0b; }
details.cite summary { cursor: pointer; }
.cite-n { font-weight: 700; margin-right: 0.3em; }
.cite-title { font-weight: 600; }
.cite-quote { display: block; font-size: 0.9em; color: var(--body-text-color-subdued); margin-top: 0.2em; }
.passage { white-space: pre-wrap; line-height: 1.5; margin: 0.5em 0; }
.passage mark, mark.quote { background: #fde68a; color: #111; padding: 0 0.1em; }
.loc { font-family: var(--font-mono); font-size: 0.8em; color: var(--body-text-color-subdued); }
.unsupported { color: #b91c1c; font-size: 0.85em; }
a.cite { font-weight: 700; text-decoration: none; cursor: pointer; }
.refusal { border-left: 4px solid #9ca3af; padding-left: 0.6em; font-style: italic; }
.chat-error { border-left: 4px solid #dc2626; padding-left: 0.6em; }
.answer-notice { font-size: 0.85em; color: var(--body-text-color-subdued); }
"""

# One click on an [n] marker opens its card in the sources panel and scrolls to it.
# Capture phase, so the chat's own link handling (new tab) never sees the click.
HEAD = """
<script>
document.addEventListener("click", function (ev) {
  var a = ev.target && ev.target.closest ? ev.target.closest("a.cite, a[href^='#cite-']") : null;
  if (!a) return;
  var id = (a.getAttribute("href") || "").replace(/^#/, "");
  if (!id) return;
  ev.preventDefault();
  ev.stopPropagation();
  var el = document.getElementById(id);
  if (!el) return;
  el.open = true;
  el.scrollIntoView({behavior: "smooth", block: "center"});
  el.classList.add("flash");
  setTimeout(function () { el.classList.remove("flash"); }, 1500);
}, true);
</script>
"""


# -- rendering (pure functions: easy to test without a server)
def cite_id(turn: int, n: int) -> str:
    return f"cite-{turn}-{n}"


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def highlight_passage(c: Citation) -> str:
    """The passage as HTML with the quote wrapped in <mark>; all text escaped.

    Offsets are absolute in the source text, so the quote sits at
    ``passage[start - passage_start : end - passage_start]``; if that ever
    disagrees with the quote (it should not), fall back to a text search so
    the reader still sees the right sentence.
    """
    passage = c.passage or c.quote
    i, j = c.start - c.passage_start, c.end - c.passage_start
    if not (0 <= i <= j <= len(passage) and passage[i:j] == c.quote):
        i = passage.find(c.quote)
        j = i + len(c.quote)
    if i < 0 or not c.quote:
        return f'<mark class="quote">{_esc(c.quote)}</mark>'
    return f'{_esc(passage[:i])}<mark class="quote">{_esc(passage[i:j])}</mark>{_esc(passage[j:])}'


def render_citation(turn: int, c: Citation) -> str:
    flag = "" if c.supported else '<div class="unsupported">This quote does not fully back the generated claim.</div>'
    return (
        f'<details class="cite" id="{cite_id(turn, c.n)}" data-passage-id="{_esc(c.passage_id)}">'
        f'<summary><span class="cite-n">[{c.n}]</span><span class="cite-title">{_esc(c.source)}</span>'
        f'<span class="cite-quote">“{_esc(c.quote)}”</span></summary>'
        f'<div class="passage">{highlight_passage(c)}</div>'
        f'<div class="loc">{_esc(c.path)} · passage {_esc(c.passage_id)} · characters {c.start}–{c.end}'
        f" (passage {c.passage_start}–{c.passage_end}) · score {c.score:.2f}</div>{flag}</details>"
    )


def render_sources(turns: list[dict]) -> str:
    """The sources panel: one section per answer, newest first; refusals and errors get no cards."""
    if not turns:
        return EMPTY_SOURCES
    parts = ['<div class="sources-help">Click a <b>[n]</b> in an answer, or a card, to see the quote in its passage.</div>']
    for t, turn in reversed(list(enumerate(turns, start=1))):
        ans: Answer | None = turn.get("answer")
        parts.append(f'<section class="turn" id="turn-{t}"><h4>Answer {t}: “{_esc(turn["question"])}”</h4>')
        if ans is None:
            parts.append('<div class="sources-empty">No answer (error).</div>')
        elif not ans.answered:
            parts.append('<div class="sources-empty">Not in the sources, so nothing to cite.</div>')
        else:
            parts.extend(render_citation(t, c) for c in ans.citations)
        parts.append("</section>")
    return "".join(parts)


def render_answer(turn: int, ans: Answer) -> str:
    """Chat HTML for a final answer: [n] markers become links to their cards; refusals look different."""
    if not ans.answered:
        return f'<div class="refusal"><b>Not in the sources.</b> {_esc(ans.text)}</div>'
    known = {c.n for c in ans.citations}

    def link(m: re.Match) -> str:
        n = int(m.group(1))
        return f'<a class="cite" href="#{cite_id(turn, n)}" title="Show source {n}">[{n}]</a>' if n in known else m.group(0)

    body = MARKER.sub(link, _esc(ans.text))
    out = f'<div class="answer">{body}</div>'
    if ans.notice:
        out += f'<div class="answer-notice">{_esc(ans.notice)}</div>'
    return out


def render_error(message: str) -> str:
    return f'<div class="chat-error"><b>Sorry, I could not answer that.</b> {_esc(message)}</div>'


def human_size(n: float) -> str:
    """12 bytes / 4.5 KB / 10 MB: limits are read by people."""
    if n < 1024:
        return f"{int(n)} bytes"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB".replace(".0 KB", " KB")
    return f"{n / 1024 / 1024:.1f} MB".replace(".0 MB", " MB")


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """``user:password`` → (user, password); None when unset; a clear error when malformed."""
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise AssistantError("--auth / ASSISTANT_AUTH must look like user:password.", "Example: --auth alice:s3cret")
    return user, password


def safe_filename(name: str) -> str:
    """A plain file name for the uploads folder: no folders, no dotfiles, no odd characters."""
    base = Path(str(name).replace("\\", "/")).name
    base = re.sub(r"[^A-Za-z0-9._ -]+", "_", base).strip(" .")
    stem, suffix = os.path.splitext(base)
    return (stem[:100] or "upload") + suffix.lower()


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

    @property
    def uploads_dir(self) -> Path:
        return self.bot.settings.data_dir / "uploads"

    # -- chat
    @staticmethod
    def history_of(turns: list[dict]) -> list[dict]:
        """Role/content history for the assistant: the plain texts, never the rendered HTML."""
        out: list[dict] = []
        for turn in turns:
            ans = turn.get("answer")
            if ans is None:
                continue
            out += [{"role": "user", "content": turn["question"]}, {"role": "assistant", "content": ans.text}]
        return out

    @staticmethod
    def messages_of(turns: list[dict]) -> list[dict]:
        msgs: list[dict] = []
        for turn in turns:
            msgs.append({"role": "user", "content": _esc(turn["question"])})
            msgs.append({"role": "assistant", "content": turn["html"]})
        return msgs

    def respond(self, question: str, turns: list[dict] | None) -> Iterator[tuple[Any, ...]]:
        """Stream one answer: yields (textbox, chat messages, sources HTML, turns) frames."""
        turns = list(turns or [])
        if not isinstance(question, str) or not question.strip():
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        history = self.history_of(turns)
        turn: dict = {"question": question.strip(), "answer": None, "html": "…"}
        turns.append(turn)
        t = len(turns)
        yield "", self.messages_of(turns), gr.skip(), turns
        text = ""
        try:
            for item in self.bot.stream(question, history):
                if isinstance(item, Answer):
                    turn["answer"] = item
                    turn["html"] = render_answer(t, item)
                else:
                    text += item
                    turn["html"] = _esc(text) + "▌"
                    yield gr.skip(), self.messages_of(turns), gr.skip(), gr.skip()
        except AssistantError as exc:
            turn["html"] = render_error(str(exc))
        except Exception as exc:  # never show a traceback in the chat
            log.exception("web chat: answering %r failed", question)
            turn["html"] = render_error(f"Something went wrong on the server ({type(exc).__name__}). Please try again.")
        if turn["answer"] is None and turn["html"].endswith("▌"):
            turn["html"] = render_error("The answer was cut off. Please try again.")
        yield "", self.messages_of(turns), render_sources(turns), turns

    def respond_example(self, turns: list[dict] | None, evt: gr.SelectData) -> Iterator[tuple[Any, ...]]:
        value = evt.value
        question = value.get("text", "") if isinstance(value, dict) else str(value or "")
        yield from self.respond(question, turns)

    @staticmethod
    def new_conversation() -> tuple[Any, ...]:
        return "", [], EMPTY_SOURCES, []

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
    def library_markdown(self) -> str:
        try:
            manifest = self.bot.ingestor.manifest()
        except Exception:  # the list is a convenience; a store problem shows up when asking
            return ""
        if not manifest:
            return "*No documents indexed yet.*"
        items = "\n".join(
            f"- {info.get('title') or Path(src).name} (`{Path(src).name}`)" for src, info in sorted(manifest.items())
        )
        return f"**Documents searched ({len(manifest)}):**\n{items}"

    def add_document(self, path: Path, name: str | None = None) -> str:
        """Copy one uploaded file into ``data_dir/uploads`` and index it; returns a message for the user.

        Type and size are checked before anything is copied; a file that cannot be
        ingested is removed again so the uploads folder only holds searchable files.
        """
        name = safe_filename(name or path.name)
        suffix = Path(name).suffix.lower()
        if suffix not in UPLOAD_SUFFIXES:
            return (f"**Not added.** {_esc(name)}: '{_esc(suffix or 'no extension')}' files are not supported. "
                    f"Upload {', '.join(UPLOAD_SUFFIXES)} files.")
        size = path.stat().st_size
        if size > self.max_upload_bytes:
            return (f"**Not added.** {_esc(name)}: it is {human_size(size)}; "
                    f"the limit is {human_size(self.max_upload_bytes)}.")
        if size == 0:
            return f"**Not added.** {_esc(name)}: the file is empty."
        dest = self.uploads_dir / name
        existed = dest.exists()
        atomic_copy(path, dest)
        try:
            report = self.bot.ingest([dest], progress=False)
        except AssistantError as exc:
            return f"**Not added.** {_esc(name)} could not be indexed: {_esc(str(exc))}"
        if report.errors:
            if not existed:
                dest.unlink(missing_ok=True)
            reason = "; ".join(r for _, r in report.errors)
            return f"**Not added.** {_esc(name)}: {_esc(reason)}"
        return (f"**Added** {_esc(name)}: {report.added} passages indexed, {report.updated} updated, "
                f"{report.skipped} unchanged. You can ask about it now.")

    def upload(self, file: Any) -> tuple[str, Any, str]:
        """The upload event: only files Gradio itself just received (its upload cache) are accepted."""
        if not file:
            return gr.skip(), gr.skip(), gr.skip()
        path = Path(file if isinstance(file, str) else getattr(file, "name", "") or file.get("path", ""))
        from gradio.utils import get_upload_folder, is_in_or_equal

        if not is_in_or_equal(path, get_upload_folder()) or not path.is_file():
            return "**Not added.** That file was not uploaded through this page.", None, self.library_markdown()
        try:
            msg = self.add_document(path)
        except OSError as exc:
            log.exception("web chat: upload of %s failed", path.name)
            msg = f"**Not added.** The upload could not be saved ({exc.strerror or type(exc).__name__})."
        return msg, None, self.library_markdown()

    # -- the app
    def create_app(self) -> gr.Blocks:
        """The Blocks app, queued and ready to ``launch()`` or mount; starts nothing."""
        with gr.Blocks(title="Japan policy assistant", analytics_enabled=False) as demo:
            turns = gr.State([])
            gr.Markdown(
                "## Japan's policy response to Russia's invasion of Ukraine\n"
                "Ask a question. Every claim in an answer cites the exact sentence it comes from; "
                "click a **[n]** to check it. When the sources don't answer, the assistant says so."
            )
            with gr.Row(equal_height=False):
                with gr.Column(scale=3):
                    chatbot = gr.Chatbot(
                        value=[], label="Chat", height=520, elem_id="chat", examples=[{"text": q} for q in self.examples],
                        placeholder="**Try one of these questions**, or type your own below.",
                        latex_delimiters=[], feedback_options=None, buttons=[], group_consecutive_messages=False,
                    )
                    with gr.Row():
                        box = gr.Textbox(placeholder="Ask about Japan's response to the war…", show_label=False,
                                         scale=5, max_lines=4, elem_id="question", autofocus=True)
                        send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
                    new = gr.Button("New conversation", size="sm", elem_id="new-conversation")
                    with gr.Accordion("Add documents", open=False, elem_id="add-documents"):
                        gr.Markdown(f"Upload {', '.join(UPLOAD_SUFFIXES)} files up to {human_size(self.max_upload_bytes)}. They are "
                                    "copied into the project's data folder and searched from your next question on.")
                        upload = gr.File(label="Document", file_count="single", file_types=list(UPLOAD_SUFFIXES),
                                         type="filepath", elem_id="upload")
                        status = gr.Markdown(elem_id="upload-status")
                        library = gr.Markdown(self.library_markdown(), elem_id="library")
                with gr.Column(scale=2):
                    gr.Markdown("### Sources")
                    sources = gr.HTML(EMPTY_SOURCES, elem_id="sources")

            chat_outputs = [box, chatbot, sources, turns]
            limits = {"concurrency_limit": self.concurrency_limit, "concurrency_id": "answer"}
            gr.on([box.submit, send.click], self.respond, [box, turns], chat_outputs,
                  api_visibility="undocumented", api_name="chat", **limits)
            chatbot.example_select(self.respond_example, [turns], chat_outputs, api_visibility="private", **limits)
            new.click(self.new_conversation, None, chat_outputs, api_visibility="private", queue=False)
            chatbot.clear(self.new_conversation, None, chat_outputs, api_visibility="private", queue=False)
            upload.upload(self.upload, [upload], [status, upload, library], api_name="upload",
                          api_visibility="undocumented", concurrency_limit=1, concurrency_id="upload")

            # The named endpoint for programs: Client(url).predict(question, history, api_name="/ask").
            api_question = gr.Textbox(visible=False)
            api_history = gr.JSON(visible=False)
            api_answer = gr.JSON(visible=False)
            api_button = gr.Button(visible=False)
            api_button.click(self.api_ask, [api_question, api_history], api_answer, api_name="ask", **limits)
        demo.queue(max_size=QUEUE_MAX_SIZE, default_concurrency_limit=self.concurrency_limit)
        return demo

    def launch_kwargs(self) -> dict[str, Any]:
        """What Gradio 6 takes at launch rather than in Blocks(): theme, CSS, head script, limits."""
        return {
            "theme": gr.themes.Default(font=SYSTEM_FONTS, font_mono=MONO_FONTS),
            "css": CSS,
            "head": HEAD,
            "max_file_size": self.max_upload_bytes,
            "footer_links": ["api", "settings"],
            "ssr_mode": False,
            "mcp_server": False,
            "show_error": False,
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


__all__ = ["ChatUI", "serve", "parse_auth", "render_answer", "render_sources"]
