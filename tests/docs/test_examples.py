"""Every code example of the README and the docs runs, twice in the same folder.

How each kind of block runs is in ``examples.py``. Running each twice in one folder is what
a reader does (an example that writes ``usage.db`` or ``focus/`` must not refuse its own
output the second time).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from usage_async.emulator import Emulator

from .examples import Example, all_examples, run, runnable_examples, user_environment


@pytest.mark.parametrize("example", list(runnable_examples()), ids=lambda e: e.name)
def test_the_example_runs_twice_in_the_same_folder(
    example: Example, emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = user_environment(emulator)
    for name in ("OPENAI_ORG_ID", "OPENAI_PROJECT_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_ADMIN_KEY", emulator.api_key)  # for the in-process web handler
    monkeypatch.setenv("OPENAI_BASE_URL", emulator.base_url)
    run(example, tmp_path, env)
    run(example, tmp_path, env)


def test_every_page_has_examples_of_the_kinds_the_runner_knows() -> None:
    examples = all_examples()
    kinds = {e.kind for e in examples if e.skipped is None}
    assert kinds == {"script", "test file", "web handler", "console", "toml"}
    scripts = [e for e in examples if e.kind == "script"]
    assert len(scripts) >= 8
    for example in examples:  # each runs as it stands: no "..." bodies, no top-level await
        if example.language == "python":
            compile(example.code, example.name, "exec")
            assert "\n    ...\n" not in example.code, example.name


def test_few_examples_are_left_out_and_each_says_why() -> None:
    skipped = [e for e in all_examples() if e.skipped is not None]
    assert len(skipped) <= 3, [e.name for e in skipped]
    assert all(len(e.skipped or "") > 20 for e in skipped)
