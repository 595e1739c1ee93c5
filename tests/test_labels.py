"""Every enum value the UI shows has a label without underscores."""

from __future__ import annotations

import pytest

from imr_assist.models import (
    Decision,
    Direction,
    DraftDecision,
    Kind,
    Stance,
    Strength,
    Tier,
    Verdict,
)
from imr_assist.ui.labels import label


@pytest.mark.parametrize(
    "value",
    [*Tier, *Kind, *Decision, *DraftDecision, *Stance, *Direction, *Strength, *Verdict],
)
def test_every_value_has_words(value: object) -> None:
    words = label(value)  # type: ignore[arg-type]
    assert words and "_" not in words


def test_raw_tokens_and_unknowns() -> None:
    assert label("not_medically_necessary") == "Not medically necessary"
    assert label("other_guideline") == "Other guideline"
    assert label("some_new_value") == "Some new value"
    assert label(None) == ""
