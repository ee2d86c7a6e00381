"""Process-wide logging that can never print a Slack secret.

slack_sdk logs request bodies and full responses at DEBUG, Bolt logs the body of a request whose
signature fails, and any exception message can carry a URL. Rather than trusting every call site,
each log record is redacted when it is created, for every logger (ours, Bolt's, slack_sdk's and
gunicorn's alike), before any handler formats it.
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any

#: Bot, user, app-level and refresh tokens (xoxb-, xoxp-, xoxa-, xoxr-, xoxe-, xoxs-, xapp-) and
#: response_urls (Slack's own hooks, or any URL given as a response_url). Simple character classes
#: only: no nested quantifiers, so no catastrophic backtracking on hostile text.
_SECRETS = (
    re.compile(r"\bxox[a-z]-[A-Za-z0-9-]+"),
    re.compile(r"\bxapp-[A-Za-z0-9-]+"),
    re.compile(r"https://hooks\.slack\.com/[^\s'\"&]+"),
    re.compile(r"(response_url[\"']?\s*[:=]\s*[\"']?)[^\s'\"&,}]+"),
)
#: Loggers that only ever talk about response_urls (Slack's WebhookClient, which Bolt's
#: ``respond`` uses too): every URL they log is a secret, whatever its host.
_WEBHOOK_LOGGERS = ("slack_sdk.webhook", "slack_bolt.context.respond")
_URL = re.compile(r"https?://[^\s'\",}]+")
REDACTED = "[redacted]"
FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"


def redact(text: str, logger_name: str = "") -> str:
    if logger_name.startswith(_WEBHOOK_LOGGERS):
        text = _URL.sub(REDACTED, text)
    for pattern in _SECRETS:
        text = pattern.sub(
            lambda match: (match.group(1) if match.re.groups else "") + REDACTED, text
        )
    return text


def _redacting_factory(base: Any) -> Any:
    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = base(*args, **kwargs)
        message = record.getMessage()
        cleaned = redact(message, record.name)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip())
        return record

    factory.redacting = True  # type: ignore[attr-defined]
    return factory


def install_redaction() -> None:
    """Idempotent: a second call (gunicorn workers, tests) must not wrap the factory twice."""
    current = logging.getLogRecordFactory()
    if not getattr(current, "redacting", False):
        logging.setLogRecordFactory(_redacting_factory(current))


def configure(level: str) -> None:
    """One stderr handler for the whole process; redaction is installed before anything logs."""
    install_redaction()
    logging.basicConfig(level=level, format=FORMAT, force=True)
