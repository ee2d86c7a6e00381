"""``python -m bot.standin``: run a stand-in as its own process until SIGTERM or SIGINT.

For ``kpibot demo`` and benchmarks, which run the bot as a separate process: the first line on
stdout is the ``api_url`` to give the bot (``SLACK_API_URL``), and ``--record PATH`` appends each
call to PATH as one JSON object per line, so another process can see what arrived.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TextIO

from bot.standin.recorder import Call
from bot.standin.server import SlackStandIn
from bot.standin.web_api import DEFAULT_APP_TOKEN, DEFAULT_BOT_TOKEN

_STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


class JsonLinesLog:
    """Writes calls as JSON lines, flushed one by one; the bearer token is left out."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._lock = threading.Lock()

    def __call__(self, call: Call) -> None:
        line = json.dumps(
            {
                "method": call.method,
                "params": call.params,
                "status": call.status,
                "response": call.response,
                "url": call.url,
                "headers": {k: v for k, v in call.headers.items() if k != "authorization"},
                "body_size": len(call.body),
                "at": call.at,
            },
            default=str,
        )
        with self._lock:
            self._out.write(line + "\n")
            self._out.flush()


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until a stop signal arrives; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m bot.standin",
        description="Serve a local Slack stand-in; print its API URL; stop on SIGTERM/SIGINT.",
    )
    parser.add_argument(
        "--record", type=Path, metavar="PATH", help="append each call to PATH as a JSON line"
    )
    parser.add_argument("--bot-token", default=DEFAULT_BOT_TOKEN, help="the valid bot token")
    parser.add_argument("--app-token", default=DEFAULT_APP_TOKEN, help="the valid app token")
    args = parser.parse_args(argv)
    # Blocked before the server threads start (they inherit the mask), then taken by sigwait:
    # the main thread sleeps until asked to stop, with no handler racing the servers. The
    # default disposition is restored first because an ignored signal (SIGINT in a background
    # job of a script) would be discarded instead of reaching sigwait.
    for stop_signal in _STOP_SIGNALS:
        signal.signal(stop_signal, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    with ExitStack() as stack:
        log = None
        if args.record is not None:
            log = JsonLinesLog(stack.enter_context(args.record.open("a", encoding="utf-8")))
        slack = stack.enter_context(
            SlackStandIn(bot_token=args.bot_token, app_token=args.app_token, on_call=log)
        )
        print(slack.api_url, flush=True)
        signal.sigwait(_STOP_SIGNALS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
