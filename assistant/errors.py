"""The assistant's small error hierarchy.

Each error carries a ``hint`` that tells the user what to do; the CLI maps the
class to an exit code and the web chat shows ``str(err)`` as a chat message.
"""

from __future__ import annotations


class AssistantError(Exception):
    """Base class: something the user can act on."""

    exit_code = 1

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()


class InvalidQuestion(AssistantError):
    """The question is empty or too long."""

    exit_code = 2


class StoreError(AssistantError):
    """The vector store cannot be opened, read or written."""

    exit_code = 3


class DocumentError(AssistantError):
    """A source file cannot be read or parsed."""

    exit_code = 4


class LLMError(AssistantError):
    """The LLM backend is down, slow or returned something unusable."""

    exit_code = 5


class StoreBusy(StoreError):
    """Another process is writing to the same data folder (one writer at a time)."""


class UnknownDocument(AssistantError):
    """A document named to limit the search (``sources=``, ``--source``) is not in the store."""

    exit_code = 2

    def __init__(self, message: str, hint: str = "", *, names: list[str] | None = None,
                 suggestions: list[str] | None = None) -> None:
        super().__init__(message, hint)
        self.names = names or []  # the names that matched no document
        self.suggestions = suggestions or []  # close matches, best first
