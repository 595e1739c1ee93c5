"""Tests for the text rules every stage shares (imr_assist.text) and the one home of each rule:
cited sentences, polarity, body regions, filters, the lexicon file, the error tree."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import numpy as np
import pytest

import imr_assist
from fakes import QueuedChatModel
from imr_assist import errors
from imr_assist.drafting.evidence import Evidence
from imr_assist.drafting.llm_drafter import make_llm_drafter
from imr_assist.errors import QueryError
from imr_assist.index.filters import FILTER_KEYS, build_where, check_filters, filter_mask
from imr_assist.ingest.reader import _body_region
from imr_assist.models import Direction, Kind, SearchResult, Stance, Strength, StrictModel
from imr_assist.reasoning import wording
from imr_assist.retrieval.precedent import Precedent
from imr_assist.review.ledger.gate import text_diff
from imr_assist.text import lexicon, polarity
from imr_assist.text.regions import BODY_REGIONS, SPECIFIC_REGIONS, region_of_title
from imr_assist.text.sentences import cited_sentences, split_paragraphs
from imr_assist.ui.workspace import BODY_REGIONS as UI_REGIONS
from imr_assist.ui.workspace import REQUEST_REGIONS
from imr_assist.verification import verify

SRC = Path(imr_assist.__file__).parent
A, B = "aaaaaaaaaaaa", "bbbbbbbbbbbb"

# --------------------------------------------------------------------------- cited sentences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"TENS is recommended. [{A}] Next.", [f"TENS is recommended. [{A}]", "Next."]),
        (f"One. [{A}] [{B}]", [f"One. [{A}] [{B}]"]),
        (f"[{A}] leads the text.", [f"[{A}] leads the text."]),  # nothing before it
        (f"It says (pp. 98-99) more. [{A}]", [f"It says (pp. 98-99) more. [{A}]"]),
        (f'It states: "Yes. Maybe." [{A}] Then.', [f'It states: "Yes. Maybe." [{A}]', "Then."]),
        (f"First.\n\n[{A}] Second.", [f"First. [{A}]", "Second."]),  # across a paragraph
        ("", []),
    ],
)
def test_cited_sentences(text: str, expected: list[str]) -> None:
    assert cited_sentences(text) == expected


def test_the_ledger_diff_splits_as_the_verifier_does() -> None:
    # a period inside "(pp. 98-99)" used to start a new diff line; paragraphs stay apart
    old = f"It says (pp. 98-99) yes. [{A}]\n\nDone."
    new = f"It says (pp. 98-99) no. [{A}]\n\nDone."
    diff = text_diff(old, new).splitlines()
    assert f"-It says (pp. 98-99) yes. [{A}]" in diff
    assert f"+It says (pp. 98-99) no. [{A}]" in diff
    assert split_paragraphs("a\n\nb\n \nc") == ["a", "b", "c"]


def _evidence() -> Evidence:
    result = SearchResult(query="TENS", hits=[], mode="hybrid", index_hash="h", relevant=False)
    precedent = Precedent(request="TENS", cases=[], upheld=0, overturned=0, summary="")
    return Evidence("TENS", result, [], None, precedent, "h")


def test_the_llm_drafter_returns_the_sentences_the_verifier_judges() -> None:
    # before the one splitter, a marker after the period stayed at the head of a long next
    # sentence, so its citation was judged against the wrong sentence
    reply = (
        f"TENS is not recommended as a primary treatment. [{A}] A one-month home-based trial "
        f"may be considered as an adjunct to functional restoration. [{B}]\n\nDone."
    )
    drafter = make_llm_drafter(QueuedChatModel(replies=[reply]), "fake")
    sentences, name = drafter(_evidence(), "ask", "TENS", "")
    assert name == "fake"
    assert sentences == cited_sentences(reply)
    assert sentences[0].endswith(f"[{A}]") and not sentences[1].startswith("[")


# --------------------------------------------------------------------------- polarity

NOT, REC, INS = Stance.NOT_RECOMMENDED, Stance.RECOMMENDED, Stance.INSUFFICIENT_EVIDENCE

# Guideline wordings; "had disagreed" marks a sentence the composer and the verifier read
# differently while each had its own cue table (composer / verifier).
AGREEMENT = [
    # VA/DoD LBP CPG 2022 (GRADE)
    ("For patients with chronic low back pain, we suggest against the use of long-term opioid "
     "therapy.", NOT),
    ("For patients with low back pain, we recommend against benzodiazepines.", NOT),
    ("We suggest offering clinician-directed exercise for chronic low back pain.", REC),
    ("For chronic low back pain, the guideline suggests acupuncture (Weak for).",
     REC),  # had disagreed: None / recommended
    ("There is insufficient evidence to recommend for or against lumbar supports.", INS),
    ("Available evidence is insufficient to recommend for or against the use of auricular "
     "acupressure for LBP.", INS),  # had disagreed: None / insufficient
    ("The Work Group does not support the use of carisoprodol for acute or chronic LBP.",
     NOT),  # had disagreed: None / not recommended
    ("Thus, the Work Group issued a weak recommendation against the use of opioids.",
     NOT),  # had disagreed: None / not recommended
    # NYS WCB Medical Treatment Guidelines (ACOEM-style)
    ("Not Recommended - for treatment of acute or non-acute back pain, non-acute radicular "
     "pain syndromes, or other back-related conditions.", NOT),
    ("Recommended - in select patients as clinically indicated.", REC),
    ("Recommended - for acute back pain with red flags for fracture.", REC),
    ("Routine x-rays are not recommended for acute non-specific back pain.", NOT),
    ("There is no recommendation regarding mattresses other than that providers should be "
     "aware of them.", INS),  # had disagreed: None / insufficient
    # WHO guideline on chronic primary low back pain (2023)
    ("(conditional recommendation against use, low certainty evidence)",
     NOT),  # had disagreed: None / not recommended
    ("Opioid analgesics should not be used as part of routine care for adults with CPLBP.", NOT),
    ("Paracetamol (acetaminophen): no recommendation.", INS),  # had disagreed: None / insufficient
    # MTUS / ODG, as the demo digests paraphrase them
    # a qualified negation allowing a trial: a conditional recommendation, read alike by both
    ("TENS is not recommended as a primary treatment modality, but a one-month home-based "
     "TENS trial may be considered.", REC),
    ("TENS is not recommended as a primary treatment modality.", NOT),
    ("Aquatic therapy is an optional form of exercise therapy.",
     REC),  # had disagreed: recommended / None
    ("Lumbar x-rays should not be ordered for low back pain without red flags.",
     NOT),  # had disagreed: not recommended / None
    ("Axial low back pain only does not meet the criteria.",
     NOT),  # had disagreed: not recommended / None
    ("The guideline does not recommend against yoga.",
     INS),  # had disagreed: not recommended / insufficient
    ("ODG does not routinely recommend a repeat MRI.", NOT),  # had disagreed: None / not rec.
    ("Gym memberships are not recommended as a medical prescription.", NOT),
]  # fmt: skip


@pytest.mark.parametrize(("sentence", "expected"), AGREEMENT)
def test_drafter_and_verifier_read_a_guideline_sentence_alike(
    sentence: str, expected: Stance
) -> None:
    drafter = _drafter_reading(sentence)
    verifier = polarity.stance_of_directions(verify.polarity(sentence))
    assert drafter is verifier is expected


def _drafter_reading(sentence: str) -> Stance:
    """How the drafting side reads a sentence: the recommendation extractor's grade, else the
    direction its statement states (reasoning/wording.py, through text/polarity)."""
    grade = wording.grade_of(sentence) or wording.Grade("", None, Strength.NONE)
    direction = wording.direction_of(grade, sentence)
    return {
        Direction.FOR: Stance.RECOMMENDED,
        Direction.AGAINST: Stance.NOT_RECOMMENDED,
        Direction.NEITHER: Stance.INSUFFICIENT_EVIDENCE,
    }[direction]


def test_every_stage_reads_polarity_from_text_polarity() -> None:
    assert verify.polarity is polarity.polarity
    for path in SRC.rglob("*.py"):
        if path.name == "polarity.py":
            continue
        code = path.read_text(encoding="utf-8")
        pattern = r"_(?:NEUTRAL|NEGATIVE|POSITIVE)_RE\b|^def (?:polarity|grade_from_\w+)\("
        assert not re.search(pattern, code, re.M), path


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("Surgery is not an option for this patient.", {polarity.Polarity.NEGATIVE}),
        ("A lidocaine patch may be considered.", {polarity.Polarity.POSITIVE}),
        ("The clinical documentation indicated that the patient improved.", set()),
        ("Proponents have supported structured education.", set()),
    ],
)
def test_polarity_edges(sentence: str, expected: set[polarity.Polarity]) -> None:
    assert polarity.polarity(sentence) == expected


# --------------------------------------------------------------------------- body regions


def test_one_region_vocabulary_for_readers_requests_filters_and_ui() -> None:
    assert ("", *BODY_REGIONS) == UI_REGIONS
    assert "neck" not in UI_REGIONS and "chronic_pain" not in UI_REGIONS
    assert set(lexicon._REGIONS) == set(BODY_REGIONS)  # what a request can be read as
    assert region_of_title("VA/DoD Clinical Practice Guideline for Low Back Pain") == "low_back"
    assert region_of_title("Neck and Upper Back Complaints") == "cervical"
    assert region_of_title("Knee and Ankle") is None  # two regions: neither
    assert _body_region("Neck Complaints", Kind.GUIDELINE) == "cervical"
    assert _body_region("Neck Complaints", Kind.STUDY) is None


@pytest.mark.parametrize("region", [r for r in REQUEST_REGIONS if r])
def test_a_region_picked_in_the_request_form_is_read_back(region: str) -> None:
    # the form appends "(low back)" to the request; the request reader must find that region
    assert region in SPECIFIC_REGIONS
    request = f"Physical therapy 6 visits ({region.replace('_', ' ')})"
    assert lexicon.normalize_request(request).body_region == region


# --------------------------------------------------------------------------- filters


def test_one_filter_check_for_chroma_and_bm25() -> None:
    columns = {
        k: np.array(v, dtype=object)
        for k, v in {
            "tier": ["mtus", "guideline", "mtus"],
            "body_region": ["low_back", "knee", "knee"],
        }.items()
    }
    filters = {"tier": "mtus|guideline", "body_region": "knee"}
    assert build_where(filters) == {
        "$and": [{"tier": {"$in": ["mtus", "guideline"]}}, {"body_region": "knee"}]
    }
    mask = filter_mask(columns, filters)
    assert mask is not None and mask.tolist() == [0.0, 1.0, 1.0]
    assert filter_mask(columns, None) is None and build_where({}) is None
    for bad in ({"colour": "red"}, {"tier": " | "}, {"tier": "gold"}, {"kind": "guide\u200bline"}):
        for check in (check_filters, build_where, lambda f: filter_mask(columns, f)):
            with pytest.raises(QueryError):
                check(bad)
    assert "body_region" in FILTER_KEYS


# ---------------------------------------------------------------- lexicon, models, errors


def test_the_lexicon_is_a_data_file() -> None:
    table = (SRC / "text" / "lexicon.txt").read_text(encoding="utf-8")
    assert lexicon._read_lexicon() == table
    assert lexicon._parse_lexicon(table) == lexicon.LEXICON
    assert lexicon.LEXICON["TENS"].group == "devices and equipment"
    assert "_LEXICON_TABLE" not in inspect.getsource(lexicon)


def test_every_model_base_is_strict_model() -> None:
    for path in SRC.rglob("*.py"):
        code = path.read_text(encoding="utf-8")
        assert not re.search(r"class _Model\(BaseModel\)", code), path
    assert StrictModel.model_config["extra"] == "forbid"


def _drawn_tree(doc: str) -> dict[str, str | None]:
    """{class: parent} as errors.py's docstring draws it (the parent is the nearest line above
    whose name starts further left)."""
    tree: dict[str, str | None] = {}
    stack: list[tuple[int, str]] = []
    for line in doc.splitlines():
        match = re.match(r"^[\s│├└─]*?(?:[├└]──\s+|\s{4})(\w+(?:Error_?|Exception))\b", line)
        if not match:
            continue
        column = match.start(1)
        while stack and stack[-1][0] >= column:
            stack.pop()
        tree[match.group(1)] = stack[-1][1] if stack else None
        stack.append((column, match.group(1)))
    return tree


def test_every_exception_class_lives_in_errors_and_the_tree_is_true() -> None:
    defined = {
        name: obj
        for name, obj in vars(errors).items()
        if isinstance(obj, type)
        and issubclass(obj, Exception)
        and obj.__module__ == errors.__name__
    }
    tree = _drawn_tree(errors.__doc__ or "")
    assert set(tree) == set(defined)
    for name, parent in tree.items():
        bases = defined[name].__mro__[1].__name__
        assert (parent or "Exception") == bases, name
    for path in SRC.rglob("*.py"):
        if path.name == "errors.py":
            continue
        code = path.read_text(encoding="utf-8")
        assert not re.search(r"^class \w+\((?:\w*Error_?|Exception)\)", code, re.M), path


def test_package_data_ships_the_demo_corpus_and_the_lexicon() -> None:
    import tomllib

    from imr_assist.api import DEMO_CORPUS

    assert DEMO_CORPUS == SRC / "demo_corpus"  # inside the package, not beside the checkout
    globs = tomllib.loads((SRC.parents[1] / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["imr_assist"]
    data = [p for p in DEMO_CORPUS.rglob("*") if p.is_file()] + [SRC / "text" / "lexicon.txt"]
    for path in data:
        assert any(path.relative_to(SRC).match(g) for g in globs), path
    assert len(list((DEMO_CORPUS / "guidelines").glob("*.md"))) == 17
