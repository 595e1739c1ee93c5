"""Measure the criteria checklist on the labelled table in cases.jsonl (an eval, not a test).

    .venv/bin/python eval/checklist/run.py                 # bundled MiniLM, dev and test
    .venv/bin/python eval/checklist/run.py --sweep         # dev accuracy per threshold
    .venv/bin/python eval/checklist/run.py --embedder hashing --errors

Each row is (criterion or limit, case summary and/or request line, expected status). Rows are
split by a hash of their id (sha256 mod 5 < 3: dev, else test), fixed before any result was
looked at. Thresholds are tuned on dev only; test is reported, never tuned on.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from langchain_core.embeddings import Embeddings

from imr_assist.index.embedding import BUNDLED_MODEL, HASHING_MODEL, make_embedder
from imr_assist.reasoning.checklist import (
    MATCH_THRESHOLD,
    check_limit,
    check_statements,
)
from imr_assist.reasoning.models import CriterionStatus
from imr_assist.reasoning.request import parse_request

HERE = Path(__file__).resolve().parent
STATUSES = [s.value for s in CriterionStatus]


def split_of(row_id: str) -> str:
    """dev or test, from the row id alone (sha256 mod 5 < 3: dev)."""
    return "dev" if int(hashlib.sha256(row_id.encode()).hexdigest(), 16) % 5 < 3 else "test"


def load(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


class _Cached(Embeddings):
    """The embedder with a memo: one pass embeds each text once, whatever the threshold."""

    def __init__(self, inner: Embeddings) -> None:
        self.inner = inner
        self.memo: dict[str, list[float]] = {}

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        todo = [t for t in dict.fromkeys(texts) if t not in self.memo]
        if todo:
            embed = getattr(self.inner, "embed_sentences", None) or self.inner.embed_documents
            self.memo.update(zip(todo, embed(todo), strict=True))
        return [self.memo[t] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


def judge(
    rows: list[dict[str, str]], embedder_name: str, thresholds: list[float]
) -> dict[float, list[dict[str, object]]]:
    """Each row's status at each threshold (requests parsed and texts embedded once)."""
    embedder = _Cached(
        make_embedder(BUNDLED_MODEL if embedder_name == "bundled" else HASHING_MODEL)
    )
    requests = [parse_request(row["request"], row["summary"]) for row in rows]
    out: dict[float, list[dict[str, object]]] = {}
    for threshold in thresholds:
        out[threshold] = []
        for row, request in zip(rows, requests, strict=True):
            if row["kind"] == "limit":
                check = check_limit(row["criterion"], request)
            else:
                check = check_statements(
                    [row["criterion"]], request, embedder=embedder, threshold=threshold
                )[0]
            judged = {"split": split_of(row["id"]), "score": check.score, "got": check.status.value}
            out[threshold].append({**row, **judged, "evidence": check.evidence})
    return out


def accuracy(judged: list[dict[str, object]]) -> float:
    return sum(j["got"] == j["expected"] for j in judged) / len(judged) if judged else 0.0


def report(judged: list[dict[str, object]], errors: bool, splits: list[str]) -> None:
    for split in splits:
        rows = [j for j in judged if j["split"] == split]
        crit = [j for j in rows if j["kind"] == "criterion"]
        lim = [j for j in rows if j["kind"] == "limit"]
        print(
            f"{split:5s} accuracy {accuracy(rows):.3f} (n={len(rows)}; criteria "
            f"{accuracy(crit):.3f} n={len(crit)}, limits {accuracy(lim):.3f} n={len(lim)})"
        )
        confusion = Counter((str(j["expected"]), str(j["got"])) for j in rows)
        print("      expected \\ got  " + "  ".join(f"{s:>14s}" for s in STATUSES))
        for expected in STATUSES:
            cells = "  ".join(f"{confusion[(expected, got)]:>14d}" for got in STATUSES)
            print(f"      {expected:>14s}   {cells}")
        for j in rows if errors else []:
            if j["got"] != j["expected"]:
                print(f"      x {j['id']}: expected {j['expected']}, got {j['got']} "
                      f"(score {j['score']:.3f}) {str(j['criterion'])[:60]!r} / "
                      f"{str(j['summary'] or j['request'])[:70]!r}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cases", type=Path, default=HERE / "cases.jsonl")
    parser.add_argument("--embedder", choices=["bundled", "hashing"], default="bundled")
    parser.add_argument("--threshold", type=float, default=MATCH_THRESHOLD)
    parser.add_argument("--sweep", action="store_true", help="dev accuracy per threshold")
    parser.add_argument("--errors", action="store_true", help="list the rows judged wrong")
    parser.add_argument("--split", choices=["dev", "test", "both"], default="both")
    args = parser.parse_args(argv)
    rows = load(args.cases)
    thresholds = [t / 100 for t in range(10, 81, 5)] if args.sweep else [args.threshold]
    start = time.perf_counter()
    judged = judge(rows, args.embedder, thresholds)
    elapsed = time.perf_counter() - start
    print(f"{len(rows)} rows ({dict(Counter(split_of(r['id']) for r in rows))}), embedder "
          f"{args.embedder}, judged in {elapsed:.1f} s")  # fmt: skip
    if args.sweep:  # dev only: thresholds are chosen on dev
        for t, rows_at in judged.items():
            dev = [j for j in rows_at if j["split"] == "dev"]
            print(f"  threshold {t:.2f}: dev accuracy {accuracy(dev):.3f}")
        return 0
    print(f"threshold {args.threshold:.2f}")
    splits = ["dev", "test"] if args.split == "both" else [args.split]
    report(judged[args.threshold], args.errors, splits)
    return 0


if __name__ == "__main__":
    sys.exit(main())
