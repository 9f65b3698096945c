"""LangGraph state graphs for the agent patterns. A graph receives a chat model and tools; it builds neither."""
