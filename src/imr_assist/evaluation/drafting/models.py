"""Types of `imr-assist eval drafting`: a case, what the chain did on it, and the run summary."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from imr_assist.models import DraftDecision, Stance, StrictModel


class DraftingCase(StrictModel):
    """One line of a drafting case file, with its label written down before any run."""

    qid: str = Field(min_length=1, description="Case id")
    kind: Literal["ask", "draft"] = Field(description="ask: a question; draft: a request + summary")
    query: str = Field(default="", description="The question (kind ask)")
    request: str = Field(default="", description="The requested item (kind draft)")
    summary: str = Field(default="", description="Case facts (kind draft)")
    expected_stance: Stance | None = Field(
        default=None, description="Expected stance (required for kind ask)"
    )
    expected_decision: DraftDecision | None = Field(
        default=None, description="Expected decision (required for kind draft)"
    )
    answerable: bool | None = Field(
        default=None,
        description="False when the loaded guidelines do not address it (the drafter should "
        "abstain). Default: the expected label is not not_addressed / insufficient_information",
    )
    notes: str = Field(default="", description="Where the label comes from")

    @model_validator(mode="after")
    def _complete(self) -> DraftingCase:
        if self.kind == "ask":
            if not self.query.strip() or self.expected_stance is None:
                raise ValueError("an ask case needs query and expected_stance")
        elif not self.request.strip() or self.expected_decision is None:
            raise ValueError("a draft case needs request and expected_decision")
        if self.answerable is None:
            self.answerable = self.expected_label not in {
                Stance.NOT_ADDRESSED.value,
                DraftDecision.INSUFFICIENT_INFORMATION.value,
            }
        return self

    @property
    def text(self) -> str:
        """What the chain is asked: the question or the requested item."""
        return self.query if self.kind == "ask" else self.request

    @property
    def expected_label(self) -> str:
        label = self.expected_stance if self.kind == "ask" else self.expected_decision
        return label.value if label is not None else ""


class CaseResult(StrictModel):
    """What the chain produced on one case, reduced to what the metrics need."""

    qid: str = Field(description="Case id")
    kind: Literal["ask", "draft"] = Field(description="ask or draft")
    text: str = Field(description="The question or requested item")
    expected: str = Field(description="Expected stance (ask) or decision (draft)")
    predicted: str = Field(description="Stance (ask) or decision (draft) the chain gave")
    answerable: bool = Field(description="The case is marked answerable")
    abstained: bool = Field(description="The chain abstained")
    cited_ids: list[str] = Field(description="Distinct ids cited by the answer or rationale")
    evidence_ids: list[str] = Field(description="Ids the drafter was given")
    cited_sentences: int = Field(description="Sentences that cite at least one id")
    supported: int = Field(description="Cited sentences verified as supported")
    weak: int = Field(description="Cited sentences verified as weak")
    unsupported: int = Field(description="Cited sentences verified as unsupported")
    uncited_claims: int = Field(description="Factual sentences without a citation")
    sentences: int = Field(description="Sentences in the answer or rationale")
    chars: int = Field(description="Characters of the answer or rationale")
    governing_tier: str | None = Field(default=None, description="Tier the result rests on")
    drafter: str = Field(default="", description="Which drafter wrote it")
    seconds: float = Field(default=0.0, description="Wall time of the chain on this case")
    problems: list[str] = Field(
        default_factory=list, description="Unsupported sentences and invalid ids, for reading"
    )

    @property
    def valid_ids(self) -> list[str]:
        known = set(self.evidence_ids)
        return [i for i in self.cited_ids if i in known]


class ClassRow(StrictModel):
    """Per-label precision, recall and F1 of one label of a classification."""

    label: str = Field(description="The label")
    support: int = Field(description="Cases whose expected label it is")
    predicted: int = Field(description="Cases where the chain gave it")
    precision: float | None = Field(description="Correct / predicted (None when never predicted)")
    recall: float | None = Field(description="Correct / support (None without support)")
    f1: float | None = Field(description="Harmonic mean of precision and recall")


class Agreement(StrictModel):
    """Agreement of predicted with expected labels over a set of cases."""

    n: int = Field(description="Cases")
    accuracy: float | None = Field(description="Share of cases whose label matches")
    macro_f1: float | None = Field(description="Mean F1 over labels with support")
    per_class: list[ClassRow] = Field(description="One row per label, in label order")
    confusion: dict[str, dict[str, int]] = Field(
        description="expected label -> predicted label -> cases"
    )


class Abstention(StrictModel):
    """Abstention as a detector of cases the loaded guidelines do not address."""

    abstained: int = Field(description="Cases where the chain abstained")
    unanswerable: int = Field(description="Cases marked not answerable")
    correct: int = Field(description="Abstained on a not-answerable case")
    precision: float | None = Field(
        description="correct / abstained (None when it never abstained)"
    )
    recall: float | None = Field(description="correct / unanswerable (None without such cases)")
    accuracy: float | None = Field(description="Share of cases where abstaining was right")


class Baseline(StrictModel):
    """The majority-class baseline, and the better of never / always abstaining."""

    stance_label: str | None = Field(description="Most frequent expected stance")
    stance_agreement: float | None = Field(description="Accuracy of always giving it")
    stance_macro_f1: float | None = Field(description="Macro F1 of always giving it")
    decision_label: str | None = Field(description="Most frequent expected decision")
    decision_agreement: float | None = Field(description="Accuracy of always giving it")
    decision_macro_f1: float | None = Field(description="Macro F1 of always giving it")
    abstention_rule: Literal["never abstain", "always abstain"] = Field(
        description="The abstention rule with the higher accuracy (ties: never abstain)"
    )
    abstention_precision: float | None = Field(description="Its abstention precision")
    abstention_recall: float | None = Field(description="Its abstention recall")
    abstention_accuracy: float | None = Field(description="Its accuracy")


class DraftingSummary(StrictModel):
    """One `eval drafting` run. Rates are None when nothing was there to measure."""

    citation_validity: float | None = Field(
        description="Share of cited ids (distinct per case, pooled) found in the evidence"
    )
    support_rate: float | None = Field(
        description="Share of cited sentences verified as supported (pooled)"
    )
    stance_agreement: float | None = Field(description="Accuracy of the stance on ask cases")
    decision_agreement: float | None = Field(description="Accuracy of the decision on draft cases")
    abstention_precision: float | None = Field(
        description="Of the cases the chain abstained on, the share marked not answerable"
    )
    abstention_recall: float | None = Field(
        description="Of the cases marked not answerable, the share the chain abstained on"
    )
    baseline: Baseline = Field(description="Majority-class and abstention baselines")
    n: int = Field(description="Cases evaluated")
    weak_rate: float | None = Field(description="Share of cited sentences verified as weak")
    unsupported_rate: float | None = Field(
        description="Share of cited sentences verified as unsupported"
    )
    stance: Agreement = Field(description="Stance agreement in detail (ask cases)")
    decision: Agreement = Field(description="Decision agreement in detail (draft cases)")
    abstention: Abstention = Field(description="Abstention in detail")
    citations: dict[str, int] = Field(
        description="cited ids, valid ids, cited sentences, supported, weak, unsupported, "
        "uncited claims (pooled counts)"
    )
    length: dict[str, float] = Field(
        description="Sentences and characters of the drafted text: mean and max"
    )
    ms_per_case: dict[str, float] = Field(
        description="Chain wall time per case (p50, p95, mean), first case excluded (warm-up)"
    )
    n_ask: int = Field(description="ask cases")
    n_draft: int = Field(description="draft cases")
    cases_file: str = Field(description="The case file")
    split: str = Field(
        default="all",
        description="Cases run: 'dev' (tune on), 'test' (report only) or 'all' "
        "(imr_assist.evaluation.split: sha256 of the qid)",
    )
    settings_hash: str = Field(description="Index hash of the settings the evidence came from")
    drafter: str = Field(description="Drafter(s) that wrote the results")
    index_documents: int = Field(description="Documents in the index")
    index_passages: int = Field(description="Passages in the index")
    settings: dict[str, Any] = Field(description="What shapes the index, and the LLM setting")
    date: str = Field(description="UTC time of the run, ISO 8601")
    command: str = Field(description="The command line that produced the run")
    out_dir: str = Field(default="", description="Folder holding the outputs")
    files: dict[str, str] = Field(default_factory=dict, description="Output name -> path")
