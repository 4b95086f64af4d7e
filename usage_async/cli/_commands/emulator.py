"""``usage-async emulator``: serve the API emulator locally until Ctrl-C."""

from __future__ import annotations

import argparse

from ..._time import utc_day
from .._arguments import KEY_ENV, Common, Subcommands, number
from .._running import EXIT_INTERRUPTED, EXIT_OK, fail

__all__ = ["register"]


def register(commands: Subcommands, common: Common) -> None:
    """Add ``emulator``: it serves rather than asks, so no parent parser."""
    parser = commands.add_parser(
        "emulator",
        allow_abbrev=False,
        help="serve the API emulator locally until Ctrl-C",
        description="Serve a local stand-in for the Usage and Costs API, with deterministic "
        "sample data, and print the base URL and key to use with it.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1 (loopback)")
    parser.add_argument(
        "--port", type=number(int, 0, 65535), default=8089, help="default 8089; 0 picks one"
    )
    parser.add_argument("--seed", type=int, default=0, help="sample data seed (default 0)")
    parser.add_argument(
        "--latency",
        metavar="S",
        type=number(float, 0.0),
        default=0.0,
        help="seconds added to each response (default 0)",
    )
    parser.add_argument(
        "--fault-rate",
        metavar="P",
        type=number(float, 0.0, 1.0),
        default=0.0,
        help="probability 0..1 that a request fails, split evenly between 429 rate limits, "
        "500 server errors and dropped connections (default 0)",
    )
    parser.add_argument(
        "--spike",
        metavar="DAY",
        type=common.when,
        help="plant a cost spike: Support Copilot's activity 12 times its usual on the UTC day "
        "holding DAY (a date such as 2026-11-20, or a span before now such as 3d), which "
        "usage-async budget check finds as an anomaly (default: none)",
    )
    parser.set_defaults(run=run, parser=parser)


def run(args: argparse.Namespace, now: int) -> int:
    """Serve until Ctrl-C (exit 130); exit 1 when the address cannot be served."""
    import asyncio

    from ...emulator import DEFAULT_API_KEY, Faults, Spike, serve_forever

    spike = Spike(args.spike.seconds) if args.spike is not None else None
    share = args.fault_rate / 3
    faults = (
        Faults(rate_limit=share, server_error=share, disconnect=share, seed=args.seed)
        if args.fault_rate
        else None
    )

    def ready(base_url: str) -> None:
        planted = (
            ""
            if spike is None
            else f"\nSupport Copilot's activity on {utc_day(spike.start)} is {spike.factor:g} "
            "times its usual: a planted cost anomaly."
        )
        print(
            f"usage-async emulator listening on {base_url} (Ctrl-C to stop)\n"
            f"  export OPENAI_BASE_URL={base_url}\n"
            f"  export {KEY_ENV}={DEFAULT_API_KEY}{planted}",
            flush=True,
        )

    try:
        asyncio.run(
            serve_forever(
                host=args.host,
                port=args.port,
                seed=args.seed,
                latency=args.latency,
                faults=faults,
                api_key=DEFAULT_API_KEY,
                ready=ready,
                spike=spike,
            )
        )
    except KeyboardInterrupt:
        # Ctrl-C is how the emulator is meant to stop, but the shell is told the truth (130),
        # as for every other command.
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        raise
    except OSError as exc:  # the port is taken, the host is not ours...
        return fail(f"cannot serve on {args.host}:{args.port}: {exc}", None)
    return EXIT_OK
