"""Tune the reasoning's matching threshold on the DEV split only (never on test).

    .venv/bin/python eval/tools/tune_reasoning.py --home H --cases eval/drafting/vadod.jsonl \
        [--split dev] [--thresholds 0.5,0.55,...]

For each threshold: stance agreement on ask cases and decision agreement on draft cases of the
split, running only retrieval-free reasoning (request -> findings -> checklist -> decision).
Prints a table; writes nothing. The chosen value goes into reasoning/matching.py with the
table in eval/README.md.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from imr_assist import api
from imr_assist.evaluation.split import split_of
from imr_assist.index.store import PassageIndex
from imr_assist.reasoning.pipeline import reason_about
from imr_assist.reasoning.request import parse_request


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", required=True)
    ap.add_argument("--cases", required=True, action="append")
    ap.add_argument("--split", default="dev")
    ap.add_argument("--thresholds", default="0.65,0.7,0.75,0.8,0.85")
    ap.add_argument("--related", default="0.55", help="comma list: looser threshold(s)")
    ap.add_argument("--show", action="store_true", help="print each case at the first threshold")
    args = ap.parse_args()
    index = PassageIndex(api.load_settings(home=args.home))
    cases = []
    for path in args.cases:
        for line in Path(path).read_text().splitlines():
            if line.strip():
                case = json.loads(line)
                if args.split == "all" or split_of(case["qid"]) == args.split:
                    cases.append(case)
    requests = {
        c["qid"]: parse_request(c.get("query") or c.get("request", ""), c.get("summary", ""))
        for c in cases
    }
    print(f"{len(cases)} cases ({args.split})")
    grid = [
        (float(t), float(r)) for t in args.thresholds.split(",") for r in args.related.split(",")
    ]
    for i, (t, rel) in enumerate(grid):
        stance_ok = stance_n = dec_ok = dec_n = 0
        for c in cases:
            r = reason_about(requests[c["qid"]], index, threshold=t, related=rel)
            if c.get("expected_stance"):
                stance_n += 1
                stance_ok += r.stance.value == c["expected_stance"]
            if c.get("expected_decision"):
                dec_n += 1
                dec_ok += r.decision.value == c["expected_decision"]
            if args.show and i == 0:
                gov = r.governing.governing if r.governing and r.governing.governing else None
                want = c.get("expected_stance") or c.get("expected_decision")
                got = r.stance.value if c.get("expected_stance") else r.decision.value
                mark = "ok " if got == want else "BAD"
                label = "-"
                if gov:
                    rec = gov.recommendation
                    label = f"{rec.guideline[:20]} {rec.label[:30]} {gov.similarity:.2f}"
                line = (c.get("query") or c.get("request"))[:60]
                print(f"  {mark} {c['qid']} want={want} got={got} | {label} | {line}")
        s = f"{stance_ok}/{stance_n}={stance_ok / stance_n:.3f}" if stance_n else "-"
        d = f"{dec_ok}/{dec_n}={dec_ok / dec_n:.3f}" if dec_n else "-"
        print(f"threshold {t:.2f} related {rel:.2f}: stance {s}  decision {d}")


if __name__ == "__main__":
    main()
