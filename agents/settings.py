"""A TOML config file that declares models, MCP servers and named agents.

One file describes what ``Agent(...)`` would otherwise take as arguments, so a terminal user or a
script picks a whole setup by name::

    # mcploom.toml
    [models]                          # names for model specs
    fast  = "local"
    smart = { spec = "anthropic:claude-sonnet-4-5", temperature = 0.2 }   # other keys: model options

    [mcpServers.utility]              # Claude Desktop's mcpServers shape, as TOML tables
    command = "python"
    args = ["-m", "mcploom.mcp_servers.utility"]

    [agents.default]                  # a named agent; every key is optional
    model = "fast"                    # a [models] name or a model spec ("local", "openai:gpt-5.5", ...)
    servers = ["utility"]             # names from [mcpServers]; left out = all of them, [] = none
    pattern = "react"                 # react | plan_execute | reflection | supervisor
    system_prompt = "Be brief."
    checkpointer = "sqlite:threads.sqlite"    # memory | sqlite:<path> | <path>.sqlite | postgresql://...
    approval = "destructive"          # destructive | always | never
    approval_tools = ["write_*"]      # tool-name globs that always need approval
    max_iterations = 8
    call_timeout = 60                 # seconds per MCP tool call; false = no limit
    trace = true                      # JSONL traces in the data folder, or a file path
    [agents.default.options]          # pattern options: max_steps, rubric, max_handoffs, ...
    max_steps = 6
    [agents.default.model_options]    # over the [models] entry's options
    n_ctx = 8192

    [agents.team]
    pattern = "supervisor"
    [agents.team.workers.calculator]  # supervisor only; left out = one worker per server
    description = "Does arithmetic"   # required: the supervisor routes by it
    system_prompt = "Show your working."
    tools = ["calculate"]             # tool-name globs, and/or
    servers = ["utility"]             # every tool of these (from the agent's servers)

Which file: the ``path`` given, else ``$MCPLOOM_CONFIG``, else ``./mcploom.toml``, else
``config.toml`` in the data folder (``$MCPLOOM_HOME``, else ``~/.local/share/mcploom``).

Paths: a relative path in the file is relative to the file's folder: SQLite checkpointers
(``sqlite:<path>`` or a path ending in ``.sqlite``, ``.sqlite3``, ``.db``; ``sqlite:///abs/path``
is absolute), ``trace`` files, ``gguf:`` models and a server's ``cwd``. A stdio server without
``cwd`` runs in the file's folder, so relative paths in its ``args`` work the same way. ``~`` is
expanded in checkpointer, trace and ``gguf:`` paths; server entries reach the server exactly as
written, as in Claude Desktop.

Checks: the whole file is checked on every load, not just the chosen agent: unknown keys, value
types, model specs (nothing is loaded), server entries (:func:`mcploom.agents.config.load_servers`; like
Claude Desktop it ignores, with a warning, entry keys other clients add), server names. Pattern
options and model options pass through: the agent and the model loader check them.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypedDict, get_args

from mcploom.agents.checkpoint_spec import POSTGRES_SCHEMES, SQLITE_SUFFIXES, sqlite_path
from mcploom.agents.config import StdioServer, load_servers, read_config_text
from mcploom.agents.errors import ConfigError
from mcploom.agents.models import ModelSpec
from mcploom.agents.paths import data_home
from mcploom.agents.patterns import PATTERNS, Pattern

__all__ = [
    "CONFIG_ENV_VAR",
    "EXAMPLE_CONFIG",
    "AgentSettings",
    "Approval",
    "Pattern",
    "WorkerSettings",
    "default_config_path",
    "load_agent_settings",
]

CONFIG_ENV_VAR = "MCPLOOM_CONFIG"
"""Environment variable naming the config file to read when no path is given."""

LOCAL_CONFIG_NAME = "mcploom.toml"
"""The config file looked for in the current directory."""

Approval = Literal["destructive", "always", "never"]
"""Which tool calls wait for the user's approval: those marked destructive, all, or none."""

EXAMPLE_CONFIG = """\
[mcpServers.utility]
command = "python"
args = ["-m", "mcploom.mcp_servers.utility"]

[agents.default]
model = "local"
"""
"""The smallest useful config file, shown when none is found."""


class WorkerSettings(TypedDict, total=False):
    """One supervisor worker, as ``Agent``'s ``workers`` values take it."""

    description: str
    system_prompt: str
    tools: list[str]
    servers: list[str]


class AgentSettings(TypedDict, total=False):
    """Keyword arguments for ``Agent``; keys the file leaves out are absent, so its defaults apply."""

    model: str
    servers: dict[str, dict[str, Any]]
    pattern: Pattern
    system_prompt: str
    checkpointer: str
    approval: Approval
    approval_tools: list[str]
    workers: dict[str, WorkerSettings]
    options: dict[str, Any]
    max_iterations: int
    call_timeout: float | None
    model_options: dict[str, Any]
    trace: bool | str


_TOP_KEYS = ("agents", "mcpServers", "models")
_AGENT_KEYS = tuple(AgentSettings.__annotations__)
_WORKER_KEYS = tuple(WorkerSettings.__annotations__)
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def default_config_path() -> Path:
    """The config file mcploom reads when no path is given, whether or not it exists yet.

    ``$MCPLOOM_CONFIG`` if set, else ``./mcploom.toml`` if there is one, else ``config.toml`` in the
    data folder: the place to create a user-wide config.

    Example:
        >>> default_config_path().suffix
        '.toml'
    """
    chosen = os.environ.get(CONFIG_ENV_VAR)
    if chosen:
        return Path(chosen).expanduser().absolute()
    local = Path.cwd() / LOCAL_CONFIG_NAME
    return local if local.is_file() else data_home() / "config.toml"


def load_agent_settings(name: str | None = None, path: str | os.PathLike[str] | None = None) -> AgentSettings:
    """Read the config file and return one agent's keyword arguments for ``Agent``.

    Args:
        name: The agent's name under ``[agents]``; ``None`` picks ``default``, or the only agent.
        path: The config file; ``None`` searches ``$MCPLOOM_CONFIG``, ``./mcploom.toml``, then
            ``config.toml`` in the data folder.

    Returns:
        ``Agent``'s keyword arguments for the keys the agent sets, plus ``servers`` (its selection,
        validated, in ``mcpServers`` shape) and, when it names a model, ``model`` (a spec string,
        not loaded) with ``model_options`` from ``[models]`` and the agent. Relative paths are
        made absolute against the file's folder.

    Raises:
        ConfigError: No file is found (the message lists where it looked and shows an example),
            the file is not valid TOML, something in it is invalid (it says the file, the table,
            the key and the fix), or the agent is not there (it lists the names).

    Example:
        >>> settings = load_agent_settings("default", "examples/mcploom.toml")  # doctest: +SKIP
        >>> agent = Agent(**settings)  # doctest: +SKIP
    """
    file = _find_config(path)
    config = _read_toml(file)
    top = _At(file, "")
    _check_keys(config, _TOP_KEYS, top)
    models = _models(_table(config, "models", top), top.child("models"))
    servers = _servers(_table(config, "mcpServers", top), file)
    agents = _table(config, "agents", top)
    chosen = _choose_agent(agents, name, file)
    at = top.child("agents")
    settings = {
        agent_name: _agent(_table(agents, agent_name, at), at.child(agent_name), models, servers)
        for agent_name in agents
    }
    return settings[chosen]


# --- finding and reading the file -------------------------------------------------------------


def _find_config(path: str | os.PathLike[str] | None) -> Path:
    if path is not None:
        file = Path(path).expanduser().absolute()
        if not file.is_file():
            raise ConfigError(
                f"At {file}: no such config file. Check the path, or leave it out to search the defaults."
            )
        return file
    chosen = os.environ.get(CONFIG_ENV_VAR)
    if chosen:
        file = Path(chosen).expanduser().absolute()
        if not file.is_file():
            raise ConfigError(
                f"At ${CONFIG_ENV_VAR}: it names {file}, which is not a file. Fix the path or unset {CONFIG_ENV_VAR}."
            )
        return file
    places = [Path.cwd() / LOCAL_CONFIG_NAME, data_home() / "config.toml"]
    for place in places:
        if place.is_file():
            return place
    looked = "; ".join([f"${CONFIG_ENV_VAR} (not set)", *(str(place) for place in places)])
    raise ConfigError(
        f"No mcploom config file found. Looked at: {looked}. "
        f"Create one of them (or set {CONFIG_ENV_VAR}), for example:\n\n{EXAMPLE_CONFIG}"
    )


def _read_toml(file: Path) -> dict[str, Any]:
    text = read_config_text(file, "config file")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"At {file}: invalid TOML: {exc}. Fix the syntax there.") from None


# --- where a value is, for messages -----------------------------------------------------------


@dataclass(frozen=True)
class _At:
    """A table in the config file (``""`` = the top level), to say where an error is."""

    file: Path
    table: str

    def child(self, key: str) -> _At:
        """The table under ``key`` in this one."""
        return _At(self.file, f"{self.table}.{_toml_key(key)}" if self.table else _toml_key(key))

    def error(self, key: str | None, message: str) -> ConfigError:
        """An error about ``key`` in this table (or the table itself), as ``At <file> [<table>] <key>: ...``."""
        where = f"[{self.table}]" if self.table else "(top level)"
        return ConfigError(f"At {self.file} {where}{f' {_toml_key(key)}' if key else ''}: {message}")

    @property
    def folder(self) -> Path:
        """The folder relative paths in the file are relative to."""
        return self.file.parent


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else f'"{key}"'


def _nested(error: ConfigError) -> str:
    """Another module's ``At <where>: ...`` message, to put after this file's location."""
    return str(error).removeprefix("At ")


# --- types ------------------------------------------------------------------------------------


def _check_keys(table: Mapping[str, Any], allowed: tuple[str, ...], at: _At) -> None:
    for key in table:
        if key not in allowed:
            raise at.error(
                None, f"unknown key {key!r}.{_did_you_mean(key, allowed)} Allowed keys: {', '.join(allowed)}."
            )


def _did_you_mean(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def _table(parent: Mapping[str, Any], key: str, at: _At) -> dict[str, Any]:
    value = parent.get(key, {})
    if not isinstance(value, dict):
        raise at.error(
            key, f"expected a table, got {_describe(value)}. Write it as [{at.child(key).table}] with keys under it."
        )
    return value


def _string(value: Any, at: _At, key: str, example: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise at.error(key, f"expected a non-empty string, got {_describe(value)}. Write {_toml_key(key)} = {example}.")
    return value


def _strings(value: Any, at: _At, key: str, example: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise at.error(
            key, f"expected an array of strings, got {_describe(value)}. Write {_toml_key(key)} = {example}."
        )
    return list(value)


def _choice(value: Any, choices: tuple[str, ...], at: _At, key: str) -> Any:
    if value in choices:
        return value
    if isinstance(value, str):
        problem = f"unknown {key} {value!r}.{_did_you_mean(value, choices)}"
    else:
        problem = f"expected a string, got {_describe(value)}."
    raise at.error(key, f"{problem} Use one of: {', '.join(choices)}.")


def _describe(value: Any) -> str:
    """A TOML value as its type and value, e.g. ``a string ('8')``."""
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    kinds = {str: "a string", int: "an integer", float: "a number", list: "an array", dict: "a table"}
    for python_type, label in kinds.items():
        if isinstance(value, python_type):
            return label if python_type in (list, dict) else f"{label} ({value!r})"
    return f"a {type(value).__name__} ({value})"


# --- tables -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Model:
    """A ``[models]`` entry: a spec and the options that go with it."""

    spec: str
    options: dict[str, Any]


def _models(table: Mapping[str, Any], at: _At) -> dict[str, _Model]:
    models = {}
    for name, value in table.items():
        if isinstance(value, str):
            spec, options = value, {}
        elif isinstance(value, dict) and "spec" in value:
            spec = _string(value["spec"], at.child(name), "spec", '"local"')
            options = {key: option for key, option in value.items() if key != "spec"}
        else:
            raise at.error(
                name,
                f"expected a model spec string or a table with a spec, got {_describe(value)}. "
                f'Write {_toml_key(name)} = "local" or {_toml_key(name)} = {{ spec = "local", temperature = 0.2 }}.',
            )
        try:
            models[name] = _Model(_spec(spec, at), options)
        except ConfigError as exc:
            raise at.error(name, _nested(exc)) from None
    return models


def _spec(text: str, at: _At) -> str:
    """The normalized spec, with a relative ``gguf:`` path made absolute against the file's folder.

    Raises:
        ConfigError: ``ModelSpec.parse``'s, for the caller to say where the spec is.
    """
    spec = ModelSpec.parse(text)
    if spec.backend == "gguf" and spec.name is not None:
        return f"gguf:{_resolve(spec.name, at)}"
    return str(spec)


def _resolve(path: str, at: _At) -> Path:
    return at.folder / Path(path).expanduser()


def _servers(table: Mapping[str, Any], file: Path) -> dict[str, dict[str, Any]]:
    """Validated ``mcpServers`` entries; a stdio server's ``cwd`` is absolute, by default the file's folder."""
    try:
        servers = load_servers(table)
    except ConfigError as exc:
        raise ConfigError(f"At {file}: {_nested(exc)}") from None
    entries = {}
    for name, server in servers.items():
        entry = server.to_entry()
        if isinstance(server, StdioServer):
            entry["cwd"] = str(file.parent / (server.cwd or "."))
        entries[name] = entry
    return entries


def _choose_agent(agents: Mapping[str, Any], name: str | None, file: Path) -> str:
    names = ", ".join(agents)
    if name is not None and name not in agents:
        known = f" Agents in the file: {names}." if agents else " The file has no [agents] tables."
        raise ConfigError(
            f"At {file}: no agent named {name!r}.{_did_you_mean(name, agents)}{known} "
            f"Add [agents.{_toml_key(name)}] or pick one of the names."
        )
    if name is not None:
        return name
    if "default" in agents:
        return "default"
    if len(agents) == 1:
        return next(iter(agents))
    if not agents:
        raise ConfigError(f'At {file}: no agents declared. Add one, e.g.\n\n[agents.default]\nmodel = "local"\n')
    raise ConfigError(
        f"At {file}: {len(agents)} agents ({names}) and none is named 'default'. "
        "Pass the agent's name, or rename the one to use by default to [agents.default]."
    )


def _agent(
    table: Mapping[str, Any], at: _At, models: Mapping[str, _Model], servers: Mapping[str, dict[str, Any]]
) -> AgentSettings:
    _check_keys(table, _AGENT_KEYS, at)
    settings: AgentSettings = {}
    model_options: dict[str, Any] = {}
    if "model" in table:
        model = _agent_model(_string(table["model"], at, "model", '"local"'), at, models)
        settings["model"], model_options = model.spec, dict(model.options)
    model_options.update(_table(table, "model_options", at))
    if model_options:
        settings["model_options"] = model_options
    selected = (
        _select(_strings(table["servers"], at, "servers", '["utility"]'), servers, at)
        if "servers" in table
        else list(servers)
    )
    settings["servers"] = {name: servers[name] for name in selected}
    pattern = _choice(table.get("pattern", "react"), PATTERNS, at, "pattern")
    if "pattern" in table:
        settings["pattern"] = pattern
    if "system_prompt" in table:
        settings["system_prompt"] = _string(table["system_prompt"], at, "system_prompt", '"Be brief."')
    if "checkpointer" in table:
        settings["checkpointer"] = _checkpointer(table["checkpointer"], at)
    if "approval" in table:
        settings["approval"] = _choice(table["approval"], get_args(Approval), at, "approval")
    if "approval_tools" in table:
        settings["approval_tools"] = _strings(table["approval_tools"], at, "approval_tools", '["write_*"]')
    if "workers" in table:
        if pattern != "supervisor":
            raise at.error(
                "workers",
                f"workers belong to the supervisor pattern, not {pattern!r}. "
                'Set pattern = "supervisor" or remove the workers.',
            )
        workers = _table(table, "workers", at)
        settings["workers"] = {name: _worker(workers[name], at.child("workers"), name, selected) for name in workers}
    if "options" in table:
        settings["options"] = _table(table, "options", at)
    if "max_iterations" in table:
        settings["max_iterations"] = _max_iterations(table["max_iterations"], at)
    if "call_timeout" in table:
        settings["call_timeout"] = _call_timeout(table["call_timeout"], at)
    if "trace" in table:
        settings["trace"] = _trace(table["trace"], at)
    return settings


def _agent_model(value: str, at: _At, models: Mapping[str, _Model]) -> _Model:
    if value in models:
        return models[value]
    try:
        return _Model(_spec(value, at), {})
    except ConfigError as exc:
        names = f"({', '.join(models)})" if models else "(it has none)"
        raise at.error(
            "model",
            f"{value!r} is neither a name in [models] {names} nor a model spec.{_did_you_mean(value, models)} "
            f"As a spec: {_nested(exc)}",
        ) from None


def _select(names: list[str], servers: Mapping[str, Any], at: _At) -> list[str]:
    for name in names:
        if name not in servers:
            known = f"Servers: {', '.join(servers)}." if servers else "The file declares no [mcpServers.<name>] tables."
            raise at.error("servers", f"no server named {name!r}.{_did_you_mean(name, servers)} {known}")
    return names


def _worker(value: Any, at: _At, name: str, servers: list[str]) -> WorkerSettings:
    if not isinstance(value, dict):
        raise at.error(
            name, f'expected a table, got {_describe(value)}. Write [{at.child(name).table}] with description = "...".'
        )
    at = at.child(name)
    _check_keys(value, _WORKER_KEYS, at)
    if "description" not in value:
        raise at.error(None, 'the description is missing; the supervisor routes by it. Add description = "...".')
    worker: WorkerSettings = {"description": _string(value["description"], at, "description", '"Does arithmetic."')}
    if "system_prompt" in value:
        worker["system_prompt"] = _string(value["system_prompt"], at, "system_prompt", '"You do arithmetic."')
    if "tools" in value:
        worker["tools"] = _strings(value["tools"], at, "tools", '["calculate"]')
    if "servers" in value:
        chosen = _strings(value["servers"], at, "servers", '["utility"]')
        for server in chosen:
            if server not in servers:
                raise at.error(
                    "servers",
                    f"{server!r} is not one of the agent's servers ({', '.join(servers) or 'none'}). "
                    "Add it to the agent's servers, or pick one of those.",
                )
        worker["servers"] = chosen
    return worker


def _checkpointer(value: Any, at: _At) -> str:
    """``Agent``'s checkpointer string, with a SQLite path made absolute (the forms ``mcploom.agents.checkpoints`` reads)."""
    text = _string(value, at, "checkpointer", '"sqlite:threads.sqlite"').strip()
    if text == "memory" or text.startswith(POSTGRES_SCHEMES):
        return text
    try:
        path = sqlite_path(text)
    except ConfigError:
        raise at.error(
            "checkpointer",
            f'{text!r} is not a checkpointer. Write "memory", "sqlite:<path>" or a path ending in '
            f'{", ".join(SQLITE_SUFFIXES)} (relative to this file\'s folder), "sqlite:///<absolute/path>", '
            'or "postgresql://user:password@host/db"; leave it out for SQLite in the data folder.',
        ) from None
    return f"sqlite://{_resolve(str(path), at)}"


def _max_iterations(value: Any, at: _At) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise at.error(
            "max_iterations", f"expected a positive integer, got {_describe(value)}. Write max_iterations = 8."
        )
    return value


def _call_timeout(value: Any, at: _At) -> float | None:
    if value is False:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise at.error(
            "call_timeout",
            f"expected seconds as a positive number, or false for no limit, got {_describe(value)}. "
            "Write call_timeout = 60.",
        )
    return float(value)


def _trace(value: Any, at: _At) -> bool | str:
    if isinstance(value, bool):
        return value
    if not isinstance(value, str) or not value.strip():
        raise at.error(
            "trace",
            f"expected true, false or a file path, got {_describe(value)}. "
            'Write trace = true (a file per thread in the data folder) or trace = "trace.jsonl".',
        )
    return str(_resolve(value, at))
