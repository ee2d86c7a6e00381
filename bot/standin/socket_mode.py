"""The Socket Mode side of the stand-in: a WebSocket server the bot's Socket Mode client dials.

With ``SLACK_APP_TOKEN`` set, kpibot calls ``apps.connections.open`` and then holds a WebSocket
on which Slack pushes envelopes (slash commands, interactions, events) that the bot must ack on
the same socket. This server plays Slack's end over plain ``ws://`` on 127.0.0.1 (slack_sdk's
built-in client only uses TLS on port 443), so a test can push an envelope and wait for the ack.
The protocol itself is left to the ``websockets`` library.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from typing import Any, Literal

from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode
from websockets.sync.server import Server, ServerConnection, serve

from bot.standin.web_api import APP_ID

EnvelopeType = Literal["slash_commands", "interactive", "events_api"]

_PATH = "/link"
logger = logging.getLogger(__name__)


class SocketModeServer:
    """Accepts Socket Mode connections, pushes envelopes to them and records their acks."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._connections: list[ServerConnection] = []
        self._acks: dict[str, dict[str, Any]] = {}
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._url: str | None = None

    @property
    def url(self) -> str:
        """The ``ws://`` URL that ``apps.connections.open`` hands out (kept after ``stop``)."""
        if self._url is None:
            raise RuntimeError("the Socket Mode server was never started")
        return self._url

    def start(self) -> None:
        """Listen on a free port of 127.0.0.1, serving from a background thread."""
        # No compression: slack_sdk's built-in client never offers permessage-deflate anyway.
        self._server = serve(self._serve_connection, "127.0.0.1", 0, compression=None)
        self._url = f"ws://127.0.0.1:{self._server.socket.getsockname()[1]}{_PATH}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="standin-socket-mode", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Close every connection (code 1001, as Slack does on a redeploy) and stop listening."""
        if self._server is not None:
            self._server.shutdown()
        if self._thread is not None:
            self._thread.join()
        self._server = self._thread = None

    def close_connections(self) -> None:
        """Close every open connection with 1001 (going away), as Slack does when it rotates.

        A client with auto-reconnect calls ``apps.connections.open`` again; one without stops
        reading at once instead of waiting for its socket's receive timeout (slack_sdk's
        built-in client otherwise takes about 3 s to close).
        """
        with self._changed:
            connections = list(self._connections)
        for connection in connections:
            connection.close(CloseCode.GOING_AWAY)

    def wait_connected(self, timeout: float = 10.0) -> None:
        """Block until a client holds an open connection (it got its ``hello``)."""
        with self._changed:
            if not self._changed.wait_for(lambda: bool(self._connections), timeout):
                raise TimeoutError(f"no Socket Mode client connected within {timeout:g}s")

    def send_envelope(
        self, type_: EnvelopeType, payload: dict[str, Any], accepts_response_payload: bool = True
    ) -> str:
        """Push an envelope to the newest connection, as Slack does; return its ``envelope_id``.

        Slack delivers each envelope to one connection only; the newest is the one a client that
        just reconnected reads from.
        """
        with self._changed:
            if not self._connections:
                raise RuntimeError("no Socket Mode client is connected (see wait_connected)")
            connection = self._connections[-1]
        envelope_id = str(uuid.uuid4())
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "type": type_,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
        }
        if type_ == "events_api":
            envelope |= {"retry_attempt": 0, "retry_reason": ""}
        connection.send(json.dumps(envelope))
        return envelope_id

    def wait_for_ack(self, envelope_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """Block until the client acked ``envelope_id``; return the ack (``payload`` if any)."""
        with self._changed:
            if not self._changed.wait_for(lambda: envelope_id in self._acks, timeout):
                raise TimeoutError(
                    f"envelope {envelope_id} not acked within {timeout:g}s; "
                    f"acked so far: {sorted(self._acks) or 'none'}"
                )
            return self._acks[envelope_id]

    def _serve_connection(self, connection: ServerConnection) -> None:
        request = connection.request
        if request is None or not request.path.startswith(_PATH):
            connection.close(CloseCode.POLICY_VIOLATION, "unknown path")
            return
        try:
            self._hello(connection)
            for message in connection:
                self._receive(message)
        except ConnectionClosed:
            # slack_sdk's built-in client drops the socket without a closing handshake.
            logger.debug("Socket Mode client went away", exc_info=True)
        finally:
            with self._changed:
                if connection in self._connections:
                    self._connections.remove(connection)
                self._changed.notify_all()

    def _hello(self, connection: ServerConnection) -> None:
        with self._changed:
            others = len(self._connections)
        connection.send(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": others + 1,
                    "debug_info": {"host": "standin", "approximate_connection_time": 18060},
                    "connection_info": {"app_id": APP_ID},
                }
            )
        )
        # Only now may envelopes go out: Slack sends nothing before the hello.
        with self._changed:
            self._connections.append(connection)
            self._changed.notify_all()

    def _receive(self, message: str | bytes) -> None:
        try:
            ack = json.loads(message)
        except json.JSONDecodeError:
            logger.warning("ignored a Socket Mode message that is not JSON: %.200r", message)
            return
        if not isinstance(ack, dict) or "envelope_id" not in ack:
            logger.warning("ignored a Socket Mode message that is not an ack: %.200r", message)
            return
        with self._changed:
            self._acks[str(ack["envelope_id"])] = ack
            self._changed.notify_all()
