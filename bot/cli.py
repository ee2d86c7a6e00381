"""The ``kpibot`` command line: a thin layer over ``kpi`` that turns domain errors into messages."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from rich.table import Column, Table

from bot import answer_view, formatting, logs, terminal
from bot.jobs import Jobs
from bot.rendering import Message, Renderer
from bot.scheduler import run_forever as run_scheduler
from bot.serve import serve as serve_bot
from bot.services import build_services
from bot.settings import Settings, load_settings, require_token
from bot.showcase import tour
from bot.slack_clients import web_client
from kpi import demo as demo_data
from kpi import grammar, query, targets
from kpi.catalog import Catalog, load_catalog
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
errors = Console(stderr=True, soft_wrap=True)  # a located error stays one greppable line

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
            "Campaigns built to miss typical targets: "
            + ", ".join(demo_data.MISSING_TARGET_CAMPAIGNS),
            highlight=False,
        )
        _show_tour(settings, path, now)
    console.print(
        "Try next:\n"
        '  kpibot ask "ctr last-week by platform"   a question, as in Slack\n'
        '  kpibot ask "roas last-month by campaign"   vs the month before\n'
        "  kpibot kpis                         the KPI catalog\n"
        "  kpibot sources                      the exports kpibot can import\n"
        "  kpibot ingest your-export.csv       import a platform export (re-importing is safe)\n"
        "  kpibot ingest file.csv --dry-run    check a file without writing anything\n"
        "  kpibot serve                        the Slack bot (see README: Slack set-up)",
        highlight=False,
    )


def _show_tour(settings: Settings, demo_csv: Path, now: dt.datetime) -> None:
    """The real Slack paths, shown without a workspace (see bot.showcase)."""
    console.print(
        "\nSlack, end to end: a local Slack stand-in, `kpibot serve` in HTTP mode, requests "
        "signed as Slack signs them (on a private copy of the demo data):",
        highlight=False,
    )
    for shown in tour(settings, demo_csv, now):
        console.print(f"\n  {shown.title}", highlight=False, markup=False)
        posted = shown.message
        message = Message(posted.get("text", ""), tuple(posted.get("blocks", ())))
        for line in terminal.to_text(message).splitlines():
            console.print(f"  | {line}", highlight=False, markup=False)
    console.print()


def _catalog(settings: Settings) -> Catalog:
    return load_catalog(settings.kpis_file)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help='A question, e.g. "ctr last-week by platform".')],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Answer as if today were YYYY-MM-DD.")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")] = False,
) -> None:
    """Answer a KPI question from the store, as text (as in Slack) or JSON."""
    settings = load_settings()
    today = _today(settings, as_of)
    catalog = _catalog(settings)
    parsed = grammar.parse(question, catalog, today, settings.week_start)
    if isinstance(parsed, grammar.HelpCommand):
        _print_message(Renderer().help())
        return
    if isinstance(parsed, grammar.ListCommand):
        _print_message(Renderer().kpi_list(catalog))
        return
    engine = open_store(settings.database_url)
    answer = query.ask(
        engine,
        parsed,
        today=today,
        timezone=settings.timezone,
        week_start=settings.week_start,
        targets=targets.load(engine),
    )
    if json_output:
        typer.echo(json.dumps(answer_view.as_json(answer), ensure_ascii=False, indent=2))
    else:
        _print_message(Renderer().answer(answer, parsed))


def _print_message(message: Message) -> None:
    """Through the Slack templates, so the terminal reads what Slack would show."""
    console.print(terminal.to_text(message), markup=False, highlight=False, soft_wrap=True)


@app.command()
def kpis() -> None:
    """List the KPI catalog: names, aliases, units, directions and definitions."""
    settings = load_settings()
    table = Table("unit", "better", "definition", "min volume", "aliases")
    table.columns.insert(0, Column("kpi", no_wrap=True))
    for kpi in _catalog(settings):
        table.add_row(
            kpi.name,
            kpi.unit.value,
            kpi.direction.value,
            answer_view.definition(kpi),
            f"{kpi.min_volume:g}",
            ", ".join(kpi.aliases),
        )
    console.print(table)


targets_app = typer.Typer(help="Targets the alerts judge KPIs against.", no_args_is_help=True)
app.add_typer(targets_app, name="targets")


@targets_app.command("list")
def targets_list() -> None:
    """Show the stored targets."""
    settings = load_settings()
    catalog = _catalog(settings)
    found = targets.load(open_store(settings.database_url))
    if not found:
        console.print('No targets yet: kpibot targets set "ctr >= 1.2% weekly"')
        return
    table = Table("id", "target")
    for target in found:
        table.add_row(str(target.id), _describe(target, catalog))
    console.print(table)


def _describe(target: targets.Target, catalog: Catalog) -> str:
    kpi = catalog[target.kpi]
    grain = f"rolling {target.rolling_days} days" if target.rolling_days else target.grain.value
    scope = " ".join(f"{d.value}={','.join(v)}" for d, v in target.filters)
    threshold = formatting.value(kpi, target.threshold)
    parts = [kpi.name, target.comparator, threshold, grain, scope, target.channel or ""]
    return " ".join(part for part in parts if part)


@targets_app.command("set")
def targets_set(
    spec: Annotated[str, typer.Argument(help='e.g. "ctr >= 1.2% weekly platform=tiktok"')],
) -> None:
    """Add a target, or change the threshold of the same KPI, grain and scope."""
    settings = load_settings()
    catalog = _catalog(settings)
    target = grammar.parse_target(spec, catalog)
    target_id = targets.save(open_store(settings.database_url), target, now=_now(settings))
    console.print(f"target {target_id}: {_describe(target, catalog)}", highlight=False)


@targets_app.command("remove")
def targets_remove(target_id: Annotated[int, typer.Argument(help="The id shown by list.")]) -> None:
    """Delete a target."""
    settings = load_settings()
    if not targets.remove(open_store(settings.database_url), target_id):
        raise KpiError(f"there is no target {target_id}; `kpibot targets list` shows them")
    console.print(f"target {target_id} removed")


@targets_app.command("seed")
def targets_seed(path: Annotated[Path, typer.Argument(help="A targets.toml file.")]) -> None:
    """Add or update the targets of a targets.toml file (safe to run again)."""
    settings = load_settings()
    catalog = _catalog(settings)
    engine = open_store(settings.database_url)
    for target in targets.read_seed(path, catalog):
        target_id = targets.save(engine, target, now=_now(settings))
        console.print(f"target {target_id}: {_describe(target, catalog)}", highlight=False)


@app.command()
def serve() -> None:
    """Run the Slack bot: Socket Mode when SLACK_APP_TOKEN is set, otherwise HTTP on PORT."""
    settings = load_settings()
    logs.configure(settings.log_level)
    serve_bot(settings)


@app.command()
def scheduler(
    parent_pid: Annotated[int | None, typer.Option(hidden=True)] = None,
) -> None:
    """Run the digest and alert scheduler on its own (kpibot serve starts one by itself)."""
    settings = load_settings()
    logs.configure(settings.log_level)
    require_token(settings)
    run_scheduler(settings, parent_pid=parent_pid)


digest_app = typer.Typer(help="Scheduled digests.", no_args_is_help=True)
alerts_app = typer.Typer(help="Target alerts.", no_args_is_help=True)
app.add_typer(digest_app, name="digest")
app.add_typer(alerts_app, name="alerts")


def _operator_jobs(settings: Settings) -> Jobs:
    logs.configure(settings.log_level)
    require_token(settings)
    return Jobs.posting_with(build_services(settings), web_client(settings))


@digest_app.command("run")
def digest_run(
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Run as if today were YYYY-MM-DD.")
    ] = None,
) -> None:
    """Send every subscription's digest for the last closed period, once (for cron)."""
    settings = load_settings()
    sent = _operator_jobs(settings).digest_pass(_today(settings, as_of))
    for delivery in sent:
        console.print(
            f"digest {delivery.subject_id} → {delivery.channel} for {delivery.period}: "
            f"{delivery.status}",
            highlight=False,
            markup=False,
        )
    console.print(f"{len(sent)} digest(s) sent; already-sent ones are never sent twice.")


@alerts_app.command("run")
def alerts_run(
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Run as if today were YYYY-MM-DD.")
    ] = None,
) -> None:
    """Judge every target for its last closed period and post alerts, once (for cron)."""
    settings = load_settings()
    now = _now(settings)
    if as_of is not None:
        now = dt.datetime.combine(_today(settings, as_of), now.timetz())
    outcomes = _operator_jobs(settings).alerts_pass(now)
    for outcome in outcomes:
        status = "" if outcome.delivery is None else f" ({outcome.delivery.status})"
        console.print(
            f"target {outcome.target_id} for {outcome.period}: {outcome.action}{status}",
            highlight=False,
            markup=False,
        )
    console.print(f"{len(outcomes)} target(s) judged.")


def _today(settings: Settings, as_of: str | None) -> dt.date:
    if as_of is None:
        return _now(settings).date()
    try:
        return dt.date.fromisoformat(as_of)
    except ValueError:
        raise typer.BadParameter("expected YYYY-MM-DD", param_hint="--as-of") from None


def main() -> None:
    """Entry point: domain errors become one clear line on stderr and exit status 1."""
    try:
        app()
    except KpiError as exc:
        errors.print(f"error: {exc}", markup=False, highlight=False)
        raise SystemExit(1) from None
