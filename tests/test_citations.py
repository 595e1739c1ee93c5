"""Tests for citation ids and readable citations (imr_assist.citations)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from imr_assist.citations import (
    CITATION_ID_LENGTH,
    CITATION_RE,
    cite,
    extract_citation_ids,
    format_citation,
    format_pages,
    make_citation_id,
)
from imr_assist.models import Decision, Hit, Kind, Passage, Tier

# --------------------------------------------------------------------------- ids


def test_make_citation_id_is_12_hex_and_stable() -> None:
    pid = make_citation_id("va-dod", "45", "We suggest against opioids.")

    assert re.fullmatch(r"[0-9a-f]{12}", pid)
    assert CITATION_ID_LENGTH == 12
    assert pid == make_citation_id("va-dod", "45", "We suggest against opioids.")
    # pinned (sha256 of the fields joined by \x1f): a changed id orphans every stored citation
    assert pid == "502ee8065f29"


def test_make_citation_id_ignores_whitespace_differences() -> None:
    assert make_citation_id("d", "1", "We  suggest\nagainst opioids. ") == make_citation_id(
        "d", "1", "We suggest against opioids."
    )


@pytest.mark.parametrize(
    "changed",
    [
        {"doc_id": "other"},
        {"page_start": "46"},
        {"text": "We suggest against opioids!"},
        {"salt": "1"},
    ],
)
def test_make_citation_id_changes_with_each_input(changed: dict[str, str]) -> None:
    base = {"doc_id": "va-dod", "page_start": "45", "text": "We suggest against opioids."}

    assert make_citation_id(**{**base, **changed}) != make_citation_id(**base)


def test_make_citation_id_fields_do_not_run_together() -> None:
    assert make_citation_id("ab", "1", "x") != make_citation_id("a", "b1", "x")


def test_cite_round_trips_through_the_regex() -> None:
    pid = make_citation_id("d", "1", "text")

    assert cite(pid) == f"[{pid}]"
    assert CITATION_RE.fullmatch(cite(pid)).group(1) == pid


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Opioids are not advised [3f2a9c1b0d4e].", ["3f2a9c1b0d4e"]),
        (
            "A [aaaaaaaaaaaa] then B [bbbbbbbbbbbb], again A [aaaaaaaaaaaa][cccccccccccc].",
            ["aaaaaaaaaaaa", "bbbbbbbbbbbb", "cccccccccccc"],
        ),
        ("Order kept: [bbbbbbbbbbbb] [aaaaaaaaaaaa]", ["bbbbbbbbbbbb", "aaaaaaaaaaaa"]),
        ("Upper case [3F2A9C1B0D4E] is not an id.", []),
        ("Too short [3f2a9c1b0d4] or long [3f2a9c1b0d4e0].", []),
        ("Not hex [3f2a9c1b0d4g]; no brackets 3f2a9c1b0d4e.", []),
        ("", []),
    ],
)
def test_extract_citation_ids(text: str, expected: list[str]) -> None:
    assert extract_citation_ids(text) == expected


# --------------------------------------------------------------------------- readable citations


def passage(**changes: Any) -> Passage:
    fields: dict[str, Any] = {
        "id": "3f2a9c1b0d4e",
        "doc_id": "va-department_of_defense",
        "content_hash": "0" * 64,
        "source_path": "va-department_of_defense.pdf",
        "source_title": "VA/DoD CPG the Diagnosis and Treatment of Low Back Pain",
        "kind": Kind.GUIDELINE,
        "tier": Tier.OTHER_GUIDELINE,
        "guideline": "VA/DoD LBP CPG 2022",
        "page_start": "45",
        "page_end": "45",
        "section": "C. Non-pharmacologic and Non-invasive Therapy",
        "recommendation": "12",
        "ordinal": 0,
        "text": "For patients with chronic low back pain, ...",
    }
    return Passage(**{**fields, **changes})


LONG_SECTION = "Appendix H: Literature Review Search Terms and Strategy for Every Key Question"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, "VA/DoD LBP CPG 2022, Rec 12, p. 45"),
        ({"page_end": "46"}, "VA/DoD LBP CPG 2022, Rec 12, pp. 45-46"),
        ({"recommendation": None},
         "VA/DoD LBP CPG 2022, C. Non-pharmacologic and Non-invasive Therapy, p. 45"),
        ({"recommendation": None, "section": LONG_SECTION},
         "VA/DoD LBP CPG 2022, Appendix H: Literature Review Search Terms and Strategy for…, "
         "p. 45"),  # cut to 60 characters
        ({"recommendation": None, "section": None}, "VA/DoD LBP CPG 2022, p. 45"),
        ({"guideline": None, "recommendation": None, "section": None},
         "VA/DoD CPG the Diagnosis and Treatment of Low Back Pain, p. 45"),
        ({"guideline": "MTUS CPMTG", "edition": "2009", "recommendation": None,
          "section": "Transcutaneous Electrotherapy", "page_start": "114", "page_end": "116"},
         "MTUS CPMTG 2009, Transcutaneous Electrotherapy, pp. 114-116"),
        ({"guideline": "ODG", "recommendation": None, "section": "Exercise", "page_start": "",
          "page_end": ""}, "ODG, Exercise"),  # an unpaged digest section
        ({"kind": Kind.DETERMINATION, "tier": Tier.PRIOR_DETERMINATION,
          "source_title": "DMHC IMR MN16-22640: Opioids", "decision": Decision.UPHELD},
         "Prior determination DMHC IMR MN16-22640: Opioids (upheld)"),
        ({"kind": Kind.DETERMINATION, "tier": Tier.PRIOR_DETERMINATION,
          "source_title": "imr-letter: Acupuncture", "decision": None},
         "Prior determination imr-letter: Acupuncture"),
    ],
)  # fmt: skip
def test_format_citation(changes: dict[str, Any], expected: str) -> None:
    assert format_citation(passage(**changes)) == expected


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [("45", "45", "p. 45"), ("45", "46", "pp. 45-46"), ("iv", "vi", "pp. iv-vi"), ("", "", "")],
)
def test_format_pages(start: str, end: str, expected: str) -> None:
    assert format_pages(start, end) == expected


def test_hit_citation_uses_format_citation() -> None:
    hit = Hit(passage=passage(page_end="46"), score=0.8, rank=1)

    assert hit.citation == "VA/DoD LBP CPG 2022, Rec 12, pp. 45-46"
