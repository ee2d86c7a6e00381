"""Secrets never reach a log line, whoever logs them and however."""

from __future__ import annotations

import logging

import pytest

from bot.logs import REDACTED, install_redaction, redact

SECRETS = [
    "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp",
    "xoxp-1-2-3-abc",
    "xoxe.xoxp-1-abc",
    "xapp-1-A0123-456-abcdef0123",
    "https://hooks.slack.com/commands/T0001/1234/AbCdEf",
]


@pytest.mark.parametrize("secret", SECRETS)
def test_redact_removes_tokens_and_response_urls(secret: str) -> None:
    text = f"calling with {secret} now"
    cleaned = redact(text)
    assert REDACTED in cleaned
    assert secret.split("-", 1)[-1] not in cleaned


def test_response_url_fields_are_redacted_whatever_the_host() -> None:
    body = "token=abc&response_url=http%3A%2F%2F127.0.0.1%3A5000%2Fresponse%2F7&text=ctr"
    assert "127.0.0.1" not in redact(body)
    assert "127.0.0.1" not in redact('{"response_url": "http://127.0.0.1:5000/response/7"}')
    assert "text=ctr" in redact(body)


def test_plain_text_is_untouched() -> None:
    assert redact("ctr last-week by platform for xoxo fans") == (
        "ctr last-week by platform for xoxo fans"
    )


def test_every_logger_is_redacted_including_arguments_and_tracebacks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    install_redaction()
    factory = logging.getLogRecordFactory()
    install_redaction()
    assert logging.getLogRecordFactory() is factory  # idempotent: never wrapped twice
    token = "xoxb-111-222-SECRETSECRET"
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("slack_sdk.web.base_client").debug("Sending a request - %s", token)
        try:
            raise RuntimeError(f"failed with {token}")
        except RuntimeError:
            logging.getLogger("kpibot.test").exception("boom")
    text = caplog.text + "".join(record.exc_text or "" for record in caplog.records)
    assert "SECRETSECRET" not in text
    assert text.count(REDACTED) >= 2


def test_webhook_loggers_never_show_a_url() -> None:
    line = "Sending a request - url: http://127.0.0.1:5000/response/abc, body: {}"
    assert "127.0.0.1" not in redact(line, "slack_sdk.webhook.client")
    assert "127.0.0.1" in redact(line, "kpibot.app")  # other loggers may name local URLs
