"""Ingest throughput on the VA/DoD PDF, as passages/s and as a ratio to raw encoding.

Both are measured in the same run on the same machine: (1) the full `ingest` (read the PDF,
clean, detect structure, chunk, embed, store in Chroma, write the manifest) and (2) plain
`SentenceTransformer.encode` of exactly the texts ingest embeds, same batch size. The ratio
ingest/raw says how much the pipeline costs on top of the encoder floor (goal >= 0.9).

Run: `make bench` (or `.venv/bin/python bench/ingest.py [PDF]`). Writes bench/results/ingest.json
and bench/results/ingest.md.
"""

from __future__ import annotations

import json
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PDF = ROOT.parent / "shared" / "data" / "vadod-lbp-cpg" / "va-department_of_defense.pdf"
RESULTS = ROOT / "bench" / "results"


def main() -> int:
    pdf = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_PDF
    if not pdf.exists():
        print(f"bench/ingest.py: {pdf} not found (../shared absent); nothing measured.")
        return 0
    import torch

    from imr_assist.index.store import PassageIndex
    from imr_assist.ingest.chunking import chunk_document, embedding_text
    from imr_assist.ingest.pipeline import ingest_paths
    from imr_assist.ingest.reader import read_source
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
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "torch_threads": torch.get_num_threads(),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "ingest.json").write_text(json.dumps(result, indent=2) + "\n")
    md = ["# Ingest throughput (bench/ingest.py)", "", "| metric | value |", "|---|---|"]
    md += [f"| {k} | {v} |" for k, v in result.items()]
    (RESULTS / "ingest.md").write_text("\n".join(md) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
