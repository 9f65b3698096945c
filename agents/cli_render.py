"""How the terminal shows a run: the answer on stdout, everything else (tool calls, plans,
critiques, handoffs, drafts, usage) dimmed on stderr, so ``mcploom run ... > answer.txt`` keeps
only the answer. Also the approval prompt for tool calls that wait for a person.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from rich.console import Console

from agents.events import (
    AgentEvent,
    Answer,
    ApprovalRequest,
    Critique,
    Handoff,
    PendingCall,
    PlanUpdate,
    StepResult,
    Token,
    ToolCall,
    ToolResult,
)

__all__ = ["EventPrinter", "ask_decisions", "call_text"]


class EventPrinter:
    """Prints a run's events as they arrive.

    Args:
        out: Where the answer goes (stdout).
        err: Where progress goes (stderr).
        answer_node: The pattern's answer node: its tokens are the answer; others' are drafts.
        quiet: Show only the answer.
    """

    def __init__(self, out: Console, err: Console, *, answer_node: str, quiet: bool = False) -> None:
        self.out, self.err, self.answer_node, self.quiet = out, err, answer_node, quiet
        self._streamed = False
        self._drafting = False

    def show(self, event: AgentEvent) -> None:
        """Print one event."""
        if isinstance(event, Token):
            self._token(event)
        elif isinstance(event, Answer):
            self._answer(event)
        elif isinstance(event, ApprovalRequest):
            self._end_draft()
            for call in event.calls:
                self.err.print(
                    f"[yellow]⏸ waiting for approval: {call_text(call.name, call.args)}[/yellow]", highlight=False
                )
        elif not self.quiet and (line := _progress(event)) is not None:
            self._end_draft()
            self.err.print(line, highlight=False)

    def _token(self, token: Token) -> None:
        if token.node == self.answer_node:
            self.out.print(token.text, end="", markup=False, highlight=False)
            self._streamed = True
        elif not self.quiet:
            self.err.print(token.text, end="", style="dim", markup=False, highlight=False)
            self._drafting = True

    def _end_draft(self) -> None:
        if self._drafting:
            self.err.print()
            self._drafting = False

    def _answer(self, answer: Answer) -> None:
        self._end_draft()
        if self._streamed:
            self.out.print()
        else:
            self.out.print(answer.text, markup=False, highlight=False)
        self._streamed = False
        if not self.quiet and answer.usage:
            cost = f", ${answer.cost:.4f}" if answer.cost else ""  # local models cost 0: not worth a word
            self.err.print(
                f"[dim]{answer.usage.get('input_tokens', 0)} tokens in, {answer.usage.get('output_tokens', 0)} out{cost}[/dim]"
            )


def _progress(event: AgentEvent) -> str | None:
    indent = "  " * len(getattr(event, "path", ()))
    if isinstance(event, ToolCall):
        return f"[dim]{indent}→ {call_text(event.name, event.args)}[/dim]"
    if isinstance(event, ToolResult):
        style = "red" if event.is_error else "dim"
        return f"[{style}]{indent}← {event.name}: {_clip(event.content)}[/{style}]"
    if isinstance(event, PlanUpdate):
        title = "plan" if event.revision == 0 else f"plan, revision {event.revision}"
        steps = "".join(f"\n  {step['id']}. {step['task']}" for step in event.steps) or " (done)"
        return f"[cyan]{title}:{steps}[/cyan]"
    if isinstance(event, StepResult):
        return f"[cyan]✓ step {event.id}: {_clip(event.result)}[/cyan]"
    if isinstance(event, Critique):
        score = "?" if event.score is None else event.score
        return f"[magenta]critique {event.round}: {score}/10 {_clip(event.feedback)}[/magenta]"
    if isinstance(event, Handoff):
        if event.worker == "FINISH":
            return "[blue]supervisor: done[/blue]"
        return f"[blue]supervisor → {event.worker}: {_clip(event.instruction)}[/blue]"
    return None


def ask_decisions(calls: list[PendingCall], prompt: Callable[[str], str]) -> dict[str, dict[str, Any]]:
    """Ask about each pending call: approve, edit its arguments (JSON) or reject (with a reason).

    ``prompt`` reads one line for a question (``input`` or a Rich prompt); a bad answer is asked again.
    """
    decisions: dict[str, dict[str, Any]] = {}
    for call in calls:
        while True:
            choice = prompt(f"Run {call_text(call.name, call.args)}? [y]es / [n]o / [e]dit: ").strip().lower()
            if choice in ("y", "yes"):
                decisions[call.id] = {"action": "approve"}
            elif choice in ("n", "no"):
                reason = prompt("Reason (told to the model, optional): ").strip()
                decisions[call.id] = {"action": "reject", **({"reason": reason} if reason else {})}
            elif choice in ("e", "edit"):
                args = _json_object(prompt(f"New arguments as JSON (now {json.dumps(call.args)}): "))
                if args is None:
                    continue
                decisions[call.id] = {"action": "edit", "args": args}
            else:
                continue
            break
    return decisions


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def call_text(name: str, args: dict[str, Any]) -> str:
    """``name(key='value', ...)``, as the terminal shows a tool call."""
    return f"{name}({', '.join(f'{key}={value!r}' for key, value in args.items())})"


def _clip(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
