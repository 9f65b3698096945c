"""MCPToolkit against real MCP servers: the utility server over stdio and streamable HTTP, and
misbehaving servers (crash on start, hang, garbage on stdout, crash mid-session, hanging tool).

Every server here is a real subprocess; nothing is mocked.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
import pytest_asyncio
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import BaseTool, ToolException
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode

from mcploom.agents.errors import ServerStartError, ToolCallTimeout
from mcploom.agents.mcp_client import MAX_RESULT_CHARS, MCPToolkit, MCPToolTimeout
from tests.net import free_port, stop, wait_listening

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures"

pytestmark = pytest.mark.asyncio(loop_scope="module")


def stdio_entry(*args: str) -> dict[str, Any]:
    """A stdio ``mcpServers`` entry running this interpreter in the repository root."""
    return {"command": sys.executable, "args": list(args), "cwd": str(REPO)}


UTILITY = stdio_entry("-m", "mcploom.mcp_servers.utility")


def fixture_entry(script: str, *args: str) -> dict[str, Any]:
    return stdio_entry(str(FIXTURES / script), *args)


def tool(toolkit: MCPToolkit, name: str) -> BaseTool:
    return next(t for t in toolkit.tools if t.name == name)


def children(*, zombies: bool = False) -> set[int]:
    """Child processes of this test process, read from /proc: the live ones, or the zombies."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and (fields[0] == "Z") == zombies:
            found.add(int(stat.parent.name))
    return found


@pytest.fixture
def no_leaked_processes() -> Iterator[None]:
    """Fail the test if it leaves behind a server process it started, running or as a zombie."""
    before, zombies_before = children(), children(zombies=True)
    yield
    deadline = time.monotonic() + 5
    while (leaked := children() - before) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not leaked, f"server processes left running: {leaked}"
    assert not children(zombies=True) - zombies_before, "server processes left unreaped (zombies)"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def toolkit() -> AsyncIterator[MCPToolkit]:
    """The utility server and the flaky server over stdio, shared by the tests that keep them healthy."""
    servers = {"utility": UTILITY, "flaky": fixture_entry("flaky_server.py")}
    async with MCPToolkit(servers, call_timeout=2.0) as toolkit:
        yield toolkit


@contextmanager
def utility_over_http() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The utility server over streamable HTTP on a free port, once it accepts connections."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "mcploom.mcp_servers.utility",
        "--http",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    with tempfile.TemporaryFile() as log, subprocess.Popen(command, cwd=REPO, stdout=log, stderr=log) as process:
        try:
            wait_listening(port, process, log, "utility HTTP server")
            yield f"http://127.0.0.1:{port}/mcp", process
        finally:
            stop(process)


@pytest.fixture(scope="module")
def http_url() -> Iterator[str]:
    with utility_over_http() as (url, _):
        yield url


# --- the utility server over stdio -------------------------------------------------------


async def test_tools_keep_mcp_names_schemas_and_annotations(toolkit: MCPToolkit) -> None:
    assert [t.name for t in toolkit.tools if t.metadata["mcp_server"] == "utility"] == [
        "calculate",
        "convert_time",
    ]
    calculate = tool(toolkit, "calculate")
    assert calculate.args_schema["required"] == ["expression"]
    assert "Arithmetic expression" in calculate.args["expression"]["description"]
    assert calculate.description.startswith("Evaluate an arithmetic expression exactly.")
    assert calculate.response_format == "content_and_artifact"
    assert calculate.metadata == {
        "mcp_server": "utility",
        "mcp_tool": "calculate",
        "readOnlyHint": True,
        "destructiveHint": False,
        "idempotentHint": True,
        "openWorldHint": False,
    }
    assert tool(toolkit, "convert_time").metadata["idempotentHint"] is False  # "now" changes


async def test_server_info_reports_instructions_and_tools(toolkit: MCPToolkit) -> None:
    info = toolkit.servers["utility"]
    assert info.transport == "stdio"
    assert info.server_name == "mcploom-utility"
    assert info.instructions == "Exact arithmetic and the current time."
    assert info.tool_names == ("calculate", "convert_time")
    assert info.target.endswith("-m mcploom.mcp_servers.utility")
    assert toolkit.servers["flaky"].tool_names == ("echo", "text_upper", "pid", "hang", "flood", "huge", "crash")


async def test_calculate_returns_text_and_structured_artifact(toolkit: MCPToolkit) -> None:
    call = {"name": "calculate", "args": {"expression": "1234 * 5678"}, "id": "call-1", "type": "tool_call"}
    message = await tool(toolkit, "calculate").ainvoke(call)
    assert isinstance(message, ToolMessage)
    assert "7006652" in message.content
    assert message.artifact == {"expression": "1234 * 5678", "result": 7006652}


async def test_tool_error_becomes_tool_exception_with_server_message(toolkit: MCPToolkit) -> None:
    with pytest.raises(ToolException, match=r"Cannot parse '2 \+'"):
        await tool(toolkit, "calculate").ainvoke({"expression": "2 +"})


async def test_schema_violation_is_reported_by_the_server(toolkit: MCPToolkit) -> None:
    with pytest.raises(ToolException, match="expression"):
        await tool(toolkit, "calculate").ainvoke({"wrong": "1 + 1"})


async def test_tool_node_runs_parallel_calls_and_feeds_errors_back(toolkit: MCPToolkit) -> None:
    node = ToolNode(toolkit.tools, handle_tool_errors=True)
    request = AIMessage(
        content="",
        tool_calls=[
            {"name": "calculate", "args": {"expression": "1234 * 5678"}, "id": "ok"},
            {"name": "calculate", "args": {"expression": "2 +"}, "id": "bad"},
            {
                "name": "convert_time",
                "args": {"time": "2026-03-01T09:30", "from_timezone": "UTC", "to_timezone": "Asia/Tokyo"},
                "id": "tz",
            },
        ],
    )
    graph = StateGraph(MessagesState)
    graph.add_node("tools", node)
    graph.add_edge(START, "tools")
    result = await graph.compile().ainvoke({"messages": [request]})
    by_id = {message.tool_call_id: message for message in result["messages"][1:]}
    assert "7006652" in by_id["ok"].content and by_id["ok"].status == "success"
    assert by_id["ok"].artifact["result"] == 7006652
    assert by_id["bad"].status == "error" and "Cannot parse" in by_id["bad"].content
    assert by_id["tz"].artifact["iso"] == "2026-03-01T18:30:00+09:00"


async def test_sync_invoke_from_another_thread_uses_the_session_loop(toolkit: MCPToolkit) -> None:
    calculate = tool(toolkit, "calculate")
    content = await asyncio.to_thread(calculate.invoke, {"expression": "6 * 7"})
    assert '"result": 42' in content
    with pytest.raises(RuntimeError, match="would deadlock"):
        calculate.invoke({"expression": "6 * 7"})


def run_toolkit_on_a_background_loop() -> str:
    """What a sync API does: the toolkit lives on a loop in another thread, entered and left by
    separate tasks, while plain synchronous code calls its tools."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    toolkit = MCPToolkit({"utility": UTILITY})
    try:
        asyncio.run_coroutine_threadsafe(toolkit.__aenter__(), loop).result(60)
        try:
            return tool(toolkit, "calculate").invoke({"expression": "1234 * 5678"})
        finally:
            asyncio.run_coroutine_threadsafe(toolkit.__aexit__(None, None, None), loop).result(60)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


async def test_toolkit_on_a_background_loop_serves_sync_callers(no_leaked_processes: None) -> None:
    assert '"result": 7006652' in await asyncio.to_thread(run_toolkit_on_a_background_loop)


# --- streamable HTTP, several servers ------------------------------------------------------


async def test_http_server_tools_work(http_url: str) -> None:
    async with MCPToolkit({"mcpServers": {"remote": {"url": http_url}}}) as toolkit:
        assert toolkit.servers["remote"].transport == "streamable-http"
        message = await tool(toolkit, "calculate").ainvoke(
            {"name": "calculate", "args": {"expression": "2 ** 10"}, "id": "1", "type": "tool_call"}
        )
        assert message.artifact["result"] == 1024
        with pytest.raises(ToolException, match="Cannot parse"):
            await tool(toolkit, "calculate").ainvoke({"expression": "2 +"})


async def test_http_server_that_goes_away_fails_calls_fast() -> None:
    with utility_over_http() as (url, process):
        async with MCPToolkit({"remote": {"url": url}}, call_timeout=20) as toolkit:
            assert '"result": 2' in await tool(toolkit, "calculate").ainvoke({"expression": "1 + 1"})
            stop(process)
            started = time.monotonic()
            with pytest.raises(ToolException, match="'remote' is no longer connected"):
                await tool(toolkit, "calculate").ainvoke({"expression": "1 + 1"})
            assert time.monotonic() - started < 5


async def test_two_servers_with_the_same_tools_get_prefixed_names(
    http_url: str, caplog: pytest.LogCaptureFixture, no_leaked_processes: None
) -> None:
    caplog.set_level(logging.DEBUG, logger="mcploom.agents.mcp_client")
    async with MCPToolkit({"local": UTILITY, "remote": {"url": http_url}}) as toolkit:
        assert "Tool 'calculate' is offered by 2 MCP servers; naming server 'remote''s one 'remote__calculate'" in (
            caplog.text
        )
        names = [t.name for t in toolkit.tools]
        assert names == [
            "local__calculate", "local__convert_time",
            "remote__calculate", "remote__convert_time",
        ]  # fmt: skip
        assert tool(toolkit, "remote__calculate").metadata["mcp_server"] == "remote"
        assert tool(toolkit, "remote__calculate").metadata["mcp_tool"] == "calculate"
        local, remote = await asyncio.gather(
            tool(toolkit, "local__calculate").ainvoke({"expression": "3 * 3"}),
            tool(toolkit, "remote__calculate").ainvoke({"expression": "4 * 4"}),
        )
        assert '"result": 9' in local and '"result": 16' in remote
        assert toolkit.servers["remote"].tool_names == (
            "remote__calculate",
            "remote__convert_time",
        )


async def test_names_without_collisions_are_not_prefixed(toolkit: MCPToolkit) -> None:
    names = ["calculate", "convert_time", "echo", "text_upper", "pid", "hang", "flood", "huge", "crash"]
    assert [t.name for t in toolkit.tools] == names


async def test_names_chat_apis_reject_are_made_safe(toolkit: MCPToolkit) -> None:
    upper = tool(toolkit, "text_upper")
    assert upper.metadata["mcp_tool"] == "text.upper"
    assert await upper.ainvoke({"text": "mcp"}) == "MCP"


# --- servers that fail to start ----------------------------------------------------------


async def test_server_that_crashes_on_start_reports_its_stderr_tail(no_leaked_processes: None) -> None:
    with pytest.raises(ServerStartError) as caught:
        async with MCPToolkit({"db": fixture_entry("crash_on_start.py")}, start_timeout=20):
            pytest.fail("the toolkit should not start")
    message = str(caught.value)
    assert message.startswith("At mcpServers.db: the MCP server did not start: it closed the connection")
    assert "crash_on_start.py" in message
    assert "database password is missing" in message
    assert "setting up step 12\n" in message and "setting up step 11\n" not in message  # the last 20 lines


async def test_server_that_never_answers_hits_the_start_timeout(no_leaked_processes: None) -> None:
    started = time.monotonic()
    with pytest.raises(ServerStartError, match=r"within 1\.5 s") as caught:
        async with MCPToolkit({"slow": fixture_entry("hang_on_start.py")}, start_timeout=1.5):
            pass
    assert time.monotonic() - started < 10
    assert "started; waiting forever" in str(caught.value)


async def test_garbage_on_stdout_is_quoted_in_the_start_error(no_leaked_processes: None) -> None:
    with pytest.raises(ServerStartError, match="not JSON-RPC") as caught:
        async with MCPToolkit({"noisy": fixture_entry("hang_on_start.py", "--garbage")}, start_timeout=1.5):
            pass
    assert "Welcome to my server v1.0!" in str(caught.value)


async def test_a_banner_on_stdout_is_tolerated(caplog: pytest.LogCaptureFixture, no_leaked_processes: None) -> None:
    async with MCPToolkit({"flaky": fixture_entry("flaky_server.py", "--banner")}) as toolkit:
        assert await tool(toolkit, "echo").ainvoke({"text": "still works"}) == "still works"
    assert "wrote a line that is not JSON-RPC" in caplog.text


async def test_missing_command_names_it() -> None:
    with pytest.raises(ServerStartError, match=r"At mcpServers.nope: .*cannot run 'mcploom-no-such-server'"):
        async with MCPToolkit({"nope": {"command": "mcploom-no-such-server"}}):
            pass


async def test_unreachable_http_server() -> None:
    url = f"http://127.0.0.1:{free_port()}/mcp"
    with pytest.raises(ServerStartError, match=r"At mcpServers.gone: .*cannot reach it over HTTP") as caught:
        async with MCPToolkit({"gone": {"url": url}}, start_timeout=10):
            pass
    assert url in str(caught.value)


async def test_one_failure_stops_the_servers_that_started(no_leaked_processes: None) -> None:
    servers = {"utility": UTILITY, "db": fixture_entry("crash_on_start.py")}
    with pytest.raises(ServerStartError) as caught:
        async with MCPToolkit(servers, start_timeout=20):
            pass
    assert "mcpServers.db" in str(caught.value) and "mcpServers.utility" not in str(caught.value)


# --- servers that misbehave mid-session --------------------------------------------------


async def test_call_timeout_then_the_session_still_works(toolkit: MCPToolkit) -> None:
    started = time.monotonic()
    with pytest.raises(MCPToolTimeout) as caught:
        await tool(toolkit, "hang").ainvoke({})
    assert time.monotonic() - started < 6
    assert isinstance(caught.value, ToolCallTimeout) and isinstance(caught.value, ToolException)
    assert "'hang'" in str(caught.value) and "'flaky'" in str(caught.value) and "within 2 s" in str(caught.value)
    assert await tool(toolkit, "echo").ainvoke({"text": "alive"}) == "alive"


async def test_server_crash_mid_session_fails_calls_fast(no_leaked_processes: None) -> None:
    async with MCPToolkit({"flaky": fixture_entry("flaky_server.py")}, call_timeout=20) as toolkit:
        with pytest.raises(ToolException, match="'flaky' is no longer connected") as caught:
            await tool(toolkit, "crash").ainvoke({})
        assert "crashing on purpose" in str(caught.value)
        started = time.monotonic()
        with pytest.raises(ToolException, match="'flaky' is no longer connected"):
            await tool(toolkit, "echo").ainvoke({"text": "anyone there?"})
        assert time.monotonic() - started < 1


async def test_a_server_configured_to_restart_comes_back_after_a_crash(no_leaked_processes: None) -> None:
    servers = {"flaky": {**fixture_entry("flaky_server.py"), "restarts": 1}}
    async with MCPToolkit(servers, call_timeout=20) as toolkit:
        first = await tool(toolkit, "pid").ainvoke({})
        with pytest.raises(ToolException, match=r"died during the call to 'crash'.*started again \(0 restarts left\)"):
            await tool(toolkit, "crash").ainvoke({})
        assert await tool(toolkit, "echo").ainvoke({"text": "back"}) == "back"
        assert await tool(toolkit, "pid").ainvoke({}) != first
        assert children(zombies=True) == set()
        with pytest.raises(ToolException, match="'flaky' is no longer connected"):
            await tool(toolkit, "crash").ainvoke({})


async def test_concurrent_calls_to_a_dying_server_restart_it_once(no_leaked_processes: None) -> None:
    servers = {"flaky": {**fixture_entry("flaky_server.py"), "restarts": 2}}
    async with MCPToolkit(servers, call_timeout=20) as toolkit:
        hang, crash = tool(toolkit, "hang"), tool(toolkit, "crash")
        hanging = asyncio.ensure_future(hang.ainvoke({"seconds": 30}))
        await asyncio.sleep(0.5)  # let the hang reach the server before it dies
        outcomes = await asyncio.gather(hanging, crash.ainvoke({}), return_exceptions=True)
        assert all(isinstance(outcome, ToolException) for outcome in outcomes)
        assert all("started again (1 restarts left)" in str(outcome) for outcome in outcomes)
        assert await tool(toolkit, "echo").ainvoke({"text": "once"}) == "once"


async def test_a_server_flooding_stderr_keeps_working_and_costs_no_disk(no_leaked_processes: None) -> None:
    temp = Path(tempfile.gettempdir())
    free_before = os.statvfs(temp).f_bavail * os.statvfs(temp).f_frsize
    async with MCPToolkit({"flaky": fixture_entry("flaky_server.py")}, call_timeout=60) as toolkit:
        assert await tool(toolkit, "flood").ainvoke({"megabytes": 50}) == "flooded"
        assert await tool(toolkit, "echo").ainvoke({"text": "still here"}) == "still here"
        assert toolkit.stderr_tail("flaky", 1) == "flood done"
        free_after = os.statvfs(temp).f_bavail * os.statvfs(temp).f_frsize
    assert free_before - free_after < 20 * 1024 * 1024  # the 50 MB went nowhere


async def test_a_huge_result_reaches_the_model_clipped(no_leaked_processes: None) -> None:
    async with MCPToolkit({"flaky": fixture_entry("flaky_server.py")}, call_timeout=60) as toolkit:
        text = await tool(toolkit, "huge").ainvoke({"megabytes": 20})
    assert len(text) < MAX_RESULT_CHARS + 200 and text.endswith("left out; ask for less]")
    assert f"[... {20 * 1024 * 1024 - MAX_RESULT_CHARS} more characters" in text


# --- shutdown ----------------------------------------------------------------------------


async def test_exception_in_the_block_propagates_and_closes_servers(no_leaked_processes: None) -> None:
    with pytest.raises(KeyError, match="boom"):
        async with MCPToolkit({"flaky": fixture_entry("flaky_server.py")}) as toolkit:
            assert await tool(toolkit, "pid").ainvoke({}) in {str(pid) for pid in children()}
            echo = tool(toolkit, "echo")
            raise KeyError("boom")
    assert toolkit.tools == []
    with pytest.raises(ToolException, match="'flaky' is not connected"):
        await echo.ainvoke({"text": "too late"})


async def test_task_cancellation_closes_servers(no_leaked_processes: None) -> None:
    inside = asyncio.Event()

    async def agent() -> None:
        async with MCPToolkit({"flaky": fixture_entry("flaky_server.py")}):
            inside.set()
            await asyncio.sleep(3600)

    task = asyncio.create_task(agent())
    await asyncio.wait_for(inside.wait(), 30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_anyio_cancel_scope_during_a_call_closes_servers(
    caplog: pytest.LogCaptureFixture, no_leaked_processes: None
) -> None:
    with anyio.move_on_after(20) as outer:
        async with MCPToolkit({"flaky": fixture_entry("flaky_server.py")}, call_timeout=None) as toolkit:
            outer.deadline = anyio.current_time() + 0.5
            await tool(toolkit, "hang").ainvoke({})
    assert outer.cancelled_caught
    assert "cancel scope" not in caplog.text.lower()


async def test_cancelled_while_starting_closes_servers(no_leaked_processes: None) -> None:
    with anyio.move_on_after(0.5) as scope:
        async with MCPToolkit({"slow": fixture_entry("hang_on_start.py"), "utility": UTILITY}):
            pytest.fail("should not start within 0.5 s")
    assert scope.cancelled_caught
