"""Cited question answering over Japan's policy response to Russia's invasion of Ukraine.

    from assistant import Assistant
    ans = Assistant().ask("How many Ukrainians has Japan taken in?")

The names below load lazily, so ``import assistant.text`` (or the CLI checking a
question) does not pay for the model, Chroma and LangChain imports.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from . import offline

offline.apply()  # before anything imports Hugging Face, Chroma or Gradio

__all__ = [
    "Answer",
    "Answerer",
    "Assistant",
    "AssistantError",
    "Citation",
    "DocumentError",
    "InvalidQuestion",
    "LLMError",
    "Retrieval",
    "Settings",
    "StoreBusy",
    "StoreError",
    "Tuning",
]

_HOME = {
    "Assistant": "core",
    "Answer": "types",
    "Answerer": "types",
    "Citation": "types",
    "Retrieval": "types",
    "Settings": "settings",
    "Tuning": "tuning",
    "AssistantError": "errors",
    "DocumentError": "errors",
    "InvalidQuestion": "errors",
    "LLMError": "errors",
    "StoreBusy": "errors",
    "StoreError": "errors",
}

if TYPE_CHECKING:
    from .core import Assistant
    from .errors import AssistantError, DocumentError, InvalidQuestion, LLMError, StoreBusy, StoreError
    from .settings import Settings
    from .tuning import Tuning
    from .types import Answer, Answerer, Citation, Retrieval


def __getattr__(name: str) -> Any:
    if name in _HOME:
        value = getattr(import_module(f".{_HOME[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
