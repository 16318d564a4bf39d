"""Chroma server mode: the same assistant against a real ``chroma run`` server.

The fixture starts ``chroma run --path TMP --host 127.0.0.1 --port FREE`` itself
(the ``chroma`` CLI installed with chromadb, next to this interpreter) and stops it
in teardown, so CI needs no separate service. Faults are real too: the server
process is killed and restarted on the same port and folder.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from langchain_core.embeddings import Embeddings

from assistant import Assistant, Settings, StoreError
from evals.corpus import generate
from ingest import load_source, split_passages
from ingest.loaders import discover
from tests._store import all_passages, assert_sentence_vectors

pytestmark = pytest.mark.server

ROOT = Path(__file__).resolve().parents[1]
KNOWLEDGE = ROOT / "knowledge"
QUESTION = "How many Ukrainians has Japan taken in?"


def _chroma_cli() -> str:
    found = Path(sys.executable).with_name("chroma")
    return str(found) if found.exists() else (shutil.which("chroma") or "chroma")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ChromaServer:
    """One real Chroma server process on a fixed port and data folder (restartable)."""

    def __init__(self, path: Path, port: int, log: Path) -> None:
        self.path, self.port, self.log = path, port, log
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [_chroma_cli(), "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)],
                stdout=log, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chroma run exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"chroma run did not answer on {self.url}: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        self.proc = None

    def restart(self) -> None:
        self.kill()
        self.start()


@pytest.fixture
def chroma_server(tmp_path):
    """A Chroma server for one test (faults kill it, so it is not shared)."""
    server = ChromaServer(tmp_path / "chroma-server", free_port(), tmp_path / "chroma.log")
    server.start()
    yield server
    server.kill()


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory):
    """A Chroma server the read-only tests of this module share."""
    tmp = tmp_path_factory.mktemp("chroma")
    server = ChromaServer(tmp / "data", free_port(), tmp / "chroma.log")
    server.start()
    yield server
    server.kill()


def _server_bot(url: str, data_dir: Path, embedder, knowledge: Path = KNOWLEDGE, collection: str | None = None,
                ingest_batch: int = 256, **kwargs) -> Assistant:
    settings = Settings(data_dir=data_dir, knowledge_dir=knowledge, chroma_url=url,
                        collection=collection or f"t{uuid.uuid4().hex[:10]}", ingest_batch=ingest_batch)
    return Assistant(settings, embedder=embedder, **kwargs)


def _assert_cited(bot: Assistant, ans) -> None:
    assert ans.answered, ans.text
    assert ans.citations
    for c in ans.citations:
        assert bot.source_text(c.path)[c.start : c.end] == c.quote
        assert c.quote in c.passage


def test_ingest_and_answer_against_a_chroma_server(shared_server, tmp_path, embedder):
    bot = _server_bot(shared_server.url, tmp_path / "app", embedder, collection="served")
    ans = bot.ask(QUESTION)
    _assert_cited(bot, ans)
    assert "2,000" in ans.text
    # the vectors live in the server, not in the app's data folder
    assert not (tmp_path / "app" / "chroma").exists()
    import chromadb

    client = chromadb.HttpClient(host="127.0.0.1", port=shared_server.port)
    names = {c.name for c in client.list_collections()}
    assert "served_passages" in names and "served_sentences" not in names
    assert client.get_collection("served_passages").count() == bot.store.count() > 10


def test_a_second_process_shares_the_store_without_ingesting(shared_server, tmp_path, embedder):
    first = _server_bot(shared_server.url, tmp_path / "a", embedder, collection="sharedstore")
    n = first.store.count()
    # another app process: its own data folder, nothing ingested there, same server and collection
    code = (
        "import json,sys; from assistant import Assistant, Settings\n"
        f"bot = Assistant(Settings(data_dir=sys.argv[1], chroma_url={shared_server.url!r}, "
        "collection='sharedstore'), auto_ingest=False)\n"
        f"a = bot.ask({QUESTION!r}); print(json.dumps([a.answered, bot.store.count(), "
        "[c.passage_id for c in a.citations]]))"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "b")], capture_output=True, text=True,
                          timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    import json

    answered, count, cited = json.loads(proc.stdout.strip().splitlines()[-1])
    assert answered and count == n
    assert cited == [c.passage_id for c in first.ask(QUESTION).citations]


def test_server_down_at_start_is_a_clear_store_error(tmp_path, embedder):
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(StoreError) as err:
        _server_bot(url, tmp_path / "app", embedder)
    msg = str(err.value)
    assert url in msg and "chroma run" in msg
    assert err.value.exit_code == 3


def test_cli_reports_a_down_server_with_exit_code_3(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    proc = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "ask", QUESTION, "--chroma-url", url, "--data-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )
    assert proc.returncode == 3
    assert "Cannot reach the Chroma server" in proc.stderr and url in proc.stderr


def test_server_killed_mid_session_then_recovers(chroma_server, tmp_path, embedder):
    bot = _server_bot(chroma_server.url, tmp_path / "app", embedder)
    before = bot.ask(QUESTION)
    _assert_cited(bot, before)

    chroma_server.kill()
    with pytest.raises(StoreError) as err:
        bot.ask("Which Russian companies were banned from importing dual-use goods?")
    assert "Lost the connection to the Chroma server" in str(err.value)

    chroma_server.start()  # same port, same folder
    after = bot.ask(QUESTION)  # the same Assistant object: no restart of the app
    _assert_cited(bot, after)
    assert [c.passage_id for c in after.citations] == [c.passage_id for c in before.citations]
    assert bot.ask("Which Russian companies were banned from importing dual-use goods?").citations


class KillingEmbedder(Embeddings):
    """The real model; kills the Chroma server when the ``kill_at``-th document batch is embedded.

    The batch's vectors are still returned, so the write that follows hits a dead
    server: a crash in the middle of an ingest, at a known point.
    """

    def __init__(self, inner, server: ChromaServer, kill_at: int) -> None:
        self.inner, self.server, self.kill_at = inner, server, kill_at
        self.batches = 0

    @property
    def dimension(self):
        return self.inner.dimension

    def encode_passages(self, texts, spans):
        self.batches += 1
        vectors = self.inner.encode_passages(texts, spans)
        if self.batches == self.kill_at:
            self.server.kill()
        return vectors

    def embed_documents(self, texts):
        return self.inner.embed_documents(texts)

    def embed_query(self, text):
        return self.inner.embed_query(text)

    def embed_query_vector(self, text):
        return self.inner.embed_query_vector(text)


def _expected(knowledge: Path) -> tuple[set[str], int]:
    ids: set[str] = set()
    sentences = 0
    for f in discover([knowledge]):
        doc = load_source(f, knowledge)
        for p in split_passages(doc.text, doc.path, doc.title, body_start=doc.body_start):
            ids.add(p.id)
            sentences += len(p.sentences)
    return ids, sentences


@pytest.mark.slow
def test_ingest_into_a_server_that_dies_half_way_converges_without_duplicates(chroma_server, tmp_path, embedder):
    knowledge = tmp_path / "knowledge"
    generate(knowledge, 300, seed=7)  # ~320 passages: two write batches of 256
    expected_ids, _ = _expected(knowledge)
    collection = "crash"

    killer = KillingEmbedder(embedder, chroma_server, kill_at=2)
    bot = _server_bot(chroma_server.url, tmp_path / "app", killer, knowledge, collection, auto_ingest=False)
    with pytest.raises(StoreError) as err:
        bot.ingest(progress=False)
    assert "Lost the connection to the Chroma server" in str(err.value)

    chroma_server.start()
    partial = bot.store.count()
    assert 0 < partial < len(expected_ids)  # the first batch landed, the rest did not

    bot2 = _server_bot(chroma_server.url, tmp_path / "app", embedder, knowledge, collection, auto_ingest=False)
    report = bot2.ingest(progress=False)
    assert report.added == len(expected_ids) - partial  # only what was missing is embedded
    pids = [p["passage_id"] for p in all_passages(bot2)]
    assert len(pids) == len(set(pids)) == len(expected_ids)
    assert set(pids) == expected_ids
    assert_sentence_vectors(bot2)

    again = bot2.ingest(progress=False)  # converged: nothing left to do
    assert (again.added, again.updated, again.removed) == (0, 0, 0)
    _assert_cited(bot2, bot2.ask(QUESTION))


def test_a_server_restarted_empty_is_detected_and_refilled(chroma_server, tmp_path, embedder):
    """Issue 14: the records still list every passage; the store must be re-filled, not trusted."""
    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    shutil.copy(KNOWLEDGE / "japan-russia-ukraine-policy.txt", knowledge)
    bot = _server_bot(chroma_server.url, tmp_path / "app", embedder, knowledge, "refill")
    n = bot.store.count()
    _assert_cited(bot, bot.ask(QUESTION))

    def restart_empty() -> None:
        chroma_server.kill()
        shutil.rmtree(chroma_server.path)
        chroma_server.start()

    restart_empty()
    assert not bot.ask(QUESTION).answered  # the running app: no crash, an empty store refuses
    started = _server_bot(chroma_server.url, tmp_path / "app", embedder, knowledge, "refill")  # on start
    assert started.store.count() == n
    _assert_cited(started, started.ask(QUESTION))

    restart_empty()
    report = bot.ingest(progress=False)  # on `assistant ingest`
    assert report.added == n and "re-filling" in report.notices[0]
    _assert_cited(bot, bot.ask(QUESTION))
