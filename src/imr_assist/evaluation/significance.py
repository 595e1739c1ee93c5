"""Paired significance tests on per-query scores: randomization (sign-flip) test and t-test.

The randomization test (Smucker, Allan & Carterette, CIKM 2007): under the null hypothesis the
two systems are exchangeable on each query, so the sign of each per-query difference is a coin
flip. p is the share of random sign assignments whose |mean difference| reaches the observed one,
with the usual +1 correction, p = (count + 1) / (rounds + 1), so p is never 0 and identical
systems give exactly 1.0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from imr_assist.evaluation.retrieval.models import Significance

DEFAULT_ROUNDS = 10_000
DEFAULT_SEED = 20261128
_BLOCK = 2_000
_EPS = 1e-12


def randomization_test(
    a: Sequence[float],
    b: Sequence[float],
    *,
    rounds: int = DEFAULT_ROUNDS,
    seed: int = DEFAULT_SEED,
) -> float:
    """Two-sided p of the paired randomization test of mean(a - b) == 0."""
    if len(a) != len(b):
        raise ValueError("paired scores must have the same length")
    diffs = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if diffs.size == 0 or not np.any(np.abs(diffs) > _EPS):
        return 1.0
    observed = abs(diffs.mean())
    rng = np.random.default_rng(seed)
    count = 0
    done = 0
    while done < rounds:
        block = min(_BLOCK, rounds - done)
        signs = rng.choice(np.array([-1.0, 1.0]), size=(block, diffs.size))
        means = np.abs((signs * diffs).mean(axis=1))
        count += int(np.count_nonzero(means >= observed - _EPS))
        done += block
    return (count + 1) / (rounds + 1)


def paired_ttest(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Two-sided p of scipy's paired t-test; 1.0 when identical, None with under 2 pairs."""
    if len(a) < 2:
        return None
    diffs = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if not np.any(np.abs(diffs) > _EPS):
        return 1.0
    from scipy import stats

    p = float(stats.ttest_rel(a, b).pvalue)
    return None if math.isnan(p) else p


def compare(
    name: str,
    baseline: str,
    scores: Sequence[float],
    baseline_scores: Sequence[float],
    *,
    rounds: int = DEFAULT_ROUNDS,
    seed: int = DEFAULT_SEED,
) -> Significance:
    """Both tests of `name` against `baseline` on paired per-query scores."""
    diffs = [x - y for x, y in zip(scores, baseline_scores, strict=True)]
    return Significance(
        retriever=name,
        baseline=baseline,
        queries=len(diffs),
        mean_diff=sum(diffs) / len(diffs) if diffs else 0.0,
        wins=sum(d > _EPS for d in diffs),
        losses=sum(d < -_EPS for d in diffs),
        p_randomization=randomization_test(scores, baseline_scores, rounds=rounds, seed=seed),
        p_ttest=paired_ttest(scores, baseline_scores),
        rounds=rounds,
        seed=seed,
    )
