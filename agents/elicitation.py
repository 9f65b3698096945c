"""Elicitation: an MCP server asks the user for input in the middle of a tool call (MCP
``elicitation/create``, form mode: a message and a flat JSON schema of primitive fields).

Who answers is the caller's choice: the Python API takes an :data:`ElicitationHandler`
(``Agent(elicitation=...)``, ``MCPToolkit(elicitation=...)``), ``mcploom run`` asks at the terminal
(:func:`terminal_handler`), and the agent served as an MCP tool declines (:func:`decline`), since
no person is there to ask. Without a handler the client does not offer elicitation, and servers
that need it say so in their errors. URL-mode requests (sign in at a page) are declined: mcploom
opens no browser.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import mcp_types as types

__all__ = [
    "ElicitationHandler",
    "ElicitationReply",
    "ElicitationRequest",
    "decline",
    "mcp_callback",
    "terminal_handler",
]


@dataclass(frozen=True)
class ElicitationRequest:
    """What a server asks the user for."""

    server: str
    """The server's name in the configuration."""
    message: str
    """The server's question, for the person."""
    schema: Mapping[str, Any] = field(default_factory=dict)
    """The requested JSON schema: an object of primitive properties (string, number, integer,
    boolean, enum), some ``required``."""


@dataclass(frozen=True)
class ElicitationReply:
    """The user's answer: ``accept`` with ``content`` (the fields), ``decline`` (no), or ``cancel``
    (dismissed without a choice)."""

    action: Literal["accept", "decline", "cancel"]
    content: Mapping[str, str | int | float | bool | list[str]] | None = None


ElicitationHandler = Callable[[ElicitationRequest], Awaitable[ElicitationReply]]
"""Answers a server's request for user input."""


async def decline(request: ElicitationRequest) -> ElicitationReply:
    """The handler that says no to every request (no person to ask)."""
    return ElicitationReply("decline")


def mcp_callback(server: str, handler: ElicitationHandler) -> Callable[..., Awaitable[types.ElicitResult]]:
    """``handler`` as the MCP SDK's ``elicitation_callback`` for the session with ``server``."""

    async def answer(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        if not isinstance(params, types.ElicitRequestFormParams):
            return types.ElicitResult(action="decline")  # URL mode: nothing here opens a browser
        schema = params.requested_schema
        if not isinstance(schema, Mapping):  # a model in some SDK versions, a dict in others
            schema = schema.model_dump(by_alias=True, exclude_none=True)
        reply = await handler(ElicitationRequest(server=server, message=params.message, schema=schema))
        content = dict(reply.content) if reply.action == "accept" and reply.content is not None else None
        return types.ElicitResult(action=reply.action, content=content)

    return answer


def terminal_handler(ask: Callable[[str], str], tell: Callable[[str], None]) -> ElicitationHandler:
    """A handler that asks the person at a terminal: ``tell`` shows a line, ``ask`` reads one
    answer to a prompt (``input``, or a Rich prompt). The person may decline (``n``) or cancel
    (``c``, or end of input / Ctrl-C) before the fields; a field's answer that does not fit its
    type is asked again."""

    async def handle(request: ElicitationRequest) -> ElicitationReply:
        tell(f"MCP server {request.server!r} asks: {request.message}")
        try:
            choice = ask("Answer it? [y]es / [n]o / [c]ancel: ").strip().lower()
            if choice in ("n", "no"):
                return ElicitationReply("decline")
            if choice not in ("y", "yes", ""):
                return ElicitationReply("cancel")
            required = set(request.schema.get("required", ()))
            content = {}
            for name, spec in request.schema.get("properties", {}).items():
                value = _ask_field(ask, tell, name, spec, name in required)
                if value is not None:
                    content[name] = value
        except (EOFError, KeyboardInterrupt):
            return ElicitationReply("cancel")
        return ElicitationReply("accept", content)

    return handle


def _ask_field(
    ask: Callable[[str], str], tell: Callable[[str], None], name: str, spec: Mapping[str, Any], required: bool
) -> Any:
    """One field's value, read until it fits ``spec``; ``None`` for an optional field left empty."""
    kind = spec.get("type", "string")
    choices = spec.get("enum")
    default = spec.get("default")
    label = spec.get("title") or name
    hints = [f"one of {', '.join(map(str, choices))}" if choices else kind]
    if default is not None:
        hints.append(f"default {default}")
    if not required:
        hints.append("optional")
    while True:
        text = ask(f"{label} ({'; '.join(hints)}): ").strip()
        if not text:
            if default is not None:
                return default
            if not required:
                return None
            tell(f"{label} is required.")
            continue
        try:
            return _parsed(text, kind, choices)
        except ValueError as exc:
            tell(str(exc))


def _parsed(text: str, kind: str, choices: Any) -> Any:
    if choices and text not in map(str, choices):
        raise ValueError(f"Answer one of: {', '.join(map(str, choices))}.")
    if kind == "boolean":
        if text.lower() in ("y", "yes", "true", "1"):
            return True
        if text.lower() in ("n", "no", "false", "0"):
            return False
        raise ValueError("Answer yes or no.")
    if kind == "integer":
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a whole number.") from None
    if kind == "number":
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a number.") from None
    return text
