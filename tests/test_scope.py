"""Asking about chosen documents only (``sources=``), and citations that name the PDF page.

Over the 14-document benchmark corpus: a scope limits both halves of hybrid search
(Chroma's metadata filter, BM25's mask), so every citation comes from a named
document; a name no document has fails with the closest names; a PDF quote says
which page it is on, the page whose own text holds it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.errors import UnknownDocument
from assistant.index.lexical import LexicalIndex
from assistant.index.scope import resolve
from assistant.text import terms
from ingest.loaders import reflow_pdf
from ingest.pipeline import LAYOUT, passage_pages
from ingest.splitter import Passage
from tests.test_answers import assert_citations_valid

ROOT = Path(__file__).resolve().parents[1]
Q_POLL = "What share of Japanese people supported sanctions on Russia?"
POLLS = "public-opinion-polls.pdf"
RULES = "defence-equipment-rules.pdf"


# -- names -> sources (no store)
TITLES = {"white-paper-2023.pdf": "Japan's Policy Response: the 2023 White Paper",
          "notes/briefing.md": "Briefing notes", "/srv/data/uploads/ab12/日本の政策.md": "日本の政策"}


@pytest.mark.parametrize(("name", "source"), [
    ("white-paper-2023.pdf", "white-paper-2023.pdf"),
    ("WHITE-PAPER-2023.PDF", "white-paper-2023.pdf"),
    ("japan's policy response:  the 2023 white paper", "white-paper-2023.pdf"),  # a title, any case and spacing
    ("briefing.md", "notes/briefing.md"),  # the file name of a file in a sub-folder
    ("notes/briefing.md", "notes/briefing.md"),
    ("日本の政策.md", "/srv/data/uploads/ab12/日本の政策.md"),  # an upload, by the name the Documents tab shows
])
def test_a_document_is_named_by_file_name_path_or_title(name, source):
    assert resolve([name], TITLES) == {source}


def test_no_names_is_no_scope_and_an_unknown_name_lists_close_matches():
    assert resolve(None, TITLES) is None and resolve([], TITLES) is None and resolve([" "], TITLES) is None
    with pytest.raises(UnknownDocument) as err:
        resolve(["white-paper-2032.pdf", "briefing.md"], TITLES)
    assert err.value.names == ["white-paper-2032.pdf"]
    assert err.value.suggestions[0] == "white-paper-2023.pdf"
    assert "No document is called “white-paper-2032.pdf”" in str(err.value) and "Did you mean" in str(err.value)
    with pytest.raises(UnknownDocument, match="2023 White Paper"):
        resolve(["white paper"], TITLES)  # part of a title is suggested
    with pytest.raises(UnknownDocument, match="No documents are indexed"):
        resolve(["anything.pdf"], {})


def test_bm25_searches_only_the_passages_of_the_scope():
    lex = LexicalIndex.build([("a1", "Sanctions on Russian banks", "a.md", "A"),
                              ("b1", "Sanctions on Russian oil", "b.md", "B"),
                              ("b2", "Refugees in Japan", "b.md", "B")])
    assert lex.titles == {"a.md": "A", "b.md": "B"}
    everywhere = {lex.ids[i] for i, _ in lex.search(terms("sanctions"), 5)}
    within = {lex.ids[i] for i, _ in lex.search(terms("sanctions"), 5, within=frozenset({"b.md"}))}
    assert everywhere == {"a1", "b1"} and within == {"b1"}
    assert lex.search(terms("sanctions"), 5, within=frozenset()) == []


# -- the real store
def test_a_scoped_answer_cites_only_the_named_documents(corpus_bot):
    free = corpus_bot.ask(Q_POLL)
    assert free.answered and any(c.path == POLLS for c in free.citations)
    scoped = corpus_bot.ask(Q_POLL, sources=[RULES])
    assert all(c.path == RULES for c in scoped.citations), [c.path for c in scoped.citations]
    r = corpus_bot.retrieve(Q_POLL, sources=[RULES, "Frozen islands, closed borders: how Moscow has hit back at "
                                                    "Tokyo since 2022"])  # a file name and a title
    assert r.passages and {p.source for p in r.passages} <= {RULES, "russia-reaction.txt"}
    by_name = corpus_bot.ask(Q_POLL, sources=[POLLS])
    assert by_name.answered and all(c.path == POLLS for c in by_name.citations)
    assert_citations_valid(corpus_bot, by_name)


def test_stream_and_the_runnable_take_the_scope(corpus_bot):
    *pieces, final = list(corpus_bot.stream(Q_POLL, sources=[RULES]))
    assert pieces and all(c.path == RULES for c in final.citations)
    out = corpus_bot.as_runnable().invoke({"question": Q_POLL, "sources": [POLLS]})
    assert out["answered"] and {c["path"] for c in out["citations"]} == {POLLS}
    with pytest.raises(UnknownDocument, match="public-opinion-polls.pdf"):
        corpus_bot.as_runnable().invoke({"question": Q_POLL, "sources": ["public-opinion-poll.pdf"]})


def test_cli_ask_source_is_repeatable_and_an_unknown_one_is_named(corpus_bot):
    env = dict(os.environ, ASSISTANT_DATA_DIR=str(corpus_bot.settings.data_dir),
               ASSISTANT_KNOWLEDGE_DIR=str(corpus_bot.settings.knowledge_dir))
    cmd = [sys.executable, "-m", "assistant.cli", "ask", Q_POLL, "--json", "--source", POLLS, "--source", RULES]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["citations"] and {c["path"] for c in data["citations"]} <= {POLLS, RULES}
    bad = subprocess.run([*cmd[:5], "--source", "defence-rules.pdf"], capture_output=True, text=True, env=env,
                         timeout=300, cwd=ROOT)
    assert bad.returncode == UnknownDocument.exit_code
    assert "No document is called “defence-rules.pdf”" in bad.stderr and RULES in bad.stderr


# -- pages
def test_pdf_page_starts_survive_reflow():
    pages = ["Monitor\nFirst page text that is long enough to be a full line of the\nbody here.\n1",
             "Monitor\nSecond page starts a paragraph that wraps across the line end\nof the page.\n2",
             "Monitor\nThird page text.\n3"]
    text, starts = reflow_pdf(pages)
    assert [n for _, n in starts] == [1, 2, 3]
    for (offset, n), opening in zip(starts, ("First page", "Second page", "Third page")):
        assert text[offset:].startswith(opening), (n, text[offset:offset + 20])
    p = Passage("id", "s", "t", starts[1][0] - 5, starts[2][0] + 3, "x", (), 0)
    assert passage_pages(p, starts) == [[p.start, 1], [starts[1][0], 2], [starts[2][0], 3]]
    assert passage_pages(p, ()) == [] and LAYOUT >= 5


def test_pdf_citations_name_the_page_of_their_quote(corpus_bot):
    from pypdf import PdfReader

    seen = 0
    for q in (Q_POLL, "What did the cabinet decide about exporting patrol vehicles?",
              "How did support for sanctions change by 2024?", "What are the five categories of equipment?"):
        for c in corpus_bot.ask(q, sources=[POLLS, RULES]).citations:
            pdf = PdfReader(str(corpus_bot.settings.knowledge_dir / c.path))
            page_text = re.sub(r"\s+", " ", pdf.pages[c.page - 1].extract_text())
            assert " ".join(c.quote.split()[:3]) in page_text, (c.page, c.quote)
            seen += 1
    assert seen
    other = corpus_bot.ask("How many Ukrainian evacuees are in Japan?", sources=["ukrainian-evacuees.md"])
    assert other.citations and all(c.page is None for c in other.citations)
