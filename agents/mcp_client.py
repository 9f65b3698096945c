"""Persistent MCP client sessions whose tools are LangChain ``StructuredTool``s.

:class:`MCPToolkit` starts every configured server at once, keeps one session per server for
the life of an ``async with`` block, and turns each MCP tool into a LangChain tool that a
LangGraph ``ToolNode`` (or any LangChain agent) can call:

- named like the MCP tool, or ``<server>__<tool>`` when two servers offer the same name;
- ``args_schema`` is the tool's JSON input schema, checked by the server;
- ``response_format="content_and_artifact"``: the model sees the text content, the artifact is
  the structured content (or, without one, the whole result as a JSON-ready dict);
- a result with ``isError`` raises ``ToolException`` with the server's message, and so do a dead
  server and a per-call timeout (:class:`MCPToolTimeout`), so a ``ToolNode`` with
  ``handle_tool_errors`` shows them to the model as observations;
- ``metadata`` holds the server name, the MCP tool name and the tool's annotations
  (``readOnlyHint``, ``destructiveHint``, ``idempotentHint``, ``openWorldHint``; when a server
  leaves one out, the MCP spec's default: false, true, false, true).

Servers' resources and prompts are listed at the start too (``servers[name].catalog``):
:meth:`MCPToolkit.read_resource` and :meth:`MCPToolkit.get_prompt` fetch them, and when a server
offers resources the tools include ``read_resource`` (``mcploom.agents.mcp_resources``), so a
model can read one, also one a tool result links to.

Each session lives in its own background task, so leaving the block (normally, on an
exception, or on cancellation) closes every session in the task that opened it: no anyio
"cancel scope in a different task" errors, no server processes left behind.
"""

from __future__ import annotations

import asyncio
import contextvars
import importlib.metadata
import json
import logging
import math
import os
import re
import struct
import threading
import time
import warnings
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self, TextIO, TypeVar

import anyio
import httpx2
import mcp_types as types
from langchain_core.tools import BaseTool, StructuredTool, ToolException
from langgraph.config import get_stream_writer
from mcp import Client, StdioServerParameters
from mcp.client.session import ProgressFnT
from mcp.client.sse import sse_client
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.client.subscriptions import ListenNotSupportedError
from mcp.shared.exceptions import MCPDeprecationWarning, MCPError
from mcp.shared.subscriptions import ServerEvent, ToolsListChanged

from mcploom.agents.config.servers import HttpServer, ServerConfig, StdioServer, load_servers
from mcploom.agents.elicitation import ElicitationHandler, mcp_callback
from mcploom.agents.errors import ServerRequestError, ServerStartError, ToolCallTimeout
from mcploom.agents.events import ToolProgress
from mcploom.agents.mcp_content import clip, resource_text, result_text
from mcploom.agents.mcp_resources import READ_RESOURCE, Catalog, owner, resource_tool
from mcploom.agents.types import Transport

__all__ = ["MCPToolTimeout", "MCPToolkit", "ServerInfo", "server_tools"]

logger = logging.getLogger(__name__)

ResultT = TypeVar("ResultT")

STDERR_TAIL_LINES = 20
"""How many of a server's last stderr lines an error message quotes."""

STDERR_KEEP_BYTES = 64 * 1024
"""How much of a server's stderr is kept (the rest is read and dropped)."""

MAX_RESULT_CHARS = 50_000
"""The most characters of one tool result a model reads; the structured artifact is kept whole."""

_CLOSE_TIMEOUT = 10.0
"""Bound on closing one session (the stdio transport alone needs up to ~6 s to kill a stuck server)."""

_TOOL_NAME_INVALID = re.compile(r"[^A-Za-z0-9_-]")
_MAX_TOOL_NAME = 64
_ANNOTATION_DEFAULTS = {
    "readOnlyHint": False,
    "destructiveHint": True,
    "idempotentHint": False,
    "openWorldHint": True,
}


def _mcploom_version() -> str:
    try:
        return importlib.metadata.version("mcploom")
    except importlib.metadata.PackageNotFoundError:  # running from a source checkout
        return "0.0.0"


_CLIENT_INFO = types.Implementation(name="mcploom", version=_mcploom_version())


class MCPToolTimeout(ToolException, ToolCallTimeout):
    """An MCP tool call ran past the toolkit's ``call_timeout``.

    A ``ToolException`` (the model sees it as an observation) and an
    :class:`mcploom.agents.errors.ToolCallTimeout` (callers can catch timeouts specifically).
    """


@dataclass(frozen=True)
class ServerInfo:
    """What one connected server told us about itself, for the CLI and logs.

    Attributes:
        name: The server's key in the configuration.
        transport: How it is reached.
        target: Its command line (stdio) or URL (HTTP).
        server_name: The name the server reports for itself (may differ from ``name``).
        server_version: The version it reports ("" when it reports none).
        protocol_version: The MCP protocol version negotiated with it.
        instructions: Its usage instructions for the model, if it gives any.
        tool_names: The LangChain names of its tools, in the server's order.
        catalog: Its resources, resource templates and prompts.
    """

    name: str
    transport: Transport
    target: str
    server_name: str
    server_version: str
    protocol_version: str
    instructions: str | None
    tool_names: tuple[str, ...]
    catalog: Catalog = Catalog()


def server_tools(
    servers: Mapping[str, ServerInfo], tools: Sequence[BaseTool], server_name: str, mcp_tool: str
) -> list[BaseTool]:
    """The tool ``mcp_tool`` of each connected server that reports itself as ``server_name``, in
    configuration order (how the framework finds, say, the search of an mcploom rag server)."""
    keys = [info.name for info in servers.values() if info.server_name == server_name]
    by_key = {
        (tool.metadata or {}).get("mcp_server"): tool
        for tool in tools
        if (tool.metadata or {}).get("mcp_tool") == mcp_tool
    }
    return [by_key[key] for key in keys if key in by_key]


class MCPToolkit:
    """Sessions to several MCP servers at once, with their tools as LangChain tools.

    Args:
        servers: The servers: a mapping of name to :class:`~mcploom.agents.config.servers.StdioServer` /
            :class:`~mcploom.agents.config.servers.HttpServer`, a dict in Claude Desktop's ``mcpServers`` shape,
            or a path to such a JSON file (anything :func:`mcploom.agents.config.servers.load_servers` accepts).
        call_timeout: Seconds one tool call may take before it fails with
            :class:`MCPToolTimeout`; ``None`` waits forever.
        start_timeout: Seconds each server has to start, complete the MCP handshake and list
            its tools.
        elicitation: Answers servers' requests for user input mid-call
            (:mod:`mcploom.agents.elicitation`); ``None``: elicitation is not offered.
        log_level: The least MCP log level each server that offers logging is asked to send
            (``"debug"`` ... ``"emergency"``); ``None`` leaves each at its own default. A server's
            log messages reach Python logging as ``mcploom.mcp.<server>``, at the matching level.

    Raises:
        ConfigError: ``servers`` is not a valid configuration (raised on construction).
        ServerStartError: On entering, a server failed to start; the message names it, its
            command line or URL, what went wrong and the last lines of its stderr. Servers that
            did start are closed again before this is raised.

    The toolkit belongs to the event loop that enters it. Entering and leaving may happen in
    different tasks of that loop (each session has its own task), so a synchronous API can keep
    the loop in a background thread: enter with ``asyncio.run_coroutine_threadsafe(
    toolkit.__aenter__(), loop)``, call ``tool.invoke(...)`` from any other thread (the call is
    handed to the loop), and leave the same way with ``__aexit__``.

    Example:
        >>> async def main() -> str:  # doctest: +SKIP
        ...     servers = {"utility": {"command": "python", "args": ["-m", "mcploom.mcp_servers.utility"]}}
        ...     async with MCPToolkit(servers, call_timeout=60.0) as toolkit:
        ...         calculate = next(t for t in toolkit.tools if t.name == "calculate")
        ...         return await calculate.ainvoke({"expression": "1234 * 5678"})
    """

    def __init__(
        self,
        servers: Mapping[str, Any] | str | os.PathLike[str],
        *,
        call_timeout: float | None = 60.0,
        start_timeout: float = 30.0,
        log_level: types.LoggingLevel | None = None,
        elicitation: ElicitationHandler | None = None,
    ) -> None:
        self.configs: dict[str, ServerConfig] = load_servers(servers)
        self.log_level = log_level
        self.elicitation = elicitation
        self.call_timeout = call_timeout
        self.start_timeout = start_timeout
        self._sessions: dict[str, _Session] = {}
        self._tools: list[BaseTool] = []
        self._entered = False
        self._home: _Home | None = None
        self._first_hints: dict[tuple[str, str], dict[str, Any]] = {}
        self.revision = 0
        """How many times a server changed its tools, resources or prompts since the start (``list_changed``)."""

    @property
    def tools(self) -> list[BaseTool]:
        """Every server's tools as LangChain tools (empty outside the ``async with`` block)."""
        return list(self._tools)

    @property
    def servers(self) -> dict[str, ServerInfo]:
        """What each connected server reported, by configured name."""
        return {name: session.info(self._tools) for name, session in self._sessions.items()}

    def stderr_tail(self, server: str, lines: int = STDERR_TAIL_LINES) -> str:
        """The last ``lines`` lines a stdio server wrote to stderr ("" for HTTP servers)."""
        return self._sessions[server].stderr_tail(lines)

    async def read_resource(self, uri: str, server: str | None = None) -> types.ReadResourceResult:
        """Read ``uri`` from ``server`` (by default the server that serves it: :func:`~mcploom.agents.mcp_resources.owner`).

        Raises:
            ServerRequestError: no connected server serves it, or the server answered with an error.
        """
        session = self._session(server) if server is not None else self._sessions[owner(uri, self._catalogs())]
        return await session.request(f"resource {uri!r}", lambda client: client.read_resource(uri))

    async def get_prompt(
        self, server: str, name: str, arguments: Mapping[str, str] | None = None
    ) -> types.GetPromptResult:
        """The prompt ``name`` of ``server`` filled in with ``arguments``.

        Raises:
            ServerRequestError: the server or prompt is unknown, a required argument is missing or
                one is not the prompt's, or the server answered with an error.
        """
        session = self._session(server)
        given = dict(arguments or {})
        _check_prompt_arguments(server, name, session.catalog.prompts, given)
        return await session.request(f"prompt {name!r}", lambda client: client.get_prompt(name, given))

    def _session(self, server: str) -> _Session:
        if server not in self._sessions:
            known = ", ".join(map(repr, self._sessions)) or "none (is the toolkit entered?)"
            raise ServerRequestError(f"No MCP server is named {server!r}; the connected ones: {known}.")
        return self._sessions[server]

    def _catalogs(self) -> dict[str, Catalog]:
        return {name: session.catalog for name, session in self._sessions.items()}

    async def _read_for_model(self, uri: str) -> tuple[str, Any]:
        try:
            result = await self.read_resource(uri)
        except ServerRequestError as exc:
            raise ToolException(str(exc)) from None
        return resource_text(result, uri), result.model_dump(mode="json", by_alias=True, exclude_none=True)

    async def __aenter__(self) -> Self:
        if self._entered:
            raise RuntimeError("MCPToolkit is already entered; create one toolkit per `async with` block.")
        self._entered = True
        failed = asyncio.Event()
        self._sessions = {
            name: _Session(config, self.start_timeout, failed, self.log_level, self.elicitation)
            for name, config in self.configs.items()
        }
        for session in self._sessions.values():
            session.start()
        try:
            await _wait_for_start(list(self._sessions.values()), failed)
        except BaseException:
            await self._close_all()
            raise
        errors = [session.start_error for session in self._sessions.values() if session.start_error is not None]
        if errors:
            await self._close_all()
            raise ServerStartError("\n\n".join(errors))
        self._home = _Home(asyncio.get_running_loop(), threading.get_ident())
        self._tools = self._assemble()
        self._first_hints = {
            _listed_as(tool): _hints(tool) for tool in self._tools if "mcp_tool" in (tool.metadata or {})
        }
        for session in self._sessions.values():
            session.on_change = self._changed
        logger.debug("MCP toolkit ready: %d servers, %d tools", len(self._sessions), len(self._tools))
        return self

    def _assemble(self) -> list[BaseTool]:
        """The sessions' tools as LangChain tools, and the ``read_resource`` tool when a server lists resources."""
        assert self._home is not None  # entered
        tools = _build_tools(list(self._sessions.values()), self.call_timeout, self._home)
        catalogs = self._catalogs()
        if any(catalog.offers_resources for catalog in catalogs.values()):
            taken = {tool.name for tool in tools}
            name = READ_RESOURCE if READ_RESOURCE not in taken else f"mcploom_{READ_RESOURCE}"
            read_sync = self._home.sync(self._read_for_model, "the MCP servers are")
            tools.append(resource_tool(catalogs, self._read_for_model, read_sync, name))
        return tools

    def _changed(self, server: str) -> None:
        """A server's listing changed: the tools are built again (what a graph bound stays as it was).
        A tool listed only now, or whose annotations changed, is marked ``listed_late``: hints
        a server gives after it was first listed do not lower the approval gate."""
        tools = self._assemble()
        for tool in tools:
            if "mcp_tool" in (tool.metadata or {}) and self._first_hints.get(_listed_as(tool)) != _hints(tool):
                tool.metadata = {**(tool.metadata or {}), "listed_late": True}
        self._tools = tools
        self.revision += 1
        logger.info(
            "MCP server %r changed its listing; the tools are now: %s", server, ", ".join(t.name for t in tools)
        )

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._tools = []
        self._home = None
        await self._close_all()

    async def _close_all(self) -> None:
        sessions = list(self._sessions.values())
        for session in sessions:
            session.stop()
        await _closed([session.task for session in sessions if session.task is not None])


async def _closed(tasks: Sequence[asyncio.Task[None]]) -> None:
    """Wait until session tasks have closed their sessions. They close in their own tasks; the wait
    is shielded from the caller's cancellation (asyncio's and anyio's), so that leaving on cancel
    still reaps every server process."""
    if tasks:
        with anyio.CancelScope(shield=True):
            await asyncio.shield(asyncio.gather(*tasks, return_exceptions=True))


async def _wait_for_start(sessions: list[_Session], failed: asyncio.Event) -> None:
    """Wait until every session is ready or one fails; on failure, abort the ones still starting."""
    waiters = {asyncio.ensure_future(session.done.wait()) for session in sessions}
    waiters.add(asyncio.ensure_future(failed.wait()))
    try:
        while not failed.is_set() and not all(session.done.is_set() for session in sessions):
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
    if failed.is_set():
        for session in sessions:
            session.abort()


class _Session:
    """One server's connection, owned by a background task from start to close."""

    def __init__(
        self,
        config: ServerConfig,
        start_timeout: float,
        failed: asyncio.Event,
        log_level: types.LoggingLevel | None,
        elicitation: ElicitationHandler | None,
    ) -> None:
        self.config = config
        self.elicitation = mcp_callback(config.name, elicitation) if elicitation is not None else None
        self.log_level = log_level
        self.server_log = logging.getLogger(f"mcploom.mcp.{config.name}")
        self.start_timeout = start_timeout
        self.failed = failed
        self.client: Client | None = None
        self.mcp_tools: list[types.Tool] = []
        self.catalog = Catalog()
        self.task: asyncio.Task[None] | None = None
        self._scope: anyio.CancelScope | None = None
        self._stderr: _StderrTail | None = None
        self.transport: Transport = config.transport  # the one in use: SSE after a fallback
        self._new_run()
        self._restarts_left = config.restarts if isinstance(config, StdioServer) else 0
        self._restart_lock = asyncio.Lock()
        self.on_change: Callable[[str], None] | None = None  # told the server's name after a re-listing
        self._relistings: set[asyncio.Task[None]] = set()
        self._listening = False
        self.generation = 0  # how many times the server was restarted

    def _new_run(self) -> None:
        """The state one run of the session task starts from (at the first start and at each restart)."""
        self.done = asyncio.Event()  # set once started or failed
        self.start_error: str | None = None
        self._stop = asyncio.Event()
        self._aborted = False
        self._stdout_noise: list[str] = []

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def target(self) -> str:
        return self.config.command_line if isinstance(self.config, StdioServer) else self.config.url

    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name=f"mcp-session-{self.name}")

    def stop(self) -> None:
        """Ask the session to close (it closes in its own task)."""
        self._stop.set()
        if not self.done.is_set():
            self.abort()

    def abort(self) -> None:
        """Cancel a start still in progress."""
        if not self.done.is_set():
            self._aborted = True
            if self._scope is not None:
                self._scope.cancel()

    async def _run(self) -> None:
        try:
            with anyio.CancelScope(deadline=anyio.current_time() + self.start_timeout) as scope:
                self._scope = scope
                if self._aborted:
                    scope.cancel()
                async with AsyncExitStack() as stack:
                    try:
                        self.client = await self._connect(stack)
                    except Exception as exc:
                        if self.transport != "streamable-http" or not _refused_streamable(exc):
                            raise
                        self.client = await self._connect_sse_instead(stack, exc)
                    self.mcp_tools = await _pages(self.client.list_tools, "tools")
                    self.catalog = await self._list_catalog(self.client)
                    scope.deadline = math.inf
                    self.done.set()
                    async with anyio.create_task_group() as group:
                        group.start_soon(self._follow_changes, self.client)
                        await self._stop.wait()
                        group.cancel_scope.cancel()
                    scope.deadline = anyio.current_time() + _CLOSE_TIMEOUT
            if scope.cancelled_caught and not self.done.is_set() and not self._aborted:
                self._fail(f"it did not complete the MCP handshake and list its tools within {self.start_timeout:g} s")
        except Exception as exc:  # noqa: BLE001 - every failure becomes a message naming the server
            if self.done.is_set():
                # Expected when the server died mid-session: closing then fails too.
                logger.debug("MCP server %r: error while closing its session: %s", self.name, _describe(exc))
            else:
                leaf = _leaf(exc)
                spawned = not isinstance(leaf, FileNotFoundError | PermissionError)
                self._fail(self._explain_start_failure(leaf), spawned=spawned)
        finally:
            self.client = None
            self.done.set()
            if self._stderr is not None:
                self._stderr.close()

    async def _connect(self, stack: AsyncExitStack) -> Client:
        """An initialized client over the session's transport; a failed attempt leaves nothing open."""
        async with AsyncExitStack() as attempt:
            client = await attempt.enter_async_context(
                Client(
                    await self._transport(attempt),
                    message_handler=self._on_message,
                    logging_callback=self._on_log,
                    elicitation_callback=self.elicitation,
                    log_level=self.log_level,
                    client_info=_CLIENT_INFO,
                )
            )
            await self._ask_log_level(client)
            stack.push_async_exit(attempt.pop_all())
            return client

    async def _connect_sse_instead(self, stack: AsyncExitStack, refusal: Exception) -> Client:
        """A client over the legacy SSE transport, for a server that refused streamable HTTP (a
        legacy server answers its first POST with 404 or 405: the MCP specification's
        backwards-compatibility rule); when SSE fails too, the streamable HTTP error stands."""
        self.transport = "sse"
        try:
            client = await self._connect(stack)
        except Exception as exc:
            self.transport = "streamable-http"
            logger.debug("MCP server %r: the SSE attempt failed too: %s", self.name, _describe(exc))
            raise refusal from None
        logger.info("MCP server %r refused streamable HTTP and answered over the legacy SSE transport", self.name)
        return client

    async def _ask_log_level(self, client: Client) -> None:
        """Ask an older server that offers logging for :attr:`log_level` (2026-07-28 connections
        carry it with each request instead)."""
        capabilities = client.server_capabilities
        if self.log_level is None or capabilities is None or capabilities.logging is None:
            return
        try:
            with warnings.catch_warnings():  # deprecated (SEP-2577), and what the servers that log expect
                warnings.simplefilter("ignore", MCPDeprecationWarning)
                await client.set_logging_level(self.log_level)
        except MCPError as exc:
            logger.debug("MCP server %r did not take log level %r: %s", self.name, self.log_level, exc.message)

    async def _on_log(self, params: types.LoggingMessageNotificationParams) -> None:
        """A server's log message, into Python logging (the SDK would only debug-log it)."""
        data = params.data if isinstance(params.data, str) else json.dumps(params.data, default=str)
        source = f"[{params.logger}] " if params.logger else ""
        self.server_log.log(_LOG_LEVELS.get(params.level, logging.INFO), "%s%s", source, data)

    async def _transport(self, stack: AsyncExitStack) -> Any:
        if isinstance(self.config, StdioServer):
            self._stderr = _StderrTail()
            params = StdioServerParameters(
                command=self.config.command,
                args=list(self.config.args),
                env=dict(self.config.env),
                cwd=self.config.cwd,
            )
            return stdio_client(params, errlog=self._stderr.file)
        if self.transport == "sse":
            return sse_client(self.config.url, headers=dict(self.config.headers), timeout=30.0, sse_read_timeout=300.0)
        # The SDK's default timeouts: 30 s to connect or send, 300 s to read a response stream.
        timeout = httpx2.Timeout(30.0, read=300.0)
        http_client = await stack.enter_async_context(
            httpx2.AsyncClient(headers=dict(self.config.headers), timeout=timeout)
        )
        return streamable_http_client(self.config.url, http_client=http_client)

    async def _on_message(self, message: Any) -> None:
        if isinstance(message, Exception):
            # stdio_client hands over each stdout line that is not JSON-RPC as an exception.
            line = _noise_line(message)
            if len(self._stdout_noise) < 5:
                self._stdout_noise.append(line)
            logger.warning("MCP server %r wrote a line that is not JSON-RPC to stdout: %s", self.name, line)
        elif isinstance(message, _LIST_CHANGED) and not self._listening:
            # Listing again is a request, whose answer this handler's own loop must read: not awaited here.
            relisting = asyncio.get_running_loop().create_task(self._relist(message))
            self._relistings.add(relisting)
            relisting.add_done_callback(self._relistings.discard)

    async def _follow_changes(self, client: Client) -> None:
        """List the server again whenever it says its listing changed. A 2026-07-28 connection
        says so on a ``subscriptions/listen`` stream opened here; older ones send notifications
        (:meth:`_on_message`)."""
        capabilities = client.server_capabilities
        wanted = {
            f"{kind}_list_changed": bool(offered and offered.list_changed)
            for kind, offered in (
                ("tools", capabilities and capabilities.tools),
                ("prompts", capabilities and capabilities.prompts),
                ("resources", capabilities and capabilities.resources),
            )
        }
        if not any(wanted.values()):
            return
        try:
            async with client.listen(**wanted) as subscription:
                self._listening = True  # the stream's events stand for the notifications, also teed to _on_message
                async for event in subscription:
                    await self._relist(event)
        except ListenNotSupportedError:
            return
        except Exception as exc:  # noqa: BLE001 - the listing stays as it was
            logger.warning("MCP server %r: could not follow changes to its listing: %s", self.name, _describe(exc))
        finally:
            self._listening = False

    async def _relist(self, notice: types.ServerNotification | ServerEvent) -> None:
        client = self.client
        if client is None or not self.done.is_set():
            return  # not listed yet, or closing: the first listing is still to come or no longer matters
        try:
            if isinstance(notice, types.ToolListChangedNotification | ToolsListChanged):
                self.mcp_tools = await _pages(client.list_tools, "tools")
            else:
                self.catalog = await self._list_catalog(client)
        except Exception as exc:  # noqa: BLE001 - the old listing stays in use
            logger.warning(
                "MCP server %r changed its listing, but listing it again failed: %s", self.name, _describe(exc)
            )
            return
        if self.on_change is not None:
            self.on_change(self.name)

    def _fail(self, what: str, *, spawned: bool = True) -> None:
        where = "command" if isinstance(self.config, StdioServer) else "URL"
        parts = [f"At mcpServers.{self.name}: the MCP server did not start: {what}. Its {where}: {self.target}"]
        if self._stdout_noise:
            noise = "\n".join(f"    {line}" for line in self._stdout_noise)
            parts.append(
                "It wrote output that is not JSON-RPC to stdout (stdout must carry only MCP messages; "
                f"a server logs to stderr):\n{noise}"
            )
        tail = self.stderr_tail()
        if tail:
            parts.append("Its stderr ends with:\n" + _indent(tail))
        elif spawned and isinstance(self.config, StdioServer):
            parts.append("It wrote nothing to stderr.")
        parts.append(self._fix_hint())
        self.start_error = "\n".join(parts)
        self.failed.set()

    def _explain_start_failure(self, exc: BaseException) -> str:
        if isinstance(exc, MCPError) and exc.code == types.CONNECTION_CLOSED:
            return "it closed the connection during the MCP handshake (its process exited or closed stdout)"
        if isinstance(exc, FileNotFoundError | PermissionError):
            return f"cannot run {self.config.command!r}: {exc.strerror or exc}"  # type: ignore[union-attr]
        if isinstance(exc, httpx2.HTTPError):
            return f"cannot reach it over HTTP: {_describe(exc)}"
        if isinstance(exc, MCPError):
            return f"it answered the MCP handshake or the tool listing with an error: {exc.message}"
        return f"the connection failed: {_describe(exc)}"

    def _fix_hint(self) -> str:
        if isinstance(self.config, HttpServer):
            return "Check that the server is running and the URL (with its path, often /mcp) is right."
        return (
            f"Run `{self.target}` in a terminal to see it fail. mcploom passes only HOME, LOGNAME, PATH, "
            'SHELL, TERM and USER from its environment; add others under "env".'
        )

    def stderr_tail(self, lines: int = STDERR_TAIL_LINES) -> str:
        return self._stderr.tail(lines) if self._stderr is not None else ""

    def info(self, tools: Sequence[BaseTool]) -> ServerInfo:
        client = self.client
        implementation = client.server_info if client is not None else None
        return ServerInfo(
            name=self.name,
            transport=self.transport,
            target=self.target,
            server_name=implementation.name if implementation is not None else "",
            server_version=implementation.version if implementation is not None else "",
            protocol_version=client.protocol_version if client is not None else "",
            instructions=client.instructions if client is not None else None,
            tool_names=tuple(tool.name for tool in tools if (tool.metadata or {}).get("mcp_server") == self.name),
            catalog=self.catalog,
        )

    async def _list_catalog(self, client: Client) -> Catalog:
        """The resources, templates and prompts the server declares it offers; a listing that fails
        is logged and left empty (the server's tools still work)."""
        capabilities = client.server_capabilities
        offers_resources = capabilities is not None and capabilities.resources is not None
        offers_prompts = capabilities is not None and capabilities.prompts is not None
        listed: dict[str, tuple[Any, ...]] = {}
        for key, wanted, fetch in (
            ("resources", offers_resources, client.list_resources),
            ("resource_templates", offers_resources, client.list_resource_templates),
            ("prompts", offers_prompts, client.list_prompts),
        ):
            try:
                listed[key] = tuple(await _pages(fetch, key)) if wanted else ()
            except MCPError as exc:
                logger.warning("MCP server %r declares %s but listing them failed: %s", self.name, key, exc.message)
                listed[key] = ()
        return Catalog(
            resources=listed["resources"],
            templates=listed["resource_templates"],
            prompts=listed["prompts"],
            # Servers built on the SDK declare resources whether they have any or not.
            offers_resources=bool(listed["resources"] or listed["resource_templates"]),
        )

    async def request(self, what: str, send: Callable[[Client], Awaitable[ResultT]]) -> ResultT:
        """``send(client)``, a request other than a tool call, with the server's errors as
        :class:`ServerRequestError` naming ``what`` was asked for."""
        client = self.client
        if client is None:
            raise ServerRequestError(f"MCP server {self.name!r} is not connected, so its {what} cannot be fetched.")
        try:
            return await send(client)
        except MCPError as exc:
            raise ServerRequestError(f"MCP server {self.name!r} could not serve its {what}: {exc.message}") from None

    async def call(
        self, tool: str, arguments: dict[str, Any], timeout: float | None, progress: ProgressFnT | None = None
    ) -> tuple[str, Any]:
        """Call ``tool`` and return ``(text for the model, artifact)``; failures raise ``ToolException``.
        With ``progress``, the call carries a progress token and the server's notifications reach it."""
        client = self.client
        if client is None:
            raise ToolException(
                f"MCP server {self.name!r} is not connected (its toolkit was closed), so {tool!r} cannot run."
            )
        generation = self.generation
        try:
            result = await client.call_tool(tool, arguments, read_timeout_seconds=timeout, progress_callback=progress)
        except MCPError as exc:
            if exc.code == types.REQUEST_TIMEOUT:
                raise MCPToolTimeout(
                    f"Tool {tool!r} on MCP server {self.name!r} did not answer within {timeout:g} s and was "
                    "cancelled. Try simpler arguments, or another way to get the answer."
                ) from None
            if exc.code == types.CONNECTION_CLOSED:
                raise ToolException(await self._after_exit(tool, generation)) from None
            raise ToolException(f"MCP server {self.name!r} rejected the call to {tool!r}: {exc.message}") from None
        except Exception as exc:  # noqa: BLE001 - transport faults become observations naming the server
            raise ToolException(f"Calling {tool!r} on MCP server {self.name!r} failed: {_describe(exc)}") from None
        if result.is_error:
            raise ToolException(result_text(result) or f"Tool {tool!r} on MCP server {self.name!r} reported an error.")
        artifact = (
            result.structured_content
            if result.structured_content is not None
            else result.model_dump(mode="json", by_alias=True, exclude_none=True)
        )
        return clip(result_text(result), f"{tool!r}'s result", MAX_RESULT_CHARS), artifact

    async def _after_exit(self, tool: str, generation: int) -> str:
        """Restart the server if its config allows, and say what became of the call to ``tool``."""
        gone = self._gone_message(tool)
        async with self._restart_lock:
            if self.generation == generation:  # no concurrent call restarted it already
                if self._restarts_left <= 0:
                    return gone
                self._restarts_left -= 1
                logger.warning("MCP server %r died during a call to %r; restarting it", self.name, tool)
                error = await self._restart()
                if error is not None:
                    self._restarts_left = 0
                    return f"{gone}\nmcploom tried to start it again and failed:\n{_indent(error)}"
        return (
            f"MCP server {self.name!r} died during the call to {tool!r}, so the call did not finish; "
            f"the server was started again ({self._restarts_left} restarts left). Call {tool!r} again "
            "if repeating it is safe."
        )

    async def _restart(self) -> str | None:
        """Close what is left of the session and start a new one; the start error, or ``None``."""
        self.stop()
        await _closed([self.task] if self.task is not None else [])
        self._new_run()
        self.failed = asyncio.Event()  # the toolkit's shared start event is for the first start only
        names = [tool.name for tool in self.mcp_tools]
        self.start()
        await self.done.wait()
        self.generation += 1
        if self.start_error is None and [tool.name for tool in self.mcp_tools] != names:
            logger.warning("MCP server %r offers other tools after its restart; the old set stays bound", self.name)
        return self.start_error

    def _gone_message(self, tool: str) -> str:
        why = "its process exited" if isinstance(self.config, StdioServer) else "it stopped answering at its URL"
        message = (
            f"MCP server {self.name!r} is no longer connected ({why} or it closed the connection), "
            f"so {tool!r} did not run. Its other tools are unavailable too."
        )
        tail = self.stderr_tail()
        return f"{message}\nIts stderr ends with:\n{_indent(tail)}" if tail else message


async def _pages(fetch: Callable[..., Awaitable[Any]], field: str) -> list[Any]:
    """Every item of a paginated MCP listing (``tools``, ``resources``, ...)."""
    items: list[Any] = []
    cursor: str | None = None
    while True:
        page = await fetch(cursor=cursor)
        items.extend(getattr(page, field))
        cursor = page.next_cursor
        if not cursor:
            return items


def _check_prompt_arguments(server: str, name: str, prompts: Sequence[types.Prompt], given: Mapping[str, str]) -> None:
    prompt = next((prompt for prompt in prompts if prompt.name == name), None)
    if prompt is None:
        offered = ", ".join(repr(prompt.name) for prompt in prompts) or "none"
        raise ServerRequestError(f"MCP server {server!r} has no prompt {name!r}; its prompts: {offered}.")
    declared = prompt.arguments or []
    missing = [argument.name for argument in declared if argument.required and argument.name not in given]
    unknown = sorted(set(given) - {argument.name for argument in declared})
    if missing or unknown:
        wants = (
            ", ".join(f"{argument.name}{'' if argument.required else ' (optional)'}" for argument in declared)
            or "no arguments"
        )
        problem = f"lacks {', '.join(missing)}" if missing else f"does not take {', '.join(unknown)}"
        raise ServerRequestError(f"Prompt {name!r} of MCP server {server!r} {problem}; it takes: {wants}.")


@dataclass(frozen=True)
class _Home:
    """The event loop (and its thread) that owns the sessions; sync tool calls are handed to it."""

    loop: asyncio.AbstractEventLoop
    thread_id: int

    def sync(self, call: Callable[..., Awaitable[ResultT]], whose: str) -> Callable[..., ResultT]:
        """``call`` for a sync caller on another thread (e.g. ``graph.invoke`` in a worker): handed to
        the loop that owns the sessions, waited for. ``whose`` names them in errors ("MCP server 'x' is")."""

        def blocking(*args: Any, **kwargs: Any) -> ResultT:
            if not self.loop.is_running():
                raise ToolException(f"{whose[0].upper()}{whose[1:]} not connected (the event loop has stopped).")
            if self.thread_id == threading.get_ident():
                raise RuntimeError(
                    "An MCP tool was called synchronously on the event loop that runs its session, which "
                    "would deadlock. Use `await tool.ainvoke(...)` (or `graph.ainvoke`) there instead."
                )
            return asyncio.run_coroutine_threadsafe(call(*args, **kwargs), self.loop).result()

        return blocking


def _build_tools(sessions: Sequence[_Session], call_timeout: float | None, home: _Home) -> list[BaseTool]:
    counts = Counter(_tool_name(tool.name) for session in sessions for tool in session.mcp_tools)
    tools: list[BaseTool] = []
    for session in sessions:
        for mcp_tool in session.mcp_tools:
            name = _tool_name(mcp_tool.name)
            if name != mcp_tool.name:
                logger.debug("Tool %r of MCP server %r is named %r for chat APIs", mcp_tool.name, session.name, name)
            if counts[name] > 1:
                prefixed = _tool_name(f"{session.name}__{mcp_tool.name}")
                logger.debug(
                    "Tool %r is offered by %d MCP servers; naming server %r's one %r",
                    name,
                    counts[name],
                    session.name,
                    prefixed,
                )
                name = prefixed
            tools.append(_structured_tool(session, mcp_tool, name, call_timeout, home))
    return tools


def _structured_tool(
    session: _Session,
    mcp_tool: types.Tool,
    name: str,
    call_timeout: float | None,
    home: _Home,
) -> StructuredTool:
    async def call(**arguments: Any) -> tuple[str, Any]:
        return await session.call(mcp_tool.name, arguments, call_timeout, _progress_reporter(name, session.name))

    def call_sync(**arguments: Any) -> tuple[str, Any]:
        # The reporter is made here, in the run's context: the session's loop runs in another thread.
        reporter = _progress_reporter(name, session.name)
        return home.sync(session.call, f"MCP server {session.name!r} is")(
            mcp_tool.name, arguments, call_timeout, reporter
        )

    fallback = f"The {mcp_tool.name!r} tool of MCP server {session.name!r}."
    annotations = mcp_tool.annotations.model_dump(by_alias=True, exclude_none=True) if mcp_tool.annotations else {}
    metadata: dict[str, Any] = {"mcp_server": session.name, "mcp_tool": mcp_tool.name}
    metadata.update({hint: annotations.get(hint, default) for hint, default in _ANNOTATION_DEFAULTS.items()})
    return StructuredTool(
        name=name,
        description=mcp_tool.description or mcp_tool.title or fallback,
        args_schema=mcp_tool.input_schema,
        coroutine=call,
        func=call_sync,
        response_format="content_and_artifact",
        metadata=metadata,
    )


_LIST_CHANGED = (
    types.ToolListChangedNotification,
    types.ResourceListChangedNotification,
    types.PromptListChangedNotification,
)


def _listed_as(tool: BaseTool) -> tuple[str, str]:
    return (tool.metadata or {})["mcp_server"], (tool.metadata or {})["mcp_tool"]


def _hints(tool: BaseTool) -> dict[str, Any]:
    return {hint: (tool.metadata or {}).get(hint) for hint in _ANNOTATION_DEFAULTS}


_LOG_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "notice": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
    "alert": logging.CRITICAL,
    "emergency": logging.CRITICAL,
}
"""Python's level for each MCP (syslog) log level."""


def _progress_reporter(tool: str, server: str) -> ProgressFnT | None:
    """A progress callback that streams :class:`ToolProgress` events into the graph run calling the
    tool, or ``None`` outside a run (a tool invoked by hand: no one to tell, no token sent)."""
    try:
        write = get_stream_writer()
    except (RuntimeError, KeyError):  # no runnable context; a runnable that is no graph run
        return None
    # The notification arrives in the session's task; the writer reads the run's config from its context.
    context = contextvars.copy_context()

    async def report(progress: float, total: float | None, message: str | None) -> None:
        event = ToolProgress(tool=tool, server=server, progress=progress, total=total, message=message)
        context.run(write, event)

    return report


def _tool_name(raw: str) -> str:
    """A name chat APIs accept (``^[A-Za-z0-9_-]{1,64}$``)."""
    return _TOOL_NAME_INVALID.sub("_", raw)[:_MAX_TOOL_NAME] or "tool"


def _refused_streamable(exc: BaseException) -> bool:
    """Whether a streamable HTTP start failed at a server that answered, with an HTTP error status
    or a JSON-RPC error (how the SDK reports a 404 or 405 to the initialize POST)."""
    leaf = _leaf(exc)
    return isinstance(leaf, httpx2.HTTPStatusError | MCPError) and not (
        isinstance(leaf, MCPError) and leaf.code == types.CONNECTION_CLOSED
    )


def _leaf(exc: BaseException) -> BaseException:
    """The first real error inside (possibly nested) exception groups from anyio task groups."""
    while isinstance(exc, BaseExceptionGroup):
        real = [inner for inner in exc.exceptions if not isinstance(inner, anyio.get_cancelled_exc_class())]
        exc = (real or list(exc.exceptions))[0]
    return exc


def _describe(exc: BaseException) -> str:
    exc = _leaf(exc)
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _noise_line(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        with_input = [error.get("input") for error in errors() if isinstance(error.get("input"), str)]
        if with_input:
            return repr(with_input[0][:200])
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


class _StderrTail:
    """A stdio server's stderr: a pipe drained by a thread that keeps its last :data:`STDERR_KEEP_BYTES`,
    so a server that floods stderr costs neither disk nor memory, and the tail is there for errors."""

    def __init__(self) -> None:
        read_fd, write_fd = os.pipe()
        self.file: TextIO = os.fdopen(write_fd, "w", encoding="utf-8", errors="replace")
        """What the server process writes to (it inherits the descriptor)."""
        self._read_fd = read_fd
        self._kept = bytearray()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._drain, name="mcp-stderr", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while chunk := os.read(self._read_fd, 65536):
            with self._lock:
                self._kept += chunk
                del self._kept[:-STDERR_KEEP_BYTES]

    def tail(self, lines: int) -> str:
        """The last ``lines`` lines written so far (what a server wrote just before it died included)."""
        deadline = time.monotonic() + 0.5
        while self._pending() and time.monotonic() < deadline:
            time.sleep(0.01)  # the drain thread is still reading the last lines
        with self._lock:
            text = self._kept.decode("utf-8", errors="replace")
        return "\n".join(text.rstrip().splitlines()[-lines:])

    def _pending(self) -> int:
        """Bytes written to the pipe and not drained yet (0 where the OS cannot tell)."""
        try:
            import fcntl
            import termios
        except ImportError:  # Windows
            return 0
        try:
            return struct.unpack("i", fcntl.ioctl(self._read_fd, termios.FIONREAD, b"\0\0\0\0"))[0]
        except OSError:
            return 0

    def close(self) -> None:
        """Stop draining once the server is gone (its end of the pipe closed with it)."""
        self.file.close()
        self._thread.join(timeout=2)
        if not self._thread.is_alive():
            os.close(self._read_fd)


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.splitlines())
