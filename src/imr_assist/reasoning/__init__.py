"""Reasoning: which recommendation governs a request, whether the record meets it, the decision.

models.py           the types: Recommendation, Request, GuidelineFinding, CriterionCheck, Reasoning
recommendations.py  recommendation records read from a guideline at ingest
statements.py       where a guideline states them: numbered, label lines, grades, GRADE sentences
wording.py          the one strength vocabulary; direction, phase, population, intervention readers
request.py          the typed request: item, drugs, region, phase, quantities, documented facts
facts.py            case sentences as facts (negation by negspaCy), contradictions, drug names
matching.py         per guideline, the recommendation that governs the request
checklist.py        each criterion of the governing recommendation against the record
decision.py         the rule table: authority, direction, strength, checklist -> decision
pipeline.py         the run over an index: request -> findings -> checklist -> decision
"""
