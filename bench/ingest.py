"""Ingest throughput on the VA/DoD PDF, as passages/s and as a ratio to raw encoding.

Both are measured in the same run on the same machine: (1) the full `ingest` (read the PDF,
clean, detect structure, chunk, embed, store in Chroma, write the manifest) and (2) plain
`SentenceTransformer.encode` of exactly the texts ingest embeds, same batch size. The ratio
ingest/raw says how much the pipeline costs on top of the encoder floor (goal >= 0.9).

Run from the repository root: `make bench` (or `.venv/bin/python -m bench.ingest [FILE] [--out
DIR]`; FILE defaults to the VA/DoD PDF in ../shared, any readable file works, e.g. one of the
demo corpus for a quick check). Writes bench/results/ingest.json and ingest.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import resource
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bench.common import RESULTS, ROOT, write_results

DEFAULT_PDF = ROOT.parent / "shared" / "data" / "vadod-lbp-cpg" / "va-department_of_defense.pdf"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT_PDF, help="file to ingest")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results folder")
    args = parser.parse_args()
    pdf: Path = args.file
    if not pdf.exists():
        print(f"bench/ingest.py: {pdf} not found (../shared absent); nothing measured.")
        return 0
    import torch

    from imr_assist.index.store import PassageIndex
    from imr_assist.ingest.chunking import chunk_document, embedding_text
    from imr_assist.ingest.pipeline import ingest_paths
    from imr_assist.ingest.reader import read_source
    from imr_assist.reasoning.recommendations import extract_recommendations
    from imr_assist.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(home=Path(tmp) / "home")
        index = PassageIndex(settings)
        model = index.embedder.model  # load once, outside both timings
        model.encode(["warm up"], batch_size=1)

        t0 = time.perf_counter()
        doc = read_source(pdf).documents[0]
        passages = chunk_document(doc, settings.chunking.size, settings.chunking.overlap)
        read_s = time.perf_counter() - t0
        texts = [embedding_text(p) for p in passages]

        t0 = time.perf_counter()
        model.encode(
            texts,
            batch_size=settings.embedding.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        raw_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        report = ingest_paths([pdf], settings=settings, index=index)
        ingest_s = time.perf_counter() - t0
        assert not report.failed, report.failed

        # Recommendation extraction's cost (issue 12: ingest with it <= 1.1x without it): the
        # same ingest into a fresh index with the extraction step switched off, same process
        # and model; and the extraction alone, timed directly (noise-free).
        plain_settings = settings.with_home(Path(tmp) / "plain")
        plain_index = PassageIndex(plain_settings, embedder=index.embedder)
        with _without_recommendations():
            t0 = time.perf_counter()
            plain = ingest_paths([pdf], settings=plain_settings, index=plain_index)
            plain_s = time.perf_counter() - t0
        assert not plain.failed, plain.failed
        t0 = time.perf_counter()
        recs = extract_recommendations(doc, passages)
        extract_s = time.perf_counter() - t0

    n = len(passages)
    result = {
        "document": pdf.name,
        "pages": len(doc.pages),
        "passages": n,
        "read_clean_chunk_s": round(read_s, 2),
        "raw_encode_s": round(raw_s, 2),
        "ingest_s": round(ingest_s, 2),
        "raw_encode_passages_per_s": round(n / raw_s, 1),
        "ingest_passages_per_s": round(n / ingest_s, 1),
        "ratio_ingest_to_raw": round(raw_s / ingest_s, 3),
        "goal_ratio": 0.9,
        "recommendations": len(recs),
        "extract_recommendations_s": round(extract_s, 3),
        "ingest_without_recommendations_s": round(plain_s, 2),
        "ratio_with_to_without_recommendations": round(ingest_s / plain_s, 3),
        "goal_ratio_with_to_without": 1.1,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "torch_threads": torch.get_num_threads(),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    md = ["# Ingest throughput (bench/ingest.py)", "", "| metric | value |", "|---|---|"]
    md += [f"| {k} | {v} |" for k, v in result.items()]
    write_results(args.out, "ingest", result, "\n".join(md) + "\n")
    print(json.dumps(result, indent=2))
    return 0


@contextlib.contextmanager
def _without_recommendations() -> Iterator[None]:
    """The ingest pipeline with its recommendation step switched off (this bench only)."""
    from imr_assist.ingest import pipeline

    saved = pipeline._store_recommendations, pipeline._drop_stale_recommendations
    pipeline._store_recommendations = pipeline._drop_stale_recommendations = _nothing  # type: ignore[assignment]
    try:
        yield
    finally:
        pipeline._store_recommendations, pipeline._drop_stale_recommendations = saved


def _nothing(*_: object) -> None:
    return None


if __name__ == "__main__":
    raise SystemExit(main())
