"""The CLI through click's CliRunner, with the model-free embedder selected by settings."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import CORPUS, REPO, SEED_LETTER, need_shared
from helpers import HASHING_ENV
from imr_assist.cli.commands import main
from imr_assist.settings import Settings, settings_table


@pytest.fixture
def run(tmp_path: Path):
    runner = CliRunner()
    home = tmp_path / "home"

    def invoke(*args: str, home_dir: Path | None = home):
        extra = ["--home", str(home_dir)] if home_dir is not None else []
        return runner.invoke(main, [*args, *extra], env=HASHING_ENV, catch_exceptions=False)

    return invoke


@pytest.fixture
def demo_home(run):
    result = run("demo")
    assert result.exit_code == 0, result.output
    return run


def test_demo_then_status(demo_home) -> None:
    out = demo_home("index", "status", "--json")
    status = json.loads(out.output)
    assert status["documents"] == len(list((CORPUS / "guidelines").glob("*.md"))) + len(
        list((CORPUS / "determinations").glob("*.txt"))
    )
    assert status["collection"].startswith("imr-")
    assert set(status["by_tier"]) >= {"mtus", "guideline", "other_guideline", "prior_determination"}
    human = demo_home("index", "status").output
    assert "Documents:" in human and "mtus" in human


def test_search_json_contract(demo_home) -> None:
    result = demo_home("search", "TENS one-month home trial", "--k", "3", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert len(data["hits"]) == 3
    required = {
        "id",
        "score",
        "text",
        "source_path",
        "source_title",
        "kind",
        "tier",
        "guideline",
        "page_start",
        "page_end",
        "page_number",
        "section",
        "recommendation",
    }
    for hit in data["hits"]:
        assert required <= set(hit)
        assert isinstance(hit["page_start"], str) and hit["page_number"] is None  # Markdown
        assert re.fullmatch(r"[0-9a-f]{12}", hit["id"])
    assert "tens" in data["hits"][0]["text"].lower()
    assert data["relevant"] is True and data["highest_tier"] == "mtus"
    assert data["gate_reason"].startswith("relevant")


def test_search_filters_and_human_output(demo_home) -> None:
    result = demo_home("search", "home exercise kit", "--filter", "tier=prior_determination")
    assert result.exit_code == 0
    assert "Prior determination" in result.output
    assert "prior_determination" in result.output
    bad = demo_home("search", "kit", "--filter", "colour=red")
    assert bad.exit_code != 0 and "Unknown filter key" in bad.output


def test_search_batch(demo_home, tmp_path: Path) -> None:
    batch = tmp_path / "q.jsonl"
    batch.write_text(
        '{"qid": "a", "query": "gym membership"}\n\n{"qid": "b", "query": "Norco weaning"}\n'
    )
    result = demo_home("search", "--batch", str(batch), "--k", "2", "--json")
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in result.output.splitlines()]
    assert [x["qid"] for x in lines] == ["a", "b"]
    assert all(len(x["hits"]) == 2 for x in lines)


@pytest.mark.parametrize(
    ("query", "message"),
    [("   ", "empty"), ("x" * 5000, "over the 2000 limit"), ("\x00\x07", "empty")],
)
def test_odd_queries(demo_home, query: str, message: str) -> None:
    result = demo_home("search", query)
    assert result.exit_code != 0
    assert message in result.output


def test_ingest_exit_codes(run, tmp_path: Path) -> None:
    good = tmp_path / "g.md"
    good.write_text("# TENS\n\nTENS is an adjunct (p. 114).\n")
    ok = run("ingest", str(good))
    assert ok.exit_code == 0, ok.output
    assert "[ingested]" in ok.output
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"not a pdf")
    mixed = run("ingest", str(good), str(bad))
    assert mixed.exit_code == 1
    assert "[unchanged]" in mixed.output and "bad.pdf" in mixed.output
    as_json = run("ingest", str(bad), "--json")
    assert json.loads(as_json.output)["files"][0]["status"] == "failed"


def test_ingest_flags_override(run, tmp_path: Path) -> None:
    doc = tmp_path / "study.txt"
    doc.write_text("A randomised trial of exercise for chronic low back pain showed benefit.")
    run("ingest", str(doc), "--tier", "study", "--guideline", "Smith 2020")
    status = json.loads(run("index", "status", "--json").output)
    assert status["records"][0]["tier"] == "study"
    assert status["records"][0]["guideline"] == "Smith 2020"


def test_index_rm(demo_home) -> None:
    result = demo_home("index", "rm", "det-02-gym-membership-upheld")
    assert result.exit_code == 0 and "Removed det-02" in result.output
    missing = demo_home("index", "rm", "det-02-gym-membership-upheld")
    assert missing.exit_code != 0 and "No document" in missing.output


@pytest.mark.shared
def test_parse_seed_json(run) -> None:
    need_shared(SEED_LETTER)
    result = run("parse", str(SEED_LETTER), "--json", home_dir=None)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {"case_summary", "reviewer_specialty", "items", "warnings"}
    assert data["warnings"] == []
    item = data["items"][0]
    assert item["item"] == "Lumbar spine home exercise kit"
    assert item["decision"] == "upheld"
    assert item["reviewer_guidelines"][0]["pages"] == "287-289"
    assert set(item) == {
        "item",
        "decision",
        "claims_administrator_guidelines",
        "reviewer_guidelines",
        "rationale",
    }
    human = run("parse", str(SEED_LETTER), home_dir=None).output
    assert "UPHELD" in human and "Physical Medicine and Rehabilitation" in human


def test_parse_lists_what_it_could_not_read(run) -> None:
    letter = REPO / "tests" / "fixtures" / "determinations" / "final-partly-unreadable.txt"
    human = run("parse", str(letter), home_dir=None)
    assert human.exit_code == 0, human.output
    assert "Not read (3); check these lines of the letter:" in human.output
    assert "line 19: no decision found for 'Acupuncture for the lumbar spine, 6 sessions'" in (
        human.output
    )
    data = json.loads(run("parse", str(letter), "--json", home_dir=None).output)
    assert [w["line"] for w in data["warnings"]] == [19, 26, 28]
    assert set(data["warnings"][0]) == {"line", "text", "problem"}


def test_ingest_reports_what_a_letter_left_unread(run) -> None:
    letter = REPO / "tests" / "fixtures" / "determinations" / "maximus-2013-unread.txt"
    result = run("ingest", str(letter), "--kind", "determination", "--json")
    assert result.exit_code == 0, result.output
    [file] = json.loads(result.output)["files"]
    assert file["status"] == "ingested"
    assert file["warnings"] == [
        "maximus-2013-unread.txt: line 9: no guideline or rationale text found for 'a hinged "
        "knee brace'; only its listed decision was read.",
        "maximus-2013-unread.txt: line 32: item 'a knee injection': the decision says "
        "overturned but the rationale concludes upheld; the decision was kept.",
    ]


def test_parse_non_letter_is_clear(run, tmp_path: Path) -> None:
    doc = tmp_path / "guide.txt"
    doc.write_text("Exercise is recommended for chronic low back pain.")
    result = run("parse", str(doc), home_dir=None)
    assert result.exit_code != 0 and "guide.txt" in result.output


def _commands(group, prefix=()):
    for name, cmd in group.commands.items():
        path = (*prefix, name)
        if hasattr(cmd, "commands"):
            yield from _commands(cmd, path)
        else:
            yield path


def test_every_command_has_help_and_is_in_readme() -> None:
    readme = (REPO / "README.md").read_text()
    runner = CliRunner()
    for path in _commands(main):
        result = runner.invoke(main, [*path, "--help"])
        assert result.exit_code == 0
        assert "--home" in result.output, path
        assert f"imr-assist {' '.join(path)}" in readme, f"{' '.join(path)} missing from README"


def test_readme_settings_table_matches_settings() -> None:
    readme = (REPO / "README.md").read_text()
    rows = settings_table()
    assert len(rows) >= len(Settings.model_fields)
    for row in rows:
        assert row in readme, f"README settings table is out of date: {row}"


@pytest.mark.parametrize(
    "args",
    [
        ("ask", "Is a home TENS trial recommended?"),
        ("ask", "--batch", "{batch}"),
        ("draft", "--request", "TENS unit one-month home trial", "--summary", "chronic LBP"),
        ("draft", "--batch", "{batch}"),
        ("search", "TENS one-month trial"),
        ("search", "TENS one-month trial", "--json"),
        ("search", "--batch", "{batch}"),
    ],
)
def test_commands_on_an_empty_home_say_what_to_run(run, tmp_path: Path, args: tuple) -> None:
    batch = tmp_path / "batch.jsonl"
    batch.write_text(json.dumps({"qid": "q1", "query": "TENS", "request": "TENS"}) + "\n")
    result = run(*(a.format(batch=batch) for a in args))
    assert result.exit_code == 1, result.output
    assert "Nothing is indexed yet" in result.output
    assert "`imr-assist demo`" in result.output and "`imr-assist ingest PATH`" in result.output
    assert "not addressed" not in result.output.lower() and "Stance" not in result.output


def test_an_indexed_home_answers(run, tmp_path: Path) -> None:
    """The empty-home refusal ends as soon as one document is indexed."""
    doc = tmp_path / "tens.md"
    doc.write_text("# TENS\n\nA one-month home-based TENS trial may be considered (p. 114).\n")
    assert run("ask", "TENS trial").exit_code == 1
    assert run("ingest", str(doc)).exit_code == 0
    result = run("search", "TENS one-month trial")
    assert result.exit_code == 0, result.output
    assert "one-month" in result.output
