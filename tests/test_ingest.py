"""Ingest: passages and offsets, incremental re-runs, changed/deleted files, bad files, kill-and-rerun."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from langchain_core.embeddings import Embeddings

from assistant import Assistant, Settings
from assistant.index.store import pack_vectors, read_record, unpack_vectors
from ingest import load_source, split_passages, split_sentences
from tests._docs import HTML, MARKDOWN, make_pdf
from tests._store import all_passages, assert_sentence_vectors

ROOT = Path(__file__).resolve().parents[1]
ARTICLE = ROOT / "knowledge" / "japan-russia-ukraine-policy.txt"


class CountingEmbedder(Embeddings):
    """Wraps the real model and counts the passages it embeds."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.documents = 0
        self.dimension = inner.dimension

    def encode_passages(self, texts, spans):
        self.documents += len(texts)
        return self.inner.encode_passages(texts, spans)

    def embed_documents(self, texts):
        self.documents += len(texts)
        return self.inner.embed_documents(texts)

    def embed_query(self, text):
        return self.inner.embed_query(text)

    def embed_query_vector(self, text):
        return self.inner.embed_query_vector(text)


def _assistant(tmp_path: Path, knowledge: Path, embedder) -> Assistant:
    settings = Settings(data_dir=tmp_path / "data", knowledge_dir=knowledge)
    return Assistant(settings, embedder=embedder, auto_ingest=False)


def test_passages_keep_sentences_whole_with_exact_offsets():
    doc = load_source(ARTICLE, ARTICLE.parent)
    assert doc.title == "Japan's Policy Response to Russia's Invasion of Ukraine"
    passages = split_passages(doc.text, doc.path, doc.title)
    assert len(passages) >= 15
    assert len({p.id for p in passages}) == len(passages)
    for p in passages:
        assert doc.text[p.start : p.end] == p.text
        for s, e in p.sentences:
            sentence = doc.text[s:e]
            assert sentence == sentence.strip() and sentence
            assert p.start <= s < e <= p.end
        # whole sentences: a passage ends at sentence-final punctuation or a line end
        assert p.text.rstrip()[-1] in ".!?\"”'" or doc.text[p.end : p.end + 1] in ("\n", "")
    # ids are stable across runs
    assert [p.id for p in split_passages(doc.text, doc.path, doc.title)] == [p.id for p in passages]
    # "U.S." does not end a sentence
    us = [doc.text[s:e] for p in passages for s, e in p.sentences if "U.S. ships" in doc.text[s:e]]
    assert us and us[0].startswith("Furthermore")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Mr. Kishida spoke. Gen. Smith agreed.", ["Mr. Kishida spoke.", "Gen. Smith agreed."]),
        ("J. Novak, the minister, visited Salto. He left.", ["J. Novak, the minister, visited Salto.", "He left."]),
        ("See No. 5 of the list. It ended.", ["See No. 5 of the list.", "It ended."]),
        ("The U.S. and Japan agreed. Prices rose 2.5% in Q1.", ["The U.S. and Japan agreed.", "Prices rose 2.5% in Q1."]),
        ('He said "No." Then he left.', ['He said "No."', "Then he left."]),
        ("Tokyo’s stance—firm. Moscow’s reply came later!", ["Tokyo’s stance—firm.", "Moscow’s reply came later!"]),
    ],
)
def test_sentence_breaks_skip_titles_and_initials(line, expected):
    spans = [(s, e) for s, e, *_ in split_sentences(line)]
    assert [line[s:e] for s, e in spans] == expected


def test_packed_sentence_vectors_keep_cosines():
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(7, 384)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    back = unpack_vectors(pack_vectors(rows), 384)
    assert back.shape == rows.shape
    assert (back * rows).sum(axis=1).min() > 0.999
    assert len(pack_vectors(rows)) < 7 * 384 * 4 / 2  # under half of raw float32, base64 included


def test_a_store_of_an_older_layout_is_reingested_with_a_notice(tmp_path, embedder, caplog):
    """Stores before 0.3 kept the text as the Chroma document and a key per field; they are rebuilt, not read."""
    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    (knowledge / "article.txt").write_text(ARTICLE.read_text(encoding="utf-8"), encoding="utf-8")
    bot = _assistant(tmp_path, knowledge, embedder)
    bot.ingest(progress=False)
    col = bot.store.passage_collection
    got = col.get(include=["metadatas", "embeddings"])
    flat = [read_record(m) for m in got["metadatas"]]
    col.delete(ids=got["ids"])
    col.add(ids=got["ids"], embeddings=got["embeddings"], documents=[r.pop("text") for r in flat],
            metadatas=[{**r, "sentences": json.dumps(r["sentences"]), "skip": json.dumps(r["skip"]), "sv": ""} for r in flat])
    assert bot.store.outdated()
    with caplog.at_level("WARNING"):
        fresh = Assistant(bot.settings, embedder=embedder)  # start-up refresh finds the old layout
    assert any("older version" in r.getMessage() for r in caplog.records)
    assert not fresh.store.outdated()
    assert fresh.store.count() == len(got["ids"])
    ans = fresh.ask("How many Ukrainian refugees has Japan accepted?")
    assert ans.answered and "2,000" in ans.text
    assert fresh.source_text(ans.citations[0].path)[ans.citations[0].start:ans.citations[0].end] == ans.citations[0].quote


def test_incremental_ingest_changed_and_deleted_files(tmp_path, embedder):
    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    (knowledge / "article.txt").write_text(ARTICLE.read_text(encoding="utf-8"), encoding="utf-8")
    (knowledge / "bees.md").write_text(MARKDOWN, encoding="utf-8")
    counting = CountingEmbedder(embedder)
    bot = _assistant(tmp_path, knowledge, counting)

    first = bot.ingest(progress=False)
    assert first.errors == [] and first.added > 0 and first.removed == 0
    before = {p["passage_id"]: p for p in all_passages(bot)}
    assert len(before) == first.added
    assert counting.documents > 0

    counting.documents = 0
    again = bot.ingest(progress=False)
    assert (again.added, again.removed) == (0, 0)
    assert again.skipped == first.added
    assert counting.documents == 0, "re-running on unchanged files must embed nothing"

    # change one paragraph of the article: exactly that source's changed passages are replaced
    text = ARTICLE.read_text(encoding="utf-8")
    old_par = "Japan’s government may go further still."
    assert old_par in text
    (knowledge / "article.txt").write_text(text.replace(old_par, "Japan’s cabinet may yet go further."), encoding="utf-8")
    changed = bot.ingest(progress=False)
    after = {p["passage_id"]: p for p in all_passages(bot)}
    assert changed.added >= 1 and changed.removed >= 1
    assert len(after) == len(before), "no duplicates, nothing lost"
    bee_ids = {k for k, v in before.items() if v["source"] == "bees.md"}
    assert bee_ids <= set(after), "the other file's passages are untouched"
    assert any("cabinet may yet go further" in p["text"] for p in after.values())
    assert not any("government may go further still" in p["text"] for p in after.values())
    assert_sentence_vectors(bot)

    # delete a file: its passages and sentences go
    (knowledge / "bees.md").unlink()
    removed = bot.ingest(progress=False)
    assert removed.removed == len(bee_ids)
    assert "bees.md" in removed.removed_sources
    left = all_passages(bot)
    assert all(p["source"] == "article.txt" for p in left)
    assert_sentence_vectors(bot)
    ans = bot.ask("When do beekeepers harvest chestnut honey?")
    assert not ans.answered


def test_a_restart_picks_up_what_changed_in_the_knowledge_folder(tmp_path, embedder, monkeypatch):
    """serve/ask start with auto-ingest: an edited folder is refreshed, an unchanged one costs a stat per file."""
    from ingest import Ingestor

    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    (knowledge / "article.txt").write_text(ARTICLE.read_text(encoding="utf-8"), encoding="utf-8")
    settings = Settings(data_dir=tmp_path / "data", knowledge_dir=knowledge)
    first = Assistant(settings, embedder=embedder)  # empty store: ingested at start
    n = first.store.count()
    assert n > 0 and not first.ingestor.knowledge_changed()

    # unchanged folder (an editor's dotfile aside): the next start ingests nothing
    (knowledge / ".article.txt.swp").write_text("x", encoding="utf-8")
    real_run = Ingestor.run
    runs: list[int] = []

    def counting_run(self, *args, **kwargs):
        runs.append(1)
        return real_run(self, *args, **kwargs)

    monkeypatch.setattr(Ingestor, "run", counting_run)
    assert Assistant(settings, embedder=embedder).store.count() == n and runs == []

    # a file dropped in while the app was stopped is answered from after the restart
    (knowledge / "bees.md").write_text(MARKDOWN, encoding="utf-8")
    counting = CountingEmbedder(embedder)
    second = Assistant(settings, embedder=counting)
    assert runs == [1] and second.store.count() > n
    assert counting.documents == second.store.count() - n, "only the new file is embedded"
    ans = second.ask("When do beekeepers harvest chestnut honey?")
    assert ans.answered and any(c.path == "bees.md" for c in ans.citations)

    # a store whose folder snapshot is missing (ingested by an older version) is re-checked once
    second.ingestor.snapshot_path.unlink()
    assert second.ingestor.knowledge_changed()
    third = Assistant(settings, embedder=embedder)
    assert runs == [1, 1] and third.store.count() == second.store.count()
    assert not third.ingestor.knowledge_changed()

    # a knowledge folder that went missing (unmounted, renamed) is not "every file deleted"
    knowledge.rename(tmp_path / "elsewhere")
    assert Assistant(settings, embedder=embedder).store.count() == third.store.count() and runs == [1, 1]
    (tmp_path / "elsewhere").rename(knowledge)

    # a data folder that never ingested (a reader of a shared store) does not refresh it
    reader = Assistant(Settings(data_dir=tmp_path / "reader", knowledge_dir=knowledge), embedder=embedder,
                       store=third.store)
    assert runs == [1, 1] and not reader.ingestor.knowledge_changed()


def test_bad_files_are_reported_and_skipped(tmp_path, embedder):
    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    (knowledge / "good.md").write_text(MARKDOWN, encoding="utf-8")
    (knowledge / "kelp.html").write_text(HTML, encoding="utf-8")
    (knowledge / "notes.pdf").write_bytes(
        make_pdf(["Sea otters in Alaska use rocks to open clams.", "They wrap themselves in kelp to sleep."], "Otters")
    )
    (knowledge / "empty.txt").write_text("   \n\n", encoding="utf-8")
    (knowledge / "binary.txt").write_bytes(b"\x00\x01\x02garbage\x00" * 50)
    (knowledge / "corrupt.pdf").write_bytes(b"%PDF-1.4\n" + os.urandom(400))
    (knowledge / "fake.pdf").write_bytes(b"this is not a pdf at all")
    (knowledge / "sheet.xlsx").write_bytes(b"PK\x03\x04")
    (knowledge / "broken.docx").write_bytes(b"PK\x03\x04")
    (knowledge / "dangling.txt").symlink_to(tmp_path / "missing-target.txt")
    bot = _assistant(tmp_path, knowledge, embedder)

    report = bot.ingest(progress=False)
    reasons = {Path(name).name: reason for name, reason in report.errors}
    assert set(reasons) == {"empty.txt", "binary.txt", "corrupt.pdf", "fake.pdf", "sheet.xlsx", "broken.docx",
                            "dangling.txt"}
    assert "empty" in reasons["empty.txt"]
    assert "binary" in reasons["binary.txt"]
    assert "PDF" in reasons["corrupt.pdf"] and "PDF" in reasons["fake.pdf"]
    assert "unsupported" in reasons["sheet.xlsx"]
    assert "Word document" in reasons["broken.docx"]
    assert "cannot be read" in reasons["dangling.txt"]
    sources = {p["source"]: p["title"] for p in all_passages(bot)}
    assert sources == {"good.md": "Bee Keeping Primer", "kelp.html": "Kelp Farming Notes", "notes.pdf": "Otters"}

    for question, expected in [
        ("How do bees tell each other where flowers are?", "waggle dance"),
        ("Where is kombu produced?", "Hokkaido"),
        ("How do sea otters open clams?", "rocks"),
    ]:
        ans = bot.ask(question)
        assert ans.answered and expected in ans.text, (question, ans.text)
        for c in ans.citations:
            assert bot.source_text(c.path)[c.start : c.end] == c.quote

    # a file that breaks after it was ingested keeps its passages (nothing is lost)
    (knowledge / "notes.pdf").write_bytes(b"%PDF-1.4\n" + os.urandom(300))
    report = bot.ingest(progress=False)
    assert any(Path(n).name == "notes.pdf" for n, _ in report.errors)
    assert "notes.pdf" in {p["source"] for p in all_passages(bot)}


def test_cli_ingest_summary_and_errors(tmp_path):
    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    (knowledge / "good.md").write_text(MARKDOWN, encoding="utf-8")
    (knowledge / "bad.txt").write_bytes(b"\x00\x00\x00")
    env = dict(os.environ, ASSISTANT_DATA_DIR=str(tmp_path / "data"), ASSISTANT_KNOWLEDGE_DIR=str(knowledge))
    out = subprocess.run([sys.executable, "-m", "assistant.cli", "ingest", "--json", "--quiet"],
                         capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["files"] == 2 and data["added"] >= 2 and len(data["errors"]) == 1
    assert "bad.txt" in out.stderr and "binary" in out.stderr
    out = subprocess.run([sys.executable, "-m", "assistant.cli", "ingest"], capture_output=True, text=True, env=env,
                         timeout=300)
    assert out.returncode == 0
    assert "0 passages added" in out.stdout and "0 removed" in out.stdout


KILL_SCRIPT = r"""
import sys
from pathlib import Path
from assistant import Assistant, Settings
bot = Assistant(Settings(data_dir=Path(sys.argv[1]), knowledge_dir=Path(sys.argv[2])), auto_ingest=False)
print("READY", flush=True)
bot.ingest(progress=False)
print("DONE", flush=True)
"""


def test_ingest_killed_half_way_converges_on_rerun(tmp_path, embedder):
    # a corpus big enough that embedding takes a few seconds
    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    article = ARTICLE.read_text(encoding="utf-8")
    for i in range(12):
        variant = "\n".join(f"Section {i}.{j}: {line}" for j, line in enumerate(article.splitlines()) if line)
        (knowledge / f"copy{i:02d}.txt").write_text(variant, encoding="utf-8")
    data = tmp_path / "data"
    # small batches, so the kill lands between writes
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(data), str(knowledge)],
                            stdout=subprocess.PIPE, text=True, env={**os.environ, "ASSISTANT_INGEST_BATCH": "64"})
    assert proc.stdout.readline().strip() == "READY"
    # wait until some passages are in the store, then kill -9
    bot = None
    deadline = time.time() + 120
    killed_with = -1
    while time.time() < deadline:
        time.sleep(0.3)
        try:
            import chromadb
            from chromadb.config import Settings as CS

            client = chromadb.PersistentClient(path=str(data / "chroma"), settings=CS(anonymized_telemetry=False))
            n = client.get_collection("knowledge_passages").count()
        except Exception:
            n = 0
        if n > 0:
            killed_with = n
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=30)
    assert killed_with > 0, "ingest never wrote anything"

    bot = _assistant(tmp_path, knowledge, embedder)
    report = bot.ingest(progress=False)
    assert report.errors == []
    passages = all_passages(bot)
    ids = [p["passage_id"] for p in passages]
    assert len(ids) == len(set(ids)), "no duplicate passages after the re-run"
    expected = sum(len(split_passages(load_source(f, knowledge).text, f.name, "t")) for f in knowledge.iterdir())
    assert len(ids) == expected
    assert_sentence_vectors(bot)
    # and a further run is a no-op
    again = bot.ingest(progress=False)
    assert (again.added, again.removed) == (0, 0)


@pytest.mark.parametrize("name", ["notes.md", "notes.txt"])
def test_front_matter_offsets_index_the_file(tmp_path, name):
    path = tmp_path / name
    path.write_text(MARKDOWN, encoding="utf-8")
    doc = load_source(path, tmp_path)
    assert doc.title == "Bee Keeping Primer"
    assert doc.text == MARKDOWN
    passages = split_passages(doc.text, doc.path, doc.title, body_start=doc.body_start)
    assert all("title:" not in p.text for p in passages)
    assert all(MARKDOWN[p.start : p.end] == p.text for p in passages)
