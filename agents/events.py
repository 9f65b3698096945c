"""The typed events an agent run streams; one stream serves the CLI, the Python API and traces.

A run yields, in order of happening:

- :class:`NodeStart` / :class:`NodeEnd` around each graph step (``path`` names the subgraph a
  step ran in: ``()`` for the pattern's own graph, e.g. ``("execute",)`` inside a plan step);
- :class:`Token` pieces of text as a model writes a reply the user reads;
- :class:`ToolCall` / :class:`ToolResult` for every tool the model calls, and
  :class:`ToolProgress` while an MCP tool that reports its progress runs;
- :class:`ModelUsage` after each model call (tokens, and the cost when the price is known);
- the pattern's own progress, a :class:`Progress` (``mcploom.graphs.types``): :class:`PlanUpdate` and
  :class:`StepResult` (plan-and-execute), :class:`Critique` (reflection), :class:`Handoff`
  (supervisor), :class:`DebateRound` (debate); each has ``summary()``, its line for people;
- and last either :class:`Answer`, or :class:`ApprovalRequest` when the run paused for a person
  to approve tool calls (``Agent.resume`` continues it, even from another process).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mcploom.graphs.types import Critique, DebateRound, Handoff, PlanUpdate, Progress, StepResult

__all__ = [
    "AgentEvent",
    "Answer",
    "ApprovalRequest",
    "Critique",
    "DebateRound",
    "Handoff",
    "ModelUsage",
    "NodeEnd",
    "NodeStart",
    "PendingCall",
    "PlanUpdate",
    "Progress",
    "StepResult",
    "Token",
    "ToolCall",
    "ToolProgress",
    "ToolResult",
]

Path = tuple[str, ...]
"""Where in the graph an event happened: the names of the enclosing subgraph nodes, outermost first."""


@dataclass(frozen=True)
class NodeStart:
    """A graph step began."""

    node: str
    path: Path = ()


@dataclass(frozen=True)
class NodeEnd:
    """A graph step finished."""

    node: str
    path: Path = ()


@dataclass(frozen=True)
class Token:
    """A piece of reply text as the model generates it (``node`` is the step writing it)."""

    text: str
    node: str = ""


@dataclass(frozen=True)
class ToolCall:
    """The model asked for a tool."""

    name: str
    args: dict[str, Any]
    id: str
    path: Path = ()


@dataclass(frozen=True)
class ToolResult:
    """A tool answered (``is_error`` when it failed; the model sees the message either way)."""

    name: str
    content: str
    id: str
    is_error: bool = False
    artifact: Any = None
    path: Path = ()


@dataclass(frozen=True)
class ToolProgress(Progress):
    """An MCP tool's progress notification while its call runs (the call sends a progress token)."""

    tool: str
    server: str
    progress: float
    total: float | None = None
    message: str | None = None

    def summary(self) -> str:
        done = f"{self.progress:g}/{self.total:g}" if self.total else f"{self.progress:g}"
        return f"… {self.tool} ({self.server}): {done}{f' {self.message}' if self.message else ''}"


@dataclass(frozen=True)
class ModelUsage:
    """One model call's tokens; ``cost`` in US dollars when the price table knows the model."""

    model: str
    input_tokens: int
    output_tokens: int
    cost: float | None = None


@dataclass(frozen=True)
class PendingCall:
    """A tool call waiting for approval."""

    name: str
    args: dict[str, Any]
    id: str


@dataclass(frozen=True)
class ApprovalRequest:
    """The run paused: these tool calls need approval. Resume with ``Agent.resume(thread_id, ...)``."""

    calls: list[PendingCall]
    thread_id: str


@dataclass(frozen=True)
class Answer:
    """The run's final answer, with token usage (and cost, when known) summed over its model calls."""

    text: str
    usage: dict[str, int] = field(default_factory=dict)
    cost: float | None = None


AgentEvent = (
    NodeStart
    | NodeEnd
    | Token
    | ToolCall
    | ToolResult
    | ToolProgress
    | ModelUsage
    | Progress
    | ApprovalRequest
    | Answer
)
"""Anything ``Agent.stream`` / ``Agent.astream`` yields."""
