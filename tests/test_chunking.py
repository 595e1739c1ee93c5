"""Tests for chunking (imr_assist.ingest.chunking): sentences, chunk() properties, passages."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imr_assist.ingest.chunking import _hard_split, chunk, chunk_document, embedding_text
from imr_assist.models import (
    Block,
    Decision,
    Direction,
    DocumentMeta,
    Kind,
    NumberedRecommendation,
    Page,
    SourceDocument,
    Strength,
    Tier,
)
from imr_assist.text.sentences import split_sentences

PROPERTY = settings(max_examples=200, deadline=None)

# --------------------------------------------------------------------------- sentences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Exercise helps. Rest does not.", ["Exercise helps.", "Rest does not."]),
        ("Is it safe? Yes! It is.", ["Is it safe?", "Yes!", "It is."]),
        ("Use NSAIDs, e.g. Naproxen, first. Then walk.",
         ["Use NSAIDs, e.g. Naproxen, first.", "Then walk."]),
        ("Kolber et al. (2021) found a benefit. Jones did not.",
         ["Kolber et al. (2021) found a benefit.", "Jones did not."]),
        ("Two drugs, i.e. Opioids and NSAIDs, were tested. No benefit.",
         ["Two drugs, i.e. Opioids and NSAIDs, were tested.", "No benefit."]),
        ("Seen by Dr. Lee today. She improved.", ["Seen by Dr. Lee today.", "She improved."]),
        ("Vitamin D vs. Placebo was tested. Nothing changed.",
         ["Vitamin D vs. Placebo was tested.", "Nothing changed."]),
        ("See p. 45 for details. Next.", ["See p. 45 for details.", "Next."]),
        ("Treatment A. Smith reported it.", ["Treatment A. Smith reported it."]),  # an initial
        ('He said "stop." Then he left.', ['He said "stop."', "Then he left."]),
        ("Pain fell (p<0.05). Function rose.", ["Pain fell (p<0.05).", "Function rose."]),
        ("Results were 3.5 points. 12 patients improved.",
         ["Results were 3.5 points.", "12 patients improved."]),
        ("Relief was short. (Weak for | Reviewed)", ["Relief was short.", "(Weak for | Reviewed)"]),
        ("lower case follows. so no split", ["lower case follows. so no split"]),
        ("  spaced   out.\n Text\there. ", ["spaced out.", "Text here."]),
        ("no final stop", ["no final stop"]),
        ("", []),
        ("  \n ", []),
    ],
)  # fmt: skip
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


# --------------------------------------------------------------------------- chunk() properties

WORD = st.one_of(
    st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=12),
    st.sampled_from(["e.g.", "i.e.", "Dr.", "et al.", "vs.", "3.5", "(2021)", "NSAIDs", "p."]),
)
LONG_WORD = st.text("abcdefghij", min_size=40, max_size=90)  # longer than small sizes
SEPARATOR = st.sampled_from([" ", "  ", "\n", " \n ", "\t"])


@st.composite
def documents(draw: st.DrawFn, long_words: bool = False) -> str:
    """Sentences that each start with a unique marker 'S<i>x', separated by any whitespace."""
    n = draw(st.integers(min_value=0, max_value=25))
    word = st.one_of(WORD, LONG_WORD) if long_words else WORD
    parts = []
    for i in range(n):
        words = draw(st.lists(word, min_size=0, max_size=30))
        end = draw(st.sampled_from([".", "?", "!", ".)", ""]))
        parts.append(f"S{i}x " + " ".join(words) + end)
        parts.append(draw(SEPARATOR))
    return "".join(parts)


def _covered(text: str, chunks: list[str], size: int) -> None:
    for sentence in split_sentences(text):
        if len(sentence) <= size:
            assert any(sentence in c for c in chunks), sentence
        else:
            for piece in _hard_split(sentence, size):
                assert any(piece in c for c in chunks), piece


def _markers_in_order(text: str, chunks: list[str]) -> None:
    expected = re.findall(r"\bS\d+x\b", text)
    seen: list[str] = []
    for c in chunks:
        seen.extend(m for m in re.findall(r"\bS\d+x\b", c) if m not in seen)
    assert seen == expected


@PROPERTY
@given(documents(), st.integers(min_value=20, max_value=400), st.integers(0, 200))
def test_chunk_sizes_coverage_and_order(text: str, size: int, overlap: int) -> None:
    chunks = chunk(text, size, overlap)

    assert all(0 < len(c) <= size for c in chunks)
    assert all(c == c.strip() for c in chunks)
    _covered(text, chunks, size)
    _markers_in_order(text, chunks)


@PROPERTY
@given(documents(), st.integers(min_value=20, max_value=400))
def test_chunk_without_overlap_concatenates_to_the_normalised_text(text: str, size: int) -> None:
    chunks = chunk(text, size, 0)

    assert " ".join(chunks) == " ".join(text.split())


@PROPERTY
@given(documents(long_words=True), st.integers(min_value=20, max_value=60), st.integers(0, 60))
def test_chunk_cuts_words_longer_than_the_size_without_losing_text(
    text: str, size: int, overlap: int
) -> None:
    chunks = chunk(text, size, overlap)

    assert all(len(c) <= size for c in chunks)
    _covered(text, chunks, size)
    _markers_in_order(text, chunks)
    no_overlap = chunk(text, size, 0)
    assert "".join("".join(no_overlap).split()) == "".join(text.split())


@PROPERTY
@given(st.text(), st.integers(min_value=1, max_value=300), st.integers(0, 300))
def test_chunk_of_any_text(text: str, size: int, overlap: int) -> None:
    chunks = chunk(text, size, overlap)

    assert all(0 < len(c) <= size for c in chunks)
    _covered(text, chunks, size)
    assert "".join("".join(chunk(text, size, 0)).split()) == "".join(text.split())


def _units(text: str, size: int) -> list[str]:
    """What chunk() packs: sentences, and the word-boundary pieces of over-long ones."""
    return [
        piece
        for sentence in split_sentences(text)
        for piece in (_hard_split(sentence, size) if len(sentence) > size else [sentence])
    ]


def _packed_ranges_exist(chunks: list[str], units: list[str], size: int, overlap: int) -> bool:
    """True when every chunk is units[a:b] joined by spaces, filled until the next unit does not
    fit, the first starting at 0 and the last ending at len(units), each next one starting after
    the previous start and no later than its end, repeating at most `overlap` characters."""
    n = len(units)
    feasible: set[tuple[int, int]] = {(-1, 0)}  # (start, end) of the previous chunk
    for c in chunks:
        candidates = []
        for a in range(n):
            joined = units[a]
            for b in range(a + 1, n + 1):
                if b > a + 1:
                    joined += " " + units[b - 1]
                if len(joined) > len(c):
                    break
                full = b == n or len(joined) + 1 + len(units[b]) > size
                if joined == c and full:
                    candidates.append((a, b))
        feasible = {
            (a, b)
            for a, b in candidates
            for pa, pb in feasible
            if pa < a <= pb < b and sum(len(u) + 1 for u in units[a:pb]) <= overlap
        }
        if not feasible:
            return False
    return any(b == n for _, b in feasible) or not units


@PROPERTY
@given(documents(), st.integers(min_value=20, max_value=400), st.integers(0, 200))
def test_chunk_packs_whole_units_and_repeats_at_most_overlap(
    text: str, size: int, overlap: int
) -> None:
    chunks = chunk(text, size, overlap)

    assert _packed_ranges_exist(chunks, _units(text, size), size, overlap)


def test_chunk_overlap_example() -> None:
    text = "One is here. Two is here. Three is here. Four is here."

    # 'Two is here. ' (13 characters) is repeated; 'Three is here. ' (15) is over the overlap
    assert chunk(text, 30, 13) == [
        "One is here. Two is here.",
        "Two is here. Three is here.",
        "Four is here.",
    ]
    assert chunk(text, 30, 0) == [
        "One is here. Two is here.",
        "Three is here. Four is here.",
    ]


def test_chunk_long_sentence_is_cut_at_word_boundaries() -> None:
    text = "alpha beta gamma delta epsilon zeta eta theta."

    assert chunk(text, 12, 0) == ["alpha beta", "gamma delta", "epsilon zeta", "eta theta."]


def test_chunk_of_empty_text() -> None:
    assert chunk("", 100, 10) == []
    assert chunk(" \n\t", 100, 10) == []


# --------------------------------------------------------------------------- chunk_document


def block(
    text: str,
    page: int,
    section: str | None = None,
    rec: str | None = None,
    *,
    table: bool = False,
    decision: Decision | None = None,
) -> Block:
    label = str(40 + page)
    return Block(
        text=text,
        page_index=page,
        page_label=label,
        page_end_label=label,
        section=section,
        recommendation=rec,
        is_table=table,
        decision=decision,
    )


PHARMA = "D. Pharmacotherapy"
INVASIVE = "E. Non-surgical Invasive Therapy"
LONG_TITLE = "Table 3. Injection types and the quality of the evidence for each of them"


def guideline_doc(blocks: list[Block]) -> SourceDocument:
    recs = [
        NumberedRecommendation(number="12", text="For patients with chronic low back pain, we "
                               "suggest against opioids.", direction=Direction.AGAINST,
                               strength=Strength.WEAK, page_label="40", page_index=0),
        NumberedRecommendation(number="13", text="For patients with low back pain, we suggest "
                               "against acetaminophen.", direction=Direction.AGAINST,
                               strength=Strength.WEAK, page_label="41", page_index=1),
    ]  # fmt: skip
    return SourceDocument(
        doc_id="acme-lbp",
        source_path="acme-lbp.pdf",
        content_hash="0" * 64,
        meta=DocumentMeta(
            title="Acme LBP Guideline",
            kind=Kind.GUIDELINE,
            tier=Tier.OTHER_GUIDELINE,
            guideline="Acme LBP 2024",
        ),
        pages=[Page(index=i, label=str(40 + i), text="(page text)") for i in range(3)],
        blocks=blocks,
        recommendations=recs,
    )


GUIDELINE_BLOCKS = [
    block("Opioids were studied in many trials. Harms were common.", 0, PHARMA, "12"),
    block("Dependence was reported in some patients. Overdose was rare.", 1, PHARMA, "12"),
    block("Acetaminophen did not reduce pain. It is cheap.", 1, PHARMA, "13"),
    block(
        "Table 2. Doses of NSAIDs\nNaproxen 500 mg twice daily\nIbuprofen 400 mg three times daily",
        1, PHARMA, "13", table=True,
    ),
    block("Acetaminophen was also studied after surgery.", 1, PHARMA, "13"),
    block("Injections were reviewed.", 2, INVASIVE),
    block(LONG_TITLE + "\n" + "\n".join(
        f"Row {i}: injection type {i} has low quality evidence" for i in range(8)
    ), 2, INVASIVE, table=True),
]  # fmt: skip


def test_chunk_document_passages_and_locators() -> None:
    doc = guideline_doc(GUIDELINE_BLOCKS[:6])

    passages = chunk_document(doc, size=120, overlap=30)

    assert [
        (p.page_start, p.page_end, p.section, p.recommendation, p.recommendation_grade, p.text)
        for p in passages
    ] == [
        ("40", "41", PHARMA, "12", "Weak against",
         "Opioids were studied in many trials. Harms were common. Dependence was reported in "
         "some patients. Overdose was rare."),
        ("41", "41", PHARMA, "13", "Weak against",
         "Acetaminophen did not reduce pain. It is cheap."),
        ("41", "41", PHARMA, "13", "Weak against",
         "Table 2. Doses of NSAIDs\nNaproxen 500 mg twice daily\nIbuprofen 400 mg three times "
         "daily"),
        ("41", "41", PHARMA, "13", "Weak against", "Acetaminophen was also studied after surgery."),
        ("42", "42", INVASIVE, None, None, "Injections were reviewed."),
    ]  # fmt: skip
    assert [p.ordinal for p in passages] == [0, 1, 2, 3, 4]
    first = passages[0]
    assert (first.doc_id, first.source_path, first.source_title) == (
        "acme-lbp",
        "acme-lbp.pdf",
        "Acme LBP Guideline",
    )
    assert (first.kind, first.tier, first.guideline) == (
        Kind.GUIDELINE,
        Tier.OTHER_GUIDELINE,
        "Acme LBP 2024",
    )
    assert first.heading == (
        "Acme LBP 2024 — D. Pharmacotherapy — Recommendation 12: For patients with chronic low "
        "back pain, we suggest against opioids."
    )
    assert passages[4].heading == "Acme LBP 2024 — E. Non-surgical Invasive Therapy"
    assert embedding_text(first) == f"{first.heading}\n{first.text}"


def test_chunk_document_never_crosses_a_section_or_recommendation() -> None:
    doc = guideline_doc(GUIDELINE_BLOCKS)

    for size, overlap in [(40, 0), (60, 20), (120, 30), (1000, 100)]:
        for p in chunk_document(doc, size=size, overlap=overlap):
            same_group = " ".join(
                b.text.replace("\n", " ")
                for b in doc.blocks
                if (b.section, b.recommendation) == (p.section, p.recommendation)
            )
            for line in p.text.split("\n"):
                for sentence in split_sentences(line):
                    assert sentence in same_group, (size, sentence)
            assert len(p.text) <= size


def test_chunk_document_group_spanning_pages_is_split_with_the_right_pages() -> None:
    doc = guideline_doc(
        [
            block("Opioids were studied in many trials.", 0, PHARMA, "12"),
            block("Harms were common in all of them.", 1, PHARMA, "12"),
            block("Dependence was reported in some patients.", 1, PHARMA, "12"),
            block("Overdose was rare but serious.", 2, PHARMA, "12"),
        ]
    )

    passages = chunk_document(doc, size=80, overlap=0)

    assert [(p.page_start, p.page_end, p.text) for p in passages] == [
        ("40", "41", "Opioids were studied in many trials. Harms were common in all of them."),
        ("41", "42", "Dependence was reported in some patients. Overdose was rare but serious."),
    ]


def test_chunk_document_keeps_a_table_whole_with_its_title() -> None:
    doc = guideline_doc(GUIDELINE_BLOCKS)

    tables = [p for p in chunk_document(doc, size=200, overlap=50) if p.text.startswith("Table 2")]

    assert [p.text for p in tables] == [GUIDELINE_BLOCKS[3].text]


def test_chunk_document_splits_a_long_table_between_rows_repeating_the_title() -> None:
    short_title = "Table 4. Doses"
    rows = [f"Drug {i}: {i * 100} mg daily with food" for i in range(1, 9)]
    doc = guideline_doc([block(short_title + "\n" + "\n".join(rows), 2, INVASIVE, table=True)])

    passages = chunk_document(doc, size=100, overlap=50)

    assert len(passages) > 1
    assert all(len(p.text) <= 100 for p in passages)
    assert all(p.text.split("\n")[0] == short_title for p in passages)
    assert [row for p in passages for row in p.text.split("\n")[1:]] == rows  # each row once


def test_chunk_document_long_table_keeps_every_word_of_a_long_title() -> None:
    doc = guideline_doc(GUIDELINE_BLOCKS[6:])

    passages = chunk_document(doc, size=120, overlap=0)

    words = {w for p in passages for w in p.text.split()}
    assert set(LONG_TITLE.split()) <= words


def test_chunk_document_ids_are_stable_unique_and_content_derived() -> None:
    duplicate = "Injections were reviewed."
    blocks = [*GUIDELINE_BLOCKS, block(duplicate, 2, "F. Team Approach")]
    doc = guideline_doc(blocks)

    first = chunk_document(doc, size=120, overlap=30)
    second = chunk_document(guideline_doc(blocks), size=120, overlap=30)

    ids = [p.id for p in first]
    assert ids == [p.id for p in second]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[0-9a-f]{12}", i) for i in ids)
    # the same text on the same page in another section gets its own id
    same_text = [p.id for p in first if p.text == duplicate]
    assert len(same_text) == 2
    # ids move with the text, not with the position
    shifted = chunk_document(guideline_doc(blocks[2:]), size=120, overlap=30)
    assert {p.text: p.id for p in shifted}["Acetaminophen did not reduce pain. It is cheap."] == (
        {p.text: p.id for p in first}["Acetaminophen did not reduce pain. It is cheap."]
    )


def test_chunk_document_determination_blocks_keep_their_decision() -> None:
    doc = SourceDocument(
        doc_id="imr-letter",
        source_path="imr-letter.txt",
        content_hash="1" * 64,
        meta=DocumentMeta(title="IMR letter", kind=Kind.DETERMINATION,
                          tier=Tier.PRIOR_DETERMINATION),
        pages=[Page(index=0, label="1", text="letter")],
        blocks=[
            block("A 45-year-old worker with low back pain.", 0, "Case summary"),
            block("Home exercise kit: Upheld.", 0, "Home exercise kit",
                  decision=Decision.UPHELD),
            block("Acupuncture: Overturned.", 0, "Acupuncture", decision=Decision.OVERTURNED),
        ],
    )  # fmt: skip

    passages = chunk_document(doc, size=200, overlap=0)

    assert [(p.section, p.decision) for p in passages] == [
        ("Case summary", None),
        ("Home exercise kit", Decision.UPHELD),
        ("Acupuncture", Decision.OVERTURNED),
    ]
    assert [p.heading for p in passages] == [
        "IMR letter — Case summary",
        "IMR letter — Home exercise kit",
        "IMR letter — Acupuncture",
    ]
