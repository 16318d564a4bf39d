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

import pytest
from _webapp_fixtures import free_port, running_chat

from assistant import Answer, Citation, Settings
from assistant.types import Answer as AnswerType
from assistant.web.conversations import shorten
from assistant.web.render import esc as _esc

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


# -- the chat steps the page uses (called directly: the browser test drives them through the page)
def _chat(ui, question, session):
    """Run the page's two steps: show the question at once, then stream the answer.

    Returns the first step's named updates and the answer's frames (named updates too).
    """
    shown = ui.submit(question, session)
    frames = list(ui.answer(session)) if "live" in shown else []
    return shown, frames


def test_chat_shows_the_question_at_once_then_streams_word_by_word(bot, tmp_path):
    from assistant.web.app import ChatSession, ChatUI

    ui = ChatUI(bot)
    ui.store = type(ui.store)(tmp_path / "c.sqlite")  # this test's own conversations
    session = ChatSession(owner="browser:test")
    shown, frames = _chat(ui, Q_AID, session)
    assert shown["box"] == "" and shown["error"] == "" and _esc(Q_AID) in shown["live"]
    assert "Looking for the answer in “" in shown["live"]  # names the document, and reads unlike the header line
    partial = [f["live"] for f in frames[:-1]]
    assert len(partial) > 5, "the answer should arrive in pieces, not in one frame"
    assert all("answer streaming" in p for p in partial) and all(set(f) == {"live"} for f in frames[:-1])
    final_live, log_html, sources = frames[-1]["live"], frames[-1]["log"], frames[-1]["sources"]
    assert final_live == "" and 'href="#cite-1-1"' in log_html and 'aria-label="Source 1: ' in log_html
    assert 'class="chips"' in log_html and f'data-conversation="{session.conversation}"' in log_html
    c = bot.ask(Q_AID).citations[0]
    assert f'<mark class="quote">{_esc(c.quote)}</mark>' in sources
    assert f"passage {c.passage_id}" in sources and f"characters {c.start}–{c.end}" in sources

    # a follow-up is resolved from the conversation; the conversation is saved
    frames = _chat(ui, "Who announced it?", session)[1]
    assert "Kishida" in frames[-1]["log"] and 'id="turn-2"' in frames[-1]["sources"]
    (saved,) = ui.store.list("browser:test")
    assert saved.turns == 2 and saved.title == shorten(Q_AID)

    # a refusal looks different and gets no citation cards
    frames = _chat(ui, "What did Brazil do about the war?", session)[1]
    assert 'class="refusal"' in frames[-1]["log"]
    turn3 = frames[-1]["sources"].split('id="turn-3"')[1].split("</section>")[0]
    assert "details" not in turn3 and "Not in the sources" in turn3


def test_a_bad_question_stays_in_the_box_with_the_reason(bot, tmp_path):
    from assistant.web.app import ChatSession, ChatUI

    ui = ChatUI(bot)
    session = ChatSession(owner="browser:test")
    shown, frames = _chat(ui, "y" * 2500, session)
    assert "the limit is 2,000" in shown["error"] and 'role="alert"' in shown["error"]
    assert set(shown) == {"error"}  # the text stays in the box: nothing else is updated
    assert session.pending is None and session.turns == []


def test_the_page_follows_an_ingest_being_finished(bot, monkeypatch):
    """Issue 22: finishing an interrupted ingest took minutes unseen; the header now shows its progress while
    the page answers, and the page's timer follows it until it ends."""
    import gradio as gr

    from assistant.web.app import ChatSession, ChatUI
    from ingest import RESUME_LABEL

    ui = ChatUI(bot)
    session = ChatSession(owner="browser:test")
    monkeypatch.setattr(bot.ingestor, "status", f"{RESUME_LABEL}: 40 %")
    updates = ui.poll_uploads(session)
    assert "Finishing an interrupted ingest: 40 %" in updates["header"] and 'role="status"' in updates["header"]
    assert "timer" not in updates and "picker" not in updates  # still running: the timer goes on
    monkeypatch.setattr(bot.ingestor, "status", "")
    updates = ui.poll_uploads(session)
    assert "interrupted" not in updates["header"] and "picker" in updates  # ended: the documents are offered
    assert isinstance(updates["timer"], gr.Timer) and not updates["timer"].active
    assert not session.ingest_shown


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

    status, _file, documents, _header, _picker = client.predict([handle_file(src)], api_name="/upload")
    assert "Added zorblax-accord.md" in status
    assert "The Zorblax accord" in documents and "zorblax-accord.md" in documents
    (stored,) = upload_server.ui.uploads_dir.rglob("zorblax-accord.md")
    assert stored.read_text(encoding="utf-8") == ZORBLAX
    assert str(upload_server.ui.uploads_dir) not in documents  # never a server path

    after = client.predict("Who signed the Zorblax accord?", [], api_name="/ask")
    assert after["answered"] is True and "Quentin Vale" in after["text"]
    check_citations(upload_server.ui.bot, after)
    # cited by its path in the data folder, never the server's absolute path
    assert after["citations"][0]["path"] == "uploads/" + stored.relative_to(upload_server.ui.uploads_dir).as_posix()


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
    status = upload_server.client().predict([handle_file(src)], api_name="/upload")[0]
    assert "Not added." in status and message in status
    assert not list(upload_server.ui.uploads_dir.rglob(name))


def test_upload_of_an_unsupported_type_is_refused_by_name(upload_server, tmp_path):
    from gradio_client import handle_file

    src = tmp_path / "notes.csv"
    src.write_text("a,b\n1,2\n")
    good = tmp_path / "good-notes.md"
    good.write_text("# Notes\n\nThe Quokka pact covers ferry timetables.\n", encoding="utf-8")
    status = upload_server.client().predict([handle_file(src), handle_file(good)], api_name="/upload")[0]
    assert "notes.csv: &#x27;.csv&#x27; files are not supported" in status and ".md, .txt, .html, .pdf, .docx" in status
    assert "Added good-notes.md" in status  # one bad file does not stop the others
    assert not list(upload_server.ui.uploads_dir.rglob("notes.csv"))


def test_upload_over_the_size_limit_is_refused(upload_server, tmp_path):
    from gradio_client import handle_file

    src = tmp_path / "big.txt"
    src.write_text("Japan. " * 20_000)  # 140 KB > the 64 KB limit of this server
    with pytest.raises(Exception, match="(?i)size|large"):
        upload_server.client().predict([handle_file(src)], api_name="/upload")
    assert not list(upload_server.ui.uploads_dir.rglob("big.txt"))


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
                          [[{"path": str(target), "meta": {"_type": "gradio.FileData"}, "orig_name": target.name}]])
        assert reply.startswith("event: error") or "not uploaded through this page" in reply, reply
        assert not list(upload_server.ui.uploads_dir.rglob(target.name))
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


def test_rendering_escapes_document_text_and_never_shows_a_server_path():
    from assistant.web.conversations import Turn
    from assistant.web.render import highlight_passage, render_log, render_sources

    c = _citation(path="/srv/data/uploads/ab12/p.txt", date="2024-03-01", section="Refugees", paragraph=3)
    assert highlight_passage(c) == 'A &lt;b&gt;x&lt;/b&gt; <mark class="quote">B</mark> C'
    ans = Answer(text="<script>alert(1)</script> B [1] [7]", answered=True, citations=[c])
    log_html = render_log([Turn("<q>", ans)], [])
    assert "<script>" not in log_html and "&lt;script&gt;" in log_html
    assert '<a class="cite" href="#cite-1-1"' in log_html and "[7]</a>" not in log_html  # only real citations link
    assert 'aria-label="Source 1: T"' in log_html and 'aria-label="Answer 1"' in log_html
    panel = render_sources([Turn("<q>", ans)])
    assert 'id="cite-1-1"' in panel and "&lt;q&gt;" in panel and "characters 12–13" in panel
    assert "2024-03-01" in panel and "section “Refugees”" in panel and "paragraph 3" in panel
    assert "/srv/data" not in panel and "p.txt" in panel
    refusal = render_log([Turn("q", Answer(text="The sources don't cover this.", answered=False))], [])
    assert 'class="refusal"' in refusal and 'class="cite"' not in refusal
    long_q = "why " * 100
    assert "why why" in render_sources([Turn(long_q, ans)]) and len(render_sources([Turn(long_q, ans)])) < 2000


def test_parse_auth_safe_filenames_and_sizes():
    from assistant import AssistantError
    from assistant.web.app import human_size, parse_auth, safe_filename

    assert [human_size(n) for n in (12, 4608, 10 * 1024 * 1024)] == ["12 bytes", "4.5 KB", "10 MB"]
    assert parse_auth("alice:s3:cret") == ("alice", "s3:cret")
    assert parse_auth(None) is None
    for bad in ("alice", ":pw", "alice:"):
        with pytest.raises(AssistantError, match="user:password"):
            parse_auth(bad)
    assert safe_filename("../../etc/passwd.md") == "passwd.md"
    assert safe_filename("a b<>|c.html") == "a b_c.html"


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
        # uploads land in the data folder, Gradio's own upload cache included; its copy goes once the
        # library has its own
        from gradio_client import handle_file

        doc = tmp_path / "pact.md"
        doc.write_text(ZORBLAX, encoding="utf-8")
        status = authed.predict([handle_file(doc)], api_name="/upload")[0]
        assert "Added pact.md" in status
        assert list((tmp_path / "data" / "uploads").rglob("pact.md"))
        assert (tmp_path / "data" / "gradio-cache").is_dir()
        assert not any((tmp_path / "data" / "gradio-cache").rglob("pact.md"))
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
