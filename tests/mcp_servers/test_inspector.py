"""The MCP Inspector CLI as an outside client, started from the config ``mcploom claude-config`` generates.

Needs ``npx`` and the ``@modelcontextprotocol/inspector`` package (downloaded on first use and
cached by npm); skipped where ``npx`` is missing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mcploom.agents.config.claude_desktop import build_servers

pytestmark = [
    pytest.mark.npx,
    pytest.mark.skipif(shutil.which("npx") is None, reason="npx is not installed (Node.js needed for the Inspector)"),
]

INSPECTOR = ["npx", "-y", "@modelcontextprotocol/inspector", "--cli"]

# name -> (tool, --tool-arg values, expected subset of structuredContent)
CALLS: dict[str, tuple[str, list[str], dict[str, Any]]] = {
    "utility": ("calculate", ["expression=6*7"], {"result": 42}),
    "files": ("search", ["pattern=*.md", "text=pip"], {"files_scanned": 2}),
    "sql": ("query", ["sql=SELECT count(*) AS n FROM orders"], {"columns": ["n"], "rows": [[4]]}),
}


def _inspector(config: Path, server: str, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [*INSPECTOR, "--config", str(config), "--server", server, *args],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-2000:] or done.stdout[-2000:]
    return json.loads(done.stdout)


@pytest.mark.parametrize("name", list(CALLS))
def test_inspector_lists_and_calls_tools(name: str, files_root: Path, sample_db: Path, tmp_path: Path) -> None:
    config = tmp_path / "claude_desktop_config.json"
    args = {"utility": [], "files": [str(files_root)], "sql": [str(sample_db)]}
    servers = build_servers([(name, args[name])])
    config.write_text(json.dumps({"mcpServers": servers}))
    server = f"mcploom-{name}"

    listed = _inspector(config, server, "--method", "tools/list")
    tool, tool_args, expected = CALLS[name]
    assert tool in {t["name"] for t in listed["tools"]}
    assert all("annotations" in t and "outputSchema" in t for t in listed["tools"])

    called = _inspector(
        config, server, "--method", "tools/call", "--tool-name", tool, *[f"--tool-arg={a}" for a in tool_args]
    )
    assert called["isError"] is False, called
    assert expected.items() <= called["structuredContent"].items()
