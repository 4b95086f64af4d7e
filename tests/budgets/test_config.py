"""budgets.toml: what loads, and errors that name the file, the line and the key."""

from __future__ import annotations

import itertools
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from usage_async.budgets import (
    AnomalyRule,
    Budget,
    BudgetConfig,
    BudgetConfigError,
    Receiver,
    _config,
    load_budgets,
)

SLACK_URL = "https://hooks.slack.example/services/T000/B000/SECRETSLACKTOKEN"
HOOK_URL = "https://finops.example.com/budget-hook?token=SECRETHOOKTOKEN"
HOOK_SECRET = "whsec-SECRETSIGNINGKEY"
ENV = {
    "SLACK_WEBHOOK_URL": SLACK_URL,
    "BUDGET_WEBHOOK_URL": HOOK_URL,
    "BUDGET_WEBHOOK_SECRET": HOOK_SECRET,
}


def documented_example() -> str:
    """The ``budgets.toml`` that ``_config``'s docstring shows: the test loads what a user
    reads, so the documented example cannot rot."""
    after = (_config.__doc__ or "").split("::\n\n", 1)[1]
    block = itertools.takewhile(lambda line: not line or line.startswith(" "), after.splitlines())
    return textwrap.dedent("\n".join(block)).strip("\n") + "\n"


# The documented example, and a second budget with its defaults (lines 27-30).
EXAMPLE = documented_example() + '\n[[budget]]\nname = "org-daily"\namount = 40\nperiod = "day"\n'


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "budgets.toml"
    path.write_text(text)
    return path


def error_of(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> BudgetConfigError:
    path = write(tmp_path, text)
    with pytest.raises(BudgetConfigError) as caught:
        load_budgets(path, environ=ENV if env is None else env)
    return caught.value


def test_the_documented_example_loads_with_exact_amounts_and_its_secrets_from_the_environment(
    tmp_path: Path,
) -> None:
    config = load_budgets(write(tmp_path, EXAMPLE), environ=ENV)
    alpha, daily = config.budgets
    assert alpha == Budget(
        name="alpha-monthly",
        amount=Decimal("500.00"),
        currency="usd",
        period="month",
        project="proj_alpha",
        line_item="gpt-4o, input",
        source="default",
        thresholds=(Decimal("0.5"), Decimal("0.8"), Decimal("1")),
        forecast=True,
        notify=("team-slack", "finops"),
    )
    assert daily.amount == Decimal(40)
    assert daily.thresholds == (Decimal("0.8"), Decimal("1"))
    assert daily.project is None
    assert daily.notify == ()
    assert config.receivers["team-slack"] == Receiver("team-slack", "slack", SLACK_URL)
    assert config.receivers["finops"].secret == HOOK_SECRET
    assert config.receivers["finops"].host == "finops.example.com"
    assert config.anomaly == AnomalyRule(("finops",), 28, Decimal("1.00"))


def test_no_url_or_secret_appears_in_the_configs_repr(tmp_path: Path) -> None:
    shown = repr(load_budgets(write(tmp_path, EXAMPLE), environ=ENV))
    assert "finops" in shown
    for secret in ("SECRETSLACKTOKEN", "SECRETHOOKTOKEN", "SECRETSIGNINGKEY", "hooks.slack"):
        assert secret not in shown


@pytest.mark.parametrize(
    ("broken", "replacement", "line", "key", "says"),
    [
        ('url_env = "SLACK_WEBHOOK_URL"', f'url = "{SLACK_URL}"', 3, "url", "url_env"),
        (
            'secret_env = "BUDGET_WEBHOOK_SECRET"',
            f'secret = "{HOOK_SECRET}"',
            8,
            "secret",
            "environment variable",
        ),
        ("thresholds = [0.5, 0.8, 1.0]", "thresholds = [0.5, -1]", 18, "thresholds", "above 0"),
        ("thresholds = [0.5, 0.8, 1.0]", 'thresholds = "80%"', 18, "thresholds", "list"),
        ('period = "month"', 'period = "week"', 14, "period", '"month" or "day"'),
        ('amount = "500.00"', 'amount = "five hundred"', 12, "amount", "not a decimal"),
        ('amount = "500.00"', 'amount = "0"', 12, "amount", "above 0"),
        ("forecast = true", 'forecast = "yes"', 19, "forecast", "true or false"),
        ('notify = ["team-slack", "finops"]', 'notify = ["pager"]', 20, "notify", "'pager'"),
        ('line_item = "gpt-4o, input"', 'lines = "gpt-4o, input"', 16, "lines", "unknown"),
        ("lookback_days = 28", "lookback_days = 3", 24, "lookback_days", "7 to 366"),
        ('notify = ["finops"]', 'notify = ["nobody"]', 23, "notify", "'nobody'"),
        ('type = "webhook"', 'type = "email"', 6, "type", '"slack"'),
    ],
)
def test_a_bad_setting_is_named_by_file_line_and_key(
    tmp_path: Path, broken: str, replacement: str, line: int, key: str, says: str
) -> None:
    assert broken in EXAMPLE
    error = error_of(tmp_path, EXAMPLE.replace(broken, replacement, 1))
    assert (error.path, error.line, error.key) == (str(tmp_path / "budgets.toml"), line, key)
    message = str(error)
    assert message.startswith(f"{tmp_path / 'budgets.toml'}, line {line}: ")
    assert key in message
    assert says in message
    for secret in ("SECRETSLACKTOKEN", "SECRETHOOKTOKEN", "SECRETSIGNINGKEY"):
        assert secret not in message


def test_a_missing_variable_is_named_but_a_variable_holding_a_url_is_not_echoed(
    tmp_path: Path,
) -> None:
    missing = error_of(tmp_path, EXAMPLE, {**ENV, "BUDGET_WEBHOOK_SECRET": ""})
    assert (missing.line, missing.key) == (8, "secret_env")
    assert "BUDGET_WEBHOOK_SECRET is not set" in str(missing)
    pasted = error_of(tmp_path, EXAMPLE.replace('"SLACK_WEBHOOK_URL"', f'"{SLACK_URL}"'))
    assert (pasted.line, pasted.key) == (3, "url_env")
    assert "SECRETSLACKTOKEN" not in str(pasted)
    not_a_url = error_of(tmp_path, EXAMPLE, {**ENV, "SLACK_WEBHOOK_URL": "ftp://x/SECRETFTP"})
    assert "holds no http(s) URL" in str(not_a_url)
    assert "SECRETFTP" not in str(not_a_url)


def test_a_webhook_without_a_secret_and_a_slack_with_one_are_refused(tmp_path: Path) -> None:
    unsigned = error_of(tmp_path, EXAMPLE.replace('secret_env = "BUDGET_WEBHOOK_SECRET"\n', ""))
    assert unsigned.line == 5  # the [notify.finops] header
    assert "secret_env" in str(unsigned)
    signed_slack = EXAMPLE.replace(
        'url_env = "SLACK_WEBHOOK_URL"\n',
        'url_env = "SLACK_WEBHOOK_URL"\nsecret_env = "BUDGET_WEBHOOK_SECRET"\n',
    )
    assert error_of(tmp_path, signed_slack).key == "secret_env"


def test_the_line_of_a_later_budget_and_of_a_budget_without_a_name(tmp_path: Path) -> None:
    second = error_of(tmp_path, EXAMPLE.replace("amount = 40", "amount = -40"))
    assert (second.line, second.key) == (29, "amount")
    assert "'org-daily'" in str(second)
    nameless = error_of(tmp_path, EXAMPLE.replace('name = "org-daily"\n', ""))
    assert nameless.line == 27  # the second [[budget]] header
    assert "#2" in str(nameless)
    assert "no name" in str(nameless)


def test_invalid_toml_a_single_bracket_budget_and_an_empty_file(tmp_path: Path) -> None:
    broken = error_of(tmp_path, EXAMPLE.replace('currency = "usd"', "currency = usd"))
    assert broken.line == 13
    assert "not valid TOML" in str(broken)
    single = error_of(tmp_path, '[budget]\nname = "x"\namount = "1"\n')
    assert single.line == 1
    assert "[[budget]]" in str(single)
    assert "nothing to check" in str(error_of(tmp_path, "# no budgets yet\n"))


def test_a_file_that_cannot_be_read_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(BudgetConfigError, match=r"missing\.toml: cannot be read"):
        load_budgets(tmp_path / "missing.toml")


def test_a_config_made_in_python_is_checked_too() -> None:
    with pytest.raises(BudgetConfigError, match="no receiver 'slack'"):
        BudgetConfig(budgets=(Budget("a", Decimal(1), notify=("slack",)),))
    with pytest.raises(BudgetConfigError, match="two budgets are named 'a'"):
        BudgetConfig(budgets=(Budget("a", Decimal(1)), Budget("a", Decimal(2))))
