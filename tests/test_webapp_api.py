"""The web chat driven end-to-end over HTTP with gradio_client: ask, follow-up, refusal, uploads, errors.

A real Gradio server (in-process, free loopback port) over a real Assistant; the
citations the API returns are checked against the source text they point into.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest
from _webapp_fixtures import free_port, running_chat

from assistant import Answer, Citation, Settings
from assistant.types import Answer as AnswerType

Q_REFUGEES = "How many Ukrainians has Japan taken in?"
Q_AID = "How much financial aid did Japan announce in February?"
ANSWER_FIELDS = set(AnswerType.__dataclass_fields__)
CITATION_FIELDS = {"source", "path", "passage_id", "quote", "start", "end", "score"}


@pytest.fixture(scope="module")
def chat_server(bot):
    """The web chat over the shared read-only ``bot`` (no uploads on this one)."""
    with running_chat(bot) as server:
        yield server


def content(message: dict) -> str:
    """A chat message's text: Gradio 6 sends content as a list of typed parts."""
    parts = message["content"]
    if isinstance(parts, str):
        return parts
    return "".join(p.get("text", "") for p in parts if isinstance(p, dict))


def check_citations(bot, answer: dict) -> None:
    """Every citation quotes its source verbatim at the offsets it claims, inside its passage."""
    assert answer["citations"], answer
    for c in answer["citations"]:
        assert CITATION_FIELDS <= set(c)
        assert f"[{c['n']}]" in answer["text"]
        text = bot.source_text(c["path"])
        assert text[c["start"]:c["end"]] == c["quote"]
        assert c["passage"][c["start"] - c["passage_start"]:c["end"] - c["passage_start"]] == c["quote"]


# -- /ask, the API for programs
def test_ask_returns_the_python_api_answer_with_verifiable_citations(chat_server, bot):
    client = chat_server.client()
    got = client.predict(Q_REFUGEES, [], api_name="/ask")
    assert set(got) == ANSWER_FIELDS
    assert got["answered"] is True
    assert "2,000" in got["text"]
    check_citations(bot, got)
    # the UI adds nothing of its own: same answer as the Python API (timings aside)
    expected = bot.ask(Q_REFUGEES).to_dict()
    for d in (got, expected):
        d.pop("timings_ms")
    assert got == expected


def test_ask_follow_up_uses_history(chat_server, bot):
    client = chat_server.client()
    first = client.predict(Q_AID, [], api_name="/ask")
    assert "$5.5 billion" in first["text"]
    history = [{"role": "user", "content": Q_AID}, {"role": "assistant", "content": first["text"]}]
    follow = client.predict("Who announced it?", history, api_name="/ask")
    assert follow["answered"] is True
    assert "Kishida" in follow["text"]
    assert follow["standalone_question"] != "Who announced it?"
    check_citations(bot, follow)


def test_ask_refuses_when_the_sources_do_not_answer(chat_server):
    got = chat_server.client().predict("What is the capital of Australia?", None, api_name="/ask")
    assert got["answered"] is False
    assert got["citations"] == []
    assert "sources don't cover" in got["text"]


@pytest.mark.parametrize(
    ("question", "history", "message"),
    [
        ("", [], "The question is empty"),
        ("x" * 2001, [], "the limit is 2,000"),
        (Q_REFUGEES, "not a list", "history must be a list"),
        (Q_REFUGEES, [{"role": "robot", "content": "hi"}], "history must be a list"),
    ],
)
def test_ask_bad_input_is_a_clear_error(chat_server, question, history, message):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError) as err:
        chat_server.client().predict(question, history, api_name="/ask")
    assert message in str(err.value)
    assert "Traceback" not in str(err.value)


# -- the chat event the page uses: streaming, multi-turn, sources panel
def test_chat_streams_and_keeps_the_conversation(chat_server, bot):
    client = chat_server.client()
    job = client.submit(Q_AID, api_name="/chat")
    frames = list(job)  # every yielded frame
    box, messages, sources = job.result()[:3]
    assert box == ""
    assert len(frames) > 5, "the answer should arrive in pieces, not in one frame"
    partial = [content(f[1][-1]) for f in frames if isinstance(f[1], list) and f[1]]
    assert sum(p.endswith("▌") for p in partial) > 5
    ans = bot.ask(Q_AID)
    assert 'href="#cite-1-1"' in content(messages[-1])
    # the sources panel shows the quote highlighted inside its passage, and where it is
    c = ans.citations[0]
    assert f'<mark class="quote">{c.quote}</mark>' in sources
    assert f"passage {c.passage_id}" in sources and f"characters {c.start}–{c.end}" in sources

    # same session: a follow-up is resolved from the conversation
    box, messages, sources = client.predict("Who announced it?", api_name="/chat")[:3]
    assert len(messages) == 4
    assert "Kishida" in content(messages[-1])
    assert 'id="turn-2"' in sources and 'id="turn-1"' in sources

    # a refusal looks different and gets no citation cards
    box, messages, sources = client.predict("What did Brazil do about the war?", api_name="/chat")[:3]
    assert 'class="refusal"' in content(messages[-1])
    turn3 = sources.split('id="turn-3"')[1].split("</section>")[0]
    assert "details" not in turn3 and "Not in the sources" in turn3


def test_chat_errors_are_friendly_messages(chat_server):
    box, messages, _sources = chat_server.client().predict("y" * 2500, api_name="/chat")[:3]
    last = content(messages[-1])
    assert 'class="chat-error"' in last and "the limit is 2,000" in last
    assert "Traceback" not in last


# -- uploads: a separate server with its own data folder, since they change the store
@pytest.fixture(scope="module")
def upload_server(embedder, tmp_path_factory, knowledge_copy):
    from assistant import Assistant

    data = tmp_path_factory.mktemp("upload-data")
    bot = Assistant(Settings(data_dir=data, knowledge_dir=knowledge_copy), embedder=embedder)
    with running_chat(bot, max_upload_bytes=64 * 1024) as server:
        yield server


ZORBLAX = (
    "# The Zorblax accord\n\n"
    "The Zorblax accord was signed in Reykjavik on March 3, 2031 by foreign minister Quentin Vale. "
    "It commits both parties to share lighthouse maintenance costs equally.\n"
)


def test_upload_is_ingested_and_searchable(upload_server, tmp_path):
    from gradio_client import handle_file

    src = tmp_path / "zorblax-accord.md"
    src.write_text(ZORBLAX, encoding="utf-8")
    client = upload_server.client()
    before = client.predict("Who signed the Zorblax accord?", [], api_name="/ask")
    assert before["answered"] is False

    status, _file, library = client.predict(handle_file(src), api_name="/upload")
    assert status.startswith("**Added**") and "zorblax-accord.md" in status
    assert "The Zorblax accord" in library
    stored = upload_server.ui.uploads_dir / "zorblax-accord.md"
    assert stored.read_text(encoding="utf-8") == ZORBLAX

    after = client.predict("Who signed the Zorblax accord?", [], api_name="/ask")
    assert after["answered"] is True and "Quentin Vale" in after["text"]
    check_citations(upload_server.ui.bot, after)
    assert Path(after["citations"][0]["path"]).resolve() == stored.resolve()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.txt", b"", "the file is empty"),
        ("broken.pdf", b"this is not a pdf at all", "not a PDF"),
    ],
)
def test_upload_rejects_bad_files_with_a_clear_message(upload_server, tmp_path, name, content, message):
    from gradio_client import handle_file

    src = tmp_path / name
    src.write_bytes(content)
    status = upload_server.client().predict(handle_file(src), api_name="/upload")[0]
    assert status.startswith("**Not added.**") and message in status
    assert not (upload_server.ui.uploads_dir / name).exists()


def test_upload_of_an_unsupported_type_is_refused(upload_server, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    src = tmp_path / "notes.csv"
    src.write_text("a,b\n1,2\n")
    with pytest.raises(AppError, match=r"Invalid file type.*\.md.*\.pdf"):
        upload_server.client().predict(handle_file(src), api_name="/upload")
    assert not (upload_server.ui.uploads_dir / "notes.csv").exists()


def test_upload_over_the_size_limit_is_refused(upload_server, tmp_path):
    from gradio_client import handle_file

    src = tmp_path / "big.txt"
    src.write_text("Japan. " * 20_000)  # 140 KB > the 64 KB limit of this server
    with pytest.raises(Exception, match="(?i)size|large"):
        upload_server.client().predict(handle_file(src), api_name="/upload")
    assert not (upload_server.ui.uploads_dir / "big.txt").exists()


def _call_raw(url: str, api_name: str, data: list) -> str:
    """The plain HTTP API (what curl would send): the reply's event stream as text."""
    req = urllib.request.Request(f"{url}/gradio_api/call/{api_name}", data=json.dumps({"data": data}).encode(),
                                 headers={"Content-Type": "application/json"})
    event_id = json.load(urllib.request.urlopen(req, timeout=10))["event_id"]
    return urllib.request.urlopen(f"{url}/gradio_api/call/{api_name}/{event_id}", timeout=30).read().decode()


def test_nothing_outside_the_data_folder_is_readable(upload_server, tmp_path):
    # a caller naming a server-side file instead of uploading one: refused, nothing copied or indexed
    secret = tmp_path / "secret-plans.txt"
    secret.write_text("The secret plan is to paint every lighthouse purple by 2040.")
    knowledge_file = next(Path(upload_server.ui.bot.settings.knowledge_dir).glob("*.txt"))
    for target in (secret, knowledge_file):
        reply = _call_raw(upload_server.url, "upload",
                          [{"path": str(target), "meta": {"_type": "gradio.FileData"}, "orig_name": target.name}])
        assert reply.startswith("event: error"), reply
        assert not (upload_server.ui.uploads_dir / target.name).exists()
    answer = upload_server.client().predict("What is the secret plan for the lighthouses?", [], api_name="/ask")
    assert "purple" not in answer["text"]
    # and the file route serves neither system files nor the knowledge or data folders
    for target in ("/etc/passwd", str(knowledge_file.resolve()), str(upload_server.ui.bot.settings.sources_dir),
                   str(secret)):
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"{upload_server.url}/gradio_api/file={target}", timeout=10)
        assert err.value.code in (403, 404)


# -- rendering and helpers (no server)
def _citation(**kw) -> Citation:
    base = dict(n=1, source="T", path="p.txt", passage_id="pid", quote="B", start=12, end=13, score=0.5,
                passage="A <b>x</b> B C", passage_start=2, passage_end=16)
    return Citation(**{**base, **kw})


def test_rendering_escapes_document_text_and_highlights_the_quote():
    from assistant.webapp import highlight_passage, render_answer, render_sources

    c = _citation()
    assert highlight_passage(c) == 'A &lt;b&gt;x&lt;/b&gt; <mark class="quote">B</mark> C'
    ans = Answer(text="<script>alert(1)</script> B [1] [7]", answered=True, citations=[c])
    html = render_answer(3, ans)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '<a class="cite" href="#cite-3-1"' in html and "[7]</a>" not in html  # only real citations link
    panel = render_sources([{"question": "<q>", "answer": ans, "html": html}])
    assert 'id="cite-1-1"' in panel and "&lt;q&gt;" in panel and "characters 12–13" in panel
    refusal = render_answer(1, Answer(text="The sources don't cover this.", answered=False))
    assert 'class="refusal"' in refusal and "cite" not in refusal


def test_parse_auth_safe_filenames_and_sizes():
    from assistant import AssistantError
    from assistant.webapp import human_size, parse_auth, safe_filename

    assert [human_size(n) for n in (12, 4608, 10 * 1024 * 1024)] == ["12 bytes", "4.5 KB", "10 MB"]
    assert parse_auth("alice:s3:cret") == ("alice", "s3:cret")
    assert parse_auth(None) is None
    for bad in ("alice", ":pw", "alice:"):
        with pytest.raises(AssistantError, match="user:password"):
            parse_auth(bad)
    assert safe_filename("../../etc/passwd.md") == "passwd.md"
    assert safe_filename("..\\..\\x.TXT") == "x.txt"
    assert safe_filename(".hidden.md") == "hidden.md"
    assert safe_filename("a b<>|c.html") == "a b_c.html"


def test_add_document_checks_type_and_size_before_copying(tmp_path):
    from assistant.webapp import ChatUI

    # a narrow unit test: the rejection paths never reach the assistant (Gradio checks
    # these too; this is the second line of defence, with its own messages)
    ui = ChatUI(SimpleNamespace(settings=Settings(data_dir=tmp_path / "data")), max_upload_bytes=100)
    big, exe = tmp_path / "big.md", tmp_path / "tool.exe"
    big.write_text("x" * 101)
    exe.write_text("MZ")
    msg = ui.add_document(big)
    assert msg.startswith("**Not added.**") and "it is 101 bytes; the limit is 100 bytes" in msg
    msg = ui.add_document(exe)
    assert msg.startswith("**Not added.**") and "'.exe' files are not supported" in msg
    assert not ui.uploads_dir.exists()


# -- the real command: `assistant serve` with a password from the environment
def test_serve_command_with_auth(tmp_path):
    from gradio_client import Client

    port = free_port()
    env = {**os.environ, "ASSISTANT_AUTH": "alice:wonder", "GRADIO_ANALYTICS_ENABLED": "False"}
    log = open(tmp_path / "serve.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "serve", "--data-dir", str(tmp_path / "data"), "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        from evals.loadtest import wait_until_up

        wait_until_up(url, proc, timeout=180)
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(url + "/config", timeout=10)
        assert err.value.code == 401
        with pytest.raises(ValueError, match="(?i)auth|login"):
            Client(url, verbose=False, analytics_enabled=False, download_files=False)
        authed = Client(url, auth=("alice", "wonder"), verbose=False, analytics_enabled=False, download_files=False)
        assert "2,000" in authed.predict(Q_REFUGEES, [], api_name="/ask")["text"]
        # uploads land in the data folder, Gradio's own upload cache included
        from gradio_client import handle_file

        doc = tmp_path / "pact.md"
        doc.write_text(ZORBLAX, encoding="utf-8")
        status = authed.predict(handle_file(doc), api_name="/upload")[0]
        assert status.startswith("**Added**")
        assert (tmp_path / "data" / "uploads" / "pact.md").exists()
        assert any((tmp_path / "data" / "gradio-cache").rglob("pact.md"))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def test_serve_rejects_a_malformed_password_setting(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "serve", "--auth", "nocolon", "--data-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=120,
    )
    assert r.returncode == 1
    assert "user:password" in r.stderr
