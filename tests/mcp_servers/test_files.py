"""The files server's tools through an in-process MCP client: results, limits and read-only mode."""

from __future__ import annotations

import os
from pathlib import Path

from mcp import Client

from mcploom.mcp_servers.files import create_server

WRITE_TOOLS = {"write_text", "edit", "move"}


async def test_tools_annotations_and_schemas(files_root: Path) -> None:
    async with Client(create_server([files_root])) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == {"read_text", "list_dir", "search"} | WRITE_TOOLS
    for name in ("read_text", "list_dir", "search"):
        assert tools[name].annotations.read_only_hint is True
        assert tools[name].annotations.open_world_hint is False
    for name in WRITE_TOOLS:
        assert tools[name].annotations.read_only_hint is False
        assert tools[name].annotations.destructive_hint is True
    assert tools["write_text"].annotations.idempotent_hint is True
    assert tools["edit"].annotations.idempotent_hint is False
    assert all(tool.output_schema for tool in tools.values())
    assert all(tool.description for tool in tools.values())


async def test_read_only_mode_does_not_list_write_tools(files_root: Path) -> None:
    async with Client(create_server([files_root], read_only=True)) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        result = await client.call_tool("write_text", {"path": "x.txt", "content": "x"})
    assert names == {"read_text", "list_dir", "search"}
    assert result.is_error and "Unknown tool" in result.content[0].text
    assert not (files_root / "x.txt").exists()


async def test_read_list_search(files_root: Path) -> None:
    async with Client(create_server([files_root])) as client:
        read = await client.call_tool("read_text", {"path": "docs/guide.md", "start_line": 2, "max_lines": 1})
        listing = await client.call_tool("list_dir", {"path": "docs"})
        found = await client.call_tool("search", {"pattern": "**/*.md", "text": "install"})
        roots = await client.read_resource("files://roots")
    assert read.structured_content == {
        "path": "docs/guide.md",
        "content": "Install with pip.\n",
        "start_line": 2,
        "end_line": 2,
        "size_bytes": 39,
        "truncated": True,
        "next_start_line": 3,
    }
    assert [(e["name"], e["type"]) for e in listing.structured_content["entries"]] == [
        ("api.md", "file"),
        ("guide.md", "file"),
    ]
    assert found.structured_content["matches"] == [{"path": "docs/guide.md", "line": 2, "text": "Install with pip."}]
    assert str(files_root) in roots.contents[0].text


async def test_read_limits_and_binary(files_root: Path) -> None:
    (files_root / "big.txt").write_text("x" * 50 + "\n" + "y" * 50 + "\n")
    (files_root / "blob.bin").write_bytes(b"\x00\x01\x02")
    async with Client(create_server([files_root], max_read_bytes=60)) as client:
        first = await client.call_tool("read_text", {"path": "big.txt"})
        second = await client.call_tool("read_text", {"path": "big.txt", "start_line": 2})
        binary = await client.call_tool("read_text", {"path": "blob.bin"})
        directory = await client.call_tool("read_text", {"path": "docs"})
        missing = await client.call_tool("read_text", {"path": "nope.txt"})
    assert first.structured_content["truncated"] and first.structured_content["next_start_line"] == 2
    assert second.structured_content["content"] == "y" * 50 + "\n"
    assert binary.is_error and "binary" in binary.content[0].text
    assert directory.is_error and "list_dir" in directory.content[0].text
    assert missing.is_error and "No file or directory" in missing.content[0].text


async def test_write_create_and_overwrite(files_root: Path) -> None:
    async with Client(create_server([files_root], max_write_bytes=100)) as client:
        created = await client.call_tool("write_text", {"path": "out/a.txt", "content": "one", "create_dirs": True})
        again = await client.call_tool("write_text", {"path": "out/a.txt", "content": "two"})
        replaced = await client.call_tool("write_text", {"path": "out/a.txt", "content": "two", "overwrite": True})
        too_big = await client.call_tool("write_text", {"path": "big.txt", "content": "z" * 101})
    assert created.structured_content == {"path": "out/a.txt", "bytes_written": 3, "created": True}
    assert again.is_error and "overwrite=true" in again.content[0].text
    assert replaced.structured_content["created"] is False
    assert (files_root / "out" / "a.txt").read_text() == "two"
    assert too_big.is_error and "limit is 100" in too_big.content[0].text
    assert not (files_root / "big.txt").exists()
    assert not [name for name in os.listdir(files_root / "out") if name.endswith(".tmp")]


async def test_write_keeps_the_file_mode(files_root: Path) -> None:
    target = files_root / "script.sh"
    target.write_text("echo a\n")
    target.chmod(0o750)
    async with Client(create_server([files_root])) as client:
        await client.call_tool("edit", {"path": "script.sh", "old_text": "a", "new_text": "b"})
    assert target.read_text() == "echo b\n"
    assert target.stat().st_mode & 0o777 == 0o750


async def test_edit_dry_run_then_apply(files_root: Path) -> None:
    async with Client(create_server([files_root])) as client:
        dry = await client.call_tool(
            "edit", {"path": "notes.txt", "old_text": "beta", "new_text": "BETA", "dry_run": True}
        )
        unchanged = (files_root / "notes.txt").read_text()
        applied = await client.call_tool("edit", {"path": "notes.txt", "old_text": "beta", "new_text": "BETA"})
        missing = await client.call_tool("edit", {"path": "notes.txt", "old_text": "delta", "new_text": "x"})
        (files_root / "twice.txt").write_text("a a")
        ambiguous = await client.call_tool("edit", {"path": "twice.txt", "old_text": "a", "new_text": "b"})
        everywhere = await client.call_tool(
            "edit", {"path": "twice.txt", "old_text": "a", "new_text": "b", "replace_all": True}
        )
    assert unchanged == "alpha\nbeta\ngamma\n"
    assert dry.structured_content["applied"] is False
    assert "-beta\n+BETA\n" in dry.structured_content["diff"]
    assert applied.structured_content["replacements"] == 1 and applied.structured_content["applied"]
    assert (files_root / "notes.txt").read_text() == "alpha\nBETA\ngamma\n"
    assert missing.is_error and "not found" in missing.content[0].text
    assert ambiguous.is_error and "2 times" in ambiguous.content[0].text
    assert everywhere.structured_content["replacements"] == 2
    assert (files_root / "twice.txt").read_text() == "b b"


async def test_move(files_root: Path) -> None:
    async with Client(create_server([files_root])) as client:
        moved = await client.call_tool("move", {"source": "notes.txt", "destination": "docs/notes.txt"})
        clash = await client.call_tool("move", {"source": "docs/api.md", "destination": "docs/guide.md"})
        into_dir = await client.call_tool("move", {"source": "docs/api.md", "destination": "docs"})
        into_itself = await client.call_tool("move", {"source": "docs", "destination": "docs/inner"})
        renamed_dir = await client.call_tool("move", {"source": "docs", "destination": "manual"})
    assert moved.structured_content == {"source": "notes.txt", "destination": "docs/notes.txt"}
    assert clash.is_error and "overwrite=true" in clash.content[0].text
    assert into_dir.is_error and "existing directory" in into_dir.content[0].text
    assert into_itself.is_error
    assert renamed_dir.structured_content["destination"] == "manual"
    assert sorted(os.listdir(files_root / "manual")) == ["api.md", "guide.md", "notes.txt"]


async def test_an_enormous_line_is_refused_without_reading_it_all(files_root: Path) -> None:
    (files_root / "one_line.txt").write_bytes(b"z" * 3_000_000)
    async with Client(create_server([files_root], max_read_bytes=1000)) as client:
        result = await client.call_tool("read_text", {"path": "one_line.txt"})
        found = await client.call_tool("search", {"pattern": "*.txt", "text": "zzz"})
    assert result.is_error and "longer than the 1000-byte limit" in result.content[0].text
    assert not found.is_error and all(m["path"] != "one_line.txt" for m in found.structured_content["matches"])
