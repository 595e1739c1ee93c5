"""The domain as types: source document -> page -> passage -> hit, and the parsed determination.

Every model forbids unknown fields so that a typo in a caller or a stale JSON file fails loudly.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class StrictModel(BaseModel):
    """The one base of every domain model: unknown fields are an error, never ignored."""

    model_config = ConfigDict(extra="forbid")


class Tier(StrEnum):
    """Authority tier in the medical evidence search sequence (8 CCR 9792.21.1)."""

    MTUS = "mtus"
    GUIDELINE = "guideline"
    OTHER_GUIDELINE = "other_guideline"
    STUDY = "study"
    PRIOR_DETERMINATION = "prior_determination"

    @property
    def rank(self) -> int:
        """0 is the highest authority; prior determinations sort last (they are precedent)."""
        return list(Tier).index(self)


class Kind(StrEnum):
    """What a source document is."""

    GUIDELINE = "guideline"
    DETERMINATION = "determination"
    STUDY = "study"


class Decision(StrEnum):
    """IMR decision on one disputed item."""

    UPHELD = "upheld"  # the denial stands: not medically necessary
    OVERTURNED = "overturned"  # the item is medically necessary


class Direction(StrEnum):
    """Direction of a guideline recommendation."""

    FOR = "for"
    AGAINST = "against"
    NEITHER = "neither"


class Strength(StrEnum):
    """Strength of a guideline recommendation (GRADE-style wording)."""

    STRONG = "strong"
    WEAK = "weak"
    NONE = "none"


# --------------------------------------------------------------------------- sources


class DocumentMeta(StrictModel):
    """Metadata of a source document, from front matter, CLI flags or detection."""

    title: str = Field(description="Human title of the document")
    kind: Kind = Field(description="guideline, determination or study")
    tier: Tier = Field(description="Authority tier in the order of authority")
    guideline: str | None = Field(
        default=None, description="Short guideline name used in citations, e.g. 'VA/DoD LBP CPG'"
    )
    edition: str | None = Field(default=None, description="Edition or year, e.g. '2022'")
    chapter: str | None = Field(default=None, description="Chapter, e.g. 'Chapter 12 Low Back'")
    body_region: str | None = Field(default=None, description="Body region, e.g. 'low_back'")
    decision: Decision | None = Field(
        default=None, description="For a prior determination with one item: its decision"
    )
    illustrative: bool = Field(
        default=False, description="True for project-written material that paraphrases a source"
    )


class Page(StrictModel):
    """Cleaned text of one page (a text file is one page)."""

    index: int = Field(description="0-based page index in the file")
    label: str = Field(description="Page number a reader sees (printed label), e.g. '45' or 'iv'")
    text: str = Field(description="Cleaned page text")


class NumberedRecommendation(StrictModel):
    """A numbered guideline recommendation with its direction and strength."""

    number: str = Field(description="Recommendation number as printed, e.g. '12'")
    text: str = Field(description="The recommendation statement")
    direction: Direction = Field(description="for, against or neither")
    strength: Strength = Field(description="strong, weak or none")
    page_label: str = Field(description="Printed page label where the recommendation appears")
    page_index: int = Field(description="0-based page index where the recommendation appears")

    @property
    def grade(self) -> str:
        """Printed grade, e.g. 'Weak against' or 'Neither for nor against'."""
        if self.direction is Direction.NEITHER:
            return "Neither for nor against"
        return f"{self.strength.value.capitalize()} {self.direction.value}"


class Block(StrictModel):
    """A structural unit of a document: one paragraph, table or recommendation statement."""

    text: str = Field(description="Block text, whole sentences")
    page_index: int = Field(description="0-based index of the page the block starts on")
    page_label: str = Field(description="Printed label of the page the block starts on")
    page_end_label: str = Field(description="Printed label of the page the block ends on")
    section: str | None = Field(default=None, description="Nearest section heading")
    recommendation: str | None = Field(
        default=None, description="Number of the recommendation this block belongs to"
    )
    is_table: bool = Field(default=False, description="Block is a table kept with its title")
    decision: Decision | None = Field(
        default=None, description="For a determination item block: that item's decision"
    )


class SourceDocument(StrictModel):
    """A file read into memory: metadata, pages, structure."""

    doc_id: str = Field(description="Stable id derived from the source path")
    source_path: str = Field(description="File name as ingested")
    content_hash: str = Field(description="sha256 of the raw file bytes")
    meta: DocumentMeta = Field(description="Document metadata")
    pages: list[Page] = Field(description="Cleaned pages")
    blocks: list[Block] = Field(default_factory=list, description="Structural blocks, in order")
    recommendations: list[NumberedRecommendation] = Field(
        default_factory=list, description="Numbered recommendations found in the document"
    )
    determination: Determination | None = Field(
        default=None, description="Parsed letter when the document is a determination"
    )


class Passage(StrictModel):
    """A chunk of a document with a precise locator; the unit that is embedded and cited."""

    id: str = Field(description="Short content-derived citation id")
    doc_id: str = Field(description="Document id")
    content_hash: str = Field(description="Content hash of the document version")
    source_path: str = Field(description="File name as ingested")
    source_title: str = Field(description="Document title")
    kind: Kind = Field(description="Document kind")
    tier: Tier = Field(description="Authority tier")
    guideline: str | None = Field(default=None, description="Guideline short name")
    edition: str | None = Field(default=None, description="Edition or year")
    chapter: str | None = Field(default=None, description="Chapter")
    body_region: str | None = Field(default=None, description="Body region")
    decision: Decision | None = Field(default=None, description="Decision, for determinations")
    page_start: str = Field(description="Printed label of the first page ('' if unpaged)")
    page_end: str = Field(description="Printed label of the last page ('' if unpaged)")
    page_number: int | None = Field(
        default=None,
        description="1-based index of the first page in the file: the PDF page a viewer opens, "
        "which the printed label ('60', 'i' in front matter) need not equal; None when the file "
        "has no pages of its own (text or Markdown without form feeds, JSON sections, tables)",
    )
    section: str | None = Field(default=None, description="Section heading")
    recommendation: str | None = Field(default=None, description="Recommendation number")
    recommendation_grade: str | None = Field(
        default=None, description="e.g. 'Weak against' for a recommendation passage"
    )
    ordinal: int = Field(description="Position of the passage in its document")
    heading: str = Field(
        default="",
        description="Context line (guideline, section, recommendation statement) embedded "
        "with the text so a discussion passage is found by its recommendation's topic",
    )
    directives: int = Field(
        default=0,
        description="Sentences addressed to a reader or a tool ('Note to automated drafting "
        "tools: ...'), which are not evidence: drafting never quotes or sends a sentence for "
        "which ingest.injection.is_directive() is true (strip_directives(text) drops them)",
    )
    text: str = Field(description="Passage text")

    def metadata(self) -> dict[str, Any]:
        """Flat metadata for the vector store (no None values: Chroma rejects them)."""
        data = self.model_dump(mode="json", exclude={"text"})
        return {k: v for k, v in data.items() if v is not None}


class Hit(StrictModel):
    """A passage returned by search, with its score and rank."""

    passage: Passage = Field(description="The retrieved passage")
    score: float = Field(description="Similarity score, higher is better")
    rank: int = Field(description="1-based rank in the result list")

    @property
    def citation(self) -> str:
        from imr_assist.citations import format_citation

        return format_citation(self.passage)


# --------------------------------------------------------------------------- determinations


class GuidelineCitation(StrictModel):
    """A guideline named in a determination, e.g. 'MTUS ACOEM Chapter 12 ... Page(s): 287-289'."""

    mtus: bool = Field(description="True for an MTUS citation, False for a non-MTUS citation")
    guideline: str = Field(description="Guideline name, e.g. 'ACOEM' or 'Official Disability ...'")
    chapter: str | None = Field(default=None, description="Chapter or title, e.g. 'Chapter 12 ...'")
    section: str | None = Field(
        default=None, description="Topic within the chapter, e.g. 'Exercise'"
    )
    pages: str | None = Field(default=None, description="Pages as printed, e.g. '287-289'")
    text: str = Field(description="The citation as written in the letter")


class CaseSummary(StrictModel):
    """Facts from the clinical case summary."""

    age: int | None = Field(default=None, description="Age in years")
    sex: str | None = Field(default=None, description="'female' or 'male'")
    date_of_injury: str | None = Field(default=None, description="Date of injury as written")
    surgeries: list[str] = Field(default_factory=list, description="Surgeries mentioned")
    diagnoses: list[str] = Field(default_factory=list, description="Diagnoses mentioned")
    requested: list[str] = Field(default_factory=list, description="What was requested")
    text: str = Field(default="", description="The case summary text")


class DeterminationItem(StrictModel):
    """One disputed item with its decision, guidelines and rationale."""

    item: str = Field(description="The item as requested")
    decision: Decision = Field(description="upheld or overturned")
    claims_administrator_guidelines: list[GuidelineCitation] = Field(
        default_factory=list, description="Guidelines the claims administrator relied on"
    )
    reviewer_guidelines: list[GuidelineCitation] = Field(
        default_factory=list, description="Guidelines the IMR reviewer relied on"
    )
    rationale: str = Field(default="", description="Decision rationale text")


class ParseWarning(StrictModel):
    """Something in a letter the parser could not read (or read two ways), and where it is."""

    line: int = Field(
        description="1-based line of the text the parser was given (a PDF's extracted text)"
    )
    text: str = Field(description="The letter's text there, shortened to about 80 characters")
    problem: str = Field(description="What could not be read and what the parser did about it")


class Determination(StrictModel):
    """A parsed IMR determination letter."""

    case_summary: CaseSummary = Field(description="Clinical case summary")
    reviewer_specialty: str | None = Field(default=None, description="Reviewer's board specialty")
    items: list[DeterminationItem] = Field(description="Disputed items, in letter order")
    format: str = Field(description="Letter format detected: 'imr_final', 'maximus_older'")
    warnings: list[ParseWarning] = Field(
        default_factory=list,
        description="What the parser could not read, in letter order; empty for a clean parse",
    )


SourceDocument.model_rebuild()


# --------------------------------------------------------------------------- index


class DocumentRecord(StrictModel):
    """A document as the index manifest knows it."""

    doc_id: str = Field(description="Document id")
    source_path: str = Field(description="File name as ingested")
    file_path: str = Field(description="Absolute path of the file it was read from")
    file_hash: str = Field(description="sha256 of the file bytes at ingest")
    content_hash: str = Field(description="Hash of this document's version")
    title: str = Field(description="Document title")
    kind: Kind = Field(description="Document kind")
    tier: Tier = Field(description="Authority tier")
    guideline: str | None = Field(default=None, description="Guideline short name")
    passages: int = Field(description="Number of passages stored")
    ingested_at: str = Field(description="UTC time of ingest, ISO 8601")
    flagged: int = Field(
        default=0,
        description="Passages holding sentences addressed to a reader or a tool (not evidence)",
    )


class IndexStatus(StrictModel):
    """What `index status` reports."""

    home: str = Field(description="Data directory")
    collection: str = Field(description="Chroma collection name (derived from the index hash)")
    index_hash: str = Field(description="Hash of the settings that shape the index")
    embedding_model: str = Field(description="Embedding model")
    chroma: str = Field(description="'embedded <path>' or the server URL")
    documents: int = Field(description="Documents in the manifest")
    passages: int = Field(description="Passages in the manifest")
    by_tier: dict[str, int] = Field(description="Documents per authority tier")
    by_kind: dict[str, int] = Field(description="Documents per kind")
    records: list[DocumentRecord] = Field(description="Every document")
    other_collections: list[str] = Field(
        default_factory=list,
        description="Collections built with other settings or an older parser (re-ingest to "
        "use the current ones; they are never reused silently)",
    )


class FileResult(StrictModel):
    """Outcome of ingesting one file."""

    path: str = Field(description="The file as given")
    status: str = Field(
        description="'ingested', 'replaced', 'unchanged', 'skipped' (not a supported type "
        "inside a folder) or 'failed'"
    )
    doc_ids: list[str] = Field(default_factory=list, description="Documents stored")
    passages: int = Field(default=0, description="Passages stored")
    recommendations: int = Field(
        default=0, description="Recommendation records recognised in its guidelines"
    )
    message: str = Field(default="", description="What happened, and what to do on failure")
    warnings: list[str] = Field(default_factory=list, description="Parts of the file skipped")


class IngestReport(StrictModel):
    """Outcome of one ingest run."""

    files: list[FileResult] = Field(description="One result per file")
    index_hash: str = Field(description="Index hash the passages were stored under")
    seconds: float = Field(description="Wall time")

    @property
    def failed(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "failed"]

    @property
    def passages(self) -> int:
        return sum(f.passages for f in self.files)


class DocumentHits(StrictModel):
    """One document's best passages for a query (the per-document view of a search)."""

    doc_id: str = Field(description="Document id")
    source_title: str = Field(description="Document title")
    guideline: str | None = Field(default=None, description="Guideline short name")
    tier: Tier = Field(description="Authority tier")
    kind: Kind = Field(description="Document kind")
    addresses: bool = Field(
        description="One of these passages names the requested item (and fits the request's "
        "body region); False: the document's closest passages, which do not name it"
    )
    hits: list[Hit] = Field(
        description="The document's best passages, best first (ranks are "
        "positions in the whole ranked list)"
    )


class SearchResult(StrictModel):
    """Hits for one query, stamped with the index they came from."""

    query: str = Field(description="The query as searched")
    hits: list[Hit] = Field(description="Hits, best first")
    mode: str = Field(description="Retrieval mode used: dense, bm25 or hybrid")
    index_hash: str = Field(description="Index hash (settings that shape the index)")
    relevant: bool = Field(
        default=True,
        description="False when the relevance gate judged that nothing retrieved addresses "
        "the query (the hits are then shown as context, never as support)",
    )
    gate_reason: str = Field(default="", description="Why the gate decided as it did")
    highest_tier: Tier | None = Field(
        default=None, description="Highest authority tier among relevant hits"
    )
    by_document: list[DocumentHits] | None = Field(
        default=None,
        description="Per-document view (search with per_document=N): each candidate "
        "document's best passages, documents that address the request first, in the order "
        "of authority; None when not asked for",
    )


# --------------------------------------------------------------------------- drafting


class Verdict(StrEnum):
    """How well a sentence is supported by the passages it cites."""

    SUPPORTED = "supported"
    WEAK = "weak"
    UNSUPPORTED = "unsupported"
    UNCITED = "uncited"  # a factual sentence with no citation
    NOT_CHECKED = "not_checked"  # not a factual claim (e.g. the closing conclusion)


class SentenceCheck(StrictModel):
    """Verification of one sentence of a draft."""

    text: str = Field(description="The sentence as drafted (citation markers included)")
    citation_ids: list[str] = Field(description="Citation ids the sentence cites")
    unknown_ids: list[str] = Field(description="Cited ids not in the retrieved evidence")
    verdict: Verdict = Field(description="supported, weak, unsupported, uncited, not_checked")
    score: float = Field(description="Support score 0..1 against the best-matching span")
    matched_passage_id: str | None = Field(default=None, description="Passage of the best span")
    matched_span: str = Field(default="", description="Best-matching sentence of that passage")
    polarity_conflict: bool = Field(
        default=False, description="Sentence and span disagree on recommended vs not recommended"
    )
    number_conflict: bool = Field(
        default=False, description="A number in the sentence is absent from or differs in the span"
    )
    notes: list[str] = Field(default_factory=list, description="Why the verdict was given")
    restates_record: bool = Field(
        default=False,
        description="An uncited sentence that restates the case summary given with the request "
        "(the record, not a claim about the evidence): not checked, never flagged as uncited",
    )


class VerificationReport(StrictModel):
    """Verification of a whole draft: shown to the reviewer, never hidden."""

    sentences: list[SentenceCheck] = Field(description="One check per sentence")
    fabricated_ids: list[str] = Field(description="Cited ids that resolve to no evidence")
    supported: int = Field(description="Sentences supported")
    weak: int = Field(description="Sentences weakly supported")
    unsupported: int = Field(description="Sentences unsupported")
    uncited: int = Field(description="Factual sentences without a citation")
    decision: DraftDecision | None = Field(
        default=None, description="The decision the text was verified against (None: not given)"
    )
    conclusion: DraftDecision | None = Field(
        default=None, description="What the text's conclusion decides (None: no conclusion read)"
    )
    decision_conflicts: list[str] = Field(
        default_factory=list,
        description="Where the decision and the text's conclusion disagree; no override accepts "
        "a text that contradicts its decision",
    )

    @classmethod
    def of(
        cls,
        checks: list[SentenceCheck],
        fabricated_ids: list[str],
        *,
        decision: DraftDecision | None = None,
        conclusion: DraftDecision | None = None,
        decision_conflicts: list[str] | None = None,
    ) -> VerificationReport:
        """The report of these sentence checks, counted."""
        count = {v: sum(c.verdict is v for c in checks) for v in Verdict}
        return cls(
            sentences=checks,
            fabricated_ids=fabricated_ids,
            supported=count[Verdict.SUPPORTED],
            weak=count[Verdict.WEAK],
            unsupported=count[Verdict.UNSUPPORTED],
            uncited=count[Verdict.UNCITED],
            decision=decision,
            conclusion=conclusion,
            decision_conflicts=decision_conflicts or [],
        )

    @property
    def ok(self) -> bool:
        """Nothing unsupported, nothing uncited, no fabricated id, decision and text agree."""
        return not (
            self.unsupported or self.uncited or self.fabricated_ids or self.decision_conflicts
        )


class Stance(StrEnum):
    """What the governing evidence says about a question."""

    RECOMMENDED = "recommended"
    NOT_RECOMMENDED = "not_recommended"
    INSUFFICIENT_EVIDENCE = "insufficient_evidence"
    NOT_ADDRESSED = "not_addressed"


class DraftDecision(StrEnum):
    """Decision of a drafted determination item."""

    MEDICALLY_NECESSARY = "medically_necessary"
    NOT_MEDICALLY_NECESSARY = "not_medically_necessary"
    INSUFFICIENT_INFORMATION = "insufficient_information"


class ResolvedCitation(StrictModel):
    """A citation id resolved to where it points."""

    id: str = Field(description="Citation id")
    citation: str = Field(description="Readable citation, e.g. 'VA/DoD LBP CPG 2022, Rec 9, p. 38'")
    source_title: str = Field(description="Document title")
    source_path: str = Field(description="File name as ingested")
    guideline: str | None = Field(default=None, description="Guideline short name")
    tier: Tier = Field(description="Authority tier")
    section: str | None = Field(default=None, description="Section")
    recommendation: str | None = Field(default=None, description="Recommendation number")
    page_start: str = Field(description="Printed label of the first page ('' if unpaged)")
    page_end: str = Field(description="Printed label of the last page ('' if unpaged)")
    page_number: int | None = Field(
        default=None,
        description="1-based index of the first page in the file (the PDF page); None when "
        "the file has no pages of its own",
    )
