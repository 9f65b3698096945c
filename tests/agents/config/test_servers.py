"""Server configuration in Claude Desktop's ``mcpServers`` shape: what loads, and the errors otherwise."""

from __future__ import annotations

import doctest
import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest

import mcploom.agents.config.servers
from mcploom.agents.config.servers import HttpServer, StdioServer, load_servers
from mcploom.agents.errors import ConfigError
from mcploom.agents.mcp_client import MCPToolkit

CLAUDE_DESKTOP = {
    "globalShortcut": "Ctrl+Space",
    "mcpServers": {
        "filesystem": {
            "command": "npx",
            "args": ["-y", "@modelcontextprotocol/server-filesystem", "~/Desktop", "$HOME/Downloads"],
        },
        "weather": {"command": "uv", "args": ["run", "weather.py"], "env": {"API_KEY": "k-123"}},
        "remote": {"url": "https://mcp.example.com/mcp", "headers": {"Authorization": "Bearer t"}},
    },
}


def test_claude_desktop_file_loads_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "claude_desktop_config.json"
    path.write_text(json.dumps(CLAUDE_DESKTOP, indent=2))
    servers = load_servers(path)
    assert list(servers) == ["filesystem", "weather", "remote"]
    filesystem = servers["filesystem"]
    assert isinstance(filesystem, StdioServer) and filesystem.transport == "stdio"
    # Like Claude Desktop, nothing is expanded.
    assert filesystem.args == (
        "-y",
        "@modelcontextprotocol/server-filesystem",
        "~/Desktop",
        "$HOME/Downloads",
    )
    assert dict(servers["weather"].env) == {"API_KEY": "k-123"}
    remote = servers["remote"]
    assert isinstance(remote, HttpServer) and remote.transport == "streamable-http"
    assert dict(remote.headers) == {"Authorization": "Bearer t"}
    assert load_servers(str(path)) == servers


def test_bare_mapping_and_entries_round_trip() -> None:
    servers = load_servers(CLAUDE_DESKTOP["mcpServers"])
    assert {name: server.to_entry() for name, server in servers.items()} == {
        "filesystem": CLAUDE_DESKTOP["mcpServers"]["filesystem"],
        "weather": CLAUDE_DESKTOP["mcpServers"]["weather"],
        "remote": CLAUDE_DESKTOP["mcpServers"]["remote"],
    }


def test_restarts_round_trip_and_default_to_none() -> None:
    servers = load_servers({"a": {"command": "srv", "restarts": 3}, "b": {"command": "srv"}})
    assert (servers["a"].restarts, servers["b"].restarts) == (3, 0)
    assert servers["a"].to_entry() == {"command": "srv", "args": [], "restarts": 3}
    assert "restarts" not in servers["b"].to_entry()


def test_typed_entries_pass_through_and_are_frozen() -> None:
    server = StdioServer(name="calc", command="python", args=["-m", "calc"], env={"A": "1"}, cwd="/srv")
    assert load_servers({"calc": server}) == {"calc": server}
    assert server.args == ("-m", "calc") and server.command_line == "python -m calc"
    with pytest.raises(AttributeError):
        server.command = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        server.env["B"] = "2"  # type: ignore[index]


def test_type_key_from_other_clients_is_accepted() -> None:
    servers = load_servers(
        {"a": {"type": "stdio", "command": "srv"}, "b": {"type": "http", "url": "http://127.0.0.1:8000/mcp"}}
    )
    assert [server.transport for server in servers.values()] == ["stdio", "streamable-http"]


def test_unknown_keys_are_ignored_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="mcploom.agents.config.servers"):
        servers = load_servers({"a": {"command": "srv", "disabled": False, "autoApprove": []}})
    assert servers["a"].command == "srv"
    assert "At mcpServers.a: ignoring keys mcploom does not use: autoApprove, disabled" in caplog.text


def test_empty_configuration_has_no_servers() -> None:
    assert load_servers({"mcpServers": {}}) == {}


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"args": ["x"]}, 'At mcpServers.srv: the entry has neither "command" nor "url". Add "command"'),
        ({"command": "a", "url": "http://h/mcp"}, 'At mcpServers.srv: both "command" and "url" are given.'),
        (
            ["npx", "server"],
            'At mcpServers.srv: expected an object with "command" (stdio) or "url" (HTTP), got a list.',
        ),
        (
            {"command": ["npx", "-y"]},
            "At mcpServers.srv.command: expected the executable as a non-empty string",
        ),
        (
            {"command": " "},
            "At mcpServers.srv.command: expected the executable as a non-empty string, got ' '.",
        ),
        (
            {"command": "npx", "args": "-y server"},
            "At mcpServers.srv.args: expected a list of strings, got a string",
        ),
        (
            {"command": "srv", "args": ["--port", 8000]},
            'At mcpServers.srv.args[1]: expected a string, got 8000. Quote it: "8000".',
        ),
        (
            {"command": "srv", "env": {"DEBUG": True}},
            'At mcpServers.srv.env.DEBUG: expected a string, got True. Quote it: "True".',
        ),
        (
            {"command": "srv", "env": ["A=1"]},
            "At mcpServers.srv.env: expected an object of string values, got a list.",
        ),
        (
            {"command": "srv", "cwd": 3},
            "At mcpServers.srv.cwd: expected a directory path string, got a number (3).",
        ),
        (
            {"command": "srv", "restarts": True},
            "At mcpServers.srv.restarts: expected a whole number from 0 to 100, got a boolean.",
        ),
        (
            {"command": "srv", "restarts": -1},
            "At mcpServers.srv.restarts: expected a whole number from 0 to 100, got a number (-1).",
        ),
        (
            {"url": "localhost:8000/mcp"},
            "At mcpServers.srv.url: expected an http:// or https:// URL, got 'localhost:8000/mcp'.",
        ),
        (
            {"url": "http://h/mcp", "headers": "Bearer x"},
            "At mcpServers.srv.headers: expected an object of string values",
        ),
        (
            {"command": "srv", "type": "sse"},
            'At mcpServers.srv: "type" is "sse" but the entry has no "url".',
        ),
        ({"command": "srv", "type": "websocket"}, "At mcpServers.srv.type: unknown transport 'websocket'."),
        (
            {"command": "srv", "type": "http"},
            'At mcpServers.srv: "type" is "http" but the entry has no "url".',
        ),
        (
            {"url": "http://h/mcp", "type": "stdio"},
            'At mcpServers.srv: "type" is "stdio" but the entry has a "url".',
        ),
    ],
)
def test_invalid_entries_say_where_what_and_how_to_fix(entry: Any, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_servers({"mcpServers": {"srv": entry}})
    assert str(caught.value).startswith(expected)
    assert str(caught.value).endswith(".")


def test_invalid_top_level_shapes() -> None:
    with pytest.raises(ConfigError, match=r"^At mcpServers: expected an object mapping server names"):
        load_servers({"mcpServers": ["a", "b"]})
    with pytest.raises(ConfigError, match=r"^At mcpServers: server name '' is not a non-empty string"):
        load_servers({"": {"command": "srv"}})
    with pytest.raises(ConfigError, match=r"^At mcpServers.calc: the entry is named 'other'"):
        load_servers({"calc": StdioServer(name="other", command="srv")})


def test_unreadable_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(
        ConfigError, match=rf"^At {re.escape(str(missing))}: cannot read the MCP server config: No such file"
    ):
        load_servers(missing)


def test_invalid_json_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text('{\n  "mcpServers": {\n    "a": {"command": "srv",}\n  }\n}\n')
    with pytest.raises(ConfigError) as caught:
        load_servers(path)
    assert str(caught.value).startswith(f"At {path}:3:28: invalid JSON: Expecting property name")
    assert "trailing commas" in str(caught.value)


def test_json_that_is_not_an_object(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text('["a"]')
    with pytest.raises(
        ConfigError, match=rf"^At {re.escape(str(path))}: expected an object of MCP servers, got a list"
    ):
        load_servers(path)


def test_file_errors_name_the_file_for_entries_too(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"mcpServers": {"a": {}}}))
    with pytest.raises(ConfigError, match=rf"^At {re.escape(str(path))}: mcpServers.a: the entry has neither"):
        load_servers(path)


def test_toolkit_validates_on_construction(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(CLAUDE_DESKTOP))
    assert list(MCPToolkit(path).configs) == ["filesystem", "weather", "remote"]
    with pytest.raises(ConfigError, match="At mcpServers.bad"):
        MCPToolkit({"bad": {"args": []}})


def test_docstring_examples() -> None:
    results = doctest.testmod(mcploom.agents.config.servers)
    assert results.attempted > 0 and results.failed == 0


@pytest.mark.parametrize(
    ("entry", "transport"),
    [({"url": "http://h/sse", "type": "sse"}, "sse"), ({"url": "http://h/mcp"}, "streamable-http")],
)
def test_an_http_entry_names_its_transport_and_writes_it_back(entry, transport):
    server = load_servers({"srv": entry})["srv"]
    assert isinstance(server, HttpServer) and server.transport == transport
    assert server.to_entry() == entry


def test_an_http_server_refuses_a_transport_that_is_not_http():
    with pytest.raises(ValueError, match="'streamable-http' or 'sse', not 'stdio'"):
        HttpServer(name="srv", url="http://h/mcp", transport="stdio")
