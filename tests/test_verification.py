"""Tests for draft verification (imr_assist.verification.verify): support, polarity, numbers, ids.

The passages are written for these tests in MTUS / VA/DoD-like wording; they quote no licensed text.
"""

from __future__ import annotations

import pytest
from langchain_core.embeddings import Embeddings

from helpers import make_passage
from imr_assist.citations import cite
from imr_assist.index.embedding import HashingEmbeddings
from imr_assist.models import DraftDecision, Passage, SentenceCheck, Tier, Verdict
from imr_assist.text.polarity import Polarity, polarity
from imr_assist.verification.verify import (
    VerifyThresholds,
    _clean,
    _numbers,
    decision_conflicts,
    read_conclusion,
    verify,
    verify_draft,
)

S, W, U = Verdict.SUPPORTED, Verdict.WEAK, Verdict.UNSUPPORTED
UNCITED, NOT_CHECKED = Verdict.UNCITED, Verdict.NOT_CHECKED
POS, NEG, NEU = Polarity.POSITIVE, Polarity.NEGATIVE, Polarity.NEUTRAL


def _passage(doc: str, pages: tuple[str, str], text: str, mtus: bool = True) -> Passage:
    return make_passage(
        text,
        doc_id=doc,
        source_title="Chronic Pain Medical Treatment Guidelines" if mtus else "Low Back Pain CPG",
        tier=Tier.MTUS if mtus else Tier.OTHER_GUIDELINE,
        guideline="MTUS" if mtus else "VA/DoD LBP CPG",
        edition="2009" if mtus else "2022",
        page_start=pages[0],
        page_end=pages[1],
    )


TENS_P = _passage(
    "mtus-tens",
    ("114", "116"),
    "TENS is not recommended as a primary treatment modality, but a one-month home-based TENS "
    "trial may be considered as a noninvasive conservative option, if used as an adjunct to a "
    "program of evidence-based functional restoration. Criteria for use include documentation of "
    "pain of at least three months duration.",
)
PT_P = _passage(
    "mtus-pt",
    ("98", "99"),
    "Allow for fading of treatment frequency (from up to 3 visits per week to 1 or less), plus "
    "active self-directed home physical medicine. For myalgia and myositis, unspecified, 9-10 "
    "visits over 8 weeks are recommended.",
)
ESI_P = _passage(
    "mtus-esi",
    ("46", "46"),
    "Epidural steroid injections are recommended as an option for treatment of radicular pain. "
    "Current research does not support a series-of-three injections in either the diagnostic or "
    "therapeutic phase. We recommend no more than 2 ESI injections.",
)
OPIOID_P = _passage(
    "vadod-opioid",
    ("60", "61"),
    "We suggest against the use of long-term opioid therapy for the management of chronic low "
    "back pain. Opioids carry risks of overdose and opioid use disorder.",
    mtus=False,
)
EXERCISE_P = _passage(
    "vadod-exercise",
    ("38", "38"),
    "We suggest offering clinician-directed exercise for patients with chronic low back pain. "
    "Programs may include strengthening, stretching and aerobic components.",
    mtus=False,
)
SUPPORTS_P = _passage(
    "vadod-supports",
    ("52", "52"),
    "There is insufficient evidence to recommend for or against the use of lumbar supports for "
    "the treatment of chronic low back pain.",
    mtus=False,
)
MANIP_P = _passage(
    "mtus-manipulation",
    ("58", "60"),
    "MTUS Chronic Pain Medical Treatment Guidelines, Manual therapy & manipulation, pp. 58-60, "
    "in our paraphrase: manipulation is recommended for chronic pain caused by musculoskeletal "
    "conditions. Manipulation is a means to active rehabilitation.",
)
EVIDENCE = [TENS_P, PT_P, ESI_P, OPIOID_P, EXERCISE_P, SUPPORTS_P, MANIP_P]
TENS, PT, ESI, OPIOID = TENS_P.id, PT_P.id, ESI_P.id, OPIOID_P.id
EXERCISE, SUPPORTS = EXERCISE_P.id, SUPPORTS_P.id
FAKE = "0123456789ab"
LEXICAL_NOTE = "lexical scoring only (no embedder)"


class CountingEmbeddings(HashingEmbeddings):
    """The hashing embedder, counting calls (a fake, so `verify` really uses its vectors)."""

    def __init__(self) -> None:
        super().__init__()
        self.document_calls: list[int] = []
        self.query_calls = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.document_calls.append(len(texts))
        return super().embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        self.query_calls += 1
        return super().embed_query(text)


def _one(sentence: str, thresholds: VerifyThresholds | None = None) -> SentenceCheck:
    """The check of a draft that is one sentence, scored with the hashing embedder."""
    report = verify(sentence, EVIDENCE, embedder=HashingEmbeddings(), thresholds=thresholds)
    assert len(report.sentences) == 1, [c.text for c in report.sentences]
    return report.sentences[0]


# --------------------------------------------------------------------------- support


@pytest.mark.parametrize("embedder", [HashingEmbeddings(), None], ids=["hashing", "lexical"])
@pytest.mark.parametrize(
    ("sentence", "pid"),
    [
        (
            f"Per the MTUS, 9-10 physical therapy visits over 8 weeks are recommended for "
            f"myalgia and myositis {cite(PT)}.",
            PT,
        ),
        (f"TENS is not recommended as a primary treatment modality {cite(TENS)}.", TENS),
        (
            f"The VA/DoD guideline suggests against long-term opioid therapy for chronic low back "
            f"pain {cite(OPIOID)}.",
            OPIOID,
        ),
        (
            f"A one-month home-based TENS trial may be considered as a conservative option "
            f"alongside functional restoration {cite(TENS)}.",
            TENS,
        ),
    ],
)
def test_faithful_paraphrase_is_supported(
    sentence: str, pid: str, embedder: Embeddings | None
) -> None:
    check = verify(sentence, EVIDENCE, embedder=embedder).sentences[0]

    assert check.verdict is S, check
    assert check.matched_passage_id == pid
    assert check.score >= VerifyThresholds().supported
    assert not check.polarity_conflict and not check.number_conflict
    assert (LEXICAL_NOTE in check.notes) is (embedder is None)
    assert check.citation_ids == [pid] and check.unknown_ids == []


def test_unrelated_sentence_citing_a_real_passage_is_unsupported() -> None:
    check = _one(f"Lumbar fusion requires imaging proof of segmental instability {cite(TENS)}.")

    assert check.verdict is U
    assert check.score < VerifyThresholds().weak
    assert not check.polarity_conflict and not check.number_conflict


def test_matched_span_is_the_best_sentence_of_the_passage() -> None:
    check = _one(f"For myalgia and myositis, 9-10 visits over 8 weeks are recommended {cite(PT)}.")

    assert check.matched_span == (
        "For myalgia and myositis, unspecified, 9-10 visits over 8 weeks are recommended."
    )


# --------------------------------------------------------------------------- citation ids


def test_invented_id_is_fabricated_and_unsupported() -> None:
    draft = (
        f"TENS is recommended for chronic pain [{FAKE}]. Exercise is recommended [{FAKE}]. "
        f"Lumbar supports are not recommended [ffffffffffff]."
    )
    report = verify(draft, EVIDENCE, embedder=HashingEmbeddings())

    assert report.fabricated_ids == [FAKE, "ffffffffffff"]
    first = report.sentences[0]
    assert first.verdict is U
    assert first.unknown_ids == [FAKE] and first.citation_ids == [FAKE]
    assert first.notes == [f"cites unknown id(s): {FAKE}"]
    assert first.matched_passage_id is None and first.score == 0.0
    assert first.text.endswith(f"[{FAKE}].")  # never stripped
    assert report.unsupported == 3 and not report.ok


def test_known_and_unknown_id_in_one_sentence_keeps_both_findings() -> None:
    check = _one(f"TENS is not recommended as a primary treatment modality {cite(TENS)}[{FAKE}].")

    assert check.verdict is S
    assert check.citation_ids == [TENS, FAKE] and check.unknown_ids == [FAKE]
    assert check.notes[0] == f"cites unknown id(s): {FAKE}"


@pytest.mark.parametrize("order", ["opioid-first", "pt-first"])
def test_one_of_several_cited_ids_supports(order: str) -> None:
    ids = [OPIOID, PT] if order == "opioid-first" else [PT, OPIOID]
    markers = "".join(cite(i) for i in ids)
    check = _one(f"For myalgia and myositis, 9-10 visits over 8 weeks are recommended {markers}.")

    assert check.verdict is S
    assert check.citation_ids == ids
    assert check.matched_passage_id == PT


def test_no_evidence_at_all_makes_every_citation_unknown() -> None:
    report = verify(f"TENS is not recommended {cite(TENS)}.", [])

    assert report.sentences[0].verdict is U
    assert report.fabricated_ids == [TENS]


# --------------------------------------------------------------------------- polarity


@pytest.mark.parametrize(
    ("sentence", "pid"),
    [
        ("TENS is recommended as a primary treatment modality", TENS),
        (
            "The VA/DoD guideline suggests long-term opioid therapy for chronic low back pain",
            OPIOID,
        ),
        ("We suggest long-term opioid therapy for the management of chronic low back pain", OPIOID),
        ("Lumbar supports are recommended for the treatment of chronic low back pain", SUPPORTS),
        (
            "There is insufficient evidence to recommend for or against clinician-directed "
            "exercise for chronic low back pain",
            EXERCISE,
        ),
        ("Epidural steroid injections are not recommended for treatment of radicular pain", ESI),
        (  # the long framing clause before the colon must not hide the flipped one
            "MTUS Chronic Pain Medical Treatment Guidelines, Manual therapy & manipulation, "
            "pp. 58-60, in our paraphrase: manipulation is not recommended for chronic pain "
            "caused by musculoskeletal conditions",
            MANIP_P.id,
        ),
    ],
)
def test_flipped_polarity_is_unsupported(sentence: str, pid: str) -> None:
    check = _one(f"{sentence} {cite(pid)}.")

    assert check.verdict is U
    assert check.polarity_conflict is True
    assert check.number_conflict is False
    assert check.matched_passage_id == pid
    assert any(n.startswith("polarity conflict") for n in check.notes)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("TENS is not recommended as a primary treatment modality", {NEG}),
        ("Imaging is not routinely recommended", {NEG}),
        ("Clinician-directed exercise is recommended", {POS}),
        ("We suggest offering clinician-directed exercise", {POS}),
        ("We suggest against long-term opioid therapy", {NEG}),
        ("The guideline recommends against opioids", {NEG}),
        ("There is insufficient evidence to recommend for or against lumbar supports", {NEU}),
        ("The evidence was neither for nor against acupuncture", {NEU}),
        ("Results were inconclusive", {NEU}),
        ("The guideline does not recommend against yoga", {NEU}),
        ("The request is not medically necessary", {NEG}),
        ("The request is medically necessary", {POS}),
        ("Its use is not supported", {NEG}),
        ("A second block is supported when the first gave relief", {POS}),
        ("A second block is not unwarranted", {POS}),
        ("It is not the case that TENS is not recommended", {POS}),
        ("The patient reports pain of 7/10", set()),
        ("TENS is not recommended alone, but a trial is recommended as an adjunct", {NEG, POS}),
    ],
)
def test_polarity_table(text: str, expected: set[Polarity]) -> None:
    assert polarity(text) == expected


@pytest.mark.parametrize(
    "sentence",
    [
        "As a primary treatment modality, TENS is not recommended",
        "A one-month home-based TENS trial is supported as an adjunct to functional restoration",
    ],
)
def test_mixed_span_is_judged_on_the_clause_the_sentence_paraphrases(sentence: str) -> None:
    # the TENS span says "not recommended ..., but a trial may be considered": a sentence about
    # the trial meets the clause without a direction, not the negative one
    check = _one(f"{sentence} {cite(TENS)}.")

    assert check.verdict is S and not check.polarity_conflict


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("sentence", "pid", "verdict", "conflict", "note"),
    [
        (
            "MTUS allows 12 physical therapy visits over 8 weeks for myalgia and myositis",
            PT,
            U,
            True,
            "number conflict: '12 visit' vs '9-10 visit' in the cited span",
        ),
        (
            "A two-month home-based TENS trial may be considered as an adjunct to functional "
            "restoration",
            TENS,
            U,
            True,
            "number conflict: '2 month' vs '1 month' in the cited span",
        ),
        (
            "A one-month home-based TENS trial may be considered as an adjunct to functional "
            "restoration",
            TENS,
            S,
            False,
            None,
        ),
        ("Up to 2 ESI injections are recommended", ESI, S, False, None),
        (
            "Treatment frequency should fade from up to 3 visits per week to 2 or less",
            PT,
            U,
            True,
            "number conflict: '2' vs '1' in the cited span",
        ),
        (  # a rival must be of the same kind: '1' (no unit) is no rival of '4 weeks'
            "Treatment frequency should fade from up to 3 visits per week to 1 or less within "
            "4 weeks",
            PT,
            W,
            False,
            "number '4 week' not found in the cited evidence",
        ),
        (
            "The MTUS recommends 2 epidural steroid injections at most",
            ESI,
            W,
            False,
            f"number '2 injection' found in [{ESI}] outside the matched span",
        ),
        ("No more than two ESI injections are recommended", ESI, S, False, None),
        (
            "For myalgia and myositis, up to 10 visits over 8 weeks are recommended",
            PT,
            S,
            False,
            None,
        ),
        (
            "A one-month home-based TENS trial of 30 minutes daily may be considered as a "
            "noninvasive conservative option",
            TENS,
            W,
            False,
            "number '30 minute' not found in the cited evidence",
        ),
        (
            "TENS criteria include documentation of pain of at least three months duration before "
            "a one-month trial",
            TENS,
            S,
            False,
            f"number '1 month' found in [{TENS}] outside the matched span",
        ),
    ],
)
def test_number_check(
    sentence: str, pid: str, verdict: Verdict, conflict: bool, note: str | None
) -> None:
    check = _one(f"{sentence} {cite(pid)}.")

    assert (check.verdict, check.number_conflict) == (verdict, conflict), check
    assert check.polarity_conflict is False
    number_notes = [n for n in check.notes if "number" in n]
    assert number_notes == ([note] if note else [])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("9-10 visits over 8 weeks", [("9-10", "visit"), ("8", "week")]),
        ("two to three sessions", [("2-3", "session")]),
        ("a one-month trial", [("1", "month")]),
        ("one or more of the following", []),
        ("hydrocodone/acetaminophen 10/325 mg", [("10/325", "mg")]),
        ("2x6 weeks", [("2x6", "week")]),
        ("a 30 percent reduction, or 0.50 of the dose", [("30%", None), ("0.5", "dose")]),
        ("1,000 mg daily", [("1000", "mg")]),
        ("ACOEM Chapter 12, Rec 9, Table 3, p. 45, 2022, 03/14/2019, 8 CCR 9792.21.1", []),
        ("Page(s): 287-289", []),
    ],
)
def test_numbers_table(text: str, expected: list[tuple[str, str | None]]) -> None:
    assert [(n.canonical, n.unit) for n in _numbers(_clean(text))] == expected


@pytest.mark.parametrize(
    "sentence",
    [
        f"Per the MTUS Chronic Pain Medical Treatment Guidelines (pp. 98-99), 9-10 visits over 8 "
        f"weeks are recommended for myalgia and myositis {cite(PT)}.",
        f"For myalgia and myositis, 9-10 visits over 8 weeks are recommended (MTUS Chronic Pain "
        f"Medical Treatment Guidelines, pp. 98-99) {cite(PT)}.",
        f"MTUS Chronic Pain Medical Treatment Guidelines Page(s): 114-116 states TENS is not "
        f"recommended as a primary treatment modality {cite(TENS)}.",
        f"Per 8 CCR 9792.21.1 and the 2009 MTUS, p. 114, TENS is not recommended as a primary "
        f"treatment modality {cite(TENS)}.",
    ],
)
def test_locator_page_numbers_are_not_claims(sentence: str) -> None:
    check = _one(sentence)

    assert check.verdict is S
    assert check.number_conflict is False
    assert not [n for n in check.notes if "number" in n]


# --------------------------------------------------------------------------- uncited sentences


@pytest.mark.parametrize(
    ("sentence", "verdict", "note"),
    [
        ("TENS is not recommended as a primary treatment modality.", UNCITED, None),
        ("Guidelines allow 9-10 visits over 8 weeks.", UNCITED, None),
        ("The ODG states that lumbar supports are not recommended for prevention.", UNCITED, None),
        ("Clinician-directed exercise is effective for chronic low back pain.", UNCITED, None),
        ("Up to 10 visits may be allowed for myalgia.", UNCITED, None),
        (
            "The patient has completed 12 visits, which exceeds the guideline recommendation.",
            UNCITED,
            None,
        ),
        (
            "Given the above, the request for a TENS unit purchase is not medically necessary.",
            NOT_CHECKED,
            "conclusion",
        ),
        (
            "Therefore, the request for 12 additional physical therapy visits is not medically "
            "necessary.",
            NOT_CHECKED,
            "conclusion",
        ),
        (  # only the first conclusion pattern knows this one (it was shadowed by a second one)
            "Based on the guidelines, the request is appropriate.",
            NOT_CHECKED,
            "conclusion",
        ),
        (
            "MAXIMUS Federal Services, Inc. has determined the request for a lumbar support is "
            "not medically necessary and appropriate.",
            NOT_CHECKED,
            "conclusion",
        ),
        (
            "MTUS does not specifically address lumbar supports for chronic pain; secondary "
            "guidelines were consulted.",
            NOT_CHECKED,
            "procedural (order of authority)",
        ),
        (
            "There was a lack of documentation of objective functional improvement with prior "
            "TENS use.",
            NOT_CHECKED,
            "record fact",
        ),
        (
            "The patient has completed 12 physical therapy visits to date.",
            NOT_CHECKED,
            "record fact",
        ),
        (
            "The injured worker is a 52-year-old male who sustained an industrial injury on "
            "03/14/2019.",
            NOT_CHECKED,
            "record fact",
        ),
        ("There was no documentation of a completed one-month trial.", NOT_CHECKED, "record fact"),
        ("Decision rationale:", NOT_CHECKED, "not a factual claim"),
        ("One of the requested items is addressed below.", NOT_CHECKED, "not a factual claim"),
    ],
)
def test_uncited_or_not_checked(sentence: str, verdict: Verdict, note: str | None) -> None:
    check = _one(sentence)

    assert check.verdict is verdict
    assert check.score == 0.0 and check.citation_ids == []
    assert check.notes == [note or "factual claim without a citation"]


# --------------------------------------------------------------------------- splitting, report


def test_marker_after_the_period_belongs_to_the_sentence_before() -> None:
    draft = (
        f"TENS is not recommended as a primary treatment modality. {cite(TENS)} {cite(PT)} "
        "Given the above, the request for a TENS unit is not medically necessary."
    )
    report = verify(draft, EVIDENCE, embedder=HashingEmbeddings())

    first, second = report.sentences
    assert first.text == (
        f"TENS is not recommended as a primary treatment modality. {cite(TENS)} {cite(PT)}"
    )
    assert first.citation_ids == [TENS, PT] and first.verdict is S
    assert second.citation_ids == [] and second.verdict is NOT_CHECKED


def test_a_list_is_taken_as_sentences_already_split() -> None:
    sentences = [
        f"TENS is not recommended as a primary treatment modality. It may be tried {cite(TENS)}.",
        "  ",
        "Given the above, the request is not medically necessary.",
    ]
    report = verify(sentences, EVIDENCE, embedder=HashingEmbeddings())

    assert [c.text for c in report.sentences] == [sentences[0], sentences[2]]
    assert [c.citation_ids for c in report.sentences] == [[TENS], []]


def test_report_counts_a_realistic_draft() -> None:
    draft = (
        "The injured worker is a 48-year-old female with chronic low back pain.\n\n"
        "MTUS does not specifically address lumbar supports for chronic pain; secondary "
        f"guidelines were consulted. There is insufficient evidence to recommend for or against "
        f"lumbar supports for chronic low back pain {cite(SUPPORTS)}. Lumbar supports are "
        f"recommended for chronic low back pain {cite(SUPPORTS)}. Lumbar supports reduce "
        f"sick leave by 30% [{FAKE}]. Guidelines recommend against routine bracing. "
        f"MTUS allows 12 physical therapy visits over 8 weeks for myalgia {cite(PT)}.\n\n"
        "Given the above, the request for a lumbar support is not medically necessary."
    )
    report = verify(draft, EVIDENCE, embedder=HashingEmbeddings())

    assert [c.verdict for c in report.sentences] == [
        NOT_CHECKED,
        NOT_CHECKED,
        S,
        U,
        U,
        UNCITED,
        U,
        NOT_CHECKED,
    ]
    assert (report.supported, report.weak, report.unsupported, report.uncited) == (1, 0, 3, 1)
    assert report.fabricated_ids == [FAKE]
    assert not report.ok


def test_a_faithful_draft_is_ok() -> None:
    draft = (
        f"TENS is not recommended as a primary treatment modality {cite(TENS)}. There was no "
        "documentation of a functional restoration program. Given the above, the request for a "
        "TENS unit is not medically necessary."
    )
    report = verify(draft, EVIDENCE, embedder=HashingEmbeddings())

    assert report.ok
    assert [c.verdict for c in report.sentences] == [S, NOT_CHECKED, NOT_CHECKED]


def test_empty_draft_gives_an_empty_report() -> None:
    report = verify("", EVIDENCE, embedder=HashingEmbeddings())

    assert report.sentences == [] and report.fabricated_ids == [] and report.ok


def test_everything_is_embedded_in_one_call() -> None:
    embedder = CountingEmbeddings()
    draft = (
        f"TENS is not recommended as a primary treatment modality {cite(TENS)}. "
        f"For myalgia, 9-10 visits are recommended {cite(PT)}{cite(OPIOID)}. "
        "Given the above, the request is not medically necessary."
    )
    verify(draft, EVIDENCE, embedder=embedder)
    # 2 cited sentences + 2 TENS spans + 2 PT spans + 2 opioid spans
    assert embedder.document_calls == [8]
    assert embedder.query_calls == 0

    verify("Given the above, the request is not medically necessary.", EVIDENCE, embedder=embedder)
    assert embedder.document_calls == [8]  # nothing cited: nothing embedded


@pytest.mark.parametrize(
    ("supported", "weak", "verdict"), [(0.55, 0.35, S), (1.01, 0.0, W), (1.01, 1.01, U)]
)
def test_thresholds_decide_the_verdict(supported: float, weak: float, verdict: Verdict) -> None:
    limits = VerifyThresholds(supported=supported, weak=weak)
    check = _one(
        f"TENS is not recommended as a primary treatment modality {cite(TENS)}.", thresholds=limits
    )

    assert check.verdict is verdict


# --------------------------------------------------------------------------- the real model


@pytest.mark.slow
def test_real_model_on_a_realistic_rationale() -> None:
    from imr_assist.index.embedding import SentenceEmbeddings

    draft = (
        "The injured worker is a 52-year-old male with chronic low back pain who requests a TENS "
        "unit purchase. Per the MTUS Chronic Pain Medical Treatment Guidelines (pp. 114-116), "
        f"TENS is not advised as the main treatment, although a home trial lasting one month "
        f"can be considered alongside functional restoration {cite(TENS)}. A two-month trial is "
        f"supported {cite(TENS)}. Long-term opioids are recommended for chronic low back pain "
        f"{cite(OPIOID)}. Physical therapy should taper to a self-directed home program "
        f"[{FAKE}]. There was no documentation of a completed one-month trial. Given the above, "
        "the request for a TENS unit purchase is not medically necessary."
    )
    report = verify(draft, EVIDENCE, embedder=SentenceEmbeddings())

    verdicts = [(c.verdict, c.polarity_conflict, c.number_conflict) for c in report.sentences]
    assert verdicts == [
        (NOT_CHECKED, False, False),
        (S, False, False),
        (U, False, True),
        (U, True, False),
        (U, False, False),
        (NOT_CHECKED, False, False),
        (NOT_CHECKED, False, False),
    ]
    assert report.sentences[1].matched_passage_id == TENS
    assert report.fabricated_ids == [FAKE]


class _Counting(HashingEmbeddings):
    """The hashing embedder, counting the texts it is asked to embed."""

    def __init__(self) -> None:
        super().__init__()
        self.embedded: list[str] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.embedded.extend(texts)
        return super().embed_documents(texts)


def test_sentence_vectors_are_cached_per_embedder_and_equal_fresh_ones() -> None:
    import numpy as np

    from imr_assist.verification.verify import embed_cached

    emb = _Counting()
    first = embed_cached(emb, ["alpha beta", "gamma delta", "alpha beta"])
    assert emb.embedded == ["alpha beta", "gamma delta"]  # duplicates embedded once
    again = embed_cached(emb, ["gamma delta", "epsilon"])
    assert emb.embedded[2:] == ["epsilon"]  # only the unseen text
    fresh = np.asarray(HashingEmbeddings().embed_documents(["gamma delta"]), dtype=np.float32)
    fresh /= np.linalg.norm(fresh)
    assert np.allclose(again[0], fresh[0]) and np.allclose(first[1], again[0])
    other = _Counting()
    embed_cached(other, ["alpha beta"])
    assert other.embedded == ["alpha beta"]  # caches never cross embedders


def test_a_quotation_of_several_sentences_stays_one_cited_sentence() -> None:
    from imr_assist.text.sentences import cited_sentences

    pid = "aaaaaaaaaaaa"
    text = (
        f'It states: "Components are listed. The request names the kit." [{pid}] '
        f"Next sentence here. Curly \u201cOne. Two.\u201d [{pid}]"
    )
    assert cited_sentences(text) == [
        f'It states: "Components are listed. The request names the kit." [{pid}]',
        "Next sentence here.",
        f"Curly \u201cOne. Two.\u201d [{pid}]",
    ]


# --------------------------------------------------------------------------- the record (issue 14)

SUMMARY = (
    "The patient is a 52-year-old warehouse worker with chronic low back pain since a lifting "
    "injury in 2019. A 30-day home TENS trial gave 50% pain relief and less medication use. "
    "No functional restoration program is documented. The request is for purchase of a TENS unit."
)


@pytest.mark.parametrize(
    ("sentence", "record"),
    [
        # restatements of the summary, worded as a writer would (numbers included)
        ("A 30-day home TENS trial gave 50% pain relief and less medication use.", True),
        ("The 30-day home TENS trial reportedly gave 50% pain relief.", True),
        ("Chronic low back pain since a lifting injury was reported by this worker.", True),
        # invented claims that borrow the summary's words but not its statements
        ("A TENS unit reduces re-injury by 40%.", False),
        ("TENS trials are effective for pain relief in chronic low back pain.", False),
        ("A 30-day home TENS trial gave 80% pain relief.", False),  # a number not in the record
        ("Guidelines say a 30-day home TENS trial gave 50% pain relief.", False),  # a source
    ],
)
def test_a_restatement_of_the_case_summary_is_record_not_uncited(
    sentence: str, record: bool
) -> None:
    [check] = verify([sentence], [TENS_P], record=SUMMARY).sentences
    assert check.restates_record is record
    if record:
        assert check.verdict is NOT_CHECKED and "case summary" in check.notes[0]
        [bare] = verify([sentence], [TENS_P]).sentences  # no summary given: nothing to match
        assert not bare.restates_record
    else:
        assert check.verdict is UNCITED, check.notes


def test_the_invented_claim_of_the_issue_stays_uncited_beside_a_restatement() -> None:
    report = verify(
        "A 30-day home TENS trial gave 50% pain relief and less medication use. A home "
        "exercise program will reduce re-injury by 40%.",
        [TENS_P],
        record=SUMMARY,
    )
    assert [(c.verdict, c.restates_record) for c in report.sentences] == [
        (NOT_CHECKED, True),
        (UNCITED, False),
    ]
    assert report.uncited == 1


# --------------------------------------------------------------------------- decision vs text

MN, NMN, INSUFFICIENT = (
    DraftDecision.MEDICALLY_NECESSARY,
    DraftDecision.NOT_MEDICALLY_NECESSARY,
    DraftDecision.INSUFFICIENT_INFORMATION,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Given the above, the request for a TENS unit is not medically necessary.", NMN),
        ("Given the above, the request for a TENS unit is medically necessary.", MN),
        ("Therefore, the request for the kit is not medically necessary and appropriate.", NMN),
        ("Based on the above, the request is certified.", MN),
        ("Based on the above, the request is non-certified.", NMN),
        ("Accordingly, the request is upheld.", NMN),
        ("Given the above, the request for X cannot be decided on the information provided.",
         INSUFFICIENT),
        ("TENS is not recommended as a primary treatment.", None),  # guidance, no conclusion
        ('A prior determination concluded: "Given the above, the request is medically '
         'necessary."', None),  # a quoted prior conclusion is evidence
        # the last conclusion is the one the letter ends with
        ("Given the trial, the request is medically necessary. On reflection, the record is "
         "thin. Therefore the request is not medically necessary.", NMN),
    ],
)  # fmt: skip
def test_read_conclusion(text: str, expected: DraftDecision | None) -> None:
    assert read_conclusion(text) is expected


def test_decision_and_text_are_checked_both_ways() -> None:
    denial = (
        "TENS is not recommended. Given the above, the request for TENS is not medically necessary."
    )
    assert decision_conflicts(denial, NMN) == []
    [line] = decision_conflicts(denial, MN)  # the decision changed, the text did not
    assert line.startswith("Sentence 2 concludes that the request is not medically necessary")
    assert "the decision says it is medically necessary" in line
    [line] = decision_conflicts("TENS is not recommended.", NMN)  # no conclusion at all
    assert "states no conclusion" in line and "is not medically necessary." in line
    assert decision_conflicts("TENS is not recommended.", INSUFFICIENT) == []
    both = (
        "Given the above, the request for TENS is medically necessary. Therefore the request for "
        "TENS is not medically necessary."
    )
    assert len(decision_conflicts(both, NMN)) == 1  # the one that disagrees is named
    report = verify_draft(denial, [TENS_P], decision=MN)
    assert report.decision is MN and report.conclusion is NMN and report.decision_conflicts
    assert not report.ok
    agreed = verify_draft(denial, [TENS_P], decision=NMN)
    assert agreed.decision_conflicts == [] and agreed.conclusion is NMN
