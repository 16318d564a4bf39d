"""A full disk and a read-only data folder (issue 14): named as such, nothing lost, the app keeps answering.

The data folder lives on a small tmpfs the test mounts (CI runs as root); where mounting is not allowed,
the full disk is simulated by making the ingest's first file write fail with ENOSPC, and the read-only
folder by ``chmod`` (which binds only a non-root user).
"""

from __future__ import annotations

import errno
import gc
import json
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
    with open(filler, "wb", buffering=0) as f:  # unbuffered: nothing left to flush (and fail) on close
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


def test_a_resume_that_found_the_disk_full_is_tried_once_per_cause(tmp_path, knowledge, embedder, monkeypatch,
                                                                   capsys):
    """Issue 22: after a disk-full ingest, every `ask` and every server start re-read and re-embedded every file
    to fail again at the first write, and the failed run left its extracted texts behind. Now the failure is
    noted in the run's marker and a start-up does not retry until space is freed or an ingest is run; the
    resume shows its progress; the texts no source uses are deleted. ENOSPC is simulated at the store write."""
    import ingest.pipeline
    from ingest import RESUME_LABEL, Ingestor, failed_resume
    from ingest import recovery as rec

    settings = Settings(data_dir=tmp_path / "data", knowledge_dir=knowledge)
    Assistant(settings, embedder=embedder)
    texts = sorted(f.name for f in settings.sources_dir.glob("*.txt"))
    shutil.copy(EXTRA, knowledge / EXTRA.name)  # a new document, then a crash part-way through its ingest
    rec.mark_incomplete(settings, [knowledge])

    real_index, real_run = ingest.pipeline.index, Ingestor.run
    attempts: list[str] = []
    statuses: list[str] = []
    bot = Assistant(settings, embedder=embedder, auto_ingest=False)

    def full_disk(docs, *args, **kwargs):  # every file read and its text written, then the store's write fails
        for _ in docs:
            pass
        statuses.append(bot.status)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def counted(self, *args, **kwargs):
        attempts.append(kwargs.get("label", ""))
        return real_run(self, *args, **kwargs)

    monkeypatch.setattr(ingest.pipeline, "index", full_disk)
    monkeypatch.setattr(Ingestor, "run", counted)

    bot.refresh()  # the first start after the crash tries, and fails
    assert attempts == [RESUME_LABEL]
    assert statuses == [f"{RESUME_LABEL}: 100 %"] and bot.status == ""
    assert RESUME_LABEL in capsys.readouterr().err  # the bar
    assert isinstance(bot.refresh_error, StoreError) and "full" in str(bot.refresh_error)
    marker = json.loads(rec.marker_path(settings).read_text(encoding="utf-8"))
    assert marker["failed"]["cause"] == rec.DISK_FULL
    assert sorted(f.name for f in settings.sources_dir.glob("*.txt")) == texts  # the new text is not left behind

    for _ in range(3):  # later asks and server starts: not tried again, said why, answered from the store
        again = Assistant(settings, embedder=embedder)
        assert "full" in str(again.refresh_error) and "not retried" in str(again.refresh_error)
        _answers(again)
    assert attempts == [RESUME_LABEL]

    free = marker["failed"]["free"]  # space freed: tried again (and still full: noted again)
    monkeypatch.setattr(rec.faults, "free_bytes", lambda folder: free + rec.RETRY_FREE_BYTES)
    assert failed_resume(settings) is None
    Assistant(settings, embedder=embedder)
    assert attempts == [RESUME_LABEL, RESUME_LABEL]
    Assistant(settings, embedder=embedder)  # the new failure was noted with the free space of its own time
    assert attempts == [RESUME_LABEL, RESUME_LABEL]

    monkeypatch.setattr(ingest.pipeline, "index", real_index)  # the disk has room again
    monkeypatch.setattr(rec.faults, "free_bytes", lambda folder: 1 << 50)
    (settings.sources_dir / "0123456789abcdef.txt").write_text("left by a run that stopped", encoding="utf-8")
    done = Assistant(settings, embedder=embedder)  # finishes it, and deletes the texts no source uses
    assert attempts[-1] == RESUME_LABEL and done.refresh_error is None
    assert not rec.marker_path(settings).exists() and failed_resume(settings) is None
    assert not (settings.sources_dir / "0123456789abcdef.txt").exists()
    assert len(list(settings.sources_dir.glob("*.txt"))) == len(texts) + 1
    ans = done.ask("How much has Japan pledged to Ukraine in total?")
    assert any(c.path == EXTRA.name for c in ans.citations), ans.text


def test_a_new_ingest_command_clears_the_noted_failure(tmp_path, knowledge, embedder):
    from ingest import failed_resume
    from ingest import recovery as rec

    settings = Settings(data_dir=tmp_path / "data", knowledge_dir=knowledge)
    bot = Assistant(settings, embedder=embedder)
    assert not bot.resume_pending()
    rec.mark_incomplete(settings, [knowledge])
    assert bot.resume_pending()  # `serve` would finish it behind the page
    assert rec.record_failure(settings, rec.DISK_FULL)
    assert failed_resume(settings) is not None and not bot.resume_pending()
    bot.ingest(progress=False)
    assert failed_resume(settings) is None and not rec.marker_path(settings).exists()


def test_the_failure_is_noted_even_when_no_new_file_fits(tmp_path, small_disk, knowledge, monkeypatch):
    """On a full disk a fresh copy of the marker cannot be written: it is rewritten in place."""
    from ingest import failed_resume
    from ingest import recovery as rec

    settings = Settings(data_dir=(small_disk or tmp_path) / "data", knowledge_dir=knowledge)
    rec.mark_incomplete(settings, [knowledge])
    if small_disk is not None:
        filler = _fill(small_disk)
    else:
        def full(*args, **kwargs):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr(rec, "atomic_write_text", full)
    assert rec.record_failure(settings, rec.DISK_FULL)
    marker = json.loads(rec.marker_path(settings).read_text(encoding="utf-8"))
    assert marker["failed"]["cause"] == rec.DISK_FULL and marker["roots"] == [str(knowledge.resolve())]
    assert "disk was full" in str(failed_resume(settings))
    if small_disk is not None:
        filler.unlink()
