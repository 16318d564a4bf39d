"""The store heals itself (issue 14): lost or emptied stores are re-filled, an interrupted first ingest is
finished, one writer at a time, a running app follows another process's ingest, damaged records are named.

Real parts only: the session's embedding model, embedded Chroma in a tmp folder, and real subprocesses for
the "other process" (a CLI ingest, a lock holder, an ingest stopped with Ctrl-C).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant import Assistant, Settings, StoreBusy, StoreError
from evals.corpus import generate
from ingest import load_source, split_passages
from ingest.loaders import discover
from tests._docs import MARKDOWN

ROOT = Path(__file__).resolve().parents[1]
ARTICLE = ROOT / "knowledge" / "japan-russia-ukraine-policy.txt"
QUESTION = "How many Ukrainians has Japan taken in?"
BEES = "When do beekeepers in Nagano harvest chestnut honey?"


def _env(data: Path, knowledge: Path) -> dict:
    return {**os.environ, "ASSISTANT_DATA_DIR": str(data), "ASSISTANT_KNOWLEDGE_DIR": str(knowledge)}


@pytest.fixture
def knowledge(tmp_path) -> Path:
    folder = tmp_path / "knowledge"
    folder.mkdir()
    (folder / "article.txt").write_text(ARTICLE.read_text(encoding="utf-8"), encoding="utf-8")
    return folder


def _answers(bot: Assistant, question: str = QUESTION, expected: str = "2,000") -> None:
    ans = bot.ask(question)
    assert ans.answered and expected in ans.text, ans.text
    for c in ans.citations:
        assert bot.source_text(c.path)[c.start : c.end] == c.quote


@pytest.mark.parametrize("damage", ["moved aside", "emptied"])
def test_a_lost_store_is_refilled_on_start_and_on_ingest(tmp_path, knowledge, embedder, damage, caplog):
    settings = Settings(data_dir=tmp_path / "data", knowledge_dir=knowledge)
    first = Assistant(settings, embedder=embedder)
    n = first.store.count()
    assert n > 10
    first.store.close()  # as if the process ended: the next start opens the folder afresh

    def damage_store() -> None:
        if damage == "moved aside":
            settings.chroma_path.rename(tmp_path / f"chroma.aside{len(list(tmp_path.glob('chroma.aside*')))}")
        else:
            (settings.chroma_path / "chroma.sqlite3").write_bytes(b"")

    # on start: the store lacks what the records list, so it is re-filled, with a notice
    damage_store()
    with caplog.at_level("WARNING"):
        again = Assistant(settings, embedder=embedder)
    assert again.store.count() == n
    assert any("lacks" in r.getMessage() and f"{n} of the {n}" in r.getMessage() for r in caplog.records)
    _answers(again)
    again.store.close()

    # on `assistant ingest` (no start-up refresh): the same, and the report says so
    damage_store()
    bot = Assistant(settings, embedder=embedder, auto_ingest=False)
    report = bot.ingest(progress=False)
    assert report.added == n and report.skipped == 0
    assert report.notices and "re-filling" in report.notices[0]
    _answers(bot)
    assert bot.ingest(progress=False).notices == []  # in step again: nothing to repair


def test_rebuild_wipes_and_recreates_from_every_known_source(tmp_path, knowledge, embedder):
    upload = tmp_path / "uploads" / "bees.md"  # a file ingested by path, outside the knowledge folder
    upload.parent.mkdir()
    upload.write_text(MARKDOWN, encoding="utf-8")
    settings = Settings(data_dir=tmp_path / "data", knowledge_dir=knowledge)
    bot = Assistant(settings, embedder=embedder)
    bot.ingest([upload], progress=False)
    n = bot.store.count()
    report = bot.ingestor.rebuild(progress=False)
    assert report.added == n and bot.store.count() == n
    _answers(bot)
    _answers(bot, BEES, "October")


def test_damaged_records_are_named_and_rebuild_fixes_them(tmp_path, knowledge, embedder, caplog):
    settings = Settings(data_dir=tmp_path / "data", knowledge_dir=knowledge)
    bot = Assistant(settings, embedder=embedder)
    n = bot.store.count()
    bot.ingestor.passage_records.engine.dispose()
    with open(settings.record_db, "r+b") as f:  # half a database: the header survives, the pages do not
        f.truncate(max(4096, settings.record_db.stat().st_size // 3))

    fresh = Assistant(settings, embedder=embedder, auto_ingest=False)
    with pytest.raises(StoreError) as err:
        fresh.ingest(progress=False)
    msg = str(err.value)
    assert "records database" in msg and "damaged" in msg and "assistant ingest --rebuild" in msg
    assert "The vector store failed" not in msg

    with caplog.at_level("WARNING"):  # ask/serve start: the refresh fails, the store still answers
        started = Assistant(settings, embedder=embedder)
    assert isinstance(started.refresh_error, StoreError)
    assert any("Answering from" in r.getMessage() for r in caplog.records)
    _answers(started)

    report = fresh.ingestor.rebuild(progress=False)
    assert report.added == n
    assert list(settings.data_dir.glob("records.sqlite.broken-*")), "the damaged file is kept, set aside"
    assert fresh.ingest(progress=False).skipped == n


def test_cli_rebuild_sets_an_unopenable_store_aside(tmp_path, knowledge, embedder):
    settings = Settings(data_dir=tmp_path / "data", knowledge_dir=knowledge)
    bot = Assistant(settings, embedder=embedder)
    n = bot.store.count()
    bot.store.close()
    db = settings.chroma_path / "chroma.sqlite3"
    with open(db, "r+b") as f:
        f.truncate(db.stat().st_size // 3)
    with pytest.raises(StoreError) as err:
        Assistant(settings, embedder=embedder)
    assert "Cannot open the vector store" in str(err.value) and "assistant ingest --rebuild" in str(err.value)
    out = subprocess.run([sys.executable, "-m", "assistant.cli", "ingest", "--rebuild", "--json", "--quiet"],
                         capture_output=True, text=True, env=_env(settings.data_dir, knowledge), timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["added"] == n
    assert "set aside" in out.stderr
    assert list(settings.data_dir.glob("chroma.broken-*"))
    _answers(Assistant(settings, embedder=embedder))


STOPPED_START = r"""
import signal, sys, time
from pathlib import Path
from assistant import Assistant, Settings
from assistant.index.embedder import Embedder


class Paced(Embedder):
    # the real model, announcing each batch and pausing after it, so the Ctrl-C below lands mid-ingest
    # however fast or busy the machine is
    def encode_passages(self, texts, spans):
        out = super().encode_passages(texts, spans)
        print("BATCH", flush=True)
        time.sleep(1.0)
        return out


# Ctrl-C as in a terminal, even when the test runner was started in the background (which ignores SIGINT)
signal.signal(signal.SIGINT, signal.default_int_handler)
print("READY", flush=True)
Assistant(Settings(data_dir=Path(sys.argv[1]), knowledge_dir=Path(sys.argv[2]), ingest_batch=32), embedder=Paced())
print("DONE", flush=True)
"""


def _expected_ids(knowledge: Path) -> set[str]:
    ids: set[str] = set()
    for f in discover([knowledge]):
        doc = load_source(f, knowledge)
        ids.update(p.id for p in split_passages(doc.text, doc.path, doc.title, body_start=doc.body_start))
    return ids


def test_an_interrupted_first_ingest_is_finished_on_the_next_start(tmp_path, embedder):
    knowledge = tmp_path / "knowledge"
    generate(knowledge, 120, seed=11)
    expected = _expected_ids(knowledge)
    data = tmp_path / "data"
    # `serve`'s first start, stopped with Ctrl-C once some passages are in the store
    proc = subprocess.Popen([sys.executable, "-c", STOPPED_START, str(data), str(knowledge)], stdout=subprocess.PIPE,
                            text=True, cwd=ROOT)
    assert proc.stdout.readline().strip() == "READY"
    batches = 0
    while batches < 2:  # the first batch is written once the second is embedded; stop during that pause
        line = proc.stdout.readline()
        if not line:
            break
        batches += line.strip() == "BATCH"
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    assert "DONE" not in proc.stdout.read(), "the ingest finished before it could be stopped"

    settings = Settings(data_dir=data, knowledge_dir=knowledge)
    bot = Assistant(settings, embedder=embedder)  # the next start
    ids = bot.store.ids()
    assert len(ids) == len(expected)
    assert not (settings.sources_dir / "ingest-incomplete.json").exists()
    assert not bot.ingestor.knowledge_changed()
    again = bot.ingest(progress=False)
    assert (again.added, again.removed) == (0, 0)


HOLD_LOCK = r"""
import sys, time
from pathlib import Path
from ingest.lock import writer_lock
with writer_lock(Path(sys.argv[1])):
    print("HELD", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def test_one_writer_at_a_time_with_a_clear_message(tmp_path, knowledge, embedder, caplog):
    settings = Settings(data_dir=tmp_path / "data", knowledge_dir=knowledge)
    bot = Assistant(settings, embedder=embedder)
    n = bot.store.count()
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(settings.ingest_lock), "60"],
                              stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert holder.stdout.readline().strip() == "HELD"
        (knowledge / "bees.md").write_text(MARKDOWN, encoding="utf-8")
        t0 = time.monotonic()
        with pytest.raises(StoreBusy) as err:
            bot.ingest(progress=False)
        assert time.monotonic() - t0 < 5, "the second writer is told at once, not left waiting"
        assert f"pid {holder.pid}" in str(err.value) and "Another process is indexing" in str(err.value)
        assert err.value.exit_code == 3
        with caplog.at_level("WARNING"):  # a start meanwhile answers from the store as it is
            started = Assistant(settings, embedder=embedder)
        assert isinstance(started.refresh_error, StoreBusy) and started.store.count() == n
        _answers(started)
    finally:
        holder.kill()
        holder.wait()
    assert bot.ingest(progress=False).added > 0  # the kernel released the lock of the killed holder
    _answers(bot, BEES, "October")


def test_a_running_app_answers_from_another_process_ingest(tmp_path, knowledge, embedder):
    """`serve` (its web API, in this process) keeps answering while a CLI `ingest` adds a document."""
    from _webapp_fixtures import running_chat

    settings = Settings(data_dir=tmp_path / "data", knowledge_dir=knowledge)
    bot = Assistant(settings, embedder=embedder)
    with running_chat(bot) as chat:
        client = chat.client()
        assert "2,000" in client.predict(QUESTION, [], api_name="/ask")["text"]
        (knowledge / "bees.md").write_text(MARKDOWN, encoding="utf-8")
        out = subprocess.run([sys.executable, "-m", "assistant.cli", "ingest", "--quiet"], capture_output=True,
                             text=True, env=_env(settings.data_dir, knowledge), timeout=300, cwd=ROOT)
        assert out.returncode == 0, out.stderr
        assert "1 updated" in out.stdout or "passage added" in out.stdout or "passages added" in out.stdout
        time.sleep(bot.retriever.refresh_seconds + 0.2)
        got = client.predict(BEES, [], api_name="/ask")
        assert got["answered"] and "October" in got["text"], got
        assert got["citations"][0]["path"] == "bees.md"
        assert "2,000" in client.predict(QUESTION, [], api_name="/ask")["text"]
