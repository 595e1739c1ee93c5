"""Hybrid retrieval: dense (Chroma) + lexical (bm25s), fused with reciprocal rank fusion.

For each query: the lexical query is expanded with the domain lexicon; the request is
normalised (item, body region, post-operative context) for boosts; both sides are searched
with the same filters; the ranks are fused (RRF); reference/methods pages are demoted; a
relevance gate decides whether anything retrieved addresses the request at all.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imr_assist.errors import QueryError
from imr_assist.index import PassageIndex
from imr_assist.lexical import LexicalIndex, tokenize
from imr_assist.models import Hit, Kind, Passage, SearchResult, Tier
from imr_assist.query import expand_query, normalize_request
from imr_assist.search import clean_query
from imr_assist.settings import Settings

log = logging.getLogger(__name__)

MODES = ("dense", "bm25", "hybrid")

_BOILERPLATE_SECTION_RE = re.compile(
    r"\b(references?|bibliography|methods?|methodology|search strateg\w*|literature search|"
    r"abbreviations?|acronyms?|acknowledg\w*|participants?|disclosures?|conflicts? of interest|"
    r"evidence tables?|key questions?|kq set|grade|peer review|external review)\b",
    re.IGNORECASE,
)
_CITATION_NOISE_RE = re.compile(r"\b(?:PubMed|PMID|doi:|Epub|et al\.|;\d+\(\d+\):)", re.IGNORECASE)
_POSTOP_RE = re.compile(r"post-?surg|post-?op|postoperative|after surgery|fusion", re.IGNORECASE)


def is_boilerplate(passage: Passage) -> bool:
    """Reference lists, methods, search strategies, abbreviation lists: never governing."""
    if passage.recommendation:
        return False
    if passage.section and _BOILERPLATE_SECTION_RE.search(passage.section):
        return True
    return len(_CITATION_NOISE_RE.findall(passage.text)) >= 3


@dataclass
class _Candidate:
    passage: Passage
    fused: float = 0.0
    dense: float | None = None
    bm25: float | None = None


class HybridRetriever:
    """Dense, BM25 or hybrid search over one index, with the BM25 side kept in step."""

    def __init__(self, index: PassageIndex, settings: Settings | None = None) -> None:
        self.index = index
        self.settings = settings or index.settings
        self._lexical: LexicalIndex | None = None

    # ------------------------------------------------------------------ lexical side

    @property
    def lexical_dir(self) -> Path:
        return Path(self.settings.home) / "bm25" / self.settings.collection_name

    def lexical(self) -> LexicalIndex:
        """The BM25 index for the current manifest generation (loaded or rebuilt)."""
        generation = self.index.generation()
        if self._lexical is not None and self._lexical.generation == generation:
            return self._lexical
        loaded = LexicalIndex.load(self.lexical_dir)
        if loaded is None or loaded.generation != generation:
            ids, texts, metas = self.index.published_passages()
            loaded = LexicalIndex.build(ids, texts, metas, generation)
            loaded.save(self.lexical_dir)
            log.info("rebuilt BM25 index: %d passages, generation %s", len(ids), generation)
        self._lexical = loaded
        return loaded

    def sync(self) -> int:
        """Bring the BM25 side in step with Chroma now (after ingest/remove); passage count."""
        return len(self.lexical())

    # ------------------------------------------------------------------ search

    def search(
        self,
        query: str,
        *,
        k: int | None = None,
        filters: dict[str, str] | None = None,
        mode: str = "hybrid",
    ) -> SearchResult:
        if mode not in MODES:
            raise QueryError(f"Unknown retrieval mode {mode!r}. Use one of: {', '.join(MODES)}.")
        cfg = self.settings.retrieval
        text = clean_query(query, self.settings.search.max_query_chars)
        k = k or self.settings.search.k
        if k < 1:
            raise QueryError("k must be at least 1.")
        candidates: dict[str, _Candidate] = {}
        dense_top = 0.0
        if mode in {"dense", "hybrid"}:
            vector = self.index.embedder.embed_query(text)
            depth = k if mode == "dense" else max(cfg.dense_depth, k)
            dense_hits = self.index.search_vector(vector, depth, filters)
            dense_top = dense_hits[0].score if dense_hits else 0.0
            for rank, hit in enumerate(dense_hits, 1):
                c = candidates.setdefault(hit.passage.id, _Candidate(hit.passage))
                c.dense = hit.score
                c.fused += cfg.dense_weight / (cfg.rrf_k + rank)
        if mode in {"bm25", "hybrid"}:
            expanded = expand_query(text).expanded
            depth = k if mode == "bm25" else max(cfg.bm25_depth, k)
            lexical_hits = self.lexical().search(expanded, depth, filters)
            missing = [pid for pid, _ in lexical_hits if pid not in candidates]
            fetched = {p.id: p for p in self.index.get_passages(missing)} if missing else {}
            for rank, (pid, score) in enumerate(lexical_hits, 1):
                passage = candidates[pid].passage if pid in candidates else fetched.get(pid)
                if passage is None:
                    continue  # deleted between the two reads
                c = candidates.setdefault(pid, _Candidate(passage))
                c.bm25 = score
                c.fused += cfg.bm25_weight / (cfg.rrf_k + rank)
        ranked = self._rank(text, list(candidates.values()), mode)
        hits = [
            Hit(passage=c.passage, score=round(score, 6), rank=i)
            for i, (c, score) in enumerate(_dedupe(ranked)[:k], 1)
        ]
        relevant, reason, highest = self._gate(text, hits, dense_top, mode)
        return SearchResult(
            query=text,
            hits=hits,
            mode=mode,
            index_hash=self.settings.index_hash,
            relevant=relevant,
            gate_reason=reason,
            highest_tier=highest,
        )

    def _rank(
        self, query: str, candidates: list[_Candidate], mode: str
    ) -> list[tuple[_Candidate, float]]:
        cfg = self.settings.retrieval
        if mode == "dense":
            scored = [(c, c.dense or 0.0) for c in candidates]
        elif mode == "bm25":
            scored = [(c, c.bm25 or 0.0) for c in candidates]
        else:
            facts = normalize_request(query)
            scored = []
            for c in candidates:
                score = c.fused
                if is_boilerplate(c.passage):
                    score *= cfg.boilerplate_penalty
                region = c.passage.body_region
                if facts.body_region and region and region not in {facts.body_region, "general"}:
                    score *= cfg.region_mismatch_penalty
                if facts.post_operative and _POSTOP_RE.search(c.passage.heading + c.passage.text):
                    score *= 1.15
                scored.append((c, score))
        return sorted(scored, key=lambda cs: (-cs[1], cs[0].passage.id))

    def _gate(
        self, query: str, hits: list[Hit], dense_top: float, mode: str
    ) -> tuple[bool, str, Tier | None]:
        """Does anything retrieved address the request? Returns (relevant, reason, top tier)."""
        cfg = self.settings.retrieval
        if not hits:
            return False, "no passage matched the query", None
        terms = item_terms(query)
        top = hits[:5]
        covered = covered_terms(terms, top[:3])
        coverage = len(covered) / len(terms) if terms else 1.0
        reasons = [f"item terms found {len(covered)}/{len(terms)}"]
        relevant = coverage >= cfg.gate_min_coverage
        if mode != "bm25":
            reasons.append(f"best dense similarity {dense_top:.2f}")
            relevant = relevant and dense_top >= cfg.gate_min_dense
        addressing = [
            h.passage.tier
            for h in top
            if h.passage.kind is not Kind.DETERMINATION
            and covered_terms(terms, [h]) >= set(terms[:1])
        ]
        highest = min(addressing, key=lambda t: t.rank) if relevant and addressing else None
        verdict = "relevant" if relevant else "nothing relevant"
        return relevant, f"{verdict}: " + ", ".join(reasons), highest


_GENERIC = {
    "request",
    "requested",
    "purchase",
    "rental",
    "rent",
    "trial",
    "session",
    "sessions",
    "visit",
    "visits",
    "unit",
    "units",
    "patient",
    "recommend",
    "recommended",
    "covered",
    "cover",
    "medically",
    "necessary",
    "treatment",
    "low",
    "back",
    "pain",
    "lumbar",
    "spine",
    "chronic",
    "acute",
    "additional",
    "continued",
    "continue",
    "times",
    "week",
    "weeks",
    "month",
    "months",
    "day",
    "days",
    "home",
    "program",
    "use",
    "for",
    "with",
    "without",
    "post",
    "after",
}


_GENERIC_STEMS: set[str] | None = None


def _generic() -> set[str]:
    global _GENERIC_STEMS
    if _GENERIC_STEMS is None:
        _GENERIC_STEMS = set(tokenize([" ".join(sorted(_GENERIC))])[0]) | _GENERIC
    return _GENERIC_STEMS


def item_terms(query: str) -> list[str]:
    """Stemmed content terms of the requested item (falls back to the query's content words)."""
    generic = _generic()
    facts = normalize_request(query)
    source = facts.item or query
    expanded = expand_query(source)
    words = [w for w in tokenize([source])[0] if w not in generic and not w.isdigit()]
    if not words:
        words = [w for w in tokenize([expanded.expanded])[0] if w not in generic]
    return list(dict.fromkeys(words))


def covered_terms(terms: list[str], hits: list[Hit]) -> set[str]:
    """Which stemmed terms appear in the hits' headings and texts (synonyms count)."""
    return terms_in_text(terms, [f"{h.passage.heading}\n{h.passage.text}" for h in hits])


def terms_in_text(terms: list[str], texts: list[str]) -> set[str]:
    """Which stemmed terms appear in the texts; a lexicon synonym counts ('Norco' as
    'hydrocodone')."""
    if not terms:
        return set()
    tokens: set[str] = set()
    for tokenized in tokenize(texts):
        tokens.update(tokenized)
    found = {t for t in terms if t in tokens}
    for term in terms:
        if term not in found:
            alt = tokenize([expand_query(term).expanded])[0]
            if any(a in tokens for a in alt if a != term):
                found.add(term)
    return found


def _dedupe(ranked: list[tuple[_Candidate, float]]) -> list[tuple[_Candidate, float]]:
    """Merge passages with identical text (the same digest ingested twice), keeping the best."""
    seen: set[str] = set()
    out = []
    for c, score in ranked:
        key = " ".join(c.passage.text.lower().split())
        if key in seen:
            continue
        seen.add(key)
        out.append((c, score))
    return out


def as_langchain(retriever: HybridRetriever, **kwargs: Any) -> Any:
    """The retriever as a LangChain `BaseRetriever` (a Runnable for LCEL)."""
    from imr_assist.lc import ImrRetriever

    return ImrRetriever(retriever=retriever, **kwargs)
