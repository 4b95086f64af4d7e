"""Write what the command-line page shows each command printing: ``docs/cli/NAME.console``.

Each command in ``SHOWN`` runs as a user would run it, the installed ``usage-async`` script on
a terminal 80 columns wide, against the embedded emulator (seed 0, its clock pinned so that
even a sync reads the same data every time), in a fresh folder. The file holds the command
line and what it printed, stdout then stderr; ``docs/cli.md`` includes it.

Run it after changing what the command line prints::

    python docs/gen_cli.py

``tests/docs/test_cli_output.py`` runs the same commands and fails when a file is not what
the command prints today, so the page cannot drift from the program.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import pty
import re
import shlex
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FOLDER = Path(__file__).resolve().parent / "cli"
COLUMNS = 80
# 2026-12-01T12:00:00Z: where the emulator's clock stands, so a run that reads "up to now"
# (sync) reads the same buckets on every run of this script.
CLOCK = 1_796_126_400
# The emulator command's own default port, shown in place of the free one it was run on.
EMULATOR_PORT = 8089

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
# What differs between two runs of the same command: the time a sync stamps its line with
# and how long it took.
VOLATILE = (
    (re.compile(r"^(usage-async: )\d{4}-\d\d-\d\dT[\d:]+Z ", re.MULTILINE), r"\1<time> "),
    (re.compile(r"\b\d+(\.\d+)? s\b"), "<seconds> s"),
)


@dataclass(frozen=True)
class Shown:
    """A command the page shows with its output, in ``docs/cli/{name}.console``.

    ``argv`` follows ``usage-async``. ``serves`` marks a command that runs until Ctrl-C: it
    is stopped once it has said where it listens. ``files`` (name, text) are written into
    the folder and the ``before`` commands run there first, unrecorded, with ``env`` on top
    of the environment (a budget check needs a synced database, its config and the
    variables the config names). ``exit_code`` is the one it is documented to exit with.
    """

    name: str
    argv: tuple[str, ...]
    serves: bool = False
    files: tuple[tuple[str, str], ...] = ()
    before: tuple[tuple[str, ...], ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    exit_code: int = 0

    @property
    def path(self) -> Path:
        return FOLDER / f"{self.name}.console"

    @property
    def command_line(self) -> str:
        return shlex.join(["usage-async", *self.argv])


NOVEMBER = ("--start", "2026-11-01", "--end", "2026-11-03")


def page_file(page: str, name: str) -> str:
    """The code block of ``docs/PAGE`` whose first line is the comment ``# NAME``: a file the
    page shows, used as it stands (so the page and the recording cannot differ)."""
    text = (Path(__file__).resolve().parent / page).read_text()
    for block in re.findall(r"^```\w*\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE):
        if block.startswith(f"# {name}\n"):
            return str(block)
    raise LookupError(f"docs/{page} has no block starting with '# {name}'")


# What the budgets page's receivers are: placeholders, since a dry run sends nothing.
RECEIVERS = (
    ("SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXXXXXX"),
    ("BUDGET_WEBHOOK_URL", "https://finops.example.com/hooks/usage-async"),
    ("BUDGET_WEBHOOK_SECRET", "placeholder-signing-secret"),
)

SHOWN = (
    Shown("help", ("--help",)),
    Shown("completions", ("completions", *NOVEMBER, "--group-by", "project_id")),
    Shown("costs", ("costs", *NOVEMBER, "--group-by", "project_id")),
    Shown("costs-csv", ("costs", *NOVEMBER, "--group-by", "project_id", "--format", "csv")),
    Shown("audio_speeches", ("audio_speeches", *NOVEMBER, "--group-by", "model")),
    Shown("audio_transcriptions", ("audio_transcriptions", *NOVEMBER, "--group-by", "model")),
    Shown("code_interpreter_sessions", ("code_interpreter_sessions", *NOVEMBER)),
    Shown("decisions", ("decisions", *NOVEMBER, "--group-by", "model")),
    Shown("embeddings", ("embeddings", *NOVEMBER, "--group-by", "model")),
    Shown("file_search_calls", ("file_search_calls", *NOVEMBER)),
    Shown("images", ("images", *NOVEMBER, "--group-by", "model")),
    Shown("moderations", ("moderations", *NOVEMBER, "--group-by", "model")),
    Shown("vector_stores", ("vector_stores", *NOVEMBER)),
    Shown("web_search_calls", ("web_search_calls", *NOVEMBER, "--group-by", "context_level")),
    Shown("report", ("report", "--start", "2026-11-01", "--end", "2026-11-08")),
    Shown("projects", ("projects", "--include-archived")),
    Shown("users", ("users",)),
    Shown("api-keys", ("api-keys",)),
    Shown("service-accounts", ("service-accounts",)),
    Shown("focus", ("focus", "--start", "2026-11-01", "--end", "2026-12-01", "--output", "focus/")),
    Shown("sync", ("sync", "--since", "2026-11-01", "--bucket-width", "1d")),
    Shown("sync-describe", ("sync", "--describe")),
    Shown(
        "grafana",
        ("grafana", "--output", "provisioning", "postgresql://grafana@db:5432/usage"),
    ),
    Shown("emulator", ("emulator",), serves=True),
    Shown(
        "budget-check",
        ("budget", "check", "--config", "budgets.toml", "--dry-run"),
        files=(("budgets.toml", page_file("budgets.md", "budgets.toml")),),
        before=(("sync", "--endpoint", "costs", "--since", "2026-10-01"),),
        env=RECEIVERS,
        exit_code=3,  # a budget past a threshold, as the page explains
    ),
    Shown("completion", ("completion", "--help")),
)


def script() -> str:
    """The ``usage-async`` console script of this Python's environment."""
    path = Path(sys.executable).with_name("usage-async")
    if not path.exists():
        raise SystemExit(f"no usage-async script beside {sys.executable}: pip install -e .")
    return str(path)


@contextlib.contextmanager
def emulator(clock: float | None = CLOCK) -> Iterator[Any]:
    """An emulator served from a background thread for the ``with``: seed 0, its clock
    pinned at ``clock`` (None: the real time)."""
    from usage_async.emulator import serve

    started = threading.Event()
    state: dict[str, Any] = {}
    now = None if clock is None else lambda: clock

    async def serve_until_stopped() -> None:
        async with serve(port=0, seed=0, now=now) as running:
            state.update(running=running, loop=asyncio.get_running_loop(), stop=asyncio.Event())
            started.set()
            await state["stop"].wait()

    def run() -> None:
        try:
            asyncio.run(serve_until_stopped())
        finally:
            started.set()

    thread = threading.Thread(target=run, name="docs-emulator", daemon=True)
    thread.start()
    started.wait(timeout=30)
    if "running" not in state:
        raise RuntimeError("the emulator did not start")
    try:
        yield state["running"]
    finally:
        state["loop"].call_soon_threadsafe(state["stop"].set)
        thread.join(timeout=10)


def environment(served: Any) -> dict[str, str]:
    """A user's environment pointed at ``served``, on an 80-column terminal."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "NO_COLOR"))}
    env.update(
        OPENAI_ADMIN_KEY=served.api_key,
        OPENAI_BASE_URL=served.base_url,
        COLUMNS=str(COLUMNS),
        LINES="50",
        TERM="xterm-256color",
    )
    return env


def on_terminal(argv: list[str], env: dict[str, str], cwd: str) -> tuple[int, str, str]:
    """Run ``argv`` with stdout on a pseudo-terminal ``COLUMNS`` wide; return its exit code,
    what it showed there (colours removed) and its stderr."""
    reader, writer = pty.openpty()
    fcntl.ioctl(writer, termios.TIOCSWINSZ, struct.pack("HHHH", 50, COLUMNS, 0, 0))
    child = subprocess.Popen(
        argv, stdout=writer, stderr=subprocess.PIPE, env=env, cwd=cwd, close_fds=True
    )
    os.close(writer)
    chunks = []
    while True:
        try:
            chunk = os.read(reader, 65536)
        except OSError:  # EIO: the child closed the terminal's other side
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(reader)
    err = child.stderr.read().decode() if child.stderr else ""
    code = child.wait(timeout=120)
    shown = ANSI.sub("", b"".join(chunks).decode()).replace("\r\n", "\n")
    return code, shown, err


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def until_interrupted(argv: list[str], env: dict[str, str], cwd: str) -> tuple[int, str, str]:
    """Run a command that serves until Ctrl-C: once it says it is listening, interrupt it as
    Ctrl-C would, and return all it said."""
    child = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=cwd, text=True
    )
    assert child.stdout is not None
    listening = child.stdout.readline()
    child.send_signal(signal.SIGINT)
    # Read through the same buffered file: the rest of its first print is already in it.
    out = child.stdout.read()
    err = child.stderr.read() if child.stderr else ""
    return child.wait(timeout=30), listening + out, err


def run(shown: Shown, served: Any) -> str:
    """What ``shown`` prints today, as the page shows it: the command line, then its output.

    Raises ``RuntimeError`` if the command fails.
    """
    env = {**environment(served), **dict(shown.env)}
    with tempfile.TemporaryDirectory() as folder:
        for name, text in shown.files:
            Path(folder, name).write_text(text)
        for argv in shown.before:
            subprocess.run([script(), *argv], env=env, cwd=folder, capture_output=True, check=True)
        if shown.serves:
            port = str(free_port())
            argv = [script(), *shown.argv, "--port", port]
            code, out, err = until_interrupted(argv, env, folder)
            out = out.replace(f":{port}/", f":{EMULATOR_PORT}/")
            expected = 130  # interrupted, as documented
        else:
            code, out, err = on_terminal([script(), *shown.argv], env, folder)
            expected = shown.exit_code
    if code != expected:
        raise RuntimeError(f"{shown.command_line} exited {code}:\n{err}")
    # The emulator's free port would differ on every run: show the one a user's would have.
    output = (out + err).replace(served.base_url, f"http://127.0.0.1:{EMULATOR_PORT}/v1")
    text = "\n".join(line.rstrip() for line in output.strip("\n").splitlines())
    return f"$ {shown.command_line}\n{text}\n"


def comparable(text: str) -> str:
    """``text`` with what differs between two runs of one command (a sync's time stamp and
    duration) replaced by placeholders."""
    for pattern, placeholder in VOLATILE:
        text = pattern.sub(placeholder, text)
    return text


def main() -> None:
    FOLDER.mkdir(exist_ok=True)
    with emulator() as served:
        for shown in SHOWN:
            shown.path.write_text(run(shown, served))
            print(shown.path)


if __name__ == "__main__":
    main()
