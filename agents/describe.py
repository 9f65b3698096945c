"""One-line texts for a run's events, shared by the terminal (``mcploom run``) and the agent MCP
server's progress notifications, so both say the same thing the same way."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mcploom.agents.events import AgentEvent, Critique, Handoff, PlanUpdate, StepResult

__all__ = ["call_text", "clip", "progress_text"]


def call_text(name: str, args: Mapping[str, Any]) -> str:
    """``name(key='value', ...)``: a tool call as people read it."""
    return f"{name}({', '.join(f'{key}={value!r}' for key, value in args.items())})"


def progress_text(event: AgentEvent) -> str | None:
    """A pattern's progress in one line: a plan, a finished step, a critique score or a handoff
    (``None`` for other events)."""
    if isinstance(event, PlanUpdate):
        steps = "; ".join(f"{step['id']}. {step['task']}" for step in event.steps)
        return f"{'Plan' if event.revision == 0 else 'Revised plan'}: {steps or 'done'}"
    if isinstance(event, StepResult):
        return f"Step {event.id} done: {event.result}"
    if isinstance(event, Critique):
        return f"Critique {event.round}: score {event.score}/10. {event.feedback}".strip()
    if isinstance(event, Handoff):
        return (
            "Supervisor: finishing"
            if event.worker == "FINISH"
            else f"Supervisor -> {event.worker}: {event.instruction}"
        )
    return None


def clip(text: str, limit: int) -> str:
    """``text`` on one line (whitespace runs collapsed), cut to ``limit`` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
