"""Debate on the bundled local model: two debaters answer, read each other's answer, and a judge decides.

A proposer and a critic (the default stances) each answer with the utility server's calculator
at hand; while their answers differ they see each other's answer and the tool results behind it
and revise, for at most two rounds; then a judge answers from the debate. Offline, no API key:

    python examples/debate.py
"""

import sys

from mcploom import Agent
from mcploom.agents.events import Answer, DebateRound

QUESTION = "A shop has 17 boxes of 24 pens and 35 loose pens. How many pens does it have?"

servers = {"utility": {"command": sys.executable, "args": ["-m", "mcploom.mcp_servers.utility"]}}

# Small limits keep the run short on a CPU: at most 2 rounds, 3 model calls per debater and round.
with Agent(
    model="local",
    servers=servers,
    pattern="debate",
    options={"max_rounds": 2},
    max_iterations=3,
    checkpointer="memory",
) as agent:
    for event in agent.stream(QUESTION):
        if isinstance(event, DebateRound):
            print(event.summary())
        elif isinstance(event, Answer):
            print("answer:", event.text)
