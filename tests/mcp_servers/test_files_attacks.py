"""Table-driven escape attempts against the files server: every one is refused, nothing outside changes.

Each case calls a tool through a real MCP client (in-process) on a real directory tree laid
out with escape hatches: symlinks out of the root, link loops, a directory swapped for a link,
a sibling directory whose name extends the root's. A case passes only if the tool refuses, the
secret text outside the root never appears in a result, and the tree outside the root is
byte-for-byte what it was.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from mcp import Client

from mcploom.mcp_servers.files import create_server

SECRET = "TOP-SECRET"


def _lay_out_escape_hatches(root: Path) -> None:
    base = root.parent
    (base / "root_sibling").mkdir()
    (base / "root_sibling" / "x.txt").write_text(SECRET)
    os.symlink(base / "outside", root / "link_out")
    os.symlink(base / "outside" / "secret.txt", root / "link_secret")
    os.symlink(base / "outside" / "planted.txt", root / "dangling")
    os.symlink("loop_b", root / "loop_a")
    os.symlink("loop_a", root / "loop_b")
    os.symlink("self_loop", root / "self_loop")
    os.symlink("../..", root / "docs" / "up")
    # Parent symlink swap: a directory the model has seen is replaced by a link to outside.
    (root / "swapdir").mkdir()
    (root / "swapdir").rmdir()
    os.symlink(base / "outside", root / "swapdir")


def _outside_state(root: Path, snapshot) -> dict[str, object]:
    base = root.parent
    return {
        "outside": snapshot(base / "outside"),
        "sibling": snapshot(base / "root_sibling"),
        "top": sorted(os.listdir(base)),
    }


OUT = "{base}/outside"

# (tool, arguments): "{base}" and "{root}" are filled in with the real temporary paths.
ATTACKS: list[tuple[str, dict[str, object]]] = [
    # traversal
    ("read_text", {"path": "../outside/secret.txt"}),
    ("read_text", {"path": "docs/../../outside/secret.txt"}),
    ("read_text", {"path": "./docs/../../outside/secret.txt"}),
    ("read_text", {"path": "{root}/../outside/secret.txt"}),
    ("list_dir", {"path": ".."}),
    ("search", {"path": "..", "pattern": "*"}),
    # absolute paths outside the roots
    ("read_text", {"path": "/etc/passwd"}),
    ("read_text", {"path": "//etc/passwd"}),
    ("read_text", {"path": OUT + "/secret.txt"}),
    ("read_text", {"path": "{base}/root_sibling/x.txt"}),
    ("list_dir", {"path": "/"}),
    ("write_text", {"path": OUT + "/new.txt", "content": "x"}),
    # home expansion
    ("read_text", {"path": "~/.bashrc"}),
    ("read_text", {"path": "~root/.profile"}),
    # null bytes and control characters
    ("read_text", {"path": "notes.txt\x00.md"}),
    ("write_text", {"path": "new\x00.txt", "content": "x"}),
    ("read_text", {"path": "notes.txt%00"}),
    ("read_text", {"path": "notes.txt\n../../outside/secret.txt"}),
    # percent-encoded separators and dots
    ("read_text", {"path": "..%2foutside%2fsecret.txt"}),
    ("read_text", {"path": "%2e%2e/outside/secret.txt"}),
    ("read_text", {"path": "..%5coutside%5csecret.txt"}),
    ("write_text", {"path": "docs/%2E%2E/%2E%2E/outside/x.txt", "content": "x"}),
    # Windows syntax and URLs
    ("read_text", {"path": "..\\outside\\secret.txt"}),
    ("read_text", {"path": "C:\\Windows\\win.ini"}),
    ("read_text", {"path": "C:/Windows/win.ini"}),
    ("read_text", {"path": "file:///etc/passwd"}),
    # symlinks that point outside
    ("read_text", {"path": "link_secret"}),
    ("read_text", {"path": "link_out/secret.txt"}),
    ("read_text", {"path": "docs/up/outside/secret.txt"}),
    ("list_dir", {"path": "link_out"}),
    ("search", {"path": "link_out", "pattern": "*", "text": "SECRET"}),
    ("write_text", {"path": "link_out/new.txt", "content": "x"}),
    ("write_text", {"path": "link_secret", "content": "pwned", "overwrite": True}),
    ("write_text", {"path": "dangling", "content": "pwned", "overwrite": True}),
    ("write_text", {"path": "dangling", "content": "pwned"}),
    ("write_text", {"path": "docs/up/outside/x.txt", "content": "x"}),
    ("write_text", {"path": "link_out/sub/new.txt", "content": "x", "create_dirs": True}),
    ("edit", {"path": "link_secret", "old_text": "TOP", "new_text": "pwned"}),
    ("edit", {"path": "../outside/secret.txt", "old_text": "TOP", "new_text": "pwned"}),
    # symlink loops
    ("read_text", {"path": "loop_a"}),
    ("read_text", {"path": "self_loop"}),
    ("write_text", {"path": "loop_a/x.txt", "content": "x"}),
    # parent symlink swap
    ("read_text", {"path": "swapdir/secret.txt"}),
    ("write_text", {"path": "swapdir/new.txt", "content": "x"}),
    ("move", {"source": "notes.txt", "destination": "swapdir/notes.txt"}),
    # moves out of (or from outside) the root
    ("move", {"source": "notes.txt", "destination": "../outside/notes.txt"}),
    ("move", {"source": "notes.txt", "destination": "link_out/notes.txt"}),
    ("move", {"source": "link_secret", "destination": "stolen.txt"}),
    ("move", {"source": "../outside/secret.txt", "destination": "stolen.txt"}),
    ("move", {"source": OUT + "/secret.txt", "destination": "stolen.txt"}),
    ("move", {"source": ".", "destination": "elsewhere"}),
    ("move", {"source": "docs", "destination": "link_out/docs"}),
    # the root itself is not a file
    ("write_text", {"path": ".", "content": "x", "overwrite": True}),
    ("write_text", {"path": "{root}", "content": "x", "overwrite": True}),
    # long names
    ("read_text", {"path": "a" * 300}),
    ("write_text", {"path": "b" * 256 + ".txt", "content": "x"}),
    ("read_text", {"path": "a/" * 3000}),
]


def _fill(value: object, root: Path) -> object:
    if isinstance(value, str):
        return value.replace("{base}", str(root.parent)).replace("{root}", str(root))
    return value


@pytest.mark.parametrize(("tool", "arguments"), ATTACKS, ids=[f"{i:02d}-{t}" for i, (t, _) in enumerate(ATTACKS)])
async def test_attack_is_refused_and_nothing_escapes(
    tool: str, arguments: dict[str, object], files_root: Path, snapshot, quiet_sdk_logs
) -> None:
    _lay_out_escape_hatches(files_root)
    before = _outside_state(files_root, snapshot)
    inside_before = snapshot(files_root)
    args = {key: _fill(value, files_root) for key, value in arguments.items()}

    async with Client(create_server([files_root])) as client:
        result = await client.call_tool(tool, args)

    text = " ".join(getattr(block, "text", "") for block in result.content)
    assert result.is_error, f"{tool}({args!r}) was not refused: {result.structured_content}"
    assert text.strip(), "a refusal must say why"
    assert SECRET not in text and SECRET not in str(result.structured_content)
    assert _outside_state(files_root, snapshot) == before
    # A refused call changes nothing inside the root either (no stray temporary files).
    assert snapshot(files_root) == inside_before


async def test_attack_suite_is_large_enough() -> None:
    assert len(ATTACKS) >= 40


async def test_text_search_skips_links_out_of_the_root(files_root: Path, snapshot) -> None:
    _lay_out_escape_hatches(files_root)
    async with Client(create_server([files_root])) as client:
        result = await client.call_tool("search", {"pattern": "**", "text": "SECRET"})
        names = await client.call_tool("search", {"pattern": "**/*"})
    assert not result.is_error
    assert result.structured_content["matches"] == []
    listed = {m["path"] for m in names.structured_content["matches"]}
    assert "notes.txt" in listed and not any("secret" in path for path in listed)


async def test_link_inside_the_root_still_works(files_root: Path) -> None:
    """Positive control: the policy refuses escapes, not symlinks as such."""
    os.symlink(files_root / "docs", files_root / "docs_link")
    async with Client(create_server([files_root])) as client:
        result = await client.call_tool("read_text", {"path": "docs_link/guide.md"})
    assert not result.is_error
    assert result.structured_content["path"] == "docs/guide.md"
