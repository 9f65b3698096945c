"""Fixtures for the tests that load the bundled model."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def default_model_path() -> str:
    """The bundled default GGUF model's path; the test is skipped where it is not installed."""
    local_models = pytest.importorskip("mcploom.local_models")
    try:
        return str(local_models.resolve_model())
    except local_models.ModelLoadError as exc:
        pytest.skip(f"default local model not installed: {exc}")
