"""Reflection on the bundled local model: draft an answer, fact-check it with a tool, grade, revise.

The model drafts an answer; a checker verifies its claims with the utility server's calculator;
a critic scores the draft against a rubric, and a draft below the threshold is revised with the
critic's feedback. Offline, no API key:

    python examples/reflection.py
"""

import sys

from mcploom import Agent
from mcploom.agents.events import Answer, Critique

QUESTION = "What is the square root of 144?"

servers = {"utility": {"command": sys.executable, "args": ["-m", "mcploom.mcp_servers.utility"]}}

# Small limits keep the run short on a CPU: at most 2 drafts, 3 model calls per fact check.
options = {"threshold": 8, "max_rounds": 2}

with Agent(
    model="local", servers=servers, pattern="reflection", options=options, max_iterations=3, checkpointer="memory"
) as agent:
    for event in agent.stream(QUESTION):
        if isinstance(event, Critique):
            print(f"round {event.round}: score {event.score}/10. {event.feedback}")
        elif isinstance(event, Answer):
            print("answer:", event.text)
