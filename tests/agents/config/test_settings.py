"""The TOML config file: where it is found, which agent is chosen, what it returns, and each error."""

from __future__ import annotations

import doctest
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

import mcploom.agents.config.settings
from mcploom.agents.config.settings import default_config_path, load_agent_settings
from mcploom.agents.errors import ConfigError

EXAMPLE = Path(__file__).parents[3] / "examples" / "mcploom.toml"

UTILITY = '[mcpServers.utility]\ncommand = "python"\nargs = ["-m", "mcploom.mcp_servers.utility"]\n'
FILES = '[mcpServers.files]\ncommand = "python"\nargs = ["-m", "mcploom.mcp_servers.files", "."]\n'


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """An empty working directory and data home, and no ``$MCPLOOM_CONFIG``."""
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("MCPLOOM_HOME", str(home))
    monkeypatch.delenv("MCPLOOM_CONFIG", raising=False)
    return {"work": work, "home": home, "tmp": tmp_path}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load(tmp_path: Path, text: str, name: str | None = None) -> dict[str, Any]:
    return load_agent_settings(name, write(tmp_path / "mcploom.toml", text))


def error(tmp_path: Path, text: str, name: str | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text, name)
    return str(info.value)


# --- which file -------------------------------------------------------------------------------


def prompt_file(path: Path, prompt: str) -> Path:
    return write(path, f'[agents.default]\nsystem_prompt = "{prompt}"\n')


def test_file_search_order(places: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    home_file = prompt_file(places["home"] / "config.toml", "home")
    assert load_agent_settings()["system_prompt"] == "home"
    assert default_config_path() == home_file

    local = prompt_file(places["work"] / "mcploom.toml", "local")
    assert load_agent_settings()["system_prompt"] == "local"
    assert default_config_path() == local

    env_file = prompt_file(places["tmp"] / "elsewhere.toml", "env")
    monkeypatch.setenv("MCPLOOM_CONFIG", str(env_file))
    assert load_agent_settings()["system_prompt"] == "env"
    assert default_config_path() == env_file

    given = prompt_file(places["tmp"] / "given.toml", "given")
    assert load_agent_settings(path=given)["system_prompt"] == "given"
    assert load_agent_settings(path=str(given))["system_prompt"] == "given"


def test_default_config_path_is_the_data_home_file_when_nothing_exists(places: dict[str, Path]) -> None:
    assert default_config_path() == places["home"] / "config.toml"
    assert doctest.testmod(mcploom.agents.config.settings).failed == 0


def test_no_file_found_lists_the_places_and_an_example(places: dict[str, Path]) -> None:
    with pytest.raises(ConfigError) as info:
        load_agent_settings()
    message = str(info.value)
    assert "$MCPLOOM_CONFIG (not set)" in message
    assert str(places["work"] / "mcploom.toml") in message
    assert str(places["home"] / "config.toml") in message
    assert "[agents.default]" in message and "[mcpServers.utility]" in message


def test_a_named_file_that_is_missing_is_an_error_not_a_fallback(
    places: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    prompt_file(places["work"] / "mcploom.toml", "local")
    with pytest.raises(ConfigError, match=r"At .*nope\.toml: no such config file\. Check the path"):
        load_agent_settings(path=places["tmp"] / "nope.toml")
    monkeypatch.setenv("MCPLOOM_CONFIG", str(places["tmp"] / "gone.toml"))
    with pytest.raises(ConfigError, match=r"At \$MCPLOOM_CONFIG: it names .*gone\.toml, which is not a file\. Fix"):
        load_agent_settings()


def test_an_empty_environment_variable_counts_as_unset(
    places: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    prompt_file(places["work"] / "mcploom.toml", "local")
    monkeypatch.setenv("MCPLOOM_CONFIG", "")
    assert load_agent_settings()["system_prompt"] == "local"


def test_a_file_that_is_not_utf8_says_so(tmp_path: Path) -> None:
    file = tmp_path / "mcploom.toml"
    file.write_bytes(b'[agents.default]\nsystem_prompt = "caf\xe9"\n')
    with pytest.raises(ConfigError, match=r"the file is not UTF-8 text .*Save it as UTF-8\."):
        load_agent_settings(path=file)


def test_invalid_toml_says_where(tmp_path: Path) -> None:
    message = error(tmp_path, "[agents.default]\nmodel = local\n")
    assert message.startswith(f"At {tmp_path / 'mcploom.toml'}: invalid TOML:")
    assert "line 2" in message and "Fix the syntax there." in message


# --- which agent ------------------------------------------------------------------------------


def test_agent_choice(tmp_path: Path) -> None:
    two = '[agents.default]\npattern = "react"\n[agents.team]\npattern = "supervisor"\n'
    assert load(tmp_path, two)["pattern"] == "react"
    assert load(tmp_path, two, "team")["pattern"] == "supervisor"
    assert load(tmp_path, '[agents.solo]\npattern = "reflection"\n')["pattern"] == "reflection"


def test_agent_choice_errors(tmp_path: Path) -> None:
    many = "[agents.alpha]\n[agents.beta]\n"
    assert re.search(
        r"2 agents \(alpha, beta\) and none is named 'default'\. Pass the agent's name, or rename",
        error(tmp_path, many),
    )
    assert "no agent named 'alpah'. Did you mean 'alpha'? Agents in the file: alpha, beta." in error(
        tmp_path, many, "alpah"
    )
    assert "no agents declared. Add one, e.g.\n\n[agents.default]" in error(tmp_path, UTILITY)
    assert "The file has no [agents] tables." in error(tmp_path, UTILITY, "x")


def test_an_agent_table_with_nothing_in_it_gets_every_server(tmp_path: Path) -> None:
    settings = load(tmp_path, UTILITY + FILES + "[agents.default]\n")
    assert list(settings) == ["servers"]
    assert list(settings["servers"]) == ["utility", "files"]


# --- models -----------------------------------------------------------------------------------


def test_models_table_forms(tmp_path: Path) -> None:
    text = """
        [models]
        fast = "LOCAL"
        smart = { spec = "anthropic:claude-sonnet-4-5", temperature = 0.2 }
        [models.server]
        spec = "openai-compatible:http://127.0.0.1:8080/v1/#qwen"
        max_tokens = 64
        [agents.a]
        model = "fast"
        [agents.b]
        model = "smart"
        [agents.c]
        model = "server"
        [agents.c.model_options]
        max_tokens = 128
        seed = 1
        [agents.d]
        model = "openai:gpt-5.5"
        [agents.e]
        model_options = { temperature = 0 }
    """
    assert load(tmp_path, text, "a") == {"model": "local", "servers": {}}
    b = load(tmp_path, text, "b")
    assert (b["model"], b["model_options"]) == ("anthropic:claude-sonnet-4-5", {"temperature": 0.2})
    c = load(tmp_path, text, "c")
    assert c["model"] == "openai-compatible:http://127.0.0.1:8080/v1#qwen"
    assert c["model_options"] == {"max_tokens": 128, "seed": 1}
    assert load(tmp_path, text, "d")["model"] == "openai:gpt-5.5"
    assert "model_options" not in load(tmp_path, text, "d")
    assert load(tmp_path, text, "e") == {"model_options": {"temperature": 0}, "servers": {}}


def test_model_errors(tmp_path: Path) -> None:
    file = tmp_path / "mcploom.toml"
    unknown = error(tmp_path, '[models]\nfast = "local"\nsmart = "local"\n[agents.a]\nmodel = "fats"\n')
    assert unknown.startswith(f"At {file} [agents.a] model: 'fats' is neither a name in [models] (fast, smart)")
    assert "Did you mean 'fast'?" in unknown
    assert "no backend prefix. Use one of: local, local:<catalog-name>" in unknown

    assert "(it has none)" in error(tmp_path, '[agents.a]\nmodel = "gpt"\n')
    assert f"At {file} [models] bad: model spec 'mystery:x': unknown backend 'mystery'. Use one of:" in error(
        tmp_path, '[models]\nbad = "mystery:x"\n'
    )
    no_spec = error(tmp_path, "[models]\nsmart = { temperature = 0.2 }\n")
    assert "[models] smart: expected a model spec string or a table with a spec, got a table." in no_spec
    assert 'smart = { spec = "local", temperature = 0.2 }' in no_spec
    assert "[models.smart] spec: expected a non-empty string, got an integer (3)." in error(
        tmp_path, "[models]\nsmart = { spec = 3 }\n"
    )


# --- servers ----------------------------------------------------------------------------------


def test_server_selection(tmp_path: Path) -> None:
    text = UTILITY + FILES + '[mcpServers.web]\nurl = "https://mcp.example.com/mcp"\n'
    everything = load(tmp_path, text + "[agents.a]\n")
    assert list(everything["servers"]) == ["utility", "files", "web"]
    assert everything["servers"]["web"] == {"url": "https://mcp.example.com/mcp"}
    assert everything["servers"]["utility"] == {
        "command": "python",
        "args": ["-m", "mcploom.mcp_servers.utility"],
        "cwd": str(tmp_path),
    }
    assert list(load(tmp_path, text + '[agents.a]\nservers = ["web", "files"]\n')["servers"]) == ["web", "files"]
    assert load(tmp_path, text + "[agents.a]\nservers = []\n")["servers"] == {}


def test_server_errors(tmp_path: Path) -> None:
    file = tmp_path / "mcploom.toml"
    unknown = error(tmp_path, UTILITY + FILES + '[agents.a]\nservers = ["utilty"]\n')
    assert unknown == (
        f"At {file} [agents.a] servers: no server named 'utilty'. Did you mean 'utility'? Servers: utility, files."
    )
    assert "The file declares no [mcpServers.<name>] tables." in error(tmp_path, '[agents.a]\nservers = ["x"]\n')
    assert "[agents.a] servers: expected an array of strings, got a string ('utility')." in error(
        tmp_path, UTILITY + '[agents.a]\nservers = "utility"\n'
    )
    # load_servers' own message, placed in this file.
    assert error(tmp_path, "[mcpServers.broken]\nargs = []\n").startswith(
        f'At {file}: mcpServers.broken: the entry has neither "command" nor "url".'
    )


def test_worker_servers_must_be_the_agents(tmp_path: Path) -> None:
    text = UTILITY + FILES + '[agents.t]\npattern = "supervisor"\nservers = ["utility"]\n'
    message = error(tmp_path, text + '[agents.t.workers.reader]\ndescription = "Reads"\nservers = ["files"]\n')
    assert "[agents.t.workers.reader] servers: 'files' is not one of the agent's servers (utility)." in message
    assert "Add it to the agent's servers" in message


# --- paths ------------------------------------------------------------------------------------


def test_relative_paths_are_relative_to_the_files_folder(
    places: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = places["tmp"] / "project"
    monkeypatch.setenv("HOME", str(places["tmp"] / "me"))
    text = """
        [models]
        mine = "gguf:models/qwen.gguf"
        [mcpServers.files]
        command = "python"
        args = ["-m", "mcploom.mcp_servers.files", "docs"]
        cwd = "servers"
        [mcpServers.abs]
        command = "/bin/true"
        cwd = "/srv"
        [agents.default]
        model = "mine"
        checkpointer = "sqlite:state/threads.sqlite"
        trace = "traces/run.jsonl"
        [agents.plain]
        checkpointer = "threads.db"
        [agents.absolute]
        model = "gguf:~/models/q.gguf"
        checkpointer = "sqlite:///var/lib/threads.sqlite"
        trace = "~/trace.jsonl"
    """
    file = write(folder / "mcploom.toml", text)
    settings = load_agent_settings(path=file)  # the working directory is elsewhere
    assert settings["model"] == f"gguf:{folder / 'models' / 'qwen.gguf'}"
    assert settings["checkpointer"] == f"sqlite://{folder / 'state' / 'threads.sqlite'}"
    assert settings["trace"] == str(folder / "traces" / "run.jsonl")
    assert settings["servers"]["files"]["cwd"] == str(folder / "servers")
    assert settings["servers"]["abs"]["cwd"] == "/srv"
    assert load_agent_settings("plain", file)["checkpointer"] == f"sqlite://{folder / 'threads.db'}"
    absolute = load_agent_settings("absolute", file)
    assert absolute["model"] == f"gguf:{places['tmp'] / 'me' / 'models' / 'q.gguf'}"
    assert absolute["checkpointer"] == "sqlite:///var/lib/threads.sqlite"
    assert absolute["trace"] == str(places["tmp"] / "me" / "trace.jsonl")


def test_checkpointer_forms(tmp_path: Path) -> None:
    for value in ("memory", "postgresql://u:p@db/threads", "postgres://db/threads"):
        assert load(tmp_path, f'[agents.a]\ncheckpointer = "{value}"\n')["checkpointer"] == value
    for value in ("sqlite:", "sqlite://host/threads.sqlite", "redis://x", "threads"):
        message = error(tmp_path, f'[agents.a]\ncheckpointer = "{value}"\n')
        assert f"[agents.a] checkpointer: '{value}' is not a checkpointer. Use one of: memory, sqlite:///" in message


# --- keys and types ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "where", "key", "suggestion"),
    [
        ('agent = "x"\n', "(top level)", "agent", "agents"),
        ('[agents.a]\nmodle = "local"\n', "[agents.a]", "modle", "model"),
        ('[agents."my agent"]\nzzz = 1\n', '[agents."my agent"]', "zzz", None),
    ],
)
def test_unknown_keys(tmp_path: Path, text: str, where: str, key: str, suggestion: str | None) -> None:
    message = error(tmp_path, text)
    assert message.startswith(f"At {tmp_path / 'mcploom.toml'} {where}: unknown key '{key}'.")
    assert (f"Did you mean '{suggestion}'?" in message) == (suggestion is not None)
    assert "Allowed keys: " in message


def test_allowed_keys_are_listed(tmp_path: Path) -> None:
    assert error(tmp_path, "modles = 1\n").endswith(
        "unknown key 'modles'. Did you mean 'models'? Allowed keys: agents, mcpServers, models."
    )
    assert "Allowed keys: model, servers, pattern, system_prompt, checkpointer, approval," in error(
        tmp_path, "[agents.a]\nx = 1\n"
    )


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            'max_iterations = "8"',
            "max_iterations: expected a positive integer, got a string ('8'). For example: 8.",
        ),
        ("max_iterations = 0", "max_iterations: expected a positive integer, got an integer (0)."),
        ("max_iterations = true", "max_iterations: expected a positive integer, got a boolean (true)."),
        (
            'call_timeout = "60"',
            "call_timeout: expected seconds as a positive number, or none (false in a config file) for no limit, "
            "got a string ('60').",
        ),
        ("call_timeout = true", "call_timeout: expected seconds as a positive number"),
        ("system_prompt = 3", "system_prompt: expected a string, got an integer (3)."),
        ('approval_tools = "write_*"', "approval_tools: expected an array of strings, got a string ('write_*')."),
        ("trace = 1", "trace: expected true, false or a file path, got an integer (1)."),
        ("options = 3", "options: expected a table, got an integer (3)."),
        ("options = { max_stepz = 3 }", "options: Unknown option 'max_stepz' for pattern 'react'; it takes: samples"),
        (
            'pattern = "reactt"',
            "pattern: unknown pattern 'reactt'. Did you mean 'react'? Use one of: react, plan_execute, reflection, "
            "supervisor, debate.",
        ),
        ("pattern = 1", "pattern: expected a string, got an integer (1). Use one of:"),
        ('approval = "sometimes"', "approval: unknown approval 'sometimes'. Use one of: destructive, always, never."),
    ],
)
def test_wrong_types_say_what_was_expected(tmp_path: Path, line: str, expected: str) -> None:
    message = error(tmp_path, f"[agents.a]\n{line}\n")
    assert message.startswith(f"At {tmp_path / 'mcploom.toml'} [agents.a] ")
    assert expected in message


def test_top_level_tables_must_be_tables(tmp_path: Path) -> None:
    assert "(top level) agents: expected a table, got a string ('x'). Write it as [agents]" in error(
        tmp_path, 'agents = "x"\n'
    )


def test_scalar_settings(tmp_path: Path) -> None:
    text = """
        [agents.a]
        pattern = "plan_execute"
        system_prompt = "Be brief."
        approval = "never"
        approval_tools = ["write_*", "move"]
        max_iterations = 3
        call_timeout = 5
        trace = true
        [agents.a.options]
        max_steps = 4
        max_replans = 1
        [agents.b]
        call_timeout = false
        trace = false
    """
    assert load(tmp_path, text, "a") == {
        "servers": {},
        "pattern": "plan_execute",
        "system_prompt": "Be brief.",
        "approval": "never",
        "approval_tools": ["write_*", "move"],
        "options": {"max_steps": 4, "max_replans": 1},
        "max_iterations": 3,
        "call_timeout": 5.0,
        "trace": True,
    }
    assert load(tmp_path, text, "b") == {"servers": {}, "call_timeout": None, "trace": False}


def test_workers(tmp_path: Path) -> None:
    text = (
        UTILITY
        + """
        [agents.team]
        pattern = "supervisor"
        [agents.team.workers.calculator]
        description = "Does arithmetic"
        system_prompt = "Use calculate."
        tools = ["calculate"]
        servers = ["utility"]
        [agents.team.workers.clock]
        description = "Tells the time"
    """
    )
    assert load(tmp_path, text)["workers"] == {
        "calculator": {
            "description": "Does arithmetic",
            "system_prompt": "Use calculate.",
            "tools": ["calculate"],
            "servers": ["utility"],
        },
        "clock": {"description": "Tells the time"},
    }


def test_worker_errors(tmp_path: Path) -> None:
    team = '[agents.t]\npattern = "supervisor"\n'
    assert "[agents.a] workers: workers are for the supervisor pattern; pattern 'react' does not use them." in error(
        tmp_path, '[agents.a.workers.w]\ndescription = "x"\n'
    )
    assert "[agents.t] workers: worker 'w': expected a table with a description, got a string ('x')." in error(
        tmp_path, team + 'workers = { w = "x" }\n'
    )
    assert "[agents.t] workers: worker 'w' needs a description (a non-empty string)" in error(
        tmp_path, team + '[agents.t.workers.w]\ntools = ["calculate"]\n'
    )
    assert "[agents.t] workers: worker 'w' tools: expected an array of strings, got a string ('calculate')." in error(
        tmp_path, team + '[agents.t.workers.w]\ndescription = "x"\ntools = "calculate"\n'
    )
    assert "[agents.t] workers: worker 'w' has an unknown key 'descripton'. Did you mean 'description'?" in error(
        tmp_path, team + '[agents.t.workers.w]\ndescripton = "x"\n'
    )


def test_every_agent_in_the_file_is_checked(tmp_path: Path) -> None:
    assert "[agents.broken] max_iterations" in error(
        tmp_path, "[agents.default]\n[agents.broken]\nmax_iterations = -1\n", "default"
    )


# --- the example file and the Agent contract -----------------------------------------------


def test_example_config_loads() -> None:
    patterns = {
        name: load_agent_settings(name, EXAMPLE).get("pattern", "react")
        for name in ("default", "research", "team", None)
    }
    assert patterns == {"default": "react", "research": "plan_execute", "team": "supervisor", None: "react"}
    team = load_agent_settings("team", EXAMPLE)
    assert set(team["workers"]) == {"calculator", "reader"}
    assert list(team["servers"]) == ["utility", "files", "rag"]


async def test_the_real_agent_takes_the_example_settings(tmp_path: Path) -> None:
    from mcploom.agents.agent import Agent
    from mcploom.agents.checkpoints import open_checkpointer
    from tests.fakes import ScriptedChatModel

    copy = tmp_path / "mcploom.toml"  # so the example's relative paths land here
    copy.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    for name in ("default", "research", "team"):
        settings = load_agent_settings(name, copy)
        Agent(**{**settings, "model": ScriptedChatModel.script([])})
    research = load_agent_settings("research", copy)
    async with open_checkpointer(research["checkpointer"]):
        pass
    assert (tmp_path / "research-threads.sqlite").is_file()
