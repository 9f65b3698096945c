"""Query first: when an mcploom sql server is bound, a new question that names one of its tables
(``customers`` or ``customer`` for a table ``customers``) has the model's first turn call the
server's ``query`` tool, with the schema it already has in the server's instructions.

Small models sent such questions to the wrong tool: Qwen2.5 0.5B gave the calculator column
names and SQL text, and answered after ``describe`` without querying (``benchmarks/agent_tasks.py``,
sql and multi-step families). A question that names no table, and one whose topic the
retrieval-first search found in the documents (``mcploom.agents.retrieval``), leaves the model
free to choose.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from langchain_core.tools import BaseTool, ToolException

from mcploom.agents.mcp_client import ServerInfo, server_tools

__all__ = ["SQL_SERVER", "QueryFirst"]

logger = logging.getLogger(__name__)

SQL_SERVER = "mcploom-sql"
"""The name our sql server reports for itself (``serverInfo.name``)."""

_WORD = re.compile(r"[a-z0-9]+")


class QueryFirst:
    """Which sql server's ``query`` tool a question's first turn calls, from the tables it names."""

    def __init__(self, routes: Sequence[tuple[BaseTool, Iterable[str]]]) -> None:
        self.routes = [
            (tool, {_singular(word) for table in tables for word in _WORD.findall(table.lower())})
            for tool, tables in routes
        ]

    @classmethod
    async def find(cls, servers: Mapping[str, ServerInfo], tools: Sequence[BaseTool]) -> QueryFirst | None:
        """The route over every bound mcploom sql server (asking each for its tables once), or
        ``None`` when there is none or none lists a table."""
        listings = {_server(tool): tool for tool in server_tools(servers, tools, SQL_SERVER, "list_tables")}
        routes = []
        for query in server_tools(servers, tools, SQL_SERVER, "query"):
            listing = listings.get(_server(query))
            tables = await _tables(listing) if listing is not None else []
            if tables:
                routes.append((query, tables))
        return cls(routes) if routes else None

    def tool_for(self, question: str) -> str | None:
        """The name of the ``query`` tool whose database has a table ``question`` names, or ``None``."""
        words = {_singular(word) for word in _WORD.findall(question.lower())}
        return next((tool.name for tool, tables in self.routes if words & tables), None)


def _server(tool: BaseTool) -> str | None:
    return (tool.metadata or {}).get("mcp_server")


async def _tables(listing: BaseTool) -> list[str]:
    call = {"name": listing.name, "args": {}, "id": "call_list_tables", "type": "tool_call"}
    try:
        result = await listing.ainvoke(call)
    except ToolException as exc:
        logger.warning("Could not list the sql server's tables, so no question is routed to it: %s", exc)
        return []
    artifact: Any = result.artifact
    entries = artifact.get("tables", []) if isinstance(artifact, dict) else []
    return [entry["name"] for entry in entries if isinstance(entry, dict) and entry.get("name")]


def _singular(word: str) -> str:
    """``word`` without an English plural ending (``categories`` -> ``category``, ``boxes`` -> ``box``).
    Not retrieval's stemmer, which also strips ``ed`` and ``ing``: "what I ordered" names no table."""
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ses", "xes", "zes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word
