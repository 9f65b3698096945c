"""The composition root's vocabulary: model backends, approval policies, resume decisions, MCP transports.

The patterns and the approval payload belong to the graphs (``mcploom.graphs.types``), search
modes to the RAG library (``mcploom.rag.types``); each is declared once, in its own layer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, get_args

__all__ = ["APPROVALS", "Approval", "BACKENDS", "Backend", "Decision", "TRANSPORTS", "Transport"]

Backend = Literal["local", "gguf", "anthropic", "openai", "openai-compatible"]
"""Where a chat model runs.

- ``"local"``: a model from ``local_models``' catalog, run in-process by llama-cpp-python.
- ``"gguf"``: any GGUF file, run in-process by llama-cpp-python.
- ``"anthropic"``: Anthropic's Messages API through ``langchain-anthropic``.
- ``"openai"``: OpenAI's Chat Completions API through ``langchain-openai``.
- ``"openai-compatible"``: any server that speaks Chat Completions (llama.cpp server, vLLM,
  Ollama), through ``langchain-openai`` pointed at its base URL.
"""

BACKENDS: tuple[Backend, ...] = get_args(Backend)

Approval = Literal["destructive", "always", "never"]
"""Which tool calls wait for a person: those MCP annotations mark destructive (``destructiveHint``,
which MCP defaults to true for tools that do not say they are read-only), every call, or none.
``approval_tools`` adds tools by name on top."""

APPROVALS: tuple[Approval, ...] = get_args(Approval)

Decision = Literal["approve", "reject"] | Mapping[str, Any]
"""How to answer pending tool calls: ``"approve"``, ``"reject"``, a decision mapping
(``{"action": "approve" | "edit" | "reject", "args": {...}, "reason": "..."}``, see
``mcploom.graphs.types.CallDecision``) for all of them, or a mapping of tool-call id to one of those."""

Transport = Literal["stdio", "streamable-http", "sse"]
"""How mcploom reaches an MCP server.

- ``"stdio"``: start ``command`` as a subprocess and exchange messages over its stdin/stdout.
- ``"streamable-http"``: POST messages to ``url`` (MCP's streamable HTTP transport).
- ``"sse"``: the legacy HTTP+SSE transport (protocol 2024-11-05): an event stream from ``url``
  and messages POSTed to the endpoint it names. Many deployed servers still serve only this.
"""

TRANSPORTS: tuple[Transport, ...] = get_args(Transport)
