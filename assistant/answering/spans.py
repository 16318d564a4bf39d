"""What a sentence holds for a question: the asked-for figure, date or name, and the dates it states.

Why its own module: candidates get features from it (``evidence``), the decision
refuses a how-many question whose evidence holds no count (``decision``), and
the extractive answer leads with the span ("About 2,000 — …"). Each reads the
question once, as an ``Asked`` built by ``question.analyse``; no stage re-parses it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .. import lexicon as lx
from ..text import terms

Slots = tuple[frozenset[str], frozenset[str], frozenset[str]]  # years, months ("apr"), ordinals ("second")


@dataclass(frozen=True)
class Asked:
    """What a how-much / how-many / when / who question wants from a sentence.

    Read once from the question's standalone form: its content stems (a span the
    question already says is not the answer), the head noun it counts ("how many
    Ukrainian students" → students), and whether it wants a percentage, a
    duration or an age rather than any number.
    """

    kind: str  # money | number | date | reason | name | other (``question.answer_type``)
    terms: frozenset[str]
    lower: str
    counted: frozenset[str]
    percent: bool
    duration: bool
    age: bool

    @classmethod
    def read(cls, kind: str, question: str) -> Asked:
        noun = lx.HOW_MANY_NOUN.search(question)
        counted = frozenset(terms(noun.group(1).split()[-1])) if noun else frozenset()
        return cls(kind, frozenset(terms(question)), question.lower(), counted, bool(lx.ASKS_PERCENT.search(question)),
                   bool(lx.ASKS_DURATION.search(question)), bool(lx.ASKS_AGE.search(question)))


def slots(text: str) -> Slots:
    """The years, months and ordinals ``text`` states: what a near-miss question changes."""
    months = frozenset(m.group(1).lower()[:3] for m in lx.MONTH.finditer(text))
    return (frozenset(lx.YEAR.findall(text)), months, frozenset(m.lower() for m in lx.ORDINAL.findall(text)))


def implied_years(text: str, written: int | None) -> frozenset[str]:
    """The years ``text`` names relative to when its document was written: "this year" in a 2023 report is 2023.

    Why: a near-miss that changes the year ("… in Hiroshima in May 2021?") would otherwise find
    "Japan holds the G7 presidency this year and will host the summit in Hiroshima in May" free of
    conflict and answer with it. A month alone is not resolved: reports name past months of other years without
    the year ("the 16–17 April survey" in a 2024 analysis of 2022), and guessing refused those.
    """
    if not written or lx.YEAR.search(text):
        return frozenset()
    return frozenset(str(written + lx.RELATIVE_OFFSET[m.group(1).lower()]) for m in lx.RELATIVE_YEAR.finditer(text))


def conflicts(asked: Slots, stated: Slots) -> bool:
    """True when the evidence states a year, month or ordinal of its own and none of the question's.

    "How many diplomats did Russia expel in April 2023?" against "On April 27, 2022, …"
    is another event; evidence that states no year at all is no conflict.
    """
    return any(a and s and not a & s for a, s in zip(asked, stated))


def type_match(kind: str, sentence: str) -> bool:
    """Does ``sentence`` hold the kind of thing ``answer_type`` asked for?"""
    if kind == "money":
        return bool(lx.MONEY.search(sentence))
    if kind == "number":
        return bool(lx.QUANTITY.search(sentence))
    if kind == "date":
        return bool(lx.DATE.search(sentence))
    if kind == "name":
        return bool(lx.PERSON_OR_BODY.search(sentence))
    return False


def figure_match(asked: Asked, text: str) -> bool:
    """Does ``text`` hold a figure or date of the kind the question needs at all? (Looser than ``asked_span``.)

    A "what share" question needs a percentage, a "how many" question a count that is
    not a percentage, a "how much money" question an amount of money, a "when" question a date.
    """
    if asked.kind == "number":
        if asked.percent:
            return bool(lx.PERCENT.search(text))
        if asked.duration:  # "how long": a span of time, not any number
            return bool(lx.DURATION.search(text))
        return any(not lx.PERCENT.search(text[m.start() : m.end() + 9]) for m in lx.QUANTITY.finditer(text))
    return type_match(asked.kind, text)


_SPAN = {"money": lx.AMOUNT_SPAN, "number": lx.COUNT_SPAN, "date": lx.DATE_SPAN, "name": lx.NAME_SPAN}


def asked_span(asked: Asked, sentence: str) -> str:
    """The figure, date or name in ``sentence`` that answers a how-much/how-many/when/who question, or "".

    A count keeps the words naming what is counted ("14 SESU specialists"); a
    "what share" question wants a percentage, "how long" a duration, "how old"
    an age; what the question itself already says is never the answer.
    """
    kind = asked.kind
    pattern = _SPAN.get(kind)
    if pattern is None:
        return ""
    toks = [(m.start(), set(terms(m.group()))) for m in re.finditer(r"\S+", sentence)]
    anchors = [pos for pos, ts in toks if ts & asked.terms]
    best, best_cost = "", float("inf")
    for m in pattern.finditer(sentence):
        span = m.group().strip(" ,.;:")
        if not span or span.lower() in asked.lower:
            continue  # what the question already says is not the answer
        after = sentence[m.end() :]
        cost = min((abs(m.start() - a) for a in anchors), default=m.start())
        if kind == "number":
            near = sentence[max(0, m.start() - 10) : m.end() + 10]
            if lx.YEAR.fullmatch(span) or lx.NEXT_TO_MONTH.search(near):
                continue  # a year or a day of the month is not a count
            if not asked.duration and lx.TIME_UNIT.match(after) and not asked.counted & set(terms(after[:20])):
                continue  # "five days before" is a duration, not the count asked for
            percent = bool(lx.PERCENT.search(span + after[:9]))
            if asked.percent != percent:
                continue  # "what share" wants a percentage; "how many people" does not
            if span.lower() == "one" and not asked.counted & set(terms(after[:20])):
                continue  # "for one", "one of": rarely a count
            if asked.duration:
                unit = lx.TIME_UNIT.match(after)
                if not unit:
                    continue
                span += unit.group()
            elif asked.age and not lx.AGE_UNIT.match(after):
                continue
            elif not lx.PERCENT.search(span):
                following = lx.FOLLOWING_WORDS.match(after)
                if following and asked.counted & set(terms(following.group())):
                    cost -= 1000  # the number names what the question counts
                    span += following.group()
        if kind == "name":
            span_terms = set(terms(span))
            at_start = not sentence[: m.start()].strip(" •·-*>#\t\"“(")
            if not span_terms or span_terms <= asked.terms or (
                len(span.split()) < 2 and (at_start or span.lower() in lx.STOPWORDS)
            ):
                continue
        if cost < best_cost:
            best, best_cost = span.strip(" ,.;:"), cost
    return best
