"""Pieces the plan-and-execute, reflection and supervisor graphs share.

- :func:`drive` / :func:`adrive`: run logic written once as a generator with sync or async calls.
- :class:`StructuredCaller`: one structured decision from the model (``with_structured_output``),
  re-asked with the parse error when the reply does not fit the schema.
- :func:`run_subgraph` / :func:`arun_subgraph`: run a ReAct subgraph on one task and return its answer.
- :func:`answer_node`: the closing node that answers the user from collected results.
- :func:`report`: send a pattern's progress through LangGraph's custom stream.
- Small text helpers: :func:`request_text`, :func:`message_text`, :func:`describe_tools`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator, Sequence
from typing import Any, Generic, TypeVar

from langchain_core.exceptions import OutputParserException
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.tools import BaseTool
from langgraph.config import get_stream_writer
from langgraph.graph.state import CompiledStateGraph
from pydantic import BaseModel

from mcploom.graphs._answer_check import Request, checked_answer
from mcploom.graphs._nodes import node
from mcploom.graphs.types import Progress

__all__ = [
    "Exchange",
    "StructuredCaller",
    "adrive",
    "answer_node",
    "arun_subgraph",
    "describe_tools",
    "drive",
    "message_text",
    "report",
    "request_text",
    "run_subgraph",
    "with_instructions",
]

SchemaT = TypeVar("SchemaT", bound=BaseModel)
RequestT = TypeVar("RequestT")
ResultT = TypeVar("ResultT")

Exchange = Generator
"""Logic written once for sync and async: a generator that yields requests (prompts), receives
their replies (or has the call's exception thrown in) and returns its result. :func:`drive` runs
it with a sync call, :func:`adrive` with an async one."""


def drive(steps: Generator[RequestT, Any, ResultT], call: Callable[[RequestT], Any]) -> ResultT:
    """Run ``steps``, answering each request with ``call(request)``."""
    try:
        request = next(steps)
        while True:
            try:
                reply = call(request)
            except Exception as exc:  # handed to the logic, which may handle it or let it propagate
                request = steps.throw(exc)
            else:
                request = steps.send(reply)
    except StopIteration as stop:
        return stop.value


async def adrive(steps: Generator[RequestT, Any, ResultT], call: Callable[[RequestT], Awaitable[Any]]) -> ResultT:
    """Async :func:`drive`: each request is answered with ``await call(request)``."""
    try:
        request = next(steps)
        while True:
            try:
                reply = await call(request)
            except Exception as exc:
                request = steps.throw(exc)
            else:
                request = steps.send(reply)
    except StopIteration as stop:
        return stop.value


RETRY_NOTE = (
    "Your previous reply could not be used: {error}. "
    "Reply again by calling the {schema} tool once, with arguments that match its schema."
)
"""Told to the model after a reply that does not parse as the requested schema."""

_MAX_ERROR_CHARS = 600

_PARSE_ERRORS = (OutputParserException, ValueError)
"""What ``with_structured_output`` raises for a reply that does not fit (pydantic's
``ValidationError`` is a ``ValueError``)."""


class StructuredCaller(Generic[SchemaT]):
    """Asks the model for one ``schema`` object, retrying with the parse error after a bad reply.

    Uses the model's ``with_structured_output(schema)``, so it works with every
    chat model LangChain can bind tools to (the default implementation forces a call of a tool
    named after the schema and parses its arguments). A reply without that call, or whose
    arguments fail validation, is answered with :data:`RETRY_NOTE` and asked again, at most
    ``retries`` times; then the call returns ``None`` and the graph falls back.

    Args:
        model: A chat model that supports ``with_structured_output``.
        schema: The pydantic model to fill in; its name is the tool name the model sees.
        retries: Extra attempts after the first unusable reply.

    Example:
        >>> caller = StructuredCaller(model, Plan, retries=2)  # doctest: +SKIP
        >>> caller.invoke([HumanMessage("Plan a trip")]).steps  # doctest: +SKIP
    """

    def __init__(self, model: BaseChatModel, schema: type[SchemaT], retries: int) -> None:
        if retries < 0:
            raise ValueError(f"parse retries must be 0 or more, got {retries}.")
        self.schema = schema
        self.retries = retries
        # Not ``include_raw=True``: its RunnableMap costs ~2.5 ms a call; parse errors raise instead.
        self._runnable = model.with_structured_output(schema)

    def _check(self, parsed: Any) -> tuple[SchemaT | None, str]:
        if isinstance(parsed, self.schema):
            return parsed, ""
        return None, f"the reply did not call {self.schema.__name__}"

    def _retry(self, messages: list[BaseMessage], error: str) -> list[BaseMessage]:
        note = RETRY_NOTE.format(error=error[:_MAX_ERROR_CHARS], schema=self.schema.__name__)
        return [*messages, HumanMessage(note)]

    def _attempts(self, messages: list[BaseMessage]) -> Exchange[list[BaseMessage], Any, SchemaT | None]:
        attempt = messages
        for _ in range(self.retries + 1):
            try:
                parsed, error = self._check((yield attempt))
            except _PARSE_ERRORS as exc:
                parsed, error = None, str(exc)
            if parsed is not None:
                return parsed
            attempt = self._retry(messages, error)
        return None

    def invoke(self, messages: list[BaseMessage], config: RunnableConfig | None = None) -> SchemaT | None:
        """The parsed object, or ``None`` when every attempt failed to parse."""
        return drive(self._attempts(messages), lambda attempt: self._runnable.invoke(attempt, config))

    async def ainvoke(self, messages: list[BaseMessage], config: RunnableConfig | None = None) -> SchemaT | None:
        """Async :meth:`invoke`."""
        return await adrive(self._attempts(messages), lambda attempt: self._runnable.ainvoke(attempt, config))


def report(progress: Progress) -> None:
    """Send ``progress`` through the custom stream (``stream_mode="custom"``); call it from a node.

    Runs streamed without that mode drop it, so a pattern reports unconditionally.
    """
    get_stream_writer()(progress)


def message_text(message: BaseMessage) -> str:
    """The plain text of a message (content blocks joined)."""
    return message.text


def request_text(messages: Sequence[AnyMessage]) -> str:
    """The text of the latest user turn: what this run must answer."""
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            return message_text(message)
    return ""


def describe_tools(tools: Sequence[BaseTool]) -> str:
    """One ``- name: first line of description`` line per tool, or a note that there are none."""
    if not tools:
        return "(no tools)"
    return "\n".join(f"- {t.name}: {_first_line(t.description)}" for t in tools)


def _first_line(text: str | None) -> str:
    lines = (text or "").strip().splitlines()
    return lines[0] if lines else ""


def with_instructions(prompt: str, system_prompt: str | None) -> str:
    """``prompt`` followed by the caller's own instructions, when there are any."""
    return f"{prompt}\n\nAdditional instructions:\n{system_prompt}" if system_prompt else prompt


def run_subgraph(graph: CompiledStateGraph, task: str, config: RunnableConfig | None = None) -> str:
    """Run a ReAct (sub)graph on one task and return the text of its final message."""
    state = graph.invoke({"messages": [HumanMessage(task)]}, config)
    return message_text(state["messages"][-1])


async def arun_subgraph(graph: CompiledStateGraph, task: str, config: RunnableConfig | None = None) -> str:
    """Async :func:`run_subgraph`."""
    state = await graph.ainvoke({"messages": [HumanMessage(task)]}, config)
    return message_text(state["messages"][-1])


def answer_node(
    model: BaseChatModel,
    instructions: Callable[[Any], str],
    name: str,
    settled: Callable[[Any], str | None] | None = None,
) -> Runnable:
    """A node that answers the conversation with ``instructions(state)`` as its system message.

    The answer is appended to ``messages`` as an ``AIMessage``, so every pattern ends the way the
    ReAct graph does: the last message is the reply to the user. When ``settled(state)`` returns
    a text, that is the answer and no model call is made (the work already agreed on one). A reply
    that is no answer (empty, the question said back: :func:`answer_problem`) is sent back once.
    """

    def answering(state: Any) -> Exchange[Request, BaseMessage, dict[str, Any]]:
        text = settled(state) if settled is not None else None
        if text is not None:
            return {"messages": [AIMessage(text)]}
        messages: list[BaseMessage] = [SystemMessage(instructions(state)), *state["messages"]]
        reply = yield from checked_answer(messages, state["messages"])
        return {"messages": [reply]}

    # No tools are bound here, so a request that asks for a call is answered as any other.
    def answer(state: Any, config: RunnableConfig) -> dict[str, Any]:
        return drive(answering(state), lambda request: model.invoke(request.messages, config))

    async def aanswer(state: Any, config: RunnableConfig) -> dict[str, Any]:
        return await adrive(answering(state), lambda request: model.ainvoke(request.messages, config))

    return node(answer, aanswer, name)
