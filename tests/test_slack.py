"""Slack messages and the Slack sink, against the fake Slack Web API with the real slack_sdk client."""

from __future__ import annotations

import json
import logging
import re
import socket
from datetime import timedelta
from pathlib import Path

import pytest
from fake_slack import TOKEN, dropped, error, ratelimited, server_error
from slack_sdk.models.blocks import Block
from sqlmodel import Session, select

from alerts.outbox import Deferred, Item, Post, Undeliverable, enqueue, flush
from alerts.slack import SlackSink, check, escape, fit, inspect, render
from monitor.config import SLACK_TOKEN_ENV
from monitor.db import session_scope
from monitor.models import Alert, Tenant, utcnow

REVIEW = "https://review.msp.example"
HOSTILE_SUBJECT = (
    "<!channel> urgent <@U123> <https://evil.example|Microsoft> &amp; " + "\u202egnp.exe\u200b" + "X" * 10_000
)


def hostile_payload(**extra: object) -> dict:
    payload = {
        "detection_id": 7,
        "tenant": "Contoso <!here>",
        "mailbox": "anna@contoso.com<@U999>",
        "recipients": ["anna@contoso.com", "<!everyone>"],
        "sender_name": "Microsoft Support <!subteam^S1> \u202eevil\u202c" + "\u200b" * 50,
        "sender_address": "rep@microsoft.com",
        "vendor": "Microsoft <https://evil.example|365>",
        "label": "vendor_outreach",
        "score": 0.93,
        "subject": HOSTILE_SUBJECT,
        "received": "2024-05-02T09:14:00Z",
        "reasons": [
            {
                "id": "r1",
                "description": "Sender is a Microsoft rep <!channel>",
                "evidence": "<@U123>" * 2000,
                "weight": 3,
            },
            {
                "id": "r2",
                "description": "Offers a free assessment",
                "evidence": "free Azure audit",
                "weight": 2,
            },
            {"id": "r3", "description": "x" * 5000, "evidence": "&" * 5000, "weight": 1},
            {"id": "r4", "description": "lowest weight, not shown", "evidence": "", "weight": 0},
        ],
        "snippet": "Hi <!channel>\n\x1b[31m book a call: https://evil.example " + "&<>" * 3000,
        "web_link": "https://outlook.office365.com/owa/?ItemID=AAMk%3D&exvsurl=1&viewmodel=ReadMessageItem",
    }
    payload.update(extra)
    return payload


def all_text(blocks: list[dict], text: str) -> str:
    return text + json.dumps(blocks, ensure_ascii=False)


def assert_within_limits(text: str, blocks: list[dict]) -> None:
    assert len(blocks) <= 50
    assert 0 < len(text) <= 300
    for block in blocks:
        Block.parse(block).to_dict()  # slack_sdk's own validators: raise on any limit exceeded
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
        if block["type"] == "section":
            assert len(block.get("text", {}).get("text", "")) <= 3000
            assert len(block.get("fields", [])) <= 10
            assert all(len(f["text"]) <= 2000 for f in block.get("fields", []))
        for obj in [block.get("text")] + block.get("fields", []) + block.get("elements", []):
            if obj and obj.get("type") == "mrkdwn":
                assert obj["verbatim"] is True


def assert_inert(text: str, blocks: list[dict]) -> None:
    everything = all_text(blocks, text)
    # Every <...> left is one of our own links: nothing from the email can ping or relabel a link.
    for inner in re.findall(r"<([^>]*)>", everything):
        assert inner.startswith((REVIEW + "/detections/", "https://outlook.office365.com/")), inner
    for hostile in ("<!channel>", "<!here>", "<!everyone>", "<@U123>", "<!subteam", "<https://evil"):
        assert hostile not in everything
    assert "\u202e" not in everything and "\u200b" not in everything and "\x1b" not in everything


def test_escape_and_fit_truncate_before_escaping() -> None:
    assert escape("a & <b> &amp;") == "a &amp; &lt;b&gt; &amp;amp;"
    cut = fit("<" * 1000, 100)
    assert len(cut) <= 100 and cut.endswith("…")
    assert re.fullmatch(r"(&lt;)+…", cut)  # never half an entity
    assert fit("short & sweet", 100) == "short &amp; sweet"
    assert fit("x" * 500, 2000, chars=300) == "x" * 299 + "…"


def test_hostile_campaign_renders_inert_and_within_limits() -> None:
    items = tuple(
        Item(i, hostile_payload(mailbox=f"user{i}<!channel>@contoso.com" + "m" * 3000)) for i in range(1, 60)
    )
    text, blocks = render(Post("campaign", "#alerts", "Contoso <!here>", items, total=59), REVIEW)
    assert_within_limits(text, blocks)
    assert_inert(text, blocks)
    everything = all_text(blocks, text)
    assert "&lt;!channel&gt; urgent &lt;@U123&gt;" in everything
    assert "&amp;amp;" in everything  # an entity in the subject shows as typed
    assert "Received by 59 mailboxes" in everything and "and 39 more" in everything
    assert f"{REVIEW}/detections/7|Review log #7" in everything
    assert "lowest weight" not in everything  # top three reasons only


@pytest.mark.parametrize("kind", ["reply", "digest", "tenant_health"])
def test_other_messages_render_inert_and_within_limits(kind: str) -> None:
    payload = hostile_payload(
        event="needs_reconnect",
        reason="<!channel> consent revoked " + "y" * 5000,
        command="outreach-monitor connect --tenant <!here>",
    )
    items = tuple(Item(i, payload) for i in range(1, 41))
    text, blocks = render(
        Post(
            kind,
            "C0ALERTS",
            "Contoso <!here>" + "t" * 400,
            items,
            total=80,
            thread_ts="1.1" if kind == "reply" else "",
        ),
        REVIEW,
    )
    assert_within_limits(text, blocks)
    assert_inert(text, blocks)


def test_links_cannot_be_relabelled_or_point_anywhere_else() -> None:
    item = Item(
        1,
        {
            "tenant": "T",
            "label": "vendor_outreach",
            "detection_id": 3,
            "web_link": "https://outlook.office365.com/x|Click here> <!channel>",
        },
    )
    text, blocks = render(Post("campaign", "#a", "T", (item,), 1), REVIEW)
    links = re.findall(r"<([^>]*)>", all_text(blocks, text))
    assert "https://outlook.office365.com/x%7CClick%20here%3E%20%3C!channel%3E|Open in Outlook" in links
    for bad in ("javascript:alert(1)", "file:///etc/passwd", "https://x.example/" + "a" * 3001):
        item = Item(1, {"tenant": "T", "web_link": bad})
        text, blocks = render(Post("campaign", "#a", "T", (item,), 1), REVIEW)
        assert "Open in Outlook" not in all_text(blocks, text)


def test_sink_posts_hostile_alert_that_slack_accepts(fake_slack, alerts_settings, fake_clock) -> None:
    sink = SlackSink.from_settings(alerts_settings, token=TOKEN, clock=fake_clock, sleep=fake_clock.sleep)
    channel, ts = sink.post(
        Post("campaign", "#alerts", "Contoso", (Item(5, hostile_payload()),), 1, marker="om-5")
    )
    assert channel == "C0ALERTS" and ts
    (call,) = fake_slack.calls_to("chat.postMessage")
    assert call.answered == 200
    assert call.body["unfurl_links"] is False and call.body["unfurl_media"] is False
    assert call.body["metadata"]["event_payload"] == {"marker": "om-5", "alert_ids": "5"}
    assert_inert(call.body["text"], call.body["blocks"])
    assert sink.find(Post("campaign", "#alerts", "Contoso", (Item(5, {}),), 1, marker="om-5")).ts == ts


def test_loopback_slack_ignores_proxy_settings(fake_slack, alerts_settings, fake_clock, monkeypatch) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # nothing listens there
    sink = SlackSink.from_settings(alerts_settings, token=TOKEN, clock=fake_clock, sleep=fake_clock.sleep)
    assert sink.post(Post("campaign", "#alerts", "T", (Item(1, {"tenant": "T"}),), 1))[0] == "C0ALERTS"


def test_errors_are_classified(fake_slack, alerts_settings, fake_clock) -> None:
    sink = SlackSink.from_settings(alerts_settings, token=TOKEN, clock=fake_clock, sleep=fake_clock.sleep)
    post = Post("campaign", "#alerts", "T", (Item(1, {"tenant": "T"}),), 1, marker="om-1")

    fake_slack.script("chat.postMessage", ratelimited(45))
    with pytest.raises(Deferred) as deferred:
        sink.post(post)
    assert deferred.value.retry_after == 45 and deferred.value.scope == "channel"
    assert not deferred.value.maybe_sent

    fake_slack.script("chat.postMessage", server_error(500))
    with pytest.raises(Deferred) as deferred:
        sink.post(post)
    assert deferred.value.scope == "sink" and deferred.value.maybe_sent  # a 500 may have posted

    fake_slack.script("chat.postMessage", error("channel_not_found"))
    with pytest.raises(Undeliverable) as dead:
        sink.post(post)
    assert dead.value.code == "channel_not_found" and not dead.value.whole_sink
    assert "#alerts" in str(dead.value)

    fake_slack.script("chat.postMessage", error("invalid_auth"))
    with pytest.raises(Undeliverable) as dead:
        sink.post(post)
    assert dead.value.whole_sink and SLACK_TOKEN_ENV in str(dead.value) and TOKEN not in str(dead.value)

    with pytest.raises(Undeliverable, match="no_channel"):
        sink.post(Post("campaign", "", "T", (Item(1, {}),), 1))
    assert len(fake_slack.calls_to("chat.postMessage")) == 4  # nothing retried in place


def test_short_rate_limit_is_waited_out_in_place(fake_slack, alerts_settings, fake_clock) -> None:
    sink = SlackSink.from_settings(alerts_settings, token=TOKEN, clock=fake_clock, sleep=fake_clock.sleep)
    fake_slack.script("chat.postMessage", ratelimited(1))
    sink.post(Post("campaign", "#alerts", "T", (Item(1, {"tenant": "T"}),), 1))
    assert [c.answered for c in fake_slack.calls_to("chat.postMessage")] == [429, 200]
    assert 1.0 in fake_clock.slept


def test_dropped_post_is_not_retried_blindly_but_refused_connection_is(
    alerts_settings, fake_slack, fake_clock
) -> None:
    sink = SlackSink.from_settings(alerts_settings, token=TOKEN, clock=fake_clock, sleep=fake_clock.sleep)
    fake_slack.script("chat.postMessage", dropped(after_storing=True))
    with pytest.raises(Deferred) as deferred:
        sink.post(Post("campaign", "#alerts", "T", (Item(1, {"tenant": "T"}),), 1, marker="om-1"))
    assert deferred.value.maybe_sent
    assert len(fake_slack.posts()) == 1 and len(fake_slack.calls_to("chat.postMessage")) == 1

    with socket.socket() as s:  # a port nobody listens on: connection refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    closed = alerts_settings.model_copy(
        update={
            "slack": alerts_settings.slack.model_copy(update={"api_url": f"http://127.0.0.1:{port}/api/"})
        }
    )
    sink = SlackSink.from_settings(closed, token=TOKEN, clock=fake_clock, sleep=fake_clock.sleep)
    with pytest.raises(Deferred) as deferred:
        sink.post(Post("campaign", "#alerts", "T", (Item(1, {"tenant": "T"}),), 1))
    assert not deferred.value.maybe_sent  # refused: it never reached Slack
    assert 0.5 in fake_clock.slept  # retried once in place


def test_rate_is_about_one_message_a_second_per_channel(fake_slack, alerts_settings, fake_clock) -> None:
    sink = SlackSink.from_settings(alerts_settings, token=TOKEN, clock=fake_clock, sleep=fake_clock.sleep)
    start = fake_clock.now
    for i in range(8):
        sink.post(Post("campaign", "#alerts", "T", (Item(i, {"tenant": "T"}),), 1))
    assert fake_clock.now - start == pytest.approx(5.0)  # a burst of 3, then one a second
    before = fake_clock.now
    sink.post(Post("campaign", "C0SECURE", "T", (Item(9, {"tenant": "T"}),), 1))
    assert fake_clock.now == before  # another channel has its own bucket


def test_check_reports_good_bad_token_and_channels(fake_slack, alerts_settings) -> None:
    assert check(alerts_settings, token=TOKEN) is None
    status = inspect(alerts_settings, token=TOKEN, channels=[("C0CONTOS", "tenant Contoso")])
    assert status.problem is None and status.checked == ["#alerts", "C0CONTOS"] and status.team == "MSP"

    problem = check(alerts_settings, token="xoxb-wrong-secret-value")
    assert "invalid_auth" in problem and SLACK_TOKEN_ENV in problem and "wrong-secret" not in problem
    assert len(fake_slack.calls_to("auth.test")) == 3  # once per check, no retries

    problem = check(alerts_settings, token=TOKEN, channels=[("C0NOPE00", "tenant Fabrikam")])
    assert problem == "Slack channel C0NOPE00 (tenant Fabrikam) was not found or the bot cannot see it"

    fake_slack.add_channel("G0PRIVAT", "private-alerts", is_member=False, is_private=True)
    problem = check(alerts_settings, token=TOKEN, channels=[("G0PRIVAT", "tenant Contoso")])
    assert "bot is not in Slack channel G0PRIVAT" in problem

    fake_slack.scopes = "chat:write"
    status = inspect(alerts_settings, token=TOKEN)
    assert status.problem is None and status.unknown == ["#alerts"]  # cannot look: not a problem


def test_check_without_token_or_without_slack(alerts_settings, monkeypatch) -> None:
    monkeypatch.delenv(SLACK_TOKEN_ENV, raising=False)
    assert check(alerts_settings) is None  # alerts go to the terminal
    assert "is not set" in inspect(alerts_settings).problem
    unreachable = alerts_settings.model_copy(
        update={"slack": alerts_settings.slack.model_copy(update={"api_url": "http://127.0.0.1:9/api/"})}
    )
    assert check(unreachable, token=TOKEN).startswith("cannot reach the Slack API at http://127.0.0.1:9/api/")


def test_token_never_reaches_logs_or_database(
    fake_slack, alerts_settings, alerts_engine, fake_clock, caplog, monkeypatch
) -> None:
    secret_token = "xoxb-0000-super-secret-token-value"
    fake_slack.token = secret_token
    monkeypatch.setenv(SLACK_TOKEN_ENV, secret_token)
    caplog.set_level(logging.DEBUG)
    with session_scope(alerts_engine) as s:
        tenant = Tenant(name="Contoso")
        s.add(tenant)
        s.flush()
        for i in range(3):
            enqueue(
                s,
                kind="detection",
                tenant_id=tenant.id,
                payload={"tenant": "Contoso", "sender_address": f"a{i}@x.example", "subject": "s"},
            )
    sink = SlackSink.from_settings(alerts_settings, clock=fake_clock, sleep=fake_clock.sleep)
    fake_slack.script("chat.postMessage", server_error(503), dropped(), error("invalid_auth"))
    now = utcnow()
    for minutes in range(0, 30, 5):
        flush(alerts_engine, alerts_settings, sink, now=now + timedelta(minutes=minutes))
    check(alerts_settings)
    assert "super-secret" not in caplog.text
    with Session(alerts_engine) as s:
        rows = s.exec(select(Alert)).all()
    assert {r.state for r in rows} == {"sent", "dead"}
    assert all("super-secret" not in r.last_error for r in rows)
    database = Path(alerts_engine.url.database)
    for file in database.parent.glob(database.name + "*"):  # the database and its WAL
        assert b"super-secret" not in file.read_bytes()
