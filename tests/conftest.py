"""Shared fixtures: one real embedding model per session, and stores built from knowledge/.

Real-model tests share ``embedder`` (session-scoped) so the model loads once.
Tests that need their own store call ``make_assistant(tmp_path)``.

Markers: a test that needs a real Chroma server (``server``), headless chromium
(``browser``), a real LLM server (``llm``) or takes minutes (``slow``) says so; every
other test is marked ``fast`` here. A plain ``pytest`` runs the fast ones (the
default ``-m fast`` in pyproject.toml); the README's test command, which CI runs,
selects every marker explicitly.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("slow", "server", "browser", "llm")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if not any(item.get_closest_marker(name) for name in HEAVY):
            item.add_marker(pytest.mark.fast)
KNOWLEDGE = ROOT / "knowledge"


@pytest.fixture(scope="session")
def embedder():
    from assistant.index.embedder import Embedder

    return Embedder()


@pytest.fixture(scope="session")
def knowledge_copy(tmp_path_factory) -> Path:
    """A private copy of knowledge/ so tests can never alter the real one."""
    dst = tmp_path_factory.mktemp("knowledge")
    for f in KNOWLEDGE.iterdir():
        shutil.copy(f, dst / f.name)
    return dst


@pytest.fixture(scope="session")
def bot(embedder, tmp_path_factory, knowledge_copy):
    """An Assistant over the shipped article in a throwaway embedded store (read-only use)."""
    from assistant import Assistant, Settings

    data = tmp_path_factory.mktemp("data")
    return Assistant(Settings(data_dir=data, knowledge_dir=knowledge_copy), embedder=embedder)


CORPUS = ROOT / "evals" / "corpora" / "japan-ukraine"


@pytest.fixture(scope="session")
def corpus_bot(embedder, tmp_path_factory):
    """An Assistant over the multi-document benchmark corpus (14 news and government texts), read-only use."""
    from assistant import Assistant, Settings

    data = tmp_path_factory.mktemp("corpus-data")
    return Assistant(Settings(data_dir=data, knowledge_dir=CORPUS / "knowledge"), embedder=embedder)


@pytest.fixture
def make_assistant(embedder):
    """Factory: an Assistant with its own data and knowledge folders."""
    from assistant import Assistant, Settings

    def make(data_dir: Path, knowledge_dir: Path | None = None, **kwargs):
        settings = Settings(data_dir=data_dir, knowledge_dir=knowledge_dir or KNOWLEDGE, **kwargs)
        return Assistant(settings, embedder=embedder, auto_ingest=kwargs.pop("auto_ingest", None))

    return make


CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's chromium for the browser tests, installed by the test set-up when missing.

    Never a downloaded browser build (`playwright install` fails offline): apt's
    package only, which needs root (CI runs as root).
    """
    import subprocess

    if not CHROMIUM.exists() and os.geteuid() == 0:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env, capture_output=True, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium", "chromium-driver"], check=False, env=env,
                       capture_output=True, timeout=900)
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing and could not be installed: run `apt-get install -y chromium` as root")
    return CHROMIUM
