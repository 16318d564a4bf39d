"""The `assistant` command: answers, JSON output, clear errors and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(args: list[str], env_extra: dict | None = None, stdin: str | None = None, timeout: int = 300):
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "assistant.cli", *args], capture_output=True, text=True,
                          env=env, input=stdin, timeout=timeout, cwd=ROOT)


@pytest.fixture(scope="module")
def store_env(tmp_path_factory, bot):
    """Env vars pointing at the session bot's (already ingested) store."""
    return {"ASSISTANT_DATA_DIR": str(bot.settings.data_dir), "ASSISTANT_KNOWLEDGE_DIR": str(bot.settings.knowledge_dir)}


def test_ask_json_has_the_api_fields(store_env, bot):
    out = run(["ask", "How many Ukrainians has Japan taken in?", "--json"], store_env)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["answered"] is True and "2,000" in data["text"]
    c = data["citations"][0]
    for key in ("source", "path", "passage_id", "quote", "start", "end", "score"):
        assert key in c
    assert bot.source_text(c["path"])[c["start"] : c["end"]] == c["quote"]


def test_ask_plain_text_refusal(store_env):
    out = run(["ask", "What is the population of Brazil?"], store_env)
    assert out.returncode == 0
    assert out.stdout.startswith("The sources don't cover")


@pytest.mark.parametrize("question", ["", "   ", "q" * 2001])
def test_bad_questions_exit_2_with_a_clear_message(question, store_env):
    out = run(["ask", question], store_env, timeout=60)
    assert out.returncode == 2
    assert out.stderr.startswith("error: ")
    assert "empty" in out.stderr or "limit is 2,000" in out.stderr
    assert "Traceback" not in out.stderr


def test_damaged_store_exits_3_and_is_left_alone(tmp_path):
    data = tmp_path / "data"
    (data / "chroma").mkdir(parents=True)
    garbage = os.urandom(4096)
    (data / "chroma" / "chroma.sqlite3").write_bytes(garbage)
    out = run(["ask", "How many Ukrainians has Japan taken in?"], {"ASSISTANT_DATA_DIR": str(data)})
    assert out.returncode == 3, out.stderr
    assert "Cannot open the vector store" in out.stderr and "assistant ingest" in out.stderr
    assert "Traceback" not in out.stderr
    assert (data / "chroma" / "chroma.sqlite3").read_bytes() == garbage, "never overwrite a store we cannot read"


def test_unreachable_chroma_server_exits_3(tmp_path):
    out = run(["ask", "How many Ukrainians?", "--chroma-url", "http://127.0.0.1:9"], {"ASSISTANT_DATA_DIR": str(tmp_path)})
    assert out.returncode == 3
    assert "Cannot reach the Chroma server" in out.stderr


def test_chat_multi_turn_with_follow_up(store_env):
    script = "How much financial aid did Japan announce in February?\nWho announced it?\n/new\n\n/quit\n"
    out = run(["chat"], store_env, stdin=script)
    assert out.returncode == 0, out.stderr
    assert "$5.5 billion" in out.stdout
    replies = out.stdout.split("you> ")
    assert "Kishida" in replies[2]
    assert "(new conversation)" in out.stdout
    assert "error: The question is empty." in out.stdout
