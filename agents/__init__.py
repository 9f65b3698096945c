"""The composition root: the ``Agent`` API (flat), the ``mcploom`` CLI (``cli/``), the config
readers (``config/``), and the MCP client. ``from mcploom import Agent`` is the front door."""
