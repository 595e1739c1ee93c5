"""Tests for imr_assist.text.lexicon: the domain lexicon, query expansion, request normalisation."""

from __future__ import annotations

from typing import Any

import pytest

from imr_assist.text.lexicon import (
    LEXICON,
    ExpandedQuery,
    RequestFacts,
    _parse_lexicon,
    expand_query,
    normalize_request,
)

# --------------------------------------------------------------------------- lexicon

ALL_FORMS = [(form, t.canonical) for t in LEXICON.values() for form in (t.canonical, *t.forms)]


def test_lexicon_covers_the_domain() -> None:
    assert len(LEXICON) >= 120
    assert len(ALL_FORMS) >= 450


@pytest.mark.parametrize(("form", "canonical"), ALL_FORMS)
def test_every_surface_form_finds_its_own_concept(form: str, canonical: str) -> None:
    """Typed exactly as listed, each form is recognised whole and maps to its concept."""
    assert expand_query(form).matched == [(form, canonical)]


@pytest.mark.parametrize(
    "table",
    [
        "[x]\nMRI: magnetic resonance imaging\nMRI: MR imaging",
        "[x]\nMRI: scan\nCT: scan",
        "[x]\nMRI: CAT scan; CT: cat-scan",
    ],
)
def test_a_form_or_concept_listed_twice_is_refused(table: str) -> None:
    with pytest.raises(ValueError, match="lexicon"):
        _parse_lexicon(table)


def test_table_syntax_continuations_and_groups() -> None:
    lexicon = _parse_lexicon("[devices]\nTENS: TENS unit,\n    tens pads + stim; DME: durable\n")
    assert lexicon["TENS"].forms == ("TENS unit", "tens pads")
    assert lexicon["TENS"].also == ("stim",)
    assert lexicon["TENS"].group == "devices"
    assert lexicon["DME"].forms == ("durable",)


# --------------------------------------------------------------------------- expansion

EXPANSION_CASES: list[tuple[str, list[tuple[str, str]]]] = [
    # abbreviations that collide with English words
    ("TENS unit purchase", [("TENS", "TENS")]),
    ("tens unit 30 day rental", [("tens", "TENS")]),
    ("TENS 30-day trial + electrodes", [("TENS", "TENS")]),
    ("tens of patients improved", []),
    ("if the patient improves, continue", []),
    ("IF unit rental", [("IF unit", "interferential current stimulation")]),
    ("CT scan lumbar spine", [("CT scan", "CT")]),
    ("CT of the lumbar spine", [("CT", "CT")]),
    ("ct of the chest", []),
    ("pt 2x6 lumbar", [("pt", "physical therapy")]),
    ("post-op pt 12 visits", [("pt", "physical therapy")]),
    (
        "UDS 4x/year for pt on chronic Norco",
        [("UDS", "urine drug screen"), ("Norco", "hydrocodone")],
    ),
    ("Right SI joint injection", [("SI joint", "sacroiliac joint")]),
    ("si joint pain", [("si joint", "sacroiliac joint")]),
    ("the patient said si", []),
    ("MED over 120", [("MED", "morphine equivalent dose")]),
    ("med list reviewed", []),
    ("RFA L3-L5 bilateral", [("RFA", "radiofrequency ablation")]),
    ("RFA dated 03/01/2024 for Norco", [("Norco", "hydrocodone")]),
    ("Norco per RFA", [("Norco", "hydrocodone")]),
    ("dose adjustment of gabapentin", [("gabapentin", "gabapentin")]),
    ("HEP and hep C", [("HEP", "home exercise program")]),
    # spelling variants and plurals
    ("H-wave", [("H-wave", "H-wave stimulation")]),
    ("H wave unit", [("H wave", "H-wave stimulation")]),
    ("hwave rental", [("hwave", "H-wave stimulation")]),
    ("ESIs x2", [("ESIs", "epidural steroid injection")]),
    ("NSAIDs failed", [("NSAIDs", "NSAIDs")]),
    ("qi gong", [("qi gong", "qigong")]),
    ("EMG/NCV bilateral lower extremities", [("EMG", "EMG"), ("NCV", "nerve conduction study")]),
    (
        "LESI / TFESI / ILESI",
        [
            ("LESI", "lumbar epidural steroid injection"),
            ("TFESI", "transforaminal epidural steroid injection"),
            ("ILESI", "interlaminar epidural steroid injection"),
        ],
    ),
    # brands
    ("Norco 10/325 #90", [("Norco", "hydrocodone")]),
    (
        "Medrol Dosepak for sciatica",
        [
            ("Medrol Dosepak", "methylprednisolone"),
            ("sciatica", "radiculopathy"),
        ],
    ),
    ("MS Contin 15 mg", [("MS Contin", "morphine")]),
    ("Flexeril and Soma", [("Flexeril", "cyclobenzaprine"), ("Soma", "carisoprodol")]),
    ("Voltaren gel for my back", [("Voltaren gel", "topical diclofenac")]),
    ("Botox injections", [("Botox", "botulinum toxin")]),
    # lay terms
    ("back brace for lifting", [("back brace", "lumbar support")]),
    ("nerve pain pills", [("nerve pain pills", "gabapentinoids")]),
    ("pain patch", [("pain patch", "lidocaine patch")]),
    ("water therapy", [("water therapy", "aquatic therapy")]),
    (
        "back cracking and adjustments",
        [
            ("back cracking", "spinal manipulation"),
            ("adjustments", "spinal manipulation"),
        ],
    ),
    ("shots in the back", [("shots in the back", "spinal injection")]),
    ("pain pump", [("pain pump", "intrathecal drug delivery")]),
    ("pinched nerve", [("pinched nerve", "radiculopathy")]),
    ("slipped disc", [("slipped disc", "disc herniation")]),
    ("stem cell shots for my back", [("stem cell", "stem cell therapy")]),
    (
        "CBD oil / medical marijuana",
        [("CBD", "cannabinoids"), ("medical marijuana", "cannabinoids")],
    ),
    ("nothing to see here", []),
]


@pytest.mark.parametrize(("text", "matched"), EXPANSION_CASES)
def test_expand_query_matches(text: str, matched: list[tuple[str, str]]) -> None:
    result = expand_query(text)
    assert result.matched == matched
    assert result.original == text
    assert result.expanded.startswith(text)


@pytest.mark.parametrize(
    ("text", "added"),
    [
        ("Norco 10/325 #90", ["hydrocodone", "opioids"]),
        ("hydrocodone", ["Norco", "opioids"]),
        ("TENS unit purchase", ["transcutaneous electrical nerve stimulation"]),
        ("Lumbar ESI L4-5 x1", ["epidural steroid injection"]),
        ("epidural steroid injection", ["ESI"]),
        ("PT 2x6 lumbar spine", ["physical therapy", "physical medicine"]),
        ("12 sessions of chiropractic spinal manipulation", ["manual therapy"]),
        ("Lyrica and Neurontin", ["pregabalin", "gabapentinoids", "anticonvulsants", "gabapentin"]),
        ("tens of patients", []),
        ("", []),
    ],
)
def test_expand_query_adds_only_missing_terms(text: str, added: list[str]) -> None:
    result = expand_query(text)
    assert result.terms_added == added
    assert result.expanded == (" ".join([text, *added]) if added else text)


def test_expanded_query_is_original_plus_terms() -> None:
    assert expand_query("Norco 10/325 #90") == ExpandedQuery(
        original="Norco 10/325 #90",
        expanded="Norco 10/325 #90 hydrocodone opioids",
        terms_added=["hydrocodone", "opioids"],
        matched=[("Norco", "hydrocodone")],
    )


# --------------------------------------------------------------------------- normalisation

NONE: dict[str, Any] = {
    "item": None,
    "canonical_item": None,
    "body_region": None,
    "post_operative": False,
    "procedure": None,
    "additional": False,
    "quantity": None,
    "unit": None,
    "frequency_per_week": None,
    "duration_weeks": None,
    "strength": None,
    "laterality": None,
    "levels": None,
    "acuity": None,
}
LBP = {"body_region": "low_back"}
PT = {"item": "PT", "canonical_item": "physical therapy"}
TWO_BY_SIX = {"quantity": 12, "unit": "sessions", "frequency_per_week": 2, "duration_weeks": 6}

REQUEST_CASES: list[tuple[str, dict[str, Any]]] = [
    ("Lumbar spine home exercise kit",
     {"item": "home exercise kit", "canonical_item": "home exercise kit", **LBP}),
    ("Physical therapy 2x6 lumbar spine",
     {"item": "Physical therapy", "canonical_item": "physical therapy", **LBP, **TWO_BY_SIX}),
    ("Norco 10/325 #90",
     {"item": "Norco", "canonical_item": "hydrocodone", "quantity": 90, "unit": "tablets",
      "strength": "10/325"}),
    ("Lyrica 75 mg #60 for sciatica",
     {"item": "Lyrica", "canonical_item": "pregabalin", **LBP, "quantity": 60, "unit": "tablets",
      "strength": "75 mg"}),
    ("L4-5 TFESI x1 left",
     {"item": "TFESI", "canonical_item": "transforaminal epidural steroid injection", **LBP,
      "quantity": 1, "laterality": "left", "levels": ["L4-5"]}),
    ("12 additional post-op PT visits s/p L4-S1 fusion",
     {**PT, **LBP, "post_operative": True, "procedure": "L4-S1 fusion", "additional": True,
      "quantity": 12, "unit": "visits"}),
    ("TENS unit 30 day rental",
     {"item": "TENS unit rental", "canonical_item": "TENS unit rental", "quantity": 30,
      "unit": "days"}),
    ("chiropractic 18 sessions",
     {"item": "chiropractic", "canonical_item": "spinal manipulation", "quantity": 18,
      "unit": "sessions"}),
    ("repeat MRI lumbar spine without contrast",
     {"item": "MRI without contrast", "canonical_item": "MRI without contrast", **LBP,
      "additional": True}),
    ("gym membership x 6 months",
     {"item": "gym membership", "canonical_item": "gym membership", "quantity": 6,
      "unit": "months"}),
    ("acupuncture 6 visits neck",
     {"item": "acupuncture", "canonical_item": "acupuncture", "body_region": "cervical",
      "quantity": 6, "unit": "visits"}),
    ("12 sessions of spinal manipulation for chronic LBP",
     {"item": "spinal manipulation", "canonical_item": "spinal manipulation", **LBP,
      "quantity": 12, "unit": "sessions", "acuity": "chronic"}),
    ("12 sessions of chiropractic spinal manipulation for chronic LBP",
     {"item": "chiropractic spinal manipulation", "canonical_item": "spinal manipulation", **LBP,
      "quantity": 12, "unit": "sessions", "acuity": "chronic"}),
    ("Physical therapy 2 times a week for 6 weeks for the lumbar spine (12 sessions)",
     {"item": "Physical therapy", "canonical_item": "physical therapy", **LBP, **TWO_BY_SIX}),
    ("Post-op PT 2x6 s/p R knee arthroscopy partial meniscectomy",
     {**PT, "body_region": "knee", "post_operative": True,
      "procedure": "R knee arthroscopy partial meniscectomy", **TWO_BY_SIX,
      "laterality": "right"}),
    ("pt 2x6 right shoulder status post rotator cuff repair",
     {"item": "pt", "canonical_item": "physical therapy", "body_region": "shoulder",
      "post_operative": True, "procedure": "rotator cuff repair", **TWO_BY_SIX,
      "laterality": "right"}),
    ("Post-fusion physical therapy 2x/week x 6 weeks",
     {"item": "physical therapy", "canonical_item": "physical therapy", "post_operative": True,
      "procedure": "fusion", **TWO_BY_SIX}),
    ("Lumbar spine home exercise kit purchase, status post L4-S1 fusion revision",
     {"item": "home exercise kit purchase", "canonical_item": "home exercise kit purchase",
      **LBP, "post_operative": True, "procedure": "L4-S1 fusion revision"}),
    ("Aquatic therapy after lumbar fusion",
     {"item": "Aquatic therapy", "canonical_item": "aquatic therapy", **LBP,
      "post_operative": True, "procedure": "lumbar fusion"}),
    ("Diagnostic MBB bilateral L4-5, L5-S1",
     {"item": "Diagnostic MBB", "canonical_item": "diagnostic medial branch block", **LBP,
      "laterality": "bilateral", "levels": ["L4-5", "L5-S1"]}),
    ("RFA L3-L5 bilateral",
     {"item": "RFA", "canonical_item": "radiofrequency ablation", **LBP,
      "laterality": "bilateral", "levels": ["L3-5"]}),
    ("Right SI joint injection under fluoroscopy",
     {"item": "SI joint injection", "canonical_item": "sacroiliac joint injection", **LBP,
      "laterality": "right"}),
    ("Cervical ESI C5-6 for neck pain with radiculopathy",
     {"item": "ESI", "canonical_item": "epidural steroid injection", "body_region": "cervical",
      "levels": ["C5-6"]}),
    ("Repeat L5-S1 TFESI, prior injection gave 50% relief for 6 weeks",
     {"item": "TFESI", "canonical_item": "transforaminal epidural steroid injection", **LBP,
      "additional": True, "levels": ["L5-S1"]}),
    ("Butrans 10 mcg/hr patch x4 for chronic low back pain",
     {"item": "Butrans patch", "canonical_item": "buprenorphine patch", **LBP, "quantity": 4,
      "unit": "patches", "strength": "10 mcg/hr", "acuity": "chronic"}),
    ("Lidoderm 5% patch #30",
     {"item": "Lidoderm patch", "canonical_item": "lidocaine patch", "quantity": 30,
      "unit": "patches", "strength": "5%"}),
    ("Ultram 50 mg q6h prn #120 chronic LBP",
     {"item": "Ultram", "canonical_item": "tramadol", **LBP, "quantity": 120, "unit": "tablets",
      "strength": "50 mg", "acuity": "chronic"}),
    ("Continue tizanidine 4 mg TID for chronic low back pain, on it 6 months",
     {"item": "tizanidine", "canonical_item": "tizanidine", **LBP, "additional": True,
      "strength": "4 mg", "acuity": "chronic"}),
    ("Kenalog 40 mg IM injection for acute low back pain",
     {"item": "Kenalog injection", "canonical_item": "triamcinolone injection", **LBP,
      "strength": "40 mg", "acuity": "acute"}),
    ("Chiropractic manipulation 6 visits, acute lumbar strain, DOI 10 days ago",
     {"item": "Chiropractic manipulation", "canonical_item": "spinal manipulation", **LBP,
      "quantity": 6, "unit": "visits", "acuity": "acute"}),
    ("Yoga classes 2x/week x 10 weeks chronic LBP",
     {"item": "Yoga classes", "canonical_item": "yoga", **LBP, "quantity": 20, "unit": "classes",
      "frequency_per_week": 2, "duration_weeks": 10, "acuity": "chronic"}),
    ("Acupuncture 2x/week lumbar",
     {"item": "Acupuncture", "canonical_item": "acupuncture", **LBP, "frequency_per_week": 2}),
    ("Functional restoration program 10 days / 80 hours",
     {"item": "Functional restoration program", "canonical_item": "functional restoration program",
      "quantity": 10, "unit": "days"}),
    ("Home lumbar traction unit for L5-S1 herniated disc with sciatica",
     {"item": "Home traction unit", "canonical_item": "home traction unit", **LBP,
      "levels": ["L5-S1"]}),
    ("Cold laser (LLLT) 10 treatments lumbar spine",
     {"item": "Cold laser (LLLT)", "canonical_item": "low-level laser therapy", **LBP,
      "quantity": 10, "unit": "treatments"}),
    ("Intrathecal morphine pump trial for chronic low back pain",
     {"item": "Intrathecal morphine pump trial",
      "canonical_item": "intrathecal drug delivery trial", **LBP, "acuity": "chronic"}),
    ("UDS 4x/year for pt on chronic Norco",
     {"item": "UDS", "canonical_item": "urine drug screen", "acuity": "chronic"}),
    ("Request for back brace",
     {"item": "back brace", "canonical_item": "lumbar support", **LBP}),
    ("Knee brace L knee",
     {"item": "Knee brace", "body_region": "knee", "laterality": "left"}),
    ("Kyphoplasty T12 osteoporotic compression fracture",
     {"item": "Kyphoplasty", "canonical_item": "kyphoplasty", "body_region": "thoracic",
      "levels": ["T12"]}),
    ("", {}),
    ("  Norco\t10/325   #90 ", {"item": "Norco", "canonical_item": "hydrocodone",
      "quantity": 90, "unit": "tablets", "strength": "10/325"}),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), REQUEST_CASES)
def test_normalize_request(text: str, expected: dict[str, Any]) -> None:
    facts = normalize_request(text).model_dump()
    assert facts == {"text": " ".join(text.split()), **NONE, **expected}


@pytest.mark.parametrize(
    ("text", "levels"),
    [
        ("L4-L5 and L5-S1", ["L4-5", "L5-S1"]),
        ("l4-5 ESI", ["L4-5"]),
        ("T12-L1 kyphoplasty", ["T12-L1"]),
        ("C5-C6, C6-7 ACDF", ["C5-6", "C6-7"]),
        ("L4-5, L4-5 again", ["L4-5"]),
        ("L7-8 and C9", None),  # not spinal levels
        ("MRI L/S spine", None),
    ],
)
def test_levels(text: str, levels: list[str] | None) -> None:
    assert normalize_request(text).levels == levels


@pytest.mark.parametrize(
    ("text", "laterality"),
    [
        ("left knee", "left"),
        ("Rt shoulder", "right"),
        ("B/L L4-5 MBB", "bilateral"),
        ("left and right wrists", "bilateral"),
        ("R L5 radiculopathy", "right"),
        ("L4-5 ESI", None),
        ("MRI L/S spine", None),
    ],
)
def test_laterality(text: str, laterality: str | None) -> None:
    assert normalize_request(text).laterality == laterality


def test_facts_model_forbids_unknown_fields() -> None:
    with pytest.raises(ValueError, match="extra"):
        RequestFacts.model_validate({"text": "x", **NONE, "dose": "1"})


@pytest.mark.parametrize(
    ("text", "matched"),
    [
        # the prefix denies the concept: a non-benzodiazepine relaxant is not a benzodiazepine
        (
            "Short-term non-benzodiazepine muscle relaxant",
            [("muscle relaxant", "muscle relaxants")],
        ),
        ("non-opioid analgesic for chronic pain", []),
        ("non surgical care of the knee", []),
        # the concept itself still counts, and so do forms that begin with 'non'
        (
            "Norco and a benzodiazepine",
            [("Norco", "hydrocodone"), ("benzodiazepine", "benzodiazepines")],
        ),
        (
            "non-steroidal anti-inflammatory drugs",
            [("non-steroidal anti-inflammatory drugs", "NSAIDs")],
        ),
    ],
)
def test_a_negating_prefix_is_not_a_mention(text: str, matched: list[tuple[str, str]]) -> None:
    assert expand_query(text).matched == matched
