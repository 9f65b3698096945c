"""``Agent``: a model, MCP servers, tools and a pattern wired together, with sync and async runs.

Example:
    >>> from mcploom import Agent
    >>> servers = {"utility": {"command": "python", "args": ["-m", "mcploom.mcp_servers.utility"]}}
    >>> with Agent(model="local", servers=servers) as agent:  # doctest: +SKIP
    ...     print(agent.run("What is 1234 * 5678? Use the calculator.").answer)
    7006652

MCP prompts become runs (``agent.run(agent.prompt("server", "name", arg="..."))``) and MCP
resources attach to a question (``agent.run("Summarize it", resources=["docs://a.md"])``).

A run that reaches a tool needing approval pauses (``RunResult.pending``); ``resume(thread_id,
decision)`` continues it, in this process or a later one, since threads live in the checkpointer.
"""

from __future__ import annotations

import fnmatch
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, AsyncExitStack
from dataclasses import dataclass, field
from typing import Any, Self

from anyio.from_thread import BlockingPortal, start_blocking_portal
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AnyMessage, BaseMessage, HumanMessage
from langchain_core.tools import BaseTool, tool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command

from mcploom.agents.checkpoints import DURABILITY, open_checkpointer
from mcploom.agents.elicitation import ElicitationHandler
from mcploom.agents.errors import ConfigError, EmptyAnswerError
from mcploom.agents.events import AgentEvent, Answer, ApprovalRequest, ModelUsage, PendingCall
from mcploom.agents.mcp_client import MCPToolkit
from mcploom.agents.mcp_content import prompt_messages, resource_text
from mcploom.agents.models import explain_model_error, load_chat_model
from mcploom.agents.parameters import PARAMETERS, check_setting, parameters_doc
from mcploom.agents.patterns import answer_node, build_pattern_graph, check_options
from mcploom.agents.retrieval import Prefetch
from mcploom.agents.routing import QueryFirst
from mcploom.agents.streaming import STREAM_MODES, RunEvents, pending_calls
from mcploom.agents.tracing import open_sinks, trace_path
from mcploom.agents.types import Approval, Decision
from mcploom.agents.usage import PriceTable, UsageRecorder
from mcploom.graphs.types import ACTIONS, Pattern

__all__ = ["Agent", "Question", "RunResult"]

Question = str | Sequence[BaseMessage]
"""What a run answers: the user's text, or messages ending with the user's (an MCP prompt's)."""

DEFAULT_SYSTEM_PROMPT = (
    "You are a helpful assistant. Use the tools when they help, and answer from their results. Be concise."
)


@dataclass(frozen=True)
class RunResult:
    """The outcome of one run: an answer, or tool calls waiting for approval."""

    answer: str
    """The final answer text ("" while the run waits for approval)."""
    messages: list[AnyMessage]
    """The whole thread after the run."""
    tool_calls: list[dict[str, Any]]
    """Tool calls made during this run at any depth (plan steps, workers), in order (name, args, id)."""
    thread_id: str
    """Pass it back to continue the conversation, or to ``resume`` a paused run."""
    usage: dict[str, int] = field(default_factory=dict)
    """Tokens in and out, summed over this run's model calls."""
    cost: float | None = None
    """US dollars for this run's model calls, when every model's price is known (local: 0.0)."""
    model_calls: list[ModelUsage] = field(default_factory=list)
    """Each model call's tokens and cost."""
    pending: list[PendingCall] = field(default_factory=list)
    """Tool calls waiting for approval; empty when the run finished."""

    @property
    def paused(self) -> bool:
        """Whether the run waits for a decision (see ``Agent.resume``)."""
        return bool(self.pending)


class Agent:
    """A model, MCP servers and tools, and a pattern, as one object.

    Use it as a context manager (``with`` or ``async with``) to keep the MCP sessions and the
    checkpointer open across runs; outside one, each run opens and closes them.

    Every argument is checked here, as a config file's are (``mcploom.agents.parameters``, whose
    help texts follow as ``Args``); a bad one raises ``ConfigError`` saying which and how to fix it.
    """

    def __init__(
        self,
        model: str | BaseChatModel = "local",
        servers: Mapping[str, Any] | str | os.PathLike[str] | None = None,
        *,
        pattern: Pattern = "react",
        system_prompt: str | None = None,
        tools: Sequence[BaseTool | Callable[..., Any]] = (),
        checkpointer: BaseCheckpointSaver | str | os.PathLike[str] | None = None,
        approval: Approval = "destructive",
        approval_tools: Sequence[str] = (),
        workers: Mapping[str, Mapping[str, Any]] | None = None,
        options: Mapping[str, Any] | None = None,
        max_iterations: int = 8,
        call_timeout: float | None = 60.0,
        model_options: Mapping[str, Any] | None = None,
        trace: bool | str | os.PathLike[str] = False,
        retrieve_first: bool = True,
        query_first: bool = True,
        elicitation: ElicitationHandler | None = None,
    ) -> None:
        # The arguments, by name, as PARAMETERS declares them: each checked by the same rule a
        # config file's value is.
        given = {name: value for name, value in locals().items() if name in PARAMETERS}
        settings = {name: check_setting(name, value, f"Agent({name}=...)") for name, value in given.items()}
        self.pattern: Pattern = settings["pattern"]
        self.options = settings["options"]
        self.workers = settings["workers"]
        check_options(self.pattern, self.options, self.workers)
        model = settings["model"]
        self.model = model if isinstance(model, BaseChatModel) else load_chat_model(model, **settings["model_options"])
        self.model_name = model if isinstance(model, str) else type(model).__name__
        self.prices = PriceTable.load()
        self.system_prompt = DEFAULT_SYSTEM_PROMPT if settings["system_prompt"] is None else settings["system_prompt"]
        self.extra_tools = [t if isinstance(t, BaseTool) else tool(t) for t in tools]
        self.approval: Approval = settings["approval"]
        self.approval_tools = tuple(settings["approval_tools"])
        self.max_iterations: int = settings["max_iterations"]
        self.trace = settings["trace"]
        self.retrieve_first: bool = settings["retrieve_first"]
        self.query_first: bool = settings["query_first"]
        self._prefetch: Prefetch | None = None
        self._route: QueryFirst | None = None
        self.answer_node = answer_node(self.pattern)
        self._checkpointer_spec = settings["checkpointer"]
        self.checkpointer: BaseCheckpointSaver | None = None
        """The open checkpointer (inside the context manager)."""
        self._toolkit = MCPToolkit(
            servers or {}, call_timeout=settings["call_timeout"], elicitation=settings["elicitation"]
        )
        self._stack: AsyncExitStack | None = None
        self._graph: CompiledStateGraph | None = None
        self._revision = 0  # the toolkit revision the graph was built on
        self._portal_cm: AbstractContextManager[BlockingPortal] | None = None
        self._portal: BlockingPortal | None = None

    @classmethod
    def from_config(cls, name: str | None = None, path: str | os.PathLike[str] | None = None, **overrides: Any) -> Self:
        """The agent ``name`` declared in a TOML config file (see ``mcploom.agents.config.settings``).

        ``overrides`` replace settings from the file (e.g. ``tools=[...]``, which a file cannot hold).
        """
        from mcploom.agents.config.settings import load_agent_settings

        return cls(**{**load_agent_settings(name, path), **overrides})

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

    def needs_approval(self, tool: BaseTool) -> bool:
        """Whether calls of ``tool`` pause for a decision under this agent's approval settings."""
        if any(fnmatch.fnmatchcase(tool.name, pattern) for pattern in self.approval_tools):
            return True
        if self.approval != "destructive":
            return self.approval == "always"
        hints = tool.metadata or {}
        if hints.get("listed_late"):
            return True  # hints a server gives after its first listing cannot lower the gate (a "rug pull")
        # Only MCP tools carry hints; MCP reads a tool without them as possibly destructive.
        return "mcp_server" in hints and not hints.get("readOnlyHint") and bool(hints.get("destructiveHint"))

    async def __aenter__(self) -> Self:
        stack = AsyncExitStack()
        try:
            await stack.enter_async_context(self._toolkit)
            self.checkpointer = await stack.enter_async_context(open_checkpointer(self._checkpointer_spec))
            await self._build()
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack
        return self

    async def _build(self) -> None:
        """The graph over the toolkit's current tools (again after a server changed its listing)."""
        tools = self.tools
        self._prefetch = Prefetch.find(self._toolkit.servers, tools) if self.retrieve_first else None
        self._route = await QueryFirst.find(self._toolkit.servers, tools) if self.query_first else None
        self._graph = build_pattern_graph(
            self.pattern,
            model=self.model,
            tools=tools,
            system_prompt=self.system_prompt,
            max_iterations=self.max_iterations,
            approval={t.name for t in tools if self.needs_approval(t)},
            checkpointer=self.checkpointer,
            options=self.options,
            workers=self.workers,
            servers=self._toolkit.servers,
        )
        self._revision = self._toolkit.revision

    async def __aexit__(self, *exc_info: Any) -> None:
        self._graph = self.checkpointer = self._prefetch = self._route = None
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.__aexit__(*exc_info)

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

    async def arun(
        self, question: Question, *, thread_id: str | None = None, resources: Sequence[str] = ()
    ) -> RunResult:
        """Answer ``question`` (a text, or messages such as :meth:`aprompt`'s); pass ``thread_id`` to
        continue an earlier conversation, ``resources`` (MCP resource URIs) to attach their text
        to the question."""
        run = _Run(thread_id or uuid.uuid4().hex, self.prices, tokens=False)
        return await run.result(self._stream(_Ask.of(question, resources), run))

    async def aresume(self, thread_id: str, decision: Decision | None = None) -> RunResult:
        """Continue a paused or interrupted run of ``thread_id`` (see :meth:`astream_resume`)."""
        run = _Run(thread_id, self.prices, tokens=False)
        return await run.result(self._stream(_Resume(decision), run))

    async def astream(
        self, question: Question, *, thread_id: str | None = None, resources: Sequence[str] = ()
    ) -> AsyncIterator[AgentEvent]:
        """Yield the run's events as they happen (see ``mcploom.agents.events``), ending with ``Answer``
        or, when tool calls wait for approval, ``ApprovalRequest``. Arguments as :meth:`arun`'s."""
        run = _Run(thread_id or uuid.uuid4().hex, self.prices)
        async for event in self._stream(_Ask.of(question, resources), run):
            yield event

    async def aprompt(self, server: str, name: str, **arguments: str) -> list[BaseMessage]:
        """The MCP prompt ``name`` of ``server`` filled in with ``arguments``, as messages to run
        (``agent.run(agent.prompt(...))``).

        Raises:
            ServerRequestError: the server or prompt is unknown, or a required argument is missing
                (the message names them and the arguments the prompt takes).
        """
        if self._graph is None:
            async with self:
                return await self.aprompt(server, name, **arguments)
        return prompt_messages(await self._toolkit.get_prompt(server, name, arguments))

    async def astream_resume(self, thread_id: str, decision: Decision | None = None) -> AsyncIterator[AgentEvent]:
        """Continue ``thread_id``: with ``decision`` for the tool calls it waits on, or, with
        none, a run that stopped half-way (a crash, a kill): it goes on from its last finished
        step, so tool calls that had returned do not run again."""
        async for event in self._stream(_Resume(decision), _Run(thread_id, self.prices)):
            yield event

    async def apending(self, thread_id: str) -> list[PendingCall]:
        """The tool calls ``thread_id`` waits on (empty when it waits on nothing)."""
        if self._graph is None:
            async with self:
                return await self.apending(thread_id)
        snapshot = await self.graph.aget_state(_config(thread_id))
        return pending_calls(list(snapshot.interrupts))

    async def _stream(self, request: _Ask | _Resume, run: _Run) -> AsyncIterator[AgentEvent]:
        if self._graph is None:
            async with self:
                async for event in self._stream(request, run):
                    yield event
            return
        if self._toolkit.revision != self._revision:
            await self._build()  # a server changed its tools: this run's model sees the new set
        if isinstance(request, _Resume):
            run_input = await self._resume_input(request, run.thread_id)
        else:
            run_input = await self._with_context(request)
        with open_sinks(
            self._trace_path(run.thread_id), thread_id=run.thread_id, pattern=self.pattern, model=self.model_name
        ) as sinks:
            async for event in self._events(run_input, run):
                sinks.write(event)
                yield event

    async def _with_context(self, request: _Ask) -> dict[str, Any]:
        """A new question's input: its attached resources' text before the question; then the
        on-topic passages of the retrieval-first search after it, or else, when it names a table
        of a bound sql server, that server's query as the tool the first turn calls."""
        *before, question = request.messages
        if request.resources:
            attached = [await self._attachment(uri) for uri in request.resources]
            question = HumanMessage("\n\n".join([*attached, question.text]))
        context = await self._prefetch.messages(question.text) if self._prefetch is not None else []
        if context:
            # A fresh budget: the search is the framework's step, not one of the model's iterations.
            return {"messages": [*before, question, *context], "iterations": 0, "first_tool": None}
        # Always set, so a thread's next question does not inherit the last one's choice.
        first_tool = self._route.tool_for(question.text) if self._route is not None else None
        return {"messages": [*before, question], "first_tool": first_tool}

    async def _attachment(self, uri: str) -> str:
        return f"Attached resource {uri}:\n{resource_text(await self._toolkit.read_resource(uri), uri)}"

    async def _events(self, run_input: Any, run: _Run) -> AsyncIterator[AgentEvent]:
        config = {**_config(run.thread_id), "callbacks": [run.usage]}
        modes = STREAM_MODES if run.tokens else [mode for mode in STREAM_MODES if mode != "messages"]
        try:
            async for namespace, mode, payload in self.graph.astream(
                run_input, config, stream_mode=modes, subgraphs=True, durability=DURABILITY
            ):
                for event in run.events.feed(namespace, mode, payload):
                    yield event
                for usage in run.usage.drain():
                    yield usage
        except Exception as exc:
            failed = explain_model_error(exc, self.model_name, run.thread_id)
            if failed is None:
                raise
            raise failed from exc
        if run.events.interrupts:
            yield ApprovalRequest(pending_calls(run.events.interrupts), run.thread_id)
        else:
            messages = run.events.state.get("messages") or [None]
            text = getattr(messages[-1], "text", "")
            if not text.strip():
                raise EmptyAnswerError(_why_empty(messages[-1], self.model_name, run.thread_id))
            yield Answer(text, run.usage.totals(), run.usage.cost())

    def _trace_path(self, thread_id: str) -> str | os.PathLike[str] | None:
        if self.trace is True:
            return trace_path(thread_id)
        return self.trace or None

    async def _resume_input(self, request: _Resume, thread_id: str) -> Command | None:
        snapshot = await self.graph.aget_state(_config(thread_id))
        if snapshot.interrupts:
            return Command(resume=_resume_map(list(snapshot.interrupts), request.decision, thread_id))
        if request.decision is not None:
            raise ConfigError(f"Thread {thread_id!r} waits for no approval, so there is nothing to decide.")
        if not snapshot.next:
            raise ConfigError(
                f"Thread {thread_id!r} has no unfinished run to resume; ask a new question with that thread_id."
            )
        return None

    # --- blocking versions ------------------------------------------------------------------

    def run(self, question: Question, *, thread_id: str | None = None, resources: Sequence[str] = ()) -> RunResult:
        """Blocking :meth:`arun`."""
        return self._call(lambda: self.arun(question, thread_id=thread_id, resources=resources))

    def resume(self, thread_id: str, decision: Decision | None = None) -> RunResult:
        """Blocking :meth:`aresume`."""
        return self._call(lambda: self.aresume(thread_id, decision))

    def pending(self, thread_id: str) -> list[PendingCall]:
        """Blocking :meth:`apending`."""
        return self._call(lambda: self.apending(thread_id))

    def stream(
        self, question: Question, *, thread_id: str | None = None, resources: Sequence[str] = ()
    ) -> Iterator[AgentEvent]:
        """Blocking :meth:`astream`: yields events as they happen."""
        return self._iterate(lambda: self.astream(question, thread_id=thread_id, resources=resources))

    def prompt(self, server: str, name: str, **arguments: str) -> list[BaseMessage]:
        """Blocking :meth:`aprompt`."""
        return self._call(lambda: self.aprompt(server, name, **arguments))

    def stream_resume(self, thread_id: str, decision: Decision | None = None) -> Iterator[AgentEvent]:
        """Blocking :meth:`astream_resume`."""
        return self._iterate(lambda: self.astream_resume(thread_id, decision))

    def _call(self, make: Callable[[], Any]) -> Any:
        if self._portal is None:
            with self:
                return self._call(make)
        return self._portal.call(make)

    def _iterate(self, make: Callable[[], AsyncIterator[AgentEvent]]) -> Iterator[AgentEvent]:
        if self._portal is None:
            with self:
                yield from self._iterate(make)
            return
        with self._portal.wrap_async_context_manager(_Collector(make())) as it:
            while True:
                event = self._portal.call(it.next)
                if event is None:
                    return
                yield event


@dataclass
class _Resume:
    decision: Decision | None


@dataclass(frozen=True)
class _Ask:
    """A new question: its messages (the last one the user's) and the resources to attach to it."""

    messages: list[BaseMessage]
    resources: tuple[str, ...]

    @classmethod
    def of(cls, question: Question, resources: Sequence[str]) -> _Ask:
        messages = [HumanMessage(question)] if isinstance(question, str) else list(question)
        if not messages or not isinstance(messages[-1], HumanMessage):
            raise ConfigError(
                "A question given as messages must end with the user's message (a HumanMessage), "
                "as an MCP prompt's messages do; pass a text to ask a plain question."
            )
        return cls(messages, tuple(resources))


def _why_empty(last: Any, model: str, thread_id: str) -> str:
    """The one-line error for a run that ended without answer text, with what the last reply held."""
    unfinished = getattr(last, "invalid_tool_calls", None)
    if unfinished:
        what = f"a tool call it did not finish ({' '.join(str(unfinished[0].get('error', '')).split())[:160]})"
    elif (getattr(last, "response_metadata", None) or {}).get("finish_reason") == "length":
        what = "a reply cut off at its token limit"
    else:
        what = "an empty reply"
    return (
        f"The model {model} ended the run without an answer: its last turn was {what}, even after it was asked "
        f"again. The thread {thread_id} is saved: ask again in it, rephrase, raise max_tokens, or use a larger model."
    )


def _config(thread_id: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}}


class _Run:
    """One run's thread, event translator and usage recorder, and the ``RunResult`` they make."""

    def __init__(self, thread_id: str, prices: PriceTable, *, tokens: bool = True) -> None:
        self.thread_id = thread_id
        self.tokens = tokens
        """Whether to stream tokens: ``arun`` does not, since the model streaming them costs time."""
        self.events = RunEvents()
        self.usage = UsageRecorder(prices)

    async def result(self, events: AsyncIterator[AgentEvent]) -> RunResult:
        last: AgentEvent | None = None
        async for last in events:  # noqa: B007 - only the closing event is needed
            pass
        return RunResult(
            answer=last.text if isinstance(last, Answer) else "",
            messages=list(self.events.state.get("messages", [])),
            tool_calls=[{"name": c.name, "args": c.args, "id": c.id} for c in self.events.tool_calls],
            thread_id=self.thread_id,
            usage=self.usage.totals(),
            cost=self.usage.cost(),
            model_calls=self.usage.calls,
            pending=last.calls if isinstance(last, ApprovalRequest) else [],
        )


def _resume_map(interrupts: list[Any], decision: Decision | None, thread_id: str) -> dict[str, Any]:
    """``Command(resume=...)`` for every pending interrupt, checked so a typo cannot slip through."""
    pending = pending_calls(interrupts)
    listing = ", ".join(f"{c.name} (id {c.id})" for c in pending)
    if decision is None:
        raise ConfigError(f"Thread {thread_id!r} waits for approval of: {listing}. Pass a decision to resume it.")
    one = _decision(decision) if isinstance(decision, str) or "action" in decision else None
    if one is None:
        unknown = set(decision) - {c.id for c in pending}
        if unknown:
            raise ConfigError(f"No pending tool call has id {sorted(unknown)}; pending: {listing}.")
    resume: dict[str, Any] = {}
    for interrupt in interrupts:
        calls = [call["id"] for call in interrupt.value["calls"]]
        resume[interrupt.id] = one or {call: _decision(decision[call]) for call in calls if call in decision}
    return resume


def _decision(value: Any) -> dict[str, Any]:
    decision = {"action": value} if isinstance(value, str) else dict(value)
    if decision.get("action") not in ACTIONS:
        raise ConfigError(f"Unknown decision {decision.get('action')!r}; use one of: {', '.join(ACTIONS)}.")
    if decision["action"] == "edit" and not isinstance(decision.get("args"), Mapping):
        raise ConfigError("An edit decision needs the new arguments: {'action': 'edit', 'args': {...}}.")
    return decision


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


# The argument docs come from the one declaration of the settings, so they cannot drift from it.
Agent.__doc__ = f"{Agent.__doc__.rstrip()}\n\n    Args:\n{parameters_doc(' ' * 8)}\n"
