"""A generated corpus of varied policy-like text, for benchmarks at 1k-100k passages.

Why not copies of one paragraph: identical passages collapse in the index (same
ids, same vectors) and make BM25 and HNSW look faster and better than they are.
Here every paragraph is new: sentences come from templates filled with random
countries, officials, agencies, sectors, amounts and dates. By default a quarter
of them (``ontopic``) name the article's own actors (Japan, Russia, Ukraine), so
the distractors compete for the same entities the questions ask about, the way
a folder of other policy briefs would: "Japan pledged $420 million to the
refugee council..." is a fair rival to the article's sentence on refugees.

``salad`` (0 by default; the stress test) mixes in word-level recombinations
(a first-order Markov chain) of the real article, with every number replaced,
so the corpus shares the article's vocabulary without restating its facts.
Those are adversarial beyond any real folder: ungrammatical runs of the
article's own phrases, which a bi-encoder and BM25 rank as high as the real
sentences (only a model that reads fluency, such as a cross-encoder, tells them
apart).

The real article is copied in unchanged, so answer quality can be checked at
every scale with questions whose answers only it contains.
"""

from __future__ import annotations

import random
import re
import shutil
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARTICLE = ROOT / "knowledge" / "japan-russia-ukraine-policy.txt"

COUNTRIES = [
    "Canada", "Norway", "Chile", "Kenya", "Vietnam", "Portugal", "Finland", "Ghana", "Peru", "Austria",
    "Thailand", "Morocco", "Ireland", "Mongolia", "Uruguay", "Estonia", "Senegal", "Malaysia", "Iceland",
    "Jordan", "Colombia", "Slovenia", "Tanzania", "Nepal", "Croatia", "Paraguay", "Latvia", "Zambia",
    "Ecuador", "Cyprus", "Bhutan", "Namibia", "Georgia", "Armenia", "Tunisia", "Belgium", "Denmark",
]
SURNAMES = [
    "Halvorsen", "Okafor", "Tanaka", "Moreau", "Kowalski", "Lindqvist", "Mbeki", "Ferreira", "Novak",
    "Castellanos", "Haddad", "Virtanen", "Osei", "Dubois", "Petrov", "Nakamura", "Quispe", "Brennan",
    "Sandoval", "Achterberg", "Oyelaran", "Rasmussen", "Kiplagat", "Zielinski", "Amaral", "Ishikawa",
]
ROLES = ["Foreign Minister", "Finance Minister", "Prime Minister", "Trade Minister", "Defence Minister",
         "central bank governor", "ambassador", "energy secretary", "chief negotiator", "deputy minister"]
AGENCIES = ["the development bank", "the export credit agency", "the energy regulator", "the customs service",
            "the refugee council", "the national security council", "the coast guard", "the grain board",
            "the sovereign wealth fund", "the parliamentary budget office", "the maritime authority"]
SECTORS = ["semiconductors", "liquefied natural gas", "fertiliser", "rare earths", "wheat", "shipbuilding",
           "rail freight", "pharmaceuticals", "aluminium", "solar panels", "fisheries", "timber", "nickel",
           "cobalt", "civil aviation", "cement", "textiles", "potash", "lithium", "coffee"]
MEASURES = ["export controls", "an import ban", "a price cap", "asset freezes", "visa restrictions",
            "a loan guarantee", "tariff relief", "a reconstruction fund", "humanitarian grants",
            "a reserve release", "port inspections", "a procurement freeze", "debt rescheduling"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]
ACTORS = ["Japan", "Russia", "Ukraine"]  # the article's own; ``ontopic`` of template sentences name one
CITIES = ["Tromsø", "Valparaíso", "Mombasa", "Da Nang", "Porto", "Tampere", "Kumasi", "Arequipa", "Graz",
          "Chiang Mai", "Tangier", "Cork", "Erdenet", "Salto", "Tartu", "Thiès", "Ipoh", "Akureyri"]

TEMPLATES = [
    "In {month} {year}, {country} announced {measure} covering {sector}, worth about {amount}.",
    "{role_title} {name} of {country} said the {measure_short} would stay in place until {month} {year2}.",
    "{agency_cap} of {country} estimated that {sector} imports fell by {pct} percent in {year}.",
    "The talks in {city} ended with {country} and {country2} agreeing on {measure} for {sector}.",
    "{country} pledged {amount} to {agency} to offset the loss of {sector} exports.",
    "Critics in {country} argued that {measure} on {sector} hurt small firms more than large ones.",
    "According to {agency}, about {count} workers in {sector} were affected by the new rules in {year}.",
    "{name}, the {role} of {country}, visited {city} on {day} {month} to discuss {sector}.",
    "The parliament of {country} approved {measure} by {votes} votes to {votes2} after a long debate.",
    "Shipments of {sector} from {city} rose to {tons} tonnes in the {quarter} quarter of {year}.",
    "{country2} joined {country} in {measure}, citing the risk to its {sector} supply chains.",
    "A report by {agency} found that {pct} percent of {sector} contracts in {country} were renegotiated.",
    "{role_title} {name} warned that {measure} could raise {sector} prices by {pct} percent.",
    "Officials in {country} expected the {measure_short} to cost {amount} over {n} years.",
    "The {measure_short} was extended to {sector} in {month}, {n} months after it first applied to {sector2}.",
    "{country} received {count} applications under its new {sector} resettlement programme by {month} {year}.",
    "Negotiators from {country} and {country2} met {n} times in {city} before the {sector} deal was signed.",
]

_MEASURE_SHORT = {"export controls": "export controls", "an import ban": "ban", "a price cap": "price cap",
                  "asset freezes": "freeze", "visa restrictions": "visa rules", "a loan guarantee": "guarantee",
                  "tariff relief": "relief", "a reconstruction fund": "fund", "humanitarian grants": "grants",
                  "a reserve release": "release", "port inspections": "inspections",
                  "a procurement freeze": "freeze", "debt rescheduling": "rescheduling"}

_WORD = re.compile(r"\S+")
_NUMBER = re.compile(r"\d[\d,.]*")
_UNITS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
          "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
# a spelled-out number ("forty-nine", "thirty-six", "three"): a fact as much as "49" is
_NUMBER_WORD = re.compile(
    r"\b(?:(?:" + "|".join(_TENS) + r")(?:-(?:" + "|".join(_UNITS[:9]) + r"))?|" + "|".join(_UNITS) + r")\b",
    re.I,
)


def _number_word(rng: random.Random, avoid: str) -> str:
    """A random spelled-out number from 2 to 99, never ``avoid``."""
    while True:
        n = rng.randint(2, 99)
        tens, unit = divmod(n, 10)
        word = _UNITS[n - 1] if n < 20 else _TENS[tens - 2] + (f"-{_UNITS[unit - 1]}" if unit else "")
        if word != avoid.lower():
            return word


def _amount(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return f"${rng.randint(2, 950)} million"
    return f"{rng.randint(1, 90)}.{rng.randint(0, 9)} billion {rng.choice(['yen', 'euros', 'dollars', 'kroner'])}"


class ArticleChain:
    """First-order Markov chain over the article's words; numbers, digits or words, are re-drawn at random.

    The chain copies long runs of the article verbatim ("In addition, forty-nine Russian
    companies were banned…"), so a number left as it was would restate the article's
    facts in a distractor and make "only the article holds this answer" false.
    """

    def __init__(self, text: str) -> None:
        self.next: dict[str, list[str]] = defaultdict(list)
        self.starts: list[str] = []
        for line in text.splitlines():
            words = _WORD.findall(line)
            if len(words) < 6:
                continue
            self.starts.append(words[0])
            for a, b in zip(words, words[1:]):
                self.next[a].append(b)

    def sentence(self, rng: random.Random, min_words: int = 8, max_words: int = 28) -> str:
        word = rng.choice(self.starts)
        out = [word]
        while len(out) < max_words:
            options = self.next.get(word)
            if not options:
                break
            word = rng.choice(options)
            out.append(word)
            if len(out) >= min_words and word.endswith((".", "?", "!")):
                break
        s = " ".join(out)
        s = _NUMBER.sub(lambda m: str(rng.randint(2, 9999)), s)
        s = _NUMBER_WORD.sub(lambda m: _number_word(rng, m.group(0)), s)
        return s if s.endswith((".", "?", "!")) else s.rstrip(",;:") + "."


def template_sentence(rng: random.Random, ontopic: float = 0.0) -> str:
    measure = rng.choice(MEASURES)
    c1, c2 = rng.sample(COUNTRIES, 2)
    if rng.random() < ontopic:
        c1 = rng.choice(ACTORS)
    s1, s2 = rng.sample(SECTORS, 2)
    role = rng.choice(ROLES)
    votes = rng.randint(120, 400)
    agency = rng.choice(AGENCIES)
    year = rng.randint(2014, 2025)
    return rng.choice(TEMPLATES).format(
        month=rng.choice(MONTHS), year=year, year2=year + rng.randint(1, 4), country=c1, country2=c2,
        measure=measure, measure_short=_MEASURE_SHORT[measure], sector=s1, sector2=s2, amount=_amount(rng),
        role=role, role_title=role[0].upper() + role[1:], name=f"{rng.choice('ABCDEHJKLMNPRST')}. {rng.choice(SURNAMES)}",
        agency=agency, agency_cap=agency[0].upper() + agency[1:], pct=rng.randint(2, 68), count=f"{rng.randint(150, 98000):,}",
        city=rng.choice(CITIES), day=rng.randint(1, 28), votes=votes, votes2=rng.randint(20, votes - 10),
        tons=f"{rng.randint(1000, 900000):,}", quarter=rng.choice(["first", "second", "third", "fourth"]),
        n=rng.randint(2, 11),
    )


SALAD = 0.0  # default share of Markov-chain sentences: none; 0.3 is the stress test
ONTOPIC = 0.25  # default share of template sentences whose actor is Japan, Russia or Ukraine


def paragraph(rng: random.Random, chain: ArticleChain, max_chars: int = 850, salad: float = SALAD,
              ontopic: float = ONTOPIC) -> str:
    """3-6 sentences, under the splitter's passage size so one paragraph is one passage."""
    sentences: list[str] = []
    for _ in range(rng.randint(3, 6)):
        s = chain.sentence(rng) if rng.random() < salad else template_sentence(rng, ontopic)
        if sentences and len(" ".join(sentences)) + len(s) + 1 > max_chars:
            break
        sentences.append(s)
    return " ".join(sentences)


@dataclass
class CorpusInfo:
    folder: Path
    files: int
    paragraphs: int  # generated paragraphs (one passage each), excluding the article
    words: int


def generate(folder: Path, passages: int, *, seed: int = 5, per_file: int = 20,
             article: Path = ARTICLE, salad: float = SALAD, ontopic: float = ONTOPIC) -> CorpusInfo:
    """Write ``passages`` generated paragraphs in files of ``per_file``, plus the real article."""
    rng = random.Random(seed)
    text = article.read_text(encoding="utf-8")
    chain = ArticleChain(text)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    shutil.copy(article, folder / article.name)
    meta = article.with_name(article.name + ".meta.json")
    if meta.exists():
        shutil.copy(meta, folder / meta.name)
    words = 0
    files = 0
    for start in range(0, passages, per_file):
        paras = [paragraph(rng, chain, salad=salad, ontopic=ontopic) for _ in range(min(per_file, passages - start))]
        words += sum(len(p.split()) for p in paras)
        sub = folder / f"part{start // 10000:03d}"
        sub.mkdir(exist_ok=True)
        (sub / f"brief-{start // per_file:05d}.txt").write_text("\n\n".join(paras) + "\n", encoding="utf-8")
        files += 1
    return CorpusInfo(folder=folder, files=files + 1, paragraphs=passages, words=words)


def sample_questions(n: int, *, seed: int = 11) -> list[str]:
    """Unique questions in the corpus's vocabulary (so the query cache never answers them)."""
    rng = random.Random(seed)
    forms = [
        "What did {country} announce about {sector}?",
        "How much did {country} pledge to {agency}?",
        "Who is the {role} of {country}?",
        "Why did {country} impose {measure} on {sector}?",
        "When did talks in {city} on {sector} end?",
        "How many workers in {sector} were affected in {country}?",
        "What did {name} say about {measure}?",
    ]
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < n:
        q = rng.choice(forms).format(
            country=rng.choice(COUNTRIES), sector=rng.choice(SECTORS), agency=rng.choice(AGENCIES),
            role=rng.choice(ROLES), measure=rng.choice(MEASURES), city=rng.choice(CITIES),
            name=rng.choice(SURNAMES),
        )
        if q not in seen:
            seen.add(q)
            out.append(q)
    return out
