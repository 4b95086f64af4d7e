"""``sync.toml``: a source's own settle, width and grouping are what its tables get."""

from __future__ import annotations

from pathlib import Path

import pytest

import usage_async as ua
from usage_async.emulator import Emulator
from usage_async.sync import ConfigError, load_config

from .conftest import DAY, NOW, client_for, iso, plain, table_rows

HOUR = 3600


async def test_a_sources_own_settings_override_the_defaults_and_reach_its_tables(
    emulator: Emulator, sqlite_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "sync.toml"
    config.write_text(
        "[defaults]\n"
        'endpoints = ["completions", "costs"]\n'
        'group_by = ["project_id"]\n'
        'settle = "2d"\n'
        'since = "5d"\n'
        "[sources.acme]\n"
        'api_key_env = "ACME_KEY"\n'
        "[sources.globex]\n"
        'api_key_env = "ACME_KEY"\n'
        'prefix = "globex_"\n'
        'bucket_width = "1d"\n'
        'group_by = { completions = ["model"] }\n'
        'settle = { default = "6h", costs = "3d" }\n'
    )
    monkeypatch.setenv("ACME_KEY", emulator.api_key)
    sources = {source.name: source for source in load_config(config).sources}
    async with client_for(emulator) as client:
        for source in sources.values():
            await ua.sync(client, sqlite_database, directory=False, **source.sync_options())
    state = {
        (row["source"], row["endpoint"]): row
        for table in ("sync_state", "globex_sync_state")
        for row in await table_rows(sqlite_database, table)
    }
    two_days = NOW - 2 * DAY
    assert plain(state["acme", "completions"]["settled_until"]) == iso(two_days - two_days % HOUR)
    assert state["acme", "completions"]["group_by"] == "project_id"
    assert state["acme", "completions"]["bucket_width"] == "1h"
    six_hours = NOW - 6 * HOUR
    assert plain(state["globex", "completions"]["settled_until"]) == iso(
        six_hours - six_hours % DAY
    )
    assert state["globex", "completions"]["group_by"] == "model"
    assert state["globex", "completions"]["bucket_width"] == "1d"
    three_days = NOW - 3 * DAY
    assert plain(state["globex", "costs"]["settled_until"]) == iso(three_days - three_days % DAY)
    # A mapping of groupings names some endpoints; the others get every field they offer.
    assert state["globex", "costs"]["group_by"] == ",".join(ua.ENDPOINTS["costs"].group_by)


def test_a_sources_key_file_gives_its_key_or_a_config_error_naming_the_source(
    tmp_path: Path,
) -> None:
    key, empty = tmp_path / "key", tmp_path / "empty"
    key.write_text("sk-admin-acme-key\n")
    empty.write_text("\nsk-admin-on-line-two\n")
    config = tmp_path / "sync.toml"
    config.write_text(f'[sources.acme]\napi_key_file = "{key}"\n')
    assert load_config(config).sources[0].api_key == "sk-admin-acme-key"
    for path, complaint in ((empty, "is empty"), (tmp_path / "missing", "cannot read")):
        config.write_text(f'[sources.acme]\napi_key_file = "{path}"\n')
        with pytest.raises(ConfigError, match="acme") as refused:
            load_config(config)
        assert complaint in str(refused.value)
        assert "sk-admin-on-line-two" not in str(refused.value)


@pytest.mark.parametrize(
    ("line", "wait"), [("", True), ("wait = true\n", True), ("wait = false\n", False)]
)
def test_wait_is_true_unless_the_file_says_false(tmp_path: Path, line: str, wait: bool) -> None:
    config = tmp_path / "sync.toml"
    config.write_text(f'{line}[sources.acme]\napi_key_env = "HOME"\n')
    assert load_config(config).wait is wait


def test_a_wait_that_is_not_true_or_false_is_a_config_error(tmp_path: Path) -> None:
    config = tmp_path / "sync.toml"
    config.write_text('wait = "no"\n[sources.acme]\napi_key_env = "HOME"\n')
    with pytest.raises(ConfigError, match="wait must be true or false"):
        load_config(config)
