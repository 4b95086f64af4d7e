"""The code examples of the README and of ``docs/``, found with Sybil, and how each one runs.

Each fenced block is run the way a reader would run it, in a folder of its own, against an
emulator (``OPENAI_ADMIN_KEY`` and ``OPENAI_BASE_URL`` point at it):

- ``python``: a test file (it defines ``test_...`` functions) runs with pytest in a fresh
  project whose only configuration is the page's own ``[tool.pytest.ini_options]`` block; a
  web handler (it defines ``make_app``) is served and each of its GET routes must answer 200;
  any other block runs as a script in a child process.
- ``console``: each ``usage-async ...`` command line runs in bash, ``VAR=value`` prefixes
  and redirections included (an ``OPENAI_...=`` prefix is dropped: the emulator's settings
  stand in for it). Lines that install (``pip install``), ``export`` a placeholder key, or
  run another program are not run. ``usage-async emulator`` runs until it says where it
  listens, then gets Ctrl-C. Output shown under a command must be, verbatim, output that
  ``docs/gen_cli.py`` recorded (and ``test_cli_output.py`` checks those recordings).
- ``toml``: must parse; it is configuration, not a program. One whose first line names a
  file (``# budgets.toml``) is that file: the blocks after it on the same page run in a
  folder that holds it.

``sql`` blocks are run by the sync's tests (``tests/sync/``) against SQLite and PostgreSQL.
A block after ``<!-- skip: next "why" -->`` is not run; the reason is required.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
from aiohttp.test_utils import TestClient, TestServer
from sybil import Document
from sybil.parsers.markdown import CodeBlockParser, SkipParser

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
RECORDED = DOCS / "cli"
RUN_LANGUAGES = ("python", "console", "toml")
PYTEST_CONFIG = "[tool.pytest.ini_options]"


def documents() -> list[Path]:
    """The README and every page under ``docs/``."""
    return [README, *sorted(DOCS.rglob("*.md"))]


@attrs.frozen
class Example:
    """One code block: where it is, the heading it sits under, its language and its code."""

    path: Path
    line: int
    heading: str
    language: str
    code: str
    skipped: str | None = None  # why it is not run, from a skip directive
    pytest_config: str | None = None  # the page's pytest configuration, for test files
    files: tuple[tuple[str, str], ...] = ()  # (name, text) of the files the page wrote before

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    @property
    def kind(self) -> str:
        if self.language != "python":
            return self.language
        if re.search(r"^(async )?def test_", self.code, flags=re.MULTILINE):
            return "test file"
        if re.search(r"^def make_app\(", self.code, flags=re.MULTILINE):
            return "web handler"
        return "script"


def heading_before(text: str, position: int) -> str:
    headings = re.findall(r"^#+ (.*)$", text[:position], flags=re.MULTILINE)
    return headings[-1].strip() if headings else ""


def examples(path: Path) -> list[Example]:
    """The code blocks of one page, in order, each marked with why it is skipped, if it is."""
    parsers = [CodeBlockParser(language=language) for language in RUN_LANGUAGES]
    document = Document.parse(str(path), *parsers, SkipParser())
    found: list[Example] = []
    skip_next: str | None = None
    config = None
    files: dict[str, str] = {}
    for sybil_example in document.examples():
        parsed = sybil_example.parsed
        if isinstance(parsed, tuple):  # a skip directive: ("next", '"why"')
            action, reason = parsed
            if action != "next" or not reason:
                raise ValueError(f'{path}:{sybil_example.line}: use <!-- skip: next "why" -->')
            skip_next = reason.strip("\"'")
            continue
        language = str(sybil_example.region.lexemes["arguments"]).strip()
        code = str(parsed)
        if language == "toml" and PYTEST_CONFIG in code:
            config = code
        named = re.match(r"# ([\w.-]+\.toml)\n", code) if language == "toml" else None
        found.append(
            Example(
                path=path,
                line=sybil_example.line,
                heading=heading_before(document.text, sybil_example.start),
                language=language,
                code=code,
                skipped=skip_next,
                pytest_config=config,
                files=tuple(files.items()),
            )
        )
        if named:
            files[named[1]] = code
        skip_next = None
    return found


def all_examples() -> list[Example]:
    return [example for path in documents() for example in examples(path)]


# --- Running them ---------------------------------------------------------------------------


def user_environment(emulator: Any) -> dict[str, str]:
    """A user's environment pointed at ``emulator``: none of the developer's OPENAI_ settings,
    and this venv's ``usage-async`` first on the PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "PYTEST_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(OPENAI_ADMIN_KEY=emulator.api_key, OPENAI_BASE_URL=emulator.base_url)
    return env


def run_script(code: str, folder: Path, env: dict[str, str]) -> str:
    """Run ``code`` as a script in ``folder``; return what it printed. Fails if it fails."""
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def run_test_file(example: Example, folder: Path, env: dict[str, str]) -> str:
    """Run a test-file example with pytest in ``folder``, a project configured only by the
    page's own pytest block; every test in it must pass."""
    assert example.pytest_config, f"{example.name}: no {PYTEST_CONFIG} block before it"
    (folder / "pyproject.toml").write_text(example.pytest_config)
    (folder / "test_example.py").write_text(example.code)
    env = {k: v for k, v in env.items() if not k.startswith("OPENAI_")}  # the fixture serves
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-W", "error", "-p", "no:cacheprovider"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    tests = len(re.findall(r"^(?:async )?def test_", example.code, flags=re.MULTILINE))
    assert f"{tests} passed" in done.stdout, done.stdout
    return done.stdout


async def serve_web_handler(example: Example) -> list[tuple[int, Any]]:
    """Build the example's app (``make_app()``) and GET each of its routes; the status and
    the JSON body of each answer."""
    namespace: dict[str, Any] = {"__name__": "docs_example"}
    exec(compile(example.code, example.name, "exec"), namespace)
    app = namespace["make_app"]()
    paths = [
        route.resource.canonical
        for route in app.router.routes()
        if route.method == "GET" and route.resource is not None
    ]
    assert paths, f"{example.name}: the app has no GET route"
    async with TestClient(TestServer(app)) as http:
        answers = []
        for path in paths:
            response = await http.get(path)
            answers.append((response.status, await response.json()))
    return answers


@attrs.frozen
class Command:
    """A command line of a console block, and the output the page shows under it."""

    line: str
    shown: str

    @property
    def runs(self) -> bool:
        """Whether the test runs it: a ``usage-async`` command (after any VAR=value)."""
        return bool(re.match(r"^(\w+=\S*\s+)*usage-async(\s|$)", self.runnable))

    @property
    def runnable(self) -> str:
        """The line without what the test environment stands in for: installing the package
        (``pip install ... &&``) and the OPENAI_ settings."""
        parts = [
            part
            for part in re.split(r"\s+&&\s+", self.line)
            if not re.match(r"^(python -m )?pip install ", part)
        ]
        text = " && ".join(parts)
        return re.sub(r"(^|\s)OPENAI_\w+=\S+\s+", r"\1", text).strip()

    @property
    def serves(self) -> bool:
        return bool(re.match(r"^usage-async emulator(\s|$)", self.runnable))


def commands(code: str) -> list[Command]:
    """The command lines of a console block. With ``$`` prompts, the other lines are output;
    without, every line is a command."""
    lines = code.replace("\\\n", " ").splitlines()
    prompted = any(line.startswith("$ ") for line in lines)
    found: list[Command] = []
    for line in lines:
        if prompted and not line.startswith("$ "):
            if found:
                found[-1] = Command(found[-1].line, found[-1].shown + line + "\n")
            continue
        command = line.removeprefix("$ ").strip()
        if command and not command.startswith(("#", "export ")):
            found.append(Command(command, ""))
    return found


def recorded_outputs() -> list[str]:
    """What ``docs/gen_cli.py`` recorded: each a command line and its output."""
    return [path.read_text() for path in sorted(RECORDED.glob("*.console"))]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def run_command(command: Command, folder: Path, env: dict[str, str]) -> None:
    """Run one console command line in bash; it must succeed (an emulator: listen, then stop
    with exit code 130 at Ctrl-C)."""
    line = command.runnable
    if command.serves:  # on a free port, not the one the page names
        line = re.sub(r"\s--port\s+\d+", "", line) + f" --port {free_port()}"
        child = subprocess.Popen(
            ["bash", "-c", f"exec {line}"],
            cwd=folder,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        listening = child.stdout.readline()
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=30)
        assert "listening on http://" in listening, err
        assert child.returncode == 130, err
        return
    done = subprocess.run(
        ["bash", "-c", line],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, f"{line}\n{done.stderr}"


def run_console(example: Example, folder: Path, env: dict[str, str]) -> list[Command]:
    """Run a console block's ``usage-async`` lines in order; return the ones it ran."""
    ran = [command for command in commands(example.code) if command.runs]
    for command in ran:
        run_command(command, folder, env)
    return ran


def check_shown_output(example: Example) -> None:
    """Output a console block shows under a command is output recorded from that command."""
    recorded = recorded_outputs()
    for command in commands(example.code):
        if command.shown:
            text = f"$ {command.line}\n{command.shown}"
            assert any(text in output for output in recorded), (
                f"{example.name}: the output shown for `{command.line}` is not what it printed "
                "when docs/gen_cli.py last ran it; copy it from docs/cli/"
            )


def run(example: Example, folder: Path, env: dict[str, str]) -> None:
    """Run ``example`` once in ``folder``, the way its kind runs."""
    for name, text in example.files:
        (folder / name).write_text(text)
    kind = example.kind
    if kind == "script":
        run_script(example.code, folder, env)
    elif kind == "test file":
        run_test_file(example, folder, env)
    elif kind == "web handler":
        answers = asyncio.run(serve_web_handler(example))
        assert {status for status, _ in answers} == {200}, answers
    elif kind == "console":
        check_shown_output(example)
        run_console(example, folder, env)
    elif kind == "toml":
        tomllib.loads(example.code)
    else:
        raise AssertionError(f"{example.name}: no way to run a {kind!r} block")


def runnable_examples() -> Iterator[Example]:
    for example in all_examples():
        if example.skipped is None:
            yield example
