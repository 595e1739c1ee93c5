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
    from imr_assist.ui.labels import _LABELS

    assert value in _LABELS, f"{value!r} has no label: it would show as its token's words"
    words = label(value)  # type: ignore[arg-type]
    assert words == _LABELS[value] and "_" not in words  # type: ignore[index]


def test_raw_tokens_and_unknowns() -> None:
    assert label("not_medically_necessary") == "Not medically necessary"
    assert label("other_guideline") == "Other guideline"
    assert label("some_new_value") == "Some new value"
    assert label(None) == ""
