"""Hybrid search latency at scale (10k and 100k passages), and its ratio to the LangChain peer.

The passages are synthetic guideline-like text; everything on the query path is real: the
bundled MiniLM query embedding (SentenceEmbeddings.embed_query: the ONNX export run by
onnxruntime when available, else torch; which one is recorded), an embedded PersistentClient
Chroma in a temporary folder, bm25s, and `HybridRetriever.search(q, k=10, mode="hybrid")`. The
peer is `evaluation.peer.PeerRetriever` (LangChain EnsembleRetriever over rank_bm25's
BM25Retriever + the same Chroma collection and embedder), over the same published passages.

Passage vectors are precomputed, not random: a bank of generated guideline sentences is encoded
once with the real MiniLM, a passage is 4-6 sentences of the bank on one topic, and its vector is
the normalised mean of its sentences' vectors (its cosine to MiniLM's vector of the whole
passage is measured and recorded). Random unit vectors would make every passage equidistant from
every query (cosine ~0 in 384-d), which is the worst case for HNSW and meaningless for the
relevance gate; encoding 100k passages would take ~1.5 h here. The index is opened with an
embedder whose `embed_documents` returns those vectors and whose `embed_query` is the real
MiniLM one. All but the last ADD_DOCS documents are stored the way `PassageIndex.add` stores
them but in 5,000-passage batches (same ids, vectors, stored text and metadata in the index's
collection, then the manifest records, then a generation bump): one `add` per document runs at
~200-300 passages/s and would take ~8 min at 100k. The last documents go through
`PassageIndex.add` itself, and its time per document is reported.

Each size runs in its own child process (so peak RSS is per size); one invocation measures all
sizes on the same machine. Nothing is asserted: goals are reported as met or not met. The
parent also times embed_query with the ONNX and the torch backends on the same queries,
alternating query by query, and records the ratio (the query-embedding floor of the latency).

Run: `.venv/bin/python bench/retrieval.py [--sizes 10000,100000] [--queries 200] [--note TEXT]`
(--note: a free-text remark on the conditions, e.g. a loaded machine, kept in the results). Writes
bench/results/retrieval.json, retrieval.md and retrieval.png.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import hashlib
import json
import os
import platform
import pstats
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
QUERY_FILES = [ROOT / "eval" / "vadod" / "queries.jsonl", ROOT / "eval" / "demo" / "queries.jsonl"]
K = 10
WARMUP = 10
PASSAGES_PER_DOC = 50
PROFILE_QUERIES = 50
ADD_DOCS = 10  # the last documents of each size go through PassageIndex.add
_BULK_BATCH = 5000
PEER_SLOW_S = 2.0  # a peer query slower than this: time only PEER_SAMPLE queries
PEER_SAMPLE = 30
PEER_BUDGET_S = 150.0  # otherwise time as many as fit in this budget (at least PEER_SAMPLE)
GOAL_P95_MS = 30.0
GOAL_RATIO = 10.0
SEED = 20261128
QUIET_WAIT_S = 45.0
CONTENDED_CORES = 0.3

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

# ----------------------------------------------------------------------------- the generator

_REGIONS = {
    "low_back": ("low back", "lumbar spine", 0.40),
    "cervical": ("neck", "cervical spine", 0.15),
    "knee": ("knee", "knee", 0.10),
    "shoulder": ("shoulder", "shoulder", 0.10),
    "wrist_hand": ("wrist and hand", "hand", 0.06),
    "ankle_foot": ("ankle and foot", "foot", 0.05),
    "hip": ("hip", "hip", 0.05),
    "thoracic": ("thoracic spine", "mid back", 0.04),
    "general": ("chronic pain", "multiple body parts", 0.05),
}
_CONDITIONS = [
    "chronic low back pain",
    "acute low back pain",
    "lumbar radiculopathy",
    "subacute neck pain",
    "knee osteoarthritis",
    "rotator cuff tendinopathy",
    "failed back surgery syndrome",
    "lumbar spinal stenosis",
    "myofascial pain",
    "complex regional pain syndrome",
    "carpal tunnel syndrome",
    "plantar fasciitis",
    "degenerative disc disease",
    "work-related musculoskeletal injury",
]
_COMPARATORS = [
    "usual care",
    "sham treatment",
    "placebo",
    "exercise therapy",
    "NSAIDs",
    "a waiting list",
    "physical therapy",
    "education alone",
]
_OUTCOMES = ["pain", "function", "return to work", "quality of life", "opioid use", "disability"]
_GRADES = [
    ("strong", "for"),
    ("weak", "for"),
    ("weak", "against"),
    ("strong", "against"),
    ("neither", "neither"),
]
_JOURNALS = ["Spine", "Spine J", "Pain", "J Pain", "Clin J Pain", "Eur Spine J", "BMJ", "JAMA"]
_AUTHORS = ["Smith", "Chou", "Deyo", "Hayden", "Foster", "Maher", "Qaseem", "van Tulder", "Kamper"]
_STATEMENT = {
    ("strong", "for"): "We recommend {t} for patients with {c}.",
    ("weak", "for"): "We suggest offering {t} for patients with {c}.",
    ("weak", "against"): "We suggest against {t} for patients with {c}.",
    ("strong", "against"): "We recommend against {t} for patients with {c}.",
    ("neither", "neither"): "There is insufficient evidence to recommend for or against {t} "
    "for patients with {c}.",
}
_GUIDELINE_TEMPLATES = [
    "{T} is recommended as an option for {c} when used with an active home exercise program.",
    "The evidence from {n} randomized controlled trials (n={N}) showed that {t} improved {o} "
    "compared with {cmp} at {w} weeks, with a mean difference of {d} points on a 0-10 scale.",
    "Up to {v} visits of {t} over {w} weeks may be supported when objective functional "
    "improvement is documented at each re-evaluation.",
    "Continued {t} beyond {v} sessions requires documentation of measurable gains in {o} and "
    "progress toward return to work.",
    "{T} is not recommended for {c} because the benefits did not outweigh the harms in {n} "
    "trials with {N} participants.",
    "Adverse events with {t} included {ae}, reported in {p}% of participants across studies.",
    "The quality of the evidence for {t} in {c} was rated {q} because of imprecision and risk "
    "of bias in the included trials.",
    "For the {r}, a trial of {t} for {w} weeks is reasonable before considering injections or "
    "surgical referral.",
    "Patients with {c} who received {t} reported small improvements in {o} at {m} months that "
    "were not sustained at {m2} months.",
    "Clinicians should reassess the need for {t} every {w} weeks and taper or discontinue it "
    "when there is no improvement in {o}.",
    "{T} in combination with {cmp} did not reduce {o} more than {cmp} alone in patients with "
    "{c} ({n} RCTs, low certainty).",
    "A systematic review of {n} studies found that {t} may reduce {o} in the short term for "
    "patients with {c} of the {r}.",
]
_DETERMINATION_TEMPLATES = [
    "The request for {t} for the {r} is {dec} as medically necessary per the MTUS guidelines.",
    "The injured worker is a {a}-year-old with {c} who has completed {v} sessions of {cmp} "
    "without documented functional improvement.",
    "The reviewer found that the records do not document objective functional gains after "
    "{v} prior visits of {t}, so additional {t} is not supported.",
    "Per the RFA dated {mo}/{dd}/{yy}, the provider requested {t} x{v} for the {r}.",
]
_REFERENCE_TEMPLATE = (
    "{au} {ini}, {au2} {ini2}, et al. {T} for {c}: a randomized controlled trial. {j}. "
    "{yy4};{vol}({iss}):{pg}-{pg2}. doi:10.1000/{doi}. PMID: {pmid}."
)
_ADVERSE = [
    "nausea and dizziness",
    "skin irritation",
    "transient increase in pain",
    "constipation and sedation",
    "headache",
    "gastrointestinal bleeding",
]
_QUALITY = ["low", "very low", "moderate"]


def _topics() -> list[str]:
    from imr_assist.text.lexicon import LEXICON

    return [t.canonical for t in LEXICON.values() if t.group not in {"diagnoses", "claims"}]


def _surface(rng: random.Random, topic: str) -> str:
    """The topic as a guideline or a reviewer would write it: its name or one of its forms."""
    from imr_assist.text.lexicon import LEXICON

    forms = [topic, topic, *LEXICON[topic].forms[:4]]
    return rng.choice(forms)


def _fill(rng: random.Random, template: str, topic: str) -> str:
    t = _surface(rng, topic)
    region = rng.choice(list(_REGIONS))
    values = {
        "t": t,
        "T": t[:1].upper() + t[1:],
        "c": rng.choice(_CONDITIONS),
        "cmp": rng.choice(_COMPARATORS),
        "o": rng.choice(_OUTCOMES),
        "r": _REGIONS[region][1],
        "n": rng.randint(2, 24),
        "N": rng.randint(80, 4200),
        "w": rng.choice([2, 4, 6, 8, 12]),
        "v": rng.choice([6, 8, 10, 12, 18, 24]),
        "d": round(rng.uniform(0.2, 1.8), 1),
        "p": rng.randint(2, 35),
        "m": rng.choice([1, 3]),
        "m2": rng.choice([6, 12]),
        "q": rng.choice(_QUALITY),
        "ae": rng.choice(_ADVERSE),
        "a": rng.randint(24, 66),
        "dec": rng.choice(["not medically necessary", "medically necessary"]),
        "mo": rng.randint(1, 12),
        "dd": rng.randint(1, 28),
        "yy": rng.randint(18, 25),
        "yy4": rng.randint(2004, 2024),
        "au": rng.choice(_AUTHORS),
        "au2": rng.choice(_AUTHORS),
        "ini": rng.choice(["R", "AB", "JM", "K"]),
        "ini2": rng.choice(["S", "CD", "MW", "T"]),
        "j": rng.choice(_JOURNALS),
        "vol": rng.randint(10, 60),
        "iss": rng.randint(1, 12),
        "pg": (pg := rng.randint(100, 900)),
        "pg2": pg + rng.randint(5, 15),
        "doi": rng.randint(10**6, 10**7),
        "pmid": rng.randint(10**7, 4 * 10**7),
    }
    return template.format(**values)


class SentenceBank:
    """Generated sentences by topic and kind ('guideline', 'determination', 'reference')."""

    def __init__(self, seed: int = SEED, variants: int = 2) -> None:
        rng = random.Random(seed)
        self.topics = _topics()
        self.sentences: list[str] = []
        self.by: dict[tuple[str, str], list[int]] = {}
        templates = {
            "guideline": _GUIDELINE_TEMPLATES,
            "determination": _DETERMINATION_TEMPLATES,
            "reference": [_REFERENCE_TEMPLATE],
        }
        for topic in self.topics:
            for kind, group in templates.items():
                rows = self.by.setdefault((topic, kind), [])
                for template in group:
                    for _ in range(variants):
                        rows.append(len(self.sentences))
                        self.sentences.append(_fill(rng, template, topic))


class Corpus:
    """Deterministic synthetic documents and passages over a sentence bank and its vectors."""

    def __init__(self, bank: SentenceBank, vectors: np.ndarray, size: int, seed: int = SEED):
        self.bank = bank
        self.vectors = vectors
        self.size = size
        self.seed = seed
        self.n_docs = max(1, size // PASSAGES_PER_DOC)

    def documents(self) -> Iterator[tuple[Any, list[Any], np.ndarray]]:
        """(SourceDocument, passages, passage vectors) for each document, in order."""
        base, extra = divmod(self.size, self.n_docs)
        for d in range(self.n_docs):
            yield self._document(d, base + (1 if d < extra else 0))

    def _document(self, d: int, n: int) -> tuple[Any, list[Any], np.ndarray]:
        from imr_assist.citations import make_citation_id
        from imr_assist.models import (
            Decision,
            DocumentMeta,
            Kind,
            Passage,
            SourceDocument,
            Tier,
        )

        rng = random.Random(self.seed * 1_000_003 + d)
        tier = rng.choices(
            [Tier.MTUS, Tier.GUIDELINE, Tier.OTHER_GUIDELINE, Tier.STUDY, Tier.PRIOR_DETERMINATION],
            weights=[15, 35, 20, 10, 20],
        )[0]
        kind = {Tier.STUDY: Kind.STUDY, Tier.PRIOR_DETERMINATION: Kind.DETERMINATION}.get(
            tier, Kind.GUIDELINE
        )
        region = rng.choices(list(_REGIONS), weights=[w for _, _, w in _REGIONS.values()])[0]
        label = _REGIONS[region][0]
        decision = rng.choice(list(Decision)) if kind is Kind.DETERMINATION else None
        year = rng.randint(2009, 2025)
        if kind is Kind.DETERMINATION:
            title = f"IMR determination CM{rng.randint(10**6, 10**7)} ({label})"
            guideline = None
        else:
            org = rng.choice(["MTUS ACOEM", "ODG", "VA/DoD", "NICE", "ACP", "NASS", "AAOS"])
            guideline = f"{org} {label.title()} {'CPG' if tier is not Tier.MTUS else 'Chapter'}"
            title = f"{guideline} {year}"
        doc_id = f"synthetic-{d:06d}"
        source = f"{doc_id}.pdf"
        content_hash = hashlib.sha256(f"{self.seed}:{d}".encode()).hexdigest()
        meta = DocumentMeta(
            title=title,
            kind=kind,
            tier=tier,
            guideline=guideline,
            edition=str(year),
            body_region=region,
            decision=decision,
        )
        doc = SourceDocument(
            doc_id=doc_id, source_path=source, content_hash=content_hash, meta=meta, pages=[]
        )
        topics = rng.sample(self.bank.topics, 6)
        n_refs = max(1, n // 10) if kind is not Kind.DETERMINATION else 0
        passages: list[Passage] = []
        vectors = np.empty((n, self.vectors.shape[1]), dtype=np.float32)
        rec_no = 0
        seen: set[str] = set()
        for i in range(n):
            topic = topics[min(i * len(topics) // max(n - n_refs, 1), len(topics) - 1)]
            recommendation = grade = None
            if i >= n - n_refs:
                section, source_kind, count = "References", "reference", rng.randint(3, 5)
            elif kind is Kind.DETERMINATION:
                section = rng.choice(["Clinical summary", "Rationale", "Guidelines cited"])
                source_kind, count = "determination", rng.randint(3, 5)
            else:
                source_kind, count = "guideline", rng.randint(4, 6)
                section = rng.choice(
                    [
                        f"Treatment of {label} pain",
                        "Discussion",
                        "Evidence summary",
                        f"Table {rng.randint(1, 12)}. Evidence for {topic}",
                        "Recommendations",
                    ]
                )
                if section == "Recommendations":
                    rec_no += 1
                    recommendation = str(rec_no)
                    strength, direction = rng.choice(_GRADES)
                    grade = (
                        "Neither for nor against"
                        if direction == "neither"
                        else f"{strength.capitalize()} {direction}"
                    )
            if source_kind == "reference":  # a reference list cites all the document's topics
                own = [j for t in topics for j in self.bank.by[(t, "reference")]]
            else:
                own = self.bank.by[(topic, source_kind)]
            while True:  # passages of one document never repeat a text
                picks = rng.sample(own, min(count, len(own)))
                if source_kind == "guideline" and rng.random() < 0.3:  # one off-topic sentence
                    other = rng.choice(self.bank.topics)
                    picks.append(rng.choice(self.bank.by[(other, "guideline")]))
                text = " ".join(self.bank.sentences[j] for j in picks)
                if text not in seen:
                    seen.add(text)
                    break
            heading_parts = [guideline or title, section]
            if recommendation:
                statement = _STATEMENT[
                    next(g for g in _GRADES if grade and g[0] in grade.lower())
                ].format(t=topic, c=rng.choice(_CONDITIONS))
                heading_parts.append(f"Recommendation {recommendation}: {statement}")
            page = str(3 + i * 2 // 3)
            pid = make_citation_id(doc_id, page, text)
            passages.append(
                Passage(
                    id=pid,
                    doc_id=doc_id,
                    content_hash=content_hash,
                    source_path=source,
                    source_title=title,
                    kind=kind,
                    tier=tier,
                    guideline=guideline,
                    edition=str(year),
                    body_region=region,
                    decision=decision,
                    page_start=page,
                    page_end=str(int(page) + (1 if rng.random() < 0.2 else 0)),
                    section=section,
                    recommendation=recommendation,
                    recommendation_grade=grade,
                    ordinal=i,
                    heading=" — ".join(heading_parts),
                    text=text,
                )
            )
            v = self.vectors[picks].mean(axis=0)
            vectors[i] = v / np.linalg.norm(v)
        return doc, passages, vectors


# ----------------------------------------------------------------------------- embedder seam


def _precomputed_embedder(real: Any) -> Any:
    """Embeddings whose `embed_documents` returns the vectors registered for the texts about to
    be stored, and whose `embed_query` is the real model's (the query path stays real)."""
    from langchain_core.embeddings import Embeddings

    class Precomputed(Embeddings):
        def __init__(self) -> None:
            self.real = real
            self.model_name = real.model_name
            self._pending: dict[str, np.ndarray] = {}

        def expect(self, texts: list[str], vectors: np.ndarray) -> None:
            self._pending = dict(zip(texts, vectors, strict=True))

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return [self._pending.pop(t).tolist() for t in texts]

        def embed_query(self, text: str) -> list[float]:
            return self.real.embed_query(text)

    return Precomputed()


# ----------------------------------------------------------------------------- measuring


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return round(pages * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)


def _peak_rss_mb() -> float:
    """Peak RSS of this process image (VmHWM). Not getrusage's ru_maxrss: Linux carries that
    over exec, so a child would report the parent's peak from encoding the sentence bank."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


class _OtherLoad:
    """CPU used by other processes while a block runs, in cores (0 = this bench had the machine
    to itself; 1 = another process kept one core busy). Read from /proc/stat and /proc/self/stat
    (children such as Chroma threads are in this process)."""

    def __enter__(self) -> _OtherLoad:
        self._start = self._read()
        return self

    def __exit__(self, *exc: object) -> None:
        busy0, own0, t0 = self._start
        busy1, own1, t1 = self._read()
        tick = os.sysconf("SC_CLK_TCK")
        self.cores = round(max(0.0, (busy1 - busy0) - (own1 - own0)) / tick / (t1 - t0), 2)

    @staticmethod
    def _read() -> tuple[int, int, float]:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        values = [int(x) for x in fields]
        busy = sum(values) - values[3] - values[4]  # minus idle and iowait
        own = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        return busy, int(own[11]) + int(own[12]), time.perf_counter()


def _wait_quiet(max_wait_s: float = QUIET_WAIT_S, threshold: float = 0.3) -> dict[str, float]:
    """Wait (up to max_wait_s) until other processes use less than `threshold` cores over a
    3 s window, so that timings measure this code rather than a neighbour's build."""
    t0 = time.perf_counter()
    while True:
        with _OtherLoad() as load:
            time.sleep(3)
        waited = time.perf_counter() - t0
        if load.cores < threshold or waited >= max_wait_s:
            return {"waited_s": round(waited, 1), "other_cores_before": load.cores}


def _timed_pass(
    call: Callable[[str], Any], queries: list[str]
) -> tuple[list[float], list[Any], dict[str, Any]]:
    """Seconds and results of call(q) for each query, timed after waiting for a quiet machine.
    When other processes used more than CONTENDED_CORES meanwhile, the pass is timed once more
    and the less contended attempt is kept; both attempts' contention is recorded."""
    attempts: list[dict[str, Any]] = []
    kept: tuple[list[float], list[Any]] | None = None
    best = float("inf")
    for _ in range(2):
        wait = _wait_quiet()
        times: list[float] = []
        results: list[Any] = []
        with _OtherLoad() as load:
            for q in queries:
                res, dt = _timed(lambda q=q: call(q))
                times.append(dt)
                results.append(res)
        attempts.append({**wait, "other_cores_during": load.cores, "latency": _stats(times)})
        if load.cores < best:
            best, kept = load.cores, (times, results)
        if load.cores <= CONTENDED_CORES:
            break
    assert kept is not None
    info = {"other_cores": best, "attempts": attempts}
    return kept[0], kept[1], info


def _stats(seconds: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in seconds)
    if not ms:
        return {}
    return {
        "n": len(ms),
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p95_ms": round(float(np.percentile(ms, 95)), 2),
        "mean_ms": round(statistics.fmean(ms), 2),
        "max_ms": round(ms[-1], 2),
    }


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def _queries(n: int) -> list[str]:
    texts = [
        json.loads(line)["query"]
        for path in QUERY_FILES
        for line in path.read_text().splitlines()
        if line.strip()
    ]
    random.Random(SEED).shuffle(texts)
    return [texts[i % len(texts)] for i in range(n)]


class _Stopwatch:
    """Timing wrappers set on instances (never on classes or modules), removed on exit."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}
        self.args: dict[str, Any] = {}
        self._patched: list[tuple[Any, str]] = []

    def wrap(self, obj: Any, attr: str, stage: str) -> None:
        inner = getattr(obj, attr)

        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self.spent[stage] = self.spent.get(stage, 0.0) + time.perf_counter() - t0
                self.args[stage] = kwargs or args

        object.__setattr__(obj, attr, timed)
        self._patched.append((obj, attr))

    def __enter__(self) -> _Stopwatch:
        return self

    def __exit__(self, *exc: object) -> None:
        for obj, attr in reversed(self._patched):
            object.__delattr__(obj, attr)


_STAGES = (
    "embed_query",
    "chroma_query",
    "dense_other",
    "generation_check",
    "bm25_scores",
    "bm25_tokenize_topk",
    "fetch_passages",
    "rank",
    "gate",
    "rest",
)


def _breakdown(retriever: Any, queries: list[str]) -> dict[str, Any]:
    """Where one real `search(q, k=10, mode="hybrid")` spends its time, query by query.

    Timing wrappers are set on the instances search() calls into (whichever of them this
    version of the code has): the embedder's embed_query; the index's dense search
    (search_vector_meta / search_vector) and inside it the Chroma collection query
    ('dense_other' = the rest of the dense search: version filtering, building results); the
    manifest generation read that lexical() does before every BM25 search; the BM25 index's
    search and inside it bm25s get_scores; get_passages (texts fetched from Chroma); _rank;
    _gate. 'rest' is the search total minus all of them: query cleaning and lexicon expansion,
    fusion, re-scoring on text, dedupe, building hits and the result.
    """
    index = retriever.index
    lexical = retriever.lexical()
    per: dict[str, list[float]] = {s: [] for s in (*_STAGES, "total")}
    fetched: list[int] = []
    with _Stopwatch() as sw:
        targets = [
            (index.embedder, "embed_query", "embed_query"),
            (index, "search_vector_meta", "dense"),
            (index, "search_vector", "dense"),
            (index.collection, "query", "chroma_query"),
            (index, "generation", "generation_check"),
            (lexical, "search", "bm25_search"),
            (lexical.model, "get_scores", "bm25_scores"),
            (index, "get_passages", "fetch_passages"),
            (retriever, "_rank", "rank"),
            (retriever, "_gate", "gate"),
        ]
        wrapped = []
        for obj, attr, stage in targets:
            if hasattr(obj, attr):
                sw.wrap(obj, attr, stage)
                wrapped.append(f"{type(obj).__name__}.{attr}")
        for q in queries:
            sw.spent.clear()
            sw.args.pop("fetch_passages", None)
            _, total = _timed(lambda q=q: retriever.search(q, k=K, mode="hybrid"))
            got = dict(sw.spent)
            got["dense_other"] = got.get("dense", 0.0) - got.get("chroma_query", 0.0)
            got["bm25_tokenize_topk"] = got.get("bm25_search", 0.0) - got.get("bm25_scores", 0.0)
            top = ("embed_query", "dense", "generation_check", "bm25_search", "fetch_passages")
            got["rest"] = total - sum(got.get(s, 0.0) for s in (*top, "rank", "gate"))
            got["total"] = total
            for stage in per:
                per[stage].append(got.get(stage, 0.0))
            ids = sw.args.get("fetch_passages")
            fetched.append(len(ids[0]) if ids else 0)
        chroma_args = sw.args.get("chroma_query", {})
    out: dict[str, Any] = {s: round(statistics.median(v) * 1000, 2) for s, v in per.items()}
    out["_mean_ms"] = {s: round(statistics.fmean(v) * 1000, 2) for s, v in per.items()}
    out["_passages_fetched_median"] = statistics.median(fetched)
    out["_chroma_n_results"] = chroma_args.get("n_results")
    out["_chroma_include"] = chroma_args.get("include")
    out["_wrapped"] = wrapped
    return out


def _chroma_variants(retriever: Any, queries: list[str], n_results: int | None) -> dict[str, Any]:
    """Median ms of the dense Chroma query with what it returns varied (all results or 10;
    documents, metadatas, distances or less), and of fetching passages by id, on the same real
    query vectors: what the HNSW search costs and what the payload costs."""
    from imr_assist.text.lexicon import expand_query

    index = retriever.index
    coll = index.collection
    depth = max(retriever.settings.retrieval.dense_depth, K)
    fetch = int(n_results or depth + 10)
    vectors = [index.embedder.embed_query(expand_query(q).expanded) for q in queries]

    def query(n: int, include: list[str]) -> Callable[[list[float]], Any]:
        return lambda v: coll.query(query_embeddings=[v], n_results=n, include=include)

    variants = {
        f"query_n{fetch}_documents_metadatas_distances": query(
            fetch, ["documents", "metadatas", "distances"]
        ),
        f"query_n{fetch}_metadatas_distances": query(fetch, ["metadatas", "distances"]),
        f"query_n{fetch}_distances": query(fetch, ["distances"]),
        f"query_n{K}_documents_metadatas_distances": query(
            K, ["documents", "metadatas", "distances"]
        ),
    }
    out: dict[str, Any] = {}
    for name, fn in variants.items():
        times = [_timed(lambda v=v, fn=fn: fn(v))[1] for v in vectors]
        out[name] = round(statistics.median(times) * 1000, 2)
    for n in (30, depth, 2 * depth):
        ids = [coll.query(query_embeddings=[v], n_results=n, include=[])["ids"][0] for v in vectors]
        times = [
            _timed(lambda i=i: coll.get(ids=i, include=["documents", "metadatas"]))[1] for i in ids
        ]
        out[f"get_{n}_by_id_documents_metadatas"] = round(statistics.median(times) * 1000, 2)
    return out


def _profile(retriever: Any, queries: list[str], top: int = 22) -> dict[str, Any]:
    """cProfile over hybrid searches: the functions with most cumulative and own time."""
    prof = cProfile.Profile()
    prof.enable()
    for q in queries:
        retriever.search(q, k=K, mode="hybrid")
    prof.disable()
    st = pstats.Stats(prof)
    raw: dict[Any, Any] = st.stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in raw.values())

    def name(key: tuple[str, int, str]) -> str:
        path, line, func = key
        short = path.split("site-packages/")[-1].split("src/")[-1]
        return f"{short}:{line}({func})"

    def per_query_ms(seconds: float) -> float:
        return round(seconds / len(queries) * 1000, 2)

    def interesting(key: tuple[str, int, str]) -> bool:
        path, _, func = key
        if "imr_assist" in path or "bench/" in path:
            return True
        if "sentence_transformers" in path:
            return func == "encode"
        if "onnxruntime" in path:
            return func == "run"
        return any(p in path for p in ("chromadb/api/", "bm25s", "langchain_chroma", "pydantic"))

    by_cum = sorted((kv for kv in raw.items() if interesting(kv[0])), key=lambda kv: -kv[1][3])
    by_own = sorted(raw.items(), key=lambda kv: -kv[1][2])
    return {
        "queries": len(queries),
        "profiled_ms_per_query": per_query_ms(total),
        "cumulative": [
            {
                "function": name(k),
                "ms_per_query": per_query_ms(v[3]),
                "own_ms_per_query": per_query_ms(v[2]),
                "calls": v[1],
            }
            for k, v in by_cum[:top]
        ],
        "own": [
            {"function": name(k), "ms_per_query": per_query_ms(v[2]), "calls": v[1]}
            for k, v in by_own[:top]
        ],
    }


def _bulk_load(index: Any, docs: Iterator[tuple[Any, list[Any], np.ndarray]]) -> int:
    """Store documents the way `PassageIndex.add` does, in big batches: passages upserted into
    the index's Chroma collection (same ids, vectors, stored text and metadata), then the
    documents' manifest records, then one generation bump. Returns the passage count."""
    from imr_assist.ingest.chunking import embedding_text
    from imr_assist.models import DocumentRecord

    ids: list[str] = []
    vectors: list[np.ndarray] = []
    texts: list[str] = []
    metas: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []
    stored = 0

    def flush() -> None:
        if ids:
            index.collection.upsert(
                ids=ids, embeddings=np.stack(vectors), documents=texts, metadatas=metas
            )
        for x in (ids, vectors, texts, metas):
            x.clear()

    now = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    for doc, passages, vecs in docs:
        ids.extend(p.id for p in passages)
        vectors.extend(vecs)
        texts.extend(embedding_text(p) for p in passages)
        metas.extend(p.metadata() for p in passages)
        stored += len(passages)
        record = DocumentRecord(
            doc_id=doc.doc_id,
            source_path=doc.source_path,
            file_path=doc.source_path,
            file_hash=doc.content_hash,
            content_hash=doc.content_hash,
            title=doc.meta.title,
            kind=doc.meta.kind,
            tier=doc.meta.tier,
            guideline=doc.meta.guideline,
            passages=len(passages),
            ingested_at=now,
        )
        records.append({k: v for k, v in record.model_dump(mode="json").items() if v is not None})
        if len(ids) >= _BULK_BATCH:
            flush()
    flush()
    manifest = index._manifest
    for start in range(0, len(records), _BULK_BATCH):
        batch = records[start : start + _BULK_BATCH]
        manifest.upsert(
            ids=[r["doc_id"] for r in batch], embeddings=[[1.0]] * len(batch), metadatas=batch
        )
    index._bump_generation()
    return stored


def run_size(size: int, n_queries: int, work: Path) -> dict[str, Any]:
    """Build one index of `size` passages and measure it (runs in a child process)."""
    import torch

    from imr_assist.evaluation.retrieval.peer import PeerRetriever
    from imr_assist.index.embedding import SentenceEmbeddings
    from imr_assist.index.store import PassageIndex
    from imr_assist.ingest.chunking import embedding_text
    from imr_assist.retrieval.hybrid import HybridRetriever
    from imr_assist.settings import Settings

    bank = SentenceBank()
    vectors = np.load(work / "bank.npy")
    real = SentenceEmbeddings()
    real.embed_query("warm up")  # load the model outside every timing
    rss_model = _rss_mb()
    out: dict[str, Any] = {
        "passages": size,
        "rss_after_model_load_mb": rss_model,
        "query_backend": real.query_backend,
    }

    home = Path(tempfile.mkdtemp(prefix=f"bench-retrieval-{size}-", dir=work))
    settings = Settings(home=home)
    embedder = _precomputed_embedder(real)
    index = PassageIndex(settings, embedder=embedder)
    corpus = Corpus(bank, vectors, size)
    timer = _GenTimer()
    docs = timer(corpus.documents())
    n_bulk = max(0, corpus.n_docs - ADD_DOCS)
    t0 = time.perf_counter()
    stored = _bulk_load(index, (next(docs) for _ in range(n_bulk)))
    bulk_s = time.perf_counter() - t0 - timer.generate_s
    add_times: list[float] = []
    for doc, passages, vecs in docs:  # the last documents through the real ingest path
        embedder.expect([embedding_text(p) for p in passages], vecs)
        _, dt = _timed(
            lambda d=doc, ps=passages: index.add(
                d, ps, file_path=d.source_path, file_hash=d.content_hash
            )
        )
        add_times.append(dt)
        stored += len(passages)
    load_s = time.perf_counter() - t0 - timer.generate_s
    del corpus, docs
    gc.collect()
    out.update(
        documents=n_bulk + len(add_times),
        load_s=round(load_s, 1),
        load_bulk_s=round(bulk_s, 1),
        load_bulk_passages_per_s=round((stored - PASSAGES_PER_DOC * len(add_times)) / bulk_s, 1),
        add_documents_timed=len(add_times),
        add_ms_per_document_median=round(statistics.median(add_times) * 1000, 1),
        add_passages_per_s=round(PASSAGES_PER_DOC * len(add_times) / max(sum(add_times), 1e-9), 1),
        generate_s=round(timer.generate_s, 1),
        rss_after_load_mb=_rss_mb(),
    )

    retriever = HybridRetriever(index)
    count, sync_s = _timed(retriever.sync)
    assert count == size, (count, size)
    out.update(bm25_build_s=round(sync_s, 1), rss_after_hybrid_build_mb=_rss_mb())
    _, pub_s = _timed(index.published_passages)  # the read sync() starts with, alone
    out["bm25_build_published_passages_read_s"] = round(pub_s, 1)
    gc.collect()

    queries = _queries(n_queries + WARMUP)
    warm, timed_q = queries[:WARMUP], queries[WARMUP:]
    for q in warm:
        retriever.search(q, k=K, mode="hybrid")
    hybrid, results, out["timing_hybrid"] = _timed_pass(
        lambda q: retriever.search(q, k=K, mode="hybrid"), timed_q
    )
    out["hybrid"] = _stats(hybrid)
    out["hybrid_gate_relevant_share"] = round(
        sum(bool(r.relevant) for r in results) / len(results), 3
    )
    with _OtherLoad() as load:
        out["breakdown_median_ms"] = _breakdown(retriever, timed_q)
    out["other_load_cores_breakdown"] = load.cores
    out["chroma_variants_median_ms"] = _chroma_variants(
        retriever, timed_q[:PROFILE_QUERIES], out["breakdown_median_ms"]["_chroma_n_results"]
    )
    out["profile"] = _profile(retriever, timed_q[:PROFILE_QUERIES])
    out["torch_threads"] = torch.get_num_threads()
    out["peak_rss_before_peer_mb"] = _peak_rss_mb()

    peer, peer_build_s = _timed(lambda: PeerRetriever(index))
    out.update(peer_build_s=round(peer_build_s, 1), rss_after_peer_build_mb=_rss_mb())
    for q in warm[:3]:
        peer.search(q, k=K)
    probe = [_timed(lambda q=q: peer.search(q, k=K))[1] for q in timed_q[:5]]
    mean_probe = statistics.fmean(probe)
    if mean_probe > PEER_SLOW_S:
        n_peer = PEER_SAMPLE
        why = f"a peer query took {mean_probe:.1f} s (> {PEER_SLOW_S} s): {PEER_SAMPLE} timed"
    else:
        n_peer = min(len(timed_q), max(PEER_SAMPLE, int(PEER_BUDGET_S / mean_probe)))
        why = (
            "all queries timed"
            if n_peer == len(timed_q)
            else f"~{mean_probe:.2f} s per peer query: the first {n_peer} queries timed "
            f"(budget {PEER_BUDGET_S:.0f} s)"
        )
    peer_times, _, out["timing_peer"] = _timed_pass(lambda q: peer.search(q, k=K), timed_q[:n_peer])
    out["peer"] = _stats(peer_times)
    out["peer_sample"] = why
    matched = _stats(hybrid[:n_peer])
    out["hybrid_on_peer_queries"] = matched
    out["ratio_peer_to_hybrid_p50"] = round(out["peer"]["p50_ms"] / matched["p50_ms"], 1)
    out["ratio_peer_to_hybrid_p95"] = round(out["peer"]["p95_ms"] / matched["p95_ms"], 1)
    out["peak_rss_mb"] = _peak_rss_mb()
    return out


class _GenTimer:
    """Iterate a generator, adding up the time spent inside it (passage generation)."""

    def __init__(self) -> None:
        self.generate_s = 0.0

    def __call__(self, it: Iterator[Any]) -> Iterator[Any]:
        self.generate_s = 0.0
        while True:
            t0 = time.perf_counter()
            try:
                item = next(it)
            except StopIteration:
                self.generate_s += time.perf_counter() - t0
                return
            self.generate_s += time.perf_counter() - t0
            yield item


# ----------------------------------------------------------------------------- parent


def _encode_bank(work: Path) -> dict[str, Any]:
    """Encode the sentence bank with the real MiniLM; check how close a mean-of-sentences
    vector is to MiniLM's vector of the whole passage text (what ingest would store)."""
    import torch

    from imr_assist.index.embedding import SentenceEmbeddings
    from imr_assist.ingest.chunking import embedding_text

    bank = SentenceBank()
    real = SentenceEmbeddings()
    model = real.model
    model.encode(["warm up"])
    t0 = time.perf_counter()
    vectors = model.encode(
        bank.sentences,
        batch_size=64,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    ).astype(np.float32)
    encode_s = time.perf_counter() - t0
    np.save(work / "bank.npy", vectors)

    corpus = Corpus(bank, vectors, 5 * PASSAGES_PER_DOC)
    sample: list[tuple[str, np.ndarray]] = []
    for _, passages, vecs in corpus.documents():
        sample += [(embedding_text(p), v) for p, v in zip(passages[::5], vecs[::5], strict=True)]
    true = model.encode(
        [t for t, _ in sample], batch_size=32, normalize_embeddings=True, show_progress_bar=False
    )
    cosines = [float(np.dot(v, tv)) for (_, v), tv in zip(sample, true, strict=True)]
    return {
        "bank_sentences": len(bank.sentences),
        "bank_topics": len(bank.topics),
        "bank_encode_s": round(encode_s, 1),
        "fidelity_sample": len(cosines),
        "fidelity_cosine_mean": round(statistics.fmean(cosines), 3),
        "fidelity_cosine_min": round(min(cosines), 3),
        "torch_threads": torch.get_num_threads(),
    }


def _embed_query_backends(n_queries: int) -> dict[str, Any]:
    """embed_query with the ONNX and the torch backends on the same queries, in one process,
    alternating query by query (so a neighbour's load falls on both alike)."""
    from imr_assist.index.embedding import SentenceEmbeddings

    onnx = SentenceEmbeddings(query_backend="auto")
    torch = SentenceEmbeddings(query_backend="torch")
    if onnx.query_backend != "onnx":
        return {"onnx_available": False}
    queries = _queries(n_queries + WARMUP)
    for q in queries[:WARMUP]:
        onnx.embed_query(q)
        torch.embed_query(q)
    times: dict[str, list[float]] = {"onnx": [], "torch": []}
    cosines: list[float] = []
    with _OtherLoad() as load:
        for i, q in enumerate(queries[WARMUP:]):
            order = [("onnx", onnx), ("torch", torch)][:: 1 if i % 2 == 0 else -1]
            vecs = {}
            for name, emb in order:
                vecs[name], dt = _timed(lambda emb=emb, q=q: emb.embed_query(q))
                times[name].append(dt)
            cosines.append(float(np.dot(vecs["onnx"], vecs["torch"])))
    stats = {name: _stats(t) for name, t in times.items()}
    return {
        "onnx_available": True,
        "onnx": stats["onnx"],
        "torch": stats["torch"],
        "ratio_torch_to_onnx_p50": round(stats["torch"]["p50_ms"] / stats["onnx"]["p50_ms"], 2),
        "ratio_torch_to_onnx_p95": round(stats["torch"]["p95_ms"] / stats["onnx"]["p95_ms"], 2),
        "cosine_onnx_torch_min": round(min(cosines), 6),
        "other_load_cores": load.cores,
    }


def _machine() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import chromadb
    import torch

    return {
        "machine": platform.machine(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "chromadb": chromadb.__version__,
        "bm25s": _version("bm25s"),
        "rank_bm25": _version("rank-bm25"),
        "langchain_classic": _version("langchain-classic"),
    }


def _code_version() -> str:
    """The commit measured, '+dirty' (with a hash of the retrieval sources) if uncommitted."""
    git = ["git", "-C", str(ROOT)]
    try:
        head = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            [*git, "status", "--porcelain", "src"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    if not dirty:
        return head
    digest = hashlib.sha256()
    for name in ("retrieval.py", "index.py", "lexical.py", "query.py", "settings.py"):
        digest.update((ROOT / "src" / "imr_assist" / name).read_bytes())
    return f"{head}+dirty (src sha256 {digest.hexdigest()[:10]})"


def _version(dist: str) -> str:
    from importlib.metadata import version

    return version(dist)


def _markdown(result: dict[str, Any]) -> str:
    sizes = result["sizes"]
    cols = [f"{r['passages']:,}" for r in sizes]
    md = [
        "# Retrieval latency at scale (bench/retrieval.py)",
        "",
        f"{result['when']}, code {result['code']}, {result['machine']['cpu']} "
        f"({result['machine']['cpus']} CPUs), torch threads {result['torch_threads']} (query "
        f"embedding runs on 1), {result['queries']} queries (+{WARMUP} warm-up, excluded), "
        f"k={K}. Whole run {result['total_wall_s']} s.",
        "",
        f"Vectors: {result['vector_source']}",
        "",
    ]
    if result.get("note"):
        md += [f"**Conditions:** {result['note']}", ""]
    eb = result.get("embed_query_backends") or {}
    if eb.get("onnx_available"):
        md += [
            f"Query embedding backend in the timed searches: "
            f"{', '.join(sorted({r.get('query_backend', '?') for r in sizes}))}. "
            f"embed_query alone, same {eb['onnx']['n']} queries alternating in one process: "
            f"ONNX p50/p95 {eb['onnx']['p50_ms']}/{eb['onnx']['p95_ms']} ms, torch "
            f"{eb['torch']['p50_ms']}/{eb['torch']['p95_ms']} ms: **torch/ONNX "
            f"{eb['ratio_torch_to_onnx_p50']}x at p50, {eb['ratio_torch_to_onnx_p95']}x at "
            f"p95**; min cosine ONNX vs torch {eb['cosine_onnx_torch_min']}; other processes "
            f"used {eb['other_load_cores']} cores meanwhile.",
            "",
        ]
    md += [
        "| metric | " + " | ".join(cols) + " |",
        "|---|" + "---|" * len(cols),
    ]

    def table_header(first: str) -> None:
        md.extend(["", f"| {first} | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)])

    def row(label: str, get: Callable[[dict[str, Any]], Any]) -> None:
        md.append(f"| {label} | " + " | ".join(str(get(r)) for r in sizes) + " |")

    row("hybrid p50 / p95 / mean ms", lambda r: _trio(r["hybrid"]))
    row("peer p50 / p95 / mean ms", lambda r: _trio(r["peer"]))
    row("peer queries timed", lambda r: f"{r['peer']['n']} ({r['peer_sample']})")
    row("hybrid on those queries p50 / p95 ms", lambda r: _trio(r["hybrid_on_peer_queries"], 2))
    row("**peer/hybrid p50**", lambda r: f"**{r['ratio_peer_to_hybrid_p50']}x**")
    row("**peer/hybrid p95**", lambda r: f"**{r['ratio_peer_to_hybrid_p95']}x**")
    row(
        f"goal: hybrid p95 <= {GOAL_P95_MS:.0f} ms",
        lambda r: "met" if r["hybrid"]["p95_ms"] <= GOAL_P95_MS else "**not met**",
    )
    row(
        f"goal: >= {GOAL_RATIO:.0f}x faster than the peer (p95)",
        lambda r: "met" if r["ratio_peer_to_hybrid_p95"] >= GOAL_RATIO else "**not met**",
    )
    row("gate: share of queries judged relevant", lambda r: r["hybrid_gate_relevant_share"])
    row(
        "CPU used by other processes while timing, cores (hybrid / peer)",
        lambda r: f"{r['timing_hybrid']['other_cores']} / {r['timing_peer']['other_cores']}",
    )
    row(
        "timing passes run (a contended pass is run again), hybrid / peer",
        lambda r: f"{len(r['timing_hybrid']['attempts'])} / {len(r['timing_peer']['attempts'])}",
    )
    row(
        "CPU used by other processes during the stage breakdown, cores",
        lambda r: r["other_load_cores_breakdown"],
    )
    table_header("build and memory")
    row("load, total (s)", lambda r: r["load_s"])
    row("  bulk upsert + manifest (passages/s)", lambda r: r["load_bulk_passages_per_s"])
    row(
        "  PassageIndex.add, last documents (ms/document of 50)",
        lambda r: f"{r['add_ms_per_document_median']} ({r['add_documents_timed']} docs)",
    )
    row("BM25 build = HybridRetriever.sync() (s)", lambda r: r["bm25_build_s"])
    row(
        "  index.published_passages() alone (s)",
        lambda r: r["bm25_build_published_passages_read_s"],
    )
    row("peer build = PeerRetriever(index) (s)", lambda r: r["peer_build_s"])
    row("RSS after model load (MB)", lambda r: r["rss_after_model_load_mb"])
    row("RSS after load into Chroma (MB)", lambda r: r["rss_after_load_mb"])
    row("RSS after hybrid build (MB)", lambda r: r["rss_after_hybrid_build_mb"])
    row("RSS after peer build (MB)", lambda r: r["rss_after_peer_build_mb"])
    row("peak RSS before the peer is built (MB)", lambda r: r["peak_rss_before_peer_mb"])
    row("peak RSS (MB)", lambda r: r["peak_rss_mb"])

    md += [
        "",
        "## Where hybrid time goes",
        "",
        "Median ms per query over the same queries, timed by wrappers on the instances that "
        "`search()` calls (one real search per query); 'rest' = total minus the stages.",
    ]
    table_header("stage")
    for stage in (*_STAGES, "total"):
        row(stage, lambda r, s=stage: r["breakdown_median_ms"][s])
    row(
        "passages fetched by get_passages (median)",
        lambda r: r["breakdown_median_ms"]["_passages_fetched_median"],
    )
    row(
        "dense Chroma query: n_results, include",
        lambda r: (
            f"{r['breakdown_median_ms']['_chroma_n_results']}, "
            f"{'+'.join(r['breakdown_median_ms']['_chroma_include'] or [])}"
        ),
    )
    md += ["", "Dense Chroma query variants (median ms, same query vectors):"]
    table_header("variant")
    for name in sizes[0]["chroma_variants_median_ms"]:
        row(f"`{name}`", lambda r, n=name: r["chroma_variants_median_ms"].get(n, "-"))
    for r in sizes:
        prof = r["profile"]
        md += [
            "",
            f"## cProfile, {r['passages']:,} passages ({prof['queries']} hybrid searches, "
            f"{prof['profiled_ms_per_query']} ms/query under the profiler)",
            "",
            "| cumulative ms/query | own ms/query | calls | function |",
            "|---|---|---|---|",
        ]
        md += [
            f"| {e['ms_per_query']} | {e['own_ms_per_query']} | {e['calls']} | `{e['function']}` |"
            for e in prof["cumulative"]
        ]
    md += ["", "Notes:", ""] + [f"- {n}" for n in result["notes"]]
    return "\n".join(md) + "\n"


def _trio(s: dict[str, Any], n: int = 3) -> str:
    keys = ["p50_ms", "p95_ms", "mean_ms"][:n]
    return " / ".join(str(s[k]) for k in keys)


def _chart(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = result["sizes"]
    labels = [f"{r['passages']:,} passages" for r in sizes]
    series = [
        ("hybrid p50", [r["hybrid"]["p50_ms"] for r in sizes], "#1f77b4", None),
        ("hybrid p95", [r["hybrid"]["p95_ms"] for r in sizes], "#1f77b4", "//"),
        ("peer p50", [r["peer"]["p50_ms"] for r in sizes], "#d62728", None),
        ("peer p95", [r["peer"]["p95_ms"] for r in sizes], "#d62728", "//"),
    ]
    x = np.arange(len(sizes))
    width = 0.2
    fig, ax = plt.subplots(figsize=(8, 4.8))
    for i, (name, values, color, hatch) in enumerate(series):
        bars = ax.bar(
            x + (i - 1.5) * width,
            values,
            width,
            label=name,
            color=color,
            alpha=0.55 if hatch else 0.9,
            hatch=hatch,
            edgecolor="black",
            linewidth=0.5,
        )
        ax.bar_label(bars, labels=[f"{v:.0f}" for v in values], fontsize=7, padding=2)
    ax.axhline(GOAL_P95_MS, color="green", linestyle="--", linewidth=1, label="goal p95 30 ms")
    ax.set_yscale("log")
    ax.set_ylim(bottom=10)
    ax.set_xticks(x, labels)
    ax.set_ylabel("latency per query, ms (log scale)")
    ax.set_title("Hybrid search vs LangChain EnsembleRetriever peer (k=10, query embedding incl.)")
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="passage counts, comma-separated")
    parser.add_argument("--queries", type=int, default=200, help="timed queries per size")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results folder")
    parser.add_argument("--note", default="", help="remark on the run's conditions, kept")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        result = run_size(args.child, args.queries, args.work)
        (args.work / f"size-{args.child}.json").write_text(json.dumps(result))
        return 0

    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-retrieval-") as tmp:
        work = Path(tmp)
        print(f"encoding the sentence bank with MiniLM in {work} ...", flush=True)
        bank = _encode_bank(work)
        print(json.dumps(bank), flush=True)
        embed_backends = _embed_query_backends(args.queries)
        print(json.dumps(embed_backends), flush=True)
        per_size = []
        for size in sizes:
            print(f"measuring {size:,} passages (child process) ...", flush=True)
            t0 = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    str(size),
                    "--queries",
                    str(args.queries),
                    "--work",
                    str(work),
                ],
                check=True,
            )
            r = json.loads((work / f"size-{size}.json").read_text())
            r["child_wall_s"] = round(time.perf_counter() - t0, 1)
            print(json.dumps({k: v for k, v in r.items() if k != "profile"}), flush=True)
            per_size.append(r)

    result: dict[str, Any] = {
        "benchmark": "bench/retrieval.py",
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": _machine(),
        "code": _code_version(),
        "torch_threads": bank["torch_threads"],
        "query_embedding_threads": 1,
        "queries": args.queries,
        "warmup_queries": WARMUP,
        "k": K,
        "query_sources": [str(p.relative_to(ROOT)) for p in QUERY_FILES],
        "vector_source": (
            f"precomputed: {bank['bank_sentences']:,} generated guideline sentences "
            f"({bank['bank_topics']} lexicon topics) encoded with the bundled MiniLM in "
            f"{bank['bank_encode_s']} s; a passage's vector is the normalised mean of its "
            f"sentences' vectors (cosine to MiniLM's vector of the full passage text: mean "
            f"{bank['fidelity_cosine_mean']}, min {bank['fidelity_cosine_min']} over "
            f"{bank['fidelity_sample']} passages). Query vectors are real MiniLM."
        ),
        "bank": bank,
        "embed_query_backends": embed_backends,
        "note": args.note,
        "goals": {"hybrid_p95_ms_at_largest": GOAL_P95_MS, "peer_to_hybrid_ratio": GOAL_RATIO},
        "sizes": per_size,
        "total_wall_s": round(time.perf_counter() - started, 1),
        "notes": [
            "Latency is wall time of one call, measured sequentially in one process per size; "
            "hybrid = HybridRetriever.search(q, k=10, mode='hybrid') including the MiniLM "
            "query embedding; peer = PeerRetriever.search(q, k=10) (its Chroma side embeds the "
            "query with the same MiniLM embedder, so the same backend, ONNX or torch).",
            "Ratios compare the peer with hybrid on the same queries (the peer may be timed on "
            "the first N queries only; see 'peer queries timed').",
            "The stage breakdown is a separate pass of real searches over the same queries with "
            "timing wrappers set on the instances search() calls (no source is changed); "
            "medians of stages do not add up exactly to the median total.",
            "Dense Chroma variants query the same collection with the same real query vectors: "
            "they show what the HNSW search costs and what fetching stored documents and "
            "metadata for every result costs.",
            f"Before each timed pass the bench waits (up to {QUIET_WAIT_S:.0f} s) for other "
            f"processes to use < 0.3 cores; a pass during which they used more than "
            f"{CONTENDED_CORES} cores is timed once more and the less contended attempt kept "
            "(both are in retrieval.json under timing_hybrid / timing_peer).",
            "cProfile adds overhead to Python-heavy stages; use it for attribution, not "
            "absolute latency.",
            f"{PASSAGES_PER_DOC} passages per synthetic document; ~10% of guideline passages "
            "are reference-list passages (demoted as boilerplate).",
        ],
    }
    largest = per_size[-1] if per_size else None
    if largest:
        result["goals"]["met_p95"] = largest["hybrid"]["p95_ms"] <= GOAL_P95_MS
        result["goals"]["met_ratio"] = largest["ratio_peer_to_hybrid_p95"] >= GOAL_RATIO
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "retrieval.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / "retrieval.md").write_text(_markdown(result))
    _chart(result, args.out / "retrieval.png")
    print(_markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
