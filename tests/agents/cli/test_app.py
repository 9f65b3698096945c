"""The whole ``mcploom`` command line: one meaning per flag, errors as one plain line, install names
that pip matches as written."""

from __future__ import annotations

import re
import tomllib
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from mcploom.agents.cli import app

REPO = Path(__file__).resolve().parents[3]
runner = CliRunner()


def _commands(command: Any, path: str = "mcploom"):
    yield path, command
    if hasattr(command, "commands"):  # a group (Typer's own click, so not a click.Group)
        for name, sub in command.commands.items():
            yield from _commands(sub, f"{path} {name}")


def test_each_flag_means_one_thing_across_the_commands() -> None:
    """Issue #9, bug 4: -m was --model in run and --mode in search, -c --mcp-config and --collection,
    --config the TOML file in run and Claude Desktop's JSON in claude-config."""
    meanings: dict[str, set[str]] = defaultdict(set)
    where: dict[str, list[str]] = defaultdict(list)
    for path, command in _commands(typer.main.get_command(app)):
        for param in command.params:
            for flag in (*param.opts, *param.secondary_opts):
                if flag.startswith("-") and flag != "--help":
                    meanings[flag].add(param.name)
                    where[flag].append(path)
    clashes = {flag: sorted(names) for flag, names in meanings.items() if len(names) > 1}
    assert not clashes, {flag: (names, where[flag]) for flag, names in clashes.items()}
    assert meanings["-m"] == {"model"} and meanings["--config"] == {"config"}


def test_a_fix_text_with_brackets_prints_as_written(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Issue #9, bug 2: Rich markup ate "[rag]" from "(or mcploom[rag])"."""
    from mcploom import rag

    def missing(*args, **kwargs):
        raise rag.EmbeddingModelError(
            "sentence-transformers is not installed: pip install sentence-transformers (or mcploom[rag])"
        )

    monkeypatch.setattr(rag, "list_collections", missing)
    result = runner.invoke(app, ["search", "x", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert (
        result.stderr
        == "Error: sentence-transformers is not installed: pip install sentence-transformers (or mcploom[rag])\n"
    )


def test_extras_are_named_as_pip_matches_them_on_every_version() -> None:
    """Issue #9, bug 3: pip 23 did not match ".[qwen-1_5b]" against the normalised extra qwen-1-5b."""
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for name in extras:
        assert name == re.sub(r"[-_.]+", "-", name).lower(), f"extra {name!r} is not in its PEP 685 normal form"
    readme = (REPO / "README.md").read_text()
    for listed in re.findall(r'\.\[([^\]]+)\]"', readme):
        for extra in listed.split(","):
            assert extra in extras, f"README installs the extra {extra!r}, which pyproject.toml does not declare"
