"""Uploads (issues 14, 22): readable unique names, no file ever replacing another, a failed one changing nothing.

Real stores throughout: an embedded Chroma for names, replacement and a bad new
version; a real ``chroma run`` server that is killed mid-upload for the
"indexing fails" case. After every step, every passage in the store must still
quote its source text verbatim at its offsets.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from _docs import make_pdf

from assistant import Assistant, Settings
from assistant.web.library import Library, safe_filename
from tests._store import all_passages

V1 = ("# Lighthouse accord\n\nThe lighthouse accord was signed in Tromsø on May 4, 2031 by minister Ada Quill. "
      "Each keeper receives forty barrels of lamp oil a year.\n")
V2 = ("# Lighthouse accord, revised\n\nThe revised lighthouse accord was signed in Bergen on June 9, 2032 by "
      "minister Brant Osei. Each keeper now receives sixty barrels of lamp oil a year.\n")
POLICY = ("# 日本の政策\n\nThe Kestrel programme pays farmers in Hokkaido 300 yen per planted sapling. "
          "It started in April 2030.\n")
SANCTIONS = ("# ロシア制裁\n\nThe Marmot list freezes the assets of twelve shipping firms. "
             "It was published in October 2029.\n")


def assert_every_passage_quotes_its_text(bot: Assistant) -> None:
    """The store-wide invariant: each passage is its source text at its offsets."""
    passages = all_passages(bot)
    assert passages
    for p in passages:
        assert bot.source_text(p["source"])[p["start"]:p["end"]] == p["text"], p["source"]


def assert_cited(bot: Assistant, question: str, *expected: str) -> None:
    ans = bot.ask(question)
    assert ans.answered, ans.text
    assert all(e in ans.text for e in expected), ans.text
    for c in ans.citations:
        assert bot.source_text(c.path)[c.start:c.end] == c.quote


def write(folder: Path, name: str, text: str | bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_safe_filenames_keep_letters_of_every_script():
    assert safe_filename("日本の政策.md") == "日本の政策.md"
    assert safe_filename("Санкции 2024.PDF") == "Санкции 2024.pdf"
    assert safe_filename("../../etc/passwd.md") == "passwd.md"
    assert safe_filename("..\\..\\x.TXT") == "x.txt"
    assert safe_filename(".hidden.md") == "hidden.md"
    assert safe_filename("a b<>|c.html") == "a b_c.html"
    assert safe_filename("report (final).md") == "report (final).md"
    assert safe_filename("???.md") == "upload.md"
    assert safe_filename("ab\x00\x1b[31m.txt") == "ab_31m.txt"
    long = safe_filename("政" * 200 + ".md")
    assert long.endswith(".md") and len(long.encode()) <= 170


@pytest.fixture
def library(tmp_path, make_assistant, knowledge_copy):
    bot = make_assistant(tmp_path / "data", knowledge_copy)
    return Library(bot, max_upload_bytes=1024 * 1024)


def test_two_unicode_names_upload_side_by_side(library, tmp_path):
    a = library.add(write(tmp_path / "in", "日本の政策.md", POLICY))
    b = library.add(write(tmp_path / "in", "ロシア制裁.md", SANCTIONS))
    assert a.ok and b.ok and (a.name, b.name) == ("日本の政策.md", "ロシア制裁.md")
    assert "Added 日本の政策.md" in a.message
    names = {d.name for d in library.documents() if d.origin == "upload"}
    assert names == {"日本の政策.md", "ロシア制裁.md"}
    assert_cited(library.bot, "How much does the Kestrel programme pay per sapling?", "300 yen")
    assert_cited(library.bot, "How many shipping firms does the Marmot list freeze?", "twelve")
    assert_every_passage_quotes_its_text(library.bot)


def test_a_word_document_upload_is_searchable_and_quoted_verbatim(library, tmp_path):
    import docx

    d = docx.Document()
    d.add_heading("Kestrel programme", level=1)
    for paragraph in POLICY.split("\n\n"):
        if paragraph.strip() and not paragraph.startswith("#"):
            d.add_paragraph(paragraph.strip())
    (tmp_path / "in").mkdir(parents=True, exist_ok=True)
    d.save(tmp_path / "in" / "policy.docx")
    got = library.add(tmp_path / "in" / "policy.docx")
    assert got.ok, got.message
    assert_cited(library.bot, "How much does the Kestrel programme pay per sapling?", "300 yen")
    assert_every_passage_quotes_its_text(library.bot)


def test_the_same_file_is_unchanged_and_a_different_file_never_replaces_one(library, tmp_path):
    first = library.add(write(tmp_path / "a", "accord.md", V1))
    assert first.ok and first.message.startswith("Added accord.md")
    again = library.add(write(tmp_path / "b", "accord.md", V1))
    assert again.ok and again.message == "accord.md is already in the library, unchanged."
    # a different original name that cleans up to the same name: kept apart, and the user is told
    other = library.add(write(tmp_path / "c", "accord.md", POLICY), original_name="accord?.md")
    assert other.ok and other.name == "accord (2).md" and other.renamed_from == "accord.md"
    assert "Added as accord (2).md, because another file is already called accord.md" in other.message
    third = library.add(write(tmp_path / "d", "accord.md", SANCTIONS), original_name="accord*.md")
    assert third.ok and third.name == "accord (3).md"
    # the same name with other content is another file too (names arrive with characters dropped, so a
    # name cannot tell a new version from a different file): nothing is replaced
    fourth = library.add(write(tmp_path / "e", "accord.md", V2))
    assert fourth.ok and fourth.name == "accord (4).md" and "Replaced" not in fourth.message
    assert_cited(library.bot, "Who signed the revised lighthouse accord?", "Brant Osei")
    assert_cited(library.bot, "Who signed the lighthouse accord in Tromsø?", "Ada Quill")
    # each received name with each content is one file: uploading any of them again changes nothing
    assert library.add(write(tmp_path / "f", "accord.md", V2)).message == (
        "accord.md is already in the library as accord (4).md, unchanged.")
    uploads = [d for d in library.documents() if d.origin == "upload"]
    assert sorted(d.name for d in uploads) == ["accord (2).md", "accord (3).md", "accord (4).md", "accord.md"]
    assert all(d.passages > 0 and d.added for d in uploads)
    assert all(d.source.startswith("uploads/") for d in uploads)  # never a server path
    files = sorted(p.name for p in library.folder.rglob("*.md"))
    assert files == ["accord (2).md", "accord (3).md", "accord (4).md", "accord.md"]
    assert_every_passage_quotes_its_text(library.bot)


def test_a_bad_file_changes_nothing(library, tmp_path):
    good = library.add(write(tmp_path / "a", "brief.pdf", make_pdf(["The Osprey fund holds 90 million euros."])))
    assert good.ok, good.message
    bad = library.add(write(tmp_path / "b", "brief.pdf", b"%PDF-1.4 this is not really a PDF"))
    assert not bad.ok and bad.message.startswith("Not added.") and "brief.pdf" in bad.message
    assert "(2)" not in bad.message  # named as sent
    assert_cited(library.bot, "How much does the Osprey fund hold?", "90 million euros")
    assert [d.name for d in library.documents() if d.origin == "upload"] == ["brief.pdf"]
    assert sorted(p.name for p in library.folder.rglob("*.pdf")) == ["brief.pdf"]
    assert "brief (2).pdf" not in library.index()
    assert_every_passage_quotes_its_text(library.bot)


def test_remove_an_upload_and_refuse_to_remove_a_knowledge_file(library, tmp_path):
    library.add(write(tmp_path / "a", "accord.md", V1))
    docs = {d.name: d for d in library.documents()}
    knowledge = next(d for d in docs.values() if d.origin == "knowledge")
    msg = library.remove(knowledge.key)
    assert "knowledge folder" in msg and knowledge.name in {d.name for d in library.documents()}
    msg = library.remove(docs["accord.md"].key)
    assert msg.startswith("Removed accord.md")
    assert "accord.md" not in {d.name for d in library.documents()}
    assert not list(library.folder.rglob("accord.md"))
    assert not library.bot.ask("Who signed the lighthouse accord?").answered
    assert library.remove("no-such-key") == "That document is no longer in the library."
    assert_every_passage_quotes_its_text(library.bot)


def test_type_size_and_empty_files_are_refused_before_copying(tmp_path):
    from types import SimpleNamespace

    # a narrow unit test: these checks never reach the assistant
    lib = Library(SimpleNamespace(settings=Settings(data_dir=tmp_path / "data")), max_upload_bytes=100)
    big, exe, empty = write(tmp_path, "big.md", "x" * 101), write(tmp_path, "tool.exe", "MZ"), write(tmp_path, "e.txt", "")
    assert lib.add(big).message == "Not added. big.md: it is 101 bytes; the limit is 100 bytes."
    assert "'.exe' files are not supported" in lib.add(exe).message
    assert lib.add(empty).message == "Not added. e.txt: the file is empty."
    assert not lib.folder.exists()


@pytest.mark.server
def test_a_re_upload_whose_indexing_fails_leaves_every_citation_valid(tmp_path, embedder):
    from tests.test_server_mode import ChromaServer, free_port

    server = ChromaServer(tmp_path / "chroma-server", free_port(), tmp_path / "chroma.log")
    server.start()
    try:
        knowledge = write(tmp_path / "knowledge", "base.md", SANCTIONS).parent
        settings = Settings(data_dir=tmp_path / "data", knowledge_dir=knowledge, chroma_url=server.url,
                            collection=f"t{uuid.uuid4().hex[:10]}")
        bot = Assistant(settings, embedder=embedder)
        lib = Library(bot, max_upload_bytes=1024 * 1024)
        assert lib.add(write(tmp_path / "a", "accord.md", V1)).ok
        assert_cited(bot, "Who signed the lighthouse accord?", "Ada Quill")
        before = json.loads(lib.index_path.read_text(encoding="utf-8"))

        server.kill()  # the store goes away between the copy and the index
        failed = lib.add(write(tmp_path / "b", "accord.md", V2))
        assert not failed.ok and failed.message.startswith("Not added.") and "accord.md" in failed.message
        # nothing of the new version is left on disk; the old file and its text are untouched
        after = json.loads(lib.index_path.read_text(encoding="utf-8"))
        assert after["files"] == before["files"]
        assert [p.read_text(encoding="utf-8") for p in lib.folder.rglob("accord.md")] == [V1]

        server.start()
        assert_every_passage_quotes_its_text(bot)
        assert_cited(bot, "Who signed the lighthouse accord?", "Ada Quill")
        # the same upload once the store is back: added beside the first, which is untouched
        assert lib.add(write(tmp_path / "c", "accord.md", V2)).name == "accord (2).md"
        assert_cited(bot, "Who signed the revised lighthouse accord?", "Brant Osei")
        assert_cited(bot, "Who signed the lighthouse accord in Tromsø?", "Ada Quill")
        assert_every_passage_quotes_its_text(bot)
    finally:
        server.kill()
