"""HTML for the web chat: messages, citation cards, the documents list. Pure functions.

Why apart from ``webapp``: rendering is where escaping and accessibility live,
and pure functions of ``Turn`` s and ``Citation`` s can be tested without a
server. Every piece of document or user text goes through ``esc``; every
control gets a plain-text accessible name; nothing shows a server path (a
citation's ``path`` may be absolute for uploads: only the file name is shown).
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from ..text import MARKER, strip_markers
from ..types import Answer, Citation
from .conversations import Turn, shorten
from .library import DocumentInfo

HEADING_CHARS = 80  # long questions are shortened in headings; the chat shows them whole


def esc(text: str) -> str:
    return html.escape(str(text), quote=True)


def cite_id(turn: int, n: int) -> str:
    return f"cite-{turn}-{n}"


def file_name(path: str) -> str:
    """What a reader may see of a source's path: its file name, never the server's folders."""
    return Path(str(path).replace("\\", "/")).name


# -- citations
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
        return f'<mark class="quote">{esc(c.quote)}</mark>'
    return f'{esc(passage[:i])}<mark class="quote">{esc(passage[i:j])}</mark>{esc(passage[j:])}'


def where(c: Citation) -> str:
    """Where in the document, for a reader: date, section, paragraph (whatever is known)."""
    parts = []
    if c.date:
        parts.append(esc(c.date))
    if c.section:
        parts.append(f"section “{esc(shorten(c.section, HEADING_CHARS))}”")
    if c.paragraph:
        parts.append(f"paragraph {c.paragraph}")
    return " · ".join(parts)


def render_citation(turn: int, c: Citation) -> str:
    flag = "" if c.supported else '<p class="unsupported">This quote does not fully back the generated claim.</p>'
    meta = where(c)
    return (
        f'<details class="cite" id="{cite_id(turn, c.n)}" data-passage-id="{esc(c.passage_id)}">'
        f'<summary><span class="cite-n">[{c.n}]</span> <span class="cite-title">{esc(c.source)}</span>'
        + (f'<span class="cite-meta">{meta}</span>' if meta else "")
        + f'<span class="cite-quote">“{esc(c.quote)}”</span></summary>'
        f'<div class="passage">{highlight_passage(c)}</div>'
        f'<div class="loc">{esc(file_name(c.path))}</div>'
        f'<details class="tech"><summary>Details</summary><div class="loc">passage {esc(c.passage_id)} · '
        f"characters {c.start}–{c.end} (passage {c.passage_start}–{c.passage_end}) · score {c.score:.2f}"
        f"</div></details>{flag}</details>"
    )


def render_sources(turns: list[Turn]) -> str:
    """The sources panel: one section per answer, newest first; refusals and errors get no cards."""
    if not turns:
        return ('<p class="sources-empty">Sources appear here. Every <b>[n]</b> in an answer opens a card with '
                "the quoted sentence highlighted inside its passage, and where it is in the document.</p>")
    parts = []
    for t, turn in reversed(list(enumerate(turns, start=1))):
        parts.append(f'<section class="turn" id="turn-{t}" aria-labelledby="turn-{t}-h">'
                     f'<h3 id="turn-{t}-h">Answer {t}: “{esc(shorten(turn.question, HEADING_CHARS))}”</h3>')
        ans = turn.answer
        if ans is None:
            parts.append(f'<p class="sources-empty">{esc(turn.error or "No answer.")}</p>')
        elif not ans.answered:
            parts.append('<p class="sources-empty">Not in the sources, so nothing to cite.</p>')
        else:
            parts.extend(render_citation(t, c) for c in ans.citations)
        parts.append("</section>")
    return "".join(parts)


# -- messages
def _link(turn: int, c: Citation) -> str:
    return (f'<a class="cite" href="#{cite_id(turn, c.n)}" data-quote="{esc(c.quote)}" '
            f'aria-label="Source {c.n}: {esc(c.source)}">[{c.n}]</a>')


def answer_body(turn: int, ans: Answer) -> str:
    """An answer's HTML: [n] markers become links to their cards; refusals look different."""
    if not ans.answered:
        return f'<div class="refusal"><b>Not in the sources.</b> {esc(ans.text)}</div>'
    known = {c.n: c for c in ans.citations}

    def link(m: re.Match) -> str:
        c = known.get(int(m.group(1)))
        return _link(turn, c) if c else m.group(0)

    out = f'<div class="answer">{MARKER.sub(link, esc(ans.text))}</div>'
    if ans.notice:
        out += f'<p class="answer-notice">{esc(ans.notice)}</p>'
    return out


def copy_text(ans: Answer) -> str:
    """What Copy puts on the clipboard: the answer, then each source with its quote."""
    lines = [ans.text]
    if ans.citations:
        lines.append("")
        lines += [f"[{c.n}] {c.source}: “{c.quote}”" for c in ans.citations]
    return "\n".join(lines)


def plain_label(ans: Answer) -> str:
    """An answer as one line of plain text (no markup), for accessible labels and titles."""
    return shorten(strip_markers(ans.text), 200)


def _user(turn: int, question: str) -> str:
    return (f'<article class="msg user" aria-label="Your question {turn}">'
            f'<div class="bubble"><p>{esc(question)}</p></div></article>')


def _actions(turn: int, t: Turn, last: bool) -> str:
    ans = t.answer
    buttons = []
    if ans is not None:
        buttons.append(f'<button type="button" class="act" data-action="copy" data-copy="{esc(copy_text(ans))}">'
                       f"Copy</button>")
    if last:
        buttons.append(f'<button type="button" class="act" data-action="regenerate" data-turn="{turn}">'
                       "Regenerate</button>")
    if ans is not None:
        for value, label in ((1, "Helpful"), (-1, "Not helpful")):
            pressed = "true" if t.rating == value else "false"
            buttons.append(f'<button type="button" class="act rate" data-action="rate" data-turn="{turn}" '
                           f'data-value="{value}" aria-pressed="{pressed}">{label}</button>')
    out = f'<div class="actions" role="group" aria-label="Answer {turn}">{"".join(buttons)}</div>'
    if t.rating:
        out += (f'<form class="note" data-turn="{turn}" onsubmit="return false">'
                f'<p class="thanks" role="status">Thanks, your feedback is saved.</p>'
                f'<label for="note-{turn}">Add a note (optional)</label>'
                f'<textarea id="note-{turn}" rows="2" maxlength="2000">{esc(t.note)}</textarea>'
                f'<button type="button" class="act" data-action="note" data-turn="{turn}">Save note</button></form>')
    return out


def render_turn(turn: int, t: Turn, last: bool = False) -> str:
    """One question and its answer (or error) as two articles with plain-text names."""
    if t.answer is not None:
        body = answer_body(turn, t.answer)
    else:
        body = f'<div class="chat-error"><b>No answer.</b> {esc(t.error or "Please try again.")}</div>'
    return (_user(turn, t.question)
            + f'<article class="msg bot" id="answer-{turn}" aria-label="Answer {turn}">'
            f'<div class="bubble">{body}</div>{_actions(turn, t, last)}</article>')


def render_log(turns: list[Turn], examples: list[str]) -> str:
    """The conversation so far, or a welcome with example questions when it is empty."""
    if not turns:
        items = "".join(f'<li><button type="button" class="example" data-action="example" data-q="{esc(q)}">'
                        f"{esc(q)}</button></li>" for q in examples)
        return ('<div class="welcome"><h2>Ask a question about the documents</h2><p>Every claim in an answer '
                "cites the exact sentence it comes from: click a <b>[n]</b> to check it. When the sources "
                "don’t answer, the assistant says so.</p>"
                '<p class="examples-label" id="examples-label">Try one of these questions:</p>'
                f'<ul class="examples" aria-labelledby="examples-label">{items}</ul></div>')
    return "".join(render_turn(i, t, last=i == len(turns)) for i, t in enumerate(turns, start=1))


def render_pending(turn: int, question: str, partial: str, documents: int) -> str:
    """The question being answered, with the words streamed so far (or what is being searched)."""
    if partial:
        body = f'<div class="answer streaming">{esc(partial)}<span class="caret" aria-hidden="true">▌</span></div>'
    else:
        body = (f'<p class="searching">Searching {documents} document{"s" if documents != 1 else ""}'
                f'<span class="dots" aria-hidden="true">…</span></p>')
    return (_user(turn, question)
            + f'<article class="msg bot pending" aria-label="Answer {turn}, in progress" aria-busy="true">'
            f'<div class="bubble">{body}</div></article>')


def render_error(message: str) -> str:
    return f'<p class="ask-error" role="alert">{esc(message)}</p>' if message else ""


# -- documents
def render_documents(docs: list[DocumentInfo]) -> str:
    """Every searched document: title, file, type, passages, when added; uploads can be removed."""
    if not docs:
        return '<p class="docs-summary">No documents are indexed yet. Add some below.</p>'
    total = sum(d.passages for d in docs)
    rows = []
    for d in docs:
        if d.origin == "upload":
            added = f"added {esc(d.added[:16].replace('T', ' '))} UTC" if d.added else "uploaded"
        elif d.origin == "knowledge":
            added = "knowledge folder"
        else:
            added = "ingested from the command line"
        button = ""
        if d.removable:
            button = (f'<span class="remove"><button type="button" class="act" data-action="remove-ask" '
                      f'aria-label="Remove {esc(d.name)}">Remove</button>'
                      f'<span class="confirm" hidden>Remove it? <button type="button" class="act danger" '
                      f'data-action="remove" data-key="{esc(d.key)}">Yes, remove {esc(d.name)}</button> '
                      f'<button type="button" class="act" data-action="remove-cancel">Cancel</button></span></span>')
        rows.append(f'<li class="doc"><span class="doc-title">{esc(d.title)}</span>'
                    f'<span class="doc-meta">{esc(d.name)} · {esc(d.kind)} · {d.passages} passage'
                    f'{"s" if d.passages != 1 else ""} · {added}</span>{button}</li>')
    n = len(docs)
    return (f'<p class="docs-summary">Searching {n} document{"s" if n != 1 else ""} ({total} passages).</p>'
            f'<ul class="docs" aria-label="Documents searched">{"".join(rows)}</ul>'
            '<p class="docs-note">Files in the knowledge folder are listed read-only: to remove one, delete it '
            "there (the list follows on the next start).</p>")


def render_status(lines: list[tuple[bool, str]]) -> str:
    """Upload results, one line per file, in one place (a live region)."""
    if not lines:
        return ""
    items = "".join(f'<li class="{"ok" if ok else "bad"}">{esc(msg)}</li>' for ok, msg in lines)
    return f'<ul class="upload-status" role="status">{items}</ul>'
