"""General text rules used by every stage (no I/O beyond reading the lexicon file, no models).

sentences.py  the sentence splitter and the cited-sentence splitter (verifier, ledger, LLM drafter)
tokens.py     the tokenizer and stemmer BM25, the gate, the composer and the verifier share
polarity.py   recommended / not recommended / insufficient evidence, and GRADE strength wording
regions.py    the body-region vocabulary readers assign and filters, CLI and UI offer
clean.py      control and invisible characters
lexicon.py    the domain lexicon (lexicon.txt), query expansion and request normalisation
"""
