"""A real `chroma run` server shared by several reviewer machines (each with its own IMR_HOME):
the index lives on the server, the BM25 side-store on each machine, `index check --repair`
rebuilds a machine's side-store from the server, and a running app process follows another
machine's ingest through the change log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from conftest import CORPUS, backend_settings
from helpers import HASHING_ENV
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


APP_PROCESS = """
import json, sys
from imr_assist import api

retriever = api.open_retriever(api.load_settings())
for line in sys.stdin:
    result = retriever.search(line.strip(), k=5)
    update = retriever.last_update
    print(json.dumps({
        "docs": [h.passage.doc_id for h in result.hits],
        "update": update.model_dump() if update else None,
    }), flush=True)
"""


def test_two_app_processes_one_server_follow_by_the_change_log(
    tmp_path: Path, chroma_server: str
) -> None:
    """Two app processes with their own IMR_HOME on one `chroma run` server: a document
    ingested through the first is found by a hybrid search in the second, which stays up and
    fetches only that document's passages to follow (no rebuild)."""
    prefix = f"t{uuid.uuid4().hex[:10]}"

    def env(home: str) -> dict[str, str]:
        return {
            **{k: v for k, v in os.environ.items() if not k.startswith("IMR_")},
            **HASHING_ENV,
            "IMR_HOME": str(tmp_path / home),
            "IMR_CHROMA_URL": chroma_server,
            "IMR_COLLECTION_PREFIX": prefix,
            "HF_HUB_OFFLINE": "1",
        }

    cli = str(Path(sys.executable).with_name("imr-assist"))

    def ingest(path: Path) -> dict[str, Any]:
        out = subprocess.run(
            [cli, "ingest", str(path), "--json"],
            env=env("machine-a"),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert out.returncode == 0, out.stderr[-2000:]
        return dict(json.loads(out.stdout))

    ingest(CORPUS / "guidelines")
    app = subprocess.Popen(
        [sys.executable, "-c", APP_PROCESS],
        env=env("machine-b"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert app.stdin is not None and app.stdout is not None

    def search(query: str) -> dict[str, Any]:
        assert app.stdin is not None and app.stdout is not None
        app.stdin.write(query + "\n")
        app.stdin.flush()
        line = app.stdout.readline()
        assert line, app.stderr.read() if app.stderr else "the app process died"
        return dict(json.loads(line))

    try:
        first = search("Zetatherm stimulation one-month trial")
        assert first["update"]["kind"] == "rebuilt"  # machine B had no side-store yet
        corpus = first["update"]["passages"]
        new = tmp_path / "new" / "zetatherm.md"
        new.parent.mkdir()
        new.write_text(
            "---\ntitle: Zetatherm digest\ntier: guideline\nkind: guideline\n---\n# Zetatherm\n\n"
            "## Indications\n\nZetatherm stimulation for one month after failed conservative "
            "care (p. 3).\n\n## Evidence\n\nLow-quality evidence supports a Zetatherm trial "
            "(p. 4).\n",
            encoding="utf-8",
        )
        report = ingest(new)
        added = sum(f["passages"] for f in report["files"])
        assert added >= 2
        second = search("Zetatherm stimulation one-month trial")
    finally:
        app.stdin.close()
        app.wait(timeout=60)
    assert second["docs"][0] == "zetatherm"
    update = second["update"]
    assert (
        update["kind"] == "incremental"
        and update["from_generation"] == first["update"]["generation"]
    )
    assert (update["documents_added"], update["passages_fetched"]) == (1, added)
    assert update["passages"] == corpus + added and corpus > 10 * added
