"""The alert outbox end to end: real SQLite, real slack_sdk, the fake Slack Web API."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fake_slack import TOKEN, dropped, error, ratelimited
from sqlmodel import Session, col, select

from alerts.outbox import Policy, campaign_key, enqueue, flush, normalise_subject
from alerts.silences import add_silence
from alerts.slack import SlackSink
from monitor.db import session_scope
from monitor.models import Alert, Silence, SlackPost, Tenant, utcnow


def add_tenant(engine, name: str = "Contoso", channel: str = "") -> int:
    with session_scope(engine) as s:
        tenant = Tenant(name=name, slack_channel=channel)
        s.add(tenant)
        s.flush()
        return tenant.id


def detection(
    engine,
    tenant_id: int,
    *,
    mailbox: str = "anna@contoso.com",
    sender: str = "rep@microsoft.com",
    subject: str = "Free Azure migration assessment for your team",
    tenant: str = "Contoso",
    label: str = "vendor_outreach",
    vendor: str = "Microsoft",
    created: datetime | None = None,
) -> int:
    with session_scope(engine) as s:
        alert = enqueue(
            s,
            kind="detection",
            tenant_id=tenant_id,
            payload={
                "tenant": tenant,
                "mailbox": mailbox,
                "recipients": [mailbox],
                "sender_name": "Jane Rep",
                "sender_address": sender,
                "vendor": vendor,
                "label": label,
                "score": 0.9,
                "subject": subject,
                "received": "2024-05-02T09:14:00Z",
                "reasons": [
                    {"id": "vendor", "description": "Vendor sender", "evidence": sender, "weight": 1}
                ],
            },
        )
        if created is not None:
            alert.created_at = alert.next_attempt_at = created
        s.flush()
        return alert.id


def health(engine, tenant_id: int, event: str = "needs_reconnect") -> int:
    with session_scope(engine) as s:
        alert = enqueue(
            s,
            kind="tenant_health",
            tenant_id=tenant_id,
            payload={
                "tenant": "Contoso",
                "event": event,
                "reason": "consent revoked",
                "command": "outreach-monitor connect --tenant Contoso",
            },
        )
        s.flush()
        return alert.id


def rows(engine) -> dict[int, Alert]:
    with Session(engine) as s:
        return {a.id: a for a in s.exec(select(Alert).order_by(col(Alert.id)))}


def alert_ids(message: dict) -> list[int]:
    return [int(i) for i in message["metadata"]["event_payload"]["alert_ids"].split(",")]


@pytest.fixture
def sink(alerts_settings, fake_clock) -> SlackSink:
    return SlackSink.from_settings(alerts_settings, token=TOKEN, clock=fake_clock, sleep=fake_clock.sleep)


# --- enqueue -------------------------------------------------------------------------------


def test_enqueue_joins_the_callers_transaction(alerts_engine) -> None:
    tenant_id = add_tenant(alerts_engine)
    with pytest.raises(RuntimeError), session_scope(alerts_engine) as s:
        enqueue(s, kind="detection", tenant_id=tenant_id, payload={"tenant": "Contoso"})
        raise RuntimeError("the scanner failed before committing its detection")
    assert rows(alerts_engine) == {}
    with pytest.raises(ValueError, match="unknown alert kind"), Session(alerts_engine) as s:
        enqueue(s, kind="sms", tenant_id=tenant_id, payload={})


def test_campaign_key_normalises_replies_numbers_and_spacing() -> None:
    assert normalise_subject("RE: FW: Aw:  Free Azure audit for 42 users") == "free azure audit for # users"
    key = campaign_key("Contoso", "Rep@Microsoft.com", "Free Azure audit for 7 users")
    assert key == campaign_key("contoso", "rep@microsoft.com", "RE: WG: free  azure\u200b audit for 12 users")
    assert key != campaign_key("Contoso", "other@microsoft.com", "Free Azure audit for 7 users")
    assert key != campaign_key("Fabrikam", "rep@microsoft.com", "Free Azure audit for 7 users")


# --- grouping ------------------------------------------------------------------------------


def test_forty_mailbox_campaign_is_one_alert_with_thread_updates(
    fake_slack, alerts_settings, alerts_engine, sink
) -> None:
    tenant_id = add_tenant(alerts_engine)
    t0 = utcnow()
    first = detection(
        alerts_engine,
        tenant_id,
        mailbox="user00@contoso.com",
        created=t0,
        subject="Free Azure migration assessment for your team 0",
    )
    assert flush(alerts_engine, alerts_settings, sink, now=t0 + timedelta(seconds=1)).sent == 1
    for wave in range(3):  # the scanner finds the rest over the next minute and a half
        at = t0 + timedelta(seconds=30 * (wave + 1))
        for i in range(13):
            n = 1 + wave * 13 + i
            detection(
                alerts_engine,
                tenant_id,
                mailbox=f"user{n:02d}@contoso.com",
                subject=f"RE: Free Azure migration assessment for your team {n}",
                created=at,
            )
        report = flush(alerts_engine, alerts_settings, sink, now=at + timedelta(seconds=1))
        assert (report.sent, report.updated) == (13, 1)

    (parent,) = fake_slack.posts(top_level=True)
    replies = fake_slack.posts(top_level=False)
    assert len(replies) == 3 and all(r["thread_ts"] == parent["ts"] for r in replies)
    assert [alert_ids(r)[0] for r in replies] == sorted(alert_ids(r)[0] for r in replies)
    assert len(fake_slack.calls_to("chat.update")) == 3
    assert "Received by 40 mailboxes" in str(parent["blocks"]) and "(+39 more)" in parent["text"]
    stored = rows(alerts_engine)
    assert all(a.state == "sent" and a.channel == "C0ALERTS" for a in stored.values())
    assert stored[first].ts == parent["ts"] and stored[first].thread_ts == ""
    assert {a.thread_ts for i, a in stored.items() if i != first} == {parent["ts"]}
    with Session(alerts_engine) as s:
        (post,) = s.exec(select(SlackPost)).all()
    assert post.members == post.shown == 40


def test_campaign_found_at_once_is_one_post_and_a_later_one_starts_afresh(
    fake_slack, alerts_settings, alerts_engine, sink
) -> None:
    tenant_id = add_tenant(alerts_engine)
    t0 = utcnow()
    for i in range(40):
        detection(alerts_engine, tenant_id, mailbox=f"u{i}@contoso.com", created=t0 + timedelta(seconds=i))
    flush(alerts_engine, alerts_settings, sink, now=t0 + timedelta(minutes=1))
    assert len(fake_slack.posts()) == 1 and not fake_slack.calls_to("chat.update")
    # Same campaign an hour later: beyond the grouping window, so a new alert.
    detection(alerts_engine, tenant_id, mailbox="late@contoso.com", created=t0 + timedelta(hours=1))
    flush(alerts_engine, alerts_settings, sink, now=t0 + timedelta(hours=1, seconds=5))
    assert len(fake_slack.posts(top_level=True)) == 2


def test_flood_rolls_into_one_digest_updated_in_place(
    fake_slack, alerts_settings, alerts_engine, sink
) -> None:
    tenant_id = add_tenant(alerts_engine)
    t0 = utcnow()
    for i in range(12):
        detection(
            alerts_engine, tenant_id, sender=f"rep{i}@vendor{i}.example", subject=f"Offer {chr(65 + i)}"
        )
    policy = Policy(flood_threshold=5, flood_window=60)
    report = flush(alerts_engine, alerts_settings, sink, now=t0 + timedelta(seconds=1), policy=policy)
    assert report.sent == 12
    top = fake_slack.posts(top_level=True)
    assert len(top) == 6  # five alerts, then one digest for the rest
    assert top[-1]["text"] == "7 more alerts for Contoso" and top[-1].get("edited")
    # The flood goes on: later alerts keep joining the same digest.
    for i in range(3):
        detection(alerts_engine, tenant_id, sender=f"late{i}@other.example", subject=f"Late {i}")
    flush(alerts_engine, alerts_settings, sink, now=t0 + timedelta(seconds=20), policy=policy)
    assert len(fake_slack.posts(top_level=True)) == 6
    assert fake_slack.posts(top_level=True)[-1]["text"] == "10 more alerts for Contoso"
    assert all(a.state == "sent" for a in rows(alerts_engine).values())


# --- failures -------------------------------------------------------------------------------


def test_slack_down_for_ten_minutes_then_everything_once_in_order(
    fake_slack, alerts_settings, alerts_engine, sink
) -> None:
    tenant_id = add_tenant(alerts_engine)
    t0 = utcnow()
    fake_slack.down = True
    campaign = [
        detection(alerts_engine, tenant_id, mailbox=f"c{i}@contoso.com", created=t0 + timedelta(seconds=i))
        for i in range(5)
    ]
    other = detection(alerts_engine, tenant_id, sender="ceo@partner.example", subject="Lunch?", created=t0)
    reconnect = health(alerts_engine, tenant_id)
    calls_while_down = 0
    for step in range(21):  # a flush every 30 s for ten minutes
        now = t0 + timedelta(seconds=30 * step)
        if step in (4, 8, 12):  # the scanner keeps finding the campaign meanwhile
            campaign.append(
                detection(alerts_engine, tenant_id, mailbox=f"later{step}@contoso.com", created=now)
            )
        before = len(fake_slack.calls)
        assert flush(alerts_engine, alerts_settings, sink, now=now).sent == 0
        calls_while_down += len(fake_slack.calls) - before
        assert len(fake_slack.calls) - before <= 2  # no hammering: the flush stops at the first failure
    assert fake_slack.posts() == []
    assert all(a.state == "pending" and a.attempts >= 1 for a in rows(alerts_engine).values())

    fake_slack.down = False
    now = t0 + timedelta(seconds=600)
    for _ in range(30):
        now += timedelta(seconds=30)
        flush(alerts_engine, alerts_settings, sink, now=now)
        if all(a.state == "sent" for a in rows(alerts_engine).values()):
            break
    stored = rows(alerts_engine)
    assert all(a.state == "sent" for a in stored.values())
    assert now <= t0 + timedelta(seconds=600 + 330)  # back-off is capped: delivered within ~5 minutes

    messages = fake_slack.posts()
    delivered = sorted(i for m in messages for i in alert_ids(m))
    assert delivered == sorted(stored)  # every alert exactly once
    parents = [m for m in messages if not m.get("thread_ts") and campaign[0] in alert_ids(m)]
    assert len(parents) == 1
    thread = [parents[0]] + [m for m in messages if m.get("thread_ts") == parents[0]["ts"]]
    assert [i for m in thread for i in alert_ids(m)] == campaign  # in order within the thread
    assert {stored[other].ts, stored[reconnect].ts} <= {m["ts"] for m in messages}


def test_retry_after_is_honoured(fake_slack, alerts_settings, alerts_engine, sink) -> None:
    alert = detection(alerts_engine, add_tenant(alerts_engine))
    t0 = utcnow()
    fake_slack.script("chat.postMessage", ratelimited(30))
    assert flush(alerts_engine, alerts_settings, sink, now=t0).retried == 1
    assert rows(alerts_engine)[alert].next_attempt_at == t0 + timedelta(seconds=30)
    assert flush(alerts_engine, alerts_settings, sink, now=t0 + timedelta(seconds=20)).sent == 0
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    assert flush(alerts_engine, alerts_settings, sink, now=t0 + timedelta(seconds=31)).sent == 1
    assert len(fake_slack.calls_to("chat.postMessage")) == 2 and len(fake_slack.posts()) == 1


def test_nothing_overtakes_an_earlier_alert_of_its_campaign(
    fake_slack, alerts_settings, alerts_engine, sink
) -> None:
    tenant_id = add_tenant(alerts_engine)
    t0 = utcnow()
    first = detection(alerts_engine, tenant_id, mailbox="a@contoso.com", created=t0)
    unrelated = detection(alerts_engine, tenant_id, sender="x@y.example", subject="Other", created=t0)
    fake_slack.script("chat.postMessage", ratelimited(60))
    flush(alerts_engine, alerts_settings, sink, now=t0)
    second = detection(alerts_engine, tenant_id, mailbox="b@contoso.com", created=t0 + timedelta(seconds=5))
    flush(alerts_engine, alerts_settings, sink, now=t0 + timedelta(seconds=10))
    assert [alert_ids(m) for m in fake_slack.posts()] == [
        [unrelated]
    ]  # the campaign waits, the rest does not
    flush(alerts_engine, alerts_settings, sink, now=t0 + timedelta(seconds=61))
    assert [alert_ids(m) for m in fake_slack.posts()] == [[unrelated], [first, second]]


def test_lost_answer_or_crash_never_posts_twice(fake_slack, alerts_settings, alerts_engine, sink) -> None:
    tenant_id = add_tenant(alerts_engine)
    t0 = utcnow()
    lost = detection(alerts_engine, tenant_id, created=t0)
    fake_slack.script("chat.postMessage", dropped(after_storing=True))  # Slack posted it; the answer is lost
    assert flush(alerts_engine, alerts_settings, sink, now=t0).retried == 1
    assert flush(alerts_engine, alerts_settings, sink, now=t0 + timedelta(minutes=5)).sent == 1
    (message,) = fake_slack.posts()
    assert rows(alerts_engine)[lost].ts == message["ts"]
    assert len(fake_slack.calls_to("chat.postMessage")) == 1

    class DiesAfterPosting(SlackSink):
        def post(self, post):  # the process is killed between Slack's answer and our commit
            super().post(post)
            raise SystemExit(1)

    crashed = detection(alerts_engine, tenant_id, sender="x@y.example", subject="Other", created=t0)
    dying = DiesAfterPosting(sink.client, review_url="https://review.msp.example")
    with pytest.raises(SystemExit):
        flush(alerts_engine, alerts_settings, dying, now=t0 + timedelta(minutes=6))
    assert rows(alerts_engine)[crashed].state == "pending"
    assert flush(alerts_engine, alerts_settings, sink, now=t0 + timedelta(minutes=7)).sent == 1
    assert len(fake_slack.posts()) == 2 and rows(alerts_engine)[crashed].ts == fake_slack.posts()[1]["ts"]

    # A row put back to pending by hand still carries its ts: recorded, not posted again.
    with session_scope(alerts_engine) as s:
        row = s.get(Alert, crashed)
        row.state = "pending"
    flush(alerts_engine, alerts_settings, sink, now=t0 + timedelta(minutes=8))
    assert len(fake_slack.posts()) == 2 and rows(alerts_engine)[crashed].state == "sent"


def test_permanent_errors_dead_letter_and_leave_the_rest(
    fake_slack, alerts_settings, alerts_engine, sink
) -> None:
    gone = add_tenant(alerts_engine, "Fabrikam", channel="C0GONE00")
    contoso = add_tenant(alerts_engine)
    dead = detection(alerts_engine, gone, tenant="Fabrikam")
    fine = detection(alerts_engine, contoso)
    with session_scope(alerts_engine) as s:
        broken = Alert(kind="detection", tenant_id=contoso, payload="{not json", group_key="x")
        s.add(broken)
        s.flush()
        broken_id = broken.id
    report = flush(alerts_engine, alerts_settings, sink)
    assert (report.sent, report.dead) == (1, 2)
    stored = rows(alerts_engine)
    assert stored[dead].state == "dead" and stored[dead].last_error.startswith("channel_not_found")
    assert stored[fine].state == "sent"
    assert stored[broken_id].state == "dead" and "not a JSON object" in stored[broken_id].last_error

    # A refused token: that alert is dead, and the flush stops rather than killing the others one by one.
    first, second = (
        detection(alerts_engine, contoso, sender="a@a.example"),
        detection(alerts_engine, contoso, sender="b@b.example"),
    )
    fake_slack.script("chat.postMessage", error("invalid_auth"))
    assert flush(alerts_engine, alerts_settings, sink).dead == 1
    stored = rows(alerts_engine)
    assert stored[first].state == "dead" and "invalid_auth" in stored[first].last_error
    assert stored[second].state == "pending" and stored[second].attempts == 0


# --- routing and silences --------------------------------------------------------------------


def test_routing_to_tenant_security_and_health_channels(
    fake_slack, alerts_settings, alerts_engine, fake_clock
) -> None:
    settings = alerts_settings.model_copy(
        update={
            "slack": alerts_settings.slack.model_copy(
                update={"security_channel": "C0SECURE", "health_channel": "#tenant-health"}
            )
        }
    )
    sink = SlackSink.from_settings(settings, token=TOKEN, clock=fake_clock, sleep=fake_clock.sleep)
    contoso = add_tenant(alerts_engine, "Contoso", channel="C0CONTOS")
    other = add_tenant(alerts_engine, "Northwind")
    detection(alerts_engine, contoso)
    detection(alerts_engine, contoso, label="impersonation", sender="it@micros0ft.example")
    detection(alerts_engine, other, tenant="Northwind")
    health(alerts_engine, contoso)
    flush(alerts_engine, settings, sink)
    assert [len(fake_slack.posts(c)) for c in ("C0CONTOS", "C0SECURE", "C0ALERTS", "C0HEALTH")] == [
        1,
        1,
        1,
        1,
    ]
    assert "Possible impersonation" in fake_slack.posts("C0SECURE")[0]["text"]
    assert "Reconnect needed" in fake_slack.posts("C0HEALTH")[0]["text"]


def test_silences_keep_the_row_but_do_not_post(fake_slack, alerts_settings, alerts_engine, sink) -> None:
    tenant_id = add_tenant(alerts_engine)
    now = utcnow()
    with session_scope(alerts_engine) as s:
        add_silence(
            s,
            sender="microsoft.com",
            reason="Contoso asked Microsoft for a quote",
            duration=timedelta(days=7),
            now=now,
        )
        add_silence(
            s,
            vendor="Acme",
            reason="expired long ago",
            duration=timedelta(hours=1),
            now=now - timedelta(days=1),
        )
        add_silence(
            s, tenant="Contoso", vendor="Nobody", reason="other vendor", duration=timedelta(days=1), now=now
        )
    muted = detection(alerts_engine, tenant_id, sender="rep@emea.microsoft.com")
    acme = detection(alerts_engine, tenant_id, sender="sales@acme.example", vendor="Acme")
    reconnect = health(alerts_engine, tenant_id)
    report = flush(alerts_engine, alerts_settings, sink, now=now + timedelta(seconds=1))
    assert (report.sent, report.silenced) == (2, 1)
    stored = rows(alerts_engine)
    assert stored[muted].state == "silenced" and "Contoso asked Microsoft" in stored[muted].last_error
    assert stored[acme].state == stored[reconnect].state == "sent"
    assert all(muted not in alert_ids(m) for m in fake_slack.posts())
    with Session(alerts_engine) as s:
        assert s.get(Silence, 1).hits == 1


# --- one flush at a time, tenant-health notices apart ---------------------------------------


def test_a_second_flush_while_one_runs_does_nothing(alerts_engine, alerts_settings, sink, fake_slack) -> None:
    from alerts.outbox import FLUSH_LEASE, FLUSH_LEASE_SECONDS
    from monitor.leases import drop, take

    def _take_lease(engine, holder, now, seconds):  # type: ignore[no-untyped-def]
        return take(engine, FLUSH_LEASE, holder, now=now, seconds=seconds)

    def _drop_lease(engine, holder):  # type: ignore[no-untyped-def]
        drop(engine, FLUSH_LEASE, holder)

    tenant = add_tenant(alerts_engine)
    detection(alerts_engine, tenant)
    now = utcnow()
    assert _take_lease(alerts_engine, "the-worker", now, FLUSH_LEASE_SECONDS)  # a flush elsewhere
    report = flush(alerts_engine, alerts_settings, sink, now=now)
    assert report.busy and report.sent == 0
    assert [a.state for a in rows(alerts_engine).values()] == ["pending"]
    _drop_lease(alerts_engine, "the-worker")
    assert flush(alerts_engine, alerts_settings, sink, now=now).sent == 1
    # A lease its holder never released (a crash) expires.
    assert _take_lease(alerts_engine, "crashed", now, 1)
    assert flush(alerts_engine, alerts_settings, sink, now=now).busy
    assert not flush(alerts_engine, alerts_settings, sink, now=now + timedelta(seconds=2)).busy


def test_reconnect_notices_in_quick_succession_are_both_posted(
    alerts_engine, alerts_settings, sink, fake_slack
) -> None:
    tenant = add_tenant(alerts_engine)
    health(alerts_engine, tenant, "needs_reconnect")
    health(alerts_engine, tenant, "reconnected")
    report = flush(alerts_engine, alerts_settings, sink)
    assert report.sent == 2
    texts = [post["text"] for post in fake_slack.posts()]
    assert len(texts) == 2
    assert any("econnect" in t and "needed" in t.lower() for t in texts)
    assert any("reconnected" in t.lower() for t in texts)
