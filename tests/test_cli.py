"""The command line: documented, thin, and clear about bad input."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from bot.cli import app
from kpi import commands, grammar

README = Path(__file__).resolve().parents[1] / "README.md"
runner = CliRunner()


def test_every_command_is_documented_in_the_readme() -> None:
    readme = README.read_text(encoding="utf-8")
    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    for name in commands:
        assert re.search(rf"`kpibot {name}\b", readme), f"`kpibot {name}` is not in README.md"


def test_ingest_reports_a_summary_and_dry_run_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    export = tmp_path / "export.csv"
    export.write_text(
        "date,platform,campaign,impressions,clicks\n2026-11-02,meta,BF,1000,12\n", encoding="utf-8"
    )
    dry = runner.invoke(app, ["ingest", str(export), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would write" in dry.output
    real = runner.invoke(app, ["ingest", str(export)])
    assert real.exit_code == 0, real.output
    again = runner.invoke(app, ["ingest", str(export)])
    assert "meta: 2026-11-02 → 2026-11-02" in again.output
    assert re.search(r"│\s+1 │\s+1 │\s+1 │", again.output), again.output


def test_bad_period_option_is_refused(tmp_path: Path) -> None:
    result = runner.invoke(app, ["ingest", str(tmp_path / "x.csv"), "--period", "soon"])
    assert result.exit_code != 0
    assert "START..END" in result.output


def test_sources_lists_every_importer() -> None:
    result = runner.invoke(app, ["sources"])
    assert result.exit_code == 0
    for name in (
        "canonical",
        "meta-ads",
        "meta-posts",
        "tiktok-ads",
        "linkedin-ads",
        "google-ads",
        "ga4",
    ):
        assert name in result.output


def _kpibot(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "DATABASE_URL": f"sqlite:///{cwd / 'kpibot.db'}"},
        check=False,
    )


def test_a_refused_file_exits_non_zero_with_a_located_message(tmp_path: Path) -> None:
    export = tmp_path / "broken.csv"
    export.write_text("date,platform,clicks\n2026-11-02,meta,4\n2026-11-03,meta,four\n")
    result = _kpibot("ingest", str(export), cwd=tmp_path)
    assert result.returncode == 1
    assert "line 3, column 'clicks', value 'four': not a number" in result.stderr
    assert "Traceback" not in result.stderr


def test_demo_loads_the_embedded_store(tmp_path: Path) -> None:
    result = _kpibot("demo", "--days", "30", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Loaded" in result.stdout and "5 platforms" in result.stdout
    with sqlite3.connect(tmp_path / "kpibot.db") as connection:
        (rows,) = connection.execute("SELECT count(*) FROM facts").fetchone()
    assert rows > 500


def test_targets_commands(tmp_path: Path) -> None:
    assert _kpibot("targets", "list", cwd=tmp_path).stdout.startswith("No targets yet")
    added = _kpibot("targets", "set", "ctr >= 1.2% weekly platform=tiktok", cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    assert "target 1: ctr >= 1.20% week platform=tiktok" in added.stdout
    assert "ctr >= 1.20%" in _kpibot("targets", "list", cwd=tmp_path).stdout
    assert _kpibot("targets", "remove", "1", cwd=tmp_path).returncode == 0
    missing = _kpibot("targets", "remove", "1", cwd=tmp_path)
    assert missing.returncode == 1 and "there is no target 1" in missing.stderr
    bad = _kpibot("targets", "set", "crt >= 1%", cwd=tmp_path)
    assert bad.returncode == 1 and "did you mean ctr" in bad.stderr


def test_kpis_lists_the_catalog_and_a_bad_kpis_file_is_refused(tmp_path: Path) -> None:
    listed = _kpibot("kpis", cwd=tmp_path)
    assert listed.returncode == 0 and "engagement_rate" in listed.stdout
    broken = tmp_path / "kpis.toml"
    broken.write_text(
        '[kpi.cpe]\ndescription = "x"\nunit = "currency"\nnumerator = "spend"\n'
        'denominator = "reach"\n',
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", "kpis"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "KPIBOT_KPIS_FILE": str(broken)},
    )
    assert result.returncode == 1
    assert "kpis.toml" in result.stderr and "cpe" in result.stderr


def test_every_slash_subcommand_is_documented_in_the_readme() -> None:
    readme = README.read_text(encoding="utf-8")
    english = [word for word in grammar._COMMANDS if word not in {"aide", "liste"}]
    for word in (*english, *commands.SUBCOMMANDS):
        assert f"`/kpi {word}" in readme, f"`/kpi {word}` is not in README.md"
