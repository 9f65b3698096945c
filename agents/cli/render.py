"""How the terminal shows a run: the answer on stdout, everything else (tool calls, plans,
critiques, handoffs, drafts, usage) dimmed on stderr, so ``mcploom run ... > answer.txt`` keeps
only the answer. Also the approval prompt for tool calls that wait for a person.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from rich.console import Console

from mcploom.agents.describe import call_text, clip, progress_text
from mcploom.agents.events import (
    AgentEvent,
    Answer,
    ApprovalRequest,
    Critique,
    Handoff,
    PendingCall,
    Token,
    ToolCall,
    ToolResult,
)

__all__ = ["EventPrinter", "ask_decisions"]


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
                line = f"⏸ waiting for approval: {call_text(call.name, call.args)}"
                self.err.print(line, style="yellow", markup=False, highlight=False, soft_wrap=True)
        elif not self.quiet and (shown := _progress(event)) is not None:
            self._end_draft()
            style, line = shown
            # markup=False: tool arguments and results are data, and "[...]" in them is not a style.
            self.err.print(line, style=style, markup=False, highlight=False)

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
            usage = f"{answer.usage.get('input_tokens', 0)} tokens in, {answer.usage.get('output_tokens', 0)} out{cost}"
            self.err.print(usage, style="dim", markup=False, highlight=False)


_STYLES = {Critique: "magenta", Handoff: "blue"}
"""Colours some kinds of pattern progress on stderr; the others are :data:`_PROGRESS_STYLE`."""

_PROGRESS_STYLE = "cyan"

_CLIP_CHARS = 300


def _progress(event: AgentEvent) -> tuple[str, str] | None:
    """The style and the line for an event shown on stderr, or ``None`` for one that is not shown."""
    indent = "  " * len(getattr(event, "path", ()))
    if isinstance(event, ToolCall):
        return "dim", f"{indent}→ {call_text(event.name, event.args)}"
    if isinstance(event, ToolResult):
        return "red" if event.is_error else "dim", f"{indent}← {event.name}: {clip(event.content, _CLIP_CHARS)}"
    text = progress_text(event)
    return None if text is None else (_STYLES.get(type(event), _PROGRESS_STYLE), clip(text, _CLIP_CHARS))


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
