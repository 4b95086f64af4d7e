"""``usage-async completion SHELL``: scripts generated from the parser that the shells load
and complete with. bash is always here; zsh and fish are run where installed, and their
scripts read otherwise."""

from __future__ import annotations

import argparse
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

import usage_async as ua
from usage_async.cli._main import build_parser

from .conftest import Result, console_script, user_environment

Cli = Callable[..., Result]

# Completes the words given as arguments (the last one, maybe empty, is the word under the
# cursor) with the generated script, as bash's programmable completion calls it.
BASH_COMPLETE = """
source "$1"
shift
COMP_WORDS=("$@")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
_usage_async
printf '%s\\n' "${COMPREPLY[@]}"
"""


@pytest.fixture(scope="module")
def scripts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("completion")
    made = {}
    for shell in ("bash", "zsh", "fish"):
        done = subprocess.run(
            [console_script(), "completion", shell],
            capture_output=True, text=True, env=user_environment(), check=True,
        )  # fmt: skip
        made[shell] = folder / f"usage-async.{shell}"
        made[shell].write_text(done.stdout)
    return made


def bash_completes(script: Path, *words: str) -> list[str]:
    done = subprocess.run(
        ["bash", "-c", BASH_COMPLETE, "bash", str(script), "usage-async", *words],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.split()


def test_the_bash_script_is_valid_and_registers_for_the_program(scripts: dict[str, Path]) -> None:
    subprocess.run(["bash", "-n", str(scripts["bash"])], check=True)
    done = subprocess.run(
        ["bash", "-c", f"source {scripts['bash']} && complete -p usage-async"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert done.stdout.strip() == "complete -F _usage_async usage-async"


@pytest.mark.parametrize(
    ("words", "offered"),
    [
        (["cos"], ["costs"]),
        (["-"], ["-h", "--help", "-V", "--version"]),
        (["costs", "--gro"], ["--group-by"]),
        (["costs", "--group-by", "pro"], ["project_id"]),
        (["costs", "--group-by", "project_id,li"], ["project_id,line_item"]),
        (["costs", "--bucket-width", ""], ["1d"]),
        (["completions", "--start", "l"], ["last-month"]),
        (["sync", "--since", "this"], ["this-month"]),
        (["api-keys", "--owner-project-access", "in"], ["inactive"]),
        (["completion", ""], ["bash", "zsh", "fish"]),
        (["budget", ""], ["check"]),
        (["budget", "check", "--co"], ["--config"]),  # the flags of a command's own command
        (["budget", "check", "--dry"], ["--dry-run"]),
        (["costs", "--line-item", ""], []),  # a value of the user's own: nothing offered
    ],
)
def test_bash_completes_commands_flags_and_their_values(
    scripts: dict[str, Path], words: list[str], offered: list[str]
) -> None:
    assert bash_completes(scripts["bash"], *words) == offered


def test_every_command_and_flag_of_the_parser_is_in_every_script(
    scripts: dict[str, Path],
) -> None:
    texts = {shell: path.read_text() for shell, path in scripts.items()}
    for command in (*ua.ENDPOINTS, "report", "focus", "sync", "api-keys", "completion"):
        for shell, text in texts.items():
            assert command in text, (shell, command)
    [commands] = [a for a in build_parser(0).actions if isinstance(a.choices, dict)]
    for command in ("images", "sync", "report"):
        flags = {
            flag
            for action in commands.choices[command].actions
            if action.help != argparse.SUPPRESS
            for flag in action.option_strings
        }
        assert set(bash_completes(scripts["bash"], command, "-")) == flags
        assert "--api-key" not in texts["bash"].split()  # refused, so never offered


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_the_zsh_script_is_valid_and_registers_for_the_program(scripts: dict[str, Path]) -> None:
    subprocess.run(["zsh", "-n", str(scripts["zsh"])], check=True)
    done = subprocess.run(
        ["zsh", "-f", "-c",
         f"autoload -Uz compinit && compinit -u -D && source {scripts['zsh']} && "
         "print -r -- $_comps[usage-async]"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert done.stdout.strip() == "_usage_async"


def test_the_zsh_script_describes_commands_and_flags(scripts: dict[str, Path]) -> None:
    text = scripts["zsh"].read_text()
    assert text.startswith("#compdef usage-async\n")
    assert "compdef _usage_async usage-async" in text
    assert "'costs:Costs per daily bucket'" in text
    assert "--group-by=[" in text
    assert "_sequence compadd - project_id user_id line_item" in text


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
@pytest.mark.parametrize(
    ("line", "offered"),
    [
        ("usage-async cos", ["costs"]),
        ("usage-async costs --gro", ["--group-by"]),
        ("usage-async costs --group-by project_id,li", ["project_id,line_item"]),
        ("usage-async completion ", ["bash", "fish", "zsh"]),
    ],
)
def test_fish_completes_commands_flags_and_their_values(
    scripts: dict[str, Path], line: str, offered: list[str]
) -> None:
    subprocess.run(["fish", "-n", str(scripts["fish"])], check=True)
    done = subprocess.run(
        ["fish", "--no-config", "-c", f"source {scripts['fish']}; complete -C '{line}'"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert [entry.split("\t")[0] for entry in done.stdout.splitlines()] == offered


def test_the_fish_script_describes_commands_and_flags(scripts: dict[str, Path]) -> None:
    text = scripts["fish"].read_text()
    assert (
        "complete -c usage-async -n __fish_use_subcommand -a costs -d 'Costs per daily bucket'"
        in text
    )
    assert "-l group-by -x -a '(__fish_complete_list , __usage_async_costs_group_by)'" in text
    assert "'__fish_seen_subcommand_from budget' -l config -r -F" in text


def test_an_unknown_shell_is_a_usage_error(cli: Cli) -> None:
    result = cli("completion", "powershell")
    assert result.code == 2
    assert "invalid choice: 'powershell'" in result.err
