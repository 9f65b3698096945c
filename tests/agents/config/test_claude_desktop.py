"""Claude Desktop config: absolute paths, per-OS location, and a merge that keeps the user's servers."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path, PurePosixPath, PureWindowsPath

import pytest

from mcploom.agents.config.claude_desktop import build_servers, config_path, merge_into_file
from mcploom.agents.errors import ConfigError


def test_config_path_per_os() -> None:
    home = PurePosixPath("/home/ada")
    assert str(config_path("darwin", {}, PurePosixPath("/Users/ada"))) == (
        "/Users/ada/Library/Application Support/Claude/claude_desktop_config.json"
    )
    assert str(config_path("linux", {}, home)) == "/home/ada/.config/Claude/claude_desktop_config.json"
    assert str(config_path("linux", {"XDG_CONFIG_HOME": "/xdg"}, home)) == "/xdg/Claude/claude_desktop_config.json"
    windows = config_path("win32", {"APPDATA": r"C:\Users\ada\AppData\Roaming"}, PureWindowsPath(r"C:\Users\ada"))
    assert str(windows) == r"C:\Users\ada\AppData\Roaming\Claude\claude_desktop_config.json"
    fallback = config_path("win32", {}, PureWindowsPath(r"C:\Users\ada"))
    assert str(fallback) == r"C:\Users\ada\AppData\Roaming\Claude\claude_desktop_config.json"


def test_entries_use_absolute_interpreter_and_data_paths(tmp_path: Path, monkeypatch) -> None:
    db = tmp_path / "shop.db"
    db.write_bytes(b"")
    (tmp_path / "notes").mkdir()
    monkeypatch.chdir(tmp_path)
    servers = build_servers([("utility", []), ("files", ["notes", "--read-only"]), ("sql", ["shop.db"])])
    assert list(servers) == ["mcploom-utility", "mcploom-files", "mcploom-sql"]
    for entry in servers.values():
        assert os.path.isabs(entry["command"]) and entry["command"] == os.path.abspath(sys.executable)
        assert entry["args"][0] == "-m" and entry["args"][1].startswith("mcploom.mcp_servers.")
        assert "env" not in entry  # the installed package is found without PYTHONPATH
    assert servers["mcploom-files"]["args"][2:] == [str(tmp_path / "notes"), "--read-only"]
    assert servers["mcploom-sql"]["args"][2:] == [str(tmp_path / "shop.db")]


def test_each_server_checks_and_writes_back_its_own_options(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "more").mkdir()
    (tmp_path / "tools.json").write_text("{}")
    files = build_servers([("files", [".", "./more", "--max-read-bytes", "10"])])["mcploom-files"]
    assert files["args"][2:] == [str(tmp_path), str(tmp_path / "more"), "--max-read-bytes", "10"]
    rag = build_servers([("rag", ["--data-dir", "~/idx", "--allow-root", "more", "--rerank"])])["mcploom-rag"]
    assert rag["args"][2:] == [
        "--data-dir",
        os.path.expanduser("~/idx"),
        "--rerank",
        "--allow-root",
        str(tmp_path / "more"),
    ]
    agent = build_servers([("agent", ["--model", "anthropic:claude-x", "--mcp-config", "tools.json"])])
    assert agent["mcploom-agent"]["args"][2:] == [
        "--model",
        "anthropic:claude-x",
        "--mcp-config",
        str(tmp_path / "tools.json"),
    ]


@pytest.mark.parametrize(
    ("servers", "message"),
    [
        ([("nope", [])], "At server 'nope': unknown server 'nope'. Known servers: utility, files, sql"),
        ([("files", [])], "At server 'files': the following arguments are required: ROOT"),
        ([("files", ["/definitely/not/here"])], "'/definitely/not/here' is not an existing directory"),
        ([("sql", [])], "the following arguments are required: DB_PATH"),
        ([("sql", ["/definitely/not/here.db"])], "no file at '/definitely/not/here.db'"),
        ([("utility", ["--bogus"])], "unrecognized arguments: --bogus"),
        ([("utility", ["--http"])], "drop --http"),
        ([("agent", ["--model", "nope"])], "no backend prefix"),
        ([("utility", []), ("utility", [])], "named twice"),
    ],
)
def test_bad_requests_say_what_to_fix(servers: list, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("(", r"\(")) as caught:
        build_servers(servers)
    assert "\n" not in str(caught.value)


def test_merge_keeps_other_servers_and_settings_and_backs_up(tmp_path: Path) -> None:
    target = tmp_path / "Claude" / "claude_desktop_config.json"
    target.parent.mkdir()
    original = {
        "globalShortcut": "Ctrl+Space",
        "mcpServers": {
            "filesystem": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/x"]},
            "mcploom-utility": {"command": "old-python", "args": []},
        },
    }
    target.write_text(json.dumps(original))
    servers = build_servers([("utility", [])])

    result = merge_into_file(target, servers)

    merged = json.loads(target.read_text())
    assert merged["globalShortcut"] == "Ctrl+Space"
    assert merged["mcpServers"]["filesystem"] == original["mcpServers"]["filesystem"]
    assert merged["mcpServers"]["mcploom-utility"] == servers["mcploom-utility"]
    assert result.replaced == ["mcploom-utility"] and result.added == []
    assert result.backup is not None and json.loads(result.backup.read_text()) == original
    assert result.backup.name.startswith("claude_desktop_config.json.") and result.backup.suffix == ".bak"
    # A second merge keeps the first backup and writes another.
    second = merge_into_file(target, servers)
    assert second.backup != result.backup and result.backup.exists()
    assert not [p for p in target.parent.iterdir() if p.suffix == ".tmp"]


def test_merge_creates_a_missing_file_without_backup(tmp_path: Path) -> None:
    target = tmp_path / "new" / "claude_desktop_config.json"
    result = merge_into_file(target, build_servers([("utility", [])]))
    assert result.backup is None and result.added == ["mcploom-utility"]
    assert list(json.loads(target.read_text())["mcpServers"]) == ["mcploom-utility"]


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"mcpServers": []}'])
def test_merge_refuses_a_broken_file_and_changes_nothing(tmp_path: Path, content: str) -> None:
    target = tmp_path / "claude_desktop_config.json"
    target.write_text(content)
    with pytest.raises(ConfigError, match="nothing was changed"):
        merge_into_file(target, build_servers([("utility", [])]))
    assert target.read_text() == content
    assert os.listdir(tmp_path) == ["claude_desktop_config.json"]
