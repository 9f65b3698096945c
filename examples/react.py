"""ReAct on the bundled local model: the model calls the calculator, reads the result, answers.

The simplest pattern: one loop of model turn -> tool calls -> observations until the model
answers. Streaming shows each tool call and result as it happens. Offline, no API key:

    python examples/react.py
"""

import sys

from mcploom import Agent
from mcploom.agents.events import Answer, ToolCall, ToolResult

QUESTION = "What is 1234 * 5678? Use the calculator."

servers = {"utility": {"command": sys.executable, "args": ["-m", "mcploom.mcp_servers.utility"]}}

# max_iterations caps the model calls in the loop, which keeps the run short on a CPU.
with Agent(model="local", servers=servers, pattern="react", max_iterations=4, checkpointer="memory") as agent:
    for event in agent.stream(QUESTION):
        if isinstance(event, ToolCall):
            print(f"call {event.name}({event.args})")
        elif isinstance(event, ToolResult):
            print(f"result: {event.content}")
        elif isinstance(event, Answer):
            print("answer:", event.text)
