"""A full disk and a read-only data folder (issue 14): named as such, nothing lost, the app keeps answering.

The data folder lives on a small tmpfs the test mounts (CI runs as root); where mounting is not allowed,
the full disk is simulated by making the ingest's first file write fail with ENOSPC, and the read-only
folder by ``chmod`` (which binds only a non-root user).
"""

from __future__ import annotations

import errno
import gc
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from assistant import Assistant, Settings, StoreError

ROOT = Path(__file__).resolve().parents[1]
ARTICLE = ROOT / "knowledge" / "japan-russia-ukraine-policy.txt"
EXTRA = ROOT / "evals" / "corpora" / "japan-ukraine" / "knowledge" / "aid-pledges-overview.md"
QUESTION = "How many Ukrainians has Japan taken in?"


@pytest.fixture
def small_disk(tmp_path):
    """A 16 MB tmpfs, or None when this process may not mount one."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    mounted = os.geteuid() == 0 and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mnt)], capture_output=True).returncode == 0
    yield mnt if mounted else None
    if mounted:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


@pytest.fixture
def knowledge(tmp_path) -> Path:
    folder = tmp_path / "knowledge"
    folder.mkdir()
    shutil.copy(ARTICLE, folder / "article.txt")
    return folder


def _fill(disk: Path) -> Path:
    """Write zeros until the disk is full; returns the filler file."""
    filler = disk / "filler"
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(b"\0" * (1 << 16))
                f.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


def _answers(bot: Assistant) -> None:
    ans = bot.ask(QUESTION)
    assert ans.answered and "2,000" in ans.text
    for c in ans.citations:
        assert bot.source_text(c.path)[c.start : c.end] == c.quote


def test_a_full_disk_is_named_and_loses_nothing(tmp_path, small_disk, knowledge, embedder, monkeypatch, caplog):
    data = (small_disk or tmp_path) / "data"
    settings = Settings(data_dir=data, knowledge_dir=knowledge)
    bot = Assistant(settings, embedder=embedder)
    n = bot.store.count()
    texts = {f.name: f.read_bytes() for f in settings.sources_dir.iterdir()}
    if small_disk is not None:
        filler = _fill(small_disk)
    else:  # simulated: the first file the ingest writes finds the disk full
        import ingest.recovery

        def full(*args, **kwargs):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr(ingest.recovery, "atomic_write_text", full)
    shutil.copy(EXTRA, knowledge / EXTRA.name)

    with pytest.raises(StoreError) as err:
        bot.ingest(progress=False)
    msg = str(err.value)
    assert "is full (no space left on device)" in msg and "Free some space" in msg, msg
    assert "compaction" not in msg and "The vector store failed" not in msg
    # nothing lost: the same passages, the same source texts, valid citations
    assert bot.store.count() == n
    _answers(bot)
    assert {f.name: f.read_bytes() for f in settings.sources_dir.glob("*.txt")} == \
        {k: v for k, v in texts.items() if k.endswith(".txt")}

    with caplog.at_level("WARNING"):  # `ask` while the disk is still full: answers from the store, warns
        started = Assistant(settings, embedder=embedder)
    assert isinstance(started.refresh_error, StoreError) and "full" in str(started.refresh_error)
    assert any("Answering from" in r.getMessage() for r in caplog.records)
    _answers(started)

    if small_disk is not None:
        filler.unlink()
    else:
        monkeypatch.undo()
    report = bot.ingest(progress=False)  # space again: the new document goes in, the old ones stay
    assert report.added > 0 and bot.store.count() == n + report.added
    ans = bot.ask("How much has Japan pledged to Ukraine in total?")
    assert any(c.path == EXTRA.name for c in ans.citations), ans.text
    _answers(bot)


def test_a_read_only_data_folder_is_named_as_such(tmp_path, small_disk, knowledge, embedder):
    if small_disk is None and os.geteuid() == 0:
        pytest.skip("root ignores permissions and may not mount here: no way to make a folder read-only")
    data = (small_disk or tmp_path) / "data"
    settings = Settings(data_dir=data, knowledge_dir=knowledge)
    bot = Assistant(settings, embedder=embedder)
    bot.store.close()  # as if the process ended: nothing keeps a file open for writing
    bot.ingestor.passage_records.engine.dispose()
    if small_disk is not None:
        # a file the embedded store still holds open makes the remount "busy" for a moment
        for _ in range(5):
            gc.collect()
            if subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], capture_output=True).returncode == 0:
                break
            time.sleep(1)
        else:
            pytest.skip("the test disk stayed busy and could not be remounted read-only")
    else:
        for p in [data, *data.rglob("*")]:
            p.chmod(p.stat().st_mode & ~0o222)
    try:
        with pytest.raises(StoreError) as err:
            Assistant(settings, embedder=embedder)
        msg = str(err.value)
        assert "is read-only" in msg and "ASSISTANT_DATA_DIR" in msg, msg
        assert "Move the folder aside" not in msg and "--rebuild" not in msg
    finally:
        if small_disk is not None:
            subprocess.run(["mount", "-o", "remount,rw", str(small_disk)], check=True)
        else:
            for p in [data, *data.rglob("*")]:
                p.chmod(p.stat().st_mode | 0o200)
