"""Helpers for the real-browser tests (fixtures are in conftest.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


def shot(page: Any, name: str) -> None:
    """A full-page screenshot to tests/e2e/artifacts/<name>.png."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
