"""The scanner against the Graph sandbox: detections and alerts exactly once, cursors after commit,
resyncs, removals, unreadable mailboxes, token trouble, batching, and the real msal path end to end."""

from __future__ import annotations

import csv
import json
import logging
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FRONTDESK, OWNER, PRIVATE
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from detectors.classifier import classify
from monitor.config import DatabaseSettings, GraphSettings, MspSettings, Settings
from monitor.db import make_engine
from monitor.errors import ReconnectNeeded
from monitor.graph import GraphClient
from monitor.models import Alert, Detection, FolderCursor, Mailbox, Tenant
from monitor.scanner import Scanner

SCOPES = ["Mail.Read", "Mail.Read.Shared", "User.Read"]
# Clear-cut vendor outreach from the development corpus (labels.csv: vendor_outreach).
OUTREACH = (
    "devA-AAMkAGY2QyNzE3MTktNWNmZS1mODEzLTZiYTEtMDE4BGAAAAAAusur8Tr72rIFnpPBfkB3UdBwAZPK99NVdx9H5cPbL1nAAA=",
    "devA-AAMkAGNWNjZGJkMDItYmU2Ni03MDRlLWZlYjEtNWFjBGAAAAAA_U306wfxIstwy4_0azazvCBwAB2j-YaBmkEse3M9dqnAAA=",
)
PAYLOAD_KEYS = {
    "detection_id",
    "tenant",
    "mailbox",
    "recipients",
    "sender_name",
    "sender_address",
    "vendor",
    "label",
    "score",
    "subject",
    "received",
    "reasons",
    "snippet",
    "web_link",
}


class Corpus:
    def __init__(self, root: Path) -> None:
        self.root = root
        with (root / "labels.csv").open(encoding="utf-8") as handle:
            self.labels = {row["id"]: row["label"] for row in csv.DictReader(handle)}

    def message(self, message_id: str, minutes_ago: float = 5) -> dict:
        data = json.loads((self.root / "messages" / f"{message_id}.json").read_text(encoding="utf-8"))
        # Delivered now (within the look-back); the sandbox gives it its own id.
        received = (datetime.now(UTC) - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")
        data.update(receivedDateTime=received, createdDateTime=received, sentDateTime=received)
        data.pop("id", None)
        return data

    def ids(self, label: str | None = None, *, not_label: str | None = None) -> list[str]:
        return sorted(
            i
            for i, lab in self.labels.items()
            if (label is None or lab == label) and (not_label is None or lab != not_label)
        )


@pytest.fixture
def corpus(dev_corpus) -> Corpus:  # type: ignore[no-untyped-def]
    return Corpus(dev_corpus)


class World:
    """A database with Contoso Dental (OWNER's own mailbox and FRONTDESK, shared) and a scanner."""

    def __init__(self, tmp_path: Path, graph, directory, *, folders=("inbox",), page_size: int = 5) -> None:  # type: ignore[no-untyped-def]
        self.graph, self.directory = graph, directory
        self.settings = Settings(
            graph=GraphSettings(endpoint=graph.base_url, folders=list(folders), page_size=page_size),
            database=DatabaseSettings(url=f"sqlite:///{tmp_path / 'scan.db'}", data_dir=str(tmp_path)),
            msp=MspSettings(name="Northwind IT", domains=["northwind-it.example"]),
        )
        self.engine = make_engine(self.settings.database_url)
        with Session(self.engine) as session:
            tenant = Tenant(
                name="Contoso Dental", status="active", domains='["contoso.example"]', username=OWNER
            )
            session.add(tenant)
            session.flush()
            own = Mailbox(tenant_id=tenant.id or 0, address=OWNER)
            shared = Mailbox(
                tenant_id=tenant.id or 0, address=FRONTDESK, shared=True, graph_user_id=FRONTDESK
            )
            session.add_all([own, shared])
            session.commit()
            self.tenant_id, self.own, self.shared = tenant.id or 0, own.id or 0, shared.id or 0
        self.asked: list[bool] = []
        self.judged: Counter[str] = Counter()

    def tokens(self, tenant: Tenant, force_refresh: bool) -> str:
        self.asked.append(force_refresh)
        return self.directory.issue_access_token(self.directory.user(tenant.username), SCOPES)

    def counting(self, message, context):  # type: ignore[no-untyped-def]
        self.judged[message.internet_message_id] += 1
        return classify(message, context)

    def scanner(self, **kw) -> Scanner:  # type: ignore[no-untyped-def]
        kw.setdefault("client", GraphClient(self.settings.graph, backoff=0.01))
        kw.setdefault("classifier", self.counting)
        return Scanner(self.settings, self.engine, kw.pop("tokens", self.tokens), **kw)

    def rows(self, model):  # type: ignore[no-untyped-def]
        with Session(self.engine) as session:
            return list(session.exec(select(model)).all())

    def mailbox(self, mailbox_id: int) -> Mailbox:
        with Session(self.engine) as session:
            found = session.get(Mailbox, mailbox_id)
            assert found is not None
            return found


@pytest.fixture
def world(tmp_path, graph_sandbox, directory) -> World:  # type: ignore[no-untyped-def]
    return World(tmp_path, graph_sandbox, directory)


def test_outreach_becomes_one_detection_and_one_alert(world, corpus) -> None:  # type: ignore[no-untyped-def]
    delivered = [world.graph.add_message(FRONTDESK, corpus.message(i)) for i in OUTREACH]
    for message_id in corpus.ids("other")[:4]:
        world.graph.add_message(FRONTDESK, corpus.message(message_id))
    [own, shared] = world.scanner().scan_mailboxes([world.own, world.shared])
    assert (own.status, shared.status) == ("ok", "ok")
    assert shared.messages == 6 and shared.pages == 2  # page size 5

    detections = {d.internet_message_id: d for d in world.rows(Detection)}
    outreach = {m["internetMessageId"] for m in delivered}
    assert outreach <= set(detections)
    alerts = world.rows(Alert)
    alerting = [d for d in detections.values() if d.label in world.settings.detection.alert_labels]
    assert len(alerts) == len(alerting) >= 2 and {a.state for a in alerts} == {"pending"}
    payload = json.loads(
        next(
            a.payload
            for a in alerts
            if detections[
                next(k for k, d in detections.items() if d.id == a.detection_id)
            ].internet_message_id
            in outreach
        )
    )
    assert set(payload) == PAYLOAD_KEYS
    assert payload["tenant"] == "Contoso Dental" and payload["mailbox"] == FRONTDESK
    assert payload["label"] == "vendor_outreach" and payload["vendor"] == "Microsoft"
    assert payload["sender_address"].endswith("@microsoft.com") and payload["recipients"]
    weights = [r["weight"] for r in payload["reasons"]]
    assert 1 <= len(weights) <= 5 and weights == sorted(weights, reverse=True)
    assert set(payload["reasons"][0]) == {"id", "description", "evidence", "weight"}
    assert 0 < len(payload["snippet"]) <= 500 and payload["web_link"].startswith("https://")
    assert payload["received"].endswith("Z")

    cursor = next(c for c in world.rows(FolderCursor) if c.mailbox_id == world.shared)
    assert cursor.folder == "inbox" and "$deltatoken=" in cursor.delta_link and cursor.synced_at
    mailbox = world.mailbox(world.shared)
    assert (
        mailbox.last_success_at and mailbox.messages_seen == 6 and mailbox.detections_count == len(detections)
    )

    again = world.scanner().scan_mailbox(world.shared)  # nothing new: nothing judged, nothing alerted
    assert (again.status, again.messages, again.detections, again.alerts) == ("ok", 0, 0, 0)
    assert len(world.rows(Alert)) == len(alerts)


def test_every_message_is_judged_exactly_once(world, corpus) -> None:  # type: ignore[no-untyped-def]
    ids = corpus.ids()[:23]
    for message_id in ids[:20]:
        world.graph.add_message(OWNER, corpus.message(message_id))
    scanner = world.scanner()
    first = scanner.scan_mailbox(world.own)
    for message_id in ids[20:]:
        world.graph.add_message(OWNER, corpus.message(message_id))
    second = scanner.scan_mailbox(world.own)
    third = scanner.scan_mailbox(world.own)
    assert (first.messages, second.messages, third.messages) == (20, 3, 0)
    assert len(world.judged) == 23 and set(world.judged.values()) == {1}
    keys = [d.internet_message_id for d in world.rows(Detection)]
    assert len(keys) == len(set(keys))


class Crash(BaseException):
    """The process dying mid-scan (not an Exception: nothing may catch it)."""


def test_a_crash_mid_scan_repeats_work_but_never_skips_or_alerts_twice(world, corpus) -> None:  # type: ignore[no-untyped-def]
    ids = [*OUTREACH, *corpus.ids("vendor_outreach")[:10], *corpus.ids("other")[:6]]
    delivered = {
        world.graph.add_message(OWNER, corpus.message(i))["internetMessageId"] for i in dict.fromkeys(ids)
    }
    seen: list[str] = []

    def dies_on_the_ninth(message, context):  # type: ignore[no-untyped-def]
        seen.append(message.internet_message_id)
        if len(seen) == 9:
            raise Crash
        return classify(message, context)

    with pytest.raises(Crash):
        world.scanner(classifier=dies_on_the_ninth).scan_mailbox(world.own)
    committed = world.rows(Detection)
    assert len(seen) == 9 and len(committed) <= 5  # only the first page (5) reached the database
    world.scanner().scan_mailbox(world.own)
    assert set(seen[:5]).isdisjoint(world.judged)  # the committed page is not judged again
    assert set(seen) | set(world.judged) == delivered  # nothing skipped
    detections = world.rows(Detection)
    alerts = world.rows(Alert)
    assert len({d.internet_message_id for d in detections}) == len(detections)
    assert sorted(a.detection_id for a in alerts) == sorted(
        d.id for d in detections if d.label in world.settings.detection.alert_labels
    )


def test_a_failed_commit_keeps_the_cursor_where_it_was(world, corpus) -> None:  # type: ignore[no-untyped-def]
    for message_id in [*OUTREACH, *corpus.ids("vendor_outreach")[:8]]:
        world.graph.add_message(OWNER, corpus.message(message_id))
    cursor_writes = []

    def fail_second_cursor(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("INSERT INTO FOLDERCURSOR"):
            cursor_writes.append(statement)
            if len(cursor_writes) == 2:
                raise OperationalError(statement, parameters, Exception("disk I/O error"))

    event.listen(world.engine, "before_cursor_execute", fail_second_cursor)
    try:
        broken = world.scanner().scan_mailbox(world.own)
    finally:
        event.remove(world.engine, "before_cursor_execute", fail_second_cursor)
    assert broken.status == "error" and "database" in broken.error
    assert broken.detections <= 5  # the second page's detections were rolled back with its cursor
    before = {d.internet_message_id for d in world.rows(Detection)}
    cursor = next(c for c in world.rows(FolderCursor) if c.mailbox_id == world.own)
    assert "$skiptoken=" in cursor.delta_link  # still the first page's next link
    assert world.mailbox(world.own).last_error

    fixed = world.scanner().scan_mailbox(world.own)
    assert fixed.status == "ok"
    detections = world.rows(Detection)
    assert before < {d.internet_message_id for d in detections}
    assert len(world.rows(Alert)) == len(
        [d for d in detections if d.label in world.settings.detection.alert_labels]
    )
    assert len({d.internet_message_id for d in detections}) == len(detections)


def test_an_expired_delta_token_resyncs_from_the_look_back_without_duplicates(world, corpus) -> None:  # type: ignore[no-untyped-def]
    world.graph.add_message(OWNER, corpus.message(OUTREACH[0]))
    world.graph.add_message(OWNER, corpus.message(corpus.ids("other")[0]))
    world.graph.add_message(
        OWNER, corpus.message(corpus.ids("other")[1], minutes_ago=60 * 24 * 20)
    )  # too old
    scanner = world.scanner()
    scanner.scan_mailbox(world.own)
    assert len(world.rows(Detection)) == 1 and len(world.rows(Alert)) == 1
    world.graph.expire_delta_tokens(OWNER)
    world.graph.add_message(OWNER, corpus.message(OUTREACH[1]))
    result = scanner.scan_mailbox(world.own)
    assert result.status == "ok" and result.resynced == 1
    assert result.detections == 1 and result.alerts == 1
    assert len(world.rows(Detection)) == 2 and len(world.rows(Alert)) == 2
    old = corpus.message(corpus.ids("other")[1])["internetMessageId"]
    assert old not in world.judged  # the look-back bounds the resync too


def test_removed_messages_and_moves_between_watched_folders(
    tmp_path, graph_sandbox, directory, corpus
) -> None:  # type: ignore[no-untyped-def]
    world = World(tmp_path, graph_sandbox, directory, folders=("inbox", "archive"))
    first = graph_sandbox.add_message(OWNER, corpus.message(OUTREACH[0]))
    second = graph_sandbox.add_message(OWNER, corpus.message(OUTREACH[1]))
    scanner = world.scanner()
    scanner.scan_mailbox(world.own)
    graph_sandbox.delete_message(OWNER, first["id"])
    graph_sandbox.move_message(OWNER, second["id"], "archive")
    result = scanner.scan_mailbox(world.own)
    assert result.removed == 2 and result.detections == 0 and result.messages == 0
    state = {d.internet_message_id: (d.deleted_in_mailbox, d.folder) for d in world.rows(Detection)}
    assert state == {
        first["internetMessageId"]: (True, "inbox"),
        second["internetMessageId"]: (False, "archive"),
    }
    assert len(world.rows(Alert)) == 2 and set(world.judged.values()) == {1}


def test_unreadable_mailboxes_back_off_and_recover(world, directory) -> None:  # type: ignore[no-untyped-def]
    clock = [datetime(2030, 1, 1, 9, 0, tzinfo=UTC)]
    scanner = world.scanner(now=lambda: clock[0])
    directory.user(FRONTDESK).mail_enabled = False
    own, shared = scanner.scan_mailboxes([world.own, world.shared])
    assert own.status == "ok" and shared.status == "unreadable"
    mailbox = world.mailbox(world.shared)
    assert mailbox.status == "unreadable" and "MailboxNotEnabledForRESTAPI" in mailbox.status_reason
    assert mailbox.unreadable_until == clock[0] + timedelta(hours=1) == mailbox.next_poll_at

    requests_before = world.graph.stats()["requests"]
    clock[0] += timedelta(minutes=30)
    skipped = scanner.scan_mailbox(world.shared)
    assert skipped.status == "skipped" and "unreadable until" in skipped.error
    assert world.graph.stats()["requests"] == requests_before  # not polled during the back-off

    clock[0] += timedelta(minutes=31)
    assert scanner.scan_mailbox(world.shared).status == "unreadable"
    assert world.mailbox(world.shared).unreadable_until == clock[0] + timedelta(hours=2)  # doubled

    directory.user(FRONTDESK).mail_enabled = True  # fixed
    clock[0] += timedelta(hours=3)
    assert scanner.scan_mailbox(world.shared).status == "ok"
    mailbox = world.mailbox(world.shared)
    assert (mailbox.status, mailbox.status_reason, mailbox.unreadable_until) == ("ok", "", None)


def test_a_mailbox_not_shared_is_access_denied(world) -> None:  # type: ignore[no-untyped-def]
    with Session(world.engine) as session:
        private = Mailbox(tenant_id=world.tenant_id, address=PRIVATE, shared=True, graph_user_id=PRIVATE)
        session.add(private)
        session.commit()
        private_id = private.id or 0
    result = world.scanner().scan_mailbox(private_id)
    assert result.status == "unreadable" and "ErrorAccessDenied" in world.mailbox(private_id).status_reason


def test_token_refused_twice_stops_with_an_error(world) -> None:  # type: ignore[no-untyped-def]
    asked: list[bool] = []

    def bad_tokens(tenant: Tenant, force_refresh: bool) -> str:
        asked.append(force_refresh)
        return "not-a-valid-token"

    own, shared = world.scanner(tokens=bad_tokens).scan_mailboxes([world.own, world.shared])
    assert asked == [False, True]  # one forced refresh for the tenant, not one per mailbox
    assert own.status == shared.status == "error" and "even after a refresh" in own.error
    mailbox = world.mailbox(world.own)
    assert "even after a refresh" in mailbox.last_error and "not-a-valid-token" not in mailbox.last_error


def test_a_tenant_that_must_reconnect_fails_fast(world) -> None:  # type: ignore[no-untyped-def]
    asked: list[bool] = []

    def reconnect(tenant: Tenant, force_refresh: bool) -> str:
        asked.append(force_refresh)
        raise ReconnectNeeded(f"tenant {tenant.name!r} needs to sign in again")

    own, shared = world.scanner(tokens=reconnect).scan_mailboxes([world.own, world.shared])
    assert asked == [False]
    assert own.status == shared.status == "error" and "needs to sign in again" in shared.error
    assert world.graph.stats().get("requests", 0) == 0


def test_a_message_the_detectors_cannot_read_is_counted_and_skipped(world, corpus, caplog) -> None:  # type: ignore[no-untyped-def]
    bad = world.graph.add_message(
        OWNER, {"subject": "broken", "body": {"contentType": "text", "content": "SECRET-BODY-TEXT"}}
    )
    world.graph.add_message(OWNER, corpus.message(OUTREACH[0]))

    def fails_on_one(message, context):  # type: ignore[no-untyped-def]
        if message.internet_message_id == bad["internetMessageId"]:
            raise ValueError("SECRET-BODY-TEXT confused a rule")
        return classify(message, context)

    caplog.set_level(logging.INFO)
    result = world.scanner(classifier=fails_on_one).scan_mailbox(world.own)
    assert (result.status, result.failed, result.messages, result.detections) == ("ok", 1, 1, 1)
    assert bad["id"] in caplog.text and "SECRET-BODY-TEXT" not in caplog.text


def test_many_mailboxes_are_polled_in_batches(tmp_path, graph_sandbox, directory, corpus) -> None:  # type: ignore[no-untyped-def]
    world = World(tmp_path, graph_sandbox, directory)
    tenant = directory.tenants[directory.user(OWNER).tenant_id]
    ids = []
    with Session(world.engine) as session:
        for i in range(45):
            address = f"box{i:02d}@contoso.example"
            directory.add_user(tenant, address)
            directory.share(address, OWNER)
            mailbox = Mailbox(tenant_id=world.tenant_id, address=address, shared=True, graph_user_id=address)
            session.add(mailbox)
            session.flush()
            ids.append(mailbox.id or 0)
        session.commit()
    scanner = world.scanner()
    scanner.scan_mailboxes(ids)
    assert graph_sandbox.stats()["requests"] == 3  # 45 first syncs, 20 to a batch
    graph_sandbox.reset_stats()
    idle = scanner.scan_mailboxes(ids)
    assert {r.status for r in idle} == {"ok"} and graph_sandbox.stats()["requests"] == 3

    # New mail in a few mailboxes while Graph throttles and fails some inner requests.
    delivered = {}
    for n, message_id in enumerate([*OUTREACH, *corpus.ids("other")[:3]]):
        delivered[
            world.graph.add_message(f"box{n * 7:02d}@contoso.example", corpus.message(message_id))[
                "internetMessageId"
            ]
        ] = message_id
    graph_sandbox.set_faults(rate_429=0.15, rate_503=0.1, retry_after=0.05, seed=3)
    busy = scanner.scan_mailboxes(ids)
    assert {r.status for r in busy} == {"ok"}
    assert set(world.judged) == set(delivered) and set(world.judged.values()) == {1}
    assert graph_sandbox.stats()["inner:429"] + graph_sandbox.stats().get("inner:503", 0) >= 1
    detections = world.rows(Detection)
    assert {d.internet_message_id for d in detections} >= {m for m, i in delivered.items() if i in OUTREACH}
    assert len(world.rows(Alert)) == len(
        [d for d in detections if d.label in world.settings.detection.alert_labels]
    )


def test_end_to_end_through_connect_msal_and_the_token_provider(
    graph_sandbox, identity_sandbox, make_settings, directory, corpus
) -> None:  # type: ignore[no-untyped-def]
    from monitor.auth import TokenProvider
    from monitor.cli import cli
    from monitor.config import load_settings
    from monitor.scanner import provider_tokens

    path = make_settings(graph_endpoint=graph_sandbox.base_url)
    connected = CliRunner().invoke(
        cli,
        [
            "--config",
            str(path),
            "connect",
            "--name",
            "Contoso Dental",
            "--mailbox",
            FRONTDESK,
            "--timeout",
            "30",
        ],
    )
    assert connected.exit_code == 0, connected.output
    settings = load_settings(path)
    engine = make_engine(settings.database_url)
    with Session(engine) as session:
        mailboxes = {m.address: m.id for m in session.exec(select(Mailbox)).all()}
    assert set(mailboxes) == {OWNER, FRONTDESK}
    delivered = graph_sandbox.add_message(FRONTDESK, corpus.message(OUTREACH[0]))
    graph_sandbox.add_message(OWNER, corpus.message(OUTREACH[1]))

    scanner = Scanner(settings, engine, provider_tokens(TokenProvider(settings, engine)))
    results = scanner.scan_mailboxes([mailboxes[OWNER], mailboxes[FRONTDESK]])
    assert [r.status for r in results] == ["ok", "ok"]
    with Session(engine) as session:
        detections = session.exec(select(Detection)).all()
        assert delivered["internetMessageId"] in {d.internet_message_id for d in detections}
        assert len(session.exec(select(Alert).where(Alert.kind == "detection")).all()) == 2

    # Consent revoked: Graph refuses the cached token, the one refresh fails, the tenant must reconnect.
    identity_sandbox.revoke_consent(OWNER)
    results = scanner.scan_mailboxes([mailboxes[OWNER], mailboxes[FRONTDESK]])
    assert [r.status for r in results] == ["error", "error"]
    with Session(engine) as session:
        tenant = session.exec(select(Tenant)).one()
        assert tenant.status == "needs_reconnect"
        assert session.get(Mailbox, mailboxes[OWNER]).last_error  # type: ignore[union-attr]


# --- per-customer allow-list and removed tenants (issue 6) ---------------------------------------
def test_senders_a_reviewer_cleared_for_the_customer_are_not_flagged(world) -> None:  # type: ignore[no-untyped-def]
    from conftest import demo_mail

    from monitor.models import AllowedSender

    mail = {name: message for name, message, _ in demo_mail("contoso.example", "allow")}
    with Session(world.engine) as session:
        session.add(AllowedSender(tenant_id=world.tenant_id, value="microsoft.com"))
        session.commit()
    world.graph.add_message(OWNER, mail["01-microsoft-copilot-workshop.json"])  # cleared: microsoft.com
    world.graph.add_message(OWNER, mail["02-dell-refresh.json"])  # not cleared
    [own] = world.scanner().scan_mailboxes([world.own])
    assert own.status == "ok" and own.messages == 2
    assert [d.vendor for d in world.rows(Detection)] == ["Dell"]


def test_a_removed_tenant_is_not_scanned(world) -> None:  # type: ignore[no-untyped-def]
    with Session(world.engine) as session:
        tenant = session.get(Tenant, world.tenant_id)
        assert tenant is not None
        tenant.status = "disconnected"
        session.add(tenant)
        session.commit()
    own, shared = world.scanner().scan_mailboxes([world.own, world.shared])
    assert own.status == shared.status == "skipped" and "disconnected" in own.error
    assert world.graph.stats().get("requests", 0) == 0 and world.asked == []


def test_a_hostile_message_id_does_not_stall_the_mailbox(world, corpus) -> None:  # type: ignore[no-untyped-def]
    bad = corpus.message(OUTREACH[0])
    bad["internetMessageId"] = "<evil\ud800\x00@x.example>"  # lone surrogate and NUL: valid JSON strings
    world.graph.add_message(FRONTDESK, bad)
    world.graph.add_message(FRONTDESK, corpus.message(OUTREACH[1]))
    world.graph.add_message(OWNER, corpus.message(OUTREACH[1]))
    own, shared = world.scanner().scan_mailboxes([world.own, world.shared])
    assert (own.status, shared.status) == ("ok", "ok")
    assert shared.detections == 2
    assert any(c.mailbox_id == world.shared for c in world.rows(FolderCursor))
    assert world.scanner().scan_mailbox(world.shared).messages == 0  # the page is not read again


def test_a_successful_scan_clears_the_last_error(world, corpus) -> None:  # type: ignore[no-untyped-def]
    def refused(tenant: Tenant, force_refresh: bool) -> str:
        return "not-a-token"

    assert world.scanner(tokens=refused).scan_mailbox(world.shared).status == "error"
    assert world.mailbox(world.shared).last_error
    assert world.scanner().scan_mailbox(world.shared).status == "ok"
    assert world.mailbox(world.shared).last_error == ""
