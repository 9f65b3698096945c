"""The ``MCPServer`` every mcploom server is: the SDK's, with stricter answers at two edges.

- A ``tools/call`` with an argument the tool does not take is refused (the SDK drops unknown
  arguments silently, so ``write_text(..., mode=777)`` used to write the file as if the caller
  had not asked for something else). The refusal is a tool error the model can read: it names
  the unknown arguments and the ones the tool takes.
- A ``prompts/get`` for an unknown prompt, or without a required argument, is a JSON-RPC
  ``-32602`` (invalid params) naming the prompts or the arguments, instead of an error with code
  0 and a logged traceback; so is a prompt whose rendering fails with a ``ToolError`` (the rag
  server's prompt before anything is ingested), with that error's message.
"""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, CallToolResult, GetPromptResult, InputRequiredResult

__all__ = ["McploomServer"]


class McploomServer(MCPServer):
    """An ``MCPServer`` that refuses unknown tool arguments and answers bad prompt requests with -32602."""

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        schema = next((tool.input_schema for tool in await self.list_tools() if tool.name == name), None)
        if schema is not None and schema.get("additionalProperties") is not True:
            known = list(schema.get("properties", {}))
            unknown = sorted(set(arguments) - set(known))
            if unknown:
                raise ToolError(
                    f"{name} takes no argument {', '.join(map(repr, unknown))}; its arguments are: "
                    f"{', '.join(known) or '(none)'}. Call it again with those only."
                )
        return await super().call_tool(name, arguments, context)

    async def get_prompt(
        self, name: str, arguments: dict[str, Any] | None = None, context: Context[Any, Any] | None = None
    ) -> GetPromptResult | InputRequiredResult:
        prompts = {prompt.name: prompt for prompt in await self.list_prompts()}
        if name not in prompts:
            raise MCPError(
                code=INVALID_PARAMS,
                message=f"Unknown prompt {name!r}. Prompts here: {', '.join(prompts) or '(none)'}.",
            )
        required = [arg.name for arg in prompts[name].arguments or [] if arg.required]
        missing = [arg for arg in required if arg not in (arguments or {})]
        if missing:
            raise MCPError(
                code=INVALID_PARAMS,
                message=f"Prompt {name!r} needs the argument(s) {', '.join(missing)}; pass them in arguments.",
            )
        try:
            return await super().get_prompt(name, arguments, context)
        except ValueError as exc:
            cause: BaseException | None = exc
            while cause is not None and not isinstance(cause, ToolError):
                cause = cause.__cause__  # the SDK wraps the prompt's error in "Error rendering prompt", twice
            if cause is None:
                raise
            raise MCPError(code=INVALID_PARAMS, message=str(cause)) from None
