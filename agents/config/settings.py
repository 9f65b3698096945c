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
    pattern = "react"                 # react | plan_execute | reflection | supervisor | debate
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

Checks: the whole file is checked on every load, not just the chosen agent: unknown keys, model
specs (nothing is loaded), server entries (:func:`mcploom.agents.config.servers.load_servers`;
like Claude Desktop it ignores, with a warning, entry keys other clients add), server names, and
every ``[agents.<name>]`` value by the rule ``Agent`` checks its argument with
(``mcploom.agents.parameters``, where each key's meaning is), and pattern options by name
against the pattern's graph factory. Option values and model options pass through: the graph
and the model loader check them.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcploom.agents.config.checkpointers import POSTGRES_SCHEMES, sqlite_path
from mcploom.agents.config.servers import StdioServer, load_servers, read_config_text
from mcploom.agents.errors import ConfigError
from mcploom.agents.models import ModelSpec
from mcploom.agents.parameters import PARAMETERS, check_setting, describe_value
from mcploom.agents.patterns import check_options
from mcploom.paths import data_home

__all__ = [
    "CONFIG_ENV_VAR",
    "EXAMPLE_CONFIG",
    "default_config_path",
    "load_agent_settings",
]

CONFIG_ENV_VAR = "MCPLOOM_CONFIG"
"""Environment variable naming the config file to read when no path is given."""

LOCAL_CONFIG_NAME = "mcploom.toml"
"""The config file looked for in the current directory."""

EXAMPLE_CONFIG = """\
[mcpServers.utility]
command = "python"
args = ["-m", "mcploom.mcp_servers.utility"]

[agents.default]
model = "local"
"""
"""The smallest useful config file, shown when none is found."""


_TOP_KEYS = ("agents", "mcpServers", "models")
_AGENT_KEYS = tuple(name for name, parameter in PARAMETERS.items() if parameter.in_file)
"""An ``[agents.<name>]`` table's keys: ``Agent``'s settings (``mcploom.agents.parameters``)."""
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


def load_agent_settings(name: str | None = None, path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
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

    def where(self, key: str | None = None) -> str:
        """``<file> [<table>] <key>``: where a value is, for messages."""
        table = f"[{self.table}]" if self.table else "(top level)"
        return f"{self.file} {table}{f' {_toml_key(key)}' if key else ''}"

    def error(self, key: str | None, message: str) -> ConfigError:
        """An error about ``key`` in this table (or the table itself), as ``At <file> [<table>] <key>: ...``."""
        return ConfigError(f"At {self.where(key)}: {message}")

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
            key,
            f"expected a table, got {describe_value(value)}. Write it as [{at.child(key).table}] with keys under it.",
        )
    return value


def _string(value: Any, at: _At, key: str, example: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise at.error(
            key, f"expected a non-empty string, got {describe_value(value)}. Write {_toml_key(key)} = {example}."
        )
    return value


def _strings(value: Any, at: _At, key: str, example: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise at.error(
            key, f"expected an array of strings, got {describe_value(value)}. Write {_toml_key(key)} = {example}."
        )
    return list(value)


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
                f"expected a model spec string or a table with a spec, got {describe_value(value)}. "
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
) -> dict[str, Any]:
    _check_keys(table, _AGENT_KEYS, at)
    settings: dict[str, Any] = {}
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
    for key in _AGENT_KEYS:
        if key in table and key not in settings:
            settings[key] = check_setting(key, table[key], at.where(key))
    if "workers" in settings:
        _check_worker_servers(settings["workers"], selected, at.child("workers"))
    pattern = settings.get("pattern", "react")
    for key, options, workers in (
        ("workers", None, settings.get("workers")),
        ("options", settings.get("options"), None),
    ):
        try:
            check_options(pattern, options, workers)
        except ConfigError as exc:
            raise at.error(key, str(exc)) from None
    if "checkpointer" in settings:
        settings["checkpointer"] = _checkpointer(settings["checkpointer"], at)
    if isinstance(settings.get("trace"), str):
        settings["trace"] = str(_resolve(settings["trace"], at))
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


def _check_worker_servers(workers: Mapping[str, Mapping[str, Any]], servers: list[str], at: _At) -> None:
    for name, worker in workers.items():
        for server in worker.get("servers", []):
            if server not in servers:
                raise at.child(name).error(
                    "servers",
                    f"{server!r} is not one of the agent's servers ({', '.join(servers) or 'none'}). "
                    "Add it to the agent's servers, or pick one of those.",
                )


def _checkpointer(spec: str, at: _At) -> str:
    """A SQLite checkpointer's path made absolute against the file's folder (the others as they are)."""
    if spec == "memory" or spec.startswith(POSTGRES_SCHEMES):
        return spec
    return f"sqlite://{_resolve(str(sqlite_path(spec)), at)}"
