"""The order-of-authority note: truthful about silent tiers, and never calling a tier silent
that the reviewer's tier filter kept out of the search."""

from __future__ import annotations

import re

import pytest

from helpers import ingest_demo
from imr_assist.drafting.chain import make_chain
from imr_assist.drafting.models import Answer, DeterminationDraft
from imr_assist.index.store import PassageIndex
from imr_assist.models import Tier
from imr_assist.retrieval.authority import order_by_authority, sequence_note
from imr_assist.settings import Settings

M, G, OG, S = Tier.MTUS, Tier.GUIDELINE, Tier.OTHER_GUIDELINE, Tier.STUDY
MTUS_FILTERED = (
    "The MTUS was filtered out of this search, so whether it addresses the request was not checked."
)


@pytest.mark.parametrize(
    ("highest", "excluded", "note"),
    [
        (None, [], "None of the loaded guidelines addresses this request."),
        (M, [], "The MTUS addresses this request and governs it."),
        (
            G,
            [],
            "The MTUS does not specifically address this request; ACOEM/ODG and other "
            "nationally recognised guidelines were consulted (8 CCR 9792.21.1).",
        ),
        (
            G,
            [M],
            f"{MTUS_FILTERED} ACOEM/ODG and other nationally recognised guidelines were "
            "consulted (8 CCR 9792.21.1).",
        ),
        (
            OG,
            [M],
            "The ACOEM/ODG and other nationally recognised guidelines do not specifically "
            "address this request; other evidence-based guidelines were consulted (8 CCR "
            f"9792.21.1). {MTUS_FILTERED}",
        ),
        (
            OG,
            [M, G, S],
            "The MTUS and ACOEM/ODG were filtered out of this search, so whether they address "
            "the request was not checked. Other evidence-based guidelines were consulted (8 CCR "
            "9792.21.1).",
        ),
        (None, [M], f"None of the guidelines searched addresses this request. {MTUS_FILTERED}"),
        (
            None,
            [M, G, OG, S],
            "Every guideline tier was filtered out of this search, so whether any guideline "
            "addresses the request was not checked.",
        ),
        (G, [OG, S], "The MTUS does not specifically address this request; ACOEM/ODG and "
         "other nationally recognised guidelines were consulted (8 CCR 9792.21.1)."),
    ],
)  # fmt: skip
def test_sequence_note(highest: Tier | None, excluded: list[Tier], note: str) -> None:
    assert sequence_note(highest, excluded) == note


@pytest.mark.parametrize("highest", [None, G, OG, S])
@pytest.mark.parametrize("excluded", [[M], [M, G], [G], [M, OG]])
def test_an_excluded_tier_is_never_called_silent(
    highest: Tier | None, excluded: list[Tier]
) -> None:
    note = sequence_note(highest, excluded)
    assert "filtered out" in note or all(
        highest is not None and t.rank >= highest.rank for t in excluded
    )
    if M in excluded:
        assert "MTUS does not" not in note and "Neither the MTUS" not in note
    if G in excluded:
        assert "ACOEM/ODG and other nationally recognised guidelines do not" not in note
        assert (
            "nor the ACOEM" not in note
            and "the ACOEM/ODG and other nationally recognised guidelines nor" not in note
        )


def test_order_by_authority_passes_the_filter_on() -> None:
    view = order_by_authority([], G, excluded=[M])
    assert view.sequence_note.startswith(MTUS_FILTERED)


@pytest.mark.parametrize("kind", ["ask", "draft"])
def test_the_chain_says_a_filtered_tier_was_not_checked(
    settings: Settings, index: PassageIndex, kind: str
) -> None:
    """TENS is addressed by the MTUS in the demo corpus; filtered to the lower tiers, the note
    must not say the MTUS is silent on it (the tester saw 'Neither the MTUS nor ...')."""
    chain = make_chain(ingest_demo(settings, index=index))
    request = "TENS unit one-month home trial"
    plain = chain.invoke({"request": request, "kind": kind})
    assert plain.governing_tier is Tier.MTUS
    assert plain.sequence_note == "The MTUS addresses this request and governs it."
    filtered = chain.invoke(
        {"request": request, "kind": kind, "filters": {"tier": "guideline|other_guideline"}}
    )
    assert isinstance(filtered, Answer if kind == "ask" else DeterminationDraft)
    assert filtered.governing_tier is not Tier.MTUS
    assert "MTUS does not" not in filtered.sequence_note
    assert "Neither the MTUS" not in filtered.sequence_note
    # the MTUS (and the studies tier, also left out) were filtered out, and said to be
    assert re.search(
        r"The MTUS( and [^.]+)? were? filtered out of this search, so whether (it "
        r"addresses|they address) the request was not checked\.",
        filtered.sequence_note,
    )
