"""``mcploom serve`` and ``mcploom claude-config`` on a Typer app built the way ``agents/cli/app.py`` builds it."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import typer
from mcp import Client, StdioServerParameters
from typer.testing import CliRunner

from mcploom.agents.cli.serve import register

REPO_ROOT = Path(__file__).resolve().parents[3]
runner = CliRunner()


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def test_help_lists_both_commands_with_option_help() -> None:
    result = runner.invoke(_app(), ["claude-config", "--help"])
    assert result.exit_code == 0
    assert "Servers to include" in result.output
    assert "--desktop-config" in result.output and "--write" in result.output
    top = runner.invoke(_app(), ["--help"])
    assert "serve" in top.output and "claude-config" in top.output


def test_serve_unknown_name_lists_the_known_ones() -> None:
    result = runner.invoke(_app(), ["serve", "nope"])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "Error: At serve NAME: unknown server 'nope'. Known servers: utility, files, sql, rag, agent."
    ]


def test_serve_help_and_the_server_help() -> None:
    own = runner.invoke(_app(), ["serve", "--help"])
    assert own.exit_code == 0 and "Server to run: utility, files, sql" in own.output
    server = runner.invoke(_app(), ["serve", "files", "--help"])
    assert server.exit_code == 0
    assert "mcploom serve files" in server.output and "--read-only" in server.output and "--http" in server.output
    bare = runner.invoke(_app(), ["serve"])
    assert bare.exit_code == 2 and "Server to run" in bare.output


def test_serve_passes_arguments_to_the_server(tmp_path: Path) -> None:
    result = runner.invoke(_app(), ["serve", "sql", str(tmp_path / "missing.db")])
    assert result.exit_code == 2  # argparse's usage error, from the server's own parser
    assert "no file at" in result.stderr
    assert not (tmp_path / "missing.db").exists()


async def test_serve_runs_a_server_over_stdio(tmp_path: Path) -> None:
    """A real process: `serve files ROOT --read-only` through register(app) answers MCP on stdio."""
    (tmp_path / "a.txt").write_text("hi\n")
    script = "import typer; from mcploom.agents.cli.serve import register; app = typer.Typer(); register(app); app()"
    params = StdioServerParameters(
        command=sys.executable,
        args=["-c", script, "serve", "files", str(tmp_path), "--read-only"],
        cwd=str(REPO_ROOT),
    )
    async with Client(params, read_timeout_seconds=30) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        read = await client.call_tool("read_text", {"path": "a.txt"})
    assert names == {"read_text", "list_dir", "search"}
    assert read.structured_content["content"] == "hi\n"


def test_claude_config_prints_json_by_default(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / ".config"))
    result = runner.invoke(_app(), ["claude-config", "utility", f"files {tmp_path} --read-only"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert list(printed["mcpServers"]) == ["mcploom-utility", "mcploom-files"]
    assert printed["mcpServers"]["mcploom-files"]["args"][-2:] == [str(tmp_path), "--read-only"]
    assert not (tmp_path / ".config").exists()


def test_claude_config_write_merges_into_the_given_file(tmp_path: Path) -> None:
    target = tmp_path / "claude_desktop_config.json"
    target.write_text(json.dumps({"mcpServers": {"mine": {"command": "x"}}}))
    result = runner.invoke(_app(), ["claude-config", "--write", "--desktop-config", str(target)])
    assert result.exit_code == 0, result.output
    assert "added: mcploom-utility" in result.output and "Backup" in result.output
    assert set(json.loads(target.read_text())["mcpServers"]) == {"mine", "mcploom-utility"}


def test_claude_config_write_defaults_to_the_os_location_under_home(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    result = runner.invoke(_app(), ["claude-config", "--write"])
    assert result.exit_code == 0, result.output
    written = tmp_path / ".config" / "Claude" / "claude_desktop_config.json"
    assert json.loads(written.read_text())["mcpServers"]["mcploom-utility"]["command"] == os.path.abspath(
        sys.executable
    )


def test_claude_config_errors_are_one_plain_line(tmp_path: Path) -> None:
    missing = runner.invoke(_app(), ["claude-config", "sql"])
    assert missing.exit_code == 1 and "the following arguments are required: DB_PATH" in missing.stderr
    broken = tmp_path / "claude_desktop_config.json"
    broken.write_text("{oops")
    refused = runner.invoke(_app(), ["claude-config", "--write", "--desktop-config", str(broken)])
    assert refused.exit_code == 1 and "nothing was changed" in refused.stderr
    assert broken.read_text() == "{oops"
    for result in (missing, refused):
        assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("Error: ")
