"""Cell checks on canonical chunks: what refuses a file, and what only deserves a warning."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from kpi.errors import IngestError
from kpi.measures import SIGNED, Measure

Locate = Callable[[str, int, str, object], IngestError]


def refuse_negative_counts(chunk: pd.DataFrame, error: Locate) -> None:
    for measure in Measure:
        if measure in SIGNED or measure.value not in chunk:
            continue
        negative = chunk[measure.value] < 0
        if negative.any():
            position = int(negative.to_numpy().argmax())
            record = int(chunk["_record"].iloc[position])
            value = chunk[measure.value].iloc[position]
            raise error(f"{measure.value} cannot be negative", record, measure.value, value)


def _lines(chunk: pd.DataFrame, mask: pd.Series, line_of: Callable[[int], int]) -> str:
    records = chunk.loc[mask, "_record"].head(3).tolist()
    shown = ", ".join(str(line_of(int(r))) for r in records)
    extra = int(mask.sum()) - len(records)
    return f"line {shown}" + (f" and {extra} more" if extra > 0 else "")


def suspicious(chunk: pd.DataFrame, line_of: Callable[[int], int]) -> list[str]:
    """Legal but unlikely data: the user should look, the import still goes through."""
    warnings: list[str] = []
    if {"clicks", "impressions"} <= set(chunk.columns):
        more_clicks = chunk["clicks"] > chunk["impressions"]
        if more_clicks.any():
            warnings.append(
                f"{int(more_clicks.sum())} rows have more clicks than impressions "
                f"({_lines(chunk, more_clicks, line_of)})"
            )
    if "spend" in chunk:
        impressions = (
            chunk["impressions"] if "impressions" in chunk else pd.Series(float("nan"), chunk.index)
        )
        blind = (chunk["spend"] > 0) & ~(impressions > 0)
        if blind.any():
            warnings.append(
                f"{int(blind.sum())} rows have spend but no impressions "
                f"({_lines(chunk, blind, line_of)})"
            )
        no_currency = chunk["spend"].notna() & (chunk["currency"] == "")
        if no_currency.any():
            warnings.append(
                f"{int(no_currency.sum())} rows have spend but no currency "
                f"({_lines(chunk, no_currency, line_of)}); add a currency column"
            )
    return warnings
