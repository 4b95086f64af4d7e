"""``usage-async demo``: the report on the embedded emulator's sample data."""

from __future__ import annotations

import argparse

from .._arguments import Common, Subcommands
from .._running import complete

__all__ = ["DEMO_DAYS", "SPIKE_DAYS_AGO", "register"]

DEMO_DAYS = 7
SPIKE_DAYS_AGO = 3
"""The demo's week has a planted cost spike, this many full days before today: what an
anomaly looks like, and what ``budget check`` finds."""


def register(commands: Subcommands, common: Common) -> None:
    """Add ``demo``: it needs no key and no network, so no parent parser."""
    parser = commands.add_parser(
        "demo",
        allow_abbrev=False,
        help="a report on sample data from the embedded emulator (no key, no network)",
        description=f"Start the embedded emulator and report the last {DEMO_DAYS} full UTC "
        f"days of its sample data, with a cost spike planted {SPIKE_DAYS_AGO} days ago (one "
        "project at 12 times its usual activity: an anomaly). Ignores OPENAI_ADMIN_KEY and "
        "OPENAI_BASE_URL.",
    )
    parser.set_defaults(run=run, parser=parser)


def run(args: argparse.Namespace, now: int) -> int:
    """Serve the emulator, report its last ``DEMO_DAYS`` days; returns the exit code."""
    from ..._time import DAY, floor_to
    from ...emulator import Spike
    from .._report import demo_report

    today = floor_to(now, DAY)
    return complete(demo_report(now, DEMO_DAYS, Spike(today - SPIKE_DAYS_AGO * DAY)), None)
