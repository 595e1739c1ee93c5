"""Shared fixtures: settings in a temporary home, fake and real embedders, the demo corpus."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from imr_assist.embedding import HASHING_MODEL
from imr_assist.index import PassageIndex
from imr_assist.settings import EmbeddingSettings, RetrievalSettings, Settings

# Property tests explore with fixed seeds so that CI is reproducible; run with
# HYPOTHESIS_PROFILE=explore locally to search new examples.
hypothesis_settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
hypothesis_settings.register_profile("explore", deadline=None, max_examples=1000)
hypothesis_settings.load_profile(__import__("os").environ.get("HYPOTHESIS_PROFILE", "ci"))

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CORPUS = REPO / "corpus"
VADOD_PDF = SHARED / "data" / "vadod-lbp-cpg" / "va-department_of_defense.pdf"
SEED_LETTER = SHARED / "seeds" / "imr-determination-home-exercise-kit.txt"


def need_shared(path: Path) -> Path:
    """Skip (with the reason) when ../shared data is not present on this machine."""
    if not path.exists():
        pytest.skip(f"../shared not present: {path} is needed for this test")
    return path


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(__import__("os").environ):
        if key.startswith("IMR_"):
            monkeypatch.delenv(key, raising=False)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with a fresh home and the model-free hashing embedder (fast).

    The gate's dense threshold is calibrated for MiniLM cosines; hashed bag-of-words cosines
    live on another scale, so fake-backed tests gate on item-term coverage alone."""
    return Settings(
        home=tmp_path / "home",
        embedding=EmbeddingSettings(model=HASHING_MODEL),
        retrieval=RetrievalSettings(gate_min_dense=0.0),
    )


@pytest.fixture
def index(settings: Settings) -> PassageIndex:
    return PassageIndex(settings)


@pytest.fixture(scope="session")
def real_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings with the real bundled MiniLM model."""
    return Settings(home=tmp_path_factory.mktemp("real-home"))


@pytest.fixture(scope="session")
def real_demo_index(real_settings: Settings) -> PassageIndex:
    """The demo corpus indexed once per session with the real model and a real Chroma on disk."""
    from imr_assist import api

    report = api.build_demo(settings=real_settings)
    assert report is not None and not report.failed
    return api.open_index(real_settings)
