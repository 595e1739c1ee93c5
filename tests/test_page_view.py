"""The cited page on screen (ui/page_view.py): highlight boxes where the passage is, and only
there; missing or changed files named; text sources shown among their neighbours."""

from __future__ import annotations

from pathlib import Path

import pypdfium2 as pdfium
import pytest

from conftest import CORPUS, VADOD_PDF, need_shared
from helpers import make_passage, pending_documents, text_pdf, write
from imr_assist.errors import CorruptSourceError, UnreadableSourceError
from imr_assist.index.store import PassageIndex
from imr_assist.settings import Settings
from imr_assist.ui.page_view import (
    Box,
    in_context,
    matched_words,
    neighbour_ids,
    pages_of,
    render_page,
    without_overlap,
    words,
)

PAGE_TWO = [
    "Header of page two",
    "Exercise therapy is recommended for",
    "chronic low back pain in adults.",
    "Unrelated closing words appear here.",
]
PASSAGE = "Exercise therapy is recommended for chronic low back pain in adults."
SCALE = 1.5


def _w(sentence: str) -> list[str]:
    return sentence.split()


@pytest.fixture
def pdf(tmp_path: Path) -> Path:
    return write(tmp_path / "guide.pdf", text_pdf([["Title of page one", "Nothing."], PAGE_TWO]))


def _rects_of(path: Path, page_number: int, phrase: str) -> list[Box]:
    """Where pdfium's own search finds `phrase`, in image pixels (an independent locator)."""
    doc = pdfium.PdfDocument(str(path))
    page = doc[page_number - 1]
    text = page.get_textpage()
    height = page.get_height()
    searcher = text.search(phrase)
    found = searcher.get_next()
    assert found is not None, phrase
    start, count = found
    boxes = [text.get_charbox(i) for i in range(start, start + count)]
    left = min(b[0] for b in boxes)
    right = max(b[2] for b in boxes)
    bottom = min(b[1] for b in boxes)
    top = max(b[3] for b in boxes)
    doc.close()
    return [Box(left * SCALE, (height - top) * SCALE, right * SCALE, (height - bottom) * SCALE)]


def _overlaps(a: Box, b: Box) -> bool:
    return a.left < b.right and b.left < a.right and a.top < b.bottom and b.top < a.bottom


def test_passage_lines_are_boxed_and_nothing_else(pdf: Path) -> None:
    view = render_page(pdf, 2, PASSAGE, scale=SCALE)
    assert view.found and view.page_count == 2 and view.page_number == 2
    assert len(view.boxes) == 2  # the two lines the passage runs over
    assert view.matched_words == view.passage_words == len(words(PASSAGE))
    for phrase in ("Exercise therapy is recommended for", "chronic low back pain in adults"):
        (where,) = _rects_of(pdf, 2, phrase)
        assert any(_overlaps(where, b) for b in view.boxes), phrase
    for phrase in ("Header of page two", "Unrelated closing words appear here."):
        (where,) = _rects_of(pdf, 2, phrase)
        assert not any(_overlaps(where, b) for b in view.boxes), phrase


def test_highlight_is_drawn_inside_the_boxes(pdf: Path) -> None:
    view = render_page(pdf, 2, PASSAGE, scale=SCALE)
    plain = render_page(pdf, 2, "words that are not on this page at all", scale=SCALE)
    assert not plain.found and plain.boxes == []
    for box in view.boxes:
        area = view.image.crop((int(box.left), int(box.top), int(box.right), int(box.bottom)))
        pixels = list(area.getdata())
        yellow = [px for px in pixels if px[0] > 200 and px[1] > 180 and px[2] < 200]
        assert len(yellow) > 0.5 * len(pixels)  # translucent yellow over the white page
        plain_area = plain.image.crop(
            (int(box.left), int(box.top), int(box.right), int(box.bottom))
        )
        assert not [px for px in plain_area.getdata() if px[2] < 200 and px[0] > 200]
    far = (view.image.width - 5, view.image.height - 5)
    assert view.image.getpixel(far) == plain.image.getpixel(far)


def test_passage_on_another_page_is_not_boxed_here(pdf: Path) -> None:
    view = render_page(pdf, 1, PASSAGE)
    assert not view.found and view.matched_words == 0


@pytest.mark.parametrize(
    ("page", "passage", "lit"),
    [
        (_w("the cat sat on the mat"), _w("the dog"), []),  # a lone common word
        (_w("a b c d e"), _w("x b c y"), []),  # two words in a row are not enough
        (_w("x a b c y"), _w("a b c"), [1, 2, 3]),
        # a hyphenated word between two runs is lit too
        (
            _w("strongly we suggest that exer cise therapy for adults with pain"),
            _w("strongly we suggest that exercise therapy for adults with pain"),
            list(range(11)),
        ),
    ],
)
def test_matched_words(page: list[str], passage: list[str], lit: list[int]) -> None:
    assert matched_words(page, passage) == lit


def test_missing_pdf_names_the_file(tmp_path: Path) -> None:
    gone = tmp_path / "moved-away.pdf"
    with pytest.raises(UnreadableSourceError, match=r"moved-away\.pdf.*no longer there"):
        render_page(gone, 1, PASSAGE)


def test_page_beyond_the_file_says_it_changed(pdf: Path) -> None:
    with pytest.raises(CorruptSourceError, match="has 2 page\\(s\\), not page 9"):
        render_page(pdf, 9, PASSAGE)


def test_not_a_pdf_is_named(tmp_path: Path) -> None:
    bad = write(tmp_path / "fake.pdf", b"not a pdf at all")
    with pytest.raises(CorruptSourceError, match=r"fake\.pdf"):
        render_page(bad, 1, PASSAGE)


def test_pages_of_a_passage() -> None:
    assert pages_of(make_passage(page_number=None)) == []
    assert pages_of(make_passage(page_number=12, page_start="45", page_end="46")) == [12, 13]
    assert pages_of(make_passage(page_number=3, page_start="iv", page_end="v")) == [3]


def test_in_context_orders_neighbours_and_drops_repeated_overlap() -> None:
    cited = make_passage("gamma delta epsilon zeta.", doc_id="d", ordinal=5)
    before = make_passage("alpha beta gamma delta", doc_id="d", ordinal=4)
    after = make_passage("epsilon zeta. eta theta.", doc_id="d", ordinal=6)
    other_doc = make_passage("unrelated", doc_id="other", ordinal=4)
    got = in_context(cited, [after, other_doc, before])
    assert [p.ordinal for p, _ in got] == [4, 5, 6]
    assert got[1][1] == cited.text  # the cited passage is kept whole
    assert got[2][1] == "eta theta."  # its repeat of the cited passage's end is dropped
    assert without_overlap("a b c", "x y") == "x y"


def test_neighbours_come_from_the_same_document_version(settings: Settings) -> None:
    index = PassageIndex(settings)
    source = CORPUS / "guidelines" / "mtus-chronic-pain-physical-medicine-exercise.md"
    docs = pending_documents(source, settings)
    index.add_many(docs)
    stored = index.get_passages([p.id for p in docs[0].passages])
    assert len(stored) >= 3
    middle = sorted(stored, key=lambda p: p.ordinal)[1]
    ids = neighbour_ids(index, middle)
    got = sorted(index.get_passages(ids), key=lambda p: p.ordinal)
    assert [p.ordinal for p in got] == [middle.ordinal - 1, middle.ordinal, middle.ordinal + 1]
    assert {p.doc_id for p in got} == {middle.doc_id}


def test_real_guideline_passages_are_found_on_their_pages(tmp_path: Path) -> None:
    path = need_shared(VADOD_PDF)
    from helpers import hashing_settings

    docs = pending_documents(path, hashing_settings(tmp_path))
    one_page = [p for p in docs[0].passages if p.page_start == p.page_end and p.page_number]
    sample = one_page[:: max(1, len(one_page) // 12)][:12]
    for p in sample:
        assert p.page_number is not None
        view = render_page(path, p.page_number, p.text, scale=1.0)
        assert view.found, (p.page_number, p.text[:80])
        assert view.matched_words >= 0.8 * view.passage_words, (p.page_number, p.text[:80])
