"""Where mcploom keeps a user's data: ``$MCPLOOM_HOME``, else ``~/.local/share/mcploom``.

Under it: ``rag/`` (indexes), ``models/`` (assembled and pulled GGUF models),
``checkpoints.sqlite`` (agent threads), ``traces/`` (JSONL run traces), ``prices.toml`` (the
user's model price table), ``config.toml`` (the user-wide config file).

It sits at the package root, beside the front door, and imports nothing: every layer, the
standalone ``rag`` and ``local_models`` libraries included, takes the rule from here, so one
``MCPLOOM_HOME`` (with ``~`` in it or not) moves all of it together.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["data_home", "index_home"]


def data_home() -> Path:
    """The user's mcploom data folder (not created here).

    Example:
        >>> import os; os.environ["MCPLOOM_HOME"] = "~/x"
        >>> data_home() == Path.home() / "x"
        True
    """
    home = os.environ.get("MCPLOOM_HOME")
    return Path(home).expanduser() if home else Path.home() / ".local" / "share" / "mcploom"


def index_home() -> Path:
    """The folder of the RAG indexes (``mcploom ingest`` and the rag server's default)."""
    return data_home() / "rag"
