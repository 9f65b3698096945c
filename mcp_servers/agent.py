"""Agent MCP server: an mcploom ``Agent`` (a model with its own MCP tools) as one tool, ``ask``.

Run it with ``python -m mcploom.mcp_servers.agent [--model SPEC] [--mcp-config PATH]`` (stdio), or
``--http --port 8000``. Claude Desktop (or any MCP client) can then delegate a question to a
local-model agent, or to any model spec ``mcploom.agents.models`` accepts.

- **Lazy:** the agent, its model and its MCP sessions are created on the first ``ask`` and kept
  for the server's life (closed when the server stops), so ``tools/list`` answers at once and
  later questions reuse the loaded model. Nothing heavy (``mcploom.agents.agent``: langgraph, llama.cpp)
  is imported before that first call.
- **Progress:** while it works, ``ask`` sends a progress notification per tool call and tool
  result and one per batch of answer tokens (at most one a second), plus an MCP log message
  (info) per tool call and result, to a client that asked for them.
- **Tools of the agent:** by default the utility server (``python -m mcploom.mcp_servers.utility``:
  calculator and clock); ``--mcp-config`` takes a file in Claude Desktop's ``mcpServers`` shape.
- **Annotations:** ``readOnlyHint`` is false and ``openWorldHint`` true: the agent decides at
  run time which of its tools to call, and a model may be a remote API. ``destructiveHint`` is
  false for the default (utility) tools and true with ``--mcp-config``: those servers are only
  started on the first call, so their tools cannot be vouched for when ``tools/list`` answers.
  ``idempotentHint`` is false: a model may answer differently each time.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
import uuid
import warnings
from collections.abc import Callable, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any

import anyio
import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp.types import EmptyResult, SetLevelRequestParams, ToolAnnotations
from pydantic import BaseModel, Field

from mcploom.agents.describe import call_text, clip, progress_text
from mcploom.graphs.types import PATTERN_SUMMARIES, Pattern
from mcploom.mcp_servers import default_servers
from mcploom.mcp_servers._serve import ServerCommand, existing_file
from mcploom.mcp_servers._server import McploomServer
from mcploom.mcp_servers._stdio import lowlevel_server

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from mcploom.agents.agent import Agent

__all__ = [
    "AgentFactory",
    "ASK_SETTINGS",
    "AskPattern",
    "AskResult",
    "ToolCallRecord",
    "Usage",
    "create_server",
    "COMMAND",
    "default_agent_factory",
    "main",
]

logger = logging.getLogger(__name__)

AskPattern = Pattern
"""The agent patterns ``ask`` offers: every one ``Agent`` runs (``mcploom.graphs.types``)."""

PATTERN_HELP = "How the agent works: " + "; ".join(f"'{name}' {what}" for name, what in PATTERN_SUMMARIES.items()) + "."

ASK_SETTINGS: Mapping[str, Any] = {"approval": "never"}
"""How ``ask``'s agents run: no call waits for approval, since nobody can answer in the middle of an
MCP tool call; the client approves ``ask`` itself instead (its ``destructiveHint`` says when the
agent's tools may be destructive). Threads live per question in memory and are deleted after it,
unless the server is started with ``--checkpointer``: then they persist, ``ask`` returns each
answer's ``thread`` and takes it back to continue, and replicas sharing one Postgres
checkpointer continue each other's threads."""

AgentFactory = Callable[[AskPattern], "Agent"]
"""Builds the (not yet entered) ``Agent`` for a pattern; called once per pattern, in a worker thread."""

DEFAULT_MODEL = "local"
TOKEN_BATCH_SECONDS = 1.0
"""Answer tokens are reported at most once per this many seconds (and once more at the end)."""
MAX_RESULT_CHARS = 2000
"""A tool result's text is cut to this many characters in the structured result."""
MAX_MESSAGE_CHARS = 200
"""Progress and log messages are cut to this many characters."""
MAX_QUESTION_CHARS = 100_000
"""The longest question ``ask`` takes."""


class ToolCallRecord(BaseModel):
    """One tool call the agent made, with what it got back."""

    name: str = Field(description="The tool the agent called.")
    arguments: dict[str, Any] = Field(description="The arguments it passed.")
    result: str | None = Field(
        default=None, description=f"The tool's answer as the agent saw it (first {MAX_RESULT_CHARS} characters)."
    )
    is_error: bool = Field(default=False, description="True if the tool reported an error.")


class Usage(BaseModel):
    """Model tokens spent on the question, summed over the agent's model calls."""

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0


class AskResult(BaseModel):
    """The agent's answer, the tool calls behind it and the tokens it cost."""

    answer: str = Field(description="The agent's final answer.")
    tool_calls: list[ToolCallRecord] = Field(description="The agent's tool calls, in order.")
    usage: Usage = Field(description="Model tokens spent (zero where the model does not report them).")
    thread: str | None = Field(
        default=None, description="Pass it back as `thread` to continue this conversation (null: not kept)."
    )


def default_agent_factory(
    model: str = DEFAULT_MODEL, servers: Mapping[str, Any] | str | None = None, checkpointer: str = "memory"
) -> AgentFactory:
    """An ``AgentFactory`` for ``Agent(model=model, servers=servers, pattern=..., checkpointer=...)``.

    Args:
        model: A model spec (``local``, ``anthropic:<model>``, ...; see ``mcploom.agents.models``).
        servers: MCP servers in Claude Desktop's ``mcpServers`` shape, or a path to such a JSON
            file (default: :func:`default_servers`).
        checkpointer: Where threads live (``memory``: per question only; see ``ASK_SETTINGS``).
    """

    def build(pattern: AskPattern) -> Agent:
        from mcploom.agents.agent import Agent  # langgraph and friends: only on the first ask
        from mcploom.agents.elicitation import decline

        return Agent(
            model=model,
            servers=servers if servers is not None else default_servers(),
            pattern=pattern,
            checkpointer=checkpointer,
            elicitation=decline,  # no person at this end to ask: a server's request for input is declined
            **ASK_SETTINGS,
        )

    return build


class _Agents:
    """The server's agents, one per pattern, created and entered on first use and closed at shutdown."""

    def __init__(self, factory: AgentFactory) -> None:
        self._factory = factory
        self._agents: dict[AskPattern, Agent] = {}
        self._lock = anyio.Lock()

    def started(self, pattern: AskPattern) -> bool:
        return pattern in self._agents

    async def get(self, pattern: AskPattern) -> Agent:
        async with self._lock:
            if pattern not in self._agents:
                agent = await anyio.to_thread.run_sync(self._factory, pattern)
                await agent.__aenter__()  # starts its MCP servers; closes any it started if one fails
                self._agents[pattern] = agent
            return self._agents[pattern]

    async def aclose(self) -> None:
        async with self._lock:
            agents, self._agents = list(self._agents.values()), {}
        for agent in reversed(agents):
            try:
                await agent.__aexit__(None, None, None)
            except Exception:
                logger.exception("Closing the agent's MCP sessions failed")


_LOG_LEVELS = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")
"""MCP's log levels (RFC 5424's), lowest first."""


class _LogLevel:
    """The lowest level of log message the client asked for with ``logging/setLevel`` (default info)."""

    def __init__(self) -> None:
        self.name = "info"

    def wants(self, level: str) -> bool:
        return _LOG_LEVELS.index(level) >= _LOG_LEVELS.index(self.name)

    def serve(self, server: MCPServer) -> None:
        """Answer ``logging/setLevel`` on ``server``, which thereby declares the logging capability
        (the spec requires it of a server that sends ``notifications/message``)."""

        async def set_level(_: Any, params: SetLevelRequestParams) -> EmptyResult:
            self.name = params.level
            return EmptyResult()

        lowlevel_server(server).add_request_handler("logging/setLevel", SetLevelRequestParams, set_level)


class _Reporter:
    """Progress notifications (monotonic counter, no total) and log messages for one ``ask``."""

    def __init__(self, ctx: Context, level: _LogLevel) -> None:
        self._ctx = ctx
        self._level = level
        self._step = 0

    async def progress(self, message: str) -> None:
        self._step += 1
        await self._ctx.report_progress(self._step, message=clip(message, MAX_MESSAGE_CHARS))

    async def log(self, message: str) -> None:
        # MCP logging is deprecated from protocol 2026-07-28 (SEP-2577) but is what clients such as
        # Claude Desktop and the Inspector show today; a log that cannot be sent never fails the run.
        if not self._level.wants("info"):
            return
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", MCPDeprecationWarning)
                await self._ctx.info(clip(message, MAX_MESSAGE_CHARS), logger_name="mcploom.agent")
        except Exception as exc:
            logger.debug("Could not send a log message to the client: %s", exc)


def create_server(
    agent_factory: AgentFactory | None = None, *, about: str = "", destructive: bool = False, keep_threads: bool = False
) -> MCPServer:
    """Build the agent server with its one tool, ``ask``.

    Args:
        agent_factory: Builds the ``Agent`` for a pattern on the first ``ask`` (default: the
            ``local`` model with the utility server). Tests inject one on a scripted model.
        about: A sentence on the agent's model and tools, appended to the tool's description.
        destructive: Whether the agent's tools may be destructive (sets ``destructiveHint``).
        keep_threads: Keep each question's thread (the agents' checkpointer persists them) so
            ``ask(thread=...)`` continues it; otherwise threads are deleted after each question.

    Example:
        >>> server = create_server(default_agent_factory("local"))
        >>> server.name
        'mcploom-agent'
    """
    agents = _Agents(agent_factory or default_agent_factory())

    @asynccontextmanager
    async def lifespan(_: MCPServer) -> AsyncIterator[dict[str, Any]]:
        try:
            yield {}
        finally:
            await agents.aclose()

    server = McploomServer(
        "mcploom-agent",
        instructions="Delegate a question to an mcploom agent: a model that calls its own tools, then answers.",
        lifespan=lifespan,
    )
    level = _LogLevel()
    level.serve(server)
    annotations = ToolAnnotations(
        title="Ask the mcploom agent",
        readOnlyHint=False,
        destructiveHint=destructive,
        idempotentHint=False,
        openWorldHint=True,
    )
    description = (
        "Ask an mcploom agent a question: it reasons, calls its own tools as needed and returns the answer "
        "with the tool calls it made. Use it to delegate a self-contained task or question."
    )
    if about:
        description += " " + about

    @server.tool(annotations=annotations, description=description)
    async def ask(
        question: Annotated[
            str,
            Field(
                description="The question or task, self-contained unless `thread` continues an earlier one.",
                max_length=MAX_QUESTION_CHARS,
            ),
        ],
        ctx: Context,
        pattern: Annotated[AskPattern, Field(description=PATTERN_HELP)] = "react",
        thread: Annotated[
            str | None,
            Field(description="The `thread` of an earlier answer, to continue that conversation.", max_length=200),
        ] = None,
    ) -> AskResult:
        if thread is not None and not keep_threads:
            raise ToolError(
                "This agent server keeps no conversations, so `thread` cannot continue one; ask a self-contained "
                "question (its operator can start it with --checkpointer to keep threads)."
            )
        report = _Reporter(ctx, level)
        if not agents.started(pattern):
            await report.progress("Starting the agent: loading its model and starting its MCP servers")
        try:
            agent = await agents.get(pattern)
        except Exception as exc:
            raise ToolError(f"The agent could not start: {exc}") from None
        return await _answer(agent, question, report, thread, keep_threads)

    return server


async def _answer(agent: Agent, question: str, report: _Reporter, thread: str | None, keep: bool) -> AskResult:
    """Run ``question`` through ``agent``, reporting as events arrive; the thread is dropped
    afterwards unless ``keep``."""
    from mcploom.agents.events import Answer, Progress, Token, ToolCall, ToolResult

    thread_id = thread or uuid.uuid4().hex
    calls: dict[str, ToolCallRecord] = {}
    written = ""
    unreported = 0
    last_report = time.monotonic()
    answer = Answer("")

    async def report_tokens() -> None:
        nonlocal unreported, last_report
        if unreported:
            unreported, last_report = 0, time.monotonic()
            await report.progress(f"Writing the answer: {len(written)} characters so far")

    try:
        async for event in agent.astream(question, thread_id=thread_id):
            if isinstance(event, Token):
                written += event.text
                unreported += 1
                if time.monotonic() - last_report >= TOKEN_BATCH_SECONDS:
                    await report_tokens()
                continue
            await report_tokens()
            if isinstance(event, ToolCall):
                calls[event.id] = ToolCallRecord(name=event.name, arguments=dict(event.args))
                message = f"Calling {call_text(event.name, event.args)}"
                await report.progress(message)
                await report.log(message)
            elif isinstance(event, ToolResult):
                record = calls.setdefault(event.id, ToolCallRecord(name=event.name, arguments={}))
                record.result, record.is_error = event.content[:MAX_RESULT_CHARS], event.is_error
                message = f"{event.name} {'failed' if event.is_error else 'returned'}: {event.content}"
                await report.progress(message)
                await report.log(message)
            elif isinstance(event, Progress):
                await report.progress(progress_text(event))
            elif isinstance(event, Answer):
                answer = event
    except Exception as exc:
        raise ToolError(f"The agent failed while answering: {type(exc).__name__}: {exc}") from None
    finally:
        if not keep:
            await _forget(agent, thread_id)
    return AskResult(
        answer=answer.text,
        tool_calls=list(calls.values()),
        usage=Usage(**answer.usage),
        thread=thread_id if keep else None,
    )


async def _forget(agent: Agent, thread_id: str) -> None:
    """Drop a finished question's thread, so a long-lived server does not keep every conversation."""
    try:
        with anyio.CancelScope(shield=True):
            await agent.checkpointer.adelete_thread(thread_id)
    except Exception as exc:  # a checkpointer that cannot delete keeps the thread; nothing else is lost
        logger.debug("Could not delete thread %s: %s", thread_id, exc)


def _describe(model: str, servers: Mapping[str, Any]) -> str:
    return f"It runs the model {model!r} with tools from the MCP servers: {', '.join(servers) or 'none'}."


def _model_spec(text: str) -> str:
    """An argparse type: a model spec, checked (nothing is loaded)."""
    from mcploom.agents.errors import ConfigError
    from mcploom.agents.models import ModelSpec

    try:
        return str(ModelSpec.parse(text))
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _checkpointer(text: str) -> str:
    """An argparse type: a checkpointer spec, checked (nothing is opened), a SQLite path made absolute
    (a client such as Claude Desktop starts the server in a folder of its own)."""
    from mcploom.agents.config.checkpointers import POSTGRES_SCHEMES, check_checkpointer, sqlite_path
    from mcploom.agents.errors import ConfigError

    try:
        spec = str(check_checkpointer(text))
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if spec == "memory" or spec.startswith(POSTGRES_SCHEMES):
        return spec
    return f"sqlite://{sqlite_path(spec).absolute()}"


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    from mcploom.agents.config.checkpointers import CHECKPOINTER_FORMS
    from mcploom.agents.models import SPEC_FORMS

    parser.add_argument(
        "--model",
        "-m",
        type=_model_spec,
        default=None,
        help=f"Model spec: {', '.join(SPEC_FORMS)} (default: $MCPLOOM_MODEL or local).",
    )
    parser.add_argument(
        "--mcp-config",
        metavar="PATH",
        type=existing_file,
        help="JSON file with the agent's MCP servers in Claude Desktop's mcpServers shape (default: the utility server).",
    )
    parser.add_argument(
        "--checkpointer",
        type=_checkpointer,
        default="memory",
        help=f"Where threads live: {', '.join(CHECKPOINTER_FORMS)}. Default memory: each question alone. With a "
        "file or Postgres, ask returns a thread to continue, and replicas sharing one Postgres continue each other's.",
    )


def _from_arguments(args: argparse.Namespace) -> MCPServer:
    from mcploom.agents.config.servers import load_servers  # light: no langgraph, no model
    from mcploom.agents.errors import ConfigError

    servers: Mapping[str, Any] | str = default_servers() if args.mcp_config is None else str(args.mcp_config)
    try:
        # Read here, not as the option's default, so a config entry never bakes the shell's model in.
        model = args.model or _model_spec(os.environ.get("MCPLOOM_MODEL") or DEFAULT_MODEL)
        names = load_servers(servers)
    except (ConfigError, argparse.ArgumentTypeError) as exc:
        raise SystemExit(f"mcploom serve agent: {exc}") from None
    return create_server(
        default_agent_factory(model, servers, args.checkpointer),
        about=_describe(model, names),
        destructive=args.mcp_config is not None,
        keep_threads=args.checkpointer != "memory",
    )


COMMAND = ServerCommand("agent", __doc__.splitlines()[0], _from_arguments, _add_arguments)
"""``python -m mcploom.mcp_servers.agent [--model SPEC] [--mcp-config PATH]`` (``mcploom serve agent``)."""

main = COMMAND.main

if __name__ == "__main__":
    main()
