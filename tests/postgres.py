"""A throwaway PostgreSQL cluster for the test session, from the machine's own binaries.

``KPIBOT_TEST_POSTGRES_URL`` points the tests at an existing server instead. Under ``CI=true`` a
missing PostgreSQL fails the tests that need it; elsewhere they skip.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path


def _binaries() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(candidates[-1]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_owner(command: list[str], owner: str | None) -> list[str]:
    return ["runuser", "-u", owner, "--", *command] if owner else command


class Cluster:
    """A cluster in a temporary folder that a test can also stop and start (a database outage)."""

    def __init__(self, binaries: Path) -> None:
        self.binaries = binaries
        self.owner = "postgres" if os.geteuid() == 0 else None
        self.root = Path(tempfile.mkdtemp(prefix="kpibot-pg-"))
        self.data = self.root / "data"
        if self.owner:
            shutil.chown(self.root, self.owner)
        self.port = _free_port()
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, program: str, *arguments: str, check: bool = True) -> None:
        command = [str(self.binaries / program), *arguments]
        subprocess.run(_as_owner(command, self.owner), check=check, capture_output=True)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-w",
            "-l",
            str(self.root / "log"),
            "start",
        )

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop", check=False)

    def remove(self) -> None:
        self.stop()
        time.sleep(0.1)
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def cluster() -> Iterator[Cluster | None]:
    """A started cluster, removed afterwards; None when PostgreSQL is not installed."""
    binaries = _binaries()
    if binaries is None:
        yield None
        return
    made = Cluster(binaries)
    made.start()
    try:
        yield made
    finally:
        made.remove()


@contextlib.contextmanager
def throwaway_cluster() -> Iterator[str | None]:
    """Yield a SQLAlchemy URL of a fresh cluster, or None when PostgreSQL is not installed."""
    with cluster() as started:
        yield None if started is None else started.url
