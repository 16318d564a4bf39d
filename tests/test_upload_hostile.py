"""Hostile uploads and sign-ins against the real web server (issue 22), over real HTTP.

Each test is one defect a hostile-input probe found on 127.0.0.1: names Gradio
strips that made one upload replace another, an upload refused while a CLI
ingest held the writer lock, a removed upload still downloadable from Gradio's
cache, server paths in citations and messages, and a sign-in that took any
number of guesses. The server is the real Gradio app over a real Assistant and
store; the other process holding the lock is a real process.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from _webapp_fixtures import running_chat

from assistant import Assistant, Settings

ROOT = Path(__file__).resolve().parents[1]
QUEUED = "Queued: another process is indexing; this file will be added when it finishes"


@pytest.fixture(scope="module")
def server(embedder, tmp_path_factory, knowledge_copy):
    """The web chat over its own data folder (these tests upload, remove and hold its lock)."""
    data = tmp_path_factory.mktemp("hostile-data")
    bot = Assistant(Settings(data_dir=data, knowledge_dir=knowledge_copy, upload_wait_s=120), embedder=embedder)
    with running_chat(bot, max_upload_bytes=256 * 1024) as chat:
        yield chat


def ledger(word: str, amount: int) -> str:
    """A small document only one question matches: the {word} fund holds {amount} billion yen."""
    return (f"# The {word} ledger\n\nThe {word} fund holds {amount} billion yen for harbour repairs. "
            f"It was set up by the port authority of Vardø in 2033.\n")


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def upload(chat, path: Path) -> str:
    """Upload through gradio_client (what the page's drop zone sends); the status line's text."""
    from gradio_client import handle_file

    return chat.client().predict([handle_file(path)], api_name="/upload")[0]


def uploads(chat) -> dict[str, object]:
    return {d.name: d for d in chat.ui.library.documents() if d.origin == "upload"}


def answered(chat, question: str, expected: str) -> bool:
    got = chat.client().predict(question, [], api_name="/ask")
    return got["answered"] and expected in got["text"]


def raw_upload(url: str, name: str, content: bytes) -> str:
    """The browser's first step: the file to Gradio's upload route; the path it was stored under."""
    boundary = uuid.uuid4().hex
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
            f"Content-Type: text/markdown\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
    req = urllib.request.Request(f"{url}/gradio_api/upload", data=body,
                                 headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    (path,) = json.load(urllib.request.urlopen(req, timeout=30))
    return path


def call_upload(url: str, path: str, name: str) -> str:
    """The browser's second step: the upload event with the stored file; the reply's event stream."""
    req = urllib.request.Request(
        f"{url}/gradio_api/call/upload",
        data=json.dumps({"data": [[{"path": path, "orig_name": name, "meta": {"_type": "gradio.FileData"}}]]}).encode(),
        headers={"Content-Type": "application/json"})
    event_id = json.load(urllib.request.urlopen(req, timeout=10))["event_id"]
    return urllib.request.urlopen(f"{url}/gradio_api/call/upload/{event_id}", timeout=120).read().decode()


def http_status(url: str) -> int:
    try:
        return urllib.request.urlopen(url, timeout=10).status
    except urllib.error.HTTPError as err:
        return err.code


@contextmanager
def lock_held_elsewhere(settings: Settings):
    """Another process holds the data folder's writer lock, as a CLI ``assistant ingest`` does, until the end."""
    code = ("import sys\nfrom pathlib import Path\nfrom ingest.lock import writer_lock\n"
            "with writer_lock(Path(sys.argv[1])):\n    print('held', flush=True)\n    sys.stdin.read()\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(settings.ingest_lock)], cwd=ROOT, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert proc.stdout.readline().strip() == "held"
        yield proc
    finally:
        if proc.poll() is None:
            proc.stdin.close()
            proc.wait(timeout=30)


def release(proc: subprocess.Popen) -> None:
    proc.stdin.close()
    proc.wait(timeout=30)


def wait_for(check, timeout: float = 90.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.5)
    return check()


# -- 1. a different upload never replaces another, whatever Gradio strips from its name
def test_names_gradio_strips_never_replace_another_file(server, tmp_path):
    first = upload(server, write(tmp_path / "1", "Budget 2036!.md", ledger("Alderney", 11)))
    assert "Added Budget 2036.md" in first
    second = upload(server, write(tmp_path / "2", "Budget 2036.md", ledger("Brecqhou", 22)))
    assert "Replaced" not in second
    assert "Added as Budget 2036 (2).md" in second and "already called Budget 2036.md" in second  # both named

    # three names that all arrive as ab.md: three files, none replaced (gradio_client would send the
    # newline percent-encoded, so that one goes the way a hand-made request does)
    names = {"a?b.md": ("Caldey", 33), "a*b.md": ("Dursey", 44), "a\nb.md": ("Eriskay", 55)}
    statuses = [upload(server, write(tmp_path / str(i), name, ledger(*fund)))
                for i, (name, fund) in enumerate(list(names.items())[:2], start=3)]
    stored = raw_upload(server.url, "a\nb.md", ledger("Eriskay", 55).encode())
    assert Path(stored).name == "ab.md"
    statuses.append(call_upload(server.url, stored, "ab.md"))
    assert "Added ab.md" in statuses[0]
    assert "Added as ab (2).md" in statuses[1] and "Added as ab (3).md" in statuses[2]
    listed = uploads(server)
    assert {"Budget 2036.md", "Budget 2036 (2).md", "ab.md", "ab (2).md", "ab (3).md"} <= set(listed)
    for word, amount in [("Alderney", 11), ("Brecqhou", 22), *names.values()]:
        assert answered(server, f"How much does the {word} fund hold?", f"{amount} billion"), word

    # the same content under the same received name is the same file: unchanged, never a copy
    again = upload(server, write(tmp_path / "6", "a?b.md", ledger("Caldey", 33)))
    assert "ab.md is already in the library, unchanged" in again
    again = upload(server, write(tmp_path / "7", "a*b.md", ledger("Dursey", 44)))
    assert "ab.md is already in the library as ab (2).md, unchanged" in again
    assert set(uploads(server)) == set(listed)
    assert len(list(server.ui.uploads_dir.rglob("ab*.md"))) == 3


# -- 2. an upload during another process's ingest waits for it, then is indexed
def test_an_upload_during_another_ingest_is_queued_then_indexed(server, tmp_path):
    from assistant.web.chat import ChatSession

    settings = server.ui.bot.settings
    by_api = write(tmp_path, "fjord-ledger.md", ledger("Fjordane", 66))
    with lock_held_elsewhere(settings) as holder:
        status = upload(server, by_api)
        assert QUEUED in status and "fjord-ledger.md" in status
        assert str(settings.data_dir) not in status
        # the page's way: the file on Gradio's upload route, then the upload event of a tab
        stored = raw_upload(server.url, "gorse-ledger.md", ledger("Gorseway", 77).encode())
        tab = ChatSession(owner="browser:" + "c" * 32)
        shown = server.ui.upload([stored], tab)
        assert QUEUED in shown["status"] and tab.uploads, shown["status"]
        listing = server.ui.documents_html()
        assert "fjord-ledger.md" in listing and "queued" in listing
        assert "fjord-ledger.md" not in {d.name for d in server.ui.catalog()}  # not searched yet
        assert not answered(server, "How much does the Fjordane fund hold?", "66 billion")
        time.sleep(2.5)  # it keeps waiting while the lock is held
        assert server.ui.poll_uploads(tab)["session"].uploads
        release(holder)

    assert wait_for(lambda: answered(server, "How much does the Fjordane fund hold?", "66 billion"))
    lines: list[str] = []

    def tab_done() -> bool:  # the page's timer: the outcome once, then it stops
        out = server.ui.poll_uploads(tab)
        lines.append(out.get("status", ""))
        return not tab.uploads and "timer" in out

    assert wait_for(tab_done)
    assert any("Added gorse-ledger.md" in line for line in lines), lines
    assert answered(server, "How much does the Gorseway fund hold?", "77 billion")
    listed = uploads(server)
    assert listed["fjord-ledger.md"].passages > 0
    assert "gorse-ledger.md" in {d.name for d in server.ui.catalog()}


def test_a_queued_upload_reports_why_it_gave_up(tmp_path, make_assistant, knowledge_copy):
    from assistant.web.library import Library

    bot = make_assistant(tmp_path / "data", knowledge_copy, upload_wait_s=2)
    library = Library(bot, max_upload_bytes=1024 * 1024)
    with lock_held_elsewhere(bot.settings):
        result = library.add(write(tmp_path / "in", "heron-ledger.md", ledger("Heronsgate", 88)))
        assert result.queued
        deadline = time.monotonic() + 30
        done: list = []
        while not done and time.monotonic() < deadline:
            time.sleep(0.5)
            done, _ = library.outcomes([result.token])
    assert done == [(False, "Not added. Another process was still indexing after 2 s; upload heron-ledger.md "
                            "again when it has finished.")]
    assert not bot.ask("How much does the Heronsgate fund hold?").answered
    assert "heron-ledger.md" not in library.index() and not list(library.folder.rglob("heron-ledger.md"))


# -- 3. removal removes every copy: no old link downloads a removed upload
def test_a_removed_upload_cannot_be_downloaded_from_gradio_cache(server):
    from assistant.web.chat import ChatSession

    content = ledger("Inchkeith", 99).encode()
    stored = raw_upload(server.url, "inch-ledger.md", content)
    reply = call_upload(server.url, stored, "inch-ledger.md")
    assert "Added inch-ledger.md" in reply, reply
    url = f"{server.url}/gradio_api/file={stored}"
    # an older copy of the same upload, as servers before this fix left in the cache
    from gradio.utils import get_upload_folder

    older = Path(get_upload_folder()) / ("0" * 64) / "inch-ledger.md"
    older.parent.mkdir(parents=True, exist_ok=True)
    older.write_bytes(content)
    older_url = f"{server.url}/gradio_api/file={older}"
    assert http_status(older_url) == 200  # the cache serves what it holds

    key = uploads(server)["inch-ledger.md"].key
    out = server.ui.remove_document(ChatSession(owner="browser:" + "d" * 32), key=key)
    assert "Removed inch-ledger.md" in out["status"]
    assert http_status(url) in (403, 404)
    assert http_status(older_url) in (403, 404)
    assert not Path(stored).exists() and not older.exists()
    assert not list(server.ui.uploads_dir.rglob("inch-ledger.md"))
    assert not answered(server, "How much does the Inchkeith fund hold?", "99 billion")


# -- 4. no server path in citations, messages or the page
def test_no_response_or_page_shows_a_server_path(server, tmp_path):
    from assistant.web.chat import ChatSession

    bot, settings = server.ui.bot, server.ui.bot.settings
    outside = write(tmp_path / "field-notes", "kobe-rail.txt",
                    "The Kobe rail link carries 41,000 passengers a day. It opened in March 2034.\n")
    bot.ingest([outside.parent], progress=False)  # what `assistant ingest FOLDER` runs
    assert "Added jura-ledger.md" in upload(server, write(tmp_path / "up", "jura-ledger.md", ledger("Jura", 12)))
    secret = [str(settings.data_dir), str(settings.data_dir.resolve()), str(Path(settings.knowledge_dir).resolve()),
              str(outside.parent.resolve()), str(tmp_path.resolve())]

    def clean(text: str) -> None:
        for folder in secret:
            assert folder not in text, f"{folder} in {text[:300]}"

    client = server.client()
    for question, expected in [("How many passengers does the Kobe rail link carry?", "41,000"),
                               ("How much does the Jura fund hold?", "12 billion"),
                               ("How many Ukrainians has Japan taken in?", "2,000")]:
        got = client.predict(question, [], api_name="/ask")
        assert got["answered"] and expected in got["text"], got["text"]
        clean(json.dumps(got, ensure_ascii=False))
        for c in got["citations"]:
            assert not Path(c["path"]).is_absolute()
            assert bot.source_text(c["path"])[c["start"]:c["end"]] == c["quote"]
        clean(json.dumps(bot.ask(question).to_dict(), ensure_ascii=False))  # the Python API
    for path in ("/", "/config", "/gradio_api/info"):
        clean(urllib.request.urlopen(server.url + path, timeout=10).read().decode())
    clean(server.ui.documents_html())

    # the busy-writer message, in the page's status line
    key = uploads(server)["jura-ledger.md"].key
    with lock_held_elsewhere(settings):
        out = server.ui.remove_document(ChatSession(owner="browser:" + "e" * 32), key=key)
    assert "another process is indexing" in out["status"].lower()
    clean(out["status"])
    assert "jura-ledger.md" in uploads(server)


# -- 6. wrong passwords cost time
def test_sign_in_is_rate_limited_per_address(bot):
    with running_chat(bot, launch={"auth": ("alice", "s3cret")}) as chat:
        def login(password: str) -> tuple[int, dict, str]:
            data = urllib.parse.urlencode({"username": "alice", "password": password}).encode()
            try:
                r = urllib.request.urlopen(urllib.request.Request(f"{chat.url}/login", data=data), timeout=10)
                return r.status, dict(r.headers), r.read().decode()
            except urllib.error.HTTPError as err:
                return err.code, dict(err.headers), err.read().decode()

        assert [login("wrong")[0] for _ in range(5)] == [400] * 5  # five free tries
        code, headers, body = login("wrong")
        assert code == 429 and headers.get("retry-after") == "1" and "Too many wrong passwords" in body
        assert login("s3cret")[0] == 429  # even the right one waits its turn
        time.sleep(1.1)
        assert login("wrong")[0] == 400  # the sixth wrong one: now two seconds
        code, headers, _ = login("wrong")
        assert code == 429 and headers.get("retry-after") == "2"
        time.sleep(2.1)
        assert login("s3cret")[0] == 200  # the right password clears the record
        assert [login("wrong")[0] for _ in range(5)] == [400] * 5
        assert login("wrong")[0] == 429
