"""Benchmark: signed ``/kpi`` slash commands over loopback HTTP to the served bot.

The requirement it checks (issue 4): with 1,000,000 demo rows in the store and 50 concurrent
``/kpi`` requests, (1) the ack's p99 is within 1.5x that of a minimal Bolt app that only acks,
served the same way and loaded the same way in the same run; (2) the answer reaches the
response_url within 500 ms at p99; (3) at least 100 commands are answered per second on 2 cores.

Both apps run as child processes on a free port of 127.0.0.1 behind gunicorn with the same
options (``kpibot serve``'s own, read from its ``_Server`` config: gthread, 2 workers x 16
threads by default). The reference is this module run as ``--serve-reference``: a Bolt ``App``
with the same signing secret, ``token_verification_enabled=False``, request verification on and
one ``/kpi`` listener that only calls ``ack()``. Slack is the local stand-in (``bot.standin``),
in this process: it hands out a fresh response_url per request and stamps each post to it with
``time.monotonic()``, the clock the load generator uses too.

The load generator is ``--concurrency`` client threads, each with its own persistent
``http.client`` connection, sending signed slash commands built with the stand-in's helpers (a
mix of five questions). Three scenarios per run:

* ``reference``: each client sends its next request as soon as the previous one is acked.
* ``kpibot`` (the one the targets are judged on): each client sends a command, waits for the
  ack, then for the answer to reach its response_url, then sends the next: 50 commands in flight
  at any time, as 50 people each waiting for their answer.
* ``kpibot, ack-paced``: loaded exactly like the reference (next request right after the ack),
  so answers queue up behind the acks; its answered/s is the bot's capacity when saturated and
  its answer latency mostly the length of that queue.

The 1,000,000-row store is the demo data set (``kpi.demo.generate``, two years ending yesterday,
as the bot answers for its real today) repeated over accounts ``acct-00``, ``acct-01``, ... with
a seed per account, written as a canonical CSV and imported with ``kpi.ingest.ingest_file``. It
is cached in ``benchmarks/data/`` (gitignored) under a name keyed by row count, end date, a
fingerprint of the migrations and ``DATA_VERSION``.

Others edit ``bot/`` and ``kpi/`` while this runs, so every child (store build, reference, bot)
runs from a snapshot of a commit (``--code``, default HEAD); ``--code worktree`` measures the
files as they are. ``--variant`` serves changed bots beside the real one (other settings, or
small code changes: see ``PATCHES``) to measure what a change would buy; ``--profile`` serves an
instrumented bot (phase timers, then cProfile per thread) to say where the time goes.

The module's top-level imports are kept light (no pandas, no DuckDB): the reference child runs
this module, and a minimal app should not carry the bot's libraries. The parent imports the rest
where it needs them. Run it with::

    .venv/bin/python -m benchmarks.slack_bench --repeat 3
    .venv/bin/python -m benchmarks.slack_bench --scenario kpibot --variant answer-cache
    .venv/bin/python -m benchmarks.slack_bench --requests 300 --repeat 1 --profile

See ``benchmarks/README.md`` for the measured figures.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import dataclasses
import datetime as dt
import functools
import hashlib
import http.client
import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar
from urllib.parse import urlsplit

from gunicorn.app.base import BaseApplication
from slack_bolt import Ack, App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier

from benchmarks import common
from benchmarks.common import DATA_DIR, ROOT, ms
from bot.launch import LISTENING, ServedBot, serve_process
from bot.standin import DEFAULT_BOT_TOKEN, Call, SlackStandIn, signed_headers, slash_command_body
from bot.standin import server as standin_server

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

    from rich.console import Console
    from rich.table import Table

    from benchmarks.query_bench import Timings


#: The folders whose uncommitted changes a run reports.
WATCHED = ("kpi", "bot", "templates")
#: Bump when the generated store changes, so a stale cached one is never reused.
DATA_VERSION = 1
#: Account ``i`` is ``demo.generate(end, days=DAYS, seed=SEED + i)``.
SEED = 4_000
DAYS = 730
SECRET = "slack-bench-signing-secret"
EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
#: How the gunicorn options of ``kpibot serve`` reach the reference child.
OPTIONS_ENV = "SLACK_BENCH_GUNICORN_OPTIONS"
#: The instrumented bot (``--profile``) writes one JSON file per worker here when it exits.
PROFILE_DIR_ENV = "SLACK_BENCH_PROFILE_DIR"
#: ``plain``, ``phases`` or ``cprofile``: what the ``--serve-instrumented`` child records.
PROFILE_MODE_ENV = "SLACK_BENCH_PROFILE_MODE"
#: The ``--variant`` patches the ``--serve-instrumented`` child applies, joined by ``+``.
PATCHES_ENV = "SLACK_BENCH_PATCHES"
#: What a ``--variant`` may change in the bot's code (settings go in as ``name=value``).
PATCHES: dict[str, str] = {
    "ack-only": "handle_kpi acks and does nothing else (no answer is computed or sent)",
    "process-before-response": "App(process_before_response=True): the listener runs in the "
    "request thread instead of Bolt's listener pool, which Bolt polls every 10 ms for the ack",
    "answer-cache": "reply() remembers its message per (question, day) in each worker: an upper "
    "bound for caching answers until the next import",
}
#: The gunicorn options copied from ``kpibot serve`` to the reference (the rest are defaults).
COPIED_OPTIONS: tuple[str, ...] = (
    "bind",
    "workers",
    "threads",
    "worker_class",
    "timeout",
    "graceful_timeout",
    "keepalive",
    "worker_connections",
    "backlog",
    "loglevel",
    "errorlog",
)

#: What the clients ask, in turn: the common shapes of a marketer's day.
QUESTIONS: tuple[str, ...] = (
    "ctr last-week",
    "roas last-month by platform",
    "cpc this-month",
    "spend last-week by campaign",
    "reach last-week",
)

#: The stand-in's listen backlog (see :func:`standin`).
STANDIN_BACKLOG = 1024

TARGET_ACK_RATIO = 1.5
TARGET_ANSWER_P99_MS = 500.0
TARGET_ANSWERED_PER_S = 100.0

REFERENCE = "reference"
BOT = "kpibot"
BOT_ACK_PACED = "kpibot, ack-paced"
SCENARIOS: tuple[str, ...] = (REFERENCE, BOT, BOT_ACK_PACED)


@dataclass(frozen=True)
class Scenario:
    """A way of loading one of the served apps."""

    name: str
    #: Which served app: ``reference``, ``kpibot`` or a ``--variant``.
    app: str
    #: Each client waits for the answer before its next command (else only for the ack).
    wait_answer: bool
    #: Answers are expected (and waited for) at the response_urls.
    expect_answers: bool


BASE_SCENARIOS: tuple[Scenario, ...] = (
    Scenario(REFERENCE, REFERENCE, wait_answer=False, expect_answers=False),
    Scenario(BOT, BOT, wait_answer=True, expect_answers=True),
    Scenario(BOT_ACK_PACED, BOT, wait_answer=False, expect_answers=True),
)


@dataclass(frozen=True)
class Variant:
    """The bot with some settings or code changed (``--variant``), served beside the real one."""

    spec: str
    settings: dict[str, str]
    patches: tuple[str, ...]

    @classmethod
    def parse(cls, spec: str) -> Variant:
        """``answer-threads=2``, ``process-before-response``, or several joined by ``+``."""
        settings: dict[str, str] = {}
        patches: list[str] = []
        for item in spec.split("+"):
            name, equals, value = item.strip().partition("=")
            if equals:
                settings[f"KPIBOT_{name.strip().upper().replace('-', '_')}"] = value.strip()
            elif name in PATCHES:
                patches.append(name)
            else:
                raise argparse.ArgumentTypeError(
                    f"{item!r}: use setting=value (e.g. answer-threads=2) or one of "
                    f"{', '.join(PATCHES)}"
                )
        return cls(spec, settings, tuple(patches))

    @property
    def scenario(self) -> Scenario:
        """Loaded like ``kpibot``; an ``ack-only`` variant has no answers, so like the reference."""
        if "ack-only" in self.patches:
            return Scenario(f"kpibot with {self.spec}, ack-paced", self.spec, False, False)
        return Scenario(f"kpibot with {self.spec}", self.spec, True, True)


#: Starts of the failure replies (templates/error.json.j2 and failure.json.j2).
REFUSED_PREFIX = "I couldn't answer that"
FAILED_PREFIX = "Something went wrong"


# --------------------------------------------------------------------------------------------
# The reference: a minimal Bolt app that only acks, served like the bot
# --------------------------------------------------------------------------------------------


def _announce(server: Any) -> None:
    """The line ``ServedBot`` waits for, as ``kpibot serve`` prints it."""
    for listener in server.LISTENERS:
        print(f"{LISTENING}{listener}", file=sys.stderr, flush=True)


def reference_wsgi(signing_secret: str, token: str, api_url: str | None) -> WSGIApplication:
    """The minimal app: ``/kpi`` is acked and nothing else; ``/healthz`` for the launcher only.

    Its client is the bot's (same token, same API URL), so Bolt's per-worker ``auth.test``
    happens in both apps alike.
    """
    app = App(
        client=WebClient(token=token, base_url=api_url or WebClient.BASE_URL),
        signing_secret=signing_secret,
        token_verification_enabled=False,
    )

    @app.command("/kpi")
    def ack_only(ack: Ack) -> None:
        ack()

    bolt = SlackRequestHandler(app, path=EVENTS_PATH)
    healthy = json.dumps({"status": "ok"}).encode()

    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == HEALTH_PATH:
            start_response(
                "200 OK",
                [("Content-Type", "application/json"), ("Content-Length", str(len(healthy)))],
            )
            return [healthy]
        return bolt(environ, start_response)

    return application


class _ReferenceServer(BaseApplication):  # type: ignore[misc]
    """gunicorn with the options ``kpibot serve`` uses, serving :func:`reference_wsgi`."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        self.secret = os.environ.pop("SLACK_SIGNING_SECRET", "")
        self.token = os.environ.pop("SLACK_BOT_TOKEN", "")
        self.api_url = os.environ.get("SLACK_API_URL") or None
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)
        self.cfg.set("proc_name", "slack-bench-reference")
        self.cfg.set("when_ready", _announce)

    def load(self) -> WSGIApplication:
        return reference_wsgi(self.secret, self.token, self.api_url)


def serve_reference() -> None:
    """The ``--serve-reference`` child: gunicorn options from the parent, secrets from env."""
    _ReferenceServer(json.loads(os.environ[OPTIONS_ENV])).run()


def bot_gunicorn_options(env: dict[str, str]) -> dict[str, Any]:
    """The options ``kpibot serve`` gives gunicorn with ``env``, read from its own config class
    (in a child running the code under test: ``--child '{"mode": "options", ...}'``)."""
    from bot.serve import _Server  # noqa: PLC0415 - keeps the reference child light
    from bot.settings import Settings  # noqa: PLC0415

    settings = Settings.model_validate(
        {key: value for key, value in env.items() if key.startswith(("KPIBOT_", "PORT"))}
    )
    config = _Server(settings).cfg
    return {key: config.settings[key].value for key in COPIED_OPTIONS}


def start_reference(env: dict[str, str], options: dict[str, Any], code: Path) -> ServedBot:
    """The reference as a child process, started and awaited exactly as ``serve_process`` does."""
    full_env = {
        **os.environ,
        "KPIBOT_HOST": "127.0.0.1",
        "PORT": "0",
        **env,
        OPTIONS_ENV: json.dumps(options),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.slack_bench", "--serve-reference"],
        env=full_env,
        cwd=code,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    served = ServedBot(process)
    threading.Thread(target=served._pump, name="reference-log", daemon=True).start()
    served.wait_healthy()
    return served


def start_bot(
    env: dict[str, str],
    code: Path,
    *,
    mode: str = "plain",
    patches: Sequence[str] = (),
    profile_dir: Path | None = None,
) -> ServedBot:
    """``kpibot serve`` via ``serve_process``; instrumented (``mode``) or patched: this module's
    ``--serve-instrumented`` child, which runs ``kpibot serve`` after wrapping some functions."""
    if mode == "plain" and not patches:
        with contextlib.chdir(code):  # ``python -m bot`` imports from its working directory
            return serve_process(env)
    full_env = {
        **os.environ,
        "KPIBOT_HOST": "127.0.0.1",
        "PORT": "0",
        **env,
        PROFILE_MODE_ENV: mode,
        PATCHES_ENV: "+".join(patches),
        PROFILE_DIR_ENV: "" if profile_dir is None else str(profile_dir),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.slack_bench", "--serve-instrumented"],
        env=full_env,
        cwd=code,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    served = ServedBot(process)
    threading.Thread(target=served._pump, name="instrumented-log", daemon=True).start()
    served.wait_healthy(timeout=60)
    return served


# --------------------------------------------------------------------------------------------
# The store: demo rows over many accounts
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Store:
    rows: int
    accounts: int
    first_day: dt.date
    last_day: dt.date
    path: Path
    built_seconds: float | None

    @property
    def url(self) -> str:
        return f"sqlite:///{self.path}"


def _migrations_digest() -> str:
    """A fingerprint of the code under test's migrations: a store is cached per schema."""
    import kpi.store  # noqa: PLC0415 - runs in a child, from the code under test

    digest = hashlib.sha256()
    folder = Path(kpi.store.__file__).parent / "migrations"
    for path in sorted(folder.rglob("*.py")):
        digest.update(str(path.relative_to(folder)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:8]


def build_store(rows: int, end: dt.date, data_dir: Path) -> Store:
    """``rows`` demo rows ending on ``end``, reused from ``benchmarks/data/`` when cached.

    Runs in a child (``--child '{"mode": "store", ...}'``) from the code under test, so the
    generator, the importer and the schema are that code's. Account ``i`` gets two years of
    ``demo.generate`` with seed ``SEED + i``; the last account keeps only its newest rows, so the
    store holds exactly ``rows`` rows. The cache is keyed by rows, end date, the migrations'
    fingerprint and ``DATA_VERSION``; stores of an earlier end date are removed.
    """
    import pandas as pd  # noqa: PLC0415 - keeps the reference child light

    from benchmarks.query_bench import _sqlite_rows  # noqa: PLC0415
    from kpi import demo  # noqa: PLC0415
    from kpi.importers.reader import ReadOptions  # noqa: PLC0415
    from kpi.ingest import ingest_file  # noqa: PLC0415
    from kpi.store.engine import open_store  # noqa: PLC0415

    first_day = end - dt.timedelta(days=DAYS - 1)
    per_account = len(demo.generate(end, days=DAYS, seed=SEED))
    accounts = -(-rows // per_account)
    stem = f"slack_{rows}_demo_end{end:%Y%m%d}_m{_migrations_digest()}_v{DATA_VERSION}"
    path = data_dir / f"{stem}.db"
    if _sqlite_rows(path) == rows:
        return Store(rows, accounts, first_day, end, path, None)
    data_dir.mkdir(parents=True, exist_ok=True)
    for stale in data_dir.glob(f"slack_{rows}_demo_end*.db*"):
        if f"_end{end:%Y%m%d}_" not in stale.name or stale.name.startswith(stem):
            print(f"removing {stale.name}", file=sys.stderr, flush=True)
            stale.unlink()
    started = time.perf_counter()
    frames = []
    remaining = rows
    for account in range(accounts):
        frame = demo.generate(end, days=DAYS, seed=SEED + account).assign(
            account=f"acct-{account:02d}"
        )
        frames.append(frame.tail(remaining) if len(frame) > remaining else frame)
        remaining -= len(frames[-1])
    combined = pd.concat(frames, ignore_index=True)
    csv = path.with_suffix(f".{os.getpid()}.csv")
    combined.to_csv(csv, index=False)
    del frames, combined
    print(f"generated {rows:,} demo rows over {accounts} accounts; importing ...", file=sys.stderr)
    engine = open_store(f"sqlite:///{path}")
    try:
        report = ingest_file(
            engine,
            csv,
            ReadOptions(today=end + dt.timedelta(days=1)),
            now=dt.datetime.now(dt.UTC),
            source="canonical",
        )
    finally:
        engine.dispose()
        csv.unlink()
    if report.rows_written != rows or _sqlite_rows(path) != rows:
        raise RuntimeError(f"the import wrote {report.rows_written:,} rows, not {rows:,}")
    return Store(rows, accounts, first_day, end, path, time.perf_counter() - started)


def demo_store(rows: int, end: dt.date, code: Path) -> Store:
    """:func:`build_store` in a child running the code under test."""
    spec = {"mode": "store", "rows": rows, "end": end.isoformat(), "data_dir": str(DATA_DIR)}
    found = run_child(spec, code)
    return Store(
        rows=found["rows"],
        accounts=found["accounts"],
        first_day=dt.date.fromisoformat(found["first_day"]),
        last_day=dt.date.fromisoformat(found["last_day"]),
        path=Path(found["path"]),
        built_seconds=found["built_seconds"],
    )


# --------------------------------------------------------------------------------------------
# Children and the code under test
# --------------------------------------------------------------------------------------------


def child_env(code: Path) -> dict[str, str]:
    """What makes a child import ``kpi``, ``bot`` and ``benchmarks`` from ``code``."""
    inherited = os.environ.get("PYTHONPATH")
    return {"PYTHONPATH": str(code) + (f"{os.pathsep}{inherited}" if inherited else "")}


def run_child(spec: dict[str, Any], code: Path) -> Any:
    """``python -m benchmarks.slack_bench --child SPEC`` from ``code``; its last stdout line."""
    finished = subprocess.run(
        [sys.executable, "-m", "benchmarks.slack_bench", "--child", json.dumps(spec)],
        cwd=code,
        env={**os.environ, **child_env(code)},
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    return json.loads(finished.stdout.strip().splitlines()[-1])


def _child_main(argument: str) -> None:
    spec = json.loads(argument)
    found: Any
    if spec["mode"] == "store":
        store = build_store(
            int(spec["rows"]), dt.date.fromisoformat(spec["end"]), Path(spec["data_dir"])
        )
        found = {**asdict(store), "path": str(store.path)}
    elif spec["mode"] == "options":
        found = bot_gunicorn_options(spec["env"])
    elif spec["mode"] == "alone":
        found = alone(spec["url"])
    else:
        raise ValueError(f"unknown child mode {spec['mode']!r}")
    print(json.dumps(found, default=str))


def code_under_test(revision: str, scratch: Path) -> tuple[Path, str]:
    """The directory every child (store build, reference, bot) runs from, and what it holds.

    Others edit ``bot/`` and ``kpi/`` while a run goes on, and a half-edited working tree may
    not even start, so by default the children import a snapshot of a commit (``git archive``
    of bot/, kpi/, templates/, tests/ and benchmarks/, read-only) with the working tree's
    benchmark files copied over it; ``worktree`` measures the files as they are. The load
    generator and the stand-in always run from the working tree, in this process.
    """
    if revision == "worktree":
        return ROOT, f"working tree at {common.revision('kpi', 'bot', 'templates')}"

    def git(*args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, check=True)

    commit = git("rev-parse", "--verify", f"{revision}^{{commit}}").stdout.decode().strip()
    archive = git(
        "archive", "--format=tar", commit, "bot", "kpi", "templates", "tests", "benchmarks"
    )
    target = scratch / "code"
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(target, filter="data")
    common.copy_benchmarks(target)
    subject = git("log", "-1", "--format=%h %s", commit).stdout.decode().strip()
    return target, f"commit {subject[:100]} (snapshot of bot/, kpi/, templates/)"


# --------------------------------------------------------------------------------------------
# The load generator
# --------------------------------------------------------------------------------------------


@dataclass
class Sent:
    """One slash command: when it left, when its ack came back, what reached its response_url."""

    text: str
    response_url: str
    sent: float = 0.0
    acked: float | None = None
    status: int | None = None
    error: str | None = None
    answers: list[Call] = field(default_factory=list)
    answered: threading.Event = field(default_factory=threading.Event)

    @property
    def ack_ms(self) -> float | None:
        return None if self.acked is None else (self.acked - self.sent) * 1000

    @property
    def answer_ms(self) -> float | None:
        return (self.answers[0].at - self.sent) * 1000 if self.answers else None


class Tracker:
    """Told of every call the stand-in records; matches response_url posts to their command."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._expected: dict[str, Sent] = {}
        self.stray = 0

    def expect(self, sent: Sent) -> None:
        with self._lock:
            self._expected[sent.response_url] = sent

    def on_call(self, call: Call) -> None:
        if call.method != "response_url":
            return
        with self._lock:
            sent = self._expected.get(call.url)
            if sent is None:
                self.stray += 1
                return
            sent.answers.append(call)
        sent.answered.set()


class _Plan:
    """Hands out request numbers until ``total`` were taken."""

    def __init__(self, total: int) -> None:
        self._lock = threading.Lock()
        self._next = 0
        self.total = total

    def take(self) -> int | None:
        with self._lock:
            if self._next >= self.total:
                return None
            taken = self._next
            self._next += 1
            return taken


_STALE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)


@dataclass
class _Client:
    """One load-generating thread with a persistent connection (re-opened when dropped)."""

    host: str
    port: int
    slack: SlackStandIn
    tracker: Tracker
    wait_answer: bool
    answer_timeout: float
    sent: list[Sent] = field(default_factory=list)
    reconnects: int = 0
    _connection: http.client.HTTPConnection | None = None
    _reused: bool = False

    def _post(self, body: bytes, headers: dict[str, str]) -> int:
        """POST once; a keep-alive connection the server closed meanwhile is re-opened once."""
        for attempt in (1, 2):
            if self._connection is None:
                self._connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
                self._reused = False
            try:
                self._connection.request("POST", EVENTS_PATH, body, headers)
                response = self._connection.getresponse()
                response.read()
            except (http.client.HTTPException, OSError) as error:
                self._connection.close()
                self._connection = None
                if attempt == 1 and self._reused and isinstance(error, _STALE):
                    self.reconnects += 1
                    continue
                raise
            if response.will_close:
                self._connection.close()
                self._connection = None
            else:
                self._reused = True
            return response.status
        raise AssertionError("unreachable")

    def run(self, plan: _Plan, start: threading.Barrier) -> None:
        start.wait()
        while (number := plan.take()) is not None:
            sent = Sent(QUESTIONS[number % len(QUESTIONS)], self.slack.response_url())
            self.tracker.expect(sent)
            body = slash_command_body(sent.text, response_url=sent.response_url)
            headers = signed_headers(SECRET, body)
            self.sent.append(sent)
            sent.sent = time.monotonic()
            try:
                sent.status = self._post(body, headers)
                sent.acked = time.monotonic()
            except (http.client.HTTPException, OSError) as error:
                sent.error = f"{type(error).__name__}: {error}"
                continue
            if self.wait_answer and sent.status == 200:
                sent.answered.wait(self.answer_timeout)
        if self._connection is not None:
            self._connection.close()


@dataclass
class Result:
    """One scenario of one run: the raw per-request figures and what went wrong."""

    scenario: str
    requests: int
    concurrency: int
    ack_ms: list[float]
    answer_ms: list[float]
    #: First send to last ack, and first send to last answer (seconds).
    ack_wall_s: float
    answer_wall_s: float
    acked: int
    answered: int
    ack_errors: int
    missing: int
    duplicates: int
    refused: int
    failed: int
    reconnects: int
    stray: int
    load_average: str
    #: The first few problems, verbatim, to say what went wrong.
    problems: list[str] = field(default_factory=list)
    #: CPU seconds of the served app (arbiter + workers) and of this process (clients + stand-in)
    #: from the first send until the last answer arrived.
    server_cpu_s: float = 0.0
    client_cpu_s: float = 0.0
    #: Cores' worth of CPU that other processes (other benchmarks, test suites) used meanwhile.
    others_cores: float = 0.0
    answers_expected: bool = True

    @property
    def errors(self) -> int:
        return self.ack_errors + self.missing + self.duplicates + self.refused + self.failed

    @property
    def acks_per_s(self) -> float:
        return self.acked / self.ack_wall_s if self.ack_wall_s > 0 else 0.0

    @property
    def answered_per_s(self) -> float:
        return self.answered / self.answer_wall_s if self.answer_wall_s > 0 else 0.0


def _kind(call: Call) -> str:
    text = str(call.params.get("text", ""))
    if call.status != 200:
        return "rejected by the stand-in"
    if text.startswith(REFUSED_PREFIX):
        return "refused"
    if text.startswith(FAILED_PREFIX):
        return "failed"
    return "answer"


def load(
    served: ServedBot,
    slack: SlackStandIn,
    tracker: Tracker,
    *,
    scenario: str,
    requests: int,
    concurrency: int,
    wait_answer: bool,
    expect_answers: bool,
    answer_timeout: float,
) -> Result:
    """Send ``requests`` signed commands from ``concurrency`` threads; wait for every answer."""
    split = urlsplit(served.url)
    host, port = split.hostname or "127.0.0.1", split.port or 80
    clients = [
        _Client(host, port, slack, tracker, wait_answer, answer_timeout) for _ in range(concurrency)
    ]
    plan = _Plan(requests)
    start = threading.Barrier(concurrency)
    threads = [
        threading.Thread(target=client.run, args=(plan, start), name=f"client-{number}")
        for number, client in enumerate(clients)
    ]
    server_cpu, client_cpu = _tree_cpu(served.process.pid), time.process_time()
    busy, started = _machine_busy(), time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sent = [item for client in clients for item in client.sent]
    if expect_answers:
        deadline = time.monotonic() + answer_timeout
        for item in sent:
            if item.status == 200:
                item.answered.wait(max(0.0, deadline - time.monotonic()))
    server_cpu = _tree_cpu(served.process.pid) - server_cpu
    client_cpu = time.process_time() - client_cpu
    others = (_machine_busy() - busy - server_cpu - client_cpu) / (time.monotonic() - started)
    if expect_answers:
        time.sleep(0.2)  # a duplicate answer would arrive about now
    result = _result(scenario, sent, concurrency, clients, tracker, expect_answers)
    result.answers_expected = expect_answers
    return dataclasses.replace(
        result, server_cpu_s=server_cpu, client_cpu_s=client_cpu, others_cores=max(0.0, others)
    )


def _machine_busy() -> float:
    """CPU seconds the whole machine has been busy (all cores, all processes)."""
    import psutil  # noqa: PLC0415 - keeps the reference child light

    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


def _tree_cpu(pid: int) -> float:
    """User + system CPU seconds of a process and its children so far (gunicorn's workers)."""
    import psutil  # noqa: PLC0415 - keeps the reference child light

    total = 0.0
    with contextlib.suppress(psutil.Error):
        root = psutil.Process(pid)
        for process in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                times = process.cpu_times()
                total += times.user + times.system
    return total


def _result(
    scenario: str,
    sent: list[Sent],
    concurrency: int,
    clients: list[_Client],
    tracker: Tracker,
    expect_answers: bool,
) -> Result:
    problems: list[str] = []
    acked = [item for item in sent if item.status == 200 and item.acked is not None]
    ack_errors = len(sent) - len(acked)
    problems += [
        f"ack: {item.error or item.status}"
        for item in sent
        if item.status != 200 or item.acked is None
    ][:5]
    first = min(item.sent for item in sent)
    kinds = {"refused": 0, "failed": 0, "missing": 0, "duplicates": 0}
    answered: list[Sent] = []
    if expect_answers:
        for item in acked:
            if not item.answers:
                kinds["missing"] += 1
                continue
            if len(item.answers) > 1:
                kinds["duplicates"] += 1
            kind = _kind(item.answers[0])
            if kind == "answer":
                answered.append(item)
            else:
                kinds["failed" if kind == "failed" else "refused"] += 1
                if len(problems) < 10:
                    problems.append(f"{item.text!r}: {kind}: {item.answers[0].params.get('text')}")
    last_ack = max((item.acked for item in acked if item.acked is not None), default=first)
    last_answer = max((item.answers[0].at for item in answered), default=first)
    return Result(
        scenario=scenario,
        requests=len(sent),
        concurrency=concurrency,
        ack_ms=[item.ack_ms for item in acked if item.ack_ms is not None],
        answer_ms=[item.answer_ms for item in answered if item.answer_ms is not None],
        ack_wall_s=last_ack - first,
        answer_wall_s=last_answer - first,
        acked=len(acked),
        answered=len(answered),
        ack_errors=ack_errors,
        missing=kinds["missing"],
        duplicates=kinds["duplicates"],
        refused=kinds["refused"],
        failed=kinds["failed"],
        reconnects=sum(client.reconnects for client in clients),
        stray=tracker.stray,
        load_average=" ".join(f"{value:.2f}" for value in os.getloadavg()),
        problems=problems,
    )


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------


def _timings(name: str, ms: list[float]) -> Timings | None:
    from benchmarks.query_bench import Timings  # noqa: PLC0415 - keeps the reference light

    return Timings(name, ms, float("nan")) if ms else None


@dataclass
class Figures:
    """What the tables show for one scenario (of one run, or medians over the runs)."""

    scenario: str
    requests: int
    errors: int
    ack_p50: float | None
    ack_p95: float | None
    ack_p99: float | None
    answer_p50: float | None
    answer_p95: float | None
    answer_p99: float | None
    acks_per_s: float
    answered_per_s: float | None
    server_cpu_ms: float
    client_cpu_ms: float
    others_cores: float
    #: This scenario's ack p99 / the reference's in the same run (a median of those over runs).
    ack_ratio: float | None = None

    @classmethod
    def of(cls, result: Result, reference: Result | None = None) -> Figures:
        ack = _timings("ack", result.ack_ms)
        answer = _timings("answer", result.answer_ms)
        theirs = _timings("ack", reference.ack_ms) if reference is not None else None
        return cls(
            scenario=result.scenario,
            requests=result.requests,
            errors=result.errors,
            ack_p50=ack.p50 if ack else None,
            ack_p95=ack.p95 if ack else None,
            ack_p99=ack.p99 if ack else None,
            answer_p50=answer.p50 if answer else None,
            answer_p95=answer.p95 if answer else None,
            answer_p99=answer.p99 if answer else None,
            acks_per_s=result.acks_per_s,
            answered_per_s=result.answered_per_s if result.answers_expected else None,
            server_cpu_ms=result.server_cpu_s * 1000 / max(result.requests, 1),
            client_cpu_ms=result.client_cpu_s * 1000 / max(result.requests, 1),
            others_cores=result.others_cores,
            ack_ratio=ack.p99 / theirs.p99
            if ack and theirs and theirs.p99 and reference is not result
            else None,
        )

    @classmethod
    def median(cls, runs: Sequence[Figures]) -> Figures:
        def mid(values: Iterable[float | None]) -> float | None:
            found = [value for value in values if value is not None]
            return statistics.median(found) if found else None

        return cls(
            scenario=runs[0].scenario,
            requests=sum(run.requests for run in runs),
            errors=sum(run.errors for run in runs),
            ack_p50=mid(run.ack_p50 for run in runs),
            ack_p95=mid(run.ack_p95 for run in runs),
            ack_p99=mid(run.ack_p99 for run in runs),
            answer_p50=mid(run.answer_p50 for run in runs),
            answer_p95=mid(run.answer_p95 for run in runs),
            answer_p99=mid(run.answer_p99 for run in runs),
            acks_per_s=statistics.median(run.acks_per_s for run in runs),
            answered_per_s=mid(run.answered_per_s for run in runs),
            server_cpu_ms=statistics.median(run.server_cpu_ms for run in runs),
            client_cpu_ms=statistics.median(run.client_cpu_ms for run in runs),
            others_cores=statistics.median(run.others_cores for run in runs),
            ack_ratio=mid(run.ack_ratio for run in runs),
        )


@dataclass(frozen=True)
class Verdict:
    target: str
    value: str
    passed: bool


def verdicts(bot: Figures, reference: Figures) -> list[Verdict]:
    """The three targets, judged on the ``kpibot`` scenario (50 commands in flight)."""
    ratio = bot.ack_ratio
    return [
        Verdict(
            f"ack p99 <= {TARGET_ACK_RATIO}x the reference's (median of the runs' ratios)",
            "n/a"
            if ratio is None
            else f"{ratio:.2f}x (median p99s {ms(bot.ack_p99)} / {ms(reference.ack_p99)} ms)",
            ratio is not None and ratio <= TARGET_ACK_RATIO,
        ),
        Verdict(
            f"answer p99 <= {TARGET_ANSWER_P99_MS:.0f} ms",
            "n/a" if bot.answer_p99 is None else f"{bot.answer_p99:,.0f} ms",
            bot.answer_p99 is not None and bot.answer_p99 <= TARGET_ANSWER_P99_MS,
        ),
        Verdict(
            f">= {TARGET_ANSWERED_PER_S:.0f} answered commands/s",
            f"{bot.answered_per_s or 0:,.1f}/s",
            (bot.answered_per_s or 0) >= TARGET_ANSWERED_PER_S,
        ),
        Verdict("every command answered once, no errors", f"{bot.errors} errors", not bot.errors),
    ]


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


TABLE_CAPTION = (
    "ack = request sent -> HTTP 200 received; answer = request sent -> the post to its "
    "response_url arrived at the stand-in. acks/s = acks / (first send -> last ack); answered/s "
    "= answers / (first send -> last answer). app CPU = CPU of the served app's processes per "
    "command; client CPU = this process's (load generator and stand-in); others' cores = CPU "
    "that other processes on the machine used meanwhile."
)


def figures_table(title: str, rows: Sequence[Figures]) -> Table:
    from rich.table import Table  # noqa: PLC0415

    table = Table(title=title, caption=TABLE_CAPTION)
    table.add_column("scenario")
    table.add_column("requests", justify="right")
    table.add_column("errors", justify="right")
    for what in ("ack", "answer"):
        for quantile in ("p50", "p95", "p99"):
            table.add_column(f"{what}\n{quantile} ms", justify="right")
    table.add_column("acks/s", justify="right")
    table.add_column("answered/s", justify="right")
    table.add_column("ack p99 /\nreference", justify="right")
    table.add_column("app CPU\nms/cmd", justify="right")
    table.add_column("client CPU\nms/cmd", justify="right")
    table.add_column("others'\ncores", justify="right")
    for row in rows:
        ratio = row.ack_ratio
        table.add_row(
            row.scenario,
            f"{row.requests:,}",
            str(row.errors),
            ms(row.ack_p50),
            ms(row.ack_p95),
            ms(row.ack_p99),
            ms(row.answer_p50),
            ms(row.answer_p95),
            ms(row.answer_p99),
            f"{row.acks_per_s:,.0f}",
            "" if row.answered_per_s is None else f"{row.answered_per_s:,.1f}",
            "" if ratio is None else f"{ratio:.2f}x",
            f"{row.server_cpu_ms:.1f}",
            f"{row.client_cpu_ms:.1f}",
            f"{row.others_cores:.2f}",
        )
    return table


def verdict_table(found: Sequence[Verdict]) -> Table:
    from rich.table import Table  # noqa: PLC0415

    table = Table(title="Targets (scenario 'kpibot': 50 commands in flight, medians over runs)")
    table.add_column("target")
    table.add_column("measured")
    table.add_column("")
    for verdict in found:
        table.add_row(
            verdict.target, verdict.value, "[green]pass[/]" if verdict.passed else "[red]FAIL[/]"
        )
    return table


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.slack_bench", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="demo rows in the store")
    parser.add_argument("--requests", type=int, default=1_000, help="timed requests per scenario")
    parser.add_argument("--concurrency", type=int, default=50, help="concurrent clients")
    parser.add_argument("--warmup", type=int, default=50, help="untimed requests per app first")
    parser.add_argument("--repeat", type=int, default=3, help="runs of every scenario (medians)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (both apps)")
    parser.add_argument("--threads", type=int, default=16, help="gunicorn threads per worker")
    parser.add_argument(
        "--answer-threads", type=int, help="KPIBOT_ANSWER_THREADS (default: the bot's own)"
    )
    parser.add_argument(
        "--answer-timeout", type=float, default=120.0, help="seconds to wait for the answers"
    )
    parser.add_argument(
        "--scenario",
        action="append",
        choices=SCENARIOS,
        help="only this scenario (repeatable; the reference always runs)",
    )
    parser.add_argument(
        "--variant",
        action="append",
        type=Variant.parse,
        default=[],
        help="also serve a changed bot and load it like 'kpibot': setting=value "
        "(answer-threads=2, web-workers=4: the KPIBOT_ settings) and/or "
        f"{' / '.join(PATCHES)}, joined by + (repeatable)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="then serve an instrumented bot (phase timing, cProfile per thread) and report it",
    )
    parser.add_argument(
        "--profile-requests", type=int, default=500, help="commands per instrumented run"
    )
    parser.add_argument("--top", type=int, default=30, help="cProfile functions to print")
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    parser.add_argument(
        "--code",
        default="HEAD",
        help="the commit whose bot/, kpi/ and templates/ the children run (a git archive), or "
        "'worktree' for the files as they are",
    )
    parser.add_argument("--serve-reference", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--serve-instrumented", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def standin(tracker: Tracker) -> SlackStandIn:
    """The Slack stand-in, told of every call, with a listen backlog of ``STANDIN_BACKLOG``.

    Its server is the stdlib's ``ThreadingHTTPServer``, whose backlog is 5: with 50 clients the
    bot's posts to response_urls then meet connection resets and retry, and the benchmark would
    time the stand-in rather than the bot. Real Slack has no such limit, so the class attribute
    is raised here, in this process only.
    """
    standin_server._HTTPServer.request_queue_size = STANDIN_BACKLOG
    return SlackStandIn(on_call=tracker.on_call)


def bot_env(store: Store, slack: SlackStandIn, arguments: argparse.Namespace) -> dict[str, str]:
    env = {
        "DATABASE_URL": store.url,
        "SLACK_BOT_TOKEN": DEFAULT_BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_APP_TOKEN": "",
        "SLACK_API_URL": slack.api_url,
        "KPIBOT_HOST": "127.0.0.1",
        "PORT": "0",
        "KPIBOT_TIMEZONE": "UTC",
        "KPIBOT_LOG_LEVEL": "WARNING",
        "KPIBOT_WEB_WORKERS": str(arguments.workers),
        "KPIBOT_WEB_THREADS": str(arguments.threads),
        **child_env(arguments.code_dir),
    }
    if arguments.answer_threads is not None:
        env["KPIBOT_ANSWER_THREADS"] = str(arguments.answer_threads)
    return env


@contextlib.contextmanager
def _servers(
    env: dict[str, str],
    options: dict[str, Any],
    variants: Sequence[Variant],
    code: Path,
    console: Console,
) -> Iterator[dict[str, ServedBot]]:
    """The reference, the bot and each variant, each a child process on a port of its own."""
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        served = {
            REFERENCE: stack.enter_context(start_reference(env, options, code)),
            BOT: stack.enter_context(start_bot(env, code)),
        }
        for variant in variants:
            served[variant.spec] = stack.enter_context(
                start_bot({**env, **variant.settings}, code, patches=variant.patches)
            )
        console.print(
            "serving: "
            + ", ".join(f"{name} at {app.url}" for name, app in served.items())
            + f" ({time.perf_counter() - started:.1f} s to start)"
        )
        yield served
        for name, app in served.items():
            errors = [line for line in app.log if "Traceback" in line or "ERROR" in line]
            if errors:
                console.print(f"[red]{name} logged errors:[/] " + "".join(errors[:5]))


def _run_scenario(
    scenario: Scenario,
    served: dict[str, ServedBot],
    slack: SlackStandIn,
    tracker: Tracker,
    arguments: argparse.Namespace,
    requests: int,
) -> Result:
    return load(
        served[scenario.app],
        slack,
        tracker,
        scenario=scenario.name,
        requests=requests,
        concurrency=arguments.concurrency,
        wait_answer=scenario.wait_answer,
        expect_answers=scenario.expect_answers,
        answer_timeout=arguments.answer_timeout,
    )


def _progress(console: Console, run: int, result: Result) -> None:
    figures = Figures.of(result)
    answered = (
        ""
        if not result.answers_expected
        else f"; answer p50/p99 {ms(figures.answer_p50)}/{ms(figures.answer_p99)} ms, "
        f"{result.answered_per_s:,.1f} answered/s"
    )
    console.print(
        f"run {run} {result.scenario}: ack p50/p99 {ms(figures.ack_p50)}/{ms(figures.ack_p99)} "
        f"ms, {result.acks_per_s:,.0f} acks/s{answered}; errors {result.errors}, reconnects "
        f"{result.reconnects}; other processes used {result.others_cores:.2f} cores; load "
        f"average {result.load_average}"
    )
    for problem in result.problems:
        console.print(f"  [red]{problem}[/]")


def scenarios_of(arguments: argparse.Namespace) -> list[Scenario]:
    """The reference, the selected bot scenarios, then one per ``--variant``."""
    chosen = [
        scenario
        for scenario in BASE_SCENARIOS
        if scenario.name == REFERENCE
        or not arguments.scenario
        or scenario.name in arguments.scenario
    ]
    return chosen + [variant.scenario for variant in arguments.variant]


def measure(store: Store, arguments: argparse.Namespace, console: Console) -> list[list[Result]]:
    """``--repeat`` runs of every scenario against one process per app, all started once."""
    tracker = Tracker()
    scenarios = scenarios_of(arguments)
    runs: list[list[Result]] = []
    with standin(tracker) as slack:
        env = bot_env(store, slack, arguments)
        options = run_child({"mode": "options", "env": env}, arguments.code_dir)
        console.print(f"gunicorn options (both apps): {options}")
        with _servers(env, options, arguments.variant, arguments.code_dir, console) as served:
            warmed: set[str] = set()
            for scenario in scenarios:
                if scenario.app not in warmed:
                    warmed.add(scenario.app)
                    warm = _run_scenario(
                        scenario, served, slack, tracker, arguments, arguments.warmup
                    )
                    if warm.errors:
                        _progress(console, 0, warm)
            for run in range(1, arguments.repeat + 1):
                # Alternate the order, so a drift in the machine's load favours no scenario.
                order = scenarios if run % 2 else scenarios[::-1]
                results = {}
                for scenario in order:
                    result = _run_scenario(
                        scenario, served, slack, tracker, arguments, arguments.requests
                    )
                    _progress(console, run, result)
                    results[scenario.name] = result
                runs.append([results[scenario.name] for scenario in scenarios])
    return runs


def report(runs: list[list[Result]], console: Console) -> dict[str, Any]:
    per_run = [
        [
            Figures.of(result, next(r for r in results if r.scenario == REFERENCE))
            for result in results
        ]
        for results in runs
    ]
    for number, figures in enumerate(per_run, start=1):
        console.print(figures_table(f"Run {number}", figures))
    medians = [
        Figures.median([figures[index] for figures in per_run]) for index in range(len(per_run[0]))
    ]
    console.print(
        figures_table(
            f"Medians over {len(per_run)} run(s): each cell is the median of the runs' figures "
            "(the ratio too: the median of the runs' ratios)",
            medians,
        )
    )
    found = {row.scenario: row for row in medians}
    judged = verdicts(found[BOT], found[REFERENCE]) if BOT in found else []
    if judged:
        console.print(verdict_table(judged))
    if BOT_ACK_PACED in found:
        ratio = found[BOT_ACK_PACED].ack_ratio
        console.print(
            f"ack-paced (loaded exactly like the reference): ack p99 "
            f"{'n/a' if ratio is None else f'{ratio:.2f}x'} the reference's; "
            f"{found[BOT_ACK_PACED].answered_per_s or 0:,.1f} answered/s when saturated"
        )
    return {
        "runs": [[asdict(figures) for figures in run] for run in per_run],
        "medians": [asdict(row) for row in medians],
        "targets": [asdict(verdict) for verdict in judged],
        "raw": [[asdict(result) for result in results] for results in runs],
    }


def main(argv: Sequence[str] | None = None) -> None:
    arguments = _arguments(argv)
    if arguments.serve_reference:
        serve_reference()
        return
    if arguments.serve_instrumented:
        serve_instrumented()
        return
    if arguments.child is not None:
        _child_main(arguments.child)
        return
    import tempfile  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="slack-bench-code-") as scratch:
        arguments.code_dir, code = code_under_test(arguments.code, Path(scratch))
        _main(arguments, code)


def _main(arguments: argparse.Namespace, code: str) -> None:
    from benchmarks.ingest_bench import machine  # noqa: PLC0415

    console = common.console()
    console.print(f"code under test: {code}")
    end = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    store = demo_store(arguments.rows, end, arguments.code_dir)
    info = {
        "code under test": code,
        "working tree": common.revision(*WATCHED),
        **machine(),
    }
    console.print("machine: " + ", ".join(f"{key} {value}" for key, value in info.items()))
    console.print(
        f"store: {store.rows:,} demo rows, {store.accounts} accounts x {DAYS} days "
        f"({store.first_day} .. {store.last_day}), {store.path.relative_to(ROOT)} "
        f"({'built now' if store.built_seconds is not None else 'cached'}); "
        f"{arguments.concurrency} clients, {arguments.requests} requests per scenario, "
        f"{arguments.workers} workers x {arguments.threads} threads"
    )
    runs = measure(store, arguments, console)
    found = report(runs, console)
    found["machine"] = info
    found["load average at the end"] = " ".join(f"{value:.2f}" for value in os.getloadavg())
    found["store"] = {**asdict(store), "path": str(store.path)}
    found["arguments"] = {
        key: str(value) for key, value in vars(arguments).items() if key != "code_dir"
    }
    if arguments.profile:
        found["profile"] = profile(store, arguments, console)
    if arguments.json is not None:
        arguments.json.write_text(json.dumps(found, indent=2, default=str))


# --------------------------------------------------------------------------------------------
# Where the time goes: an instrumented ``kpibot serve`` (--profile)
# --------------------------------------------------------------------------------------------

PHASES = "phases"
CPROFILE = "cprofile"
#: The kinds of thread in a bot worker, as the profiles are grouped.
ROLES: tuple[str, ...] = ("request", "listener", "answer")

P = ParamSpec("P")
T = TypeVar("T")


class _Probe:
    """What one worker of the instrumented bot records; written to files when the worker exits.

    In ``phases`` mode: the server-side time of each ``POST /slack/events``, per answer its wait
    in the answer pool, ``reply()`` and the post to the response_url, and the exclusive time of
    the wrapped functions (``benchmarks.ingest_bench.Phases``, summed over threads). In
    ``cprofile`` mode: one profiler per thread, enabled only while that thread runs the bot's
    code (a request, a listener, an answer), merged per kind of thread.
    """

    def __init__(self, mode: str, folder: Path) -> None:
        from benchmarks.ingest_bench import Phases  # noqa: PLC0415 - instrumented child only

        self.mode = mode
        self.folder = folder
        self.phases = Phases()
        self.lock = threading.Lock()
        self.local = threading.local()
        self.requests_ms: list[float] = []
        self.jobs: list[dict[str, Any]] = []
        self.profilers: dict[str, list[cProfile.Profile]] = {}

    def profiled(self, role: str, function: Callable[P, T]) -> Callable[P, T]:
        """``function`` under this thread's profiler for ``role`` (outermost call only)."""
        if self.mode != CPROFILE:
            return function

        @functools.wraps(function)
        def run(*args: P.args, **kwargs: P.kwargs) -> T:
            if getattr(self.local, "profiling", False):
                return function(*args, **kwargs)
            mine: dict[str, cProfile.Profile] = self.local.__dict__.setdefault("profilers", {})
            profiler = mine.get(role)
            if profiler is None:
                profiler = mine[role] = cProfile.Profile()
                with self.lock:
                    self.profilers.setdefault(role, []).append(profiler)
            self.local.profiling = True
            profiler.enable()
            try:
                return function(*args, **kwargs)
            finally:
                profiler.disable()
                self.local.profiling = False

        return run

    def timed(self, label: str, function: Callable[P, T]) -> Callable[P, T]:
        return self.phases.wrap(label, function) if self.mode == PHASES else function

    def job(self) -> dict[str, Any] | None:
        found: dict[str, Any] | None = getattr(self.local, "job", None)
        return found

    def worker_exit(self, server: Any, worker: Any) -> None:
        """gunicorn's hook (it checks the arity): the worker is done, write what it recorded."""
        self.dump()

    def dump(self) -> None:
        """One JSON file (and a .prof file per kind of thread) for this worker."""
        pid = os.getpid()
        with self.lock:
            found = {
                "pid": pid,
                "requests_ms": list(self.requests_ms),
                "jobs": list(self.jobs),
                "phases": {
                    name.removeprefix("reader thread: "): [seconds, self.phases.calls[name]]
                    for name, seconds in self.phases.seconds.items()
                },
            }
            profilers = {role: list(found) for role, found in self.profilers.items()}
        (self.folder / f"{pid}.json").write_text(json.dumps(found))
        for role, found_profilers in profilers.items():
            pstats.Stats(*found_profilers).dump_stats(self.folder / f"{pid}-{role}.prof")


class _TimedExecutor(Executor):
    """The answer pool, timing each job's wait in the queue and its run."""

    def __init__(self, inner: Executor, probe: _Probe) -> None:
        self.inner = inner
        self.probe = probe

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        queued = time.perf_counter()
        probe = self.probe
        work = probe.profiled("answer", fn)

        def job() -> T:
            started = time.perf_counter()
            record: dict[str, Any] = {"wait_ms": (started - queued) * 1000}
            probe.local.job = record
            try:
                return work(*args, **kwargs)
            finally:
                record["run_ms"] = (time.perf_counter() - started) * 1000
                probe.local.job = None
                with probe.lock:
                    probe.jobs.append(record)

        return self.inner.submit(job)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.inner.shutdown(wait, cancel_futures=cancel_futures)


def _replace(owner: object, attribute: str, wrap: Callable[[Any], Any]) -> bool:
    """``owner.attribute = wrap(owner.attribute)``; False when the code has no such attribute."""
    original = getattr(owner, attribute, None)
    if original is None:
        return False
    setattr(owner, attribute, wrap(original))
    return True


def _instrument_bot(probe: _Probe) -> list[str]:
    """Wrap the bot's steps in place (in the instrumented child only); return what is missing.

    ``kpibot serve`` itself then runs unchanged: its ``_Server.load`` calls the wrapped
    ``build_services`` and ``wsgi_app``, and ``listeners.register`` the wrapped ``handle_kpi``.
    """
    import bot.listeners.commands as commands  # noqa: PLC0415 - instrumented child only
    import bot.replies as replies  # noqa: PLC0415
    import bot.serve as serve_module  # noqa: PLC0415
    from bot.rendering import Message, Renderer  # noqa: PLC0415
    from kpi import grammar, targets  # noqa: PLC0415

    missing: list[str] = []
    if probe.mode == PHASES:
        from benchmarks.query_bench import _instrument  # noqa: PLC0415

        missing += _instrument(probe.phases)
        for owner, attribute, label in (
            (SlackRequestHandler, "__call__", "ack: Bolt's WSGI adapter (request -> response)"),
            (App, "dispatch", "ack: Bolt dispatch (middleware, listener runner, wait for ack)"),
            (SignatureVerifier, "is_valid_request", "ack: signature check"),
            (grammar, "parse", "answer: grammar.parse"),
            (targets, "load", "answer: targets.load"),
            (Renderer, "answer", "answer: render the Block Kit message"),
            (Message, "payload", "answer: Message.payload"),
        ):
            if not _replace(owner, attribute, functools.partial(probe.phases.wrap, label)):
                missing.append(f"{getattr(owner, '__name__', owner)}.{attribute}")

    def listener(handle_kpi: Callable[..., None]) -> Callable[..., None]:
        return probe.profiled(
            "listener", probe.timed("listener: handle_kpi (ack, today, submit)", handle_kpi)
        )

    def reply(original: Callable[..., Any]) -> Callable[..., Any]:
        timed = probe.timed("answer: reply() (the rest)", original)

        def timed_reply(services: Any, asked: Any) -> Any:
            started = time.perf_counter()
            try:
                return timed(services, asked)
            finally:
                job = probe.job()
                if job is not None:
                    job["text"] = asked.text
                    job["reply_ms"] = (time.perf_counter() - started) * 1000

        return timed_reply

    def send_reply(original: Callable[..., None]) -> Callable[..., None]:
        timed = probe.timed("answer: send_reply (POST to the response_url)", original)

        def timed_send(*args: Any, **kwargs: Any) -> None:
            started = time.perf_counter()
            try:
                timed(*args, **kwargs)
            finally:
                job = probe.job()
                if job is not None:
                    job["send_ms"] = (time.perf_counter() - started) * 1000

        return timed_send

    def build_services(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def instrumented(settings: Any) -> Any:
            services = original(settings)
            services.work = _TimedExecutor(services.work, probe)
            return services

        return instrumented

    def wsgi_app(original: Callable[[App, Any], WSGIApplication]) -> Callable[..., Any]:
        def instrumented(app: App, services: Any) -> WSGIApplication:
            inner = probe.profiled("request", original(app, services))

            def application(
                environ: WSGIEnvironment, start_response: StartResponse
            ) -> Iterable[bytes]:
                started = time.perf_counter()
                try:
                    return inner(environ, start_response)
                finally:
                    if environ.get("PATH_INFO") == EVENTS_PATH:
                        with probe.lock:
                            probe.requests_ms.append((time.perf_counter() - started) * 1000)

            return application

        return instrumented

    def server(original: type[Any]) -> type[Any]:
        class DumpingServer(original):  # type: ignore[misc]
            def load_config(self) -> None:
                super().load_config()
                self.cfg.set("worker_exit", probe.worker_exit)

        return DumpingServer

    for owner, attribute, wrap in (
        (commands, "handle_kpi", listener),
        (commands, "reply", reply),
        (replies, "send_reply", send_reply),
        (serve_module, "build_services", build_services),
        (serve_module, "wsgi_app", wsgi_app),
        (serve_module, "_Server", server),
    ):
        if not _replace(owner, attribute, wrap):
            missing.append(f"{getattr(owner, '__name__', owner)}.{attribute}")
    return missing


def _patch_bot(patches: Sequence[str]) -> None:
    """Apply the ``--variant`` code changes (see ``PATCHES``) before ``kpibot serve`` runs."""
    import bot.app as app_module  # noqa: PLC0415 - instrumented child only
    import bot.listeners.commands as commands  # noqa: PLC0415

    def nothing(*_args: Any, **_kwargs: Any) -> None:
        return None

    def cached(original: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
        lock = threading.Lock()
        messages: dict[Any, Any] = {}

        def reply(services: Any, asked: Any) -> Any:
            with lock:
                found = messages.get(asked)
            if found is None:
                found = original(services, asked)
                with lock:
                    messages[asked] = found
            return found

        return reply

    changes: dict[str, tuple[object, str, Callable[[Any], Any]]] = {
        "ack-only": (commands, "reply_later", lambda _original: nothing),
        "answer-cache": (commands, "reply", cached),
        "process-before-response": (
            app_module,
            "App",
            lambda original: functools.partial(original, process_before_response=True),
        ),
    }
    for name in patches:
        owner, attribute, wrap = changes[name]
        if not _replace(owner, attribute, wrap):
            raise RuntimeError(f"--variant {name}: {attribute} is gone from the bot's code")


def serve_instrumented() -> None:
    """The ``--serve-instrumented`` child: ``kpibot serve`` (as ``bot.cli.serve`` runs it) with
    the probes of :func:`_instrument_bot`."""
    import bot.serve as serve_module  # noqa: PLC0415 - instrumented child only
    from bot import logs  # noqa: PLC0415
    from bot.settings import load_settings  # noqa: PLC0415

    mode = os.environ.get(PROFILE_MODE_ENV, "plain")
    patches = [name for name in os.environ.get(PATCHES_ENV, "").split("+") if name]
    if mode in (PHASES, CPROFILE):
        folder = Path(os.environ[PROFILE_DIR_ENV])
        missing = _instrument_bot(_Probe(mode, folder))
        (folder / "not_wrapped.json").write_text(json.dumps(missing))
    _patch_bot(patches)
    settings = load_settings()
    logs.configure(settings.log_level)
    serve_module.serve(settings)


def alone(url: str, runs: int = 7) -> dict[str, float]:
    """Median ms of ``reply()`` + ``payload()`` per question, one at a time, in an idle process
    (a child running the code under test)."""
    from bot.answering import Asked, reply  # noqa: PLC0415
    from bot.services import build_services  # noqa: PLC0415
    from bot.settings import Settings  # noqa: PLC0415

    settings = Settings.model_validate({"DATABASE_URL": url, "KPIBOT_TIMEZONE": "UTC"})
    services = build_services(settings)
    found: dict[str, float] = {}
    try:
        for text in QUESTIONS:
            asked = Asked(text, services.today())
            times = []
            for _ in range(runs + 2):
                started = time.perf_counter()
                reply(services, asked).payload()
                times.append((time.perf_counter() - started) * 1000)
            found[text] = statistics.median(times[2:])
    finally:
        services.work.shutdown()
        services.engine.dispose()
    return found


def _read_probes(folder: Path) -> dict[str, Any]:
    requests_ms: list[float] = []
    jobs: list[dict[str, Any]] = []
    phases: dict[str, list[float]] = {}
    for path in sorted(folder.glob("[0-9]*.json")):
        found = json.loads(path.read_text())
        requests_ms += found["requests_ms"]
        jobs += found["jobs"]
        for name, (seconds, calls) in found["phases"].items():
            total = phases.setdefault(name, [0.0, 0])
            total[0] += seconds
            total[1] += calls
    return {"requests_ms": requests_ms, "jobs": jobs, "phases": phases}


def _read_profiles(folder: Path) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for role in ROLES:
        paths = sorted(folder.glob(f"*-{role}.prof"))
        if not paths:
            continue
        rows = common.profile_rows(pstats.Stats(*(str(path) for path in paths)))
        found[role] = rows[:120]
    return found


def _instrumented_run(
    mode: str, store: Store, arguments: argparse.Namespace, console: Console, folder: Path
) -> Result:
    """The ``kpibot`` scenario once against the instrumented bot; its probes land in ``folder``."""
    tracker = Tracker()
    with standin(tracker) as slack:
        env = bot_env(store, slack, arguments)
        with start_bot(env, arguments.code_dir, mode=mode, profile_dir=folder) as served:
            scenario = BASE_SCENARIOS[1]
            served_map = {scenario.app: served}
            _run_scenario(scenario, served_map, slack, tracker, arguments, arguments.warmup)
            result = _run_scenario(
                scenario, served_map, slack, tracker, arguments, arguments.profile_requests
            )
            _progress(console, 0, dataclasses.replace(result, scenario=f"kpibot ({mode})"))
    return result


def _quantiles(ms: list[float]) -> dict[str, float | None]:
    found = _timings("", ms)
    if found is None:
        return {"n": 0, "p50": None, "p95": None, "p99": None}
    return {"n": len(ms), "p50": found.p50, "p95": found.p95, "p99": found.p99}


def profile(store: Store, arguments: argparse.Namespace, console: Console) -> dict[str, Any]:
    """Serve an instrumented bot twice (phases, then cProfile) and say where the time goes."""
    import tempfile  # noqa: PLC0415

    console.print()
    console.print(
        f"Profiling: {arguments.profile_requests} commands of the 'kpibot' scenario against an "
        "instrumented bot, once with phase timers and once under cProfile ..."
    )
    found: dict[str, Any] = {
        "alone_ms": run_child({"mode": "alone", "url": store.url}, arguments.code_dir)
    }
    with tempfile.TemporaryDirectory(prefix="slack-bench-") as scratch:
        for mode in (PHASES, CPROFILE):
            folder = Path(scratch) / mode
            folder.mkdir()
            result = _instrumented_run(mode, store, arguments, console, folder)
            found[mode] = {
                "client": asdict(Figures.of(result)),
                "not_wrapped": json.loads((folder / "not_wrapped.json").read_text()),
                **(_read_probes(folder) if mode == PHASES else {}),
                **({"profiles": _read_profiles(folder)} if mode == CPROFILE else {}),
            }
    _profile_report(found, arguments, console)
    for mode in (PHASES, CPROFILE):
        found[mode].pop("jobs", None)
    return found


def _profile_report(found: dict[str, Any], arguments: argparse.Namespace, console: Console) -> None:
    from rich.table import Table  # noqa: PLC0415

    phased = found[PHASES]
    client = phased["client"]
    server = _quantiles(phased["requests_ms"])
    console.print(
        f"ack, phases run: client p50/p99 {ms(client['ack_p50'])}/{ms(client['ack_p99'])} ms; "
        f"inside the worker (WSGI call, {server['n']} requests) p50/p99 "
        f"{ms(server['p50'])}/{ms(server['p99'])} ms"
    )
    jobs: list[dict[str, Any]] = phased["jobs"]
    table = Table(
        title="Answers under load (phases run): ms per answer; 'alone' = the same reply() one at "
        "a time in an idle process"
    )
    table.add_column("question")
    table.add_column("answers", justify="right")
    for column in ("pool wait", "reply()", "send", "job"):
        table.add_column(f"{column}\np50", justify="right")
        table.add_column(f"{column}\np99", justify="right")
    table.add_column("alone\np50", justify="right")
    for text in [*QUESTIONS, None]:
        mine = [job for job in jobs if text is None or job.get("text") == text]
        cells = []
        for key in ("wait_ms", "reply_ms", "send_ms", "run_ms"):
            quantiles = _quantiles([float(job[key]) for job in mine if key in job])
            cells += [ms(quantiles["p50"]), ms(quantiles["p99"])]
        alone = found["alone_ms"]
        table.add_row(
            text or "all",
            str(len(mine)),
            *cells,
            ms(alone[text] if text else statistics.mean(alone.values())),
        )
    console.print(table)
    phases: dict[str, list[float]] = phased["phases"]
    total = sum(seconds for seconds, _calls in phases.values())
    table = Table(
        title="Exclusive seconds per phase, summed over every thread of both workers (phases run;"
        " under load a phase's wall time includes waiting for the GIL)"
    )
    table.add_column("phase")
    table.add_column("calls", justify="right")
    table.add_column("seconds", justify="right")
    table.add_column("share", justify="right")
    table.add_column("ms per call", justify="right")
    for name, (seconds, calls) in sorted(phases.items(), key=lambda item: -item[1][0]):
        table.add_row(
            name,
            f"{int(calls):,}",
            f"{seconds:,.2f}",
            f"{seconds / total:.0%}" if total else "",
            f"{seconds / calls * 1000:,.1f}" if calls else "",
        )
    console.print(table)
    if phased["not_wrapped"]:
        console.print(f"not wrapped (absent from the code): {', '.join(phased['not_wrapped'])}")
    for role, rows in found[CPROFILE]["profiles"].items():
        table = Table(
            title=f"cProfile, {role} threads of both workers (top {arguments.top} by cumulative "
            "time, summed over threads)"
        )
        table.add_column("function")
        table.add_column("calls", justify="right")
        table.add_column("own s", justify="right")
        table.add_column("cumulative s", justify="right")
        for row in rows[: arguments.top]:
            table.add_row(
                str(row["function"]),
                f"{row['calls']:,}",
                f"{row['own']:.2f}",
                f"{row['cumulative']:.2f}",
            )
        console.print(table)


if __name__ == "__main__":
    main()
