"""Checkpointer spec strings, read without importing any checkpointer: ``Agent`` and the config
file check them (``mcploom.agents.parameters``), the Agent opens them (``mcploom.agents.checkpoints``)."""

from __future__ import annotations

import os
from pathlib import Path

from mcploom.agents.errors import ConfigError

__all__ = ["CHECKPOINTER_FORMS", "POSTGRES_SCHEMES", "SQLITE_SUFFIXES", "check_checkpointer", "sqlite_path"]

CHECKPOINTER_FORMS = (
    "memory",
    "sqlite:///<absolute/path.sqlite>",
    "sqlite:<relative/path.sqlite>",
    "<path ending in .sqlite, .sqlite3 or .db>",
    "postgresql://<user>:<password>@<host>/<database>",
)
"""Every valid checkpointer spec string, as error messages and ``--help`` texts list them."""

SQLITE_SUFFIXES = (".sqlite", ".sqlite3", ".db")
"""File endings that make a bare path a SQLite checkpointer."""

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def sqlite_path(spec: str | os.PathLike[str]) -> Path:
    """The SQLite file a path or ``sqlite:`` spec names."""
    if not isinstance(spec, str):
        return Path(spec).expanduser()
    text = spec.strip()
    if text.startswith("sqlite:"):
        rest = text.removeprefix("sqlite:")
        if rest.startswith("//"):
            if not rest.startswith("///"):
                raise ConfigError(
                    f"At checkpointer {spec!r}: a sqlite: URL has no host. Write sqlite:///<absolute/path.sqlite> "
                    "(three slashes) or sqlite:<relative/path.sqlite>."
                )
            rest = rest.removeprefix("//")
        if rest:
            return Path(rest).expanduser()
    elif text.lower().endswith(SQLITE_SUFFIXES):
        return Path(text).expanduser()
    raise ConfigError(
        f"At checkpointer {spec!r}: not a checkpointer spec. Use one of: {', '.join(CHECKPOINTER_FORMS)}."
    )


def check_checkpointer(spec: str | os.PathLike[str]) -> str | os.PathLike[str]:
    """``spec`` unchanged when it names a checkpointer (see :data:`CHECKPOINTER_FORMS`).

    Raises:
        ConfigError: It matches no form.
    """
    if isinstance(spec, str) and (spec.strip() == "memory" or spec.strip().startswith(POSTGRES_SCHEMES)):
        return spec.strip()
    sqlite_path(spec)
    return spec
