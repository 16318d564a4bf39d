"""The answer path, in the order a question passes through it.

1. ``question`` — the question analysed once: what it asks for, the names and
   figures it names, its dates, follow-ups resolved (``followup``).
2. ``evidence`` — every sentence of the retrieved passages as a candidate with
   named features (``FEATURES``); ``spans`` reads what a sentence holds.
3. ``decision`` — one component (``Ranker``) that ranks the candidates and
   decides: answer with these evidence windows (``windows``), or refuse, and
   which of its named steps (``STEPS``) decided. Its weights are data
   (``weights.json``).
4. An answerer shapes the decision: ``extractive`` quotes it verbatim;
   ``generative`` asks an LLM (``llm``) and verifies every sentence (``verify``).

The word lists and patterns all of them read are in ``assistant.lexicon``.
"""
