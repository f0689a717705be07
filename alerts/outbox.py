"""The alert outbox: rows written in the caller's transaction, delivered later by :func:`flush`.

Delivery is at-least-once towards the Slack API but never a second post for one alert:

* a row's ``post_started_at`` is committed just before its post is attempted, and its channel and
  ``ts`` are committed as soon as Slack answers, before any follow-up (thread reply, ``chat.update``);
* a row that still carries ``post_started_at`` on a later flush (answer lost, process killed) is
  looked up in Slack by the marker in the message metadata before it is posted again;
* a row with a ``ts`` is never posted again.

Grouping, in the spirit of Alertmanager: detection alerts with one group key (tenant, sender,
normalised subject: :func:`campaign_key`) whose times lie within ``[slack] group_window_seconds``
of the campaign's newest alert share one Slack message. The first post lists the mailboxes;
later alerts reply in its thread and the parent's count is edited in place. When a channel has
had more than :attr:`Policy.flood_threshold` new top-level alerts within
:attr:`Policy.flood_window`, further new alerts for a tenant roll into one digest message that is
edited in place instead of posting dozens.

Silences are applied here at flush time, not at :func:`enqueue`: a silence added after a detection
but before its delivery still holds, and the row is kept (state ``silenced``) either way. They
apply to detection alerts only; tenant-health alerts are never silenced.

Only one flush may run at a time (the worker schedules it with ``max_instances=1``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TextIO

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from alerts.routing import channel_for
from alerts.silences import active_silences, matching_silence
from monitor import leases
from monitor.config import Settings
from monitor.db import session_scope
from monitor.errors import AlertDeliveryError
from monitor.models import Alert, Silence, SlackPost, Tenant, utcnow

log = logging.getLogger(__name__)

KINDS = ("detection", "tenant_health")

# Reply/forward markers in the languages the customers write in; repeated and mixed ("RE: FW: Re[2]:").
_PREFIX = re.compile(r"^\s*(?:(?:re|fw|fwd|aw|wg|tr|rv|sv|vs|antw|odp|r)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*)+", re.I)
_NUMBER = re.compile(r"\d+")
_SPACE = re.compile(r"\s+")
# Format characters (zero-width, bidi overrides, BOM, tags) hide or reorder text; C0/C1 controls
# include ESC and CSI, which would drive a terminal.
_FORMAT = dict.fromkeys(i for i in range(0x110000) if unicodedata.category(chr(i)) == "Cf")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


# How each label is titled in alerts (Slack and terminal alike).
LABEL_TITLES = {
    "vendor_outreach": "Vendor outreach",
    "impersonation": "Possible impersonation",
    "vendor_marketing": "Vendor marketing",
    "vendor_service": "Vendor service mail",
    "competitor_outreach": "Competitor outreach",
}


def label_title(label: str) -> str:
    return LABEL_TITLES.get(label) or (label.replace("_", " ").capitalize() if label else "Alert")


def normalise_subject(subject: str) -> str:
    """Subject key for a campaign: personalised numbers, reply prefixes and spacing removed."""
    text = unicodedata.normalize("NFKC", subject or "").translate(_FORMAT).lower()
    text = _PREFIX.sub("", text)
    text = _NUMBER.sub("#", text)
    return _SPACE.sub(" ", text).strip()


def campaign_key(tenant: str, sender_address: str, subject: str) -> str:
    """Same tenant, same sender, same normalised subject: one campaign (one Slack thread)."""
    raw = "\x1f".join((tenant.strip().lower(), sender_address.strip().lower(), normalise_subject(subject)))
    return "c:" + hashlib.sha256(raw.encode("utf-8")).hexdigest()[:32]


def enqueue(
    session: Session,
    *,
    kind: str,
    payload: dict[str, Any],
    tenant_id: int | None,
    detection_id: int | None = None,
    group_key: str = "",
) -> Alert:
    """Add a pending alert to ``session`` without committing: it commits with the caller's change."""
    if kind not in KINDS:
        raise ValueError(f"unknown alert kind {kind!r}; expected one of {', '.join(KINDS)}")
    if kind == "detection" and not group_key:
        group_key = campaign_key(
            str(payload.get("tenant") or tenant_id or ""),
            str(payload.get("sender_address") or ""),
            str(payload.get("subject") or ""),
        )
    alert = Alert(
        kind=kind,
        detection_id=detection_id,
        tenant_id=tenant_id,
        payload=json.dumps(payload, ensure_ascii=False, default=str),
        group_key=group_key,
        state="pending",
        next_attempt_at=utcnow(),
    )
    session.add(alert)
    return alert


# --- what sinks are handed ---------------------------------------------------------------


def clean(value: Any, *, multiline: bool = False) -> str:
    """Text from an email made safe to show anywhere: no control or invisible format characters,
    whitespace collapsed (kept as single line breaks when ``multiline``). Not escaped: each sink
    escapes for its medium."""
    if value is None:
        return ""
    text = (value if isinstance(value, str) else str(value)).translate(_FORMAT)
    if multiline:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        lines = (" ".join(_CONTROL.sub(" ", line).split()) for line in text.split("\n"))
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return " ".join(_CONTROL.sub(" ", text).split())


@dataclass(frozen=True)
class Item:
    """One alert's payload, read defensively: every value may be missing, mistyped or hostile."""

    alert_id: int
    payload: dict[str, Any]

    def text(self, key: str, *, multiline: bool = False) -> str:
        value = self.payload.get(key)
        return clean(value, multiline=multiline) if isinstance(value, str | int | float) else ""

    def texts(self, key: str) -> list[str]:
        value = self.payload.get(key)
        values = value if isinstance(value, list) else []
        return [t for t in (clean(v) for v in values if isinstance(v, str)) if t]

    def number(self, key: str) -> float | None:
        value = self.payload.get(key)
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None

    @property
    def detection_id(self) -> int | None:
        value = self.payload.get("detection_id")
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @property
    def received(self) -> str:
        """The received time as "2024-05-02 09:14 UTC" (or as given, when it is not ISO 8601)."""
        raw = self.text("received")
        try:
            when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            return raw[:40]
        if when.tzinfo is not None:
            when = when.astimezone(UTC)
        return when.strftime("%Y-%m-%d %H:%M UTC")

    @property
    def mailbox(self) -> str:
        return self.text("mailbox") or next(iter(self.texts("recipients")), "")

    def reasons(self, limit: int = 3) -> list[tuple[str, str]]:
        """The heaviest reasons as (description, evidence)."""
        raw = self.payload.get("reasons")
        found = [r for r in raw if isinstance(r, dict)] if isinstance(raw, list) else []
        weight = lambda r: r.get("weight") if isinstance(r.get("weight"), int | float) else 0  # noqa: E731
        found.sort(key=weight, reverse=True)
        out = []
        for reason in found[:limit]:
            description = clean(reason.get("description") or reason.get("id") or "")
            if description:
                out.append((description, clean(reason.get("evidence") or "")))
        return out


@dataclass(frozen=True)
class Post:
    """One message a sink is asked to show.

    ``kind``: "campaign" (a new alert with the mailboxes of its campaign so far, ``items[0]`` leads),
    "reply" (more mailboxes of a campaign, in its thread), "digest" (alerts rolled up during a
    flood) or "tenant_health". ``total`` counts the alerts the message stands for.
    """

    kind: str
    channel: str
    tenant: str
    items: tuple[Item, ...]
    total: int
    thread_ts: str = ""
    marker: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "tenant", clean(self.tenant))  # often taken from the payload

    @property
    def alert_ids(self) -> list[int]:
        return [item.alert_id for item in self.items]


@dataclass(frozen=True)
class Found:
    """A message already in the channel that carries the alerts ``alert_ids``."""

    channel: str
    ts: str
    alert_ids: tuple[int, ...]


class Deferred(Exception):
    """The sink cannot deliver now; try again later. ``scope`` "sink" stops this flush, "channel"
    only that channel. ``maybe_sent``: the message may have arrived (look before re-posting)."""

    def __init__(self, message: str, *, retry_after: float | None = None, scope: str = "sink",
                 maybe_sent: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.scope = scope
        self.maybe_sent = maybe_sent


class Undeliverable(AlertDeliveryError):
    """A permanent refusal (``code`` as Slack names it). ``whole_sink``: every post would fail."""

    def __init__(self, code: str, message: str, *, whole_sink: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.whole_sink = whole_sink


class Sink(Protocol):
    def post(self, post: Post) -> tuple[str, str]:
        """Show a new message (a reply when ``post.thread_ts``); return (channel id, ts)."""

    def update(self, channel: str, ts: str, post: Post) -> None:
        """Replace a message shown before."""

    def find(self, post: Post) -> Found | None:
        """The message ``post.marker`` names, if an earlier attempt did arrive after all."""


def make_sink(settings: Settings, *, stream: TextIO | None = None) -> Sink:
    """Slack when a bot token is in the environment, else the terminal."""
    from monitor.config import SLACK_TOKEN_ENV, secret

    token = secret(SLACK_TOKEN_ENV)
    if token:
        from alerts.slack import SlackSink

        return SlackSink.from_settings(settings, token=token)
    from alerts.console import ConsoleSink

    return ConsoleSink(settings.web.base_url, stream=stream)


# --- delivery -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    flood_threshold: int = 10  # new top-level alerts per channel within flood_window before a digest
    flood_window: float = 60.0
    backoff_base: float = 10.0
    backoff_cap: float = 300.0
    campaign_max_age: float = 86400.0  # a campaign thread older than this starts afresh
    batch: int = 500
    listed: int = 50  # alerts loaded to re-render a campaign or digest


@dataclass
class FlushReport:
    sent: int = 0
    updated: int = 0
    retried: int = 0
    dead: int = 0
    silenced: int = 0
    problems: list[str] = field(default_factory=list)
    busy: bool = False  # another flush was running: this one did nothing

    def __str__(self) -> str:
        if self.busy:
            return "another flush is running; nothing done"
        return (f"sent {self.sent}, updated {self.updated}, retried {self.retried}, "
                f"dead {self.dead}, silenced {self.silenced}")


@dataclass
class _Batch:
    """Due rows that go out as one message: one campaign's rows in one window, or one alert."""

    key: str
    channel: str
    rows: list[Alert]
    payloads: list[dict[str, Any]]
    tenant_id: int | None

    @property
    def lead(self) -> Alert:
        return self.rows[0]

    @property
    def items(self) -> tuple[Item, ...]:
        return tuple(Item(r.id or 0, p) for r, p in zip(self.rows, self.payloads, strict=True))

    @property
    def newest(self) -> datetime:
        return max(r.created_at for r in self.rows)

    @property
    def tenant(self) -> str:
        return clean(self.payloads[0].get("tenant")) or f"tenant {self.tenant_id}"


FLUSH_LEASE = "alert-flush"
FLUSH_LEASE_SECONDS = 600.0  # a flush that died holding it frees it after this


def flush(engine: Engine, settings: Settings, sink: Sink, *, now: datetime | None = None,
          policy: Policy | None = None) -> FlushReport:
    """Deliver the due alerts in id order, then the owed edits of campaign and digest messages.
    Only one flush runs at a time; another one meanwhile returns a report with ``busy`` set."""
    now = now or utcnow()
    # Two flushes at once (the worker and `alerts flush`, or two workers) could both post one alert.
    holder = leases.holder_id()
    if not leases.take(engine, FLUSH_LEASE, holder, now=now, seconds=FLUSH_LEASE_SECONDS):
        return FlushReport(busy=True)
    try:
        run = _Flush(engine, settings, sink, now, policy or Policy())
        run.deliver()
        run.update_posts()
        return run.report
    finally:
        leases.drop(engine, FLUSH_LEASE, holder)


def backoff(attempts: int, policy: Policy) -> float:
    return min(policy.backoff_cap, policy.backoff_base * 2 ** max(0, attempts - 1))


class _Flush:
    def __init__(self, engine: Engine, settings: Settings, sink: Sink, now: datetime, policy: Policy) -> None:
        self.engine = engine
        self.settings = settings
        self.sink = sink
        self.now = now
        self.policy = policy
        self.window = timedelta(seconds=settings.slack.group_window_seconds)
        self.report = FlushReport()
        self.sink_down = False
        self.paused: set[str] = set()

    # -- planning ---------------------------------------------------------------------------

    def deliver(self) -> None:
        for batch in self._plan():
            if self.sink_down:
                break
            if batch.channel in self.paused:
                continue
            try:
                self._deliver(batch)
            except Deferred as exc:
                self._defer(batch.rows, exc, batch.channel)
            except Undeliverable as exc:
                self._dead(batch.rows, exc)

    def _plan(self) -> list[_Batch]:
        with session_scope(self.engine) as s:
            rows = s.exec(
                select(Alert).where(Alert.state == "pending").order_by(col(Alert.id)).limit(self.policy.batch)
            ).all()
            tenant_ids = {r.tenant_id for r in rows if r.tenant_id is not None}
            tenants = {t.id: t for t in s.exec(select(Tenant).where(col(Tenant.id).in_(tenant_ids)))}
            silences = active_silences(s, self.now)
        batches: dict[str, _Batch] = {}
        open_batch: dict[str, _Batch] = {}
        blocked: set[str] = set()
        for row in rows:
            key = row.group_key or f"alert:{row.id}"
            # Order per thread: nothing of a campaign overtakes an earlier row still backing off.
            if key in blocked:
                continue
            if row.next_attempt_at > self.now:
                blocked.add(key)
                continue
            if row.ts:
                # Already in Slack (a row put back by hand): record it, never post it twice.
                self._already_sent(row)
                continue
            try:
                payload = json.loads(row.payload)
                if not isinstance(payload, dict):
                    raise ValueError("not an object")
            except ValueError as exc:
                self._dead([row], Undeliverable("bad_payload", f"alert payload is not a JSON object: {exc}"))
                continue
            if row.kind == "detection" and (silence := matching_silence(silences, payload)):
                self._silence(row, silence)
                continue
            channel = channel_for(row, payload, tenants.get(row.tenant_id), self.settings)
            current = open_batch.get(f"{key}\x1f{channel}")
            # Only detections of one campaign merge; each tenant-health notice is its own message.
            if (current and row.group_key and row.kind == "detection" == current.lead.kind
                    and row.created_at - current.newest <= self.window):
                current.rows.append(row)
                current.payloads.append(payload)
                continue
            batch = _Batch(key, channel, [row], [payload], row.tenant_id)
            open_batch[f"{key}\x1f{channel}"] = batch
            batches[f"{key}\x1f{channel}\x1f{row.id}"] = batch
        return list(batches.values())

    # -- delivery ---------------------------------------------------------------------------

    def _deliver(self, batch: _Batch) -> None:
        if batch.lead.kind == "tenant_health":
            self._post_new(batch, "tenant_health")
            return
        with Session(self.engine) as s:
            parent = self._live_campaign(s, batch)
            flooding = parent is None and self._flooding(s, batch.channel)
            digest = self._live_digest(s, batch) if flooding else None
        if parent is not None:
            self._reply(batch, parent)
        elif digest is not None:
            self._join(batch, digest)
        else:
            self._post_new(batch, "digest" if flooding else "campaign")

    def _live_campaign(self, s: Session, batch: _Batch) -> SlackPost | None:
        return s.exec(
            select(SlackPost)
            .where(SlackPost.kind == "campaign", SlackPost.group_key == batch.lead.group_key,
                   SlackPost.route == batch.channel,
                   SlackPost.last_member_at >= batch.lead.created_at - self.window,
                   SlackPost.created_at >= self.now - timedelta(seconds=self.policy.campaign_max_age))
            .order_by(col(SlackPost.id).desc())
        ).first()

    def _flooding(self, s: Session, channel: str) -> bool:
        # New top-level messages in this channel lately, plus alerts that rolled into a digest
        # meanwhile, so a flood keeps rolling up rather than posting again each window.
        since = self.now - timedelta(seconds=self.policy.flood_window)
        posted = s.exec(
            select(func.count()).select_from(SlackPost)
            .where(SlackPost.kind == "campaign", SlackPost.route == channel, SlackPost.created_at >= since)
        ).one()
        rolled = s.exec(
            select(func.count()).select_from(Alert).join(SlackPost, col(Alert.post_id) == col(SlackPost.id))
            .where(SlackPost.kind == "digest", SlackPost.route == channel, col(Alert.sent_at) >= since)
        ).one()
        return posted + rolled >= self.policy.flood_threshold

    def _live_digest(self, s: Session, batch: _Batch) -> SlackPost | None:
        # A digest's last_member_at is when it last grew (flush time), so it lives while the flood does.
        return s.exec(
            select(SlackPost)
            .where(SlackPost.kind == "digest", SlackPost.route == batch.channel,
                   SlackPost.tenant_id == batch.tenant_id,
                   SlackPost.last_member_at >= self.now - timedelta(seconds=self.policy.flood_window))
            .order_by(col(SlackPost.id).desc())
        ).first()

    def _post_new(self, batch: _Batch, kind: str) -> None:
        post = Post(kind=kind, channel=batch.channel, tenant=batch.tenant, items=batch.items,
                    total=len(batch.rows), marker=f"om-{batch.lead.id}")
        sent = self._send(batch, post)
        if sent is None:
            return
        channel, ts, rows = sent
        with session_scope(self.engine) as s:
            slack_post = None
            if kind != "tenant_health":
                slack_post = SlackPost(kind=kind, route=batch.channel, channel=channel, ts=ts,
                                       tenant_id=batch.tenant_id, group_key=batch.lead.group_key,
                                       members=len(rows), shown=len(rows),
                                       last_member_at=self.now if kind == "digest" else batch.newest,
                                       created_at=self.now, next_update_at=self.now)
                s.add(slack_post)
                s.flush()
            self._mark_sent(s, rows, channel, ts, "", slack_post)
            if slack_post is not None and len(rows) < post.total:
                # Only part of the batch was found already posted: the message under-counts.
                slack_post.shown = 0
        log.info("alerts %s posted to %s as %s", _ids(rows), channel, ts)

    def _reply(self, batch: _Batch, parent: SlackPost) -> None:
        post = Post(kind="reply", channel=parent.channel, tenant=batch.tenant, items=batch.items,
                    total=parent.members + len(batch.rows), thread_ts=parent.ts, marker=f"om-{batch.lead.id}")
        sent = self._send(batch, post)
        if sent is None:
            return
        channel, ts, rows = sent
        # Persist the reply first; the parent's count is edited afterwards (update_posts).
        with session_scope(self.engine) as s:
            fresh = s.get(SlackPost, parent.id)
            assert fresh is not None
            fresh.members += len(rows)
            fresh.last_member_at = max(fresh.last_member_at, max(r.created_at for r in rows))
            self._mark_sent(s, rows, channel, ts, parent.ts, fresh)
        log.info("alerts %s replied in thread %s of %s", _ids(rows), parent.ts, channel)

    def _join(self, batch: _Batch, digest: SlackPost) -> None:
        with session_scope(self.engine) as s:
            fresh = s.get(SlackPost, digest.id)
            assert fresh is not None
            fresh.members += len(batch.rows)
            fresh.last_member_at = self.now
            self._mark_sent(s, batch.rows, fresh.channel, fresh.ts, "", fresh)
        log.info("alerts %s rolled into the digest %s of %s", _ids(batch.rows), digest.ts, digest.channel)

    def _send(self, batch: _Batch, post: Post) -> tuple[str, str, list[Alert]] | None:
        """Post once: look first if an earlier attempt may have arrived. Returns what was sent."""
        if any(r.post_started_at is not None for r in batch.rows):
            found = self.sink.find(post)
            if found is not None:
                rows = [r for r in batch.rows if r.id in found.alert_ids]
                rest = [r for r in batch.rows if r.id not in found.alert_ids]
                if rest:
                    self._clear_started(rest)  # posted later as members of that message
                log.info("alerts %s were already in Slack as %s; not posting again", _ids(rows), found.ts)
                return (found.channel, found.ts, rows) if rows else None
        else:
            with session_scope(self.engine) as s:
                for row in batch.rows:
                    row.post_started_at = self.now
                    s.add(row)
        channel, ts = self.sink.post(post)
        return channel, ts, batch.rows

    def _mark_sent(self, s: Session, rows: Iterable[Alert], channel: str, ts: str, thread_ts: str,
                   slack_post: SlackPost | None) -> None:
        for row in rows:
            row.state = "sent"
            row.channel = channel
            row.ts = ts
            row.thread_ts = thread_ts
            row.post_id = slack_post.id if slack_post else None
            row.sent_at = self.now
            row.post_started_at = None
            row.last_error = ""
            s.add(row)
            self.report.sent += 1

    def _already_sent(self, row: Alert) -> None:
        with session_scope(self.engine) as s:
            row.state = "sent"
            row.post_started_at = None
            row.sent_at = row.sent_at or self.now
            s.add(row)
        log.warning("alert %s is already in Slack as %s in %s; not posting it again", row.id, row.ts, row.channel)

    def _clear_started(self, rows: list[Alert]) -> None:
        with session_scope(self.engine) as s:
            for row in rows:
                row.post_started_at = None
                s.add(row)

    # -- failures ---------------------------------------------------------------------------

    def _defer(self, rows: list[Alert], exc: Deferred, route: str) -> None:
        with session_scope(self.engine) as s:
            for row in rows:
                row.attempts += 1
                delay = exc.retry_after if exc.retry_after is not None else backoff(row.attempts, self.policy)
                row.next_attempt_at = self.now + timedelta(seconds=max(1.0, delay))
                row.last_error = str(exc)
                if not exc.maybe_sent:
                    row.post_started_at = None  # definitely not in Slack: no lookup needed
                s.add(row)
        self.report.retried += len(rows)
        if exc.scope == "channel":
            self.paused.add(route)
        else:
            self.sink_down = True
        log.warning("alerts %s not delivered, will retry: %s", _ids(rows), exc)

    def _dead(self, rows: list[Alert], exc: Undeliverable) -> None:
        with session_scope(self.engine) as s:
            for row in rows:
                row.state = "dead"
                row.attempts += 1
                row.last_error = str(exc)
                row.post_started_at = None
                s.add(row)
        self.report.dead += len(rows)
        self.report.problems.append(str(exc))
        if exc.whole_sink:
            self.sink_down = True
        log.error("alerts %s dead-lettered: %s (see `outreach-monitor alerts list --state dead`)", _ids(rows), exc)

    def _silence(self, row: Alert, silence: Silence) -> None:
        with session_scope(self.engine) as s:
            row.state = "silenced"
            row.last_error = f"silenced by silence #{silence.id}: {silence.reason}"
            s.add(row)
            fresh = s.get(Silence, silence.id)
            if fresh is not None:
                fresh.hits += 1
                fresh.last_hit_at = self.now
        self.report.silenced += 1
        log.info("alert %s silenced by silence #%s (%s)", row.id, silence.id, silence.reason)

    # -- edits of campaign and digest messages ------------------------------------------------

    def update_posts(self) -> None:
        with Session(self.engine) as s:
            owed = s.exec(
                select(SlackPost)
                .where(col(SlackPost.shown) < col(SlackPost.members), SlackPost.next_update_at <= self.now)
                .order_by(col(SlackPost.id))
            ).all()
        for slack_post in owed:
            if self.sink_down:
                return
            if slack_post.route in self.paused:
                continue
            self._update(slack_post)

    def _update(self, slack_post: SlackPost) -> None:
        with Session(self.engine) as s:
            # The first alert leads a campaign message; a digest lists the latest.
            first = s.exec(select(Alert).where(Alert.post_id == slack_post.id).order_by(col(Alert.id))).first()
            latest = s.exec(
                select(Alert).where(Alert.post_id == slack_post.id)
                .order_by(col(Alert.id).desc()).limit(self.policy.listed - 1)
            ).all()
        if first is None:
            return
        members = [first] + sorted((m for m in latest if m.id != first.id), key=lambda m: m.id or 0)
        items = tuple(Item(m.id or 0, _payload(m)) for m in members)
        tenant = clean(items[0].payload.get("tenant")) or f"tenant {slack_post.tenant_id}"
        post = Post(kind=slack_post.kind, channel=slack_post.channel, tenant=tenant, items=items,
                    total=slack_post.members)
        try:
            self.sink.update(slack_post.channel, slack_post.ts, post)
        except Deferred as exc:
            with session_scope(self.engine) as s:
                fresh = s.get(SlackPost, slack_post.id)
                assert fresh is not None
                fresh.update_attempts += 1
                delay = exc.retry_after if exc.retry_after is not None else backoff(fresh.update_attempts, self.policy)
                fresh.next_update_at = self.now + timedelta(seconds=max(1.0, delay))
                fresh.last_error = str(exc)
            if exc.scope == "channel":
                self.paused.add(slack_post.route)
            else:
                self.sink_down = True
            self.report.retried += 1
            log.warning("cannot edit %s in %s yet: %s", slack_post.ts, slack_post.channel, exc)
            return
        except Undeliverable as exc:
            # The message is gone or frozen: its alerts were delivered; stop trying to edit it.
            log.error("giving up editing %s in %s: %s", slack_post.ts, slack_post.channel, exc)
            self.report.problems.append(str(exc))
            shown, error = slack_post.members, str(exc)
        else:
            shown, error = post.total, ""
            self.report.updated += 1
        with session_scope(self.engine) as s:
            fresh = s.get(SlackPost, slack_post.id)
            assert fresh is not None
            fresh.shown = shown
            fresh.update_attempts = 0
            fresh.last_error = error


def _payload(row: Alert) -> dict[str, Any]:
    try:
        value = json.loads(row.payload)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _ids(rows: Iterable[Alert]) -> str:
    ids = [str(r.id) for r in rows]
    return ",".join(ids) if len(ids) <= 10 else f"{','.join(ids[:10])},… ({len(ids)})"
