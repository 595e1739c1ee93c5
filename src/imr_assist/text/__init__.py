"""General text rules used by every stage (no I/O, no models).

lexicon.py  the domain lexicon, query expansion and request normalisation
"""
