"""MCP resources for an agent: which server owns a URI, and the ``read_resource`` tool.

A URI belongs to the server that lists it, else to the one whose URI template matches it, else
to the only server offering resources, else to the servers whose resources share its scheme
(``sql://...`` to the server listing ``sql://schema``). The tool the model calls takes just the
URI; its description names the resources and templates the servers offer (the first
:data:`LISTED_IN_DESCRIPTION`), so a model can pick one without a listing call.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import mcp_types as types
from langchain_core.tools import BaseTool, StructuredTool

from mcploom.agents.errors import ServerRequestError
from mcploom.agents.mcp_content import MAX_RESOURCE_CHARS

__all__ = ["LISTED_IN_DESCRIPTION", "Catalog", "owner", "resource_tool"]

LISTED_IN_DESCRIPTION = 12
"""How many resources and templates the tool's description names."""

READ_RESOURCE = "read_resource"

_TEMPLATE_PART = re.compile(r"\{([+#./;?&]?)[^}]*\}")


@dataclass(frozen=True)
class Catalog:
    """What one server offers besides tools (empty where it does not declare the capability);
    ``offers_resources`` when it lists any resource or template."""

    resources: tuple[types.Resource, ...] = ()
    templates: tuple[types.ResourceTemplate, ...] = ()
    prompts: tuple[types.Prompt, ...] = ()
    offers_resources: bool = False


def owner(uri: str, catalogs: Mapping[str, Catalog]) -> str:
    """The configured name of the server that serves ``uri``.

    Raises:
        ServerRequestError: no server, or more than one by scheme alone, may serve it.
    """
    offering = {name: catalog for name, catalog in catalogs.items() if catalog.offers_resources}
    if not offering:
        raise ServerRequestError(f"Cannot read {uri!r}: no connected MCP server offers resources.")
    for test in (_lists, _matches_template):
        found = [name for name, catalog in offering.items() if test(uri, catalog)]
        if found:
            return found[0]
    if len(offering) == 1:
        return next(iter(offering))
    scheme = uri.partition("://")[0]
    same_scheme = [name for name, catalog in offering.items() if scheme in _schemes(catalog)]
    if len(same_scheme) == 1:
        return same_scheme[0]
    raise ServerRequestError(
        f"Cannot tell which MCP server serves {uri!r}: none lists it or a template matching it, and "
        f"{', '.join(map(repr, same_scheme or offering))} could. Name the server (server=...) or use a listed URI."
    )


def resource_tool(
    catalogs: Mapping[str, Catalog],
    read: Callable[[str], Awaitable[tuple[str, Any]]],
    read_sync: Callable[[str], tuple[str, Any]],
    name: str = READ_RESOURCE,
) -> BaseTool:
    """The tool that reads a resource by URI with ``read`` (async) or ``read_sync``."""
    return StructuredTool(
        name=name,
        description=_description(catalogs),
        args_schema={
            "type": "object",
            "properties": {"uri": {"type": "string", "description": "The resource's URI."}},
            "required": ["uri"],
        },
        coroutine=read,
        func=read_sync,
        response_format="content_and_artifact",
        # Reading changes nothing, so the approval policy for destructive tools lets it run.
        metadata={"readOnlyHint": True, "destructiveHint": False, "idempotentHint": True, "openWorldHint": False},
    )


def _description(catalogs: Mapping[str, Catalog]) -> str:
    entries = [
        f"{resource.uri} ({resource.title or resource.name})"
        for catalog in catalogs.values()
        for resource in catalog.resources
    ] + [
        f"{template.uri_template} ({template.title or template.name}; fill in the braces)"
        for catalog in catalogs.values()
        for template in catalog.templates
    ]
    listed = "; ".join(entries[:LISTED_IN_DESCRIPTION])
    more = f"; and {len(entries) - LISTED_IN_DESCRIPTION} more" if len(entries) > LISTED_IN_DESCRIPTION else ""
    offered = f" Resources: {listed}{more}." if entries else ""
    return (
        f"Read a resource of a connected MCP server by its URI, also one a tool result links to "
        f"(its text, at most {MAX_RESOURCE_CHARS} characters).{offered}"
    )


def _lists(uri: str, catalog: Catalog) -> bool:
    return any(str(resource.uri) == uri for resource in catalog.resources)


def _matches_template(uri: str, catalog: Catalog) -> bool:
    return any(_template_pattern(template.uri_template).fullmatch(uri) for template in catalog.templates)


def _template_pattern(template: str) -> re.Pattern[str]:
    """An RFC 6570 template as a regex: a simple ``{var}`` stands for one path segment, an
    operator expression (``{+path}``, ``{?query}``) for anything."""
    parts: list[str] = []
    last = 0
    for match in _TEMPLATE_PART.finditer(template):
        parts.append(re.escape(template[last : match.start()]))
        parts.append(".*" if match.group(1) else "[^/?#]+")
        last = match.end()
    parts.append(re.escape(template[last:]))
    return re.compile("".join(parts))


def _schemes(catalog: Catalog) -> set[str]:
    uris: Sequence[str] = [str(r.uri) for r in catalog.resources] + [t.uri_template for t in catalog.templates]
    return {uri.partition("://")[0] for uri in uris if "://" in uri}
