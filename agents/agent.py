"""``Agent``: a model, MCP servers and a pattern wired together, with sync and async runs.

Example:
    >>> from agents import Agent
    >>> servers = {"utility": {"command": "python", "args": ["-m", "mcp_servers.utility"]}}
    >>> with Agent(model="local", servers=servers) as agent:  # doctest: +SKIP
    ...     print(agent.run("What is 1234 * 5678? Use the calculator.").answer)
    7006652
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Literal, Self

from anyio.from_thread import BlockingPortal, start_blocking_portal
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, AnyMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool, tool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph.state import CompiledStateGraph

from agents.errors import ConfigError
from agents.events import AgentEvent, Answer, Token, ToolCall, ToolResult
from agents.mcp_client import MCPToolkit
from agents.models import load_chat_model
from graphs.react import build_react_graph

__all__ = ["Agent", "Pattern", "RunResult"]

Pattern = Literal["react"]
"""The agent pattern a graph implements. ``react``: reason, call tools, observe, repeat."""

DEFAULT_SYSTEM_PROMPT = (
    "You are a helpful assistant. Use the tools when they help, and answer from their results. Be concise."
)


@dataclass(frozen=True)
class RunResult:
    """The outcome of one run."""

    answer: str
    """The final answer text."""
    messages: list[AnyMessage]
    """The whole thread after the run."""
    tool_calls: list[dict[str, Any]]
    """Tool calls made during this run, in order (name, args, id)."""
    thread_id: str
    """Pass it back to continue the conversation."""
    usage: dict[str, int] = field(default_factory=dict)
    """Tokens in and out, summed over this run's model calls."""


class Agent:
    """A model, MCP servers and tools, and a pattern, as one object.

    Use it as a context manager (``with`` or ``async with``) to keep the MCP sessions open
    across runs; outside one, each run opens and closes them.

    Args:
        model: A model spec (``local``, ``local:<name>``, ``gguf:<path>``, ``anthropic:<model>``,
            ``openai:<model>``, ``openai-compatible:<url>#<model>``) or a LangChain chat model.
        servers: MCP servers in Claude Desktop's ``mcpServers`` shape, or a path to such a JSON file.
        pattern: Which graph to run.
        system_prompt: Instructions for the model (a sensible default otherwise).
        tools: Extra tools: LangChain tools or plain Python functions (typed, with a docstring).
        checkpointer: Where threads persist (default: in memory, for this process).
        max_iterations: Most model calls per run.
        call_timeout: Seconds one MCP tool call may take.
        model_options: Passed to the model loader (temperature, n_ctx, n_gpu_layers, ...).
    """

    def __init__(
        self,
        model: str | BaseChatModel = "local",
        servers: Mapping[str, Any] | str | os.PathLike[str] | None = None,
        *,
        pattern: Pattern = "react",
        system_prompt: str | None = None,
        tools: Sequence[BaseTool | Callable[..., Any]] = (),
        checkpointer: BaseCheckpointSaver | None = None,
        max_iterations: int = 8,
        call_timeout: float | None = 60.0,
        model_options: Mapping[str, Any] | None = None,
    ) -> None:
        if pattern != "react":
            raise ConfigError(f"Unknown pattern {pattern!r}; available: 'react'.")
        self.model = model if isinstance(model, BaseChatModel) else load_chat_model(model, **(model_options or {}))
        self.pattern = pattern
        self.system_prompt = DEFAULT_SYSTEM_PROMPT if system_prompt is None else system_prompt
        self.extra_tools = [t if isinstance(t, BaseTool) else tool(t) for t in tools]
        self.checkpointer = checkpointer if checkpointer is not None else InMemorySaver()
        self.max_iterations = max_iterations
        self._toolkit = MCPToolkit(servers or {}, call_timeout=call_timeout)
        self._graph: CompiledStateGraph | None = None
        self._portal_cm: AbstractContextManager[BlockingPortal] | None = None
        self._portal: BlockingPortal | None = None

    # --- lifecycle ------------------------------------------------------------------------

    @property
    def tools(self) -> list[BaseTool]:
        """The tools the model can call (MCP tools are listed once the agent is entered)."""
        return [*self._toolkit.tools, *self.extra_tools]

    @property
    def graph(self) -> CompiledStateGraph:
        """The compiled graph (available inside the context manager)."""
        if self._graph is None:
            raise RuntimeError("The agent is not started; use `with Agent(...) as agent:` or `async with`.")
        return self._graph

    async def __aenter__(self) -> Self:
        await self._toolkit.__aenter__()
        self._graph = build_react_graph(
            model=self.model,
            tools=self.tools,
            system_prompt=self.system_prompt,
            max_iterations=self.max_iterations,
            checkpointer=self.checkpointer,
        )
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        self._graph = None
        await self._toolkit.__aexit__(*exc_info)

    def __enter__(self) -> Self:
        # MCP sessions live on an event loop; a portal runs one in a thread for sync callers.
        self._portal_cm = start_blocking_portal()
        self._portal = self._portal_cm.__enter__()
        try:
            self._portal.call(self.__aenter__)
        except BaseException:
            self._close_portal()
            raise
        return self

    def __exit__(self, *exc_info: Any) -> None:
        try:
            if self._portal is not None:
                self._portal.call(self.__aexit__, None, None, None)
        finally:
            self._close_portal()

    def _close_portal(self) -> None:
        portal_cm, self._portal_cm, self._portal = self._portal_cm, None, None
        if portal_cm is not None:
            portal_cm.__exit__(None, None, None)

    # --- runs -----------------------------------------------------------------------------

    async def arun(self, question: str, *, thread_id: str | None = None) -> RunResult:
        """Answer ``question``; pass ``thread_id`` to continue an earlier conversation."""
        if self._graph is None:
            async with self:
                return await self.arun(question, thread_id=thread_id)
        thread_id = thread_id or uuid.uuid4().hex
        config = {"configurable": {"thread_id": thread_id}}
        asked = HumanMessage(question, id=uuid.uuid4().hex)
        state = await self.graph.ainvoke({"messages": [asked]}, config)
        # This run's messages follow the question; no extra checkpoint read to count the history.
        start = next(i for i, m in enumerate(state["messages"]) if m.id == asked.id)
        new = state["messages"][start + 1 :]
        return RunResult(
            answer=state["messages"][-1].text,
            messages=state["messages"],
            tool_calls=[
                {"name": c["name"], "args": c["args"], "id": c["id"]}
                for m in new
                if isinstance(m, AIMessage)
                for c in m.tool_calls
            ],
            thread_id=thread_id,
            usage=_usage(new),
        )

    async def astream(self, question: str, *, thread_id: str | None = None) -> AsyncIterator[AgentEvent]:
        """Yield tokens, tool calls, tool results and finally the ``Answer`` as the run goes."""
        if self._graph is None:
            async with self:
                async for event in self.astream(question, thread_id=thread_id):
                    yield event
            return
        config = {"configurable": {"thread_id": thread_id or uuid.uuid4().hex}}
        names: dict[str, str] = {}
        turns: list[AIMessage] = []
        async for mode, payload in self.graph.astream(
            {"messages": [HumanMessage(question)]}, config, stream_mode=["messages", "updates"]
        ):
            if mode == "messages":
                chunk, meta = payload
                if isinstance(chunk, AIMessageChunk) and meta.get("langgraph_node") == "agent" and chunk.content:
                    yield Token(chunk.text)
                continue
            for node, update in payload.items():
                for message in (update or {}).get("messages", []):
                    if isinstance(message, AIMessage):
                        turns.append(message)
                        for call in message.tool_calls:
                            names[call["id"]] = call["name"]
                            yield ToolCall(call["name"], call["args"], call["id"])
                    elif isinstance(message, ToolMessage) and node == "tools":
                        yield ToolResult(
                            names.get(message.tool_call_id, message.name or "?"),
                            message.text,
                            message.tool_call_id,
                            message.status == "error",
                            message.artifact,
                        )
        yield Answer(turns[-1].text if turns else "", _usage(turns))

    def run(self, question: str, *, thread_id: str | None = None) -> RunResult:
        """Blocking ``arun``."""
        if self._portal is None:
            with self:
                return self.run(question, thread_id=thread_id)
        return self._portal.call(lambda: self.arun(question, thread_id=thread_id))

    def stream(self, question: str, *, thread_id: str | None = None) -> Iterator[AgentEvent]:
        """Blocking ``astream``: yields events as they happen."""
        if self._portal is None:
            with self:
                yield from self.stream(question, thread_id=thread_id)
            return
        with self._portal.wrap_async_context_manager(_Collector(self.astream(question, thread_id=thread_id))) as it:
            while True:
                event = self._portal.call(it.next)
                if event is None:
                    return
                yield event


class _Collector:
    """Adapts an async generator to ``next()`` calls through a portal, closing it on exit."""

    def __init__(self, events: AsyncIterator[AgentEvent]) -> None:
        self._events = events

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self._events.aclose()  # type: ignore[attr-defined]

    async def next(self) -> AgentEvent | None:
        return await anext(self._events, None)


def _usage(messages: Sequence[Any]) -> dict[str, int]:
    totals = {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}
    for message in messages:
        usage = getattr(message, "usage_metadata", None) or {}
        for key in totals:
            totals[key] += int(usage.get(key, 0))
    return totals
