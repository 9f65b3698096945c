"""One-line texts for a run's events, shared by the terminal (``mcploom run``) and the agent MCP
server's progress notifications, so both say the same thing the same way."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mcploom.agents.events import AgentEvent, Progress

__all__ = ["call_text", "clip", "progress_text"]


def call_text(name: str, args: Mapping[str, Any]) -> str:
    """``name(key='value', ...)``: a tool call as people read it."""
    return f"{name}({', '.join(f'{key}={value!r}' for key, value in args.items())})"


def progress_text(event: AgentEvent) -> str | None:
    """A pattern's progress in one line (``None`` for other events)."""
    return event.summary() if isinstance(event, Progress) else None


def clip(text: str, limit: int) -> str:
    """``text`` on one line (whitespace runs collapsed), cut to ``limit`` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
