"""Cited question answering over Japan's policy response to Russia's invasion of Ukraine.

    from assistant import Assistant
    ans = Assistant().ask("How many Ukrainians has Japan taken in?")
"""

import os

# Offline and private by default: no hub downloads, no telemetry.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from .core import Assistant  # noqa: E402
from .errors import AssistantError, DocumentError, InvalidQuestion, LLMError, StoreError  # noqa: E402
from .settings import Settings  # noqa: E402
from .types import Answer, Citation  # noqa: E402

__all__ = [
    "Answer",
    "Assistant",
    "AssistantError",
    "Citation",
    "DocumentError",
    "InvalidQuestion",
    "LLMError",
    "Settings",
    "StoreError",
]
