"""The typed events an agent run streams: tokens, tool calls, tool results, the answer.

One stream serves the CLI and the Python API alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["AgentEvent", "Answer", "Token", "ToolCall", "ToolResult"]


@dataclass(frozen=True)
class Token:
    """A piece of answer text as the model generates it."""

    text: str


@dataclass(frozen=True)
class ToolCall:
    """The model asked for a tool."""

    name: str
    args: dict[str, Any]
    id: str


@dataclass(frozen=True)
class ToolResult:
    """A tool answered (``is_error`` when it failed; the model sees the message either way)."""

    name: str
    content: str
    id: str
    is_error: bool = False
    artifact: Any = None


@dataclass(frozen=True)
class Answer:
    """The run's final answer, with token usage summed over its model calls."""

    text: str
    usage: dict[str, int] = field(default_factory=dict)


AgentEvent = Token | ToolCall | ToolResult | Answer
"""Anything ``Agent.stream`` / ``Agent.astream`` yields."""
