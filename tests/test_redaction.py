"""Tests for imr_assist.drafting.redaction: what is removed, what is kept, and the audit trail."""

from __future__ import annotations

from pathlib import Path

import pytest

from imr_assist.drafting.redaction import IdentifierKind, Redaction, redact

SEED_LETTER = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "seeds"
    / "imr-determination-home-exercise-kit.txt"
)

# (input, exact redacted output)
REMOVED = [
    # names
    ("Seen by Dr. Jane Doe today.", "Seen by Dr. [NAME] today."),
    ("Per Mr. O'Brien's report", "Per Mr. [NAME]'s report"),
    ("Mrs. Smith-Jones called.", "Mrs. [NAME] called."),
    ("DR. ALAN GRANT reviewed.", "DR. [NAME] reviewed."),
    ("Patient Name: John Q. Public", "Patient Name: [NAME]"),
    ("PATIENT NAME: SMITH, JOHN", "PATIENT NAME: [NAME]"),
    ("Claimant: Maria Lopez", "Claimant: [NAME]"),
    ("Applicant: Lee McDonald", "Applicant: [NAME]"),
    ("RE:  Claimant: Lee Park  Employer: Acme", "RE:  Claimant: [NAME]  Employer: [EMPLOYER]"),
    ("Records list the claimant's name: Ana Ruiz.", "Records list the claimant's name: [NAME]."),
    ("Name: Ana Ruiz\nAge: 39", "Name: [NAME]\nAge: 39"),
    ("The injured worker Maria Lopez reported pain.", "The injured worker [NAME] reported pain."),
    ("Sincerely,\n\nRobert Brown", "Sincerely,\n\n[NAME]"),
    ("Reviewed by Jane Doe, MD on 3/1/2014.", "Reviewed by [NAME], MD on 3/1/2014."),
    ("Report of Kim Park, PA-C.", "Report of [NAME], PA-C."),
    ("Patient: John Smith. John reports pain.", "Patient: [NAME]. [NAME] reports pain."),
    ("Patient Name: Ann Lee\nLEE, ANN was seen.", "Patient Name: [NAME]\n[NAME], [NAME] was seen."),
    # claim, case and reference numbers
    ("Claim #: 12-34567", "Claim #: [CLAIM_NO]"),
    ("Claim No. 05-123456-WC", "Claim No. [CLAIM_NO]"),
    ("Claim Number: 12-34567", "Claim Number: [CLAIM_NO]"),
    ("WC Claim 2013001234 accepted", "WC Claim [CLAIM_NO] accepted"),
    ("the claim number is SCIF7788123", "the claim number is [CLAIM_NO]"),
    ("file WC-4456789 closed", "file [CLAIM_NO] closed"),
    ("IMR Case Number: CM13-0012345", "IMR Case Number: [CASE_NO]"),
    ("see CM13-0012345 and ADJ1234567", "see [CASE_NO] and [CASE_NO]"),
    ("WCAB Case No. ADJ7654321", "WCAB Case No. [CASE_NO]"),
    ("UR Reference #: UR-2013-55512", "UR Reference #: [REF_NO]"),
    ("UR #: 1234567", "UR #: [REF_NO]"),
    ("MRN 00443322", "MRN [REF_NO]"),
    ("CA License A12345; NPI: 1234567890", "CA License [REF_NO]; NPI: [REF_NO]"),
    # dates of birth
    ("DOB: 01/02/1970", "DOB: [DOB]"),
    ("D.O.B. 1-2-70", "D.O.B. [DOB]"),
    ("Date of birth: January 2, 1970", "Date of birth: [DOB]"),
    ("She was born on 02/03/1975 in Fresno.", "She was born on [DOB] in Fresno."),
    # social security numbers
    ("SSN: 123-45-6789", "SSN: [SSN]"),
    ("ss 123-45-6789.", "ss [SSN]."),
    ("SSN xxx-xx-1234", "SSN [SSN]"),
    ("social security number ending in 4321", "social security number ending in [SSN]"),
    # phone, fax, e-mail
    ("Call (559) 555-0134 or 559.555.0199", "Call [PHONE] or [PHONE]"),
    ("Fax: 800-555-0100 ext. 12", "Fax: [PHONE]"),
    ("Phone 5595550134", "Phone [PHONE]"),
    ("Write to jane.doe@example.com.", "Write to [EMAIL]."),
    # addresses
    ("Lives at 1234 Oak Tree Lane, Fresno, CA 93701.", "Lives at [ADDRESS]."),
    ("Office: 55 W. Shaw Ave, Suite 200", "Office: [ADDRESS]"),
    ("Send to P.O. Box 2471, Sacramento, CA 95812-2471", "Send to [ADDRESS]"),
    ("Clinic in Los Angeles, CA 90017", "Clinic in [ADDRESS]"),
    # employer and claims administrator
    ("Employer: Acme Trucking Inc.", "Employer: [EMPLOYER]"),
    (
        "Employer: Valley Farms  Claims Administrator: State Compensation Insurance Fund",
        "Employer: [EMPLOYER]  Claims Administrator: [CLAIMS_ADMIN]",
    ),
    ("Insurer: Zenith; DOI 07/06/2006", "Insurer: [CLAIMS_ADMIN]; DOI 07/06/2006"),
    ("Employer: Valley Farms Inc.\ncc: Valley Farms Inc.", "Employer: [EMPLOYER]\ncc: [EMPLOYER]."),
]

# Clinically needed text that must come through unchanged.
KEPT = [
    "The patient is a 39-year-old female who reported an injury on 07/06/2006.",
    "Date of Injury: 07/06/2006",
    "DOI: 7/6/2006",
    "The most recent surgery was a lumbar fusion revision on 07/10/2013.",
    "Norco 10/325 mg #120, one tablet every 6 hours as needed.",
    "Tramadol ER 150 mg daily; Lidoderm 5% patch.",
    "Diagnosis: lumbar spine discopathy status post surgery times 3 (M51.16).",
    "The injured worker was prescribed Norco and Soma.",
    "The claimant Norco request was denied.",
    "He/she has no affiliation with the employer, employee, providers or the claims administrator.",
    "Claims Administrator guideline: Decision based on MTUS ACOEM Chapter 12 Low Back "
    "Complaints Page(s): 301.",
    "Medical Treatment Guideline(s) Relied Upon by the Claims Administrator: \n\nThe Claims "
    "Administrator based its decision on the MTUS.",
    "Guideline relied upon by the Claims Administrator: MTUS ACOEM Chapter 12.",
    "The employer: a trucking company offered modified duty.",
    "The physician reviewer is Board Certified in Physical Medicine and Rehabilitation.",
    "The orthopedic surgeon recommended 12 sessions of physical therapy.",
    "Range of motion 120 110 degrees; L4-5 and L5-S1 disc protrusions.",
    "Lumbar spine home exercise kit:  Upheld",
    "Patient: 47-year-old male",
    "Relief reported by patient: Tylenol helps at night.",
    "The claim was accepted for the low back.",
    "Follow up in 2 weeks with the pain management physician.",
    "Request for authorization dated 11/12/2013 for 8 sessions.",
    "Official Disability Guidelines (ODG), Low Back Chapter, 2013.",
    "St. Mary's Medical Center, physical medicine department.",
    "Case summary: MRI of the right shoulder on 3/4/2013.",
]


@pytest.mark.parametrize(("text", "expected"), REMOVED)
def test_removes_identifiers(text: str, expected: str) -> None:
    result = redact(text)
    assert result.text == expected
    assert len(result.removed) == expected.count("[") - text.count("[")


@pytest.mark.parametrize("text", KEPT)
def test_keeps_clinical_facts(text: str) -> None:
    result = redact(text)
    assert result.text == text
    assert result.removed == []
    assert result.summary == "nothing removed"


def test_full_header_and_audit_trail_keep_no_originals() -> None:
    text = (
        "Patient Name: John Smith  DOB: 01/02/1970  Claim #: 12-34567\n"
        "The patient is a 39-year-old female injured on 07/06/2006. Dr. Jane Doe saw John.\n"
        "SSN 123-45-6789, (555) 123-4567, 123 Main St, Apt 4, Fresno, CA 93701.\n"
        "Sincerely,\nRobert Brown, MD"
    )
    result = redact(text, key=b"k")
    assert result.text == (
        "Patient Name: [NAME]  DOB: [DOB]  Claim #: [CLAIM_NO]\n"
        "The patient is a 39-year-old female injured on 07/06/2006. Dr. [NAME] saw [NAME].\n"
        "SSN [SSN], [PHONE], [ADDRESS].\n"
        "Sincerely,\n[NAME], MD"
    )
    assert result.counts == {
        "SSN": 1,
        "DOB": 1,
        "CLAIM_NO": 1,
        "PHONE": 1,
        "ADDRESS": 1,
        "NAME": 4,
    }
    assert result.summary == "ADDRESS x1, CLAIM_NO x1, DOB x1, NAME x4, PHONE x1, SSN x1"
    dumped = result.model_dump_json(include={"removed"})
    for original in ("John", "Smith", "1970", "12-34567", "6789", "Main", "Brown"):
        assert original not in dumped


def test_digests_are_keyed_and_stable() -> None:
    a = redact("DOB: 01/02/1970", key=b"one").removed[0]
    b = redact("dob 01/02/1970", key=b"one").removed[0]
    c = redact("DOB: 01/02/1970", key=b"two").removed[0]
    d = redact("DOB: 01/03/1970", key=b"one").removed[0]
    assert a.kind is IdentifierKind.DOB
    assert a.digest == b.digest  # same value, same key: correlatable
    assert a.digest != c.digest  # another key: not linkable
    assert a.digest != d.digest
    assert len(a.digest) == 16


def test_placeholders_survive_a_second_pass() -> None:
    once = redact("Dr. Jane Doe, DOB: 01/02/1970, Claim #: 12-34567")
    twice = redact(once.text)
    assert twice.text == once.text
    assert twice.removed == []


def test_every_kind_has_a_bracketed_placeholder() -> None:
    assert {k.placeholder for k in IdentifierKind} == {f"[{k.value}]" for k in IdentifierKind}


def test_empty_and_model_shape() -> None:
    result = redact("")
    assert isinstance(result, Redaction)
    assert result.text == ""
    assert result.counts == {}


def test_real_determination_letter_keeps_its_clinical_summary() -> None:
    if not SEED_LETTER.exists():
        pytest.skip(f"../shared not present: {SEED_LETTER} is needed for this test")
    text = SEED_LETTER.read_text(encoding="utf-8")
    result = redact(text)
    for fact in ("39-year-old female", "07/06/2006", "07/10/2013", "lumbar fusion revision"):
        assert fact in result.text
    assert "[NAME]" not in result.text  # the published letter is already de-identified
