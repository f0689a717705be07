"""Scan mailboxes: delta pages -> detectors -> detections and alerts, exactly once per message.

For every watched folder of a mailbox the scanner follows the stored cursor (or starts a round
bounded by the look-back) and, page by page:

1. asks the database which of the page's messages already have a detection (a replay after a
   crash, a resync, or a message moved between watched folders): those are not judged again;
2. judges the others with the detectors, outside any transaction;
3. in ONE transaction writes the detections worth keeping (``INSERT .. ON CONFLICT DO NOTHING``
   on mailbox + internetMessageId), an outbox row for each new one whose label alerts, the
   ``@removed`` marks, the mailbox's counters, and the folder's cursor (the page's next or delta
   link, verbatim).

So the cursor never runs ahead of the results it stands for: a crash anywhere repeats a page,
never skips one, and the unique key stops a repeated page from alerting twice. Many mailboxes
are scanned together: one tenant's folders are polled 20 to a ``$batch`` request, so an idle
poll costs a fraction of a request per mailbox.

Failures are per mailbox: 403/404 mark it ``unreadable`` with the reason and a back-off (1 h,
doubling to 24 h; a later success clears it), 410 resyncs the folder from the look-back,
anything else is recorded as the mailbox's last error and retried on the next poll.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import bindparam, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, select

from alerts.outbox import enqueue
from detectors.classifier import Context, classify
from detectors.message import Message, from_graph
from detectors.verdict import Verdict
from monitor.allowlist import allowed_senders
from monitor.config import Settings
from monitor.db import session_scope
from monitor.errors import AuthError, GraphError, MailboxUnreadable, SyncStateLost
from monitor.graph import MAX_BATCH, Credential, GraphClient, Page, mailbox_path
from monitor.models import Detection, FolderCursor, Mailbox, Tenant, utcnow

log = logging.getLogger(__name__)

UNREADABLE_FIRST_BACKOFF = timedelta(hours=1)
UNREADABLE_MAX_BACKOFF = timedelta(hours=24)
MAX_RESYNCS = 2  # per folder and scan: a sync state lost again right away is an error, not a loop
SKIP_TENANT_STATUSES = frozenset({"paused", "needs_reconnect", "disconnected"})
SNIPPET_CHARS = 500
TOP_REASONS = 5


class TokenSource(Protocol):
    """Where access tokens come from: ``tokens(tenant, force_refresh) -> str``.

    The worker passes :func:`provider_tokens` over :class:`monitor.auth.TokenProvider`; it may
    raise :class:`~monitor.errors.ReconnectNeeded` or another AuthError.
    """

    def __call__(self, tenant: Tenant, force_refresh: bool, /) -> str: ...


def provider_tokens(provider: Any) -> TokenSource:
    """A TokenSource over ``TokenProvider.access_token(tenant_id, *, force_refresh)``."""

    def tokens(tenant: Tenant, force_refresh: bool) -> str:
        return str(provider.access_token(tenant.id, force_refresh=force_refresh))

    return tokens


Classifier = Callable[[Message, Context], Verdict]


@dataclass
class ScanResult:
    """What one scan did to one mailbox (also the log line and the `mailboxes` figures)."""

    mailbox_id: int
    address: str = ""
    status: str = "ok"  # "ok", "error", "unreadable", "skipped"
    messages: int = 0  # new or changed messages judged
    detections: int = 0  # new detections written
    alerts: int = 0  # alerts queued
    removed: int = 0  # "@removed" entries seen
    failed: int = 0  # messages the detectors could not read (logged by id)
    resynced: int = 0  # folders started again after Graph dropped their sync state
    pages: int = 0
    error: str = ""


@dataclass
class _Unit:
    """One folder of one mailbox being scanned."""

    mailbox_id: int
    folder: str
    url: str  # the next request: the stored cursor, a next link, or the first-round query
    start_url: str  # the first-round query, for a resync
    resyncs: int = 0


@dataclass
class _Box:
    """A mailbox as loaded for this scan, plus what its scan found."""

    id: int
    address: str
    tenant: Tenant
    status: str
    unreadable_until: datetime | None
    last_error_at: datetime | None
    result: ScanResult
    unreadable: MailboxUnreadable | None = None
    errors: list[str] = field(default_factory=list)


class Scanner:
    """Scans mailboxes through Graph. Thread-safe; one instance serves the whole worker."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        tokens: TokenSource,
        *,
        client: GraphClient | None = None,
        classifier: Classifier = classify,
        now: Callable[[], datetime] = utcnow,
        max_workers: int | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.tokens = tokens
        self.client = client or GraphClient(settings.graph)
        self.classifier = classifier
        self.now = now
        # Threads, not requests: the client caps requests in flight at [graph] max_concurrency, and
        # threads sitting out a Retry-After hold no request, so more threads keep the cap busy.
        self.max_workers = max_workers or settings.graph.max_concurrency * 4
        self._lock = threading.Lock()
        detection = settings.detection
        self._keep = frozenset(detection.keep_labels)
        self._alert = frozenset(detection.alert_labels)
        self._min_score = detection.min_score

    # --- public ----------------------------------------------------------------------------
    def scan_mailbox(self, mailbox_id: int) -> ScanResult:
        return self.scan_mailboxes([mailbox_id])[0]

    def scan_mailboxes(self, mailbox_ids: Sequence[int]) -> list[ScanResult]:
        """Scan these mailboxes (batched per tenant); one result per id, in the given order."""
        now = self.now()
        boxes, units, results = self._load(mailbox_ids, now)
        by_tenant: dict[int, list[_Unit]] = {}
        for unit in units:
            by_tenant.setdefault(boxes[unit.mailbox_id].tenant.id or 0, []).append(unit)
        jobs: list[tuple[Context, Credential, list[_Unit]]] = []
        for tenant_units in by_tenant.values():
            tenant = boxes[tenant_units[0].mailbox_id].tenant
            credential, context = self._credential(tenant), self._context(tenant)
            # One job per $batch worth of folders; a tenant's jobs share its token.
            for start in range(0, len(tenant_units), MAX_BATCH):
                jobs.append((context, credential, tenant_units[start:start + MAX_BATCH]))
        if len(jobs) == 1:
            self._run(*jobs[0], boxes)
        elif jobs:
            with ThreadPoolExecutor(max_workers=min(self.max_workers, len(jobs)), thread_name_prefix="scan") as pool:
                for future in [pool.submit(self._run, *job, boxes) for job in jobs]:
                    future.result()
        self._finish(boxes, now)
        return [results[i] for i in mailbox_ids]

    # --- loading ---------------------------------------------------------------------------
    def _load(
        self, mailbox_ids: Sequence[int], now: datetime
    ) -> tuple[dict[int, _Box], list[_Unit], dict[int, ScanResult]]:
        results = {i: ScanResult(mailbox_id=i) for i in mailbox_ids}
        boxes: dict[int, _Box] = {}
        units: list[_Unit] = []
        since = now - timedelta(days=self.settings.graph.lookback_days)
        with session_scope(self.engine) as session:
            rows = session.exec(
                select(Mailbox, Tenant).join(Tenant, col(Tenant.id) == col(Mailbox.tenant_id))
                .where(col(Mailbox.id).in_(list(results)))
            ).all()
            cursors = session.exec(select(FolderCursor).where(col(FolderCursor.mailbox_id).in_(list(results)))).all()
        links = {(c.mailbox_id, c.folder): c.delta_link for c in cursors}
        found = {mailbox.id: (mailbox, tenant) for mailbox, tenant in rows}
        for mailbox_id, result in results.items():
            if mailbox_id not in found:
                result.status, result.error = "skipped", "no such mailbox"
                continue
            mailbox, tenant = found[mailbox_id]
            result.address = mailbox.address
            skip = ""
            if not mailbox.enabled:
                skip = "disabled"
            elif tenant.status in SKIP_TENANT_STATUSES:
                skip = f"tenant {tenant.name!r} is {tenant.status.replace('_', ' ')}"
            elif mailbox.status == "unreadable" and mailbox.unreadable_until and mailbox.unreadable_until > now:
                skip = f"unreadable until {mailbox.unreadable_until:%Y-%m-%d %H:%M} UTC: {mailbox.status_reason}"
            if skip:
                result.status, result.error = "skipped", skip
                continue
            boxes[mailbox_id] = _Box(mailbox_id, mailbox.address, tenant, mailbox.status,
                                     mailbox.unreadable_until, mailbox.last_error_at, result)
            path = mailbox_path(mailbox.address, mailbox.graph_user_id, own=not mailbox.shared)
            for folder in self.settings.graph.folders:
                start_url = self.client.delta_url(path, folder, since)
                link = links.get((mailbox_id, folder), "")
                if link and not self.client.is_own_link(link):
                    # The endpoint setting changed (another cloud): the old cursor means nothing there.
                    log.warning("mailbox %s folder %s: stored cursor is not on %s; starting again",
                                mailbox.address, folder, self.client.endpoint)
                    link = ""
                units.append(_Unit(mailbox_id, folder, link or start_url, start_url))
        return boxes, units, results

    def _credential(self, tenant: Tenant) -> Credential:
        return Credential(lambda force: self.tokens(tenant, force))

    def _context(self, tenant: Tenant) -> Context:
        try:
            domains = json.loads(tenant.domains or "[]")
        except ValueError:
            domains = []
        # Read per scan, so a sender a reviewer cleared is honoured from the next poll on.
        with session_scope(self.engine) as session:
            cleared = allowed_senders(session, tenant.id or 0)
        return Context.build(
            msp_domains=self.settings.msp.domains,
            tenant_domains=[str(d) for d in domains if isinstance(d, str)],
            allow_senders=[*self.settings.detection.allow_senders, *sorted(cleared)],
            extra_vendors=[v.model_dump() for v in self.settings.vendors],
        )

    # --- polling ---------------------------------------------------------------------------
    def _run(self, context: Context, credential: Credential, units: list[_Unit], boxes: dict[int, _Box]) -> None:
        """Poll these folders (one tenant, at most 20) until each reaches its delta link or fails."""
        pending = units
        while pending:
            try:
                if len(pending) == 1:
                    unit = pending[0]
                    try:
                        outcomes: dict[int, Page | GraphError] = {
                            0: self.client.get_page(unit.url, credential, mailbox=boxes[unit.mailbox_id].address)
                        }
                    except GraphError as exc:
                        outcomes = {0: exc}
                else:
                    outcomes = self.client.get_pages({i: u.url for i, u in enumerate(pending)}, credential)
            except AuthError as exc:
                for unit in pending:
                    self._fail(boxes[unit.mailbox_id], f"cannot get a token: {exc}")
                return
            quiet: list[tuple[_Unit, Page]] = []
            still: list[_Unit] = []
            for index, unit in enumerate(pending):
                box = boxes[unit.mailbox_id]
                if box.unreadable is not None:
                    continue  # another folder of this mailbox found it unreadable
                outcome = outcomes[index]
                if isinstance(outcome, Page):
                    if not outcome.items:
                        quiet.append((unit, outcome))
                    elif not self._commit_page(box, unit, outcome, context):
                        continue  # not committed: this folder stops here and its cursor stays put
                    if outcome.next_link:
                        unit.url = outcome.next_link
                        still.append(unit)
                elif isinstance(outcome, SyncStateLost):
                    if unit.resyncs >= MAX_RESYNCS:
                        self._fail(box, f"{unit.folder}: {outcome}")
                        continue
                    unit.resyncs += 1
                    unit.url = unit.start_url
                    with self._lock:
                        box.result.resynced += 1
                    log.warning("mailbox %s folder %s: %s; syncing again from the look-back",
                                box.address, unit.folder, outcome)
                    still.append(unit)
                elif isinstance(outcome, MailboxUnreadable):
                    with self._lock:
                        box.unreadable = outcome
                else:
                    self._fail(box, f"{unit.folder}: {outcome}")
            if quiet:
                self._save_cursors(boxes, quiet)
            pending = [u for u in still if boxes[u.mailbox_id].unreadable is None]

    def _fail(self, box: _Box, message: str) -> None:
        with self._lock:
            box.errors.append(message)
        log.warning("mailbox %s: %s", box.address, message)

    # --- one page --------------------------------------------------------------------------
    def _commit_page(self, box: _Box, unit: _Unit, page: Page, context: Context) -> bool:
        """Judge one page and commit its results with the folder's cursor; False if not committed."""
        messages: dict[str, dict[str, Any]] = {}
        removed: list[str] = []
        for item in page.items:
            if "@removed" in item:
                if item.get("id"):
                    removed.append(_text(item["id"], 400))
            else:
                messages[_message_key(item)] = item  # a replayed item counts once
        try:
            with session_scope(self.engine) as session:
                known = set(session.exec(
                    select(Detection.internet_message_id).where(
                        Detection.mailbox_id == box.id, col(Detection.internet_message_id).in_(list(messages))
                    )
                ).all()) if messages else set()
        except (SQLAlchemyError, ValueError) as exc:  # ValueError: text a driver refuses
            self._fail(box, f"database: {type(exc).__name__}")
            return False
        kept: list[tuple[str, dict[str, Any], Message, Verdict]] = []
        judged = failed = 0
        for key, item in messages.items():
            if key in known:
                continue
            try:
                message = from_graph(item)
                verdict = self.classifier(message, context)
            except Exception as exc:  # one stranger's message must never stall the mailbox
                failed += 1
                log.warning("mailbox %s: message %s could not be judged (%s)", box.address,
                            str(item.get("id", "?"))[:120], type(exc).__name__)
                continue
            judged += 1
            if verdict.label in self._keep and verdict.score >= self._min_score:
                kept.append((key, item, message, verdict))
        now = self.now()
        new = alerts = 0
        try:
            with session_scope(self.engine) as session:
                for key, item, message, verdict in kept:
                    values = self._detection_values(box, unit, key, item, message, verdict, now)
                    inserted = session.exec(  # type: ignore[call-overload]
                        _insert(self.engine, Detection).values(**values)
                        .on_conflict_do_nothing(index_elements=["mailbox_id", "internet_message_id"])
                        .returning(Detection.id)  # type: ignore[arg-type]
                    ).first()
                    if inserted is None:
                        continue  # already detected (a replay): no second alert
                    new += 1
                    if verdict.label in self._alert:
                        payload = self._payload(box, inserted[0], values, message, verdict)
                        enqueue(session, kind="detection", payload=payload, tenant_id=box.tenant.id,
                                detection_id=inserted[0])
                        alerts += 1
                moved = [(k, item) for k, item in messages.items() if k in known]
                for key, item in moved:
                    # Seen again (moved into a watched folder, or replayed): it is in the mailbox.
                    session.exec(  # type: ignore[call-overload]
                        update(Detection)
                        .where(col(Detection.mailbox_id) == box.id, col(Detection.internet_message_id) == key)
                        .values(graph_message_id=_text(item.get("id"), 400), folder=unit.folder,
                                deleted_in_mailbox=False, updated_at=now)
                    )
                if removed:
                    session.exec(  # type: ignore[call-overload]
                        update(Detection)
                        .where(col(Detection.mailbox_id) == box.id, col(Detection.graph_message_id).in_(removed),
                               col(Detection.folder) == unit.folder, col(Detection.deleted_in_mailbox).is_(False))
                        .values(deleted_in_mailbox=True, updated_at=now)
                    )
                session.exec(  # type: ignore[call-overload]
                    update(Mailbox).where(col(Mailbox.id) == box.id).values(
                        messages_seen=col(Mailbox.messages_seen) + judged,
                        detections_count=col(Mailbox.detections_count) + new,
                    )
                )
                self._upsert_cursor(session, box.id, unit.folder, page, now)
        except (SQLAlchemyError, ValueError) as exc:  # ValueError: text a driver refuses
            log.debug("database failure", exc_info=True)
            self._fail(box, f"database: {type(exc).__name__} (the page will be read again)")
            return False
        with self._lock:
            result = box.result
            result.pages += 1
            result.messages += judged
            result.detections += new
            result.alerts += alerts
            result.removed += len(removed)
            result.failed += failed
        if new or failed:
            log.info("mailbox %s folder %s: %d message(s), %d new detection(s), %d alert(s), %d unreadable",
                     box.address, unit.folder, judged, new, alerts, failed)
        return True

    def _save_cursors(self, boxes: dict[int, _Box], quiet: list[tuple[_Unit, Page]]) -> None:
        """Cursors of pages with nothing in them: one transaction for all."""
        now = self.now()
        try:
            with session_scope(self.engine) as session:
                for unit, page in quiet:
                    self._upsert_cursor(session, unit.mailbox_id, unit.folder, page, now)
        except (SQLAlchemyError, ValueError) as exc:  # ValueError: text a driver refuses
            for unit, _ in quiet:
                self._fail(boxes[unit.mailbox_id], f"database: {type(exc).__name__}")
            return
        with self._lock:
            for unit, _ in quiet:
                boxes[unit.mailbox_id].result.pages += 1

    def _upsert_cursor(self, session: Any, mailbox_id: int, folder: str, page: Page, now: datetime) -> None:
        values: dict[str, Any] = {"delta_link": page.link}
        if page.delta_link:
            values["synced_at"] = now
        session.exec(
            _insert(self.engine, FolderCursor)
            .values(mailbox_id=mailbox_id, folder=folder, **values)
            .on_conflict_do_update(index_elements=["mailbox_id", "folder"], set_=values)
        )

    def _detection_values(
        self, box: _Box, unit: _Unit, key: str, item: dict[str, Any], message: Message, verdict: Verdict, now: datetime
    ) -> dict[str, Any]:
        sender = message.sender_address
        recipients = [a.address for a in [*message.to, *message.cc] if a.address]
        return {
            "tenant_id": box.tenant.id,
            "mailbox_id": box.id,
            "internet_message_id": key,
            "graph_message_id": _text(item.get("id"), 400),
            "conversation_id": _text(item.get("conversationId"), 400),
            "received_at": _utc(message.received or str(item.get("receivedDateTime") or "")),
            "sender_address": (sender.address if sender else "")[:320],
            "sender_name": (sender.name if sender else "")[:300],
            "recipients": json.dumps(recipients[:100]),
            "subject": (message.subject or "")[:1000],
            "label": verdict.label,
            "vendor": verdict.vendor or "",
            "score": float(verdict.score),
            "rules": json.dumps([hit.to_dict() for hit in verdict.rules]),
            "snippet": (message.new_text or message.body_text or "")[:SNIPPET_CHARS],
            "web_link": _text(message.web_link or item.get("webLink"), 2000),
            "status": "new",
            "outcome": "",
            "deleted_in_mailbox": False,
            "folder": unit.folder,
            "created_at": now,
            "updated_at": now,
        }

    def _payload(
        self, box: _Box, detection_id: int, values: dict[str, Any], message: Message, verdict: Verdict
    ) -> dict[str, Any]:
        reasons = sorted(verdict.rules, key=lambda hit: hit.weight, reverse=True)[:TOP_REASONS]
        received = values["received_at"]
        return {
            "detection_id": detection_id,
            "tenant": box.tenant.name,
            "mailbox": box.address,
            "recipients": json.loads(values["recipients"]),
            "sender_name": values["sender_name"],
            "sender_address": values["sender_address"],
            "vendor": values["vendor"],
            "label": verdict.label,
            "score": round(float(verdict.score), 3),
            "subject": values["subject"],
            "received": f"{received:%Y-%m-%dT%H:%M:%SZ}" if received else message.received,
            "reasons": [hit.to_dict() for hit in reasons],
            "snippet": values["snippet"],
            "web_link": values["web_link"],
        }

    # --- the end of a scan -----------------------------------------------------------------
    def _finish(self, boxes: dict[int, _Box], now: datetime) -> None:
        """Every scanned mailbox's state, in one transaction (one executemany per outcome)."""
        ok: list[dict[str, Any]] = []
        unreadable: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        for box in boxes.values():
            result = box.result
            if box.unreadable is not None:
                backoff = UNREADABLE_FIRST_BACKOFF
                if box.status == "unreadable" and box.unreadable_until and box.last_error_at:
                    previous = box.unreadable_until - box.last_error_at
                    backoff = min(UNREADABLE_MAX_BACKOFF, max(UNREADABLE_FIRST_BACKOFF, previous * 2))
                until = now + backoff
                reason = str(box.unreadable)
                unreadable.append({"b_id": box.id, "status": "unreadable", "status_reason": reason[:500],
                                   "unreadable_until": until, "next_poll_at": until,
                                   "last_error": reason[:1000], "last_error_at": now})
                result.status, result.error = "unreadable", reason
                log.warning("mailbox %s is unreadable (%s); next try after %s UTC", box.address, reason,
                            f"{until:%Y-%m-%d %H:%M}")
            elif box.errors:
                message = "; ".join(box.errors)
                failed.append({"b_id": box.id, "last_error": message[:1000], "last_error_at": now})
                result.status, result.error = "error", message
            else:
                ok.append({"b_id": box.id, "status": "ok", "status_reason": "", "unreadable_until": None,
                           "last_success_at": now, "last_error": ""})
        table = Mailbox.__table__  # type: ignore[attr-defined]
        with session_scope(self.engine) as session:
            connection = session.connection()
            for rows in (ok, unreadable, failed):
                if rows:
                    columns = [c for c in rows[0] if c != "b_id"]
                    statement = (
                        update(table)
                        .where(table.c.id == bindparam("b_id"))
                        .values({c: bindparam(c) for c in columns})
                    )
                    connection.execute(statement, rows)


def _text(value: Any, limit: int) -> str:
    """A string any database stores: no NUL, no lone surrogates (Graph JSON may carry both)."""
    text = str(value or "").replace("\x00", "")
    return text.encode("utf-8", "replace").decode("utf-8")[:limit]


def _message_key(item: dict[str, Any]) -> str:
    """The idempotency key: internetMessageId, else the (immutable) Graph id."""
    key = _text(item.get("internetMessageId"), 900).strip()
    return key if key else f"<graph-id:{_text(item.get('id'), 800)}>"


def _utc(value: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _insert(engine: Engine, model: Any) -> Any:
    """The dialect's INSERT, which has ON CONFLICT (SQLite and PostgreSQL)."""
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(model)
