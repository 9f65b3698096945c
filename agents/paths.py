"""Where mcploom keeps a user's data: ``$MCPLOOM_HOME``, else ``~/.local/share/mcploom``.

Under it: ``rag/`` (indexes), ``checkpoints.sqlite`` (agent threads), ``traces/`` (JSONL run
traces), ``prices.toml`` (the user's model price table). ``local_models`` keeps its own copy of
the rule for ``models/`` because it imports nothing of ours.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["data_home"]


def data_home() -> Path:
    """The user's mcploom data folder (not created here)."""
    home = os.environ.get("MCPLOOM_HOME")
    return Path(home).expanduser() if home else Path.home() / ".local" / "share" / "mcploom"
