"""The rag server: in-process MCP client over a real index, plus one real stdio process."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from mcploom.mcp_servers.rag import create_server

from .conftest import REPO_ROOT, SERVER_ENV

DOCS = {
    "pasta.md": "# Pasta\n\n## Boiling\n\nCook spaghetti in salted boiling water for nine minutes.",
    "tcp.txt": "TCP opens a connection with a three-way handshake of SYN, SYN-ACK and ACK packets.",
    "rust.html": "<title>Rust</title><h1>Ownership</h1><p>Rust frees memory through ownership, no GC.</p>",
}


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    for name, text in DOCS.items():
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "blob.txt").write_bytes(b"\x00\x01\x02")
    return folder


async def test_tools_resources_and_prompt_are_declared_truthfully(tmp_path: Path, docs: Path) -> None:
    async with Client(create_server(tmp_path / "rag", allowed_roots=[docs], allow_delete=True)) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        templates = (await client.list_resource_templates()).resource_templates
        resources = (await client.list_resources()).resources
        prompts = (await client.list_prompts()).prompts
    assert set(tools) == {"search", "ingest", "list_collections", "delete_document"}
    for name in ("search", "list_collections"):
        assert tools[name].annotations.read_only_hint is True
    for name in ("ingest", "delete_document"):
        assert tools[name].annotations.read_only_hint is False and tools[name].annotations.destructive_hint is True
    assert all(t.annotations.open_world_hint is False and t.output_schema and t.description for t in tools.values())
    assert [str(r.uri) for r in resources] == ["rag://collections"]
    assert [t.uri_template for t in templates] == ["rag://document/{+source}"]
    assert [p.name for p in prompts] == ["answer_with_citations"]


async def test_ingest_search_read_cite_and_delete(tmp_path: Path, docs: Path) -> None:
    async with Client(create_server(tmp_path / "rag", allowed_roots=[docs], allow_delete=True)) as client:
        ingested = await client.call_tool("ingest", {"paths": [str(docs)], "collection": "notes"})
        assert not ingested.is_error, ingested.content
        report = ingested.structured_content
        assert len(report["added"]) == 3 and report["failed"][0]["source"].endswith("blob.txt")
        again = await client.call_tool("ingest", {"paths": [f"file://{docs}"], "collection": "notes"})
        assert len(again.structured_content["unchanged"]) == 3

        found = await client.call_tool("search", {"query": "how long to boil spaghetti", "k": 2, "collection": "notes"})
        best = found.structured_content["passages"][0]
        assert best["source"] == str(docs / "pasta.md") and best["rank"] == 1 and best["heading"] == "Pasta"
        assert best["text"].startswith("# Pasta") and best["end"] > best["start"] == 0
        assert 0.4 < best["relevance"] <= 1 and best["relevance"] > found.structured_content["passages"][1]["relevance"]
        assert found.structured_content["context"].startswith(f"[1] {docs / 'pasta.md'}")

        bm25 = await client.call_tool("search", {"query": "handshake", "k": 1, "collection": "notes", "mode": "bm25"})
        assert bm25.structured_content["passages"][0]["source"].endswith("tcp.txt")
        filtered = await client.call_tool(
            "search", {"query": "memory", "collection": "notes", "filters": {"source": str(docs / "tcp.txt")}}
        )
        assert [p["source"] for p in filtered.structured_content["passages"]] == [str(docs / "tcp.txt")]

        listed = await client.call_tool("list_collections", {})
        assert listed.structured_content == {"collections": [{"name": "notes", "default": False}]}
        overview = json.loads((await client.read_resource("rag://collections")).contents[0].text)
        assert sorted(Path(s["source"]).name for s in overview["notes"]) == ["pasta.md", "rust.html", "tcp.txt"]

        deleted = await client.call_tool("delete_document", {"source": str(docs / "tcp.txt"), "collection": "notes"})
        assert deleted.structured_content["chunks_removed"] == 1
        gone = await client.call_tool("delete_document", {"source": str(docs / "tcp.txt"), "collection": "notes"})
        assert gone.is_error and "No document with source" in gone.content[0].text

        outside = await client.call_tool("ingest", {"paths": [str(tmp_path)]})
        assert outside.is_error and "outside the allowed roots" in outside.content[0].text
        url = await client.call_tool("ingest", {"paths": ["https://example.com/a.html"]})
        assert url.is_error and "only local files" in url.content[0].text
        unknown = await client.call_tool("search", {"query": "x", "collection": "nope"})
        assert unknown.is_error and "Unknown collection 'nope'; try one of [notes]" in unknown.content[0].text


async def test_document_resource_and_citation_prompt(tmp_path: Path, docs: Path) -> None:
    async with Client(create_server(tmp_path / "rag", allowed_roots=[docs])) as client:
        await client.call_tool("ingest", {"paths": [str(docs / "pasta.md"), str(docs / "tcp.txt")]})
        text = (await client.read_resource(f"rag://document/{docs / 'pasta.md'}")).contents[0].text
        assert text == DOCS["pasta.md"]
        prompt = await client.get_prompt("answer_with_citations", {"question": "How long do I boil spaghetti?"})
        body = prompt.messages[0].content.text
        assert "[1] " + str(docs / "pasta.md") in body and "square brackets" in body
        assert body.rstrip().endswith("Question: How long do I boil spaghetti?")


def test_server_starts_without_heavy_imports(tmp_path: Path) -> None:
    code = (
        "import sys; from mcploom.mcp_servers.rag import create_server; create_server(sys.argv[1]); "
        "print([m for m in ('torch', 'sentence_transformers', 'chromadb', 'onnxruntime') if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.stdout.strip() == "[]", out.stderr


async def test_stdio_process_lists_tools_quickly_and_searches(tmp_path: Path, docs: Path) -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcploom.mcp_servers.rag", "--data-dir", str(tmp_path / "rag"), "--allow-root", str(docs)],
        cwd=str(REPO_ROOT),
        env={**SERVER_ENV, "HF_HUB_OFFLINE": "1"},
    )
    started = time.monotonic()
    async with Client(params) as client:
        tools = (await client.list_tools()).tools
        elapsed = time.monotonic() - started
        result = await client.call_tool("ingest", {"paths": [str(docs)]})
        assert not result.is_error, result.content
        hits = await client.call_tool("search", {"query": "three-way handshake", "k": 1})
    assert {t.name for t in tools} >= {"search", "ingest"}
    assert elapsed < 10, f"tools/list took {elapsed:.1f} s after spawn"  # ~1 s on an idle machine
    assert hits.structured_content["passages"][0]["source"].endswith("tcp.txt")
