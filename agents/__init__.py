"""The composition root: model specs, MCP client sessions, the ``Agent`` API and the ``mcploom`` CLI."""
