"""A supervisor on the bundled local model: it hands parts of a question to two specialist workers.

The "files" worker reads a small inventory file (files server, read-only, on a temporary folder
this script creates); the "calculator" worker does the arithmetic (utility server). The supervisor
picks who acts next until the question is answered. Offline, no API key:

    python examples/supervisor.py
"""

import sys
import tempfile
from pathlib import Path

from mcploom import Agent
from mcploom.agents.events import Answer, Handoff

QUESTION = "How many widgets are in stock according to inventory.txt?"

folder = Path(tempfile.mkdtemp())
(folder / "inventory.txt").write_text("widgets: 120\ngadgets: 45\nsprockets: 8\n")

servers = {
    "files": {"command": sys.executable, "args": ["-m", "mcploom.mcp_servers.files", str(folder), "--read-only"]},
    "utility": {"command": sys.executable, "args": ["-m", "mcploom.mcp_servers.utility"]},
}
workers = {
    "files": {
        "description": "Reads text files, such as inventory.txt, and reports what they say.",
        "system_prompt": "You read files with read_text (paths are file names like 'inventory.txt') and "
        "report exactly what they say.",
        "servers": ["files"],
    },
    "calculator": {
        "description": "Does arithmetic with a calculator.",
        "system_prompt": "You do arithmetic with the calculate tool and report the result.",
        "tools": ["calculate"],
    },
}

# Small limits keep the run short on a CPU: at most 3 handoffs, 3 model calls per worker.
with Agent(
    model="local",
    servers=servers,
    pattern="supervisor",
    workers=workers,
    options={"max_handoffs": 3},
    max_iterations=3,
    checkpointer="memory",
) as agent:
    for event in agent.stream(QUESTION):
        if isinstance(event, Handoff):
            print(f"-> {event.worker}: {event.instruction}")
        elif isinstance(event, Answer):
            print("answer:", event.text)
