"""The MCP tool annotations our servers use, declared once (clients decide on approval by them)."""

from __future__ import annotations

from mcp.types import ToolAnnotations

__all__ = ["READ_ONLY", "WRITES", "WRITES_IDEMPOTENT"]

READ_ONLY = ToolAnnotations(readOnlyHint=True, destructiveHint=False, idempotentHint=True, openWorldHint=False)
"""Reads or computes within the server's own world; calling it again gives the same answer."""

WRITES = ToolAnnotations(readOnlyHint=False, destructiveHint=True, idempotentHint=False, openWorldHint=False)
"""Changes or deletes what the server holds; a second call may change it again."""

WRITES_IDEMPOTENT = WRITES.model_copy(update={"idempotent_hint": True})
"""Changes what the server holds; repeating the same call changes nothing more."""
