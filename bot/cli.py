"""The ``kpibot`` command line: a thin layer over ``kpi`` that turns domain errors into messages."""

from __future__ import annotations

import datetime as dt
import tempfile
from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from rich.table import Table

from bot.settings import Settings, load_settings
from kpi import demo as demo_data
from kpi.errors import KpiError
from kpi.importers.dates import parse_range
from kpi.importers.reader import ReadOptions
from kpi.importers.registry import SOURCES
from kpi.ingest import FileReport, count_lines, ingest_file
from kpi.store.engine import open_store

app = typer.Typer(
    help="kpibot: marketing KPIs from your own exports, in Slack.", no_args_is_help=True
)
console = Console()
errors = Console(stderr=True)

PROGRESS_MIN_LINES = 50_000


def _now(settings: Settings) -> dt.datetime:
    return dt.datetime.now(settings.zone)


def _period(value: str | None) -> tuple[dt.date, dt.date] | None:
    if value is None:
        return None
    window = parse_range(value)
    if window is None or window[1] < window[0]:
        raise typer.BadParameter(
            "expected START..END, e.g. 2014-01-01..2014-12-31", param_hint="--period"
        )
    return window


def _print_report(report: FileReport) -> None:
    verb = "would write" if report.dry_run else "wrote"
    table = Table(
        title=f"{report.path.name} ({report.source}){' — dry run' if report.dry_run else ''}"
    )
    for name in ("read", verb, "replaced", "skipped", "warnings"):
        table.add_column(name, justify="right")
    table.add_row(
        f"{report.rows_read:,}",
        f"{report.rows_written:,}",
        f"{report.rows_replaced:,}",
        f"{report.rows_skipped:,}",
        f"{len(report.warnings):,}",
    )
    console.print(table)
    for coverage in report.coverage:
        console.print(f"  {coverage.platform}: {coverage.start} → {coverage.end}")
    for warning in report.warnings:
        console.print(f"  [yellow]warning:[/yellow] {warning}", markup=True, highlight=False)


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Export files to import.")],
    source: Annotated[
        str | None, typer.Option(help="Importer name (see `kpibot sources`).")
    ] = None,
    platform: Annotated[str | None, typer.Option(help="Platform of rows without one.")] = None,
    account: Annotated[str | None, typer.Option(help="Account of rows without one.")] = None,
    period: Annotated[str | None, typer.Option(help="START..END covered by undated rows.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate and report only.")] = False,
) -> None:
    """Import platform exports; each file is all-or-nothing and replaces what it re-imports."""
    settings = load_settings()
    now = _now(settings)
    options = ReadOptions(
        today=now.date(), platform=platform, account=account, period=_period(period)
    )
    engine = open_store(settings.database_url)
    for path in paths:
        total = count_lines(path) if path.is_file() else 0
        if total >= PROGRESS_MIN_LINES:
            with Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=console,
                transient=True,
            ) as bar:
                task = bar.add_task(path.name, total=total)
                report = ingest_file(
                    engine,
                    path,
                    options,
                    now=now,
                    source=source,
                    dry_run=dry_run,
                    progress=partial(bar.advance, task),
                )
        else:
            report = ingest_file(engine, path, options, now=now, source=source, dry_run=dry_run)
        _print_report(report)


@app.command()
def sources() -> None:
    """List the importers and the headers each one recognises."""
    for source in SOURCES.values():
        console.print(f"[bold]{source.name}[/bold] — {source.summary}", highlight=False)
        required = ", ".join(sorted(source.required))
        console.print(f"  required: {required}", highlight=False)
        for target, aliases in source.columns.items():
            console.print(f"  {target:<20} {', '.join(aliases)}", highlight=False, markup=False)


@app.command()
def demo(
    days: Annotated[int, typer.Option(help="Days of demo data, ending yesterday.")] = 365,
) -> None:
    """Load a deterministic year of demo data into the configured store and show what to try."""
    settings = load_settings()
    now = _now(settings)
    yesterday = now.date() - dt.timedelta(days=1)
    frame = demo_data.generate(yesterday, days=days)
    engine = open_store(settings.database_url)
    with tempfile.TemporaryDirectory(prefix="kpibot-demo-") as folder:
        path = Path(folder) / "demo.csv"
        frame.to_csv(path, index=False)
        report = ingest_file(
            engine, path, ReadOptions(today=now.date()), now=now, source="canonical"
        )
    _print_report(report)
    campaigns = frame.loc[frame["campaign"] != "", "campaign"].nunique()
    console.print(
        f"Loaded {report.rows_written:,} rows: {frame['platform'].nunique()} platforms, "
        f"{campaigns} campaigns, {frame['date'].min()} → {frame['date'].max()} "
        f"into {settings.database_url}",
        highlight=False,
    )
    console.print(
        "Campaigns built to miss typical targets: " + ", ".join(demo_data.MISSING_TARGET_CAMPAIGNS),
        highlight=False,
    )
    console.print(
        "Try next:\n"
        "  kpibot sources                      the exports kpibot can import\n"
        "  kpibot ingest your-export.csv       import a platform export (re-importing is safe)\n"
        "  kpibot ingest file.csv --dry-run    check a file without writing anything",
        highlight=False,
    )


def main() -> None:
    """Entry point: domain errors become one clear line on stderr and exit status 1."""
    try:
        app()
    except KpiError as exc:
        errors.print(f"error: {exc}", markup=False, highlight=False)
        raise SystemExit(1) from None
