"""How cost grows with corpus size: ingest, query latency, memory and disk at 10k, 100k and 1M
passages of realistic synthetic guidelines and determinations.

The corpus: `scale_bank()` generates sentences per lexicon item (116 items: devices, therapies,
injections, drugs, imaging, surgery...) and kind: guideline prose (evidence summaries, visit
limits, grades, adverse events, body regions), determination prose (claimant age, occupation
and mechanism of injury, diagnoses, medications, examination findings, the RFA, the UR decision
and the IMR reviewer's rationale citing MTUS/ACOEM/ODG) and reference-list entries. bench/
synthetic.py's `Corpus` assembles them into documents of 50 passages with a tier (MTUS,
ACOEM/ODG, other guideline, study, prior determination, weighted 15/35/20/10/20), a body
region, a decision for determinations, a guideline name (MTUS ACOEM, ODG, VA/DoD, NICE, ACP,
NASS, AAOS + region + year), sections, numbered recommendations with grades and reference
passages; every passage text is distinct.

Vectors: the bank (~5,800 sentences) is encoded ONCE with the bundled MiniLM; a passage's vector
is the normalised mean of its 3-6 sentences' vectors. Passages differ in which sentences they
combine, so vectors are distinct but cluster by item and kind the way real ones do (the cosine
of a mean-of-sentences vector to MiniLM's vector of the whole passage is measured and
recorded, ~0.86). Random unit vectors would make every passage equidistant from a query (cos ~0
in 384-d), the worst case for HNSW and meaningless for the gate; encoding 1M passages with the
real model would take ~13 h on this machine (ingest embeds ~20 passages/s on 2 cores, see
bench/results/ingest.md), which is measured here on a sample and reported separately.

Per size, two child processes (so each peak RSS is its own):
- ingest: all documents but the last ADD_DOCS are stored with `PassageIndex.add_many` in
  5,000-passage calls (bench/synthetic.py `load_corpus`); the last ADD_DOCS go through
  `PassageIndex.add`, one document at a time;
  then `HybridRetriever.sync()` builds and saves the BM25 side (the real BM25 write path: it is
  rebuilt from Chroma whenever the manifest generation changes). Each is timed.
- query: a fresh process opens the index the way the CLI does, `imr_assist.api.search(q,
  settings=...)` (hybrid, k=10, real MiniLM query encoder: ONNX when available), and times the
  first (cold: model, Chroma, BM25 load) and then 200 queries from eval/.
Disk is the bytes under IMR_HOME/chroma and IMR_HOME/bm25.

Run from the repository root: `.venv/bin/python -m bench.scale [--sizes 10000,100000,1000000]
[--queries 200] [--note TEXT] [--out DIR]` (the quickest check: `--sizes 1000 --queries 20 --out
/tmp/x`). Results for each size are merged into OUT/scale.json (sizes not run are kept, each with
its own date and conditions), then scale.md and scale.png are rewritten.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import (
    RESULTS,
    ROOT,
    SEED,
    OtherLoad,
    code_version,
    latency_stats,
    machine,
    peak_rss_mb,
    rss_mb,
    sample_queries,
    timed,
    timed_pass,
    write_results,
)
from bench.synthetic import (
    CONDITIONS,
    DETERMINATION_TEMPLATES,
    GUIDELINE_TEMPLATES,
    REFERENCE_TEMPLATE,
    Corpus,
    PrecomputedEmbeddings,
    SentenceBank,
    encode_bank,
    fill,
    load_corpus,
)

DEFAULT_SIZES = "10000,100000,1000000"
ADD_DOCS = 10
EMBED_SAMPLE = 256  # passages embedded with the real model to measure embedding throughput
WARMUP = 10

# ----------------------------------------------------------------------------- the generator

_OCCUPATIONS = [
    "warehouse worker",
    "registered nurse",
    "truck driver",
    "correctional officer",
    "grocery clerk",
    "construction laborer",
    "office assistant",
    "firefighter",
    "home health aide",
    "mechanic",
    "school custodian",
    "farm worker",
]
_MECHANISMS = [
    "lifting a 60-pound box",
    "transferring a patient",
    "falling from a ladder",
    "slipping on a wet floor",
    "repetitive keyboarding",
    "driving a company vehicle",
    "pushing a loaded cart",
    "twisting while unloading a truck",
]
_MEDICATIONS = [
    "ibuprofen 800 mg three times daily",
    "naproxen 550 mg twice daily",
    "cyclobenzaprine 10 mg at bedtime",
    "gabapentin 300 mg three times daily",
    "tramadol 50 mg as needed",
    "hydrocodone/acetaminophen 10/325 mg every 6 hours",
    "omeprazole 20 mg daily",
    "duloxetine 60 mg daily",
    "lidocaine 5% patches",
]
_FINDINGS = [
    "tenderness over the paraspinal muscles with decreased range of motion",
    "a positive straight leg raise on the left at 45 degrees",
    "intact motor strength and sensation in both lower extremities",
    "crepitus and a mild effusion of the knee",
    "painful arc and positive Hawkins and Neer signs",
    "decreased sensation in the C6 dermatome",
    "antalgic gait and guarded lumbar flexion",
    "no focal neurological deficit",
]
_UR = ["non-certified", "modified", "certified", "non-certified"]
_IMR = ["upheld", "overturned", "upheld"]
_GUIDES = [
    "MTUS Chronic Pain Medical Treatment Guidelines",
    "ACOEM Practice Guidelines",
    "Official Disability Guidelines (ODG)",
    "MTUS Low Back Disorders guideline",
    "MTUS Postsurgical Treatment Guidelines",
]
_STANCE = [
    "recommended as an option",
    "not recommended",
    "recommended for a limited trial",
    "not recommended as a primary treatment",
    "recommended when there is documented functional improvement",
]
_DETERMINATION_TEMPLATES = [
    "The request for {t} for the {r} is {dec} per the MTUS guidelines.",
    "The injured worker is a {a}-year-old with {c} who has completed {v} sessions of {prior} "
    "without documented functional improvement.",
    *DETERMINATION_TEMPLATES[2:],
    "The claimant is a {a}-year-old {occ} who injured the {r} on {mo}/{dd}/{yy} while {mech}.",
    "Diagnoses include {c} and {c2}; current medications are {med} and {med2}.",
    "Physical examination on {mo}/{dd}/{yy} showed {find}.",
    "Prior treatment has included {prior} with {p}% relief lasting {w} weeks and {v} visits "
    "of {prior2}.",
    "Utilization review {ur} the request for {t} on {mo}/{dd}/{yy}, citing the {guide}.",
    "According to the {guide}, {t} is {stance} for {c}.",
    "The IMR reviewer {imr} the utilization review decision: {t} is {dec} for this injured "
    "worker because the records {doc}.",
    "The treating physician's progress report documents pain of {pain}/10 and work status "
    "{status}, and asks for {t} x{v} to the {r}.",
]
_DOC_PHRASES = [
    "do not show objective functional improvement",
    "show a {p}% reduction in pain with improved sitting tolerance",
    "do not describe a home exercise program",
    "document failure of conservative care for more than {w} weeks",
]
_PRIOR = [
    "physical therapy",
    "chiropractic care",
    "NSAIDs",
    "a home exercise program",
    "acupuncture",
    "an epidural steroid injection",
    "activity modification",
    "muscle relaxants",
]
_STATUS = ["modified duty", "temporarily totally disabled", "full duty", "permanent and stationary"]


def _fill(rng: random.Random, template: str, topic: str) -> str:
    """bench/synthetic.py's filler plus the determination vocabulary."""
    extra = {
        "occ": rng.choice(_OCCUPATIONS),
        "mech": rng.choice(_MECHANISMS),
        "c2": rng.choice(CONDITIONS),
        "med": rng.choice(_MEDICATIONS),
        "med2": rng.choice(_MEDICATIONS),
        "find": rng.choice(_FINDINGS),
        "prior": rng.choice(_PRIOR),
        "prior2": rng.choice(_PRIOR),
        "pain": str(rng.randint(3, 9)),
        "ur": rng.choice(_UR),
        "imr": rng.choice(_IMR),
        "guide": rng.choice(_GUIDES),
        "stance": rng.choice(_STANCE),
        "doc": rng.choice(_DOC_PHRASES).format(p=rng.randint(20, 60), w=rng.choice([4, 6, 12])),
        "status": rng.choice(_STATUS),
    }
    for key, value in extra.items():  # values hold no braces: safe before format()
        template = template.replace("{" + key + "}", value)
    return fill(rng, template, topic)


def scale_bank() -> SentenceBank:
    """Generated sentences by lexicon item and kind, with this module's determination
    templates and vocabulary (the same sentences, in the same order, at every run)."""
    templates = {
        "guideline": GUIDELINE_TEMPLATES,
        "determination": _DETERMINATION_TEMPLATES,
        "reference": [REFERENCE_TEMPLATE],
    }
    return SentenceBank(SEED, templates=templates, fill=_fill)


# ----------------------------------------------------------------------------- children


def _disk_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.exists() else 0


def ingest_child(size: int, work: Path, home: Path) -> dict[str, Any]:
    """Build one index of `size` passages in `home`; time each write path."""
    from imr_assist.index.embedding import SentenceEmbeddings
    from imr_assist.index.store import PassageIndex
    from imr_assist.ingest.chunking import embedding_text
    from imr_assist.retrieval.hybrid import HybridRetriever
    from imr_assist.settings import Settings

    bank = scale_bank()
    vectors = np.load(work / "bank.npy")
    real = SentenceEmbeddings()
    settings = Settings(home=home)
    embedder = PrecomputedEmbeddings(real)
    index = PassageIndex(settings, embedder=embedder)
    corpus = Corpus(bank, vectors, size)
    out: dict[str, Any] = {"passages": size, "documents": corpus.n_docs}
    with OtherLoad() as load:
        loaded = load_corpus(index, embedder, corpus, ADD_DOCS)
    out.update(
        generate_s=round(loaded.generate_bulk_s, 1),
        bulk_s=round(loaded.bulk_s, 1),
        bulk_passages_per_s=round(loaded.stored_bulk / max(loaded.bulk_s, 1e-9), 1),
        add_documents=len(loaded.add_times),
        add_passages_per_s=round(loaded.added / max(sum(loaded.add_times), 1e-9), 1),
        add_ms_per_document_median=round(statistics.median(loaded.add_times) * 1000, 1),
        other_load_cores_ingest=load.cores,
        rss_after_chroma_mb=rss_mb(),
    )
    del corpus
    gc.collect()

    retriever = HybridRetriever(index)
    with OtherLoad() as load:
        count, sync_s = timed(retriever.sync)
    assert count == size, (count, size)
    out.update(
        bm25_build_s=round(sync_s, 1),
        bm25_passages_per_s=round(size / sync_s, 1),
        other_load_cores_bm25=load.cores,
        rss_after_bm25_mb=rss_mb(),
    )
    # Real passage embedding (what a real ingest spends most of its time on), on a sample.
    sample_corpus = Corpus(bank, vectors, EMBED_SAMPLE)
    texts = [embedding_text(p) for _, ps, _ in sample_corpus.documents() for p in ps]
    real.embed_documents(texts[:16])
    with OtherLoad() as load:
        _, embed_s = timed(lambda: real.embed_documents(texts))
    out.update(
        embed_sample=len(texts),
        embed_passages_per_s=round(len(texts) / embed_s, 1),
        other_load_cores_embed=load.cores,
        peak_rss_ingest_mb=peak_rss_mb(),
    )
    out["disk_chroma_bytes"] = _disk_bytes(home / "chroma")
    out["disk_bm25_bytes"] = _disk_bytes(home / "bm25")
    return out


def query_child(size: int, home: Path, n_queries: int) -> dict[str, Any]:
    """Open the index as the CLI does and time api-level hybrid searches."""
    from imr_assist import api
    from imr_assist.settings import Settings

    settings = Settings(home=home)
    queries = sample_queries(n_queries + WARMUP + 1)
    rss_start = rss_mb()
    first, cold_s = timed(lambda: api.search(queries[0], settings=settings))
    out: dict[str, Any] = {
        "rss_before_open_mb": rss_start,
        "cold_first_query_s": round(cold_s, 2),
        "rss_after_open_mb": rss_mb(),
        "query_backend": api.open_index(settings).embedder.query_backend,
        "cold_first_query": queries[0],
        "cold_first_query_hits": len(first.hits),
        "cold_first_query_gate": first.gate_reason,
        "cold_first_query_repeated_hits": len(api.search(queries[0], settings=settings).hits),
    }
    for q in queries[1 : 1 + WARMUP]:
        api.search(q, settings=settings)
    timed_q = queries[1 + WARMUP :]
    times, results, info = timed_pass(lambda q: api.search(q, settings=settings), timed_q)
    out["latency"] = latency_stats(times)
    out["timing"] = info
    out["gate_relevant_share"] = round(sum(bool(r.relevant) for r in results) / len(results), 3)
    out["timed_queries_without_hits"] = sum(1 for r in results if not r.hits)
    out["peak_rss_query_mb"] = peak_rss_mb()
    return out


# ----------------------------------------------------------------------------- parent


def _encode_bank(work: Path) -> dict[str, Any]:
    """Encode the bank with the real MiniLM once; check mean-of-sentences fidelity."""
    bank = scale_bank()
    return {
        **encode_bank(bank, work),
        "bank_determination_templates": len(_DETERMINATION_TEMPLATES),
        "bank_guideline_templates": len(GUIDELINE_TEMPLATES),
        "example_determination": bank.sentences[bank.by[(bank.topics[0], "determination")][-3]],
        "example_guideline": bank.sentences[bank.by[(bank.topics[0], "guideline")][1]],
    }


def _child(args: list[str]) -> None:
    subprocess.run([sys.executable, "-m", "bench.scale", *args], check=True, cwd=ROOT)


def measure(size: int, work: Path, n_queries: int) -> dict[str, Any]:
    home = work / f"home-{size}"
    started = time.perf_counter()
    _child(["--child-ingest", str(size), "--work", str(work), "--home", str(home)])
    ingest = json.loads((work / f"ingest-{size}.json").read_text())
    print(json.dumps(ingest), flush=True)
    query_args = ["--child-query", str(size), "--work", str(work), "--home", str(home)]
    _child([*query_args, "--queries", str(n_queries)])
    query = json.loads((work / f"query-{size}.json").read_text())
    print(json.dumps({k: v for k, v in query.items() if k != "timing"}), flush=True)
    shutil.rmtree(home, ignore_errors=True)
    return {
        **ingest,
        **query,
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "code": code_version(),
        "wall_s": round(time.perf_counter() - started, 1),
    }


def _markdown(result: dict[str, Any]) -> str:
    sizes = sorted(result["sizes"].values(), key=lambda r: r["passages"])
    cols = [f"{r['passages']:,}" for r in sizes]
    md = [
        "# Scale: how cost grows with corpus size (bench/scale.py)",
        "",
        f"{result['machine']['cpu']} ({result['machine']['cpus']} CPUs), chromadb "
        f"{result['machine']['chromadb']}, bm25s {result['machine']['bm25s']}. "
        f"Vectors: {result['vector_source']}",
        "",
    ]
    if any(r.get("note") for r in sizes):
        notes = sorted({r["note"] for r in sizes if r.get("note")})
        md += [f"**Conditions:** {n}" for n in notes] + [""]
    md += ["| metric | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]

    def row(label: str, key: Any) -> None:
        get = key if callable(key) else (lambda r: r.get(key, "-"))
        md.append(f"| {label} | " + " | ".join(str(get(r)) for r in sizes) + " |")

    row("documents (50 passages each)", "documents")
    row("**query p50 / p95 ms** (api.search, hybrid, k=10)", _latency)
    row("query mean / max ms", lambda r: f"{r['latency']['mean_ms']} / {r['latency']['max_ms']}")
    row("cold first query s (open Chroma, load BM25 and encoder)", "cold_first_query_s")
    row(
        "cold first query: hits, then the same query again",
        lambda r: (
            f"{r.get('cold_first_query_hits', '-')}, {r.get('cold_first_query_repeated_hits', '-')}"
        ),
    )
    row("timed queries with no hits", lambda r: r.get("timed_queries_without_hits", "-"))
    row("gate: share of queries judged relevant", "gate_relevant_share")
    row("query embedding backend", "query_backend")
    row(
        "**bulk store passages/s** (PassageIndex.add_many, precomputed vectors)",
        "bulk_passages_per_s",
    )
    row("PassageIndex.add passages/s (real write path, last docs)", "add_passages_per_s")
    row("PassageIndex.add ms per 50-passage document (median)", "add_ms_per_document_median")
    row("**BM25 build + save s** (HybridRetriever.sync)", "bm25_build_s")
    row("BM25 build passages/s", "bm25_passages_per_s")
    row("real MiniLM passage embedding passages/s (sample)", "embed_passages_per_s")
    row("**end-to-end real ingest estimate, passages/s**", _end_to_end)
    row("hours to ingest this size with real embedding (estimate)", _hours)
    row("RSS after Chroma load, ingest process (MB)", "rss_after_chroma_mb")
    row("RSS after BM25 build, ingest process (MB)", "rss_after_bm25_mb")
    row("**peak RSS ingest process (MB)**", "peak_rss_ingest_mb")
    row("RSS of a query process after opening (MB)", "rss_after_open_mb")
    row("**peak RSS query process (MB)**", "peak_rss_query_mb")
    row("**disk Chroma (MB)**", lambda r: round(r["disk_chroma_bytes"] / 2**20, 1))
    row("**disk BM25 (MB)**", lambda r: round(r["disk_bm25_bytes"] / 2**20, 1))
    row("disk bytes per passage (Chroma + BM25)", _bytes_per_passage)
    row(
        "other processes' CPU while timing queries / ingest / BM25, cores",
        lambda r: (
            f"{r['timing']['other_cores']} / {r['other_load_cores_ingest']} / "
            f"{r['other_load_cores_bm25']}"
        ),
    )
    row("measured", lambda r: f"{r['when']} ({r['code']})")
    md += ["", "## How each cost grows (from the smallest to the largest size measured)", ""]
    md += _growth(sizes)
    md += ["", "Notes:", ""] + [f"- {n}" for n in result["notes"]]
    return "\n".join(md) + "\n"


def _latency(r: dict[str, Any]) -> str:
    return f"**{r['latency']['p50_ms']} / {r['latency']['p95_ms']}**"


def _end_to_end(r: dict[str, Any]) -> float:
    """Embedding, the real write path and one BM25 rebuild at the end, in sequence."""
    per = 1 / r["embed_passages_per_s"] + 1 / r["add_passages_per_s"] + 1 / r["bm25_passages_per_s"]
    return round(1 / per, 1)


def _hours(r: dict[str, Any]) -> float:
    return round(r["passages"] / _end_to_end(r) / 3600, 1)


def _bytes_per_passage(r: dict[str, Any]) -> int:
    return round((r["disk_chroma_bytes"] + r["disk_bm25_bytes"]) / r["passages"])


def _growth(sizes: list[dict[str, Any]]) -> list[str]:
    if len(sizes) < 2:
        return ["(one size measured)"]
    a, b = sizes[0], sizes[-1]
    factor = b["passages"] / a["passages"]

    def line(label: str, va: float, vb: float, unit: str) -> str:
        ratio = vb / va if va else float("nan")
        return f"- {label}: {va} -> {vb} {unit} (x{ratio:.2f} for x{factor:.0f} passages)"

    disk_a = (a["disk_chroma_bytes"] + a["disk_bm25_bytes"]) / 2**20
    disk_b = (b["disk_chroma_bytes"] + b["disk_bm25_bytes"]) / 2**20
    return [
        line("query p50", a["latency"]["p50_ms"], b["latency"]["p50_ms"], "ms"),
        line("query p95", a["latency"]["p95_ms"], b["latency"]["p95_ms"], "ms"),
        line("BM25 build + save", a["bm25_build_s"], b["bm25_build_s"], "s"),
        line("bulk store rate", a["bulk_passages_per_s"], b["bulk_passages_per_s"], "passages/s"),
        line("peak RSS, ingest", a["peak_rss_ingest_mb"], b["peak_rss_ingest_mb"], "MB"),
        line("peak RSS, query", a["peak_rss_query_mb"], b["peak_rss_query_mb"], "MB"),
        line("disk", round(disk_a, 1), round(disk_b, 1), "MB"),
    ]


def _chart(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted(result["sizes"].values(), key=lambda r: r["passages"])
    x = [r["passages"] for r in sizes]
    fig, axes = plt.subplots(2, 2, figsize=(10, 7))
    panels = [
        (
            axes[0][0],
            "Query latency (api.search, hybrid), ms",
            [
                ("p50", [r["latency"]["p50_ms"] for r in sizes]),
                ("p95", [r["latency"]["p95_ms"] for r in sizes]),
            ],
        ),
        (
            axes[0][1],
            "Ingest, passages/s",
            [
                ("bulk store (precomputed vectors)", [r["bulk_passages_per_s"] for r in sizes]),
                ("PassageIndex.add", [r["add_passages_per_s"] for r in sizes]),
                ("BM25 build", [r["bm25_passages_per_s"] for r in sizes]),
                ("end-to-end with real embedding", [_end_to_end(r) for r in sizes]),
            ],
        ),
        (
            axes[1][0],
            "Peak RSS, MB",
            [
                ("ingest process", [r["peak_rss_ingest_mb"] for r in sizes]),
                ("query process", [r["peak_rss_query_mb"] for r in sizes]),
            ],
        ),
        (
            axes[1][1],
            "Disk, MB",
            [
                ("Chroma", [r["disk_chroma_bytes"] / 2**20 for r in sizes]),
                ("BM25", [r["disk_bm25_bytes"] / 2**20 for r in sizes]),
            ],
        ),
    ]
    for ax, title, series in panels:
        for label, values in series:
            ax.plot(x, values, marker="o", label=label)
        ax.set_xscale("log")
        if title.startswith("Query"):
            ax.set_ylim(bottom=0)  # nearly flat: a linear axis from 0 shows it
        else:
            ax.set_yscale("log")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("passages")
        ax.legend(fontsize=7)
        ax.grid(True, which="both", alpha=0.3)
    fig.suptitle("imr-assist: cost by corpus size (bench/scale.py)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help="passage counts, comma-separated")
    parser.add_argument("--queries", type=int, default=200, help="timed queries per size")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results folder")
    parser.add_argument("--note", default="", help="remark on the run's conditions, kept")
    parser.add_argument("--work", type=Path, help="working folder (default: a temporary one)")
    parser.add_argument("--child-ingest", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-query", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--home", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child_ingest:
        r = ingest_child(args.child_ingest, args.work, args.home)
        (args.work / f"ingest-{args.child_ingest}.json").write_text(json.dumps(r))
        return 0
    if args.child_query:
        r = query_child(args.child_query, args.home, args.queries)
        (args.work / f"query-{args.child_query}.json").write_text(json.dumps(r))
        return 0

    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    out_file = args.out / "scale.json"
    result: dict[str, Any] = (
        json.loads(out_file.read_text()) if out_file.exists() else {"sizes": {}}
    )
    with tempfile.TemporaryDirectory(prefix="bench-scale-", dir=args.work) as tmp:
        work = Path(tmp)
        print(f"encoding the sentence bank with MiniLM in {work} ...", flush=True)
        bank = _encode_bank(work)
        print(json.dumps(bank), flush=True)
        for size in sizes:
            print(f"measuring {size:,} passages ...", flush=True)
            r = measure(size, work, args.queries)
            r["note"] = args.note
            result["sizes"][str(size)] = r
            _write(result, bank, args.out)  # after every size: a long run keeps what it has
    print((args.out / "scale.md").read_text())
    return 0


def _write(result: dict[str, Any], bank: dict[str, Any], out: Path) -> None:
    result.update(
        benchmark="bench/scale.py",
        machine=machine(),
        bank=bank,
        vector_source=(
            f"{bank['bank_sentences']:,} generated sentences ({bank['bank_topics']} lexicon items; "
            f"{bank['bank_guideline_templates']} guideline, {bank['bank_determination_templates']} "
            f"determination and 1 reference template) encoded once with the bundled MiniLM; a "
            f"passage's vector is the normalised mean of its sentences' vectors (cosine to "
            f"MiniLM's vector of the whole passage: mean {bank['fidelity_cosine_mean']}, min "
            f"{bank['fidelity_cosine_min']} over {bank['fidelity_sample']}). Query vectors are "
            "real."
        ),
        notes=[
            "Query latency: wall time of `imr_assist.api.search(q, settings=...)` (hybrid, k=10) "
            "in a fresh process per size, over queries from eval/vadod and eval/demo, after "
            f"{WARMUP} warm-up queries; the query is embedded by the real MiniLM (ONNX backend "
            "when available).",
            "Bulk store = `PassageIndex.add_many` in 5,000-passage calls (bench/synthetic.py "
            "`load_corpus`: one upsert, then the call's manifest records with a generation "
            "bump, then a stale-version check). Sizes measured before it existed used a bench "
            "copy of the same writes (`_bulk_load`, no stale-version check); each size's "
            "'measured' row gives its commit. PassageIndex.add is timed on the last "
            f"{ADD_DOCS} documents with precomputed vectors (embedding excluded).",
            "End-to-end estimate = 1 / (1/embedding rate + 1/add rate + 1/BM25 build rate): a "
            "real ingest embeds every passage with MiniLM (measured on a "
            f"{EMBED_SAMPLE}-passage sample in the same process, torch, 2 threads), writes it, "
            "and the next search rebuilds BM25 once.",
            "The BM25 side is rebuilt from Chroma whenever the manifest generation changes: "
            "after ANY ingest or removal, the next search pays the whole 'BM25 build' time.",
            "Peak RSS is VmHWM of each child process (ingest; query).",
            "Before each timed query pass the bench waits (up to 45 s) for other processes to "
            "use < 0.3 cores; a contended pass is timed again and the less contended kept.",
        ],
    )
    write_results(out, "scale", result, _markdown(result))
    _chart(result, out / "scale.png")


if __name__ == "__main__":
    raise SystemExit(main())
