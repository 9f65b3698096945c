"""``mcploom.agents.parameters``: the one declaration of ``Agent``'s settings that the constructor, the TOML
file and the command line all read."""

from __future__ import annotations

import doctest
import inspect

import pytest
from typer.testing import CliRunner

import mcploom.agents.parameters
from mcploom.agents.agent import Agent
from mcploom.agents.cli import app
from mcploom.agents.errors import ConfigError
from mcploom.agents.parameters import PARAMETERS, check_setting


def test_the_declaration_is_agents_signature_in_order() -> None:
    # Agent checks `locals()` against PARAMETERS, so a parameter missing here would go unchecked.
    assert [name for name in inspect.signature(Agent).parameters] == list(PARAMETERS)


def test_agents_docstring_lists_every_help_text() -> None:
    for name, parameter in PARAMETERS.items():
        assert f"{name}: {parameter.help}" in Agent.__doc__


def test_the_command_line_offers_exactly_the_settings_that_declare_flags() -> None:
    helps = {
        command: CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "300"}).output
        for command in ("run", "resume")
    }
    for parameter in PARAMETERS.values():
        for flag in parameter.flags:
            for command, text in helps.items():
                assert flag in text, f"mcploom {command} lacks {flag} ({parameter.name})"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("pattern", "reflexion", "At here: unknown pattern 'reflexion'. Did you mean 'reflection'?"),
        ("approval", 3, "At here: expected a string, got an integer (3). Use one of: destructive, always, never."),
        ("approval_tools", "write_*", "expected an array of strings, got a string ('write_*')."),
        ("call_timeout", -1, "expected seconds as a positive number"),
        ("workers", {}, "the table is empty"),
        ("model", "gpt-5", "model spec 'gpt-5': no backend prefix."),
        ("retrieve_first", "yes", "expected true or false, got a string ('yes')."),
        ("query_first", 1, "expected true or false, got an integer (1)."),
    ],
)
def test_a_bad_value_says_where_what_and_an_example(name: str, value: object, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_setting(name, value, "here")
    assert message in str(caught.value)


def test_values_are_normalized_once_for_every_caller() -> None:
    assert check_setting("call_timeout", False, "x") is None and check_setting("call_timeout", 5, "x") == 5.0
    assert check_setting("model", " Anthropic:claude-x ", "x") == "anthropic:claude-x"
    assert check_setting("options", None, "x") == {}


def test_doctests() -> None:
    assert doctest.testmod(mcploom.agents.parameters).failed == 0
