"""The decision's window selection on hand-made sentences: which second sentence joins the best one.

Narrow unit tests (no model): the ranking inputs are given, only the selection rule is under test.
"""

from __future__ import annotations

from assistant.answering.decision import Ranker
from assistant.answering.question import analyse
from assistant.answering.spans import Asked, figure_match
from assistant.answering.windows import WindowBuilder
from assistant.lexicon import QUANTITY
from assistant.types import Candidate, ScoredPassage
from tests._doubles import AnyCorpus


def _sentence(text: str, source: str, score: float, index: int = 0) -> Candidate:
    """A candidate with ranker logit ``score * 10``: 0.80 and 0.78 are near-ties, 0.80 and 0.60 are not."""
    passage = ScoredPassage(id=f"{source}-{index}", text=text, source=source, title=source, start=0,
                            end=len(text), sentences=[(0, len(text))])
    return Candidate(passage=passage, start=0, end=len(text), text=text, index=index,
                     features={"dense": score, "lexical": 0.5}, logit=10 * score, score=score)


def _select(question: str, *sentences: Candidate) -> list[str]:
    q = analyse(question, question, AnyCorpus())
    return [w.text for w in WindowBuilder(q, list(sentences), Ranker().margins).select()]


def test_a_settled_figure_is_not_joined_by_another_documents_figure():
    best = _sentence("Prime Minister Kishida announced a financial package worth $5.5 billion.", "article.txt", 0.80)
    rival = _sentence("Ukraine pledged 69.9 billion dollars to the refugee council.", "brief.txt", 0.78)
    assert _select("How much money did Kishida pledge to Ukraine?", best, rival) == [best.text]


def test_the_same_document_may_still_complete_a_figure():
    best = _sentence("Prime Minister Kishida announced a financial package worth $5.5 billion.", "article.txt", 0.80)
    more = _sentence("Ukraine received the pledge in grants and loans.", "article.txt", 0.78, index=3)
    assert _select("How much money did Kishida pledge to Ukraine?", best, more) == [best.text, more.text]


def test_open_questions_still_draw_on_two_documents():
    best = _sentence("Japan froze the assets of the central bank.", "article.txt", 0.80)
    other = _sentence("Japan also banned exports of semiconductors to Russia.", "brief.txt", 0.78)
    assert _select("What sanctions did Japan impose on Russia and its exports?", best, other) == [best.text, other.text]


def test_a_digit_inside_a_name_is_not_a_quantity():
    # "G7", "Sakhalin-2", "Tu-95" are names: a how-many question is not answered by them
    assert [x.group() for x in QUANTITY.finditer("At the G7 summit Sakhalin-2 and Tu-95 came up; 63 people, 1,000 yen.")] == [
        "63", "1,000"]
    assert not figure_match(Asked.read("number", "How many bombers flew?"), "Russia and the G7 argued over Sakhalin-2.")


def test_how_long_needs_a_span_of_time():
    q = Asked.read("number", "How long did Zelensky speak?")
    assert figure_match(q, "He spoke for about 12 minutes.")
    assert figure_match(q, "The accord has a 10-year term.")
    assert not figure_match(q, "He spoke at the G7 summit in 2023 to 500 lawmakers.")


def test_a_figure_with_thousands_separators_is_one_key_term_read_as_the_index_reads_it():
    from assistant.answering.question import key_terms
    from assistant.text import terms

    keys = key_terms("When the agency reported 2,302 arrivals, how many of the 1,000.5 tonnes had left?")
    figures = [k for k in keys if k.kind == "number"]
    assert [k.text for k in figures] == ["2,302", "1,000.5"]
    assert figures[0].stems == tuple(terms("2,302 arrivals")[:1])  # the passage side indexes "2302" too
    assert not [k for k in key_terms("Who banned cars over 1,900cc?") if k.kind == "number"]  # a unit, as "900cc"


def test_two_swapped_letters_are_one_typo_but_a_different_word_is_not():
    from assistant.text import near_word

    assert near_word("zelenksi", ["zelenski"]) and near_word("janauri", ["januari", "japan"])
    assert not near_word("austria", ["australia"])
    assert not near_word("abcdef", ["badcfe"])  # two swaps are two typos


def test_the_reader_reads_a_misspelt_name_as_the_sources_spell_it_and_nothing_else_changes():
    from assistant.text import mend_typos

    source = "Prime Minister Fumio Kishida left India for Poland; Mitsubishi kept its Sakhalin-2 stake."
    assert mend_typos("Why did Kishda leave Inda for Polnad?", source) == "Why did Kishida leave Inda for Poland?"
    # a word the source has, a short word, another word (not one typo away) and a figure stay as asked
    same = "Did Mitsui keep Sakhalin-1 stakes in Austria?"
    assert mend_typos(same, source) == same


def test_an_acronym_counts_as_named_when_a_source_spells_it_out():
    from assistant.answering.question import in_corpus, key_terms
    from assistant.index.lexical import LexicalIndex

    index = LexicalIndex.build([
        ("p1", "The Japan Bank for International Cooperation will insure the bonds.", "a.md", "A"),
        ("p2", "Japan and the UN Development Programme began handing out power stations.", "b.md", "B"),
    ])
    named = {k.text: in_corpus(k, index) for k in key_terms("Did JBIC, UNDP or the IAEA insure bonds?")}
    assert named == {"JBIC": True, "UNDP": True, "IAEA": False}
