"""mcploom's MCP servers, each runnable as ``python -m mcp_servers.<name>`` or ``mcploom serve <name>``.

Every server module offers ``create_server(...) -> MCPServer`` and ``main(argv)``; they speak
stdio by default and streamable HTTP with ``--http``. They write nothing but protocol to
stdout: logs go to stderr.
"""

SERVER_NAMES: tuple[str, ...] = ("utility", "files", "sql", "rag", "agent")
"""Servers shipped with mcploom, by module name under ``mcp_servers``."""
