"""Pure metrics of `eval drafting`: citations, verification, agreement, abstention, baselines.

Everything here takes `CaseResult`s (or label lists) and returns numbers or models; nothing runs
the chain. Rates are pooled over cases (micro), and None when there is nothing to measure.

- citation validity = cited ids found in the evidence / cited ids (distinct per case);
- support rate = supported / cited sentences; weak and unsupported rates likewise;
- agreement = accuracy, per-label precision/recall/F1, macro F1 over labels with support, and
  the confusion table expected -> predicted;
- abstention precision = abstained and not answerable / abstained; recall = the same /
  not answerable;
- baselines: the most frequent expected label given to every case (ties: the label first in
  sorted order), and whichever of "never abstain" / "always abstain" is right more often
  (ties: never abstain).
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence

import numpy as np

from imr_assist.evaluation.drafting.models import (
    Abstention,
    Agreement,
    Baseline,
    CaseResult,
    ClassRow,
)


def ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def citation_counts(results: Sequence[CaseResult]) -> dict[str, int]:
    """Pooled counts behind the citation and support rates."""
    return {
        "cited_ids": sum(len(r.cited_ids) for r in results),
        "valid_ids": sum(len(r.valid_ids) for r in results),
        "cited_sentences": sum(r.cited_sentences for r in results),
        "supported": sum(r.supported for r in results),
        "weak": sum(r.weak for r in results),
        "unsupported": sum(r.unsupported for r in results),
        "uncited_claims": sum(r.uncited_claims for r in results),
    }


def citation_validity(results: Sequence[CaseResult]) -> float | None:
    c = citation_counts(results)
    return ratio(c["valid_ids"], c["cited_ids"])


def support_rates(results: Sequence[CaseResult]) -> dict[str, float | None]:
    """supported / weak / unsupported shares of the cited sentences."""
    c = citation_counts(results)
    return {k: ratio(c[k], c["cited_sentences"]) for k in ("supported", "weak", "unsupported")}


def agreement(
    expected: Sequence[str], predicted: Sequence[str], labels: Sequence[str] = ()
) -> Agreement:
    """Accuracy, per-label table and confusion of two aligned label lists.

    `labels` fixes the order (and adds rows for labels that never occur); macro F1 averages
    the labels that occur in `expected` or `predicted`, a label with no correct case scoring 0.
    """
    if len(expected) != len(predicted):
        raise ValueError("expected and predicted must have the same length")
    order = list(dict.fromkeys([*labels, *sorted(set(expected) | set(predicted))]))
    pairs = list(zip(expected, predicted, strict=True))
    confusion = {e: dict.fromkeys(order, 0) for e in order}
    for e, p in pairs:
        confusion[e][p] += 1
    rows = []
    for label in order:
        support = sum(1 for e in expected if e == label)
        given = sum(1 for p in predicted if p == label)
        correct = confusion[label][label]
        precision, recall = ratio(correct, given), ratio(correct, support)
        f1 = ratio(2 * correct, support + given)  # = 2PR / (P + R), 0 when nothing is correct
        rows.append(
            ClassRow(
                label=label,
                support=support,
                predicted=given,
                precision=precision,
                recall=recall,
                f1=f1,
            )
        )
    f1s = [r.f1 for r in rows if r.f1 is not None]
    return Agreement(
        n=len(pairs),
        accuracy=ratio(sum(e == p for e, p in pairs), len(pairs)),
        macro_f1=statistics.fmean(f1s) if f1s else None,
        per_class=rows,
        confusion=confusion,
    )


def abstention(results: Sequence[CaseResult]) -> Abstention:
    abstained = [r for r in results if r.abstained]
    unanswerable = [r for r in results if not r.answerable]
    correct = sum(1 for r in abstained if not r.answerable)
    right = sum(1 for r in results if r.abstained == (not r.answerable))
    return Abstention(
        abstained=len(abstained),
        unanswerable=len(unanswerable),
        correct=correct,
        precision=ratio(correct, len(abstained)),
        recall=ratio(correct, len(unanswerable)),
        accuracy=ratio(right, len(results)),
    )


def majority_label(expected: Sequence[str]) -> str | None:
    """The most frequent label (ties broken by sorted order, so the choice is stable)."""
    if not expected:
        return None
    counts = Counter(expected)
    top = max(counts.values())
    return min(label for label, n in counts.items() if n == top)


def baseline(results: Sequence[CaseResult]) -> Baseline:
    """Majority class per kind; never or always abstain, whichever is right more often."""
    values: dict[str, object] = {}
    for kind, name in (("ask", "stance"), ("draft", "decision")):
        expected = [r.expected for r in results if r.kind == kind]
        label = majority_label(expected)
        values[f"{name}_label"] = label
        if label is None:
            values[f"{name}_agreement"] = values[f"{name}_macro_f1"] = None
            continue
        a = agreement(expected, [label] * len(expected))
        values[f"{name}_agreement"] = a.accuracy
        values[f"{name}_macro_f1"] = a.macro_f1
    unanswerable = sum(1 for r in results if not r.answerable)
    n = len(results)
    always = unanswerable > n - unanswerable
    values["abstention_rule"] = "always abstain" if always else "never abstain"
    values["abstention_precision"] = ratio(unanswerable, n) if always else None
    values["abstention_recall"] = (1.0 if always else 0.0) if unanswerable else None
    values["abstention_accuracy"] = ratio(unanswerable if always else n - unanswerable, n)
    return Baseline.model_validate(values)


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100) of a non-empty list (numpy's default)."""
    if not values:
        raise ValueError("no values")
    return float(np.percentile(np.asarray(values, dtype=float), q))
