"""The review ledger: hash chain and tamper detection, append-only triggers, the accept gate,
closed reviews, diff, search/filter, 8 processes accepting into one ledger, and the CLI group.

Every test taking `ledger` (or `ledger_backend`) runs on both backends: SQLite in the test home
and a fresh database on the session's real PostgreSQL server (`pg.py`)."""

from __future__ import annotations

import itertools
import json
import multiprocessing
import shutil
import sqlite3
import sys
import time
import traceback
import types
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner

from helpers import (
    FAKE,
    GENERATED,
    ITEM,
    MTUS,
    ODG,
    accepted,
    make_answer,
    make_draft,
    passages,
)
from imr_assist.cli.ledger import ledger_group
from imr_assist.errors import LedgerError, ReviewError
from imr_assist.models import (
    VerificationReport,
)
from imr_assist.review.ledger import (
    EventKind,
    Ledger,
    ReviewStatus,
    SQLiteStore,
    accept_blockers,
    event_hash,
    open_ledger,
    text_diff,
)
from imr_assist.settings import Settings
from imr_assist.verification.verify import verify

# The fixtures ledger, ledger_url, tamper and the PostgreSQL server; its helpers are imported
# inside functions (a module-level import would come before pytest can register it).
pytest_plugins = ("pg",)
Tamper = Any  # pg.tamper: (ledger, *sql, bypass=True, restore=False) -> None


# --------------------------------------------------------------------------- the workflow


def test_start_edit_accept_records_everything(ledger: Ledger) -> None:
    review = ledger.start(make_draft(), "  Dr. Lee ", passages())
    assert review.status is ReviewStatus.DRAFTED and review.reviewer == "Dr. Lee"
    assert review.final_text == review.generated_text == GENERATED and review.diff == ""
    assert {e.id for e in review.evidence} == {MTUS, ODG}
    odg = next(e for e in review.evidence if e.id == ODG)
    import hashlib

    assert odg.text_sha256 == hashlib.sha256(passages()[1].text.encode()).hexdigest()
    assert odg.citation.endswith("p. 12")
    assert review.verification is not None and review.verification.blockers == []

    edited = GENERATED.replace("Given the above", "Therefore")
    review = ledger.edit(review.review_id, edited, "Dr. Lee", verify(edited, passages()))
    assert review.final_text == edited and review.status is ReviewStatus.DRAFTED
    review = ledger.accept(review.review_id, edited, "Dr. Kim", verify(edited, passages()))
    assert review.status is ReviewStatus.ACCEPTED and review.reviewer == "Dr. Kim"
    assert review.decided_at == "2026-11-28T09:03:00+00:00"
    assert review.override_reason is None
    kinds = [e.kind for e in ledger.events(review.review_id)]
    assert kinds == [EventKind.DRAFTED, EventKind.EDITED, EventKind.ACCEPTED]
    assert ledger.review(review.review_id) == review


def test_edit_with_the_same_text_records_nothing(ledger: Ledger) -> None:
    review = ledger.start(make_draft(), "Dr. Lee", passages())
    ledger.edit(review.review_id, GENERATED + "\n", "Dr. Lee", verify(GENERATED, passages()))
    assert len(ledger.events(review.review_id)) == 1


def test_diff_is_readable_sentence_by_sentence(ledger: Ledger) -> None:
    review = ledger.start(make_draft(), "Dr. Lee", passages())
    final = GENERATED.replace("a lack of documentation", "no documentation")
    review = ledger.accept(review.review_id, final, "Dr. Lee", verify(final, passages()))
    lines = review.diff.splitlines()
    assert lines[:2] == ["--- generated", "+++ final"]
    assert "-There was a lack of documentation of the components of the kit." in lines
    assert "+There was no documentation of the components of the kit." in lines
    # a citation marker written after the period stays on its sentence's line
    assert " ODG indicates that advanced home exercise equipment where outcomes are not " in (
        "\n".join(lines)
    )
    assert not any(line.lstrip(" +-").startswith("[") for line in lines[2:])
    assert text_diff("A. B.", "A.  B.") == ""


def test_answer_reviews_too(ledger: Ledger) -> None:
    review = ledger.start(make_answer(), "Dr. Lee", passages())
    assert review.kind == "ask" and review.decision is None and review.item.startswith("Is a")


# --------------------------------------------------------------------------- the gate


def _blocked_text() -> str:
    return GENERATED + f" Kits are covered for 12 months. [{FAKE}]"


def test_accept_blockers_name_each_blocking_sentence() -> None:
    text = (
        f"Advanced home exercise equipment is recommended. [{ODG}] "
        f"Kits are covered. [{FAKE}] A home exercise program is recommended. [{ODG}]"
    )
    lines = accept_blockers(verify(text, passages()))
    assert len(lines) == 2
    assert lines[0].startswith("Sentence 1 is unsupported (polarity conflict")
    assert lines[1].startswith(f"Sentence 2 cites unknown id [{FAKE}]")
    assert accept_blockers(verify(GENERATED, passages())) == []


def test_fabricated_id_without_a_sentence_still_blocks() -> None:
    report = VerificationReport(
        sentences=[], fabricated_ids=[FAKE], supported=0, weak=0, unsupported=0, uncited=0
    )
    assert accept_blockers(report) == [f"The draft cites unknown id [{FAKE}]"]


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_accept_refused_with_blockers_and_no_reason(ledger: Ledger, reason: str | None) -> None:
    review = ledger.start(make_draft(), "Dr. Lee", passages())
    text = _blocked_text()
    with pytest.raises(ReviewError, match=rf"Sentence 5 cites unknown id \[{FAKE}\]"):
        ledger.accept(review.review_id, text, "Dr. Lee", verify(text, passages()), reason)
    assert ledger.review(review.review_id).status is ReviewStatus.DRAFTED
    assert len(ledger.events()) == 1


def test_accept_with_override_reason_records_it(ledger: Ledger) -> None:
    review = ledger.start(make_draft(), "Dr. Lee", passages())
    text = _blocked_text()
    review = ledger.accept(
        review.review_id, text, "Dr. Lee", verify(text, passages()), " checked the source "
    )
    assert review.status is ReviewStatus.ACCEPTED
    assert review.override_reason == "checked the source"
    assert review.verification is not None and len(review.verification.blockers) == 1
    payload = ledger.events(review.review_id)[-1].payload
    assert payload["override_reason"] == "checked the source"
    assert payload["verification"]["fabricated_ids"] == [FAKE]


def test_a_report_of_another_text_is_refused(ledger: Ledger) -> None:
    review = ledger.start(make_draft(), "Dr. Lee", passages())
    with pytest.raises(ReviewError, match="report is for another text"):
        ledger.accept(review.review_id, _blocked_text(), "Dr. Lee", verify(GENERATED, passages()))


# --------------------------------------------------------------------------- errors


def test_closed_reviews_cannot_be_acted_on(ledger: Ledger) -> None:
    rid = accepted(ledger)
    report = verify(GENERATED, passages())
    with pytest.raises(ReviewError, match=r"already accepted by Dr\. Lee"):
        ledger.accept(rid, GENERATED, "Dr. Kim", report)
    with pytest.raises(ReviewError, match="Cannot reject"):
        ledger.reject(rid, "too late", "Dr. Kim")
    review = ledger.start(make_draft(), "Dr. Lee", passages())
    rejected = ledger.reject(review.review_id, "  wrong body region ", "Dr. Kim")
    assert (
        rejected.status is ReviewStatus.REJECTED and rejected.reject_reason == "wrong body region"
    )
    with pytest.raises(ReviewError, match="already rejected"):
        ledger.edit(
            review.review_id,
            GENERATED + " More.",
            "Dr. Lee",
            verify(GENERATED + " More.", passages()),
        )


@pytest.mark.parametrize("who", ["", "   ", None])
def test_reviewer_name_is_required(ledger: Ledger, who: str | None) -> None:
    with pytest.raises(ReviewError, match="reviewer name is required"):
        ledger.start(make_draft(), who, passages())  # type: ignore[arg-type]


def test_reject_needs_a_reason_and_unknown_ids_are_errors(ledger: Ledger) -> None:
    review = ledger.start(make_draft(), "Dr. Lee", passages())
    with pytest.raises(ReviewError, match="reason is required"):
        ledger.reject(review.review_id, "  ", "Dr. Lee")
    with pytest.raises(ReviewError, match=r"No review 'nope'.*ledger list"):
        ledger.review("nope")


def test_start_needs_the_cited_evidence(ledger: Ledger) -> None:
    with pytest.raises(ReviewError, match=f"cited passage.*{MTUS}"):
        ledger.start(make_draft(), "Dr. Lee", passages()[1:])


# --------------------------------------------------------------------------- the chain


def _fill(ledger: Ledger) -> None:
    accepted(ledger)
    review = ledger.start(make_draft(), "Dr. Kim", passages())
    ledger.reject(review.review_id, "not this item", "Dr. Kim")
    accepted(ledger, who="Dr. Roe")  # 6 events


def test_clean_chain_verifies(ledger: Ledger) -> None:
    _fill(ledger)
    check = ledger.verify()
    assert check.ok and check.events_checked == 6 and check.first_bad_seq is None
    events = ledger.events()
    assert [e.seq for e in events] == [1, 2, 3, 4, 5, 6]
    assert events[0].prev_hash == "0" * 64 and check.head_hash == events[-1].hash
    for before, after in itertools.pairwise(events):
        assert after.prev_hash == before.hash
    e = events[3]
    assert (
        event_hash(e.prev_hash, e.seq, e.review_id, e.kind, e.reviewer, e.at, e.payload) == e.hash
    )


def test_events_are_append_only(ledger: Ledger, tamper: Tamper) -> None:
    _fill(ledger)
    refused = (sqlite3.DatabaseError, psycopg.Error)
    statements = ["UPDATE events SET reviewer = 'Mallory' WHERE seq = 2", "DELETE FROM events"]
    if not isinstance(ledger.store, SQLiteStore):  # the head row numbering events never goes back
        statements += ["TRUNCATE events", "UPDATE head SET seq = 3", "DELETE FROM head"]
    for statement in statements:
        with pytest.raises(refused, match=r"append-only|only moves forward"):
            tamper(ledger, statement, bypass=False)
    check = ledger.verify()
    assert check.ok and check.events_checked == 6, check.message


@pytest.mark.parametrize(
    ("sql", "bad_seq", "says"),
    [
        (
            ["UPDATE events SET payload = replace(payload, 'not this item', 'fine') WHERE seq = 4"],
            4,
            "event 4 was altered",
        ),
        (["UPDATE events SET reviewer = 'Dr. Mallory' WHERE seq = 3"], 3, "event 3 was altered"),
        (["UPDATE events SET at = '2020-01-01T00:00:00+00:00' WHERE seq = 2"], 2, "altered"),
        (["DELETE FROM events WHERE seq = 3"], 3, "event 3 is missing"),
        (["DELETE FROM events WHERE seq = 1"], 1, "event 1 is missing"),
        (["DELETE FROM events WHERE seq = 6"], 6, "events 6..6 are missing"),
        (
            [
                "UPDATE events SET seq = 100 WHERE seq = 2",
                "UPDATE events SET seq = 2 WHERE seq = 3",
                "UPDATE events SET seq = 3 WHERE seq = 100",
            ],
            2,
            "event 2 does not link",
        ),
    ],
    ids=["payload", "reviewer", "time", "delete-middle", "delete-first", "truncate", "swap"],
)
def test_tampering_is_detected(
    ledger: Ledger, tamper: Tamper, sql: list[str], bad_seq: int, says: str
) -> None:
    _fill(ledger)
    tamper(ledger, *sql)
    check = ledger.verify()
    assert not check.ok and check.first_bad_seq == bad_seq
    assert says in check.message


def test_recomputed_hash_is_caught_at_the_next_link(ledger: Ledger, tamper: Tamper) -> None:
    _fill(ledger)
    e = ledger.events()[2]
    forged = {**e.payload, "final_text": "Forged."}
    digest = event_hash(e.prev_hash, e.seq, e.review_id, e.kind, e.reviewer, e.at, forged)
    payload = json.dumps(forged).replace("'", "''")
    tamper(ledger, f"UPDATE events SET payload = '{payload}', hash = '{digest}' WHERE seq = 3")
    check = ledger.verify()
    # its MAC under the ledger key no longer matches (before the key: caught at the next link)
    assert check.first_bad_seq == 3 and "not signed with the ledger key" in check.message


def test_dropped_triggers_are_reported_and_not_recreated(ledger: Ledger, tamper: Tamper) -> None:
    _fill(ledger)
    tamper(ledger)  # SQLite: dropped; PostgreSQL: disabled (as a superuser may)
    reopened = Ledger(ledger.store)
    check = reopened.verify()
    assert not check.ok and check.first_bad_seq is None and "trigger" in check.message
    assert "events_no_update" in check.message and "events_no_delete" in check.message


# --------------------------------------------------------------------------- search


def test_reviews_filter_and_search(ledger: Ledger) -> None:
    kit = accepted(ledger, who="Dr. Lee")
    tens = ledger.start(make_draft(item="TENS unit purchase"), "Dr. Kim", passages())
    ledger.reject(tens.review_id, "duplicate request", "Dr. Kim")
    open_one = ledger.start(make_draft(item="Chiropractic 12 sessions"), "Dr. Roe", passages())

    assert [r.review_id for r in ledger.reviews()] == [open_one.review_id, tens.review_id, kit]
    assert [r.review_id for r in ledger.reviews(status="accepted")] == [kit]
    assert [r.review_id for r in ledger.reviews(status=ReviewStatus.DRAFTED)] == [
        open_one.review_id
    ]
    assert [r.review_id for r in ledger.reviews(reviewer="dr. KIM")] == [tens.review_id]
    assert [r.review_id for r in ledger.reviews(text="DUPLICATE")] == [tens.review_id]
    assert [r.review_id for r in ledger.reviews(text="chiropractic")] == [open_one.review_id]
    assert ledger.reviews(status="rejected", reviewer="Dr. Lee") == []
    assert len(ledger.reviews(limit=2)) == 2
    with pytest.raises(ReviewError, match="Unknown status 'pending'"):
        ledger.reviews(status="pending")


# --------------------------------------------------------------------------- concurrency


def _worker(home: str, url: str | None, name: str, n: int, barrier: Any, results: Any) -> None:
    """Start and accept n drafts once all workers are ready; report (ids, seconds in ledger),
    or the traceback, so that a failing worker fails the test at once instead of hanging it."""
    try:
        from pg import make_ledger

        draft, evidence = make_draft(), passages()
        report = verify(GENERATED, evidence)
        ledger = make_ledger(Path(home), url)
        barrier.wait(timeout=300)  # every process writes at the same time
        started = time.perf_counter()
        ids = []
        for _ in range(n):
            review = ledger.start(draft, name, evidence)
            ledger.accept(review.review_id, GENERATED, name, report)
            ids.append(review.review_id)
        results.put((ids, time.perf_counter() - started))
    except BaseException:
        results.put(("error", traceback.format_exc()))
        raise


@pytest.mark.slow
def test_eight_processes_accept_into_one_ledger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ledger_url: str | None
) -> None:
    """SQLite: 8 processes on one home. PostgreSQL: 8 processes, each with its own home (8 app
    machines sharing the ledger and its key), all appending at once."""
    from pg import make_ledger

    workers, per_process = 8, 6
    first = make_ledger(tmp_path / "home-0", ledger_url)
    homes = [tmp_path / "home-0"] * workers
    if ledger_url is not None:
        homes = [tmp_path / f"home-{i}" for i in range(workers)]
        for home in homes[1:]:
            (home / "keys").mkdir(parents=True)
            shutil.copy(first.anchor.key_path, home / "keys" / "ledger.key")
    # A spawned child re-runs the parent's __main__ by path; after an AppTest in this process
    # that is a Streamlit page script (it would build a whole workspace in every worker).
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(workers), ctx.Queue()
    procs = [
        ctx.Process(
            target=_worker,
            args=(str(homes[i]), ledger_url, f"Dr. {i}", per_process, barrier, results),
        )
        for i in range(workers)
    ]
    for proc in procs:
        proc.start()
    outcomes = [results.get(timeout=600) for _ in procs]
    errors = [o[1] for o in outcomes if o[0] == "error"]
    assert not errors, errors[0]
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    ids = [rid for ids, _ in outcomes for rid in ids]
    assert len(set(ids)) == workers * per_process
    for home in sorted(set(homes)):  # every machine sees every review and a valid chain
        ledger = make_ledger(home, ledger_url)
        reviews = ledger.reviews(status="accepted", limit=None)
        assert {r.review_id for r in reviews} == set(ids)
        assert {r.reviewer for r in reviews} == {f"Dr. {i}" for i in range(workers)}
        check = ledger.verify()
        assert check.ok, check.message
        assert check.events_checked == 2 * workers * per_process
        assert [e.seq for e in ledger.events()] == list(range(1, 2 * workers * per_process + 1))
    if ledger_url is None:
        conn = sqlite3.connect(first.path)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        conn.close()
    slowest = max(seconds for _, seconds in outcomes)
    print(
        f"{first.store.__class__.__name__}: {workers} processes x {per_process} drafts "
        f"started+accepted at once: slowest worker {slowest:.2f} s in ledger calls "
        f"({2 * per_process} writes each)"
    )


# --------------------------------------------------------------------------- CLI


@pytest.fixture
def home(settings: Settings, ledger_url: str | None, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home with 4 events, on either backend (the CLI reads IMR_LEDGER__URL as deployed)."""
    if ledger_url is not None:
        monkeypatch.setenv("IMR_LEDGER__URL", ledger_url)
    ledger = open_ledger(Settings(home=settings.home))
    expected = "ledger.sqlite3" if ledger_url is None else "ledger-postgresql-"
    assert ledger.path.name.startswith(expected)
    accepted(ledger, who="Dr. Lee")
    review = ledger.start(make_draft(item="TENS unit purchase"), "Dr. Kim", passages())
    ledger.reject(review.review_id, "duplicate request", "Dr. Kim")
    return settings.home


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(ledger_group, list(args))
    return result.exit_code, result.output


def test_cli_list_filters_and_json(home: Path) -> None:
    code, out = _run("list", "--home", str(home))
    assert code == 0 and "accepted" in out and "rejected" in out and ITEM in out
    code, out = _run("list", "--status", "rejected", "--home", str(home))
    assert code == 0 and "TENS unit purchase" in out and ITEM not in out
    code, out = _run("list", "--search", "DUPLICATE request", "--json", "--home", str(home))
    rows = json.loads(out)
    assert code == 0 and [r["item"] for r in rows] == ["TENS unit purchase"]
    code, out = _run("list", "--reviewer", "nobody", "--home", str(home))
    assert code == 0 and "No reviews match" in out


def test_cli_show(home: Path) -> None:
    rid = open_ledger(Settings(home=home)).reviews(status="accepted")[0].review_id
    code, out = _run("show", rid, "--home", str(home))
    assert code == 0
    for part in (
        "ACCEPTED",
        "Reviewer:     Dr. Lee",
        "Generated text:",
        "Evidence snapshot (2",
        f"[{ODG}] sha256",
        "#1",
        "accepted",
    ):
        assert part in out
    code, out = _run("show", rid, "--json", "--home", str(home))
    data = json.loads(out)
    assert data["review"]["status"] == "accepted" and len(data["events"]) == 2
    code, out = _run("show", "nope", "--home", str(home))
    assert code == 1 and "No review 'nope'" in out and "Traceback" not in out


def test_cli_export_records_the_event(home: Path, tmp_path: Path) -> None:
    ledger = open_ledger(Settings(home=home))
    rid = ledger.reviews(status="accepted")[0].review_id
    out_file = tmp_path / "out" / "det.md"
    code, out = _run(
        "export",
        rid,
        "--format",
        "md",
        "--out",
        str(out_file),
        "--reviewer",
        "Clerk",
        "--home",
        str(home),
    )
    assert code == 0, out
    assert out_file.read_text().startswith("# Independent Medical Review")
    last = ledger.events(rid)[-1]
    assert last.kind is EventKind.EXPORTED and last.reviewer == "Clerk"
    assert last.payload == {"format": "md"}
    rejected = ledger.reviews(status="rejected")[0].review_id
    code, out = _run(
        "export", rejected, "--format", "md", "--out", str(out_file), "--home", str(home)
    )
    assert code == 1 and "only accepted reviews are exported" in out


def test_cli_verify_clean_and_tampered(home: Path, tamper: Tamper) -> None:
    code, out = _run("verify", "--home", str(home))
    assert code == 0 and "Ledger intact: 4 events" in out
    tamper(open_ledger(Settings(home=home)), "DELETE FROM events WHERE seq = 2")
    code, out = _run("verify", "--home", str(home))
    assert code == 1 and "event 2 is missing" in out
    code, out = _run("verify", "--json", "--home", str(home))
    assert code == 1 and json.loads(out)["first_bad_seq"] == 2


def test_ledger_error_on_a_file_that_is_not_a_ledger(tmp_path: Path) -> None:
    bad = tmp_path / "ledger.sqlite3"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(LedgerError, match="is it a ledger file"):
        Ledger(bad)
