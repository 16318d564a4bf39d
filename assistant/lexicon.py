"""Every word list and pattern the answer path reads English with, in one place.

Why one module: how a question is read (what kind of thing it asks for, whether
it asks for a document, a list, a claim), what a sentence holds (a figure, a
date, a name, a back-reference) and which words carry no topic are language
knowledge, not logic. Kept together, a reader sees the whole vocabulary the
answerer knows and changes it once; the stages (``answering.question``,
``answering.spans``, ``answering.evidence``, ``answering.windows``) only use it.

Patterns named ``ASKS_*`` read questions, the others read source sentences.
Nothing here names a document or an eval question: these are shapes of English
news text, so they carry to folders nobody tuned for.
"""

from __future__ import annotations

import re

# -- words without topic

# Question words and fillers carry no topical signal; the rest is a standard
# short English stop list.
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have having
    he her here hers herself him himself his how i if in into is it its itself just me more most my myself no
    nor not now of off on once only or other our ours ourselves out over own same she should so some such than
    that the their theirs them themselves then there these they this those through to too under until up very
    was we were what when where which while who whom why will with would you your yours yourself yourselves
    s t also many much did does whose whats tell say said according article text source sources please
    give describe explain mention mentioned list kind sort way ways one""".split()
)

# Common abbreviations and demonyms of the entities news text names. General
# English knowledge, not tuned to any question: "US" should match "United
# States", "Chinese" should match "China".
ALIAS_GROUPS = [
    ["US", "U.S.", "USA", "United States", "America", "American", "Americans"],
    ["UK", "U.K.", "United Kingdom", "Britain", "British"],
    ["EU", "European Union", "Brussels"],
    ["UN", "United Nations"],
    ["PM", "Prime Minister"],
    ["USSR", "Soviet Union", "Soviet"],
    ["NATO", "North Atlantic Treaty Organization"],
    ["DPRK", "North Korea", "North Korean"],
    ["PRC", "China", "Chinese", "Beijing"],
    ["Japan", "Japanese", "Tokyo"],
    ["Russia", "Russian", "Russians", "Moscow", "Kremlin"],
    ["Ukraine", "Ukrainian", "Ukrainians", "Kyiv", "Kiev"],
    ["Korea", "Korean", "Koreans"],
    ["Taiwan", "Taiwanese", "Taipei"],
    ["Germany", "German", "Germans", "Berlin"],
    ["France", "French", "Paris"],
    ["India", "Indian", "Indians"],
    ["Israel", "Israeli", "Israelis"],
    ["Turkey", "Turkish"],
    ["Canada", "Canadian", "Canadians"],
    ["Europe", "European", "Europeans"],
    ["Poland", "Polish", "Warsaw"],
    ["Belarus", "Belarusian", "Minsk"],
    ["Jan", "January"], ["Feb", "February"], ["Mar", "March"], ["Apr", "April"], ["Jun", "June"], ["Jul", "July"],
    ["Aug", "August"], ["Sep", "Sept", "September"], ["Oct", "October"], ["Nov", "November"], ["Dec", "December"],
    ["percent", "per cent", "%"],
]

# abbreviations of common nouns, not names: a question that says "CEO" or "TV" where the document writes "chief
# executive" or "television" names nothing the sources lack (``question.analyse``: ``unknown_terms``)
GENERIC_ACRONYMS = frozenset(
    """ceo cfo coo cto cio md tv ev evs gw gwh mw mwh kw kwh tw twh id gdp gnp vat ai it pr hq ipo ceos mp mps mep
    meps pm mou mous faq q1 q2 q3 q4 h1 h2 fy nb ps am""".split())

# -- what a question asks for (``question.answer_type`` reads them on the lower-cased question)

ASKS_HOW_MUCH = re.compile(r"\bhow much\b|\bwhat amount\b")
ASKS_NUMBER = re.compile(
    r"\bhow (many|much|long|old|large|big|far)\b|\b(what|which)(?: is| was| are| were)?(?: the| [\w'’-]+){0,3}"
    r" (percentage|percent|share|proportion|number|amount|portion|fraction|rate|price|figure|total|value|size)"
    r"\b|\bwhat per ?cent\b"
)
ASKS_DATE = re.compile(
    r"\bwhen\b|\bwhat (year|date|day|month)\b|\bsince when\b|\bon which (date|day)\b|\bwhich (year|month|date|day)\b"
    r"|\buntil what\b|\bby what date\b"
)
ASKS_REASON = re.compile(
    r"^\s*why\b|\bwhy (do|does|did|is|are|was|were|would|has|have|had)\b|\breasons?\b|\bhow come\b|\bmotiv"
    r"|\bwhat (drove|drives|prompted|led)\b|\bpurpose\b"
)
ASKS_NAME = re.compile(
    r"\bwho\b|\bwhom\b|\bwhose\b|\bwhich (person|leader|official|minister|agency|ministry|company|companies|"
    r"country|countries|party|parties|firm|firms|body|bodies|organi[sz]ation|bank|banks|pollster|city|town|"
    r"region|regions|island|islands|place)\b|\bname the\b|\bwhere\b"
)
# "how much" about money wants an amount of money, not any number ("3139 Ukrainians")
ASKS_MONEY = re.compile(
    r"\b(money|aid|fund(s|ing)?|pledged?|pa(y|id)|costs?|sp(e|a)nd|spent|worth|budget|loans?|grants?|"
    r"dollars|yen|euros|donated?|contributed?|financ(e|ial)|price|package|assistance|support)\b"
)
ASKS_PERCENT = re.compile(r"\b(percentage|percent|per ?cent|share|proportion|rate|fraction)\b|%", re.I)
ASKS_DURATION = re.compile(r"\bhow long\b|\bfor how many (years|months|weeks|days|hours|minutes)\b", re.I)
ASKS_AGE = re.compile(r"\bhow old\b|\bwhat age\b|\baged?\b", re.I)
HOW_MANY_NOUN = re.compile(r"\bhow many ((?:[\w-]+\s+){0,2}?[\w-]+)", re.I)

# a question that asks what someone claims: then the claim is the answer
ASKS_CLAIM = re.compile(r"\baccording to\b|\b(say|says|said|claim\w*|argue\w*|accus\w*|blam\w*|believ\w*|"
                        r"allege\w*|insist\w*|assert\w*)\b", re.I)
# a question whose answer is several items: the list around the best sentence is shown, as far as it fits
ASKS_LIST = re.compile(
    r"\bwhat (kinds?|types?|sorts?|forms?) of\b|\bwhich (measures|steps|items|goods|products|sectors|areas|fields|"
    r"categories|countries|companies|banks|organi[sz]ations)\b|\blist\b|\bwhat (measures|steps|goods|items|"
    r"equipment|sanctions|support|help|aid|assistance|categories|conditions|commitments)\b|\bwhat else\b",
    re.I,
)
# every kind of document a folder holds (news, releases, explainers, FAQs, speeches, transcripts, minutes, opinion,
# timelines…), with the words writers put before some of them ("news story", "meeting minutes", "opinion piece")
DOCUMENT_NOUN = (r"(?:(?:news|media|press|opinion|meeting|board|council|committee|policy|fact|research|annual|"
                 r"government|official|newspaper|magazine|blog|web|podcast|interview|briefing) )?"
                 r"(?:doc|document|article|report|source|brief|briefing|story|piece|paper|text|file|analysis|explainer|"
                 r"release|feature|wire|publication|outlet|transcript|digest|pdf|page|faq|summary|summarie|minute|guide|"
                 r"timeline|speech|speeche|interview|column|editorial|op-ed|memo|bulletin|newsletter|sheet|factsheet|"
                 r"overview|q&a|qa|notice|blog|note)s?")
ASKS_DOCUMENT = re.compile(
    rf"\b(which|what) {DOCUMENT_NOUN}\b|\bin which {DOCUMENT_NOUN}\b|"
    r"\bwhere (can|could|do|would|should) (i|we|you) (read|find|see)\b",
    re.I,
)

# the tokens of a question ``question.key_terms`` reads: words, numbers (with a % sign), sentence punctuation
# a figure with thousands separators ("2,302") is one token, as ``text.words`` reads it ("2302")
QUESTION_TOKEN = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?(?:%|[A-Za-z]+)?|[A-Za-z0-9][A-Za-z0-9'’.-]*[A-Za-z0-9]%?|\d%?|[.!?:;]")
# months and ordinals a question can name (the specific event or item asked about)
ORDINAL_WORDS = frozenset("second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth".split())
ORDINAL_DIGITS = re.compile(r"^\d{1,2}(st|nd|rd|th)$", re.I)
MONTH_WORDS = frozenset(
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec".split()
)

# -- follow-ups: a question that leans on the conversation

ANAPHORA = re.compile(
    r"\b(it|its|it's|he|him|his|she|her|hers|they|them|their|theirs|this|that|these|those|there|then|"
    r"the same|such|so|also|too|else|other|another|more|further)\b",
    re.I,
)
CONTINUATION = re.compile(r"^\s*(and|but|so|also|what about|how about|why|how come|what else|anything else)\b", re.I)
# names in the last reply to carry into a follow-up: "Fumio Kishida", "NATO"
PROPER_NAME = re.compile(r"\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)+\b|\b[A-Z]{2,}\b")

# -- what a sentence holds

# a quantity: digits that are not a year, or a number word ("forty-nine", "hundreds")
QUANTITY = re.compile(
    r"(?<![\w,.-])(?!(?:1[89]|20)\d\d(?!\d))\d[\d,.]*|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundreds?|thousands?|millions?|billions?|percent|dozens?)\b",
    re.I,
)
DATE = re.compile(
    r"\b(1[89]\d\d|20\d\d|January|February|March|April|May|June|July|August|September|October|November|December|"
    r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|"
    r"spring|summer|autumn|fall|winter)\b",
)
# a person or body: two capitalised words in a row ("Shinzo Abe") or a role noun
PERSON_OR_BODY = re.compile(
    r"\b[A-Z][a-z]+\s+[A-Z][a-z]+\b|\b[A-Z]{2,}\b|\b(?i:ministers?|president|officials?|leaders?|agency|ministry|"
    r"government|parliament|public|society|kremlin|chancellor|secretary|spokes(person|man|woman)|cabinet|company|"
    r"firm|bank|party)\b"
)
# a span of time: "about 12 minutes", "ten years", "a week", "48-hour"
DURATION = re.compile(r"\b(?:\d[\d,.]*|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|"
                      r"several|few|many)[\s-]+(?:\w+[\s-]+)?(?:seconds?|minutes?|hours?|days?|weeks?|months?|years?|decades?)\b",
                      re.I)
MONEY = re.compile(r"[$€£¥]\s?\d|\b(dollars?|yen|euros?|pounds? sterling|rubles?|roubles?|USD|JPY|EUR|GBP|US\$)\b")
PERCENT = re.compile(r"%|\bper ?cent\b|\bpercent\b", re.I)

# a sentence that opens by referring back to the one before it ("It is designed to…", "That amount…")
ANAPHORIC_START = re.compile(
    r"^[\W_]*(it|its|this|that|these|those|they|their|them|such|both|he|his|she|her|"
    r"the (move|step|decision|country|government|two|figure|amount|sum|total|cap|limit|plan|package|measure|"
    r"deal|number|money|ban|aid)|to this end|for this reason|as a result|therefore|thus|"
    r"in other words|that is why|this is why|of (that|this|these|those|the total|the sum|the amount))\b",
    re.I,
)

# a sentence that reports what someone claims or believes: for "why" questions it is the
# motive somebody alleges, which the source may be reporting only to dispute
ATTRIBUTED = re.compile(
    r"\b(claim(s|ed)?|alleg(e|es|ed|edly)|accus(e|es|ed)|insist(s|ed)?|argu(e|es|ed)|believ(e|es|ed)|assert(s|ed)?|"
    r"portray(s|ed)?|misread(s|ing)?|mistaken(ly)?|wrongly|propaganda|blam(e|es|ed))\b", re.I)

# the years, months and ordinals a text states (``spans.slots``): what a near-miss question changes
YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
MONTH = re.compile(r"\b(Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
                    r"Sep(?:t|tember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\b")
ORDINAL = re.compile(r"\b(first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth)\b", re.I)
# a year named relative to when the document was written ("this year" in a 2023 report is 2023)
RELATIVE_YEAR = re.compile(r"\b(this|last|next)\s+year\b", re.I)
RELATIVE_OFFSET = {"this": 0, "last": -1, "next": 1}

# -- the span that answers a how-much / how-many / when / who question (``spans.asked_span``)

AMOUNT_SPAN = re.compile(
    r"(?:\b(?:about|around|roughly|some|nearly|almost|over|more than|less than|up to|at least|a further|another|"
    r"an additional|a total of)\s+)?(?:(?:US|USD|JPY)\s?\$?|[$€£¥])\s?\d[\d,.]*(?:\s?(?:million|billion|trillion|bn|m)\b)?"
    r"|(?:\b(?:about|around|roughly|some|nearly|almost|over|more than|up to)\s+)?\d[\d,.]*\s?(?:million|billion|trillion)?"
    r"\s?(?:dollars|yen|euros|pounds|roubles|rubles)\b|(?:USD|JPY|EUR)\s?\d[\d,.]*(?:\s?(?:million|billion|trillion))?",
    re.I,
)
COUNT_SPAN = re.compile(
    r"(?:\b(?:about|around|roughly|some|nearly|almost|over|more than|fewer than|less than|up to|at least|just|only)\s+)?"
    r"(?:\b\d[\d,.]*(?:\s?(?:%|per ?cent|percent))?|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:-\w+)?|hundreds|thousands|dozens)\b)"
    r"(?:\s?(?:million|billion|thousand|hundred)\b)?",
    re.I,
)
DATE_SPAN = re.compile(
    r"(?:(?:on|since|until|by|from)\s+)?(?:(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday),?\s+)?"
    r"(?:\d{1,2}(?:[–-]\d{1,2})?\s+)?(?:January|February|March|April|May|June|July|August|September|October|"
    r"November|December|Jan\.?|Feb\.?|Mar\.?|Apr\.?|Jun\.?|Jul\.?|Aug\.?|Sept?\.?|Oct\.?|Nov\.?|Dec\.?)"
    r"(?:\s+\d{1,2}\b(?:[–-]\d{1,2}\b)?)?(?:,?\s+\d{4}\b)?|\b(?:1[89]|20)\d\d\b"
)
NAME_SPAN = re.compile(r"\b(?:[A-Z][a-zA-Z'’.-]+|[A-Z]{2,})(?:\s+(?:of|the|de|van|von|for|and|&)?\s*"
                        r"(?:[A-Z][a-zA-Z'’.-]+|[A-Z]{2,}))*")
# a day of the month next to its month: not a count
NEXT_TO_MONTH = re.compile(
    r"(January|February|March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|"
    r"Jul|Aug|Sept?|Oct|Nov|Dec)\.?\s+\d{1,2}\b(?!,?\d)|\b\d{1,2}(?:[–-]\d{1,2})?\s+(January|February|March|April|May|"
    r"June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\b"
)
# a unit of time right after a number ("five days"): a duration
TIME_UNIT = re.compile(r"^\s*(years?|months?|weeks?|days?|hours?|minutes?|decades?)\b", re.I)
# an age right after a number ("aged 34", "a 19-year-old")
AGE_UNIT = re.compile(r"^[\s-]*(years?|-year-old|year-old)", re.I)
# the words after a count that may name what is counted ("14 SESU specialists")
FOLLOWING_WORDS = re.compile(r"^(?:\s+(?![Tt]o\b|[Oo]f\b|[Ii]n\b|[Oo]n\b|[Aa]nd\b|[Ff]or\b|[Ff]rom\b)[\w'’-]+){1,2}")

# -- shaping what is shown

# connectives that only link the sentence to the one before: dropped from the front of what is shown
LEADING_CONNECTIVE = re.compile(
    r"^(in addition|additionally|also|for one|moreover|furthermore|besides|separately|meanwhile|on top of that|"
    r"at the same time|what is more|and|but|so|yet|however|still)\s*,?\s+(?=\S)",
    re.I,
)
