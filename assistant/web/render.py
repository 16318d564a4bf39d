"""HTML for the web chat: messages, citation cards, the documents list. Pure functions.

Why apart from the handlers: rendering is where escaping and accessibility live,
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
from . import actions as act
from .conversations import ConversationInfo, Turn, shorten
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
    """Where in the document, for a reader: date, section, page (PDF), paragraph (whatever is known)."""
    parts = []
    if c.date:
        parts.append(esc(c.date))
    if c.section:
        parts.append(f"section “{esc(shorten(c.section, HEADING_CHARS))}”")
    if c.page:
        parts.append(f"p. {c.page}")
    if c.paragraph:
        parts.append(f"paragraph {c.paragraph}")
    return " · ".join(parts)


def spot(c: Citation) -> str:
    """The shortest place a reader can look it up: the page of a PDF, else the paragraph."""
    if c.page:
        return f"p. {c.page}"
    return f"para. {c.paragraph}" if c.paragraph else ""


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
                     f'<h2 id="turn-{t}-h">Answer {t}: “{esc(shorten(turn.question, HEADING_CHARS))}”</h2>')
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
def source_name(c: Citation) -> str:
    """"Title, p. 12": what a screen reader says for a citation and the tooltip's heading."""
    return f"{c.source}, p. {c.page}" if c.page else c.source


def _link(turn: int, c: Citation) -> str:
    return (f'<a class="cite" href="#{cite_id(turn, c.n)}" data-quote="{esc(c.quote)}" '
            f'data-title="{esc(source_name(c))}" aria-label="Source {c.n}: {esc(source_name(c))}">[{c.n}]</a>')


def source_chips(turn: int, ans: Answer) -> str:
    """The sources of one answer as numbered chips (title and page or paragraph); each opens its card."""
    if not ans.answered or not ans.citations:
        return ""
    items = []
    for c in ans.citations:
        place = spot(c)
        items.append(
            f'<li><a class="chip" href="#{cite_id(turn, c.n)}" data-quote="{esc(c.quote)}" '
            f'data-title="{esc(source_name(c))}" aria-label="Source {c.n}: {esc(source_name(c))}">'
            f'<span class="chip-n" aria-hidden="true">{c.n}</span>'
            f'<span class="chip-title">{esc(shorten(c.source, 48))}</span>'
            + (f'<span class="chip-at">{esc(place)}</span>' if place else "") + "</a></li>")
    return f'<ul class="chips" aria-label="Sources of answer {turn}">{"".join(items)}</ul>'



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
        buttons.append(f'<button type="button" class="act" data-copy="{esc(copy_text(ans))}">Copy</button>')
    if last:
        buttons.append(f'<button type="button" class="act" {act.REGENERATE.attrs(turn=turn)}>Regenerate</button>')
    if ans is not None:
        for value, label in ((1, "Helpful"), (-1, "Not helpful")):
            pressed = "true" if t.rating == value else "false"
            buttons.append(f'<button type="button" class="act rate" {act.RATE.attrs(turn=turn, value=value)} '
                           f'aria-pressed="{pressed}">{label}</button>')
    out = f'<div class="actions" role="group" aria-label="Answer {turn}">{"".join(buttons)}</div>'
    if t.rating:
        out += (f'<form class="note" data-turn="{turn}" onsubmit="return false">'
                f'<p class="thanks" role="status">Thanks, your feedback is saved.</p>'
                f'<label for="note-{turn}">Add a note (optional)</label>'
                f'<textarea id="note-{turn}" name="note" rows="2" maxlength="2000">{esc(t.note)}</textarea>'
                f'<button type="button" class="act" {act.NOTE.attrs(turn=turn)}>Save note</button></form>')
    return out


def render_turn(turn: int, t: Turn, last: bool = False) -> str:
    """One question and its answer (or error) as two articles with plain-text names."""
    chips = ""
    if t.answer is not None:
        body = answer_body(turn, t.answer)
        chips = source_chips(turn, t.answer)
    else:
        body = f'<div class="chat-error"><b>No answer.</b> {esc(t.error or "Please try again.")}</div>'
    return (_user(turn, t.question)
            + f'<article class="msg bot" id="answer-{turn}" aria-label="Answer {turn}">'
            f'<div class="bubble">{body}</div>{chips}{_actions(turn, t, last)}</article>')


def render_log(turns: list[Turn], examples: list[str], conversation: str | None = None, initial: bool = False) -> str:
    """The conversation so far, or a welcome with example questions when it is empty.

    The open conversation's id rides along (``data-conversation``) so the page can put
    its address (``?c=<id>``) in the location bar, for a reload or a link to reopen it;
    ``initial`` marks the page as first built, before its load step said which one is open.
    """
    mark = (f'<div class="log-body" data-conversation="{esc(conversation or "")}"'
            + (" data-initial" if initial else "") + ">")
    if not turns:
        items = "".join(f'<li><button type="button" class="example" {act.EXAMPLE.attrs(q=q)}>'
                        f"{esc(q)}</button></li>" for q in examples)
        return (mark + '<div class="welcome"><h2>Ask a question about the documents</h2><p>Every claim in an '
                "answer cites the exact sentence it comes from: click a <b>[n]</b> to check it. When the sources "
                "don’t answer, the assistant says so.</p>"
                '<p class="examples-label" id="examples-label">Try one of these questions:</p>'
                f'<ul class="examples" aria-labelledby="examples-label">{items}</ul></div></div>')
    return mark + "".join(render_turn(i, t, last=i == len(turns)) for i, t in enumerate(turns, start=1)) + "</div>"


def searched(titles: list[str], total: int) -> str:
    """What a question is asked of, in words: one title, "2 of 14 documents", or "all 14 documents"."""
    if len(titles) == 1:
        return f"“{shorten(titles[0], 60)}”"
    if titles and len(titles) < total:
        return f"{len(titles)} of {total} documents"
    return f"all {total} documents" if total != 1 else "the one document"


def render_pending(turn: int, question: str, partial: str, scope: str) -> str:
    """The question being answered, with the words streamed so far (or where the answer is being looked for)."""
    if partial:
        body = f'<div class="answer streaming">{esc(partial)}<span class="caret" aria-hidden="true">▌</span></div>'
    else:
        body = (f'<p class="searching">Looking for the answer in {esc(scope)}'
                f'<span class="dots" aria-hidden="true">…</span></p>')
    return (_user(turn, question)
            + f'<article class="msg bot pending" aria-label="Answer {turn}, in progress" aria-busy="true">'
            f'<div class="bubble">{body}</div></article>')


def render_error(message: str) -> str:
    return f'<p class="ask-error" role="alert">{esc(message)}</p>' if message else ""


def render_header(titles: list[str], total: int, status: str = "") -> str:
    """The line above the chat: which documents are searched, by name, with the way to choose them; and
    ``status``, an ingest under way ("Finishing an interrupted ingest: 40 %"), since until it ends answers
    come from the passages already in."""
    if total == 0:
        what = "No documents yet: add some in the Documents tab."
        choose = ""
    elif len(titles) == 1 or total == 1:
        what = f"Searching: <b>{esc(shorten((titles or ['one document'])[0], 70))}</b>"
        choose = "Change…" if total > 1 else ""
    elif titles and len(titles) < total:
        names = "; ".join(esc(shorten(t, 40)) for t in titles[:3]) + ("; …" if len(titles) > 3 else "")
        what = f"Searching {len(titles)} of {total} documents: {names}"
        choose = "Change…"
    else:
        what = f"Searching all {total} documents"
        choose = "Choose…"
    button = (f' <button type="button" class="act" data-focus="#doc-picker input" id="choose-documents">{choose}'
              "</button>") if choose else ""
    note = f' <span id="ingest-status" role="status">{esc(status)}</span>' if status else ""
    return (f'<p id="doc-count"><span id="doc-scope">{what}</span>{note}{button}'
            '<button type="button" class="act" data-open-panel="Documents" id="show-documents">'
            'Documents</button><button type="button" class="act phone-only" data-open-panel="Sources" '
            'id="show-sources">Sources</button></p>')


def render_conversations(items: list[ConversationInfo], current: str | None) -> str:
    """The conversations list: each opens with a click and has its own menu (rename, delete)."""
    if not items:
        return '<p class="conv-empty">No conversations yet: your first answer starts one.</p>'
    rows = []
    for c in items:
        cid = esc(c.id)
        here = ' aria-current="true"' if c.id == current else ""
        title = esc(c.title)
        rows.append(
            f'<li class="conv" data-cid="{cid}"><div class="conv-row">'
            f'<button type="button" class="conv-open" {act.OPEN.attrs(cid=c.id)}{here}>'
            f'<span class="conv-title">{title}</span><span class="conv-n">{c.turns} '
            f'answer{"s" if c.turns != 1 else ""}</span></button>'
            f'<button type="button" class="conv-menu-btn" aria-haspopup="true" aria-expanded="false" '
            f'aria-controls="menu-{cid}" aria-label="More for “{title}”">⋯</button></div>'
            f'<div class="conv-menu" id="menu-{cid}" hidden>'
            f'<button type="button" class="act" data-ui="rename-ask">Rename</button>'
            f'<button type="button" class="act danger" data-ui="delete-ask">Delete</button></div>'
            f'<form class="conv-rename" hidden onsubmit="return false">'
            f'<label for="rename-{cid}">New name</label>'
            f'<input id="rename-{cid}" name="title" type="text" maxlength="120" value="{title}">'
            f'<span class="conv-buttons"><button type="button" class="act" {act.RENAME.attrs(cid=c.id)}>Save</button>'
            f'<button type="button" class="act" data-ui="menu-cancel">Cancel</button></span></form>'
            f'<div class="conv-confirm" hidden><p>Delete “{title}”? This cannot be undone.</p>'
            f'<span class="conv-buttons"><button type="button" class="act danger" {act.DELETE.attrs(cid=c.id)}>'
            f'Yes, delete</button><button type="button" class="act" data-ui="menu-cancel">Cancel</button></span>'
            f'</div></li>')
    return f'<ul class="convs" aria-label="Your conversations">{"".join(rows)}</ul>'


# -- documents
def render_documents(docs: list[DocumentInfo]) -> str:
    """Every searched document: title, file, type, passages, when added; uploads can be removed."""
    if not docs:
        return '<p class="docs-summary">No documents are indexed yet. Add some below.</p>'
    searched_docs = [d for d in docs if not d.queued]
    total = sum(d.passages for d in searched_docs)
    rows = []
    for d in docs:
        if d.queued:
            added = "queued: added when another process has finished indexing"
        elif d.origin == "upload":
            added = f"added {esc(d.added[:16].replace('T', ' '))} UTC" if d.added else "uploaded"
        elif d.origin == "knowledge":
            added = "knowledge folder"
        else:
            added = "ingested from the command line"
        button = ""
        if d.removable:
            button = (f'<span class="remove"><button type="button" class="act" data-ui="remove-ask" '
                      f'aria-label="Remove {esc(d.name)}">Remove</button>'
                      f'<span class="confirm" hidden>Remove it? <button type="button" class="act danger" '
                      f'{act.REMOVE.attrs(key=d.key)}>Yes, remove {esc(d.name)}</button> '
                      f'<button type="button" class="act" data-ui="remove-cancel">Cancel</button></span></span>')
        count = "" if d.queued else f'{d.passages} passage{"s" if d.passages != 1 else ""} · '
        rows.append(f'<li class="doc"><span class="doc-title">{esc(d.title)}</span>'
                    f'<span class="doc-meta">{esc(d.name)} · {esc(d.kind)} · {count}{added}</span>{button}</li>')
    n = len(searched_docs)
    return (f'<p class="docs-summary">Searching {n} document{"s" if n != 1 else ""} ({total} passages).</p>'
            f'<ul class="docs" aria-label="Documents searched">{"".join(rows)}</ul>'
            '<p class="docs-note">Files in the knowledge folder are listed read-only: to remove one, delete it '
            "there (the list follows on the next start).</p>")


def render_status(lines: list[tuple[bool, str]]) -> str:
    """Upload results, one line per file, in one place (a live region)."""
    if not lines:
        return ""
    items = "".join(f'<li class="{"ok" if ok else "bad"}">{esc(msg)}</li>' for ok, msg in lines)
    return f'<div role="status"><ul class="upload-status">{items}</ul></div>'
