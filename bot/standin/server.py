"""``SlackStandIn``: a local HTTP server speaking the Slack Web API methods kpibot uses.

Tests and ``kpibot demo`` run the bot as a real process whose WebClient has
``base_url=<stand-in>/api/``; everything it sends to Slack (API calls, file bytes, posts to
response URLs) lands here, is answered as Slack would, and is recorded. Faults can be armed per
method to rehearse rate limits, outages and refusals. It listens on a free port of 127.0.0.1 so
parallel runs never collide.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from bot.standin.faults import Faults, failure_for
from bot.standin.recorder import Call, Recorder
from bot.standin.socket_mode import SocketModeServer
from bot.standin.web_api import (
    DEFAULT_APP_TOKEN,
    DEFAULT_BOT_TOKEN,
    DEFAULT_CHANNELS,
    DEFAULT_USERS,
    Channel,
    Endpoints,
    User,
    Workspace,
)

logger = logging.getLogger(__name__)

_SHUTDOWN_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class _Answer:
    """What goes back on the wire for one request."""

    status: int
    body: dict[str, Any] | bytes
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, bytes):
            return self.body, "text/plain; charset=utf-8"
        return json.dumps(self.body).encode(), "application/json; charset=utf-8"


def _params(query: str, body: bytes, content_type: str) -> dict[str, Any]:
    """Query string plus form or JSON body, the way Slack reads API arguments."""
    params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    if content_type.startswith("application/json"):
        parsed = json.loads(body or b"{}")
        if not isinstance(parsed, dict):
            raise ValueError("a JSON body must be an object")
        params.update(parsed)
    elif body:
        params.update(parse_qsl(body.decode(), keep_blank_values=True))
    return params


def _bearer(headers: dict[str, str], params: dict[str, Any]) -> str | None:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token:
        return token.strip()
    form_token = params.get("token")
    return str(form_token) if form_token else None


class SlackStandIn:
    """A fake Slack on 127.0.0.1: Web API, upload URLs, response URLs and Socket Mode.

    Use it as a context manager (``with SlackStandIn() as slack:``) or call ``start()`` and
    ``stop()``. Point the bot at ``api_url``. ``on_call`` is told of every recorded call.
    """

    def __init__(
        self,
        *,
        bot_token: str = DEFAULT_BOT_TOKEN,
        app_token: str = DEFAULT_APP_TOKEN,
        users: Iterable[User] = DEFAULT_USERS,
        channels: Iterable[Channel] = DEFAULT_CHANNELS,
        on_call: Callable[[Call], None] | None = None,
    ) -> None:
        self.workspace = Workspace(
            bot_token=bot_token, app_token=app_token, users=users, channels=channels
        )
        self.socket_mode = SocketModeServer()
        self._recorder = Recorder(on_call)
        self._faults = Faults()
        self._response_urls: set[str] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._url: str | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> SlackStandIn:
        """Listen on a free port and serve from background threads; return self."""
        if self._httpd is not None:
            raise RuntimeError("the stand-in is already started")
        self._stopping.clear()
        self.socket_mode.start()
        self._httpd = _HTTPServer(self)
        self._url = self._httpd.base_url
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": _SHUTDOWN_POLL_SECONDS},
            name="standin-http",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; answers held by ``delay`` are released at once."""
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join()
        self._httpd = self._thread = None
        self.socket_mode.stop()

    def __enter__(self) -> SlackStandIn:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The server's base URL, ``http://127.0.0.1:<port>`` (kept after ``stop``)."""
        if self._url is None:
            raise RuntimeError("the stand-in was never started")
        return self._url

    @property
    def api_url(self) -> str:
        """``<url>/api/``: the WebClient ``base_url`` (the trailing slash matters to urljoin)."""
        return f"{self.url}/api/"

    def response_url(self) -> str:
        """A fresh response URL served here; what is posted to it is recorded."""
        hook = uuid.uuid4().hex
        with self._lock:
            self._response_urls.add(hook)
        return f"{self.url}/response/{hook}"

    # -- recorded calls --------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        """Every call so far, in order of arrival (a copy)."""
        return self._recorder.calls

    def calls_to(self, method: str) -> list[Call]:
        """The calls of one method (``"chat.postMessage"``, ``"upload"``, ``"response_url"``)."""
        return self._recorder.calls_to(method)

    def wait_for(self, method: str, count: int = 1, timeout: float = 10.0) -> list[Call]:
        """Block until ``count`` calls of ``method`` arrived; ``TimeoutError`` lists what did."""
        return self._recorder.wait_for(method, count, timeout)

    def reset(self) -> None:
        """Forget the recorded calls."""
        self._recorder.reset()

    # -- faults ----------------------------------------------------------------------------

    def fail(
        self,
        method: str,
        *,
        status: int | None = None,
        error: str | None = None,
        retry_after: int = 1,
        times: int | None = 1,
    ) -> None:
        """Make the next ``times`` calls to ``method`` fail (every call until cleared if None).

        With neither ``status`` nor ``error``: HTTP 429 with ``Retry-After: retry_after``.
        With ``error`` alone: HTTP 200 ``{"ok": false, "error": error}``, Slack's refusal.
        With ``status`` (429, 500, 503...): that HTTP status and an ``ok: false`` body.
        """
        self._faults.add_failure(method, failure_for(status, error, retry_after), times)

    def delay(self, method: str, seconds: float, *, times: int | None = 1) -> None:
        """Answer the next ``times`` calls to ``method`` ``seconds`` late (all if None)."""
        self._faults.add_delay(method, seconds, times)

    def clear_faults(self) -> None:
        """Disarm every failure and delay."""
        self._faults.clear()

    # -- serving (called from the HTTP handler threads) --------------------------------------

    def _handle(self, request: _Request) -> _Answer:
        arrived = time.monotonic()
        params: dict[str, Any] = {}
        try:
            params = request.params()
            answer = self._answer(request, params)
        except ValueError:
            answer = (
                _Answer(200, {"ok": False, "error": "invalid_json"})
                if request.kind == "api"
                else _Answer(400, b"invalid_payload")
            )
        self._recorder.record(
            Call(
                method=request.method,
                params=params,
                headers=request.headers,
                status=answer.status,
                response=answer.body if isinstance(answer.body, dict) else {},
                url=f"{request.base_url}{request.path}",
                body=request.body,
                at=arrived,
            )
        )
        return answer

    def _answer(self, request: _Request, params: dict[str, Any]) -> _Answer:
        method = request.method
        held = self._faults.take_delay(method)
        if held:
            self._stopping.wait(held)
        failure = self._faults.take_failure(method)
        if failure is not None:
            return _Answer(failure.status, failure.body, failure.headers)
        if method == "upload":
            if not self.workspace.receive_upload(request.rest, request.body):
                return _Answer(404, b"not_found")
            return _Answer(200, f"OK - {len(request.body)}".encode())
        if method == "response_url":
            with self._lock:
                known = request.rest in self._response_urls
            return _Answer(200, {"ok": True}) if known else _Answer(404, b"no_active_hooks")
        if method == "unknown":
            return _Answer(404, b"not_found")
        endpoints = Endpoints(base_url=request.base_url, socket_mode_url=self.socket_mode.url)
        token = _bearer(request.headers, params)
        return _Answer(200, self.workspace.answer(method, params, token, endpoints))


@dataclass(frozen=True)
class _Request:
    """One HTTP request, split into what routing needs."""

    base_url: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def kind(self) -> str:
        """The first path segment: ``api``, ``upload`` or ``response``."""
        return urlsplit(self.path).path.lstrip("/").partition("/")[0]

    @property
    def rest(self) -> str:
        """What follows it: the API method, the file id or the response URL id."""
        return urlsplit(self.path).path.lstrip("/").partition("/")[2]

    @property
    def method(self) -> str:
        """The name the call is recorded under."""
        names = {"api": self.rest, "upload": "upload", "response": "response_url"}
        return names.get(self.kind, "unknown")

    def params(self) -> dict[str, Any]:
        """The arguments; raises ValueError on a body that cannot be parsed."""
        if self.kind == "upload":
            return {"file_id": self.rest, "size": len(self.body)}
        if self.kind == "response":
            parsed = json.loads(self.body or b"null")
            if not isinstance(parsed, dict):
                raise ValueError("a response_url body must be a JSON object")
            return parsed
        content_type = self.headers.get("content-type", "")
        return _params(urlsplit(self.path).query, self.body, content_type)


class _HTTPServer(ThreadingHTTPServer):
    """The stdlib threading server, bound to 127.0.0.1 on a free port, knowing its stand-in."""

    daemon_threads = True
    #: The stdlib default of 5 pending connections resets clients when 50 bots call at once.
    request_queue_size = 128

    def __init__(self, standin: SlackStandIn) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.standin = standin
        self.base_url = f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        answer = self.server.standin._handle(
            _Request(self.server.base_url, self.path, headers, body)
        )
        payload, content_type = answer.encoded()
        self.send_response(answer.status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)
