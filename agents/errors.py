"""Errors mcploom raises for things a user can fix, each saying where, what and how to fix it.

``rag`` and ``local_models`` are standalone libraries with their own error types
(``rag.RetrievalError``, ``local_models.ModelLoadError``); the CLI reports those the same way.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "EmptyAnswerError",
    "McploomError",
    "MissingAPIKeyError",
    "ModelCallError",
    "ServerRequestError",
    "ServerStartError",
    "ToolCallTimeout",
]


class McploomError(Exception):
    """Base class for errors whose message tells the user what to do."""


class ConfigError(McploomError, ValueError):
    """A model spec, server entry or config file is invalid."""


class MissingAPIKeyError(ConfigError):
    """A frontier model was chosen but its API key environment variable is not set."""


class ServerStartError(McploomError):
    """An MCP server could not be started or did not complete the handshake."""


class ServerRequestError(McploomError):
    """A request for an MCP resource or prompt cannot be served: no server offers it, its
    arguments are missing or unknown, or the server answered with an error."""


class ToolCallTimeout(McploomError, TimeoutError):
    """An MCP tool call did not answer within its timeout."""


class ModelCallError(McploomError):
    """A model call failed after the provider SDK's own retries (rate limit, overload, server
    error, timeout, unreachable server, rejected key); the thread is saved up to the failed step."""


class EmptyAnswerError(McploomError):
    """The run ended without an answer: the model's last reply was empty even after it was asked
    again (cut off at the token limit, or a call it never finished); the thread is saved."""
