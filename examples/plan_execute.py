"""Plan-and-execute on the bundled local model: plan the steps, run each with the calculator, answer.

The planner splits the request into steps, each step runs as its own small ReAct loop over the
utility server's tools, and a replanner checks the progress after each round. Offline, no API key:

    python examples/plan_execute.py
"""

import sys

from mcploom import Agent
from mcploom.agents.events import Answer, PlanUpdate, StepResult

QUESTION = "Compute 17 * 23, then add 100 to the result."

servers = {"utility": {"command": sys.executable, "args": ["-m", "mcploom.mcp_servers.utility"]}}

# Small limits keep the run short on a CPU: at most 3 steps, 1 revision, 3 model calls a step.
options = {"max_steps": 3, "max_replans": 1}

with Agent(
    model="local", servers=servers, pattern="plan_execute", options=options, max_iterations=3, checkpointer="memory"
) as agent:
    for event in agent.stream(QUESTION):
        if isinstance(event, PlanUpdate):
            print("plan:", "; ".join(f"{s['id']}. {s['task']}" for s in event.steps))
        elif isinstance(event, StepResult):
            print(f"step {event.id} done: {event.result}")
        elif isinstance(event, Answer):
            print("answer:", event.text)
