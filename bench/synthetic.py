"""A synthetic guideline corpus with realistic vectors, and loading it into an index.

Sentences are generated per lexicon item (devices, therapies, injections, drugs, imaging,
surgery...) and kind: guideline prose, determination prose and reference-list entries
(`SentenceBank`; bench/scale.py adds determination vocabulary through its templates and
filler). `Corpus` assembles them into documents of PASSAGES_PER_DOC passages with a tier (MTUS,
guideline, other guideline, study, prior determination, weighted 15/35/20/10/20), a body region,
a decision for determinations, a guideline name, sections, numbered recommendations with grades
and reference passages; every passage text of a document is distinct.

Vectors are precomputed, not random: the bank is encoded once with the real MiniLM
(`encode_bank`) and a passage's vector is the normalised mean of its sentences' vectors (its
cosine to MiniLM's vector of the whole passage is measured and recorded). Random unit vectors
would make every passage equidistant from every query (cosine ~0 in 384-d), which is the worst
case for HNSW and meaningless for the relevance gate; encoding 100k passages would take ~1.5 h
here. The index is opened with `PrecomputedEmbeddings`, whose `embed_documents` returns those
vectors and whose `embed_query` is the real model's.

`load_corpus` stores all but the last documents with `PassageIndex.add_many` (BULK_BATCH
passages per call and per upsert) and the last ones with `PassageIndex.add`, one at a time:
both are the index's own write path.
"""

from __future__ import annotations

import hashlib
import random
import statistics
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from bench.common import SEED, GenTimer, timed
from imr_assist.citations import make_citation_id
from imr_assist.index.store import PassageIndex, PendingDocument
from imr_assist.ingest.chunking import embedding_text
from imr_assist.models import Decision, DocumentMeta, Kind, Passage, SourceDocument, Tier

PASSAGES_PER_DOC = 50
BULK_BATCH = 5000
"""Passages per `add_many` call (and per Chroma upsert) when loading a corpus in bulk."""

Document = tuple[SourceDocument, list[Passage], np.ndarray]
"""A synthetic document: its passages and their vectors (one row per passage)."""

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
CONDITIONS = [
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
GUIDELINE_TEMPLATES = [
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
DETERMINATION_TEMPLATES = [
    "The request for {t} for the {r} is {dec} as medically necessary per the MTUS guidelines.",
    "The injured worker is a {a}-year-old with {c} who has completed {v} sessions of {cmp} "
    "without documented functional improvement.",
    "The reviewer found that the records do not document objective functional gains after "
    "{v} prior visits of {t}, so additional {t} is not supported.",
    "Per the RFA dated {mo}/{dd}/{yy}, the provider requested {t} x{v} for the {r}.",
]
REFERENCE_TEMPLATE = (
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


def topics() -> list[str]:
    from imr_assist.text.lexicon import LEXICON

    return [t.canonical for t in LEXICON.values() if t.group not in {"diagnoses", "claims"}]


def _surface(rng: random.Random, topic: str) -> str:
    """The topic as a guideline or a reviewer would write it: its name or one of its forms."""
    from imr_assist.text.lexicon import LEXICON

    forms = [topic, topic, *LEXICON[topic].forms[:4]]
    return rng.choice(forms)


def fill(rng: random.Random, template: str, topic: str) -> str:
    t = _surface(rng, topic)
    region = rng.choice(list(_REGIONS))
    values = {
        "t": t,
        "T": t[:1].upper() + t[1:],
        "c": rng.choice(CONDITIONS),
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
    """Generated sentences by topic and kind ('guideline', 'determination', 'reference').

    `templates` (kind -> templates) and `fill` default to this module's; bench/scale.py passes
    its own determination templates and a filler that knows their extra fields."""

    def __init__(
        self,
        seed: int = SEED,
        variants: int = 2,
        templates: dict[str, list[str]] | None = None,
        fill: Callable[[random.Random, str, str], str] = fill,
    ) -> None:
        rng = random.Random(seed)
        self.topics = topics()
        self.templates = templates or {
            "guideline": GUIDELINE_TEMPLATES,
            "determination": DETERMINATION_TEMPLATES,
            "reference": [REFERENCE_TEMPLATE],
        }
        self.sentences: list[str] = []
        self.by: dict[tuple[str, str], list[int]] = {}
        for topic in self.topics:
            for kind, group in self.templates.items():
                rows = self.by.setdefault((topic, kind), [])
                for template in group:
                    for _ in range(variants):
                        rows.append(len(self.sentences))
                        self.sentences.append(fill(rng, template, topic))


class Corpus:
    """Deterministic synthetic documents and passages over a sentence bank and its vectors."""

    def __init__(self, bank: SentenceBank, vectors: np.ndarray, size: int, seed: int = SEED):
        self.bank = bank
        self.vectors = vectors
        self.size = size
        self.seed = seed
        self.n_docs = max(1, size // PASSAGES_PER_DOC)

    def documents(self) -> Iterator[Document]:
        """(SourceDocument, passages, passage vectors) for each document, in order."""
        base, extra = divmod(self.size, self.n_docs)
        for d in range(self.n_docs):
            yield self._document(d, base + (1 if d < extra else 0))

    def _document(self, d: int, n: int) -> Document:
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
                ].format(t=topic, c=rng.choice(CONDITIONS))
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


# ----------------------------------------------------------------------------- vectors


class PrecomputedEmbeddings(Embeddings):
    """`embed_documents` returns the vectors registered (`expect`) for the texts about to be
    stored; `embed_query` is the real model's, so the query path stays real."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.model_name = real.model_name
        self._pending: dict[str, list[np.ndarray]] = {}

    def expect(self, texts: list[str], vectors: np.ndarray) -> None:
        self._pending = {}
        for text, vector in zip(texts, vectors, strict=True):
            self._pending.setdefault(text, []).append(vector)  # two documents may share a text

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._pending[t].pop().tolist() for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.real.embed_query(text)


def encode_bank(bank: SentenceBank, work: Path) -> dict[str, Any]:
    """Encode the bank with the real MiniLM into work/bank.npy; check how close a
    mean-of-sentences vector is to MiniLM's vector of the whole passage text (what ingest
    would store)."""
    import torch

    from imr_assist.index.embedding import SentenceEmbeddings

    model = SentenceEmbeddings().model
    model.encode(["warm up"])  # the model's first call, outside the timing
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


# ----------------------------------------------------------------------------- loading


def bulk_load(
    index: PassageIndex, embedder: PrecomputedEmbeddings, docs: Iterable[Document]
) -> int:
    """Store documents through `PassageIndex.add_many`, up to BULK_BATCH passages per call (one
    upsert each, then the call's manifest records with a new generation, then its stale
    versions). Returns the passage count."""
    group: list[PendingDocument] = []
    texts: list[str] = []
    vectors: list[np.ndarray] = []
    stored = 0

    def flush() -> None:
        if group:
            embedder.expect(texts, np.concatenate(vectors))
            index.add_many(group, batch=BULK_BATCH)
        for pending in (group, texts, vectors):
            pending.clear()

    for doc, passages, vecs in docs:
        if group and len(texts) + len(passages) > BULK_BATCH:
            flush()
        group.append(PendingDocument(doc, passages, doc.source_path, doc.content_hash))
        texts.extend(embedding_text(p) for p in passages)
        vectors.append(vecs)
        stored += len(passages)
    flush()
    return stored


@dataclass
class Load:
    """What `load_corpus` stored and how long it took (passage generation taken out)."""

    bulk_documents: int
    stored_bulk: int = 0
    bulk_s: float = 0.0
    generate_bulk_s: float = 0.0
    added: int = 0
    add_times: list[float] = field(default_factory=list)
    load_s: float = 0.0
    generate_s: float = 0.0

    @property
    def documents(self) -> int:
        return self.bulk_documents + len(self.add_times)


def load_corpus(
    index: PassageIndex, embedder: PrecomputedEmbeddings, corpus: Corpus, add_docs: int
) -> Load:
    """All documents of `corpus` into `index`: the last `add_docs` through `PassageIndex.add`,
    one at a time and each timed; the others in bulk (`bulk_load`)."""
    timer = GenTimer()
    docs = timer(corpus.documents())
    out = Load(bulk_documents=max(0, corpus.n_docs - add_docs))
    t0 = time.perf_counter()
    out.stored_bulk = bulk_load(index, embedder, (next(docs) for _ in range(out.bulk_documents)))
    out.generate_bulk_s = timer.generate_s
    out.bulk_s = time.perf_counter() - t0 - timer.generate_s
    for doc, passages, vecs in docs:  # the last documents, one `add` each
        embedder.expect([embedding_text(p) for p in passages], vecs)
        _, dt = timed(
            lambda d=doc, ps=passages: index.add(
                d, ps, file_path=d.source_path, file_hash=d.content_hash
            )
        )
        out.add_times.append(dt)
        out.added += len(passages)
    out.generate_s = timer.generate_s
    out.load_s = time.perf_counter() - t0 - timer.generate_s
    return out
