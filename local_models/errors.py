"""Errors raised by ``local_models``; messages say what was wrong and what to do."""

from __future__ import annotations

__all__ = ["ModelLoadError"]


class ModelLoadError(RuntimeError):
    """A model could not be found, assembled, downloaded or loaded."""
