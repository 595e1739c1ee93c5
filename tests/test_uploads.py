"""Saving uploaded files: safe names, type sniffing, size and emptiness, no silent overwrite."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from helpers import text_pdf
from imr_assist.errors import SourceError, UploadError
from imr_assist.ingest.pipeline import ingest_paths
from imr_assist.ingest.uploads import (
    ALLOWED_UPLOAD_TYPES,
    UploadNames,
    discard_failed,
    max_upload_bytes,
    safe_name,
    save_upload,
)
from imr_assist.settings import IngestSettings, Settings

MB = 1024 * 1024
TEXT = b"# TENS\n\nA one-month home-based TENS trial may be considered (p. 114).\n"
PDF = text_pdf([["TENS trial page one."]])
DMHC = (Path(__file__).parent / "fixtures" / "sources" / "dmhc-imr-sample.csv").read_bytes()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("guideline.pdf", "guideline.pdf"),
        ("../../etc/cron.d/evil.txt", "evil.txt"),
        ("/etc/passwd.txt", "passwd.txt"),
        ("C:\\Users\\dr\\Desktop\\MTUS notes.md", "MTUS notes.md"),
        ("C:evil.md", "evil.md"),
        ("\\\\server\\share\\odg.pdf", "odg.pdf"),
        ("notes\x00.txt", "notes.txt"),
        ("bad\x1b[31mred\x07.md", "bad_31mred.md"),
        ("..hidden.md", "hidden.md"),
        (".env.txt", "env.txt"),
        ("naïve café.md", "naïve café.md"),
        ('tens<>:"|?*.md', "tens.md"),
        ("spaces   .pdf", "spaces.pdf"),
        ("CON.txt", "_CON.txt"),
        ("right\u202eto-left.txt", "rightto-left.txt"),
        ("a" * 300 + ".pdf", "a" * 120 + ".pdf"),
        ("no-extension", "no-extension"),
    ],
)
def test_safe_name(name: str, expected: str) -> None:
    assert safe_name(name) == expected


@pytest.mark.parametrize("name", ["", "..", "../..", "/", "C:\\", "...", "\x00\x01", " / . "])
def test_safe_name_refuses_names_with_nothing_usable(name: str) -> None:
    with pytest.raises(UploadError, match="no usable file name"):
        safe_name(name)


@pytest.mark.parametrize(
    ("name", "data", "problem", "hint"),
    [
        ("evil.exe", b"MZ\x90", "'.exe' files are not accepted", "Upload a .pdf"),
        ("README", TEXT, "has no extension", "Upload a .pdf"),
        ("fake.pdf", b"GIF89a....", "not a PDF (no %PDF header)", "original PDF"),
        ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20, "binary", "Ingest PDF"),
        ("u16.md", "TENS notes. ".encode("utf-16-le") * 10, "UTF-16", "Re-save it as UTF-8"),
        ("empty.txt", b"", "is empty", "export it again"),
        ("blank.md", b" \n\t\r\n ", "is empty", "export it again"),
        ("bom-only.md", "\ufeff  \n".encode(), "no text (only spaces)", "Check the file"),
        ("people.csv", b"name,age\nAda,36\n", "without the DMHC IMR columns", "ReferenceID"),
        ("queries.jsonl", b'{"_id":"q1","text":"x"}\n', "other than a BEIR corpus.jsonl", "name"),
        ("big.md", TEXT * 20_000, "over the 1 MB limit", "IMR_INGEST__MAX_FILE_MB"),
    ],
)
def test_refused_uploads_name_the_file_and_write_nothing(
    tmp_path: Path, name: str, data: bytes, problem: str, hint: str
) -> None:
    with pytest.raises(UploadError) as info:
        save_upload(name, data, tmp_path / "corpus", max_bytes=1 * MB)

    assert isinstance(info.value, SourceError)
    assert str(info.value).startswith(f"Uploaded file '{name}': ")
    assert problem in str(info.value)
    assert hint in info.value.hint
    assert not (tmp_path / "corpus").exists() or not any((tmp_path / "corpus").iterdir())


@pytest.mark.parametrize(
    ("name", "data"),
    [("tens.md", TEXT), ("tens.txt", TEXT), ("tens.markdown", TEXT), ("tens.pdf", PDF),
     ("imr.csv", DMHC), ("corpus.jsonl", b'{"_id": "s1", "title": "TENS", "text": "Trial."}\n'),
     ("Legacy.TXT", "Café – “TENS”".encode("cp1252"))],
)  # fmt: skip
def test_allowed_uploads_are_saved_as_given(tmp_path: Path, name: str, data: bytes) -> None:
    saved = save_upload(name, data, tmp_path / "corpus", max_bytes=MB)
    assert saved == tmp_path / "corpus" / name
    assert saved.read_bytes() == data
    assert saved.suffix.lower().lstrip(".") in ALLOWED_UPLOAD_TYPES


def test_same_name_same_bytes_is_not_duplicated(tmp_path: Path) -> None:
    first = save_upload("tens.md", TEXT, tmp_path, max_bytes=MB)
    again = save_upload("tens.md", TEXT, tmp_path, max_bytes=MB)
    assert first == again
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tens.md"]


def test_same_name_other_bytes_gets_a_content_hash_suffix(tmp_path: Path) -> None:
    import hashlib

    first = save_upload("tens.md", TEXT, tmp_path, max_bytes=MB)
    other = TEXT.replace(b"one-month", b"30-day")
    second = save_upload("tens.md", other, tmp_path, max_bytes=MB)
    assert first.read_bytes() == TEXT  # never overwritten
    assert second == tmp_path / f"tens-{hashlib.sha256(other).hexdigest()[:8]}.md"
    assert second.read_bytes() == other
    assert save_upload("../tens.md", other, tmp_path, max_bytes=MB) == second  # idempotent


def test_second_beir_corpus_keeps_its_readable_name(tmp_path: Path) -> None:
    a = b'{"_id": "s1", "title": "TENS", "text": "Trial one."}\n'
    b = b'{"_id": "s2", "title": "TENS", "text": "Trial two."}\n'
    save_upload("corpus.jsonl", a, tmp_path, max_bytes=MB)
    second = save_upload("corpus.jsonl", b, tmp_path, max_bytes=MB)
    assert second.name == "corpus.jsonl" and second.parent.parent == tmp_path


def test_an_existing_symlink_is_never_written_through(tmp_path: Path) -> None:
    outside = tmp_path / "outside.md"
    outside.write_bytes(b"precious")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "tens.md").symlink_to(outside)
    saved = save_upload("tens.md", TEXT, corpus, max_bytes=MB)
    assert saved != corpus / "tens.md"
    assert outside.read_bytes() == b"precious"


def test_concurrent_uploads_of_one_name_lose_nothing(tmp_path: Path) -> None:
    bodies = [TEXT + f"Variant {i}.\n".encode() for i in range(8)]
    saved: list[Path] = []

    def upload(data: bytes) -> None:
        saved.append(save_upload("t.md", data, tmp_path, max_bytes=MB))

    threads = [threading.Thread(target=upload, args=(d,)) for d in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(p.read_bytes() for p in saved) == sorted(bodies)
    assert len({*saved}) == 8
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left


def test_limit_comes_from_settings_and_uploads_ingest(tmp_path: Path, settings: Settings) -> None:
    small = settings.model_copy(update={"ingest": IngestSettings(max_file_mb=0.5)})
    assert max_upload_bytes(small) == 512 * 1024
    corpus = tmp_path / "corpus"
    saved = save_upload("../tens.md", TEXT, corpus, max_bytes=max_upload_bytes(small))
    from imr_assist.index.store import PassageIndex

    report = ingest_paths([corpus], settings=settings, index=PassageIndex(settings))
    assert [(f.path, f.status) for f in report.files] == [(str(saved), "ingested")]


# --------------------------------------------------------------------------- after ingest


def test_upload_names_replace_every_form_of_a_saved_path_once(tmp_path: Path) -> None:
    folder = tmp_path / "home" / "uploads"
    folder.mkdir(parents=True)
    hashed = folder / "notes-1a2b3c4d.md"
    plain = folder / "tens.pdf"
    names = UploadNames(folder, {hashed: "notes.md", plain: "C:\\dr\\TENS scan.pdf"})
    message = (
        f"{hashed}: ingested. notes-1a2b3c4d.md: line 3 skipped. {plain.resolve()}: the PDF is "
        f"damaged. The same content as {folder}/older.md; old-tens.pdf and tens.pdf.bak stay."
    )
    shown = names.text(message)
    assert shown == (
        "notes.md: ingested. notes.md: line 3 skipped. C:\\dr\\TENS scan.pdf: the PDF is "
        "damaged. The same content as older.md; old-tens.pdf and tens.pdf.bak stay."
    )
    assert str(tmp_path) not in shown
    assert names.name(hashed) == "notes.md" and names.name(folder / "x.md") == "x.md"


def _workspace(settings: Settings) -> object:
    from imr_assist import api
    from imr_assist.review.ledger import open_ledger
    from imr_assist.ui.workspace import Workspace

    return Workspace(
        settings=settings, retriever=api.open_retriever(settings), ledger=open_ledger(settings)
    )


def test_uploads_are_named_as_uploaded_and_a_failed_one_leaves_the_folder(
    settings: Settings,
) -> None:
    from imr_assist.ui.corpus_page import ingest_uploads, upload_dir

    ws = _workspace(settings)
    folder = upload_dir(ws)  # type: ignore[arg-type]
    (folder / "notes.md").parent.mkdir(parents=True)
    (folder / "notes.md").write_bytes(b"# other notes\n\nAn earlier upload of another file.\n")
    broken = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer garbage\n"
    report, problems = ingest_uploads(
        ws,  # type: ignore[arg-type]
        [("notes.md", TEXT), ("Scan of ODG (2).pdf", broken), ("empty.txt", b" ")],
    )
    assert report is not None
    assert [(f.path, f.status) for f in report.files] == [
        ("notes.md", "ingested"),  # saved as notes-<hash>.md beside the earlier notes.md
        ("Scan of ODG (2).pdf", "failed"),
    ]
    failed = report.files[1].message
    assert failed.startswith("Scan of ODG (2).pdf: ") and "PDF" in failed
    assert problems == ["Uploaded file 'empty.txt': is empty. Check the file and export it again."]
    every = " ".join([*problems, *(f.message for f in report.files)])
    every += " ".join(w for f in report.files for w in f.warnings)
    assert str(settings.home) not in every and "uploads" not in every
    assert "notes-" not in every and "notes.md: ingested" in every
    # the failed upload is gone, the stored one and the earlier file stay
    kept = sorted(p.name for p in folder.iterdir())
    assert len(kept) == 2 and "notes.md" in kept and not any(k.endswith(".pdf") for k in kept)


def test_a_failed_upload_the_index_holds_is_kept(tmp_path: Path) -> None:
    held, new = tmp_path / "held.md", tmp_path / "new.md"
    held.write_text("x")
    new.write_text("y")
    removed = discard_failed([held, new], stored=lambda p: p == held)
    assert removed == [new] and held.exists() and not new.exists()


def test_the_same_file_twice_in_one_click_is_ingested_once(settings: Settings) -> None:
    from imr_assist.ui.corpus_page import ingest_uploads

    ws = _workspace(settings)
    report, problems = ingest_uploads(ws, [("tens.md", TEXT), ("tens.md", TEXT)])  # type: ignore[arg-type]
    assert report is not None and not problems
    assert [(f.path, f.status) for f in report.files] == [("tens.md", "ingested")]


def test_corpus_page_shows_words_not_tokens(app_home: Path) -> None:
    """The document list and the choices say 'Other guideline', never 'other_guideline'."""
    from streamlit.testing.v1 import AppTest

    from imr_assist.models import Kind, Tier
    from imr_assist.ui.labels import label

    at = AppTest.from_string(
        "from imr_assist.ui import corpus_page\ncorpus_page.render()\n", default_timeout=60
    )
    at.run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert set(table["Authority tier"]) <= {label(t) for t in Tier}
    assert set(table["Kind"]) <= {label(k) for k in Kind}
    assert "Prior determination" in set(table["Authority tier"])  # the demo's letters
    tiers = next(s for s in at.selectbox if s.label == "Authority tier")
    assert tiers.options == ["Detect", *(label(t) for t in Tier)]
    kinds = next(s for s in at.selectbox if s.label == "Kind")
    assert kinds.options == ["Detect", "Guideline", "Determination", "Study"]
    for frame in at.dataframe[1:]:  # each guideline's recommendations
        assert not {d for d in frame.value["Direction"] if "_" in str(d)}


def test_the_uploader_shows_the_limit_ingest_enforces() -> None:
    """Streamlit's uploader states its own limit (200 MB unless configured): ours must match
    the default per-file limit ingest enforces, or the reviewer is promised 200 MB and refused."""
    import tomllib

    config = tomllib.loads((Path(__file__).parents[1] / ".streamlit/config.toml").read_text())
    assert config["server"]["maxUploadSize"] == IngestSettings().max_file_mb
