"""The ``Agent``'s settings, declared once: what each one means, how a value is checked, and how a
config file and the command line spell it.

``Agent(...)`` checks its arguments with :func:`check_setting`, the TOML reader
(``mcploom.agents.config.settings``) checks ``[agents.<name>]`` keys with it and takes the key list
from :data:`PARAMETERS`, and ``mcploom run`` / ``mcploom resume`` build their options from the
entries with ``flags``; ``Agent``'s docstring lists the same help texts. A problem reads the same
everywhere, only the place differs: ``At Agent(max_iterations=0): ...``, ``At mcploom.toml
[agents.a] max_iterations: ...``, ``At --max-iterations: ...``.

Imports stay light (no langgraph, no model libraries) so that ``mcploom --help`` stays fast.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcploom.agents.config.checkpointers import CHECKPOINTER_FORMS, check_checkpointer
from mcploom.agents.errors import ConfigError
from mcploom.agents.models import SPEC_FORMS, ModelSpec
from mcploom.agents.types import APPROVALS
from mcploom.graphs.types import PATTERN_SUMMARIES, PATTERNS

__all__ = ["PARAMETERS", "WORKER_KEYS", "Parameter", "check_setting", "describe_value", "parameters_doc"]

WORKER_KEYS = ("description", "system_prompt", "tools", "servers")
"""What a supervisor worker's settings may hold (only ``description`` is required)."""


class Problem(ValueError):
    """A value that does not fit a setting; the message says what was expected and what came."""


@dataclass(frozen=True)
class Parameter:
    """One ``Agent`` setting.

    Attributes:
        name: The keyword argument, also the key in a config file's ``[agents.<name>]`` table.
        help: One or two sentences: the docstring's, the config file's and ``--help``'s text.
        example: A valid value, shown in the fix of an error message (``None``: none shown; the
            problem says the form).
        check: Returns the value (normalized) or raises :class:`Problem`; ``None`` takes any value.
        flags: The command-line options that set it (none: not on the command line).
        cli_type: The type the command line parses its value as.
        env: The environment variable the command line reads when the option is not given.
        cli_help: The help text on the command line, where it differs from ``help`` (the option
            takes less there, e.g. only a file).
        in_file: Whether a config file may set it (a Python object such as a tool may not).
    """

    name: str
    help: str
    example: Any
    check: Callable[[Any], Any] | None = None
    flags: tuple[str, ...] = ()
    cli_type: type = str
    env: str | None = None
    cli_help: str | None = None
    in_file: bool = True


def describe_value(value: Any) -> str:
    """A value as its kind and value, e.g. ``a string ('8')``, for "got ..." in messages.

    Example:
        >>> describe_value("8"), describe_value(True), describe_value([1])
        ("a string ('8')", 'a boolean (true)', 'an array')
    """
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    kinds = {
        str: "a string",
        int: "an integer",
        float: "a number",
        list: "an array",
        tuple: "an array",
        dict: "a table",
    }
    for python_type, label in kinds.items():
        if isinstance(value, python_type):
            return label if python_type in (list, tuple, dict) else f"{label} ({value!r})"
    if isinstance(value, Mapping):
        return "a table"
    return f"a {type(value).__name__}"


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Problem(f"expected a non-empty string, got {describe_value(value)}.")
    return value


def _prompt(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise Problem(f"expected a string, got {describe_value(value)}.")
    return value


def _choice(choices: Sequence[str], noun: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value in choices:
            return value
        if isinstance(value, str):
            close = difflib.get_close_matches(value, choices, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise Problem(f"unknown {noun} {value!r}.{hint} Use one of: {', '.join(choices)}.")
        raise Problem(f"expected a string, got {describe_value(value)}. Use one of: {', '.join(choices)}.")

    return check


def _strings(value: Any) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Sequence) or not all(isinstance(v, str) for v in value):
        raise Problem(f"expected an array of strings, got {describe_value(value)}.")
    return list(value)


def _table(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise Problem(f"expected a table, got {describe_value(value)}.")
    return dict(value)


def _model(value: Any) -> Any:
    if not isinstance(value, str):
        return value  # a LangChain chat model, used as it is
    try:
        return str(ModelSpec.parse(value))
    except ConfigError as exc:
        raise Problem(str(exc).removeprefix("At ")) from None  # "model spec 'x': ..."


def _checkpointer(value: Any) -> Any:
    if value is None or not isinstance(value, str | os.PathLike):
        return value  # the default file, or a saver object
    try:
        return check_checkpointer(value)
    except ConfigError:
        raise Problem(f"{str(value)!r} is not a checkpointer. Use one of: {', '.join(CHECKPOINTER_FORMS)}.") from None


def _positive_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise Problem(f"expected a positive integer, got {describe_value(value)}.")
    return value


def _timeout(value: Any) -> float | None:
    if value is None or value is False:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise Problem(
            f"expected seconds as a positive number, or none (false in a config file) for no limit, got {describe_value(value)}."
        )
    return float(value)


def _trace(value: Any) -> bool | str | os.PathLike[str]:
    if isinstance(value, bool) or (isinstance(value, os.PathLike)):
        return value
    if not isinstance(value, str) or not value.strip():
        raise Problem(f"expected true, false or a file path, got {describe_value(value)}.")
    return value


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Problem(f"expected true or false, got {describe_value(value)}.")
    return value


def _workers(value: Any) -> dict[str, dict[str, Any]] | None:
    if value is None:
        return None
    workers = _table(value)
    if not workers:
        raise Problem("the table is empty; name at least one worker, or leave workers out for one worker per server.")
    for name, spec in workers.items():
        if not isinstance(spec, Mapping):
            raise Problem(f"worker {name!r}: expected a table with a description, got {describe_value(spec)}.")
        for key in spec:
            if key not in WORKER_KEYS:
                close = difflib.get_close_matches(key, WORKER_KEYS, n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise Problem(f"worker {name!r} has an unknown key {key!r}.{hint} Use {', '.join(WORKER_KEYS)}.")
        if not isinstance(spec.get("description"), str) or not spec["description"].strip():
            raise Problem(f"worker {name!r} needs a description (a non-empty string): the supervisor routes by it.")
        if "system_prompt" in spec:
            _text(spec["system_prompt"])
        for key in ("tools", "servers"):
            if key in spec:
                try:
                    _strings(spec[key])
                except Problem as exc:
                    raise Problem(f"worker {name!r} {key}: {exc}") from None
    return {name: dict(spec) for name, spec in workers.items()}


def _handler(value: Any) -> Any:
    if value is not None and not callable(value):
        raise Problem(f"expected an async function or None, got {describe_value(value)}.")
    return value


PARAMETERS: Mapping[str, Parameter] = {
    parameter.name: parameter
    for parameter in (
        Parameter(
            "model",
            f"The model: a spec ({', '.join(SPEC_FORMS)}) or a LangChain chat model (default: local).",
            "local",
            _model,
            flags=("--model", "-m"),
            env="MCPLOOM_MODEL",
            cli_help=f"Model spec: {', '.join(SPEC_FORMS)} (default: local).",
        ),
        Parameter(
            "servers",
            "MCP servers in Claude Desktop's mcpServers shape, or a path to such a JSON file.",
            None,
            flags=("--mcp-config",),
            cli_type=Path,
            env="MCPLOOM_MCP_CONFIG",
            cli_help="JSON file with MCP servers in Claude Desktop's mcpServers shape (default: the utility server).",
        ),
        Parameter(
            "pattern",
            "Which graph runs (default: react): "
            + "; ".join(f"{name}: {what}" for name, what in PATTERN_SUMMARIES.items())
            + ".",
            "react",
            _choice(PATTERNS, "pattern"),
            flags=("--pattern", "-p"),
            cli_help=f"Which graph runs: {', '.join(PATTERNS)} (default: react).",
        ),
        Parameter(
            "system_prompt",
            "Instructions for the model (a sensible default otherwise; an empty string for none).",
            "Be brief.",
            _prompt,
            flags=("--system", "-s"),
        ),
        Parameter(
            "tools",
            "Extra tools: LangChain tools or plain Python functions (typed, with a docstring).",
            None,
            in_file=False,
        ),
        Parameter(
            "checkpointer",
            f"Where threads persist: {', '.join(CHECKPOINTER_FORMS)}, or a LangGraph saver "
            "(default: checkpoints.sqlite in the data folder, so threads survive restarts).",
            "sqlite:threads.sqlite",
            _checkpointer,
            flags=("--checkpointer",),
            cli_help=f"Where threads persist: {', '.join(CHECKPOINTER_FORMS)} "
            "(default: checkpoints.sqlite in the data folder).",
        ),
        Parameter(
            "approval",
            f"Which tool calls wait for approval: {', '.join(APPROVALS)} (default: destructive, "
            "the calls MCP annotations do not mark read-only and do mark destructive).",
            "destructive",
            _choice(APPROVALS, "approval"),
            flags=("--approval",),
        ),
        Parameter(
            "approval_tools",
            "Tool-name globs whose calls always wait for approval.",
            ["write_*"],
            _strings,
        ),
        Parameter(
            "workers",
            "Supervisor only: {name: {description, system_prompt, tools: [globs], servers: [names]}}; "
            "default one worker per MCP server.",
            None,
            _workers,
        ),
        Parameter(
            "options",
            "The pattern's own settings: the keyword arguments of its graph factory, e.g. max_steps "
            "(plan_execute), rubric (reflection), max_handoffs (supervisor), samples (react), stances (debate).",
            None,
            _table,
        ),
        Parameter(
            "max_iterations",
            "Most model calls per ReAct loop: the whole run for react, each plan step, check, worker or "
            "debater for the others (default: 8).",
            8,
            _positive_int,
            flags=("--max-iterations",),
            cli_type=int,
        ),
        Parameter(
            "call_timeout",
            "Seconds one MCP tool call may take; none for no limit (default: 60).",
            60,
            _timeout,
            flags=("--call-timeout",),
            cli_type=float,
        ),
        Parameter(
            "model_options",
            "Passed to the model loader: temperature, n_ctx, n_gpu_layers, ...",
            None,
            _table,
        ),
        Parameter(
            "trace",
            "Write each run's events as JSON lines: true for traces/<thread>.jsonl in the data folder, or a file path.",
            "trace.jsonl",
            _trace,
            flags=("--trace",),
            cli_type=bool,
            cli_help="Write the run's events to traces/<thread>.jsonl in the data folder.",
        ),
        Parameter(
            "retrieve_first",
            "With an mcploom rag server bound, search each new question before the model's first turn and show "
            "it the passages on the question's topic (default: true).",
            False,
            _flag,
        ),
        Parameter(
            "query_first",
            "With an mcploom sql server bound, a question that names one of its tables has the model's first "
            "turn call its query tool (default: true).",
            False,
            _flag,
        ),
        Parameter(
            "elicitation",
            "Answers MCP servers that ask the user for input mid-call: an async function taking an "
            "ElicitationRequest and returning an ElicitationReply (mcploom.agents.elicitation; default: none, "
            "so elicitation is not offered).",
            None,
            _handler,
            in_file=False,
        ),
    )
}
"""Every ``Agent`` setting, in the order of ``Agent``'s signature."""


def check_setting(name: str, value: Any, where: str) -> Any:
    """``value`` checked (and normalized) as the setting ``name``.

    Args:
        name: A key of :data:`PARAMETERS`.
        value: The value given.
        where: Where it was given, for the message: ``Agent(max_iterations=...)``, a config file's
            table and key, a command-line flag.

    Raises:
        ConfigError: ``At <where>: <what was wrong>. <how to fix it>.``

    Example:
        >>> check_setting("max_iterations", 0, "Agent(max_iterations=...)")
        Traceback (most recent call last):
        ...
        mcploom.agents.errors.ConfigError: At Agent(max_iterations=...): expected a positive integer, \
got an integer (0). For example: 8.
    """
    parameter = PARAMETERS[name]
    if parameter.check is None:
        return value
    try:
        return parameter.check(value)
    except Problem as exc:
        example = "" if parameter.example is None else f" For example: {json.dumps(parameter.example)}."
        raise ConfigError(f"At {where}: {exc}{example}") from None


def parameters_doc(indent: str = "    ") -> str:
    """The ``Args:`` section of ``Agent``'s docstring, from the help texts."""
    return "\n".join(f"{indent}{name}: {parameter.help}" for name, parameter in PARAMETERS.items())
