"""Resolve follow-up questions from the conversation before retrieval.

No LLM: a question that leans on earlier turns (a pronoun like "it"/"he"/"they",
"what about…", or too few content words to stand alone) is expanded with the
last self-contained user question and the names mentioned in the last reply.
The current question's words come first, so they still dominate scoring.
"""

from __future__ import annotations

from .. import lexicon as lx
from ..text import strip_markers, terms
from ..types import is_refusal


def message_text(message: dict) -> str:
    content = message.get("content", "")
    if isinstance(content, list):  # OpenAI/Gradio multimodal parts
        content = " ".join(str(p.get("text", "")) if isinstance(p, dict) else str(p) for p in content)
    return str(content or "")


def is_followup(question: str) -> bool:
    return bool(lx.ANAPHORA.search(question) or lx.CONTINUATION.search(question) or len(terms(question)) <= 1)


def resolve(question: str, history: list[dict] | None) -> str:
    """A standalone form of ``question`` given ``history`` (role/content messages)."""
    if not history or not is_followup(question):
        return question
    users = [message_text(m) for m in history if m.get("role") == "user" and message_text(m).strip()]
    replies = [message_text(m) for m in history if m.get("role") == "assistant" and message_text(m).strip()]
    if not users:
        return question
    # walk back through chained follow-ups to the last question that stood alone
    context: list[str] = []
    for earlier in reversed(users):
        context.append(earlier)
        if not is_followup(earlier) or len(context) >= 3:
            break
    names: list[str] = []
    if replies and not is_refusal(replies[-1]):
        for name in lx.PROPER_NAME.findall(strip_markers(replies[-1])):
            if name not in names and name not in question:
                names.append(name)
    parts = [question.strip(), *reversed(context)]
    if names:
        parts.append(" ".join(names[:6]))
    return " ".join(parts)
