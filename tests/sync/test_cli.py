"""``usage-async sync`` as a user runs it: exit codes, messages, several organizations."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

import usage_async as ua
from usage_async.emulator import ORGANIZATION, Emulator, serve

from ..cli.test_the_key import LONG_KEY, RETRIES, echo_server, pieces_of_the_key
from .conftest import (
    DAY,
    NOW,
    api_rows,
    cli_command,
    cli_env,
    client_for,
    iso,
    plain,
    snapshot,
    table_as_api_rows,
    table_rows,
)
from .revising_server import serve_revising

SINCE_ISO = iso(NOW - 3 * DAY)


async def usage_async(env: dict[str, str], *argv: str) -> tuple[int, str, str]:
    """Run ``usage-async ARGV...`` in a child process; its exit code, stdout and stderr."""
    process = await asyncio.create_subprocess_exec(
        *cli_command(*argv),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_one_command_fills_the_tables_a_library_sync_fills(
    emulator: Emulator, database: str
) -> None:
    code, out, err = await usage_async(
        cli_env(emulator), "sync", database, "--since", SINCE_ISO, "--group-by", "model",
        "--endpoint", "completions", "--endpoint", "costs,images", "--source", "acme",
    )  # fmt: skip
    assert code == 0, err
    assert out == ""
    (line,) = err.splitlines()
    assert "sync acme:" in line
    assert "into 3 tables" in line
    assert "current to 2026-03-10T13:25:07Z" in line
    async with client_for(emulator) as client:
        await ua.sync(
            client,
            database,
            since=NOW - 3 * DAY,
            endpoints=["completions", "costs", "images"],
            group_by=["model"],
            source="acme",
            prefix="lib_",
        )
    by_cli = await snapshot(database)
    by_library = await snapshot(database, prefix="lib_")
    for name in ("completions", "costs", "images", "sync_state"):
        assert by_cli[name] == by_library[f"lib_{name}"], name


async def test_a_changed_grouping_exits_2_saying_how_to_rebuild(
    emulator: Emulator, database: str
) -> None:
    env = cli_env(emulator)
    code, _, err = await usage_async(env, "sync", database, "--endpoint", "embeddings")
    assert code == 0, err
    before = await snapshot(database)
    code, _, err = await usage_async(
        env, "sync", database, "--endpoint", "embeddings", "--group-by", "model"
    )
    assert code == 2
    assert "Traceback" not in err
    assert "embeddings is grouped by project_id, user_id, api_key_id, model" in err
    assert "DROP TABLE embeddings;" in err
    assert "--prefix" in err
    assert await snapshot(database) == before


async def test_a_failing_endpoint_exits_1_naming_it_after_the_others_commit(
    sqlite_database: str,
) -> None:
    now = NOW
    async with serve_revising(now) as server:
        server.usage[(now - now % 3600, "gpt-4o", "proj_a")] = 5
        server.failing.add("costs")
        code, _, err = await usage_async(
            cli_env(server), "sync", sqlite_database, "--endpoint", "completions,costs"
        )
    assert code == 1
    assert "FAILED: costs: BadRequestError" in err
    assert "costs is failing on purpose" in err
    assert len(await table_rows(sqlite_database, "completions")) == 1
    assert [r["endpoint"] for r in await table_rows(sqlite_database, "sync_state")] == [
        "completions"
    ]


async def test_a_config_syncs_several_organizations_into_one_database(
    database: str, tmp_path: Path
) -> None:
    key_file = tmp_path / "globex.key"
    async with (
        serve(port=0, now=lambda: NOW, seed=1, api_key="sk-admin-acme") as acme,
        serve(port=0, now=lambda: NOW, seed=2, api_key="sk-admin-globex") as globex,
    ):
        key_file.write_text(globex.api_key + "\n")
        config = tmp_path / "sync.toml"
        config.write_text(
            f'database = "{database}"\n'
            "max_in_flight = 4\n"
            "[defaults]\n"
            'endpoints = ["costs", "completions"]\n'
            'group_by = ["project_id", "line_item"]\n'
            'since = "3d"\n'
            "[sources.acme]\n"
            'api_key_env = "ACME_KEY"\n'
            f'base_url = "{acme.base_url}"\n'
            "[sources.globex]\n"
            f'api_key_file = "{key_file}"\n'
            f'base_url = "{globex.base_url}"\n'
            'settle = { default = "1d", costs = "3d" }\n'
        )
        code, _, err = await usage_async(
            cli_env(acme, ACME_KEY=acme.api_key), "sync", "--config", str(config)
        )
        assert code == 0, err
        assert "sync acme:" in err
        assert "sync globex:" in err
        for source, emu in (("acme", acme), ("globex", globex)):
            start = NOW - 3 * DAY
            async with client_for(emu) as client:
                costs = await ua.totals(client.costs(start_time=start - start % DAY))
                completions = await api_rows(
                    client,
                    "completions",
                    start_time=start - start % 3600,
                    end_time=NOW,
                    bucket_width="1h",
                    group_by=["project_id"],
                )
            rows = await table_rows(database, "costs", f"WHERE source = '{source}'")
            assert sum(Decimal(str(r["amount"])) for r in rows) == costs[("usd",)]["amount"]
            where = f"WHERE source = '{source}'"
            assert await table_as_api_rows(database, "completions", where) == completions
    acme_totals = await table_rows(database, "costs", "WHERE source = 'acme'")
    globex_totals = await table_rows(database, "costs", "WHERE source = 'globex'")
    assert acme_totals != globex_totals
    states = await table_rows(database, "sync_state", "ORDER BY source, endpoint")
    assert [(s["source"], s["endpoint"]) for s in states] == [
        ("acme", "completions"),
        ("acme", "costs"),
        ("globex", "completions"),
        ("globex", "costs"),
    ]


async def test_command_line_settings_win_over_the_config(
    emulator: Emulator, database: str, tmp_path: Path
) -> None:
    config = tmp_path / "sync.toml"
    config.write_text(
        "[defaults]\n"
        'endpoints = ["costs", "completions"]\n'
        'since = "30d"\n'
        "[sources.acme]\n"
        'api_key_env = "ACME_KEY"\n'
        f'base_url = "{emulator.base_url}"\n'
        'endpoints = ["images"]\n'
    )
    env = cli_env(emulator, ACME_KEY=emulator.api_key)
    code, _, err = await usage_async(
        env, "sync", database, "--config", str(config), "--endpoint", "costs",
        "--since", SINCE_ISO,
    )  # fmt: skip
    assert code == 0, err
    [state] = await table_rows(database, "sync_state")
    assert (state["source"], state["endpoint"]) == ("acme", "costs")
    starts = [plain(row["start_time"]) for row in await table_rows(database, "costs")]
    since = NOW - 3 * DAY  # --since, not the file's 30 days
    assert min(starts) == iso(since - since % DAY)


@pytest.mark.parametrize("flag", ["--source", "--base-url", "--api-key-file"])
async def test_flags_for_one_organization_are_refused_with_a_config(
    emulator: Emulator, tmp_path: Path, flag: str
) -> None:
    config = tmp_path / "sync.toml"
    config.write_text(
        f'[sources.acme]\napi_key_env = "ACME_KEY"\nbase_url = "{emulator.base_url}"\n'
    )
    database = f"sqlite:///{tmp_path}/x.db"
    env = cli_env(emulator, ACME_KEY=emulator.api_key)
    code, _, err = await usage_async(
        env, "sync", database, "--config", str(config), flag, str(tmp_path / "value")
    )
    assert code == 2
    assert f"{flag} is for a single organization" in err
    assert not (tmp_path / "x.db").exists()


@pytest.mark.parametrize(
    ("setting", "complaint"),
    [
        ('api_key = "sk-admin-SECRET"', "api_key is refused"),
        ('api_key_env = "sk-admin-SECRET"', "looks like a key"),
        ('token = "sk-admin-SECRET"', "token is refused"),
    ],
)
async def test_a_key_written_into_the_config_is_refused_without_echoing_it(
    tmp_path: Path, setting: str, complaint: str
) -> None:
    config = tmp_path / "sync.toml"
    config.write_text(f"[sources.acme]\n{setting}\n")
    code, out, err = await usage_async(
        {"PATH": "/usr/bin:/bin"}, "sync", f"sqlite:///{tmp_path}/x.db", "--config", str(config)
    )
    assert code == 2
    assert complaint in err
    assert "SECRET" not in out + err
    assert not (tmp_path / "x.db").exists()


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (["mysql://db/usage"], "give a sqlite:/// or postgresql:// URL"),
        (["--every", "0s"], "must be at least 1s"),
        (["--settle", "two days"], "is not a duration"),
        (["--settle", "2D"], "is not a duration"),
        (["--endpoint", "chat"], "unknown value 'chat'"),
        (["--endpoint", "costs,"], "empty value"),
        (["--since", "last tuesday"], "is not a WHEN"),
        (["--since", "1d12h"], "is not a WHEN"),  # as --start 1d12h elsewhere
        (["--since", "2026-01-01T00:00:00.5"], "fraction of a second"),
        (["--concurrency", "0"], "must be at least 1"),
    ],
)
async def test_bad_arguments_exit_2_with_a_message(
    emulator: Emulator, tmp_path: Path, argv: list[str], complaint: str
) -> None:
    args = argv if argv[0].startswith("mysql") else [f"sqlite:///{tmp_path}/x.db", *argv]
    code, _, err = await usage_async(cli_env(emulator), "sync", *args)
    assert code == 2
    assert complaint in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://usage:s3cret-pass@db.example:notaport/usage",  # a port SQLAlchemy rejects
        "postgres ql://usage:s3cret-pass@db.example/usage",  # no URL at all
        "postgresql://usage:s3cret@pass@db.example:x/usage",  # an @ in the password
    ],
)
async def test_a_database_url_that_cannot_be_read_exits_2_without_its_password(
    emulator: Emulator, url: str
) -> None:
    code, out, err = await usage_async(cli_env(emulator), "sync", url)
    assert code == 2
    assert "is not a database URL" in err
    assert "usage:***@db.example" in err  # the user sees which URL, less the password
    assert "s3cret" not in out + err
    assert "Traceback" not in err


async def test_since_takes_every_when_the_other_commands_take(
    emulator: Emulator, sqlite_database: str
) -> None:
    env = cli_env(emulator)
    code, _, err = await usage_async(
        env, "sync", sqlite_database, "--since", "now", "--endpoint", "costs"
    )
    assert code == 0, err
    today = NOW - NOW % DAY
    starts = {plain(row["start_time"]) for row in await table_rows(sqlite_database, "costs")}
    assert starts == {iso(today)}  # today's bucket only


async def test_without_a_key_sync_exits_2(tmp_path: Path) -> None:
    code, _, err = await usage_async({"PATH": "/usr/bin:/bin"}, "sync", f"sqlite:///{tmp_path}/x")
    assert code == 2
    assert "OPENAI_ADMIN_KEY" in err


async def test_no_piece_of_any_sources_key_reaches_stderr_whatever_the_servers_echo(
    sqlite_database: str, tmp_path: Path
) -> None:
    # Two organizations, each behind a server that answers 502 with the Authorization header
    # it got, cut at 60 characters: every retry is a warning quoting a piece of that key.
    other_key = "sk-admin-" + LONG_KEY[9:][::-1]
    async with (
        echo_server("retried-text", 60) as acme,
        echo_server("retried-text", 60) as globex,
    ):
        config = tmp_path / "sync.toml"
        config.write_text(
            "[defaults]\n"
            'endpoints = ["costs"]\n'
            "[sources.acme]\n"
            'api_key_env = "ACME_KEY"\n'
            f'base_url = "{acme.base_url}"\n'
            "[sources.globex]\n"
            'api_key_env = "GLOBEX_KEY"\n'
            f'base_url = "{globex.base_url}"\n'
        )
        env = {"PATH": "/usr/bin:/bin", "ACME_KEY": LONG_KEY, "GLOBEX_KEY": other_key}
        code, out, err = await usage_async(env, "sync", sqlite_database, "--config", str(config))
    assert acme.authorizations[0] == f"Bearer {LONG_KEY}"
    assert globex.authorizations[0] == f"Bearer {other_key}"
    assert code == 1
    assert out == ""
    assert pieces_of_the_key(err) == []
    assert pieces_of_the_key(err[::-1]) == []  # other_key's run backwards are LONG_KEY's
    lines = err.splitlines()
    assert all(line.startswith("usage-async: ") for line in lines), err
    warnings = [line for line in lines if line.startswith("usage-async: warning: ")]
    assert len(warnings) >= 2 * RETRIES  # each server's retries said, once each
    assert "<redacted>" in err
    assert "sync acme: FAILED" in err
    assert "sync globex: FAILED" in err


async def test_a_refused_source_in_a_config_still_lets_the_others_say_what_they_did(
    sqlite_database: str, tmp_path: Path
) -> None:
    async with (
        serve(port=0, now=lambda: NOW, seed=1, api_key="sk-admin-acme") as acme,
        serve(port=0, now=lambda: NOW, seed=2, api_key="sk-admin-globex") as globex,
    ):
        config = tmp_path / "sync.toml"

        def write(globex_grouping: str) -> None:
            config.write_text(
                '[defaults]\nendpoints = ["embeddings"]\nsince = "1d"\n'
                # globex first: its refusal must not silence the sources after it
                f'[sources.globex]\napi_key_env = "GLOBEX_KEY"\nbase_url = "{globex.base_url}"\n'
                f'prefix = "globex_"\ngroup_by = {globex_grouping}\n'
                f'[sources.acme]\napi_key_env = "ACME_KEY"\nbase_url = "{acme.base_url}"\n'
            )

        env = {**cli_env(acme), "ACME_KEY": acme.api_key, "GLOBEX_KEY": globex.api_key}
        write('["project_id", "model"]')
        code, _, err = await usage_async(env, "sync", sqlite_database, "--config", str(config))
        assert code == 0, err
        write('["model"]')  # globex regrouped: refused; acme goes on
        code, _, err = await usage_async(env, "sync", sqlite_database, "--config", str(config))
    assert code == 2
    lines = err.splitlines()
    assert any("sync acme:" in line and "rows into 1 tables" in line for line in lines), err
    assert "source globex: " in lines[-1]
    assert "embeddings is grouped by" in lines[-1]
    assert "Traceback" not in err


@pytest.mark.parametrize("where", ["flag", "config"])
async def test_directory_max_age_from_the_flag_or_sync_toml_reaches_the_run(
    emulator: Emulator, database: str, tmp_path: Path, where: str
) -> None:
    env = cli_env(emulator)
    argv = ["sync", database, "--since", SINCE_ISO, "--endpoint", "costs"]
    assert (await usage_async(env, *argv))[0] == 0  # every project's keys listed once
    if where == "flag":
        again = [*argv, "--directory-max-age", "0"]
    else:
        config = tmp_path / "sync.toml"
        config.write_text(
            '[defaults]\ndirectory_max_age = "0"\n\n'
            '[sources.default]\napi_key_env = "OPENAI_ADMIN_KEY"\n'
        )
        again = ["sync", database, "--since", SINCE_ISO, "--endpoint", "costs"]
        again += ["--config", str(config)]
    before = emulator.stats.by_endpoint.get("project_api_keys", 0)
    code, _, err = await usage_async(env, *again)
    assert code == 0, err
    # A max age of 0: every list is old, so every project's keys are listed again (the
    # default, 24h, lists none on a second run: tests/sync/test_directory_by_need.py).
    listed = emulator.stats.by_endpoint.get("project_api_keys", 0) - before
    assert listed == len(ORGANIZATION.projects)
