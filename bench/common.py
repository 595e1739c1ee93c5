"""What every benchmark shares: paths, timing, percentiles, machine load, memory, results files."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
QUERY_FILES = [ROOT / "eval" / "vadod" / "queries.jsonl", ROOT / "eval" / "demo" / "queries.jsonl"]
SEED = 20261128
QUIET_WAIT_S = 45.0
"""Before a timed pass, wait up to this long for other processes to quieten down."""
CONTENDED_CORES = 0.3
"""A timed pass during which other processes used more cores than this is timed again."""

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # benchmarks never reach the hub
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


# ----------------------------------------------------------------------------- timing


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """fn()'s result and its wall time in seconds."""
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def percentiles(values: Sequence[float], qs: Sequence[float] = (50, 95)) -> list[float]:
    """Linear-interpolated percentiles (numpy's default) of a non-empty sequence."""
    return [float(v) for v in np.percentile(np.asarray(values, dtype=float), list(qs))]


def latency_stats(seconds: Sequence[float]) -> dict[str, float]:
    """n, p50/p95/mean/max in ms of call times given in seconds ({} when there are none)."""
    if not seconds:
        return {}
    ms = [s * 1000 for s in seconds]
    p50, p95 = percentiles(ms)
    return {
        "n": len(ms),
        "p50_ms": round(p50, 2),
        "p95_ms": round(p95, 2),
        "mean_ms": round(statistics.fmean(ms), 2),
        "max_ms": round(max(ms), 2),
    }


class GenTimer:
    """Iterate a generator, adding up the time spent inside it (e.g. generating passages), so
    that it can be taken out of the time of what consumes it."""

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


# ----------------------------------------------------------------------------- machine load


class OtherLoad:
    """CPU used by other processes while a block runs, in cores (0 = this bench had the machine
    to itself; 1 = another process kept one core busy). Read from /proc/stat and /proc/self/stat
    (children such as Chroma threads are in this process)."""

    cores: float

    def __enter__(self) -> OtherLoad:
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


def wait_quiet(max_wait_s: float = QUIET_WAIT_S, threshold: float = 0.3) -> dict[str, float]:
    """Wait (up to max_wait_s) until other processes use less than `threshold` cores over a
    3 s window, so that timings measure this code rather than a neighbour's build."""
    t0 = time.perf_counter()
    while True:
        with OtherLoad() as load:
            time.sleep(3)
        waited = time.perf_counter() - t0
        if load.cores < threshold or waited >= max_wait_s:
            return {"waited_s": round(waited, 1), "other_cores_before": load.cores}


def timed_pass(
    call: Callable[[str], Any], queries: list[str]
) -> tuple[list[float], list[Any], dict[str, Any]]:
    """Seconds and results of call(q) for each query, timed after waiting for a quiet machine.
    When other processes used more than CONTENDED_CORES meanwhile, the pass is timed once more
    and the less contended attempt is kept; both attempts' contention is recorded."""
    attempts: list[dict[str, Any]] = []
    kept: tuple[list[float], list[Any]] | None = None
    best = float("inf")
    for _ in range(2):
        wait = wait_quiet()
        times: list[float] = []
        results: list[Any] = []
        with OtherLoad() as load:
            for q in queries:
                res, dt = timed(functools.partial(call, q))
                times.append(dt)
                results.append(res)
        attempts.append({**wait, "other_cores_during": load.cores, "latency": latency_stats(times)})
        if load.cores < best:
            best, kept = load.cores, (times, results)
        if load.cores <= CONTENDED_CORES:
            break
    assert kept is not None
    return kept[0], kept[1], {"other_cores": best, "attempts": attempts}


# ----------------------------------------------------------------------------- memory


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return round(pages * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)


def peak_rss_mb() -> float:
    """Peak RSS of this process image (VmHWM). Not getrusage's ru_maxrss: Linux carries that
    over exec, so a child would report the parent's peak from encoding the sentence bank."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


# ----------------------------------------------------------------------------- inputs


def sample_queries(n: int) -> list[str]:
    """n queries of eval/vadod and eval/demo, shuffled with SEED (repeated when n is larger)."""
    texts = [
        json.loads(line)["query"]
        for path in QUERY_FILES
        for line in path.read_text().splitlines()
        if line.strip()
    ]
    random.Random(SEED).shuffle(texts)
    return [texts[i % len(texts)] for i in range(n)]


# ----------------------------------------------------------------------------- what was measured


def machine() -> dict[str, Any]:
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
        "bm25s": version("bm25s"),
        "rank_bm25": version("rank-bm25"),
        "langchain_classic": version("langchain-classic"),
    }


_RETRIEVAL_SOURCES = ("retrieval", "index", "text", "settings.py")
"""What the retrieval benchmarks measure, under src/imr_assist/ (hashed when uncommitted)."""


def code_version() -> str:
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
    package = ROOT / "src" / "imr_assist"
    for name in _RETRIEVAL_SOURCES:
        path = package / name
        for source in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            if source.exists():
                digest.update(source.read_bytes())
    return f"{head}+dirty (src sha256 {digest.hexdigest()[:10]})"


def version(dist: str) -> str:
    from importlib.metadata import version as dist_version

    return dist_version(dist)


def write_results(out: Path, name: str, result: dict[str, Any], markdown: str) -> None:
    """out/NAME.json (the numbers) and out/NAME.md (the report)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    (out / f"{name}.md").write_text(markdown, encoding="utf-8")
