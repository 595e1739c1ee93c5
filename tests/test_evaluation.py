"""Retrieval evaluation: metrics against hand-computed values, judged-id mapping, significance,
TREC/BEIR files, and `imr-assist eval retrieval` end to end on the demo corpus."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import CORPUS, REPO, VADOD_PDF, need_shared
from helpers import make_passage
from imr_assist.errors import EvaluationDataError
from imr_assist.evaluation.retrieval import metrics as M
from imr_assist.evaluation.retrieval.beir import beir_settings, load_beir, read_beir_qrels
from imr_assist.evaluation.retrieval.models import METRIC_KEYS, EvalQuery
from imr_assist.evaluation.retrieval.run import evaluate, run_retrieval_eval
from imr_assist.evaluation.significance import compare, paired_ttest, randomization_test
from imr_assist.evaluation.trec import (
    judged_ids,
    page_numbers,
    parse_aliases,
    read_qrels,
    read_queries,
    read_run,
    write_qrels,
    write_queries,
    write_run,
)
from imr_assist.index.store import PassageIndex
from imr_assist.models import Hit, Passage, SearchResult, Tier
from imr_assist.settings import Settings

BEIR_TINY = REPO / "tests" / "fixtures" / "beir_tiny"
DEMO_EVAL = REPO / "eval" / "demo"
ENV = {"IMR_EMBEDDING__MODEL": "hashing"}


class DenseAdapter:
    """Stand-in for HybridRetriever in library tests: every mode is the dense search, and the
    'gate' says nothing is relevant when the best cosine is under 0.2."""

    def __init__(self, index: PassageIndex, settings: Settings | None = None) -> None:
        self.index = index

    def search(self, query: str, *, k: int = 10, filters=None, mode: str = "hybrid"):
        result = search(query, index=self.index, k=k, filters=filters)
        top = result.hits[0].score if result.hits else 0.0
        return result.model_copy(update={"mode": mode, "relevant": top >= 0.2})


def _passage(pid: str, doc: str, start: str, end: str, tier: Tier = Tier.MTUS) -> Passage:
    return make_passage(
        f"text of {pid}", id=pid, doc_id=doc, tier=tier, page_start=start, page_end=end
    )


def _hits(*specs: tuple[str, str, str, str]) -> list[Hit]:
    return [
        Hit(passage=_passage(*spec), score=1.0 / rank, rank=rank)
        for rank, spec in enumerate(specs, 1)
    ]


def _fixed(runs: dict[str, list[Hit]], relevant: dict[str, bool] | None = None):
    """A retriever that returns canned hits per query text."""

    def retrieve(query: str, k: int) -> SearchResult:
        return SearchResult(
            query=query,
            hits=runs.get(query, [])[:k],
            mode="fixed",
            index_hash="test",
            relevant=(relevant or {}).get(query, True),
        )

    return retrieve


# --------------------------------------------------------------------------- metrics


QRELS = {
    "q1": {"a": 2, "b": 1, "c": 0, "d": 1},  # relevant: a (2), b (1), d (1); c judged not relevant
    "q2": {"x": 1},
    "q3": {"z": 2},
}
RUN = {
    "q1": ["c", "a", "e", "b", "f", "g"],  # c non-relevant at 1, a at 2, e unjudged, b at 4
    "q2": [f"u{i}" for i in range(11)] + ["x"],  # the only relevant id at rank 12
    "q3": [],  # nothing retrieved: pytrec_eval drops it, we score it 0
}


def test_metrics_match_hand_computed_values() -> None:
    got = M.per_query(QRELS, RUN)
    q1 = got["q1"].values()
    # trec_eval ndcg_cut uses LINEAR gain (gain = grade, not 2^grade - 1):
    #   DCG@10  = 2/log2(1+2) + 1/log2(1+4)            = 1.2618595 + 0.4306766 = 1.6925361
    #   IDCG@10 = 2/log2(2) + 1/log2(3) + 1/log2(4)     = 2 + 0.6309298 + 0.5   = 3.1309298
    #   nDCG@10 = 1.6925361 / 3.1309298 = 0.5405858   (exponential gain would give 0.5624559)
    assert q1["ndcg@10"] == pytest.approx(0.5405858, abs=1e-6)
    assert q1["recall@10"] == pytest.approx(2 / 3)  # a, b of {a, b, d}
    assert q1["recall@20"] == pytest.approx(2 / 3)
    assert q1["recall@100"] == pytest.approx(2 / 3)
    assert q1["mrr@10"] == pytest.approx(1 / 2)  # first relevant (a) at rank 2
    assert q1["p@5"] == pytest.approx(2 / 5)  # a, b among c a e b f
    assert q1["hit@1"] == 0.0  # c is judged 0
    q2 = got["q2"].values()
    assert q2["ndcg@10"] == 0.0 and q2["recall@10"] == 0.0 and q2["p@5"] == 0.0
    assert q2["recall@20"] == 1.0 and q2["recall@100"] == 1.0
    assert q2["mrr@10"] == 0.0  # rank 12 is past the cutoff (trec_eval recip_rank says 1/12)
    assert got["q3"].values() == dict.fromkeys(METRIC_KEYS, 0.0)
    mean = M.mean(got.values()).values()
    assert mean["ndcg@10"] == pytest.approx(0.5405858 / 3, abs=1e-6)
    assert mean["recall@20"] == pytest.approx((2 / 3 + 1 + 0) / 3)


def test_ndcg_perfect_and_hit_at_1() -> None:
    got = M.per_query({"q": {"a": 2, "b": 1}}, {"q": ["a", "b"]})["q"]
    assert got.ndcg_10 == pytest.approx(1.0)
    assert got.hit_1 == 1.0 and got.mrr_10 == 1.0
    swapped = M.per_query({"q": {"a": 2, "b": 1}}, {"q": ["b", "a"]})["q"]
    # (1/1 + 2/log2 3) / (2/1 + 1/log2 3) = 2.2618595 / 2.6309298
    assert swapped.ndcg_10 == pytest.approx(2.2618595 / 2.6309298, abs=1e-6)


# --------------------------------------------------------------------------- judged ids


def test_page_level_mapping_credits_every_page_once_in_rank_order() -> None:
    hits = _hits(
        ("p1", "va-department_of_defense", "45", "46"),
        ("p2", "va-department_of_defense", "46", "46"),  # p46 already credited at rank 1
        ("p3", "va-department_of_defense", "", ""),  # unpaged: nothing
        ("p4", "va-department_of_defense", "iv", "iv"),  # roman label: nothing
        ("p5", "other-doc", "3", "3"),
        ("p6", "va-department_of_defense", "44", "45"),
    )
    alias = {"va-department_of_defense": "vadod-lbp-cpg"}
    assert judged_ids(hits, "page", alias) == [
        "vadod-lbp-cpg:p45",
        "vadod-lbp-cpg:p46",
        "other-doc:p3",
        "vadod-lbp-cpg:p44",
    ]
    assert judged_ids(hits, "passage") == ["p1", "p2", "p3", "p4", "p5", "p6"]
    assert judged_ids(hits, "document", alias) == ["vadod-lbp-cpg", "other-doc"]
    assert judged_ids(hits, "document") == ["va-department_of_defense", "other-doc"]


@pytest.mark.parametrize(
    ("start", "end", "pages"),
    [("45", "46", [45, 46]), ("7", "7", [7]), ("", "", []), ("iv", "2", [2]), ("9", "3", [9])],
)
def test_page_numbers(start: str, end: str, pages: list[int]) -> None:
    assert page_numbers(start, end) == pages


def test_aliases_and_bad_level() -> None:
    assert parse_aliases(["a=b", " c = d "]) == {"a": "b", "c": "d"}
    with pytest.raises(EvaluationDataError, match="DOC_ID=ALIAS"):
        parse_aliases(["nope"])
    with pytest.raises(EvaluationDataError, match="Unknown level"):
        judged_ids(_hits(("p", "d", "1", "1")), "chapter")


# --------------------------------------------------------------------------- significance


def test_randomization_test() -> None:
    a = [0.2, 0.5, 0.9, 0.0, 0.4, 0.7, 0.3, 0.6]
    assert randomization_test(a, a) == 1.0
    assert paired_ttest(a, a) == 1.0
    better = [x + 0.3 + 0.01 * (i % 3) for i, x in enumerate(a * 3)]
    p = randomization_test(better, a * 3, rounds=10_000, seed=1)
    assert p < 0.001  # 24 positive differences: only 2 of 2^24 sign patterns reach the mean
    assert p == randomization_test(better, a * 3, rounds=10_000, seed=1)  # fixed seed
    t = paired_ttest(better, a * 3)
    assert t is not None and t < 0.001
    mixed = randomization_test([1, 0, 1, 0], [0, 1, 0, 1], rounds=2_000)
    assert mixed == 1.0  # mean difference 0: every sign pattern reaches it
    sig = compare("bm25", "hybrid", better, a * 3, rounds=1_000)
    assert sig.wins == 24 and sig.losses == 0 and sig.mean_diff > 0.29


# --------------------------------------------------------------------------- files


def test_trec_round_trip(tmp_path: Path) -> None:
    write_qrels(QRELS, tmp_path / "qrels.txt")
    assert read_qrels(tmp_path / "qrels.txt") == QRELS
    write_run(RUN, tmp_path / "run.trec", "hybrid")
    run, name = read_run(tmp_path / "run.trec")
    assert name == "hybrid"
    assert run == {q: ids for q, ids in RUN.items() if ids}
    first = (tmp_path / "run.trec").read_text().splitlines()[0].split()
    assert first == ["q1", "Q0", "c", "1", "6", "hybrid"]
    queries = [
        EvalQuery(qid="a", query="TENS", style="keyword", answerable=True),
        EvalQuery(qid="b", query="H-wave"),
    ]
    write_queries(queries, tmp_path / "q.jsonl")
    assert read_queries(tmp_path / "q.jsonl") == queries


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("q.jsonl", '{"qid": "a"}\n', "line 1"),
        ("q.jsonl", '{"qid": "a", "query": "x"}\n{"qid": "a", "query": "y"}\n', "duplicate"),
        ("q.jsonl", '{"qid": "a", "query": "x", "answerabel": false}\n', "line 1"),
        ("qrels.txt", "q1 0 d1\n", "4 columns"),
        ("qrels.txt", "q1 0 d1 high\n", "not an integer"),
    ],
)
def test_bad_eval_files(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    reader = read_queries if name.endswith(".jsonl") else read_qrels
    with pytest.raises(EvaluationDataError, match=message):
        reader(path)


def test_demo_eval_set_is_consistent() -> None:
    queries = read_queries(DEMO_EVAL / "queries.jsonl")
    qrels = read_qrels(DEMO_EVAL / "qrels.txt")
    doc_ids = {p.stem for p in CORPUS.glob("*/*.*") if p.suffix in {".md", ".txt"}}
    assert len(queries) >= 25
    assert set(qrels) <= {q.qid for q in queries}
    for q in queries:
        judged = qrels.get(q.qid, {})
        assert set(judged) <= doc_ids, q.qid
        assert (2 in judged.values()) is (q.answerable is not False), q.qid
    assert sum(q.answerable is False for q in queries) == 3


def test_beir_loader() -> None:
    beir = load_beir(BEIR_TINY)
    assert [q.qid for q in beir.queries] == ["q1", "q2", "q3"]  # q9 is not judged in test
    assert beir.qrels["q3"] == {"d3": 2, "d7": 1, "d2": 0}
    assert read_beir_qrels(beir.qrels_path) == beir.qrels
    with pytest.raises(EvaluationDataError, match="not a BEIR folder"):
        load_beir(CORPUS)


# --------------------------------------------------------------------------- evaluate


def test_evaluate_scores_strata_gate_and_significance() -> None:
    hits_good = _hits(("g1", "tens", "114", "115"), ("o1", "other", "3", "3"))
    hits_bad = _hits(("o1", "other", "3", "3"), ("g1", "tens", "114", "115"))
    queries = [
        EvalQuery(qid="a", query="TENS unit", style="request", topic="tens"),
        EvalQuery(qid="b", query="TENS trial", style="keyword", topic="tens"),
        EvalQuery(qid="u", query="Botox migraine", answerable=False),
    ]
    qrels = {"a": {"tens:p114": 2, "tens:p115": 1}, "b": {"tens:p114": 2}}
    runs_good = {"TENS unit": hits_good, "TENS trial": hits_good, "Botox migraine": hits_bad}
    runs_bad = {"TENS unit": hits_bad, "TENS trial": hits_bad, "Botox migraine": hits_bad}
    out = evaluate(
        queries,
        qrels,
        {
            "hybrid": _fixed(runs_good, {"Botox migraine": False}),
            "peer": _fixed(runs_bad),
        },
        level="page",
        rounds=500,
    )
    assert out.default == "hybrid" and out.answerable == ["a", "b"]
    assert out.retrievers["hybrid"].ndcg_10 == pytest.approx(1.0)
    assert out.retrievers["peer"].ndcg_10 < 1.0
    assert out.retrievers["hybrid"].hit_1 == 1.0 and out.retrievers["peer"].hit_1 == 0.0
    assert out.unanswerable["hybrid"].abstention_recall == 1.0
    assert out.unanswerable["hybrid"].false_abstention_rate == 0.0
    assert out.unanswerable["peer"].abstention_recall == 0.0
    sig = out.significance["peer"]
    assert sig.baseline == "hybrid" and sig.losses == 2 and sig.queries == 2
    assert out.strata["style"]["request"]["hybrid"].queries == 1
    assert set(out.strata["top_tier"]) == {"mtus"}
    assert out.runs["hybrid"]["a"] == ["tens:p114", "tens:p115", "other:p3"]
    assert not out.warnings


def test_evaluate_warns_on_inconsistent_answerable_flags() -> None:
    queries = [
        EvalQuery(qid="a", query="x", answerable=False),
        EvalQuery(qid="b", query="y", answerable=True),
    ]
    out = evaluate(queries, {"a": {"d": 1}, "z": {"d": 1}}, {"dense": _fixed({})}, level="document")
    assert out.answerable == []
    text = " ".join(out.warnings)
    assert "a is marked answerable=false" in text and "b is marked answerable" in text
    assert "z, which is not in the queries file" in text


def test_query_errors_name_the_query() -> None:
    def strict(query: str, k: int) -> SearchResult:
        from imr_assist.retrieval.validation import clean_query

        clean_query(query, 50)
        return SearchResult(query=query, hits=[], mode="x", index_hash="t")

    queries = [EvalQuery(qid="ok", query="TENS"), EvalQuery(qid="long", query="TENS " * 40)]
    with pytest.raises(EvaluationDataError, match=r"Query long \(dense\): The query is"):
        evaluate(queries, {"ok": {"d": 1}}, {"dense": strict}, level="document")


def test_peer_maps_documents_back_to_published_passages(
    settings: Settings, index: PassageIndex, tmp_path: Path
) -> None:
    from imr_assist.evaluation.retrieval.peer import PeerRetriever
    from imr_assist.ingest.pipeline import ingest_paths

    doc = tmp_path / "tens.md"
    doc.write_text("# TENS\n\nA one-month home TENS trial may be considered (pp. 114-116).\n")
    other = tmp_path / "hwave.md"
    other.write_text("# H-wave\n\nH-wave is not an isolated intervention (pp. 117-118).\n")
    ingest_paths([doc, other], settings=settings, index=index)
    doc.write_text("# TENS\n\nA 30-day home TENS rental trial may be considered (p. 116).\n")
    ingest_paths([doc], settings=settings, index=index)  # replaces the old TENS passages
    result = PeerRetriever(index).search("TENS home trial", k=10)
    assert result.mode == "peer" and result.relevant
    assert [h.rank for h in result.hits] == list(range(1, len(result.hits) + 1))
    ids = [h.passage.id for h in result.hits]
    assert len(ids) == len(set(ids)) == len(index.published_passages()[0])
    assert result.hits[0].passage.doc_id == "tens" and "30-day" in result.hits[0].passage.text
    assert all("one-month" not in h.passage.text for h in result.hits)


def test_run_eval_on_beir_with_peer(settings: Settings, tmp_path: Path) -> None:
    summary = run_retrieval_eval(
        settings=settings,
        beir_dir=BEIR_TINY,
        retrievers=["dense", "peer"],
        hybrid_factory=DenseAdapter,
        out_dir=tmp_path / "out",
        rounds=200,
    )
    assert summary.level == "document" and summary.n_queries == 3 and summary.n_answerable == 3
    assert summary.default_retriever == "dense"  # hybrid not asked for: the first one
    assert set(summary.retrievers) == {"dense", "peer"}
    assert summary.index_documents == 8
    assert summary.collection.startswith("imr-beir-beir-tiny-")
    assert (Path(settings.home) / "beir-beir-tiny" / "chroma").is_dir()
    assert summary.retrievers["peer"].recall_100 == pytest.approx(1.0)  # 8 docs, k=100
    assert summary.retrievers["dense"].ndcg_10 > 0.5
    run, name = read_run(tmp_path / "out" / "run.peer.trec")
    assert name == "peer" and set(run) == {"q1", "q2", "q3"}
    assert beir_settings(settings, BEIR_TINY).home == Path(settings.home) / "beir-beir-tiny"
    again = run_retrieval_eval(  # unchanged corpus: ingest is a no-op, same numbers
        settings=settings,
        beir_dir=BEIR_TINY,
        retrievers=["dense"],
        hybrid_factory=DenseAdapter,
        out_dir=tmp_path / "out2",
        rounds=200,
    )
    assert again.index_documents == 8 and again.ndcg_10 == summary.retrievers["dense"].ndcg_10


def test_run_eval_needs_an_input(settings: Settings) -> None:
    from imr_assist.errors import QueryError

    with pytest.raises(QueryError, match="Nothing to evaluate"):
        run_retrieval_eval(settings=settings, queries_path=DEMO_EVAL / "queries.jsonl")


# --------------------------------------------------------------------------- CLI


@pytest.fixture
def cli():
    """`imr-assist eval retrieval ...` through the real `main` once cli.py registers the group;
    until then through a bare group, so `main` is never changed by a test."""
    import click

    from imr_assist.cli.commands import main
    from imr_assist.cli.eval import eval_group

    root = main
    if "eval" not in main.commands:

        @click.group()
        def root() -> None:
            pass

        root.add_command(eval_group)
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(root, ["eval", "retrieval", *args], env=ENV, catch_exceptions=False)

    return invoke


def test_cli_eval_retrieval_on_demo_corpus(cli, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = [
        "--home", str(tmp_path / "home"),
        "--ingest", str(CORPUS / "guidelines"),
        "--ingest", str(CORPUS / "determinations"),
        "--queries", str(DEMO_EVAL / "queries.jsonl"),
        "--qrels", str(DEMO_EVAL / "qrels.txt"),
        "--level", "document",
        "--rounds", "1000",
        "--out", str(out),
    ]  # fmt: skip
    result = cli(*args, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    top = {"ndcg@10", "recall@10", "recall@20", "recall@100", "mrr@10", "p@5", "hit@1"}
    assert top | {"retrievers", "unanswerable", "significance", "index_hash", "n_queries"} <= set(
        data
    )
    assert data["default_retriever"] == "hybrid"
    assert set(data["retrievers"]) == {"dense", "bm25", "hybrid", "peer"}
    for metrics in data["retrievers"].values():
        assert top <= set(metrics)
        assert all(0.0 <= metrics[m] <= 1.0 for m in top)
    assert data["ndcg@10"] == data["retrievers"]["hybrid"]["ndcg@10"]
    assert data["n_queries"] == 38 and data["n_unanswerable"] == 3
    assert data["unanswerable"]["hybrid"]["unanswerable"] == 3
    assert set(data["significance"]) == {"dense", "bm25", "peer"}
    for sig in data["significance"].values():
        assert 0.0 < sig["p_randomization"] <= 1.0
    assert data["retrievers"]["hybrid"]["ndcg@10"] > 0.3  # the hashing embedder still finds topics
    assert "eval retrieval" in data["command"] and "--level document" in data["command"]
    for name in ("report.md", "ndcg.png", "summary.json", "per_query.csv"):
        assert (out / name).is_file(), name
    for retriever in ("dense", "bm25", "hybrid", "peer"):
        assert (out / f"run.{retriever}.trec").is_file()
    assert (out / "ndcg.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = (out / "report.md").read_text()
    for part in ("## Summary", "## Significance vs hybrid", "## Unanswerable", "### By style"):
        assert part in report
    assert data["index_hash"] in report
    with (out / "per_query.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 4 * 38
    assert json.loads((out / "summary.json").read_text())["ndcg@10"] == data["ndcg@10"]

    human = cli(*args[:-2], "--retrievers", "hybrid,peer", "--out", str(tmp_path / "o2"))
    assert human.exit_code == 0, human.output
    assert "hybrid*" in human.output and "peer vs hybrid" in human.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "Nothing to evaluate"),
        (("--queries", str(DEMO_EVAL / "queries.jsonl")), "Nothing to evaluate"),
        (("--beir", str(BEIR_TINY), "--level", "page"), "judged per document"),
        (
            (
                "--queries", str(DEMO_EVAL / "queries.jsonl"),
                "--qrels", str(DEMO_EVAL / "qrels.txt"),
                "--retrievers", "dense,colbert",
            ),
            "Unknown retriever(s): colbert",
        ),
        (
            (
                "--queries", str(DEMO_EVAL / "queries.jsonl"),
                "--qrels", str(DEMO_EVAL / "qrels.txt"),
            ),
            "is empty",
        ),
    ],
)  # fmt: skip
def test_cli_eval_errors(cli, tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    result = cli(*args, "--home", str(tmp_path / "h"))
    assert result.exit_code != 0
    assert message in result.output


def test_cli_eval_split_keeps_the_hashed_share_and_records_it(cli, tmp_path: Path) -> None:
    """--split dev and --split test run disjoint query sets that together make the whole set,
    fixed by the qid hash; the split is in the summary, the report and the printed line; eval
    drafting filters its cases the same way."""
    from imr_assist.cli.commands import main
    from imr_assist.evaluation.split import split_of

    queries = read_queries(DEMO_EVAL / "queries.jsonl")
    home = str(tmp_path / "home")
    args = [
        "--home", home,
        "--ingest", str(CORPUS / "guidelines"),
        "--ingest", str(CORPUS / "determinations"),
        "--queries", str(DEMO_EVAL / "queries.jsonl"),
        "--qrels", str(DEMO_EVAL / "qrels.txt"),
        "--level", "document",
        "--retrievers", "hybrid,bm25",
        "--rounds", "200",
    ]  # fmt: skip
    seen: dict[str, set[str]] = {}
    for split in ("dev", "test"):
        out = tmp_path / split
        result = cli(*args, "--split", split, "--out", str(out), "--json")
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        expected = {q.qid for q in queries if split_of(q.qid) == split}
        with (out / "per_query.csv").open() as fh:
            seen[split] = {r["qid"] for r in csv.DictReader(fh)}
        assert seen[split] == expected
        assert data["split"] == split and data["n_queries"] == len(expected)
        assert not data["warnings"]  # the other split's qrels are not "unknown queries"
        assert f"Split: **{split}**" in (out / "report.md").read_text()
        assert f"--split {split}" in data["command"]
    assert seen["dev"] | seen["test"] == {q.qid for q in queries}
    assert not seen["dev"] & seen["test"]
    assert 0.4 < len(seen["dev"]) / len(queries) < 0.8
    human = cli(*args, "--split", "test", "--out", str(tmp_path / "h"))
    assert human.exit_code == 0 and "\ntest split: " in f"\n{human.stdout}"
    default = cli(*args, "--out", str(tmp_path / "all"), "--json")
    assert json.loads(default.stdout)["split"] == "all"
    assert cli(*args, "--split", "train").exit_code != 0

    cases = tmp_path / "cases.jsonl"
    lines = [
        {"qid": qid, "kind": "ask", "query": "Is a home exercise kit an option?",
         "expected_stance": "recommended"}
        for qid in ("a1", "a2", "a3", "a5")
    ]  # fmt: skip
    cases.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    dev = {x["qid"] for x in lines if split_of(x["qid"]) == "dev"}
    assert 0 < len(dev) < len(lines)
    drafting = CliRunner().invoke(
        main,
        ["eval", "drafting", "--cases", str(cases), "--home", home, "--split", "dev",
         "--out", str(tmp_path / "drafting"), "--json"],
        env=ENV,
    )  # fmt: skip
    assert drafting.exit_code == 0, drafting.output
    summary = json.loads(drafting.output)
    assert summary["split"] == "dev" and summary["n"] == len(dev)
    with (tmp_path / "drafting" / "cases.csv").open() as fh:
        assert {r["qid"] for r in csv.DictReader(fh)} == dev
    assert "split: **dev**" in (tmp_path / "drafting" / "report.md").read_text()


@pytest.mark.shared
@pytest.mark.slow
def test_cli_eval_vadod_page_level(cli, tmp_path: Path) -> None:
    pdf = need_shared(VADOD_PDF)
    out = tmp_path / "out"
    result = cli(
        "--home", str(tmp_path / "home"),
        "--ingest", str(pdf),
        "--queries", str(REPO / "eval" / "vadod" / "queries.jsonl"),
        "--qrels", str(REPO / "eval" / "vadod" / "qrels.txt"),
        "--doc-alias", "va-department_of_defense=vadod-lbp-cpg",
        "--retrievers", "bm25,peer",
        "--rounds", "500",
        "--out", str(out),
        "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["level"] == "page" and data["n_queries"] == 93 and data["n_unanswerable"] == 10
    assert data["default_retriever"] == "bm25"
    assert not math.isnan(data["ndcg@10"]) and data["recall@100"] > 0.3
    run, _ = read_run(out / "run.bm25.trec")
    assert all(i.startswith("vadod-lbp-cpg:p") for ids in run.values() for i in ids)


def search(query: str, *, index: PassageIndex, k: int = 10, filters: dict[str, str] | None = None):
    """Dense search through the real retriever (the passage index on its own)."""
    from imr_assist.retrieval.hybrid import HybridRetriever

    return HybridRetriever(index).search(query, k=k, filters=filters, mode="dense")


# --------------------------------------------------------------------------- the Evals page

RESULTS = REPO / "eval" / "results"


def _summary_with(queries: list[tuple[str, float]], unanswerable: tuple[int, int]) -> object:
    """A recorded summary rewritten to a few answerable queries of known reciprocal rank."""
    from imr_assist.evaluation.retrieval.models import EvalSummary

    data = json.loads((RESULTS / "demo" / "summary.json").read_text(encoding="utf-8"))
    n = len(queries)
    hit_1 = sum(rr == 1.0 for _, rr in queries) / n
    data.update({"n_answerable": n, "level": "page", "default_retriever": "hybrid"})
    data["retrievers"]["hybrid"].update({"hit@1": hit_1, "queries": n})
    data["retrievers"]["peer"].update({"hit@1": 0.25, "queries": 4})
    said, of = unanswerable
    data["unanswerable"]["hybrid"].update(
        {"unanswerable": of, "abstained_unanswerable": said, "abstained_answerable": 0}
    )
    return EvalSummary.model_validate(data)


def test_the_retrieval_line_counts_questions_in_plain_words(tmp_path: Path) -> None:
    from imr_assist.ui.evals_page import retrieval_sentence

    ranks = [("q1", 1.0), ("q2", 0.5), ("q3", 1 / 3), ("q4", 0.25)]
    summary = _summary_with(ranks, (2, 3))
    per_query = tmp_path / "per_query.csv"
    with per_query.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["retriever", "qid", "answerable", "mrr@10"])
        w.writerows(["hybrid", qid, 1, f"{rr:.4f}"] for qid, rr in ranks)
        w.writerow(["hybrid", "u1", 0, ""])  # unanswerable: not counted
        w.writerows(["bm25", qid, 1, "1.0000"] for qid, _ in ranks)  # another retriever
    line = retrieval_sentence(summary, per_query)  # type: ignore[arg-type]
    assert line.startswith(
        "For 3 of 4 questions the guidelines answer, a page judged relevant was among the first "
        "3 search results (the very first result for 1)."
    ), line
    assert (
        "For 2 of 3 questions they do not answer, search said nothing relevant was found." in line
    )
    assert "The LangChain peer put a relevant page first for 1 of 4." in line
    # without the per-query file, the first result only, from the summary's hit@1
    bare = retrieval_sentence(summary, tmp_path / "missing.csv")  # type: ignore[arg-type]
    assert bare.startswith("For 1 of 4 questions the guidelines answer, the first search result")


def test_the_drafting_line_and_table_have_one_type_per_column() -> None:
    """A drafting summary without draft cases (decision agreement None) once made a table
    mixing '—' and floats, which Arrow refused with a traceback in the server log."""
    import pyarrow as pa

    from imr_assist.evaluation.drafting.models import DraftingSummary
    from imr_assist.ui.evals_page import drafting_rows, drafting_sentence

    summary = DraftingSummary.model_validate_json(
        (RESULTS / "drafting-vadod" / "summary.json").read_text(encoding="utf-8")
    )
    assert summary.decision_agreement is None
    rows = drafting_rows(summary)
    for column in ("drafter", "baseline"):
        assert {type(r[column]) for r in rows} <= {float, type(None)}, column
    table = pa.Table.from_pylist(rows)  # raises on mixed types
    assert table.schema.field("drafter").type == pa.float64()
    line = drafting_sentence(summary)
    right = round(summary.stance.accuracy * summary.stance.n)  # type: ignore[operator]
    assert f"The answer's stance matched the expected one for {right} of {summary.stance.n}" in line
    assert "Insufficient evidence" in line and "insufficient_evidence" not in line
    assert "decision" not in line.split(".")[0]  # no draft cases: no decision sentence


def test_evals_page_shows_the_plain_line_and_selects_the_peer(app_home: Path) -> None:
    from streamlit.testing.v1 import AppTest

    from imr_assist.evaluation.drafting.models import DraftingSummary
    from imr_assist.evaluation.retrieval.models import EvalSummary
    from imr_assist.ui.evals_page import drafting_sentence, retrieval_sentence

    at = AppTest.from_string(
        "from imr_assist.ui import evals_page\nevals_page.render()\n", default_timeout=60
    )
    at.run()
    assert not at.exception, at.exception
    assert "peer" in at.multiselect(key="eval-ret").value
    found = EvalSummary.model_validate_json((RESULTS / "demo" / "summary.json").read_text())
    drafted = DraftingSummary.model_validate_json(
        (RESULTS / "drafting-demo" / "summary.json").read_text()
    )
    [info] = [i.value for i in at.info if "questions the guidelines answer" in i.value]
    assert retrieval_sentence(found, RESULTS / "demo" / "per_query.csv") in info
    assert drafting_sentence(drafted) in info
    assert "among the first 3 search results" in info
    # the line stands above the recorded tables (in the expanders further down)
    assert at.info[0].value == info
