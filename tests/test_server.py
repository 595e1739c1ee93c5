"""A real `chroma run` server shared by several reviewer machines (each with its own IMR_HOME):
the index lives on the server, the BM25 side-store on each machine, `index check --repair`
rebuilds a machine's side-store from the server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import CORPUS, backend_settings
from imr_assist import api
from imr_assist.cli.commands import main
from imr_assist.index.consistency import check, repair
from imr_assist.index.store import PassageIndex


@pytest.fixture
def machines(tmp_path: Path, request: pytest.FixtureRequest):
    """Two reviewer machines (two homes) on one server collection."""
    first = backend_settings(tmp_path / "machine-a", "server", request)
    second = first.model_copy(update={"home": tmp_path / "machine-b"})
    return first, second


def test_server_heartbeat_and_location(chroma_server: str, machines) -> None:
    first, _ = machines
    index = PassageIndex(first)
    assert index.client.heartbeat() > 0
    assert index.location == chroma_server
    assert not (Path(first.home) / "chroma").exists()  # nothing of the index stored locally


def test_second_machine_sees_the_index_and_repair_builds_its_bm25(machines) -> None:
    first, second = machines
    report = api.ingest([CORPUS / "guidelines"], settings=first)
    assert not report.failed
    a = api.search("TENS one-month home trial", settings=first, k=5)
    b_before = check(PassageIndex(second))
    assert b_before.clean and b_before.bm25_state == "missing"
    assert b_before.documents == len(report.files)
    fixed = repair(PassageIndex(second))
    assert fixed.bm25_state == "current" and fixed.published_passages == report.passages
    assert any("rebuilt the BM25" in line for line in fixed.repaired)
    b = api.search("TENS one-month home trial", settings=second, k=5)
    assert [h.passage.id for h in b.hits] == [h.passage.id for h in a.hits]
    # machine B removes a document: machine A's side-store moves on at its next search
    api.open_index(second).remove("mtus-chronic-pain-tens")
    after = api.search("TENS one-month home trial", settings=first, k=10)
    assert "mtus-chronic-pain-tens" not in {h.passage.doc_id for h in after.hits}
    assert check(PassageIndex(first)).clean


def test_cli_check_repair_against_the_server(machines, chroma_server: str) -> None:
    first, second = machines
    api.ingest([CORPUS / "determinations"], settings=first)
    env = {
        "IMR_EMBEDDING__MODEL": "hashing",
        "IMR_CHROMA_URL": chroma_server,
        "IMR_COLLECTION_PREFIX": first.collection_prefix,
    }
    out = CliRunner().invoke(
        main, ["index", "check", "--repair", "--json", "--home", str(second.home)], env=env
    )
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["chroma"] == chroma_server and data["bm25_state"] == "current"
    assert data["documents"] > 10 and data["published_passages"] > 0
