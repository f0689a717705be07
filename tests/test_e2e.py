"""End to end: the real worker process (`outreach-monitor run`), the Graph and identity sandboxes
and the fake Slack. Every outreach and impersonation alerts exactly once and nothing else does,
across tenants, through a SIGKILL and restart, Graph faults and a Slack outage."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from conftest import FRONTDESK, OUTSIDER, OWNER, connect_tenant, demo_mail
from sqlmodel import Session, col, select

from monitor.config import load_settings
from monitor.db import make_engine
from monitor.models import Alert, Detection, Mailbox, Tenant, WorkerState, utcnow

COMMAND = Path(sys.executable).with_name("outreach-monitor")
DEAD_PROXY = "http://127.0.0.1:9"  # nothing listens there: loopback traffic must not use it


class WorkerProcess:
    """`outreach-monitor --config CONFIG run` in a subprocess, its output in a file."""

    def __init__(self, config: Path, log: Path, **env: str) -> None:
        self.config, self.log = config, log
        self.env = {**os.environ, "HTTP_PROXY": DEAD_PROXY, "HTTPS_PROXY": DEAD_PROXY, **env}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [str(COMMAND), "--config", str(self.config), "run"],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return self

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def wait(self, timeout: float) -> int:
        assert self.process is not None
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"the worker did not exit within {timeout:g} s:\n{self.output()[-3000:]}"
            ) from None

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture
def workers(tmp_path):  # type: ignore[no-untyped-def]
    """Starts worker processes; every one is killed at the end, whatever happened."""
    started: list[WorkerProcess] = []

    def start(config: Path, **env: str) -> WorkerProcess:
        process = WorkerProcess(config, tmp_path / "worker.log", **env).start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()


@pytest.fixture
def fleet(worker_config, identity_sandbox):  # type: ignore[no-untyped-def]
    """Two customers connected with `connect`: Contoso Dental (two mailboxes, alerts to its own
    channel) and Fabrikam (one mailbox, the default channel)."""
    connect_tenant(worker_config, identity_sandbox, "Contoso Dental", OWNER, FRONTDESK)
    connect_tenant(worker_config, identity_sandbox, "Fabrikam", OUTSIDER)
    settings = load_settings(worker_config)
    engine = make_engine(settings.database_url)
    with Session(engine) as session:
        contoso = session.exec(select(Tenant).where(Tenant.name == "Contoso Dental")).one()
        contoso.slack_channel = "#contoso"
        session.add(contoso)
        session.commit()
    return worker_config, engine


def deliver(graph, *, tag: str, half: int | None = None) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """The demo mail to both customers (Contoso's spread over its two mailboxes); returns the
    (mailbox, internetMessageId) of each message that must alert. ``half``: 0 or 1 of the mail."""
    expected = set()
    plan = [(OWNER, FRONTDESK, "contoso.example"), (OUTSIDER, OUTSIDER, "fabrikam.example")]
    for first, second, domain in plan:
        for index, (_name, message, alerts) in enumerate(demo_mail(domain, tag)):
            if half is not None and index % 2 != half:
                continue
            mailbox = first if index % 3 else second
            graph.add_message(mailbox, message)
            if alerts:
                expected.add((mailbox, message["internetMessageId"]))
    return expected


def posted_alert_ids(fake_slack) -> Counter[int]:  # type: ignore[no-untyped-def]
    found: Counter[int] = Counter()
    for message in fake_slack.posts():
        payload = (message.get("metadata") or {}).get("event_payload") or {}
        found.update(int(i) for i in str(payload.get("alert_ids", "")).split(",") if i)
    return found


def alerted(engine) -> dict[int, tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    """alert id -> (mailbox, internetMessageId, state) for every detection alert."""
    with Session(engine) as session:
        rows = session.exec(
            select(Alert.id, Alert.state, Mailbox.address, Detection.internet_message_id)
            .join(Detection, col(Detection.id) == col(Alert.detection_id))
            .join(Mailbox, col(Mailbox.id) == col(Detection.mailbox_id))
        ).all()
    return {alert_id: (address, key, state) for alert_id, state, address, key in rows}


def wait_until_delivered(engine, fake_slack, expected: set, worker: WorkerProcess, timeout: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = alerted(engine)
        if (
            len(rows) >= len(expected)
            and all(state == "sent" for *_, state in rows.values())
            and len(posted_alert_ids(fake_slack)) >= len(expected)
        ):
            return
        time.sleep(0.2)
    rows = alerted(engine)
    raise AssertionError(
        f"after {timeout:g} s: {sum(s == 'sent' for *_, s in rows.values())} of {len(expected)} alerts sent, "
        f"{len(posted_alert_ids(fake_slack))} in Slack\nworker log:\n{worker.output()[-4000:]}"
    )


def assert_exactly_once(engine, fake_slack, expected: set) -> None:  # type: ignore[no-untyped-def]
    rows = alerted(engine)
    assert {(address, key) for address, key, _ in rows.values()} == expected  # nothing else alerted
    assert len(rows) == len(expected)  # one alert per message
    in_slack = posted_alert_ids(fake_slack)
    assert set(in_slack) == set(rows) and set(in_slack.values()) == {1}  # each posted once
    with Session(engine) as session:
        assert session.exec(select(Alert).where(Alert.state != "sent")).all() == []


def wait_for_start(engine, worker: WorkerProcess, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with Session(engine) as session:
            if session.exec(select(WorkerState).where(col(WorkerState.stopped_at).is_(None))).first():
                return
        assert worker.process is not None and worker.process.poll() is None, worker.output()
        time.sleep(0.1)
    raise AssertionError(f"the worker did not start:\n{worker.output()}")


def test_every_outreach_alerts_exactly_once_across_tenants_and_sigterm_exits_cleanly(
    fleet, graph_sandbox, fake_slack, workers, encryption_key
) -> None:  # type: ignore[no-untyped-def]
    config, engine = fleet
    expected = deliver(graph_sandbox, tag="mix", half=0)  # waiting before the worker starts
    worker = workers(config)
    wait_for_start(engine, worker)
    expected |= deliver(graph_sandbox, tag="mix", half=1)  # arriving while it runs
    assert len(expected) == 14
    wait_until_delivered(engine, fake_slack, expected, worker, timeout=30)
    time.sleep(1.2)  # more polls of every mailbox: still nothing twice
    assert_exactly_once(engine, fake_slack, expected)
    # Contoso's alerts in its own channel, Fabrikam's in the default one, impersonation apart.
    assert {cid for cid in ("C0CONTOS", "C0ALERTS", "C0SECURE") if fake_slack.posts(cid)} == {
        "C0CONTOS",
        "C0ALERTS",
        "C0SECURE",
    }
    assert len(fake_slack.posts("C0SECURE")) == 2 and not fake_slack.posts("C0HEALTH")

    worker.signal(signal.SIGTERM)
    assert worker.wait(15) == 0
    output = worker.output()
    assert "worker stopped" in output and "alert delivered" in output
    with Session(engine) as session:
        assert all(m.lease_until is None for m in session.exec(select(Mailbox)).all())
    for private in ("Copilot workshop", "Hi Olivia", fake_slack.token, encryption_key):
        assert private not in output


def test_a_worker_killed_mid_scan_and_restarted_loses_and_doubles_nothing(
    fleet, graph_sandbox, fake_slack, workers
) -> None:  # type: ignore[no-untyped-def]
    config, engine = fleet
    expected = deliver(graph_sandbox, tag="kill")
    graph_sandbox.set_faults(latency_ms=150)  # two messages a page: a scan takes a few seconds
    slow = {"OUTREACH_MONITOR__GRAPH__PAGE_SIZE": "2"}
    first = workers(config, **slow)
    deadline = time.monotonic() + 30
    mid_scan = False
    while time.monotonic() < deadline:
        with Session(engine) as session:
            found = len(session.exec(select(Detection.id)).all())
            leased = session.exec(select(Mailbox.id).where(col(Mailbox.lease_until) > utcnow())).first()
        if found and leased is not None:
            first.process.send_signal(signal.SIGKILL)  # type: ignore[union-attr]
            mid_scan = True
            break
        time.sleep(0.02)
    assert mid_scan, f"no scan was caught in the middle:\n{first.output()}"
    first.wait(10)
    with Session(engine) as session:
        assert len(session.exec(select(Detection.id)).all()) < len(expected)  # work was left over
    graph_sandbox.set_faults(latency_ms=0)
    second = workers(config, **slow)
    wait_until_delivered(engine, fake_slack, expected, second, timeout=40)  # the lease runs out after 5 s
    time.sleep(1.5)
    assert_exactly_once(engine, fake_slack, expected)
    second.signal(signal.SIGINT)
    assert second.wait(15) == 0


def test_graph_faults_and_a_slack_outage_still_deliver_everything_once(
    fleet, graph_sandbox, fake_slack, workers
) -> None:  # type: ignore[no-untyped-def]
    config, engine = fleet
    graph_sandbox.set_faults(rate_429=0.05, rate_503=0.05, retry_after=0.2, seed=7)
    worker = workers(config)
    wait_for_start(engine, worker)
    fake_slack.down = True
    expected = deliver(graph_sandbox, tag="faults")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not any(
        c.answered == 503 for c in fake_slack.calls_to("chat.postMessage")
    ):
        time.sleep(0.1)
    time.sleep(0.5)  # Slack stays down a little longer: more alerts queue up and back off
    fake_slack.down = False
    wait_until_delivered(engine, fake_slack, expected, worker, timeout=45)
    time.sleep(1)
    assert_exactly_once(engine, fake_slack, expected)
    stats = graph_sandbox.stats()
    failed = sum(n for key, n in stats.items() if key.rsplit(":", 1)[-1] in ("429", "503"))
    assert failed > 0, stats  # the faults did happen
    assert any(c.answered == 503 for c in fake_slack.calls_to("chat.postMessage"))
    worker.signal(signal.SIGTERM)
    assert worker.wait(15) == 0
