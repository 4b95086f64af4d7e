"""Shell completion for bash, zsh and fish: a static script generated from the parser.

``describe`` reads what the parser knows (the commands; each command's flags, with those of
its own commands, as ``budget check``'s; which of them take a value and the values they
offer: argparse ``choices``, the names of a ``CommaSeparated`` list, the named WHENs, files
for a PATH or FILE) and ``script`` writes it in the shell's own completion language. The
script carries everything: completing a word runs no Python, so it is as quick as the
shell's own, and nothing is imported to generate it beyond the parser that is already built.
(shtab generates much the same, argcomplete runs the program on every Tab; neither is
needed for a script this size.)
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterable, Sequence

import attrs

from .._time import WHEN_NAMES
from ._arguments import CommaSeparated, Parser

__all__ = ["SHELLS", "Command", "Flag", "describe", "script"]

SHELLS = ("bash", "zsh", "fish")
WHENS = ("now", *WHEN_NAMES)
"""What a WHEN offers: the named moments (a date or a span is typed)."""
FILE_METAVARS = frozenset({"PATH", "FILE"})
"""The metavars of flags whose value is a file or directory."""


@attrs.frozen
class Flag:
    """One flag of a command, as completion sees it."""

    names: tuple[str, ...]
    help: str
    takes_value: bool = False
    offered: tuple[str, ...] = ()  # the values to offer (none: the user's own)
    comma_list: bool = False  # several of ``offered``, separated by commas
    files: bool = False  # a path


@attrs.frozen
class Command:
    """One command: its name, the other names it answers to, its help and its flags."""

    name: str
    aliases: tuple[str, ...]
    help: str
    flags: tuple[Flag, ...]
    arguments: tuple[str, ...] = ()  # what its positional argument may be, if it says


def _short(text: str | None) -> str:
    """The first clause of a help text, for a description beside a completion."""
    if not text or text == argparse.SUPPRESS:
        return ""
    first = re.split(r" \(|; |\. ", text, maxsplit=1)[0]
    return " ".join(first.split()).removesuffix(".")


def _flag(action: argparse.Action) -> Flag | None:
    if not action.option_strings or action.help == argparse.SUPPRESS:
        return None
    names = tuple(action.option_strings)
    if action.nargs == 0:
        return Flag(names, _short(action.help))
    kind = action.type
    offered: tuple[str, ...] = ()
    if isinstance(kind, CommaSeparated):
        offered = kind.choices
    elif action.choices is not None:
        offered = tuple(str(choice) for choice in action.choices)
    elif action.metavar == "WHEN":
        offered = WHENS
    return Flag(
        names,
        _short(action.help),
        takes_value=True,
        offered=offered,
        comma_list=isinstance(kind, CommaSeparated),
        files=action.metavar in FILE_METAVARS,
    )


def _flags(parser: argparse.ArgumentParser, *, nested: bool = False) -> tuple[Flag, ...]:
    """The flags of ``parser``; ``nested``, those of its own commands too (``budget check``'s
    ``--config``), each once: completion knows a command by its first word only."""
    actions = parser.actions if isinstance(parser, Parser) else []
    flags = {flag.names: flag for flag in map(_flag, actions) if flag is not None}
    if nested:
        for action in actions:
            if isinstance(action.choices, dict):
                for command in dict.fromkeys(action.choices.values()):
                    flags.update({f.names: f for f in _flags(command, nested=True)})
    return tuple(flags.values())


def _arguments(parser: argparse.ArgumentParser) -> tuple[str, ...]:
    actions = parser.actions if isinstance(parser, Parser) else []
    for action in actions:
        if not action.option_strings and action.choices is not None:
            return tuple(str(choice) for choice in action.choices)
    return ()


def describe(program: Parser) -> tuple[tuple[Flag, ...], tuple[Command, ...]]:
    """The program's own flags and its commands, in ``--help``'s order."""
    parsers: dict[str, argparse.ArgumentParser] = {}
    for action in program.actions:
        if isinstance(action.choices, dict):  # the subcommands, by every name they answer to
            parsers = dict(action.choices)
    names: dict[int, list[str]] = {}
    for name, parser in parsers.items():
        names.setdefault(id(parser), []).append(name)
    commands = []
    for parser in dict.fromkeys(parsers.values()):
        # The name the command is registered under ends its prog ("usage-async costs").
        name = parser.prog.rsplit(" ", 1)[-1]
        aliases = tuple(other for other in names[id(parser)] if other != name)
        summary = parser.summary if isinstance(parser, Parser) else ""
        flags = _flags(parser, nested=True)
        commands.append(Command(name, aliases, _short(summary), flags, _arguments(parser)))
    return _flags(program), tuple(commands)


def script(shell: str, program: Parser) -> str:
    """The completion script of ``program`` for ``shell`` (one of ``SHELLS``)."""
    options, commands = describe(program)
    if shell == "bash":
        return _bash(options, commands)
    if shell == "zsh":
        return _zsh(options, commands)
    if shell == "fish":
        return _fish(options, commands)
    raise ValueError(f"no completion for {shell!r}; choose from {', '.join(SHELLS)}")


# --- bash -------------------------------------------------------------------------------------

_BASH = """\
# usage-async completion for bash. In this shell:  eval "$(usage-async completion bash)"
# In every new one, save it where bash-completion looks for it:
#   usage-async completion bash > ~/.local/share/bash-completion/completions/usage-async
# Generated from usage-async {version}'s parser: generate it again after an upgrade.

_usage_async_offer() {{
    # The words in $1 that complete the word under the cursor; after a comma, its last item.
    local head="" tail="$cur"
    if [[ "$cur" == *,* ]]; then head="${{cur%,*}},"; tail="${{cur##*,}}"; fi
    COMPREPLY=($(compgen -W "$1" -P "$head" -- "$tail"))
}}

_usage_async() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" prev="${{COMP_WORDS[COMP_CWORD-1]}}"
    local command="" flags="" i
    # The command is the first word that is not a flag (the program's flags take no value).
    for ((i = 1; i < COMP_CWORD; i++)); do
        if [[ "${{COMP_WORDS[i]}}" != -* ]]; then command="${{COMP_WORDS[i]}}"; break; fi
    done
    COMPREPLY=()
    case "$command" in
        "")
            if [[ "$cur" == -* ]]; then
                COMPREPLY=($(compgen -W "{options}" -- "$cur"))
            else
                COMPREPLY=($(compgen -W "{commands}" -- "$cur"))
            fi
            return 0 ;;
{cases}
        *) return 0 ;;
    esac
    COMPREPLY=($(compgen -W "$flags" -- "$cur"))
}}

complete -F _usage_async usage-async
"""


def _bash_values(flag: Flag) -> str:
    if flag.files:
        return 'COMPREPLY=($(compgen -f -- "$cur"))'
    if flag.offered:
        return f'_usage_async_offer "{" ".join(flag.offered)}"'
    return ":"  # a value of the user's own: nothing to offer


def _bash_case(command: Command) -> str:
    names = "|".join((command.name, *command.aliases))
    lines = [f"        {names})", '            case "$prev" in']
    for flag in command.flags:
        if flag.takes_value:
            lines.append(
                f"                {'|'.join(flag.names)}) {_bash_values(flag)}; return 0 ;;"
            )
    lines.append("            esac")
    if command.arguments:
        offered = " ".join(command.arguments)
        lines.append(
            f'            [[ "$cur" != -* ]] && {{ _usage_async_offer "{offered}"; return 0; }}'
        )
    every = " ".join(name for flag in command.flags for name in flag.names)
    lines.append(f'            flags="{every}" ;;')
    return "\n".join(lines)


def _version() -> str:
    from .._version import __version__

    return __version__


def _bash(options: Sequence[Flag], commands: Sequence[Command]) -> str:
    return _BASH.format(
        version=_version(),
        options=" ".join(name for flag in options for name in flag.names),
        commands=" ".join(command.name for command in commands),
        cases="\n".join(_bash_case(command) for command in commands),
    )


# --- zsh --------------------------------------------------------------------------------------

_ZSH = """\
#compdef usage-async
# usage-async completion for zsh. In this shell:  source <(usage-async completion zsh)
# In every new one: save it as _usage-async in a directory of $fpath, before compinit runs:
#   usage-async completion zsh > "${{fpath[1]}}/_usage-async"
# Generated from usage-async {version}'s parser: generate it again after an upgrade.

_usage_async() {{
    local curcontext="$curcontext" state line
    typeset -A opt_args
    _arguments -C \\
{options}
        '1: :->command' \\
        '*:: :->argument'
    case $state in
        command)
            local -a commands=(
{commands}
            )
            _describe -t commands 'usage-async command' commands ;;
        argument)
            case $line[1] in
{cases}
            esac ;;
    esac
}}

if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
    _usage_async "$@"
else
    compdef _usage_async usage-async
fi
"""


def _zsh_quoted(text: str) -> str:
    """``text`` inside single quotes, brackets left out (they end a description)."""
    return text.replace("[", "(").replace("]", ")").replace("'", "'\\''")


def _zsh_spec(flag: Flag) -> Iterable[str]:
    about = f"[{_zsh_quoted(flag.help)}]"
    if not flag.takes_value:
        if len(flag.names) == 1:
            yield f"'{flag.names[0]}{about}'"
        else:
            exclusive = " ".join(flag.names)
            yield f"'({exclusive})'{{{','.join(flag.names)}}}'{about}'"
        return
    if flag.files:
        action = "_files"
    elif flag.comma_list:
        action = f"_sequence compadd - {' '.join(flag.offered)}"
    elif flag.offered:
        action = f"({' '.join(flag.offered)})"
    else:
        action = " "
    for name in flag.names:
        # Repeatable, as the filters and lists are; "=" takes --flag=value or --flag value.
        yield f"'*{name}={about}:value:{action}'"


def _zsh(options: Sequence[Flag], commands: Sequence[Command]) -> str:
    top = [f"        {spec} \\" for flag in options for spec in _zsh_spec(flag)]
    listed = [
        f"                '{_zsh_quoted(name)}:{_zsh_quoted(command.help)}'"
        for command in commands
        for name in (command.name, *command.aliases)
    ]
    cases = []
    for command in commands:
        specs = [spec for flag in command.flags for spec in _zsh_spec(flag)]
        if command.arguments:
            specs.append(f"'1:argument:({' '.join(command.arguments)})'")
        body = " \\\n                        ".join(specs)
        names = "|".join((command.name, *command.aliases))
        cases.append(
            f"                ({names})\n                    _arguments \\\n"
            f"                        {body} ;;"
        )
    return _ZSH.format(
        version=_version(),
        options="\n".join(top),
        commands="\n".join(listed),
        cases="\n".join(cases),
    )


# --- fish -------------------------------------------------------------------------------------

_FISH = """\
# usage-async completion for fish. In this shell:  usage-async completion fish | source
# In every new one:  usage-async completion fish > ~/.config/fish/completions/usage-async.fish
# Generated from usage-async {version}'s parser: generate it again after an upgrade.

complete -c usage-async -e
complete -c usage-async -f
{lines}
"""


def _fish_quoted(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _fish_function(command: str, flag: Flag) -> str:
    """The name of the fish function that lists the values of ``command``'s ``flag``."""
    return "__usage_async_" + re.sub(r"\W", "_", f"{command}_{flag.names[-1].lstrip('-')}")


def _fish_flag(flag: Flag, command: str | None) -> str:
    condition = (
        "__fish_use_subcommand" if command is None else f"__fish_seen_subcommand_from {command}"
    )
    parts = ["complete -c usage-async", f"-n {_fish_quoted(condition)}"]
    for name in flag.names:
        parts.append(f"-l {name[2:]}" if name.startswith("--") else f"-s {name[1:]}")
    if flag.takes_value:
        if flag.files:
            parts.append("-r -F")
        elif flag.comma_list and command is not None:
            # Each item of a comma-separated list completes, the last one typed after a comma.
            listed = _fish_function(command, flag)
            parts.append(f"-x -a {_fish_quoted(f'(__fish_complete_list , {listed})')}")
        elif flag.offered:
            parts.append(f"-x -a {_fish_quoted(' '.join(flag.offered))}")
        else:
            parts.append("-x")
    if flag.help:
        parts.append(f"-d {_fish_quoted(flag.help)}")
    return " ".join(parts)


def _fish(options: Sequence[Flag], commands: Sequence[Command]) -> str:
    lines = [_fish_flag(flag, None) for flag in options]
    for command in commands:
        for name in (command.name, *command.aliases):
            about = f" -d {_fish_quoted(command.help)}" if command.help else ""
            lines.append(f"complete -c usage-async -n __fish_use_subcommand -a {name}{about}")
    for command in commands:
        for name in (command.name, *command.aliases):
            if command.arguments:
                seen = _fish_quoted(f"__fish_seen_subcommand_from {name}")
                offered = _fish_quoted(" ".join(command.arguments))
                lines.append(f"complete -c usage-async -n {seen} -a {offered}")
            for flag in command.flags:
                if flag.comma_list:
                    words = " ".join(flag.offered)
                    lines.append(
                        f"function {_fish_function(name, flag)}; printf '%s\\n' {words}; end"
                    )
                lines.append(_fish_flag(flag, name))
    return _FISH.format(version=_version(), lines="\n".join(lines))
