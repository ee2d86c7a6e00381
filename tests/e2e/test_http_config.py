"""`/kpi digest|target|alerts` and the alert buttons, through the served bot and the stand-in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from bot.launch import ServedBot
from bot.rendering import ACTION_ACKNOWLEDGE, ACTION_SNOOZE_WEEK
from bot.standin import SlackStandIn, block_actions_body, button_click_payload, post_signed
from tests.e2e.conftest import SECRET, bot_env, reply_to, send_command, texts

ADMIN = {"user_id": "U0ADMIN", "user_name": "admin"}
GENERAL = "<#C0GENERAL|general>"


def _ask(served: ServedBot, slack: SlackStandIn, text: str, **who: str) -> dict[str, Any]:
    sent = send_command(served, slack, text, **who)
    assert sent.status == 200
    return reply_to(slack, sent.response_url)


def _posted(slack: SlackStandIn, channel: str) -> list[dict[str, Any]]:
    return [
        call.params
        for call in slack.calls_to("chat.postMessage")
        if call.status == 200 and call.params.get("channel") == channel
    ]


def test_changes_are_for_admins_only(served: ServedBot, slack: SlackStandIn) -> None:
    for text in (f"digest on {GENERAL}", "target set ctr >= 1% weekly", "target remove 1"):
        refusal = texts(_ask(served, slack, text))  # alice is not an admin
        assert "only admins" in refusal.lower()
    assert "only admins" not in texts(_ask(served, slack, "digest list")).lower()  # reading is open


def test_a_digest_from_subscription_to_post(served: ServedBot, slack: SlackStandIn) -> None:
    done = texts(
        _ask(served, slack, f"digest on {GENERAL} weekly mon 09:00 kpis ctr,roas", **ADMIN)
    )
    assert "weekly on Monday at 09:00" in done and "<#C0GENERAL>" in done
    listed = texts(_ask(served, slack, "digest list"))
    assert "C0GENERAL" in listed and "ctr" in listed
    preview = _ask(served, slack, f"digest preview {GENERAL}")
    assert "CTR" in texts(preview) and preview["response_type"] == "ephemeral"
    before = len(_posted(slack, "C0GENERAL"))
    now = texts(_ask(served, slack, f"digest now {GENERAL}", **ADMIN))
    assert "posted" in now.lower()
    assert len(_posted(slack, "C0GENERAL")) == before + 1
    again = texts(_ask(served, slack, f"digest now {GENERAL}", **ADMIN))
    assert "already" in again.lower()
    assert len(_posted(slack, "C0GENERAL")) == before + 1
    off = texts(_ask(served, slack, f"digest off {GENERAL}", **ADMIN))
    assert "no more digests" in off.lower()


def test_typos_in_subcommands_get_suggestions(served: ServedBot, slack: SlackStandIn) -> None:
    assert "off" in texts(_ask(served, slack, f"digest of {GENERAL}", **ADMIN))
    assert "target list" in texts(_ask(served, slack, "target remove abc", **ADMIN))


def test_targets_replay_alert_and_buttons(
    served: ServedBot, slack: SlackStandIn, database_url: str
) -> None:
    made = texts(_ask(served, slack, "target set ctr >= 50% weekly", **ADMIN))
    assert "alerts go to <#C0GENERAL>" in made
    target_id = made.split("Target ", 1)[1].split(":", 1)[0]
    assert target_id in texts(_ask(served, slack, "target list"))
    replayed = texts(_ask(served, slack, "target test ctr >= 50% weekly"))
    assert "would" in replayed.lower()

    # The operators' pass posts the alert, as cron would.
    before = len(_posted(slack, "C0GENERAL"))
    env = {**os.environ, **bot_env(database_url, slack), "KPIBOT_DATA_LAG": "0s"}
    command = [sys.executable, "-m", "bot", "alerts", "run"]
    run = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    alerts = _posted(slack, "C0GENERAL")[before:]
    assert len(alerts) == 1
    again = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert again.returncode == 0 and len(_posted(slack, "C0GENERAL")) == before + 1

    posted = next(call for call in slack.calls_to("chat.postMessage") if call.params is alerts[0])
    message = {**posted.response["message"], "ts": posted.response["ts"]}
    blocks = message["blocks"]
    message["blocks"] = json.loads(blocks) if isinstance(blocks, str) else blocks
    for action_id in (ACTION_SNOOZE_WEEK, ACTION_ACKNOWLEDGE):
        response_url = slack.response_url()
        payload = button_click_payload(
            action_id, target_id, user_id="U0ALICE", response_url=response_url, message=message
        )
        assert post_signed(served.events_url, SECRET, block_actions_body(payload))[0] == 200
        note = texts(reply_to(slack, response_url))
        assert ("Snoozed until" if action_id == ACTION_SNOOZE_WEEK else "Acknowledged") in note
    updates = slack.calls_to("chat.update")
    assert len(updates) == 2 and updates[-1].params["ts"] == message["ts"]
    updated = texts(updates[-1].params)
    assert "<@U0ALICE>" in updated and ACTION_ACKNOWLEDGE not in updated

    overview = texts(_ask(served, slack, "alerts"))
    assert "U0ALICE" in overview and "snoozed" in overview.lower()
    removed = texts(_ask(served, slack, f"target remove {target_id}", **ADMIN))
    assert "removed" in removed
