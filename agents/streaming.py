"""Turns a LangGraph run's stream into :mod:`mcploom.agents.events`, for every pattern alike.

The graph is streamed with ``stream_mode=["values", "updates", "tasks", "messages", "custom"]``
and ``subgraphs=True``, so steps inside plan steps, workers and samples are seen too:

- ``tasks`` give :class:`NodeStart` / :class:`NodeEnd` (with the subgraph path);
- ``messages`` give :class:`Token` for text written by the pattern's own nodes (inner agents'
  text reaches the user through their results instead);
- ``updates`` give tool calls and results from any depth, plus pending interrupts;
- ``custom`` gives the patterns' progress, the ``mcploom.graphs.types.Progress`` payloads their
  nodes send, as they are: this module knows no pattern;
- top-level ``values`` keep the latest state, so the run result needs no extra checkpoint read.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, ToolMessage
from langgraph.types import Interrupt, Overwrite

from mcploom.agents.events import AgentEvent, NodeEnd, NodeStart, PendingCall, Progress, Token, ToolCall, ToolResult

__all__ = ["STREAM_MODES", "RunEvents", "pending_calls"]

STREAM_MODES = ["values", "updates", "tasks", "messages", "custom"]
"""What ``RunEvents.feed`` expects the graph to be streamed with (and ``subgraphs=True``)."""

_INTERRUPT = "__interrupt__"


class RunEvents:
    """Translates one run's stream chunks into events and keeps what its result needs.

    Attributes:
        state: The pattern graph's latest top-level state.
        tool_calls: Every tool call of the run, at any depth, in order.
        interrupts: Interrupts the run stopped at (empty when it finished).
    """

    def __init__(self) -> None:
        self.state: dict[str, Any] = {}
        self.tool_calls: list[ToolCall] = []
        self.interrupts: list[Interrupt] = []
        self._names: dict[str, str] = {}

    def feed(self, namespace: tuple[str, ...], mode: str, payload: Any) -> Iterator[AgentEvent]:
        """The events in one ``(namespace, mode, payload)`` item of the stream."""
        path = tuple(part.split(":", 1)[0] for part in namespace)
        if mode == "messages":
            chunk, meta = payload
            if not path and isinstance(chunk, AIMessageChunk) and chunk.text:
                yield Token(chunk.text, meta.get("langgraph_node", ""))
        elif mode == "tasks":
            event = NodeStart if "input" in payload else NodeEnd
            yield event(payload["name"], path)
        elif mode == "custom":
            if isinstance(payload, Progress):
                yield payload
        elif mode == "values":
            if not path and isinstance(payload, Mapping) and _INTERRUPT not in payload:
                self.state = dict(payload)
        elif mode == "updates":
            for node, update in payload.items():
                if node == _INTERRUPT:
                    if not path:
                        self.interrupts.extend(update)
                    continue
                yield from self._update(update, path)

    def _update(self, update: Any, path: tuple[str, ...]) -> Iterator[AgentEvent]:
        if not isinstance(update, Mapping):
            return
        for message in _value(update.get("messages")) or ():
            yield from self._message(message, path)

    def _message(self, message: Any, path: tuple[str, ...]) -> Iterator[AgentEvent]:
        if isinstance(message, AIMessage):
            for call in message.tool_calls:
                if call["id"] in self._names:
                    continue  # the approve step re-writes a turn it already reported
                self._names[call["id"]] = call["name"]
                event = ToolCall(call["name"], call["args"], call["id"], path)
                self.tool_calls.append(event)
                yield event
        elif isinstance(message, ToolMessage):
            yield ToolResult(
                self._names.get(message.tool_call_id, message.name or "?"),
                message.text,
                message.tool_call_id,
                message.status == "error",
                message.artifact,
                path,
            )


def pending_calls(interrupts: list[Interrupt]) -> list[PendingCall]:
    """The tool calls that approval interrupts wait on, in order."""
    return [
        PendingCall(call["name"], call["args"], call["id"])
        for interrupt in interrupts
        if isinstance(interrupt.value, Mapping) and interrupt.value.get("kind") == "approval"
        for call in interrupt.value["calls"]
    ]


def _value(update: Any) -> Any:
    return update.value if isinstance(update, Overwrite) else update
