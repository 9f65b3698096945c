"""Claude Desktop config: absolute paths, per-OS location, and a merge that keeps the user's servers."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path, PurePosixPath, PureWindowsPath

import pytest

from mcploom.agents.claude_config import (
    build_servers,
    config_path,
    merge_into_file,
    parse_server_args,
    server_entry,
)
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
    servers = build_servers(["utility", "files", "sql"], files_roots=["notes"], sql_db="shop.db")
    assert list(servers) == ["mcploom-utility", "mcploom-files", "mcploom-sql"]
    for entry in servers.values():
        assert os.path.isabs(entry["command"]) and entry["command"] == os.path.abspath(sys.executable)
        assert entry["args"][0] == "-m"
    assert servers["mcploom-files"]["args"][2:] == [str(tmp_path / "notes")]
    assert servers["mcploom-sql"]["args"][2:] == [str(tmp_path / "shop.db")]
    # This checkout is not installed in site-packages, so the entry carries it on PYTHONPATH.
    assert Path(servers["mcploom-utility"]["env"]["PYTHONPATH"], "mcp_servers", "utility.py").is_file()


def test_extra_args_are_made_absolute_when_they_look_like_paths(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    extra = parse_server_args(["files:--read-only --max-read-bytes 10", "files:./more"])
    servers = build_servers(["files"], files_roots=[tmp_path], extra_args=extra)
    assert servers["mcploom-files"]["args"][2:] == [
        str(tmp_path),
        "--read-only",
        "--max-read-bytes",
        "10",
        str(tmp_path / "more"),
    ]
    assert server_entry("utility", ["~/x"])["args"][-1] == os.path.expanduser("~/x")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"names": ["nope"]}, "unknown server 'nope'. Known servers: utility, files, sql"),
        ({"names": ["files"]}, "--files-root"),
        ({"names": ["files"], "files_roots": ["/definitely/not/here"]}, "not an existing directory"),
        ({"names": ["sql"]}, "--sql-db"),
        ({"names": ["sql"], "sql_db": "/definitely/not/here.db"}, "never creates one"),
        ({"names": ["utility"], "extra_args": {"sql": ["x"]}}, "not in --servers"),
    ],
)
def test_bad_requests_say_what_to_fix(kwargs: dict, message: str) -> None:
    names = kwargs.pop("names")
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        build_servers(names, **kwargs)
    with pytest.raises(ConfigError, match="NAME:ARGS"):
        parse_server_args(["no-colon"])


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
    servers = build_servers(["utility"])

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
    result = merge_into_file(target, build_servers(["utility"]))
    assert result.backup is None and result.added == ["mcploom-utility"]
    assert list(json.loads(target.read_text())["mcpServers"]) == ["mcploom-utility"]


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"mcpServers": []}'])
def test_merge_refuses_a_broken_file_and_changes_nothing(tmp_path: Path, content: str) -> None:
    target = tmp_path / "claude_desktop_config.json"
    target.write_text(content)
    with pytest.raises(ConfigError, match="nothing was changed"):
        merge_into_file(target, build_servers(["utility"]))
    assert target.read_text() == content
    assert os.listdir(tmp_path) == ["claude_desktop_config.json"]
