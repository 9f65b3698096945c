"""What a model reads of MCP content: tool results, resource contents and prompt messages.

Text passes as it is. A resource link names its URI, so the model can read it with the
``read_resource`` tool. What a text-only model cannot read (an image, audio, a binary resource)
becomes a short stand-in that says what was left out, never the base64 data.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence

import mcp_types as types
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

__all__ = ["MAX_RESOURCE_CHARS", "clip", "contents_text", "prompt_messages", "resource_text", "result_text"]

MAX_RESOURCE_CHARS = 20_000
"""The most characters of one resource a model reads (read by its tool or attached to a question)."""

ResourceContents = types.TextResourceContents | types.BlobResourceContents


def result_text(result: types.CallToolResult) -> str:
    """The text of a tool result: its blocks in order, or its structured content when it has no blocks."""
    if not result.content and result.structured_content is not None:
        return json.dumps(result.structured_content, ensure_ascii=False)
    return "\n".join(_block_text(block) for block in result.content)


def contents_text(contents: Sequence[ResourceContents]) -> str:
    """The text of a read resource: each part's text, or a stand-in for a binary part."""
    return "\n".join(_contents_text(part) for part in contents)


def resource_text(result: types.ReadResourceResult, uri: str) -> str:
    """A read resource's text as a model reads it: at most :data:`MAX_RESOURCE_CHARS` characters."""
    return clip(contents_text(result.contents), repr(uri), MAX_RESOURCE_CHARS)


def prompt_messages(result: types.GetPromptResult) -> list[BaseMessage]:
    """An MCP prompt's messages as LangChain messages (user turns as human, assistant turns as AI)."""
    return [
        (HumanMessage if message.role == "user" else AIMessage)(_block_text(message.content))
        for message in result.messages
    ]


def clip(text: str, what: str, limit: int) -> str:
    """``text`` as a model reads it: at most ``limit`` characters, and a note on what was left out of ``what``."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[... {len(text) - limit} more characters of {what} left out; ask for less]"


def _block_text(block: types.ContentBlock) -> str:
    if isinstance(block, types.TextContent):
        return block.text
    if isinstance(block, types.EmbeddedResource):
        return _contents_text(block.resource)
    if isinstance(block, types.ResourceLink):
        about = ", ".join(part for part in (block.title or block.name, block.mime_type) if part)
        return f"[resource link: {block.uri} ({about}); read_resource reads it]"
    size = _decoded_size(block.data) if isinstance(block, types.ImageContent | types.AudioContent) else 0
    return _stand_in(block.type, getattr(block, "mime_type", None), size)


def _contents_text(part: ResourceContents) -> str:
    if isinstance(part, types.TextResourceContents):
        return part.text
    return _stand_in("binary resource " + str(part.uri), part.mime_type, _decoded_size(part.blob))


def _stand_in(kind: str, mime_type: str | None, size: int) -> str:
    what = ", ".join(part for part in (mime_type, _size(size) if size else "") if part)
    return f"[{kind} ({what or 'unknown type'}) left out: this model reads text only]"


def _decoded_size(data: str) -> int:
    try:
        return len(base64.b64decode(data, validate=True))
    except (binascii.Error, ValueError):
        return 0


def _size(size: int) -> str:
    return f"{size} bytes" if size < 1024 else f"{size / 1024:.1f} KiB"
