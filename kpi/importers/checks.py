"""Legal but unlikely data: the import goes through, and the user is told where to look.

Findings accumulate over a file's chunks, so a million-row file gives one line per kind of
problem (with a count and the first lines), not one per chunk.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

SHOWN_LINES = 3


@dataclass
class _Finding:
    count: int = 0
    lines: list[int] = field(default_factory=list)


@dataclass
class Findings:
    """Counts and example lines of each kind of suspicious row in one file."""

    _found: dict[str, _Finding] = field(default_factory=dict)

    def add(
        self, what: str, chunk: pd.DataFrame, mask: pd.Series, line_of: Callable[[int], int]
    ) -> None:
        if not mask.any():
            return
        finding = self._found.setdefault(what, _Finding())
        finding.count += int(mask.sum())
        missing = SHOWN_LINES - len(finding.lines)
        if missing > 0:
            finding.lines += [line_of(int(r)) for r in chunk.loc[mask, "_record"].head(missing)]

    def merge(self, later: Findings) -> None:
        """Add the findings of a later chunk (each chunk is checked apart, maybe in another
        process): counts add up, and the first lines stay the file's first."""
        for what, found in later._found.items():
            finding = self._found.setdefault(what, _Finding())
            finding.count += found.count
            finding.lines = (finding.lines + found.lines)[:SHOWN_LINES]

    def messages(self) -> list[str]:
        described = []
        for what, finding in self._found.items():
            shown = ", ".join(str(line) for line in finding.lines)
            extra = finding.count - len(finding.lines)
            more = f" and {extra} more" if extra > 0 else ""
            described.append(f"{finding.count} rows {what} (line {shown}{more})")
        return described


def inspect(chunk: pd.DataFrame, findings: Findings, line_of: Callable[[int], int]) -> None:
    """Record the suspicious rows of one canonical chunk."""
    if {"clicks", "impressions"} <= set(chunk.columns):
        findings.add(
            "have more clicks than impressions",
            chunk,
            chunk["clicks"] > chunk["impressions"],
            line_of,
        )
    if "spend" in chunk:
        if "impressions" in chunk:
            no_impressions = ~(chunk["impressions"] > 0)
        else:
            no_impressions = pd.Series(True, index=chunk.index)
        findings.add(
            "have spend but no impressions", chunk, (chunk["spend"] > 0) & no_impressions, line_of
        )
        findings.add(
            "have spend but no currency; add a currency column",
            chunk,
            chunk["spend"].notna() & (chunk["currency"] == ""),
            line_of,
        )
