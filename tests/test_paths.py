"""One data folder for every layer: ``MCPLOOM_HOME`` (``~`` expanded) moves models, indexes and threads together."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcploom.agents.checkpoints import default_checkpoint_path
from mcploom.local_models.catalog import models_dir
from mcploom.paths import data_home, index_home


def test_every_layer_puts_its_data_under_one_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MCPLOOM_HOME", "~/somewhere")
    home = Path.home() / "somewhere"
    assert data_home() == home
    assert models_dir() == home / "models"  # it used to skip expanduser: a literal "~" folder
    assert index_home() == home / "rag"
    assert default_checkpoint_path() == home / "checkpoints.sqlite"
    monkeypatch.delenv("MCPLOOM_HOME")
    assert models_dir() == Path.home() / ".local" / "share" / "mcploom" / "models"
