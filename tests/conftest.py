"""Shared fixtures. Real files from ../shared/corpus are read in place, never copied."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def corpus_dir() -> Path | None:
    """``$RDPDOCTOR_CORPUS`` or ``../shared/corpus`` next to the checkout, if present."""
    env = os.environ.get("RDPDOCTOR_CORPUS")
    candidates = [Path(env)] if env else []
    candidates += [ROOT.parent / "shared" / "corpus", ROOT.parent.parent / "shared" / "corpus"]
    for c in candidates:
        if c.is_dir():
            return c
    return None


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The shared real-world corpus; skips with a clear reason when it is absent."""
    c = corpus_dir()
    if c is None:
        pytest.skip("real-file corpus not found: set RDPDOCTOR_CORPUS or place it at ../shared/corpus")
    return c


def corpus_files(sub: str, pattern: str = "*") -> list[Path]:
    """Files of a corpus sub-folder for parametrisation (empty list when absent)."""
    c = corpus_dir()
    if c is None or not (c / sub).is_dir():
        return []
    return sorted(p for p in (c / sub).glob(pattern) if p.is_file() and p.suffix != ".md")


def ids(paths):
    return [p.name for p in paths]
