"""The offline, private environment every entry point sets before Hugging Face, Chroma or Gradio load.

Why one place: the model ships inside a package, nothing may be fetched from a
hub, and no library may phone home. Each library reads its switch from the
environment when it is first imported, so ``apply()`` runs at import time of
``assistant`` (and again, harmlessly, wherever a module can be imported alone).
A value the user set is kept (``setdefault``).
"""

from __future__ import annotations

import os

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",  # sentence-transformers / transformers: never ask the hub
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "ANONYMIZED_TELEMETRY": "False",  # Chroma's posthog telemetry
    "GRADIO_ANALYTICS_ENABLED": "False",  # Gradio's usage analytics
}


def apply() -> None:
    """Set every offline/telemetry switch the user has not set."""
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
