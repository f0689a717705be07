"""The worker in this process: scheduling of polls, batches, the jobs, stopping, logs, and the
`run`/`scan --once`/`status` commands, against the Graph and identity sandboxes and the fake Slack."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from click.testing import CliRunner
from conftest import FRONTDESK, OWNER, connect_tenant, demo_mail
from sqlmodel import Session, select

from monitor.cli import cli
from monitor.config import load_settings
from monitor.db import make_engine
from monitor.leases import claim
from monitor.models import Alert, Mailbox, Tenant, WorkerState, utcnow
from monitor.worker import Worker


# --- scheduling polls (database only) ------------------------------------------------------------
def mailboxes(engine) -> dict[str, Mailbox]:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return {m.address: m for m in session.exec(select(Mailbox)).all()}


def test_polls_keep_their_interval_and_a_backlog_spreads_out(worker_db) -> None:  # type: ignore[no-untyped-def]
    settings, engine = worker_db
    worker = Worker(settings, engine, sink=object())  # type: ignore[arg-type]
    due = utcnow()
    # Claimed two seconds late and scanned: the next poll is an interval after it was due.
    regular = [
        (worker.next_poll(due, due + timedelta(seconds=2), due + timedelta(seconds=3)) - due).total_seconds()
        for _ in range(300)
    ]
    assert min(regular) >= 55 and max(regular) <= 65 and 59 < sum(regular) / len(regular) < 61
    started = due + timedelta(hours=3)
    backlog = [(worker.next_poll(due, started, started) - started).total_seconds() for _ in range(300)]
    assert 0 <= min(backlog) < 10 and 50 < max(backlog) <= 60
    # A scan that took longer than the interval: due again at once, not in the past.
    late = due + timedelta(seconds=90)
    assert worker.next_poll(due, due, late) == late


def test_a_tenants_mailboxes_stay_in_phase(worker_db) -> None:  # type: ignore[no-untyped-def]
    from monitor.scanner import ScanResult
    from monitor.worker import Claim

    settings, engine = worker_db
    worker = Worker(settings, engine, sink=object())  # type: ignore[arg-type]
    start = utcnow()
    claims = [Claim(i, i % 5, start - timedelta(seconds=i % 3)) for i in range(50)]
    done = worker._next_polls(claims, [ScanResult(mailbox_id=i) for i in range(50)], start)
    per_tenant: dict[int, set] = {}
    for (mailbox_id, at, how), item in zip(done, claims, strict=True):
        assert how == "set" and mailbox_id == item.mailbox_id
        per_tenant.setdefault(item.tenant_id, set()).add(at)
    assert all(len(times) == 1 for times in per_tenant.values())  # one $batch next time too
    assert len({t for times in per_tenant.values() for t in times}) == 5  # tenants spread apart


# --- the worker against the sandboxes -----------------------------------------------------------
@pytest.fixture
def contoso(worker_config, identity_sandbox):  # type: ignore[no-untyped-def]
    connect_tenant(worker_config, identity_sandbox, "Contoso Dental", OWNER, FRONTDESK)
    settings = load_settings(worker_config)
    return settings, make_engine(settings.database_url)


class Running:
    """worker.run() in a thread (no signal handlers off the main thread)."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.result: list[bool] = []
        self.thread = threading.Thread(target=lambda: self.result.append(worker.run()), daemon=True)
        self.thread.start()

    def stop(self) -> bool:
        self.worker.stop()
        self.thread.join(20)
        assert not self.thread.is_alive(), "the worker did not stop"
        return self.result[0]


def wait_for(condition, what: str, timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def alert_ids(fake_slack) -> Counter[int]:  # type: ignore[no-untyped-def]
    """How often each alert id was posted to Slack (in the metadata of posts and replies)."""
    found: Counter[int] = Counter()
    for message in fake_slack.posts():
        payload = (message.get("metadata") or {}).get("event_payload") or {}
        found.update(int(i) for i in str(payload.get("alert_ids", "")).split(",") if i)
    return found


def test_the_worker_scans_alerts_once_logs_safely_and_stops_cleanly(
    contoso, graph_sandbox, fake_slack, caplog, encryption_key
) -> None:  # type: ignore[no-untyped-def]
    settings, engine = contoso
    caplog.set_level(logging.INFO, logger="monitor")
    mail = {name: message for name, message, _ in demo_mail("contoso.example", "w")}
    graph_sandbox.add_message(OWNER, mail["01-microsoft-copilot-workshop.json"])
    graph_sandbox.add_message(FRONTDESK, mail["08-fake-password-expiry.json"])
    graph_sandbox.add_message(FRONTDESK, mail["06-adobe-newsletter.json"])
    running = Running(Worker(settings, engine))
    wait_for(lambda: len(alert_ids(fake_slack)) == 2, "two alerts in Slack")
    # A mailbox gets mail while the worker runs: found at the next poll (one second).
    graph_sandbox.add_message(OWNER, mail["02-dell-refresh.json"])
    wait_for(lambda: len(alert_ids(fake_slack)) == 3, "the third alert")
    time.sleep(1.5)  # more polls: nothing is posted twice
    assert running.stop() is True

    assert set(alert_ids(fake_slack).values()) == {1}
    # Impersonation goes to the security channel, outreach to the default one.
    assert len(fake_slack.posts("C0SECURE")) == 1 and len(fake_slack.posts("C0ALERTS")) == 2
    with Session(engine) as session:
        boxes = session.exec(select(Mailbox)).all()
        assert all(b.lease_until is None and b.lease_owner == "" for b in boxes)
        assert all(b.last_success_at is not None for b in boxes)
        assert {a.state for a in session.exec(select(Alert)).all()} == {"sent"}
        state = session.exec(select(WorkerState)).one()
        assert state.stopped_at is not None and state.cycles >= 3

    lines = [r.getMessage() for r in caplog.records if r.name == "monitor.worker"]
    cycles = [line for line in lines if line.startswith("cycle ")]
    assert cycles and all(
        all(
            f" {k}=" in line
            for k in ("claimed", "scanned", "messages", "detections", "alerts", "errors", "duration_s")
        )
        for line in cycles
    )
    assert sum(int(line.split(" alerts=")[1].split()[0]) for line in cycles) == 3
    delivered = [line for line in lines if line.startswith("alert delivered ")]
    assert len(delivered) == 3 and all("label=" in line and "channel=" in line for line in delivered)
    everything = "\n".join(r.getMessage() for r in caplog.records)
    for secret_or_content in (
        "Copilot workshop",
        "Hi Olivia",
        "password for",
        fake_slack.token,
        encryption_key,
        "Bearer",
    ):
        assert secret_or_content not in everything

    result = CliRunner().invoke(cli, ["--config", settings.source, "status"])
    assert result.exit_code == 0, result.output
    assert "not running (stopped" in result.output and "Contoso Dental" in result.output
    assert (
        OWNER in result.output and "0 waiting; 3 sent" in result.output and "no dead letters" in result.output
    )


def test_stopping_releases_scans_that_do_not_finish_in_time(contoso, graph_sandbox) -> None:  # type: ignore[no-untyped-def]
    settings, engine = contoso
    settings = settings.model_copy(
        update={"worker": settings.worker.model_copy(update={"stop_grace_seconds": 0.3})}
    )
    graph_sandbox.set_faults(latency_ms=2500)
    worker = Worker(settings, engine)
    running = Running(worker)
    wait_for(lambda: any(m.lease_until for m in mailboxes(engine).values()), "a scan to start")
    before = {m.address: m.next_poll_at for m in mailboxes(engine).values()}
    assert running.stop() is False  # the scan was still waiting for Graph
    after = mailboxes(engine)
    assert all(m.lease_until is None and m.lease_owner == "" for m in after.values())
    assert {a: m.next_poll_at for a, m in after.items()} == before  # due again at the next start
    worker._pool.shutdown(wait=True)  # let the abandoned scan end before the sandbox stops


def test_a_revoked_consent_is_noticed_without_mail(contoso, identity_sandbox, fake_slack) -> None:  # type: ignore[no-untyped-def]
    settings, engine = contoso
    worker = Worker(settings, engine)
    assert worker.check_tokens() == (1, 0)
    identity_sandbox.revoke_consent(OWNER)
    assert worker.check_tokens() == (0, 1)
    assert worker.check_tokens() == (0, 0)  # not active any more: asked once, alerted once
    worker.flush_outbox()
    health = [m for m in fake_slack.posts("C0HEALTH")]
    assert len(health) == 1 and "Contoso Dental" in health[0]["text"]
    with Session(engine) as session:
        assert session.exec(select(Tenant)).one().status == "needs_reconnect"
    # Its mailboxes are not claimed any more.
    assert claim(engine, "w", now=utcnow() + timedelta(hours=1), lease_seconds=60, limit=10) == []


def test_scan_once_and_status_on_the_command_line(contoso, graph_sandbox, fake_slack) -> None:  # type: ignore[no-untyped-def]
    settings, engine = contoso
    config = settings.source
    mail = {name: message for name, message, _ in demo_mail("contoso.example", "s")}
    graph_sandbox.add_message(FRONTDESK, mail["03-agency-for-microsoft.json"])
    graph_sandbox.add_message(OWNER, mail["09-internal-lunch.json"])
    runner = CliRunner()
    assert runner.invoke(cli, ["--config", config, "scan"]).exit_code == 2  # --once is required
    result = runner.invoke(cli, ["--config", config, "scan", "--once", "--tenant", "contoso dental"])
    assert result.exit_code == 0, result.output
    assert "Scanning 2 mailbox(es)" in result.output
    assert "Scanned 2 of 2 mailbox(es): 2 new message(s), 1 detection(s), 1 alert(s)." in result.output
    assert "sent 1" in result.output and len(alert_ids(fake_slack)) == 1  # no worker running: delivered now
    again = runner.invoke(cli, ["--config", config, "scan", "--once"])
    assert "0 new message(s)" in again.output and len(alert_ids(fake_slack)) == 1
    # The next regular poll is a full interval away, as after any scan.
    assert all(m.next_poll_at > utcnow() and m.lease_until is None for m in mailboxes(engine).values())
    unknown = runner.invoke(cli, ["--config", config, "scan", "--once", "--tenant", "Nobody"])
    assert unknown.exit_code == 1 and "no tenant named 'Nobody'" in unknown.output

    status = runner.invoke(cli, ["--config", config, "status"])
    assert status.exit_code == 0, status.output
    assert "has never run" in status.output and "0 waiting; 1 sent" in status.output
    for address in (OWNER, FRONTDESK):
        assert address in status.output


def test_run_refuses_a_slack_token_slack_rejects(worker_config, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("OUTREACH_MONITOR_SLACK_TOKEN", "xoxb-not-the-right-one")
    result = CliRunner().invoke(cli, ["--config", str(worker_config), "run"])
    assert result.exit_code == 2 and "Slack rejected the bot token" in result.output
    assert "xoxb-not-the-right-one" not in result.output


def test_batches_keep_a_tenants_mailboxes_together(worker_db) -> None:  # type: ignore[no-untyped-def]
    from monitor.worker import Claim

    settings, engine = worker_db
    settings = settings.model_copy(update={"worker": settings.worker.model_copy(update={"batch_size": 50})})
    worker = Worker(settings, engine, sink=object())  # type: ignore[arg-type]
    start = utcnow()
    # Three tenants of 20 and one of 120, mixed up as the claim returns them.
    claims = [Claim(i, 9 if i >= 60 else i % 3, start) for i in range(180)]
    batches = worker._split(claims, 8)
    assert sorted(c.mailbox_id for b in batches for c in b) == list(range(180))
    assert all(len(b) <= 50 for b in batches)
    for tenant in (0, 1, 2):  # a small tenant is never cut in two
        assert sum(any(c.tenant_id == tenant for c in b) for b in batches) == 1
    assert sum(any(c.tenant_id == 9 for c in b) for b in batches) == 3  # 120 in pieces of at most 50
