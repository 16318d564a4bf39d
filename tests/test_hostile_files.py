"""Hostile inputs (issue 14): special files and links in the knowledge folder, bad sidecars, huge files,
a 20 MB line with no sentence end, and a question that is not valid text.

Each case is skipped or refused by name, fast, and nothing else is lost.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from assistant import Assistant, DocumentError, InvalidQuestion, Settings
from assistant.types import MAX_CONTEXT_CHARS, MAX_QUOTE_CHARS
from ingest import load_source, split_passages
from ingest.splitter import MAX_CHARS, _breaks, windowed_breaks
from tests._docs import MARKDOWN
from tests._store import all_passages

ROOT = Path(__file__).resolve().parents[1]
ARTICLE = ROOT / "knowledge" / "japan-russia-ukraine-policy.txt"


def _within(seconds: float, fn):
    """``fn()`` on a thread; fail (instead of hanging the suite) if it has not returned after ``seconds``."""
    out: dict = {}

    def run() -> None:
        try:
            out["value"] = fn()
        except BaseException as exc:  # handed to the test
            out["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), f"still running after {seconds} s (blocked on a special file?)"
    if "error" in out:
        raise out["error"]
    return out["value"]


def _refusal(path: Path, knowledge: Path) -> str:
    try:
        load_source(path, knowledge)
    except DocumentError as exc:
        return str(exc)
    return "loaded"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_special_files_and_links_are_skipped_with_a_reason(tmp_path, embedder):
    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    (knowledge / "good.md").write_text(MARKDOWN, encoding="utf-8")
    (knowledge / "zero.txt").symlink_to("/dev/zero")
    os.mkfifo(tmp_path / "pipe")
    (knowledge / "pipe-link.md").symlink_to(tmp_path / "pipe")
    os.mkfifo(knowledge / "fifo.txt")
    (knowledge / "loop.md").symlink_to(knowledge / "loop.md")
    (knowledge / "folder-link.md").symlink_to(tmp_path)
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(knowledge / "sock.txt"))
    (knowledge / "big.txt").write_text("word " * 300_000, encoding="utf-8")  # 1.4 MB over a 1 MB limit
    # a sidecar that is not JSON costs its title only, not the document
    (knowledge / "kelp.md").write_text("# Kelp\n\nKelp farms in Hokkaido produce kombu for dashi stock.\n", "utf-8")
    (knowledge / "kelp.md.meta.json").write_text("{not json", encoding="utf-8")
    # and a sidecar that is a FIFO must not block either
    (knowledge / "good.md.meta.json").symlink_to(tmp_path / "pipe")
    settings = Settings(data_dir=tmp_path / "data", knowledge_dir=knowledge, max_file_mb=1)
    bot = Assistant(settings, embedder=embedder, auto_ingest=False)
    try:
        for name in ("zero.txt", "pipe-link.md", "fifo.txt", "loop.md", "sock.txt"):
            t0 = time.monotonic()
            assert "skipped" in _within(10, lambda name=name: _refusal(knowledge / name, knowledge))
            assert time.monotonic() - t0 < 1.0, f"{name}: refused without reading it, within a second"
        report = _within(120, lambda: bot.ingest(progress=False))
    finally:
        sock.close()
    reasons = {Path(f).name: r for f, r in report.errors}
    assert set(reasons) == {"zero.txt", "pipe-link.md", "fifo.txt", "loop.md", "folder-link.md", "sock.txt",
                            "big.txt"}
    assert "character device" in reasons["zero.txt"]
    assert "FIFO" in reasons["pipe-link.md"] and "FIFO" in reasons["fifo.txt"]
    assert "symbolic link loop" in reasons["loop.md"] and "permissions" not in reasons["loop.md"]
    assert "folder" in reasons["folder-link.md"]
    assert "socket" in reasons["sock.txt"]
    assert "too large" in reasons["big.txt"] and "ASSISTANT_MAX_FILE_MB" in reasons["big.txt"]
    sources = {r["source"]: r for r in all_passages(bot)}
    assert set(sources) == {"good.md", "kelp.md"}
    assert sources["kelp.md"]["title"] == "Kelp"  # from its heading, since the sidecar is broken
    ans = bot.ask("Where is kombu produced?")
    assert ans.answered and "Hokkaido" in ans.text


def test_a_20_mb_line_without_sentence_ends_gives_bounded_passages_quickly():
    words = ("japan ukraine sanctions policy energy aid refugees minister tokyo kyiv support " * 240_000)[:20_000_000]
    t0 = time.monotonic()
    passages = split_passages(words, "dump.txt", "Dump")
    seconds = time.monotonic() - t0
    assert seconds < 15, f"{seconds:.1f} s"
    assert len(passages) >= len(words) // MAX_CHARS
    assert max(p.end - p.start for p in passages) <= MAX_CHARS
    assert all(words[p.start : p.end] == p.text for p in passages[:50])
    assert all(e - s <= MAX_CHARS for p in passages[:50] for s, e in p.sentences)
    # a line with no space at all is cut hard at the limit
    blob = "x" * 5000
    assert [p.end - p.start for p in split_passages(blob, "b.txt", "B")] == [900] * 5 + [500]


def test_long_lines_of_ordinary_text_break_as_before():
    text = ARTICLE.read_text(encoding="utf-8").replace("\n", " ") * 8  # ~50k characters on one line
    assert len(text) > 2 * 20_000
    assert windowed_breaks(text) == _breaks(text)


def test_answers_quote_a_bounded_span_of_an_unbroken_line(tmp_path, embedder):
    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    filler = "the committee reviewed agricultural tariffs and shipping schedules without any conclusion "
    line = filler * 200 + "the kelp harvest in Hokkaido doubled " + filler * 200  # ~36 KB, no sentence end
    (knowledge / "dump.txt").write_text(line, encoding="utf-8")
    bot = Assistant(Settings(data_dir=tmp_path / "data", knowledge_dir=knowledge), embedder=embedder)
    for question in ("What did the committee review?", "Where did the kelp harvest double?"):
        ans = bot.ask(question)
        assert ans.answered and ans.citations, (question, ans.text)
        assert len(json.dumps(ans.to_dict())) < 4 * (MAX_QUOTE_CHARS + MAX_CONTEXT_CHARS)
        for c in ans.citations:
            assert len(c.quote) <= MAX_CHARS and len(c.passage) <= MAX_CONTEXT_CHARS
            assert bot.source_text(c.path)[c.start : c.end] == c.quote


@pytest.mark.parametrize("question", ["\ud800", "How many Ukrainians \udcff has Japan taken in?"])
def test_a_lone_surrogate_is_rejected_as_invalid_text(question, bot):
    with pytest.raises(InvalidQuestion) as err:
        bot.ask(question)
    assert "invalid text" in str(err.value)
    assert err.value.exit_code == 2


def test_cli_rejects_a_question_that_is_not_text(tmp_path):
    # an argument that is not UTF-8 reaches Python as a lone surrogate
    out = subprocess.run([sys.executable, "-m", "assistant.cli", "ask", os.fsencode("Japan \udcff?")],
                         capture_output=True, env={**os.environ, "ASSISTANT_DATA_DIR": str(tmp_path)}, timeout=120,
                         cwd=ROOT)
    assert out.returncode == 2, out.stderr
    assert b"invalid text" in out.stderr and b"Traceback" not in out.stderr


def test_web_api_rejects_a_lone_surrogate_with_a_clear_error(bot):
    """Sent as JSON's "\\ud800" escape (gradio_client cannot even encode it): the same error event as an empty question."""
    import urllib.request

    from _webapp_fixtures import running_chat

    def call(body: bytes) -> str:
        req = urllib.request.Request(f"{chat.url}/gradio_api/call/ask", data=body,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as r:
            event = json.loads(r.read())["event_id"]
        with urllib.request.urlopen(f"{chat.url}/gradio_api/call/ask/{event}", timeout=60) as r:
            return r.read().decode()

    with running_chat(bot) as chat:
        got = call(b'{"data": ["\\ud800", [], null]}')  # question, history, documents (null: all)
        assert got.startswith("event: error")
        error = json.loads(got.split("data:", 1)[1])
        assert error["title"] == "InvalidQuestion" and "invalid text" in error["error"]
        assert "event: complete" in call(b'{"data": ["How many Ukrainians has Japan taken in?", [], null]}')


def _web_error(url: str, body: bytes) -> dict:
    """``/ask`` called over plain HTTP (gradio_client cannot send a lone surrogate): its error event's data."""
    import urllib.request

    req = urllib.request.Request(f"{url}/gradio_api/call/ask", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        event = json.loads(r.read())["event_id"]
    with urllib.request.urlopen(f"{url}/gradio_api/call/ask/{event}", timeout=120) as r:
        got = r.read().decode()
    assert got.startswith("event: error"), got[:300]
    return json.loads(got.split("data:", 1)[1])


def test_web_api_names_bad_history_instead_of_failing_silently(bot):
    """Issue 22: a lone surrogate inside the history gave ``{"error": null}`` (a TypeError in the tokenizer);
    a 1.2 MB history message cost 38 s of CPU. Both are now an InvalidQuestion that says what to do."""
    from _webapp_fixtures import running_chat

    question = "Who announced it?"
    # json.dumps writes the lone surrogate as the escape "\\ud800", as a program's JSON would
    surrogate = json.dumps({"data": [question, [{"role": "user", "content": "How much \ud800 aid?"},
                                                {"role": "assistant", "content": "$5.5 billion."}], None]})
    huge = json.dumps({"data": [question, [{"role": "user", "content": "Japan aid. " * 110_000},
                                           {"role": "assistant", "content": "Noted."}], None]})
    with running_chat(bot) as chat:
        error = _web_error(chat.url, surrogate.encode())
        assert error["title"] == "InvalidQuestion", error
        assert "Message 1 of the history contains invalid text" in error["error"]
        error = _web_error(chat.url, huge.encode())
        assert error["title"] == "InvalidQuestion", error
        assert "latest turn is 1,210,006 characters long" in error["error"] and "new conversation" in error["error"]
