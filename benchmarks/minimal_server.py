"""The smallest MCPServer with one ``add`` tool: the baseline the mcploom servers are measured against.

Run it with ``python benchmarks/minimal_server.py`` (stdio). Used by ``mcp_call_latency.py`` and by
the start-up time test.
"""

from mcp.server.mcpserver import MCPServer

server = MCPServer("minimal")


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


if __name__ == "__main__":
    server.run("stdio")
