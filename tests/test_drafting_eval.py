"""Drafting evaluation: the pure metrics against hand-computed values, the case-file reader's
errors, and `imr-assist eval drafting` end to end on the demo corpus (hashing embedder)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import CORPUS, REPO
from helpers import HASHING_ENV, hashing_settings
from imr_assist.cli.commands import main
from imr_assist.errors import EvaluationDataError
from imr_assist.evaluation.drafting import metrics as M
from imr_assist.evaluation.drafting.models import CaseResult
from imr_assist.evaluation.drafting.run import STANCES, read_cases


def _result(qid: str, **kw: object) -> CaseResult:
    values: dict[str, object] = {
        "qid": qid,
        "kind": "ask",
        "text": qid,
        "expected": "recommended",
        "predicted": "recommended",
        "answerable": True,
        "abstained": False,
        "cited_ids": [],
        "evidence_ids": [],
        "cited_sentences": 0,
        "supported": 0,
        "weak": 0,
        "unsupported": 0,
        "uncited_claims": 0,
        "sentences": 1,
        "chars": 10,
    }
    values.update(kw)
    return CaseResult.model_validate(values)


# --------------------------------------------------------------------------- pure metrics


def test_agreement_by_hand() -> None:
    expected = ["recommended", "recommended", "not_recommended", "insufficient_evidence"]
    predicted = ["recommended", "not_recommended", "not_recommended", "recommended"]
    a = M.agreement(expected, predicted, STANCES)
    assert a.n == 4 and a.accuracy == 0.5
    rows = {r.label: r for r in a.per_class}
    assert [r.label for r in a.per_class] == STANCES  # the given order, unused labels kept
    assert (rows["recommended"].precision, rows["recommended"].recall) == (0.5, 0.5)
    assert rows["recommended"].f1 == 0.5
    assert (rows["not_recommended"].precision, rows["not_recommended"].recall) == (0.5, 1.0)
    assert rows["not_recommended"].f1 == pytest.approx(2 / 3)
    assert rows["insufficient_evidence"].precision is None  # never predicted
    assert rows["insufficient_evidence"].recall == 0.0 and rows["insufficient_evidence"].f1 == 0
    assert rows["not_addressed"].f1 is None  # neither expected nor predicted: not averaged
    assert a.macro_f1 == pytest.approx((0.5 + 2 / 3 + 0) / 3)
    assert a.confusion["recommended"] == {
        "recommended": 1,
        "not_recommended": 1,
        "insufficient_evidence": 0,
        "not_addressed": 0,
    }
    assert a.confusion["insufficient_evidence"]["recommended"] == 1
    assert sum(sum(row.values()) for row in a.confusion.values()) == 4


def test_agreement_empty_and_misaligned() -> None:
    empty = M.agreement([], [])
    assert empty.n == 0 and empty.accuracy is None and empty.macro_f1 is None
    with pytest.raises(ValueError):
        M.agreement(["a"], [])


def test_citation_validity_and_support_rates_are_pooled() -> None:
    results = [
        _result("a", cited_ids=["x", "y"], evidence_ids=["x", "y", "z"], cited_sentences=3,
                supported=2, weak=1),
        _result("b", cited_ids=["x", "bogus"], evidence_ids=["x"], cited_sentences=2,
                supported=0, unsupported=2, uncited_claims=1),
        _result("c"),  # abstained-style case: nothing cited, counts nothing
    ]  # fmt: skip
    assert M.citation_validity(results) == 3 / 4
    assert M.support_rates(results) == {"supported": 2 / 5, "weak": 1 / 5, "unsupported": 2 / 5}
    counts = M.citation_counts(results)
    assert counts["uncited_claims"] == 1 and counts["cited_sentences"] == 5
    assert M.citation_validity([_result("c")]) is None
    assert M.support_rates([_result("c")])["supported"] is None


def test_abstention_and_baselines() -> None:
    results = [
        _result("u1", answerable=False, abstained=True, expected="not_addressed",
                predicted="not_addressed"),
        _result("a1", abstained=True, predicted="not_addressed"),
        _result("a2"),
        _result("a3", expected="insufficient_evidence"),
        _result("d1", kind="draft", expected="not_medically_necessary",
                predicted="not_medically_necessary"),
    ]  # fmt: skip
    a = M.abstention(results)
    assert (a.abstained, a.unanswerable, a.correct) == (2, 1, 1)
    assert (a.precision, a.recall, a.accuracy) == (0.5, 1.0, 4 / 5)
    b = M.baseline(results)
    assert b.stance_label == "recommended"  # 2 of 4 ask cases
    assert b.stance_agreement == 0.5
    assert b.stance_macro_f1 == pytest.approx((2 / 3 + 0 + 0) / 3)
    assert (b.decision_label, b.decision_agreement) == ("not_medically_necessary", 1.0)
    assert b.abstention_rule == "never abstain"
    assert (b.abstention_precision, b.abstention_recall, b.abstention_accuracy) == (None, 0.0, 0.8)
    mostly_unanswerable = [_result(f"u{i}", answerable=False) for i in range(3)] + [_result("a")]
    b2 = M.baseline(mostly_unanswerable)
    assert b2.abstention_rule == "always abstain"
    assert (b2.abstention_precision, b2.abstention_recall, b2.abstention_accuracy) == (
        0.75,
        1.0,
        0.75,
    )
    assert M.abstention([_result("a")]).precision is None  # never abstained


def test_majority_label_and_percentile() -> None:
    assert M.majority_label(["b", "a", "b", "a"]) == "a"  # tie: sorted order
    assert M.majority_label(["b", "b", "a"]) == "b"
    assert M.majority_label([]) is None
    assert M.percentile([10, 20, 30, 40, 50], 50) == 30
    assert M.percentile([10, 20], 95) == pytest.approx(19.5)
    assert M.percentile([7], 95) == 7


# --------------------------------------------------------------------------- case files


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"qid":"a","kind":"ask","query":"x","expected_stance":"recommended"}\n{oops\n',
         "line 2: not valid JSON"),
        ('{"qid":"a","kind":"ask","query":"x"}\n', "line 1: Value error, an ask case needs"),
        ('{"qid":"a","kind":"draft","request":"x"}\n', "a draft case needs request and expected"),
        ('{"qid":"a","kind":"review","query":"x","expected_stance":"recommended"}\n', "kind"),
        ('{"qid":"a","kind":"ask","query":"x","expected_stance":"approved"}\n',
         "expected_stance"),
        ('{"qid":"a","kind":"ask","query":"x","expected_stnace":"recommended"}\n',
         "expected_stnace: Extra inputs"),
        ('{"qid":"a","kind":"ask","query":"x","expected_stance":"recommended"}\n' * 2,
         "line 2: duplicate qid"),
        ("[1, 2]\n", "line 1: not a JSON object"),
        ("\n\n", "no cases"),
    ],
)  # fmt: skip
def test_bad_case_files_name_the_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(EvaluationDataError, match=r"cases\.jsonl") as err:
        read_cases(path)
    assert message in str(err.value)


@pytest.mark.parametrize("name", ["vadod.jsonl", "demo.jsonl"])
def test_committed_case_sets_read_and_are_balanced(name: str) -> None:
    cases = read_cases(REPO / "eval" / "drafting" / name)
    assert len(cases) >= (40 if name == "vadod.jsonl" else 20)
    unanswerable = [c for c in cases if not c.answerable]
    assert 0.05 <= len(unanswerable) / len(cases) <= 0.2
    assert all(c.notes for c in cases)  # every label says where it comes from
    if name == "demo.jsonl":
        seed = [c for c in cases if c.kind == "draft" and "fusion revision" in c.summary]
        assert seed and seed[0].expected_label == "not_medically_necessary"


def test_answerable_defaults_from_the_label(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    lines = [
        {"qid": "1", "kind": "ask", "query": "x", "expected_stance": "not_addressed"},
        {"qid": "2", "kind": "draft", "request": "y", "expected_decision": "medically_necessary"},
        {"qid": 3, "kind": "ask", "query": "z", "expected_stance": "recommended",
         "answerable": False},
    ]  # fmt: skip
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    cases = read_cases(path)
    assert [c.answerable for c in cases] == [False, True, False]
    assert cases[2].qid == "3"


# --------------------------------------------------------------------------- CLI


def _cases(tmp_path: Path) -> Path:
    lines = [
        {"qid": "k", "kind": "ask", "query": "Is a home exercise kit an option?",
         "expected_stance": "recommended", "notes": "ODG"},
        {"qid": "g", "kind": "draft", "request": "Gym membership for 12 months",
         "summary": "No documented home exercise program; no supervision.",
         "expected_decision": "not_medically_necessary"},
        {"qid": "x", "kind": "draft", "summary": "",
         "expected_decision": "insufficient_information",
         "request": "Kyphoplasty T12 osteoporotic compression fracture"},
    ]  # fmt: skip
    path = tmp_path / "cases.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    return path


def test_cli_eval_drafting_json_and_reports(tmp_path: Path) -> None:
    runner = CliRunner()
    home, out = tmp_path / "home", tmp_path / "out"
    args = ["eval", "drafting", "--cases", str(_cases(tmp_path)), "--home", str(home)]
    args += ["--corpus", str(CORPUS / "guidelines"), "--corpus", str(CORPUS / "determinations")]
    result = runner.invoke(main, [*args, "--out", str(out), "--json"], env=HASHING_ENV)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    top = ["citation_validity", "support_rate", "stance_agreement", "decision_agreement"]
    top += ["abstention_precision", "abstention_recall", "baseline", "n"]
    assert list(data)[: len(top)] == top
    assert data["n"] == 3 and (data["n_ask"], data["n_draft"]) == (1, 2)
    rows = {r["qid"]: r for r in _csv(out / "cases.csv")}
    assert rows["x"]["abstained"] == "1" and rows["x"]["predicted"] == "insufficient_information"
    # the summary is the per-case rows, pooled
    cited = sum(int(r["cited_ids"]) for r in rows.values())
    valid = sum(int(r["valid_ids"]) for r in rows.values())
    assert cited > 0 and data["citation_validity"] == valid / cited
    sentences = sum(int(r["cited_sentences"]) for r in rows.values())
    supported = sum(int(r["supported"]) for r in rows.values())
    assert data["support_rate"] == supported / sentences
    assert data["stance_agreement"] == int(rows["k"]["agree"])
    assert data["decision_agreement"] == (int(rows["g"]["agree"]) + 1) / 2
    assert data["abstention_recall"] == 1.0
    assert data["baseline"]["abstention_rule"] == "never abstain"
    assert data["baseline"]["decision_agreement"] == 0.5
    hashing = hashing_settings(home)
    assert data["settings_hash"] == hashing.index_hash
    assert data["command"].startswith("imr-assist eval drafting --cases")
    assert json.loads((out / "summary.json").read_text()) == data
    report = (out / "report.md").read_text()
    assert hashing.index_hash in report and "imr-assist eval drafting" in report
    assert "| stance agreement (ask) |" in report and "Confusion" in report
    human = runner.invoke(main, [*args, "--out", str(tmp_path / "out2")], env=HASHING_ENV)
    assert human.exit_code == 0, human.output
    assert "citation validity" in human.output and "never abstain" in human.output


def test_cli_eval_drafting_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"qid":"a","kind":"ask","query":"x"}\n', encoding="utf-8")
    home = ["--home", str(tmp_path / "home")]
    result = runner.invoke(main, ["eval", "drafting", "--cases", str(bad), *home], env=HASHING_ENV)
    assert result.exit_code == 1 and "bad.jsonl line 1" in result.output
    empty = runner.invoke(
        main, ["eval", "drafting", "--cases", str(_cases(tmp_path)), *home], env=HASHING_ENV
    )
    assert empty.exit_code == 1 and "is empty" in empty.output and "--corpus" in empty.output


def _csv(path: Path) -> list[dict[str, str]]:
    import csv

    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))
