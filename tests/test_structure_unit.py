"""Document structure and question analysis, without the model: the general rules issue 13 asked for.

Headings, bylines and datelines are metadata (never an answer); PDF layout lines are
reflowed into sentences; a question's names, figures, months and ordinals are found
(and a possessive or a greeting is not glued to them); the asked-for span is picked
from a sentence; a near-miss's changed year, month or ordinal is a conflict.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.answering.extractive import tidy
from assistant.answering.question import analyse, answer_type, key_terms
from assistant.answering.spans import Asked, asked_span, conflicts, implied_years, slots
from assistant.text import clean_question, words
from ingest.loaders import load_source, reflow_pdf_pages
from ingest.splitter import BODY, HEADING, META, line_kind, split_passages
from tests._doubles import AnyCorpus


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("# Kishida makes secret trip to Kyiv", HEADING),
        ("## What Japan pledged", HEADING),
        ("THE ISLANDS", HEADING),
        ("Zelensky's surprise trip turns Kishida's Hiroshima summit into a show of resolve", HEADING),
        ("By Aiko Lindqvist, Diplomatic Correspondent", META),
        ("*Published March 24, 2023*", META),
        ("August 2, 2024", META),
        ("TOKYO, Jan. 27, 2023 (Eastern Newswire) -", META),
        ("Energy Security Analysis · By Kenji Arakawa, Senior Fellow · Published July 15, 2024", META),
        ("- USD 30 million for a NATO trust fund", BODY),  # a list item without a full stop is still a fact
        ("| Sakhalin-2 | Mitsui | 12.5% |", BODY),
        ("Yomiuri 4–6 Mar 2022 54% 29%", BODY),  # a table row a PDF flattened
        ("Japan has taken in about 2,000 Ukrainians.", BODY),
        ("Why did Japan act?", BODY),
    ],
)
def test_line_kinds(line, kind):
    assert line_kind(line) == kind


def test_headings_become_metadata_not_answers():
    text = ("# Aid to Ukraine\n\nBy A. Writer\n\n## The February package\n\n"
            "Japan pledged $5.5 billion. It came on the first anniversary.\n\n## Evacuees\n\nAbout 2,000 came.\n")
    passages = split_passages(text, "a.md", "Aid to Ukraine", date="2024-03-04")
    body = [p for p in passages if len(p.skip) < len(p.sentences)]
    assert [p.section for p in body] == ["The February package", "Evacuees"]
    for p in passages:
        for i, (s, e) in enumerate(p.sentences):
            if text[s:e].startswith(("#", "By ")):
                assert i in p.skip
    assert all(p.date == "2024-03-04" for p in passages)


def test_pdf_lines_are_reflowed_into_paragraphs_without_running_headers():
    first = ("Japan's rules on exporting defence equipment changed twice because of the war in\n"
             "Ukraine. In March 2022 the implementation guidelines were amended so that\n"
             "gear could be given.\n"
             "Key points\n"
             "• Everything sent has been non-lethal: body armour, helmets and drones for the\n"
             "army.\n")
    later = "The ban on supplying lethal equipment to a country at war is still in place, and\nit matters.\n"
    last = "Japan's contribution to air defence is indirect: it refills the stocks of the United\nStates.\n"
    pages = [f"Brief No. 7 | Monitor\n{body}Page {n} of 3\n" for n, body in enumerate((first, later, last), 1)]
    text = reflow_pdf_pages(pages)
    assert "Brief No. 7" not in text and "Page" not in text
    assert "because of the war in Ukraine. In March 2022 the implementation guidelines" in text
    assert "\n\nKey points\n• Everything sent has been non-lethal: body armour, helmets and drones for the army." in text
    assert "country at war is still in place, and it matters." in text


def test_html_lists_tables_and_headings(tmp_path: Path):
    f = tmp_path / "p.html"
    f.write_text("<html><head><title>T</title></head><body><h1>Big headline</h1>"
                 "<p class='byline'>By Someone</p><ul><li>robots</li><li>vaccines</li></ul>"
                 "<table><tr><th>Project</th><th>Stake</th></tr><tr><td>Sakhalin-2</td><td>12.5%</td></tr></table>"
                 "<p>Japan kept its stakes.</p></body></html>", encoding="utf-8")
    (tmp_path / "p.html.meta.json").write_text('{"title": "Sidecar title", "date": "2024-07-15"}', encoding="utf-8")
    doc = load_source(f, tmp_path)
    lines = doc.text.splitlines()
    assert "• robots" in lines and "Sakhalin-2 | 12.5%" in lines
    assert doc.title == "Sidecar title" and doc.date == "2024-07-15"
    heading_starts = {doc.text.index("Big headline"), doc.text.index("By Someone")}
    assert heading_starts <= set(doc.heading_lines)


_ARTICLE = ("Japan on Friday approved a new round of sanctions against Russia, freezing the assets of 36 more "
            "people and banning exports to dozens of organisations. ") * 3


def test_a_saved_web_page_keeps_its_article_and_drops_the_site_around_it(tmp_path: Path):
    # a page saved from a news site: a cookie banner, menus, related headlines and a footer around the story
    f = tmp_path / "saved.html"
    f.write_text(
        "<html><head><title>Japan widens sanctions | Example News</title>"
        "<meta property='article:published_time' content='2023-01-27T09:00:00Z'></head><body>"
        "<div id='cookie-banner'>We use cookies to improve our service. <a href='/privacy'>More info</a></div>"
        "<nav><ul><li><a href='/'>Home</a></li><li><a href='/world'>World</a></li><li><a href='/asia'>Asia</a></li></ul></nav>"
        "<article><h1>Japan widens sanctions</h1>"
        f"<p>{_ARTICLE}</p><p>Deputy Chief Cabinet Secretary Seiji Kihara said Japan would keep tough sanctions in place "
        "and work with the Group of Seven on the matter for as long as the war continues in Ukraine.</p></article>"
        "<aside><h2>Related</h2><ul><li><a href='/x'>Japan pledges $9 billion to Atlantis</a></li></ul></aside>"
        "<footer><p>© Example News. All rights reserved. <a href='/terms'>Terms</a></p></footer></body></html>",
        encoding="utf-8")
    doc = load_source(f, tmp_path)
    assert "Seiji Kihara said Japan would keep tough sanctions" in doc.text
    for chrome in ("cookies", "Home", "Atlantis", "All rights reserved"):
        assert chrome not in doc.text, chrome
    assert doc.title == "Japan widens sanctions"  # the article's headline, not "… | Example News"
    assert doc.date == "2023-01-27"  # from the page's markup, when no sidecar gives one


def test_a_document_written_as_html_is_kept_line_for_line(tmp_path: Path):
    # no menus or footers: nothing is extracted away, every heading stays (the extractor would drop some)
    f = tmp_path / "clean.html"
    f.write_text(f"<html><body><h1>Title</h1><h2>A section</h2><p>{_ARTICLE}</p><h2>Another</h2><p>Short.</p>"
                 "</body></html>", encoding="utf-8")
    doc = load_source(f, tmp_path)
    assert doc.text.splitlines() == ["Title", "A section", _ARTICLE.strip(), "Another", "Short."]
    assert doc.date == ""


def test_a_word_hyphenated_across_pdf_lines_is_joined():
    # "govern-" / "ment" is one word to search and quote; a hyphen inside a line stays
    page = ("Japan imposed sanctions on Russian banks and the govern-\nment froze the assets of the central bank in a\n"
            "coordinated move with its Group of Seven partners, officials said on Tuesday in a well-\nKnown statement.\n")
    text = reflow_pdf_pages([page])
    assert "the government froze" in text and "well- Known" in text  # a capital after the hyphen: not a broken word


def test_a_word_document_reads_in_order_with_its_headings_lists_and_tables(tmp_path: Path):
    import docx

    d = docx.Document()
    d.add_heading("Japan's Ukraine support", level=0)
    d.add_heading("Sanctions", level=1)
    d.add_paragraph("Japan froze the assets of 36 more people on 27 January 2023.")
    d.add_paragraph("robots", style="List Bullet")
    d.add_paragraph("vaccines", style="List Bullet")
    table = d.add_table(rows=2, cols=2)
    for (r, c), value in {(0, 0): "Project", (0, 1): "Stake", (1, 0): "Sakhalin-2", (1, 1): "12.5%"}.items():
        table.cell(r, c).text = value
    d.add_paragraph("Tokyo kept its stake.")
    d.save(tmp_path / "brief.docx")
    doc = load_source(tmp_path / "brief.docx", tmp_path)
    assert doc.text.splitlines() == ["Japan's Ukraine support", "Sanctions",
                                     "Japan froze the assets of 36 more people on 27 January 2023.", "• robots",
                                     "• vaccines", "Project | Stake", "Sakhalin-2 | 12.5%", "Tokyo kept its stake."]
    assert doc.title == "Japan's Ukraine support"
    assert set(doc.heading_lines) == {0, doc.text.index("Sanctions")}


def test_a_corrupt_word_document_says_what_to_do(tmp_path: Path):
    from assistant.errors import DocumentError

    (tmp_path / "bad.docx").write_bytes(b"PK\x03\x04 not really a zip")
    (tmp_path / "text.docx").write_text("plain text renamed", encoding="utf-8")
    for name in ("bad.docx", "text.docx"):
        with pytest.raises(DocumentError) as err:
            load_source(tmp_path / name, tmp_path)
        assert "Word document" in str(err.value) and "docx" in err.value.hint


def test_a_broken_sidecar_costs_only_its_metadata(tmp_path: Path, caplog):
    f = tmp_path / "a.md"
    f.write_text("Japan acted.\n", encoding="utf-8")
    (tmp_path / "a.md.meta.json").write_text("{not json", encoding="utf-8")
    with caplog.at_level("WARNING"):
        doc = load_source(f, tmp_path)
    assert doc.text == "Japan acted.\n" and doc.date == "" and doc.title == "A"
    assert any("meta.json" in r.getMessage() for r in caplog.records)


def test_key_terms_names_figures_months_ordinals():
    got = [(k.text, k.kind) for k in key_terms("What did the G7 pledge in the second round of April 2023 to Ukraine?")]
    assert got == [("G7", "name"), ("second", "ordinal"), ("April", "month"), ("2023", "year"), ("Ukraine", "name")]
    # a possessive ends a name; a greeting or a word opening a sentence is not a name
    got = [k.text for k in key_terms("Quick question: what is Japan's February package worth? Thanks")]
    assert got == ["Japan", "February"]


def test_key_terms_forgive_a_typo_and_use_aliases():
    kishida = key_terms("Why did Kishda fly to Poland?")[0]
    assert kishida.found_in({"kishida", "fli"}) == 1.0
    pm = next(k for k in key_terms("What did the Japanese PM say?") if k.text == "Japanese PM")
    assert pm.found_in({"japanes", "prime", "minist"}) == 1.0


def test_pasted_markup_is_removed_from_questions():
    assert clean_question("<p>How many <b>Ukrainians</b> has Japan taken in?</p>") == \
        "How many Ukrainians has Japan taken in?"
    assert clean_question("**When** did it start?") == "When did it start?"


def test_numbers_match_with_or_without_thousands_separators():
    assert words("about 2,000 people") == words("about 2000 people")


@pytest.mark.parametrize(
    ("question", "sentence", "span"),
    [
        ("How many SESU specialists will CMAC train?", "CMAC has scheduled a course for 14 SESU specialists from August 7 to 21.",
         "14 SESU specialists"),
        ("How long did Kishida and Zelensky meet?", "Kishida and Zelensky met for about 50 minutes.", "about 50 minutes"),
        ("What interest rate did the loan carry?", "The loan of $1.5 billion carried 1.0% interest over thirty years.", "1.0%"),
        ("How much money did Kishida pledge?", "Kishida announced a package worth $5.5 billion for Ukraine.", "$5.5 billion"),
        ("When did he give the keynote?", "It came in Singapore on June 10, 2022.", "on June 10, 2022"),
        ("Who addressed the leaders?", "Inside they heard from Keiko Ogura, an 85-year-old survivor.", "Keiko Ogura"),
        ("How many diplomats did Japan expel?", "On April 8, Japan ordered eight Russian diplomats to leave.", "eight Russian diplomats"),
        ("How many people came in 2022?", "Visitors were few in 2022.", ""),  # a year is not a count
    ],
)
def test_asked_span(question, sentence, span):
    assert asked_span(Asked.read(answer_type(question), question), sentence) == span


def test_answer_types():
    assert answer_type("How much money did Japan pledge?") == "money"
    assert answer_type("What share of people approved?") == "number"
    assert answer_type("On what date did the ban take effect?") == "date"
    assert answer_type("Where were the machines headed?") == "name"
    assert answer_type("Why did Japan act?") == "reason"


def test_a_changed_year_month_or_ordinal_is_a_conflict():
    assert conflicts(slots("in April 2023"), slots("On April 27, 2022, Moscow expelled eight Japanese diplomats."))
    assert conflicts(slots("the fourth phase"), slots("The grant is the third phase of the programme."))
    assert not conflicts(slots("in April 2022"), slots("Kyodo's 16–17 April survey found 73.7%."))  # no year stated
    assert not conflicts(slots("in 2022"), slots("Japan acted quickly."))


def test_this_last_and_next_year_count_from_when_the_document_was_written():
    hosts = "Japan holds the G7 presidency this year and will host the summit in Hiroshima in May."
    assert implied_years(hosts, 2023) == {"2023"}
    assert conflicts(slots("in May 2021"), (implied_years(hosts, 2023), *slots(hosts)[1:]))
    assert not conflicts(slots("in May 2023"), (implied_years(hosts, 2023), *slots(hosts)[1:]))
    assert implied_years("Exports fell last year and will recover next year.", 2024) == {"2023", "2025"}
    assert implied_years("The 16–17 April survey found 73.7%.", 2024) == set()  # a month alone is not resolved
    assert implied_years("This year's budget, unlike 2022's, …", 2023) == set()  # a named year is what it states
    assert implied_years(hosts, None) == set()  # an undated document


def test_tidy_drops_markup_and_linking_words_but_not_meaning():
    assert tidy("- **12 May 2022** — The ban took effect.") == "12 May 2022 — The ban took effect."
    assert tidy("In addition, Japan has taken in about 2,000 Ukrainians.") == \
        "Japan has taken in about 2,000 Ukrainians."
    assert tidy("For one, Japanese society came out in support.") == "Japanese society came out in support."


@pytest.mark.parametrize("question", [
    "Which FAQ explains the 1984 zone agreement?",
    "which timeline says the NATO office idea goes back to 2007",
    "Which meeting minutes record the vote?",
    "Which opinion piece argues for a review?",
    "In which news story is the summit mentioned?",
    "Which Q&A explains the rate cut?",
    "Which press release sets out the tax cap?",
])
def test_every_kind_of_document_can_be_asked_for(question):
    assert analyse(question, question, AnyCorpus()).which_document


@pytest.mark.parametrize("question", [
    "Which post did Kishida hold in 2021?",
    "Which artillery piece did Japan refuse to send?",
    "What share of respondents backed the sanctions?",
])
def test_a_question_about_something_else_is_not_a_which_document_question(question):
    assert not analyse(question, question, AnyCorpus()).which_document


def test_a_demonym_a_capital_a_mixed_case_acronym_or_a_common_abbreviation_is_not_an_unknown_name():
    from assistant.index.lexical import LexicalIndex

    text = ("Chile held a referendum on a new constitution in 2022. Canada's government objected. "
            "The Bank of England raised rates again. The chief executive of Volvo resigned in March. "
            "Teachers in Los Angeles struck for a week.")
    corpus = LexicalIndex.build([("p1", text, "a.txt", "A")])

    def unknown(question: str) -> tuple[str, ...]:
        return analyse(question, question, corpus).unknown_terms

    assert unknown("What share of Chilean voters rejected the draft?") == ()  # countryinfo: Chile's demonym
    assert unknown("Why did Ottawa object?") == ()  # Canada's capital speaks for its government
    assert unknown("How many rate hikes did the BoE make?") == ()  # spelled out as "Bank of England"
    assert unknown("When did Volvo's CEO resign?") == ()  # an abbreviation of common nouns
    assert unknown("How many COVID cases did Volvo report?") == ("COVID",)  # a named thing the text lacks
    assert unknown("How long did LA teachers strike?") == ()  # a two-word name's initials
    assert unknown("What share of Peruvian voters rejected the draft?") == ("Peruvian",)  # Peru is not named


def test_two_letter_acronyms_come_only_from_two_word_names():
    from assistant.index.lexical import acronyms_of

    found = acronyms_of("Teachers in Los Angeles struck, and the Japan Bank for International Cooperation lent.")
    assert "la" in found and "jbic" in found
    assert not {"jb", "ic", "bi"} & found  # inside a longer name two letters match by chance
