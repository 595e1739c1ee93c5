"""How long the real app takes to answer, warm, on the demo corpus: Streamlit in Debian's
chromium, driven by Playwright, timed from pressing Enter in the chat box to the new answer on
screen with the script run finished (the whole answer rendered: retrieval, reasoning, writing,
verification and the page's own rendering and websocket round trip).

The demo index is built first (untimed), the server started, the page loaded and one question
asked untimed (models loaded, BM25 side built, caches warm). Then each ask question of
eval/drafting/demo.jsonl is asked in the same browser session, one after the other. Nothing is
asserted: the issue's goal (an answer within 2 s of a warm load) is reported as met or not at
p50 and p95, with the machine's load during the run.

Run from the repository root: `.venv/bin/python -m bench.app [--rounds 1] [--home DIR]
[--note TEXT] [--out DIR]`. Needs /usr/bin/chromium (`make test` installs it). Writes
bench/results/app.json and app.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import RESULTS, ROOT, latency_stats, machine, wait_quiet, write_results

CASES = ROOT / "eval" / "drafting" / "demo.jsonl"
CHROMIUM = Path("/usr/bin/chromium")
GOAL_S = 2.0
WARM_UP = "Is a home exercise kit covered after lumbar fusion?"


def _questions() -> list[str]:
    rows = [json.loads(line) for line in CASES.read_text(encoding="utf-8").splitlines() if line]
    return [r["query"] for r in rows if r.get("kind", "ask") == "ask" and r.get("query")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(home: Path, port: int, log: Any) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMR_")}
    env.update(IMR_HOME=str(home), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
            "--server.headless", "true", "--server.address", "127.0.0.1",
            "--server.port", str(port), "--browser.gatherUsageStats", "false",
        ],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"streamlit exited early; see {log.name}") from None
            time.sleep(0.3)
    proc.kill()
    raise SystemExit(f"streamlit did not listen on {port} within 90 s; see {log.name}")


def run(rounds: int, home: Path | None, note: str) -> dict[str, Any]:
    if not CHROMIUM.exists():
        raise SystemExit(f"{CHROMIUM} is missing: `apt-get install chromium` (make test does it).")
    from playwright.sync_api import expect, sync_playwright

    from imr_assist import api
    from imr_assist.settings import Settings

    questions = _questions()
    with tempfile.TemporaryDirectory(prefix="imr-bench-app-") as tmp:
        where = home or Path(tmp) / "home"
        api.build_demo(settings=Settings(home=where), if_missing=True)
        port = _free_port()
        log = (Path(tmp) / "streamlit.log").open("w")
        proc = _serve(where, port, log)
        times: list[float] = []
        load_s = 0.0
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path=str(CHROMIUM),
                    args=["--headless", "--no-sandbox", "--disable-gpu"],
                )
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.set_default_timeout(240_000)
                expect.set_options(timeout=240_000)
                t0 = time.perf_counter()
                page.goto(f"http://127.0.0.1:{port}")
                box = page.get_by_placeholder(re.compile("^Ask about a request"))
                expect(box).to_be_visible()
                load_s = time.perf_counter() - t0
                messages = page.locator('[data-testid="stChatMessage"]')
                running = page.locator('[data-testid="stStatusWidget"]')

                def ask(question: str) -> float:
                    box.fill(question)
                    started = time.perf_counter()
                    box.press("Enter")
                    # the question shown as a message, then the script run finished (the page
                    # may fold earlier turns away, so messages are not counted)
                    asked = messages.filter(has_text=question[:60])
                    expect(asked.last).to_be_visible()
                    expect(running).to_be_hidden()
                    return time.perf_counter() - started

                ask(WARM_UP)  # untimed: models, BM25 side, caches
                load = wait_quiet()
                for _ in range(rounds):
                    for question in questions:
                        times.append(ask(question))
                browser.close()
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()
    stats = latency_stats(times)
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "load_before_timing": load,
        "note": note,
        "questions": len(questions),
        "rounds": rounds,
        "first_page_load_s": round(load_s, 2),
        "answer_ms": stats,
        "goal": {
            "answer_within_s": GOAL_S,
            "p50_met": stats["p50_ms"] <= GOAL_S * 1000 if stats else False,
            "p95_met": stats["p95_ms"] <= GOAL_S * 1000 if stats else False,
        },
    }


def markdown(r: dict[str, Any]) -> str:
    s = r["answer_ms"]
    g = r["goal"]
    return (
        "\n".join(
            [
                "# The app's answer time, warm, on the demo corpus (Streamlit in chromium)",
                "",
                f"- Date (UTC): {r['date']}; {r['machine'].get('cpu', '')}, "
                f"{r['machine'].get('cpus', '')} CPUs",
                f"- {r['questions']} ask questions of eval/drafting/demo.jsonl x {r['rounds']} "
                f"round(s), after one untimed question; first page load {r['first_page_load_s']} s",
                f"- Load before timing: {r['load_before_timing']}",
                f"- Note: {r['note'] or '(none)'}",
                "",
                "| n | p50 ms | p95 ms | mean ms | max ms |",
                "|---:|---:|---:|---:|---:|",
                f"| {s.get('n')} | {s.get('p50_ms')} | {s.get('p95_ms')} | {s.get('mean_ms')} | "
                f"{s.get('max_ms')} |",
                "",
                f"Goal: an answer within {g['answer_within_s']} s of a warm load: p50 "
                f"**{'met' if g['p50_met'] else 'not met'}**, p95 "
                f"**{'met' if g['p95_met'] else 'not met'}**.",
                "",
                "Timed from pressing Enter in the chat box to the new answer on screen with the "
                "script run finished: retrieval, reasoning, writing, verification, and the "
                "page's rendering and websocket round trip. Wall times on a shared machine.",
            ]
        )
        + "\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--home", type=Path, default=None)
    parser.add_argument("--note", default="")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results folder")
    args = parser.parse_args()
    result = run(args.rounds, args.home, args.note)
    write_results(args.out, "app", result, markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
