"""Start ``kpibot serve`` as a child process and wait until it answers its health check.

``kpibot demo``, the end-to-end tests and the benchmark all need the bot as a real process on a
free port (PORT=0); gunicorn logs the port it bound, so that line is how the parent learns it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType

#: The line ``kpibot serve`` prints once bound (gunicorn's own says the same, but only at INFO).
LISTENING = "kpibot listening at: "


class LaunchError(RuntimeError):
    """The bot exited or never became healthy; the message carries its last log lines."""


@dataclass
class ServedBot:
    """A running ``kpibot serve``; its stderr is collected so tests can inspect the log."""

    process: subprocess.Popen[str]
    url: str = ""
    log: list[str] = field(default_factory=list)
    _bound: threading.Event = field(default_factory=threading.Event)

    @property
    def events_url(self) -> str:
        return f"{self.url}/slack/events"

    def log_text(self) -> str:
        return "".join(self.log)

    def _pump(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.log.append(line)
            if LISTENING in line and not self._bound.is_set():
                self.url = line.split(LISTENING, 1)[1].split()[0]
                self._bound.set()
        self._bound.set()

    def health(self, timeout: float = 5.0) -> tuple[int, dict[str, object]]:
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=timeout) as response:  # noqa: S310 - our own URL
                return int(response.status), json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def wait_healthy(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        if not self._bound.wait(timeout) or not self.url:
            self.stop()
            raise LaunchError("kpibot serve did not start:\n" + self.log_text()[-3000:])
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if self.health()[0] == 200:
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.05)
        self.stop()
        raise LaunchError("kpibot serve is not healthy:\n" + self.log_text()[-3000:])

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM (gunicorn's graceful stop), then SIGKILL if it hangs."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def __enter__(self) -> ServedBot:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def serve_process(env: Mapping[str, str], *, wait: bool = True) -> ServedBot:
    """``kpibot serve`` with ``env`` over the current environment, on a free local port."""
    full_env = {**os.environ, "KPIBOT_HOST": "127.0.0.1", "PORT": "0", **env}
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve"],
        env=full_env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    bot = ServedBot(process)
    threading.Thread(target=bot._pump, name="kpibot-serve-log", daemon=True).start()
    if wait:
        bot.wait_healthy()
    return bot
