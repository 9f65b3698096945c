"""The rag server indexes nothing from outside its roots: every path goes through the sandbox, and
walked folders never follow links, open special files or read hard-linked files.

Each test runs through a real MCP client: in-process (``create_server``) and over stdio. A secret
outside the root holds a unique marker; after ingest, ``search`` for it must find nothing.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from mcploom.mcp_servers.rag import create_server

from .conftest import REPO_ROOT, SERVER_ENV

FILE_MARKER = "NARWHAL-FILE-3307"
DIR_MARKER = "NARWHAL-DIR-8124"
HARD_MARKER = "NARWHAL-HARD-5590"
MARKERS = (FILE_MARKER, DIR_MARKER, HARD_MARKER)


@pytest.fixture
def traps(tmp_path: Path) -> Path:
    """``root/``: one good file, links to a file and a folder outside, a FIFO and a hard link out."""
    outside = tmp_path / "outside"
    (outside / "dir").mkdir(parents=True)
    (outside / "secret.md").write_text(f"# Secret\n\n{FILE_MARKER} is outside the root.")
    (outside / "dir" / "inner.md").write_text(f"# Inner\n\n{DIR_MARKER} is outside the root.")
    (outside / "hard.md").write_text(f"# Hard\n\n{HARD_MARKER} is outside the root.")
    root = tmp_path / "root"
    root.mkdir()
    (root / "good.md").write_text("# Lighthouses\n\nA lighthouse keeper logs the weather every night.")
    os.symlink(outside / "secret.md", root / "link.md")
    os.symlink(outside / "dir", root / "linkdir")
    os.mkfifo(root / "pipe.txt")
    os.link(outside / "hard.md", root / "hard.md")
    return root


def _check_report(report: dict, root: Path) -> None:
    assert report["added"] == [str(root / "good.md")]
    reasons = {Path(f["source"]).name: f["reason"] for f in report["failed"]}
    assert set(reasons) == {"link.md", "linkdir", "pipe.txt", "hard.md"}
    assert reasons["link.md"].startswith("symbolic link: not followed")
    assert reasons["linkdir"].startswith("symbolic link: not followed")
    assert reasons["pipe.txt"].startswith("not a regular file (FIFO)")
    assert reasons["hard.md"].startswith("hard-linked file (2 links)")


async def _assert_markers_not_found(client: Client) -> None:
    for marker in MARKERS:
        for mode in ("bm25", "hybrid"):
            found = await client.call_tool("search", {"query": marker, "k": 5, "mode": mode})
            assert not found.is_error, found.content
            result = found.structured_content
            assert marker not in str(result["passages"]) and marker not in result["context"]


def _refusals(root: Path) -> dict[str, str]:
    """Paths ``ingest`` must refuse, each with a piece of the refusal it gets."""
    outside = root.parent / "outside"
    return {
        "/etc/hostname": "outside the allowed roots",
        "../x": "'..'",
        "good.md/../../outside": "'..'",
        str(outside / "secret.md"): "outside the allowed roots",
        str(root / "link.md"): "outside the allowed roots",  # a link named directly that leads out
        "linkdir": "outside the allowed roots",
        "~/.bashrc": "'~'",
        "%2e%2e/outside": "percent-encoded",
        f"file://{outside}/secret.md": "outside the allowed roots",
        "file://otherhost/etc/hostname": "only local files",
    }


async def test_ingest_skips_links_fifos_and_hard_links_and_search_finds_no_secret(tmp_path: Path, traps) -> None:
    async with Client(create_server(tmp_path / "rag", allowed_roots=[traps])) as client:
        result = await client.call_tool("ingest", {"paths": [str(traps)]})
        assert not result.is_error, result.content
        _check_report(result.structured_content, traps)
        await _assert_markers_not_found(client)
        relative = await client.call_tool("ingest", {"paths": ["good.md"]})  # relative to the first root
        assert relative.structured_content["unchanged"] == [str(traps / "good.md")]


async def test_paths_outside_the_roots_are_refused(tmp_path: Path, traps, quiet_sdk_logs) -> None:
    async with Client(create_server(tmp_path / "rag", allowed_roots=[traps])) as client:
        for path, message in _refusals(traps).items():
            result = await client.call_tool("ingest", {"paths": [path]})
            assert result.is_error, path
            assert message in result.content[0].text, (path, result.content[0].text)
        missing = await client.call_tool("ingest", {"paths": ["nope.md"]})
        assert missing.is_error and "nope.md" in missing.content[0].text
        mixed = await client.call_tool("ingest", {"paths": [str(traps / "good.md"), "/etc/hostname"]})
        assert mixed.is_error  # one refused path refuses the whole call: nothing was indexed
        listed = await client.call_tool("list_collections", {})
        assert listed.structured_content == {"collections": []}


async def test_without_allow_root_ingest_is_not_offered_but_search_and_delete_work(tmp_path: Path, traps) -> None:
    data = tmp_path / "rag"
    async with Client(create_server(data, allowed_roots=[traps])) as client:
        assert not (await client.call_tool("ingest", {"paths": [str(traps / "good.md")]})).is_error
    async with Client(create_server(data)) as client:
        assert {t.name for t in (await client.list_tools()).tools} == {"search", "list_collections"}
    server = create_server(data, allow_delete=True)
    assert "ingest is not offered" in server.instructions and "--allow-root" in server.instructions
    async with Client(server) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        assert tools == {"search", "list_collections", "delete_document"}
        refused = await client.call_tool("ingest", {"paths": ["/etc/hostname"]})
        assert refused.is_error
        hits = await client.call_tool("search", {"query": "lighthouse keeper", "k": 1, "mode": "bm25"})
        assert hits.structured_content["passages"][0]["source"] == str(traps / "good.md")
        deleted = await client.call_tool("delete_document", {"source": str(traps / "good.md")})
        assert deleted.structured_content["chunks_removed"] == 1


async def test_delete_document_matches_the_stored_source_without_resolving_links(tmp_path: Path, traps) -> None:
    (traps / "other.md").write_text("# Other\n\nFog horns sound in bad weather.")
    async with Client(create_server(tmp_path / "rag", allowed_roots=[traps], allow_delete=True)) as client:
        ingested = await client.call_tool("ingest", {"paths": ["good.md", "other.md"]})
        assert len(ingested.structured_content["added"]) == 2
        os.symlink(traps / "other.md", traps / "alias.md")
        alias = await client.call_tool("delete_document", {"source": str(traps / "alias.md")})
        assert alias.is_error and "No document with source" in alias.content[0].text
        hits = await client.call_tool("search", {"query": "fog horns", "k": 1, "mode": "bm25"})
        assert hits.structured_content["passages"][0]["source"] == str(traps / "other.md")


def test_allow_root_help_says_ingest_needs_it() -> None:
    import argparse

    from mcploom.mcp_servers.rag import _add_arguments

    parser = argparse.ArgumentParser()
    _add_arguments(parser)
    text = " ".join(parser.format_help().split())
    assert "without one, the ingest tool is not offered" in text


async def test_over_stdio_the_roots_hold_and_no_root_means_no_ingest(tmp_path: Path, traps) -> None:
    def params(*args: str) -> StdioServerParameters:
        return StdioServerParameters(
            command=sys.executable,
            args=["-m", "mcploom.mcp_servers.rag", "--data-dir", str(tmp_path / "rag"), *args],
            cwd=str(REPO_ROOT),
            env={**SERVER_ENV, "HF_HUB_OFFLINE": "1"},
        )

    async with Client(params("--allow-root", str(traps))) as client:
        assert "ingest" in {t.name for t in (await client.list_tools()).tools}
        result = await client.call_tool("ingest", {"paths": [str(traps)]})
        assert not result.is_error, result.content
        _check_report(result.structured_content, traps)
        await _assert_markers_not_found(client)
        for path in ("/etc/hostname", "../x", str(traps.parent / "outside" / "secret.md")):
            refused = await client.call_tool("ingest", {"paths": [path]})
            assert refused.is_error and "Refused" in refused.content[0].text, path
    async with Client(params()) as client:
        assert "ingest" not in {t.name for t in (await client.list_tools()).tools}
        hits = await client.call_tool("search", {"query": "lighthouse keeper", "k": 3, "mode": "bm25"})
        assert [p["source"] for p in hits.structured_content["passages"]] == [str(traps / "good.md")]
