"""Hybrid retrieval: dense (Chroma) + lexical (bm25s), fused with reciprocal rank fusion.

For each query: the lexical query is expanded with the domain lexicon; the request is
normalised (item, body region, post-operative context) for boosts; both sides are searched
with the same filters; the ranks are fused (RRF); reference/methods pages are demoted; the
best passages of every document that addresses the request are interleaved at the top, so a
short guideline is not drowned by a long one; a relevance gate decides whether anything
retrieved addresses the request at all.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from imr_assist.errors import QueryError
from imr_assist.index.filters import check_filters
from imr_assist.index.lexical import LexicalIndex, LexicalUpdate, follow, lexical_dir, rebuild
from imr_assist.index.store import PassageIndex
from imr_assist.models import DocumentHits, Hit, Kind, Passage, SearchResult, Tier
from imr_assist.retrieval.authority import group_by_document
from imr_assist.retrieval.validation import clean_query
from imr_assist.settings import Settings
from imr_assist.text.lexicon import LEXICON, ExpandedQuery, RequestFacts
from imr_assist.text.lexicon import expand_query as _expand_query
from imr_assist.text.lexicon import normalize_request as _normalize_request
from imr_assist.text.tokens import stem_words, tokenize

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=2048)
def expand_query(text: str) -> ExpandedQuery:
    """Cached `imr_assist.text.lexicon.expand_query` (pure; called several times per search)."""
    return _expand_query(text)


@functools.lru_cache(maxsize=2048)
def normalize_request(text: str) -> RequestFacts:
    """Cached `imr_assist.text.lexicon.normalize_request`."""
    return _normalize_request(text)


MODES = ("dense", "bm25", "hybrid")
_TIER_VALUES = {t.value for t in Tier}

# Measured on the VA/DoD dev set: demoting these sections lifts hybrid nDCG@10 from 0.755 to
# 0.794; also demoting methods and evidence-table sections drops it to 0.748 (evidence tables
# restate recommendations and are judged relevant).
_BOILERPLATE_SECTION_RE = re.compile(
    r"\b(references?|bibliography|abbreviations?|acronyms?|search strateg\w*|search terms|"
    r"literature (?:search|review search))\b",
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


RACE_DEADLINE_S = 20.0
"""How long a search keeps retrying while ingests publish new generations under it. Ingests
published back to back (a batch replacing documents one by one) can race a search several times
in a row, each retry rebuilding the BM25 side; a count of retries ran out under load on 2 cores
(CI), a deadline does not while the ingests end. Past it the last result is returned, logged."""
EXTRA_DOCUMENTS = 4
"""Documents below the text-scored head whose best candidates are fetched and scored too: at
most EXTRA_DOCUMENTS x document_quota passages more per query, whatever the corpus size."""
PER_DOCUMENT = 3
"""Passages per document in the per-document view (`search(..., per_document=PER_DOCUMENT)`)."""


class HybridRetriever:
    """Dense, BM25 or hybrid search over one index, with the BM25 side kept in step."""

    def __init__(self, index: PassageIndex, settings: Settings | None = None) -> None:
        self.index = index
        self.settings = settings or index.settings
        self._lexical: LexicalIndex | None = None
        self._lexical_lock = threading.Lock()  # one update per generation, not one per thread
        self.last_update: LexicalUpdate | None = None
        """How the BM25 side last reached a new generation (None: not yet this process)."""
        self._vectors: dict[str, list[float]] | None = None  # set inside `reusing_vectors()`

    @contextlib.contextmanager
    def reusing_vectors(self) -> Iterator[None]:
        """Embed each distinct query once inside the block (drafting searches the same request
        per tier and for precedent); outside it every search embeds afresh."""
        self._vectors = {}
        try:
            yield
        finally:
            self._vectors = None

    def _embed(self, text: str) -> list[float]:
        if self._vectors is None:
            return list(self.index.embedder.embed_query(text))
        if text not in self._vectors:
            self._vectors[text] = list(self.index.embedder.embed_query(text))
        return self._vectors[text]

    # ------------------------------------------------------------------ lexical side

    @property
    def lexical_dir(self) -> Path:
        return lexical_dir(self.settings.home, self.settings.collection_name)

    def lexical(self) -> LexicalIndex:
        """The BM25 index for the current manifest generation, labelled with the generation
        read first: the one in memory, else the saved one, brought forward by the change log
        (only changed documents are fetched), or rebuilt when the log cannot take it there."""
        generation = self.index.generation()
        current = self._lexical
        if current is not None and current.generation == generation:
            return current
        with self._lexical_lock:
            current = self._lexical
            if current is not None and current.generation == generation:
                return current  # another thread updated it while this one waited
            if current is None or LexicalIndex.saved_generation(self.lexical_dir) == generation:
                # nothing in memory, or another process of this home already saved this one
                loaded = LexicalIndex.load(self.lexical_dir)
                current = loaded if loaded is not None else current
            if current is not None and current.generation == generation:
                update = LexicalUpdate(kind="loaded", generation=generation, passages=len(current))
                updated = current
            else:
                followed = follow(self.index, current, generation) if current is not None else None
                if followed is None:
                    reason = (
                        "no saved side-store"
                        if current is None
                        else f"the change log does not lead from {current.generation}"
                    )
                    updated, update = rebuild(self.index, generation)
                    update = update.model_copy(update={"reason": reason})
                else:
                    updated, update = followed
                updated.save(self.lexical_dir)
            log.info("BM25 side-store: %s", update.model_dump_json())
            self.last_update = update
            self._lexical = updated
            return updated

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
        per_document: int = 0,
    ) -> SearchResult:
        """The ranked list (`hits`, best first, the top k) and, when `per_document` > 0, the
        per-document view (`by_document`): up to that many passages of each document among
        the candidates, documents that address the request first, in the order of authority.
        """
        if mode not in MODES:
            raise QueryError(f"Unknown retrieval mode {mode!r}. Use one of: {', '.join(MODES)}.")
        check_filters(filters)
        text = clean_query(query, self.settings.search.max_query_chars)
        k = k or self.settings.search.k
        if k < 1:
            raise QueryError("k must be at least 1.")
        # A passage listed by the BM25 side-store of generation G can be deleted by an ingest
        # that publishes G+1 before its text is fetched; then search once more on G+1 rather
        # than return a result missing that document.
        if per_document < 0:
            raise QueryError("per_document must be 0 (no per-document view) or more.")
        result, raced = self._search_once(text, k, filters, mode, per_document)
        deadline = time.monotonic() + RACE_DEADLINE_S
        pause = 0.02
        while raced:
            if time.monotonic() > deadline:
                log.warning(
                    "the index kept changing for %.0f s during a search; the result may miss "
                    "documents being replaced (search again once the ingest has finished)",
                    RACE_DEADLINE_S,
                )
                break
            log.info("index changed during the search; searching the new generation")
            time.sleep(pause)  # let the publishing ingest finish its write before re-reading
            pause = min(pause * 2, 0.5)
            result, raced = self._search_once(text, k, filters, mode, per_document)
        return result

    def _search_once(
        self, text: str, k: int, filters: dict[str, str] | None, mode: str, per_document: int
    ) -> tuple[SearchResult, bool]:
        # Both sides see the lexicon-expanded query ('Norco' + 'hydrocodone opioid'): on the
        # VA/DoD dev set it lifts dense nDCG@10 from 0.436 to 0.648.
        expanded = expand_query(text).expanded
        addresses = addresses_request(text)
        if mode == "hybrid":
            ranked, dense_top, raced = self._hybrid(
                text, expanded, k, filters, addresses, per_document
            )
        else:
            ranked, dense_top, raced = self._one_side(expanded, k, filters, mode)
        ranked = _dedupe(ranked)
        ranked_hits = [
            Hit(passage=p, score=round(score, 6), rank=i)
            for i, (p, score) in enumerate(ranked if per_document else ranked[:k], 1)
        ]
        view = group_by_document(ranked_hits, addresses, per_document) if per_document else None
        return self._result(text, ranked_hits[:k], dense_top, mode, view), raced

    def _one_side(
        self, expanded: str, k: int, filters: dict[str, str] | None, mode: str
    ) -> tuple[list[tuple[Passage, float]], float, bool]:
        """Dense or BM25 alone, in that side's own order (similarity or BM25 score)."""
        scored: list[tuple[Passage, float]] = []
        dense_top, raced = 0.0, False
        if mode == "dense":
            before = self.index.generation()
            dense_hits = self.index.search_vector(self._embed(expanded), k, filters)
            # publication is judged on a manifest read after the query: a replace in between
            # hides both versions from this result
            raced = self.index.generation() != before
            dense_top = dense_hits[0].score if dense_hits else 0.0
            scored = [(hit.passage, hit.score) for hit in dense_hits]
        else:
            lexical = self.lexical()
            lexical_hits = lexical.search(expanded, k, filters)
            ids = [pid for pid, _ in lexical_hits]
            fetched = {p.id: p for p in self.index.get_passages(ids)} if ids else {}
            # a version published after the side-store was built hides the old one's passages
            # from this result: search the new generation instead
            raced = self.index.generation() != lexical.generation
            for pid, score in lexical_hits:
                if pid not in fetched:
                    raced = True  # deleted between the two reads
                    continue
                scored.append((fetched[pid], score))
        scored.sort(key=lambda ps: (-ps[1], ps[0].id))
        return scored[: k * 3], dense_top, raced

    def _hybrid(
        self,
        text: str,
        expanded: str,
        k: int,
        filters: dict[str, str] | None,
        addresses: Callable[[Passage], bool],
        per_document: int = 0,
    ) -> tuple[list[tuple[Passage, float]], float, bool]:
        """RRF of both sides on ids and metadata, then text for the head only, then documents.

        First pass (metadata): fused rank score x authority step x region mismatch. The head
        (3k, at least 30, plus the best candidates of up to EXTRA_DOCUMENTS documents below
        it) is then fetched and re-scored on its text: item boost, reference demotion,
        post-operative boost. Last, the best passages of each document that addresses the
        request are interleaved at the top (`interleave_documents`).
        """
        cfg = self.settings.retrieval
        vector = self._embed(expanded)
        lexical = self.lexical()  # also the side-store of published passages' metadata
        depth = max(cfg.dense_depth, k)
        dense = [
            (pid, sim)
            for pid, sim in self.index.search_vector_ids(vector, depth + 10, filters)
            if lexical.has(pid)  # published in the current generation
        ][:depth]
        dense_top = dense[0][1] if dense else 0.0
        lexical_hits = lexical.search(expanded, max(cfg.bm25_depth, k), filters)
        fused: dict[str, float] = {}
        for rank, (pid, _) in enumerate(dense, 1):
            fused[pid] = fused.get(pid, 0.0) + cfg.dense_weight / (cfg.rrf_k + rank)
        for rank, (pid, _) in enumerate(lexical_hits, 1):
            fused[pid] = fused.get(pid, 0.0) + cfg.bm25_weight / (cfg.rrf_k + rank)
        tier = {pid: lexical.column(pid, "tier") for pid in fused}
        region = {pid: lexical.column(pid, "body_region") for pid in fused}
        facts = normalize_request(text)
        first: dict[str, float] = {}
        for pid, score in fused.items():
            step = Tier(tier[pid]).rank if tier[pid] in _TIER_VALUES else 0
            score *= 1.0 - cfg.authority_prior * step
            if (
                facts.body_region
                and region[pid]
                and region[pid]
                not in {
                    facts.body_region,
                    "general",
                }
            ):
                score *= cfg.region_mismatch_penalty
            first[pid] = score
        order = sorted(first, key=lambda pid: (-first[pid], pid))
        head = order[: max(3 * k, 30)]
        quota = max(cfg.document_quota, per_document)
        if quota:
            head += document_heads(order, head, lambda pid: lexical.column(pid, "doc_id"), quota)
        passages = {p.id: p for p in self.index.get_passages(head)} if head else {}
        key = item_groups(text)[:1]
        final: list[tuple[Passage, float]] = []
        raced = False
        for pid in head:
            p = passages.get(pid)
            if p is None:
                raced = True  # deleted between the two reads
                continue
            score = first[pid]
            if key and cfg.item_boost != 1.0 and groups_found(key, [_text_of(p)]):
                score *= cfg.item_boost
            if is_boilerplate(p):
                score *= cfg.boilerplate_penalty
            if facts.post_operative and _POSTOP_RE.search(p.heading + p.text):
                score *= 1.15
            final.append((p, score))
        final.sort(key=lambda ps: (-ps[1], ps[0].id))
        return interleave_documents(final, addresses, cfg.document_quota), dense_top, raced

    def _result(
        self,
        text: str,
        hits: list[Hit],
        dense_top: float,
        mode: str,
        by_document: list[DocumentHits] | None = None,
    ) -> SearchResult:
        relevant, reason, highest = self._gate(text, hits, dense_top, mode)
        return SearchResult(
            query=text,
            hits=hits,
            mode=mode,
            index_hash=self.settings.index_hash,
            relevant=relevant,
            gate_reason=reason,
            highest_tier=highest,
            by_document=by_document,
        )

    def _gate(
        self, query: str, hits: list[Hit], dense_top: float, mode: str
    ) -> tuple[bool, str, Tier | None]:
        """Does anything retrieved address the request? Returns (relevant, reason, top tier).

        Two signals, calibrated on the VA/DoD dev set (eval/README.md): the share of the
        requested item's term groups found in the top 3 passages, and the best dense similarity.
        """
        cfg = self.settings.retrieval
        if not hits:
            return False, "no passage matched the query", None
        groups = item_groups(query)
        top = hits[:5]
        found = groups_found(groups, [_text(h) for h in top])
        coverage = found / len(groups) if groups else 1.0
        reasons = [f"item terms found {found}/{len(groups)}"]
        relevant = coverage >= cfg.gate_min_coverage
        region = normalize_request(query).body_region
        regions = {h.passage.body_region for h in top[:3]}
        if region and None not in regions and not regions & {region, "general"}:
            relevant = False
            reasons.append(
                f"request is {region}, passages are {', '.join(sorted(map(str, regions)))}"
            )
        if mode != "bm25":
            reasons.append(f"best dense similarity {dense_top:.2f}")
            relevant = relevant and dense_top >= cfg.gate_min_dense
        key = groups[:1]
        addressing = [
            h.passage.tier
            for h in top
            if h.passage.kind is not Kind.DETERMINATION
            and (not key or groups_found(key, [_text(h)]) == 1)
        ]
        highest = min(addressing, key=lambda t: t.rank) if relevant and addressing else None
        verdict = "relevant" if relevant else "nothing relevant"
        return relevant, f"{verdict}: " + ", ".join(reasons), highest


def _text(hit: Hit) -> str:
    return _text_of(hit.passage)


def _text_of(passage: Passage) -> str:
    return f"{passage.heading}\n{passage.text}"


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
    "is",
    "are",
    "what",
    "when",
    "which",
    "next",
    "step",
    "should",
    "does",
    "can",
    "indicated",
    "supported",
    "support",
    "reasonable",
    "appropriate",
    "pill",
    "pills",
    "recent",
    "status",
}
_GENERIC_STEMS: set[str] | None = None


def _generic() -> set[str]:
    global _GENERIC_STEMS
    if _GENERIC_STEMS is None:
        _GENERIC_STEMS = set(tokenize([" ".join(sorted(_GENERIC))])[0]) | _GENERIC
    return _GENERIC_STEMS


@functools.lru_cache(maxsize=4096)
def phrase_key(text: str) -> str:
    """Lower-cased, punctuation-free, stemmed words joined by single spaces (padded), so that a
    phrase is found in a text by substring: ' h wave ' in ' ... h wave unit ... '."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    return " " + " ".join(stem_words(words)) + " "


def item_groups(query: str, *, strict: bool = False) -> list[list[str]]:
    """The requested item as groups of alternative phrases (phrase keys).

    A lexicon concept gives one group: its surface form, canonical name and synonyms
    ('Butrans' -> buprenorphine, opioids); `strict` leaves out the broader search terms
    ('opioids', 'home exercise program'), for deciding whether a passage names the item
    itself. When the item names no lexicon concept, each content word is its own group. A
    group is found when any of its phrases occurs whole.
    """
    generic = _generic()
    facts = normalize_request(query)
    source = facts.item or query
    expanded = expand_query(source)
    groups: list[list[str]] = []
    for surface, canonical in expanded.matched:
        term = LEXICON.get(canonical)
        broader = () if strict or term is None else term.also
        phrases = [surface, canonical, *(term.forms if term else ()), *broader]
        keys = list(dict.fromkeys(phrase_key(p) for p in phrases if phrase_key(p).strip()))
        if keys:
            groups.append(keys)
    if groups:
        return groups
    words = [w for w in tokenize([source])[0] if w not in generic and not w.isdigit()]
    if not words and source != query:
        words = [w for w in tokenize([query])[0] if w not in generic and not w.isdigit()]
    return [[f" {w} "] for w in dict.fromkeys(words)]


def groups_found(groups: list[list[str]], texts: list[str]) -> int:
    """How many groups have at least one phrase occurring whole in the texts."""
    keys = [phrase_key(t) for t in texts]
    return sum(1 for g in groups if any(p in k for p in g for k in keys))


# --------------------------------------------------------------------------- documents


def addresses_request(query: str) -> Callable[[Passage], bool]:
    """Does a passage address the request? It names the requested item (its first term group,
    as for the item boost), is not a reference/methods passage, and is not tagged with another
    body region than the request names."""
    key = item_groups(query)[:1]
    region = normalize_request(query).body_region

    def addresses(passage: Passage) -> bool:
        if not key or is_boilerplate(passage):
            return False
        if region and passage.body_region and passage.body_region not in {region, "general"}:
            return False
        return groups_found(key, [_text_of(passage)]) == 1

    return addresses


def document_heads(
    order: list[str], head: list[str], doc_of: Callable[[str], str], quota: int
) -> list[str]:
    """Candidates to score beside the head: the best `quota` (in `order`) of each document
    that has fewer than that in the head, for at most EXTRA_DOCUMENTS documents."""
    in_head = set(head)
    taken: dict[str, int] = {}
    for pid in head:
        doc = doc_of(pid)
        taken[doc] = taken.get(doc, 0) + 1
    extra: list[str] = []
    added: set[str] = set()
    for pid in order:
        if pid in in_head:
            continue
        doc = doc_of(pid)
        if taken.get(doc, 0) >= quota:
            continue
        if doc not in added:
            if len(added) == EXTRA_DOCUMENTS:
                continue
            added.add(doc)
        taken[doc] = taken.get(doc, 0) + 1
        extra.append(pid)
    return extra


def interleave_documents(
    ranked: list[tuple[Passage, float]],
    addresses: Callable[[Passage], bool],
    quota: int,
) -> list[tuple[Passage, float]]:
    """Document-aware order: round-robin the best `quota` passages of each document that
    addresses the request ahead of everything else, then the rest in score order.

    Ranked lists are dominated by the longest document, which restates an item in many
    passages (recommendation box, summary table, discussion, evidence table) that all outrank
    a short document's single row for it; rank fusion compounds it, because the long
    document's passages hold the top ranks of both lists. Round r takes each addressing
    document's r-th best passage, in score order. A document addresses the request when one
    of its best `quota` passages does (`addresses_request`). With one document, or none that
    addresses the request, the score order is returned unchanged. `ranked` is best first.
    """
    if quota < 1:
        return ranked
    positions: dict[str, list[int]] = {}
    for i, (passage, _) in enumerate(ranked):
        positions.setdefault(passage.doc_id, []).append(i)
    if len(positions) < 2:
        return ranked
    leaders = [
        idx[:quota]
        for idx in positions.values()
        if any(addresses(ranked[i][0]) for i in idx[:quota])
    ]
    front = [i for r in range(quota) for i in sorted(idx[r] for idx in leaders if len(idx) > r)]
    taken = set(front)
    return [ranked[i] for i in front] + [x for i, x in enumerate(ranked) if i not in taken]


def _dedupe(ranked: list[tuple[Passage, float]]) -> list[tuple[Passage, float]]:
    """Merge passages with identical text (the same digest ingested twice), keeping the best."""
    seen: set[str] = set()
    out = []
    for passage, score in ranked:
        key = " ".join(passage.text.lower().split())
        if key in seen:
            continue
        seen.add(key)
        out.append((passage, score))
    return out


def as_langchain(retriever: HybridRetriever, **kwargs: Any) -> Any:
    """The retriever as a LangChain `BaseRetriever` (a Runnable for LCEL)."""
    from imr_assist.retrieval.langchain_adapter import ImrRetriever

    return ImrRetriever(retriever=retriever, **kwargs)
