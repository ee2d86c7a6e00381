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


@contextlib.contextmanager
def throwaway_cluster() -> Iterator[str | None]:
    """Yield a SQLAlchemy URL of a fresh cluster, or None when PostgreSQL is not installed."""
    binaries = _binaries()
    if binaries is None:
        yield None
        return
    owner = "postgres" if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="kpibot-pg-"))
    data = root / "data"
    if owner:
        shutil.chown(root, owner)
    port = _free_port()
    subprocess.run(
        _as_owner(
            [
                str(binaries / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            owner,
        ),
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        _as_owner(
            [
                str(binaries / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-w",
                "-l",
                str(root / "log"),
                "start",
            ],
            owner,
        ),
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_owner(
                [str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], owner
            ),
            check=False,
            capture_output=True,
        )
        time.sleep(0.1)
        shutil.rmtree(root, ignore_errors=True)
