"""What every benchmark shares: where data lives, how figures and profiles are printed, which
commit was measured, and how the code under test is wrapped for the phase tables.

The benchmarks run the code under test from a snapshot of a commit, with the benchmark files of
the working tree copied over it (see ``code_under_test`` in ``ingest_bench`` and ``slack_bench``):
this module is copied with them, so a snapshot of an older commit still finds it.
"""

from __future__ import annotations

import cProfile
import pstats
import shutil
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

if TYPE_CHECKING:
    from rich.console import Console

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = Path(__file__).resolve().parent / "data"

F = TypeVar("F", bound=Callable[..., Any])

#: Where a profiled function's file name is cut: the package it belongs to, and what follows.
PACKAGES = (
    "kpi",
    "bot",
    "benchmarks",
    "pandas",
    "numpy",
    "sqlalchemy",
    "matplotlib",
    "slack_sdk",
    "jinja2",
)


def ms(value: float | None) -> str:
    """Milliseconds as the tables print them: no decimals from 100 up, one below."""
    if value is None:
        return ""
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def console() -> Console:
    """A console at least 160 columns wide, so the tables are not folded in a log file."""
    from rich.console import Console  # noqa: PLC0415 (children that print nothing skip rich)

    return Console(width=max(shutil.get_terminal_size((160, 40)).columns, 160))


def revision(*folders: str) -> str:
    """The commit measured, and the files under ``folders`` that differ from it."""
    try:
        head, changed = (
            subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True).stdout
            for command in (
                ["git", "rev-parse", "--short", "HEAD"],
                ["git", "status", "--porcelain", "--", *folders],
            )
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    files = [line[3:] for line in changed.splitlines() if line.strip()]
    return f"{head.strip()} + uncommitted {', '.join(files)}" if files else head.strip()


def copy_benchmarks(target: Path) -> None:
    """Put the working tree's benchmark files over a snapshot's (``target`` is its root)."""
    for path in Path(__file__).parent.glob("*.py"):
        shutil.copy2(path, target / "benchmarks" / path.name)


def short_name(filename: str, line: int, function: str) -> str:
    """``kpi/aggregate.py:99(window_sums)`` rather than the whole path."""
    if filename == "~":
        return function
    parts = Path(filename).parts
    for anchor in PACKAGES:
        if anchor in parts:
            tail = "/".join(parts[len(parts) - parts[::-1].index(anchor) - 1 :])
            return f"{tail}:{line}({function})"
    return f"{Path(filename).name}:{line}({function})"


def profile_rows(profile: cProfile.Profile | pstats.Stats) -> list[dict[str, Any]]:
    """Every profiled function with its calls, own and cumulative seconds, slowest first."""
    stats = profile if isinstance(profile, pstats.Stats) else pstats.Stats(profile)
    raw = cast(dict[tuple[str, int, str], tuple[int, int, float, float, Any]], stats.stats)  # type: ignore[attr-defined]
    rows: list[dict[str, Any]] = [
        {
            "function": short_name(filename, line, function),
            "calls": calls,
            "own": own,
            "cumulative": cumulative,
        }
        for (filename, line, function), (_cc, calls, own, cumulative, _callers) in raw.items()
    ]
    rows.sort(key=lambda row: -float(row["cumulative"]))
    return rows


class Wraps(Protocol):
    """What times a function for a phase table (each benchmark's ``Phases``)."""

    def wrap(self, label: Any, function: F) -> F: ...


def instrument(phases: Wraps, targets: Iterable[tuple[object, str, Any]]) -> list[str]:
    """Wrap each (owner, attribute, label) in place (only ever in a child process); return the
    attributes the code under test does not have (an older commit, a renamed function)."""
    missing = []
    for owner, attribute, label in targets:
        original = getattr(owner, attribute, None)
        if original is None:
            missing.append(f"{getattr(owner, '__name__', owner)}.{attribute}")
            continue
        setattr(owner, attribute, phases.wrap(label, original))
    return missing
