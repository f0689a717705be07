"""What the review log reads: filters, the paged log, one detection, and the overview counts.

One set of :class:`Filters` serves the log page, the CSV export and the JSON API, so the three
always agree. The log is ordered newest received first (``received_at`` is indexed; SQLite
appends the row id to the index, so the ``id`` tie-break needs no sort).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, get_args
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, func, or_, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.sql.compiler import SQLCompiler
from sqlmodel import Session, col

from monitor.config import Label
from monitor.models import Alert, AllowedSender, Detection, Mailbox, Tenant, TriageEvent

LABELS = get_args(Label)
STATUSES = {
    "new": "New",
    "acknowledged": "Acknowledged",
    "resolved": "Resolved",
    "false_positive": "False positive",
}
OUTCOMES = {
    "customer_contacted": "Customer contacted",
    "raised_with_vendor": "Raised with vendor",
    "no_action": "No action",
}
MAX_QUERY = 200


@dataclass(frozen=True)
class Filters:
    """The log's filters, read from a query string; bad values are dropped and reported."""

    tenant: int | None = None
    vendor: str = ""
    label: str = ""
    status: str = ""
    since: date | None = None
    until: date | None = None
    q: str = ""
    problems: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def parse(cls, args: Mapping[str, str]) -> Filters:
        problems: list[str] = []

        def day(name: str, what: str) -> date | None:
            raw = (args.get(name) or "").strip()
            if not raw:
                return None
            try:
                found = date.fromisoformat(raw)
            except ValueError:
                problems.append(f"{what} is not a date (YYYY-MM-DD); ignored")
                return None
            if not date(1970, 1, 2) <= found <= date(9000, 1, 1):
                # The ends of the calendar overflow once shifted to a time zone.
                problems.append(f"{what} is out of range; ignored")
                return None
            return found

        tenant = None
        raw_tenant = (args.get("tenant") or "").strip()
        if raw_tenant:
            if raw_tenant.isdecimal() and raw_tenant.isascii() and len(raw_tenant) < 12:
                tenant = int(raw_tenant)
            else:
                problems.append("unknown customer; ignored")
        label = (args.get("label") or "").strip()
        if label and label not in LABELS:
            problems.append("unknown label; ignored")
            label = ""
        status = (args.get("status") or "").strip()
        if status and status not in STATUSES:
            problems.append("unknown status; ignored")
            status = ""
        since, until = day("since", "From"), day("until", "To")
        if since and until and since > until:
            problems.append("From is after To; swapped")
            since, until = until, since
        return cls(
            tenant=tenant,
            vendor=(args.get("vendor") or "").strip()[:200],
            label=label,
            status=status,
            since=since,
            until=until,
            q=" ".join((args.get("q") or "").split())[:MAX_QUERY],
            problems=tuple(problems),
        )

    def args(self) -> dict[str, str]:
        """The filters as query-string arguments (empty ones left out), for links."""
        values = {
            "tenant": str(self.tenant) if self.tenant is not None else "",
            "vendor": self.vendor,
            "label": self.label,
            "status": self.status,
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
            "q": self.q,
        }
        return {k: v for k, v in values.items() if v}

    @property
    def active(self) -> bool:
        return bool(self.args())

    def conditions(self, zone: ZoneInfo, *, sqlite: bool = False) -> list[ColumnElement[bool]]:
        """The filters as SQL. SQLite's LIKE already ignores case (for ASCII, as its lower() does),
        so there plain LIKE replaces lower(x) LIKE lower(y), which costs a function call a row."""
        where: list[ColumnElement[bool]] = []
        if self.tenant is not None:
            where.append(col(Detection.tenant_id) == self.tenant)
        if self.vendor:
            where.append(col(Detection.vendor) == self.vendor)
        if self.label:
            where.append(col(Detection.label) == self.label)
        if self.status:
            where.append(col(Detection.status) == self.status)
        if self.since:
            where.append(col(Detection.received_at) >= day_start(self.since, zone))
        if self.until:
            where.append(col(Detection.received_at) < day_start(self.until + timedelta(days=1), zone))
        if self.q:
            # Every word must appear in one of the fields a person would search by.
            fields = (Detection.subject, Detection.sender_address, Detection.sender_name, Detection.recipients)
            for word in self.q.split()[:8]:
                if sqlite:
                    where.append(or_(*(col(f).contains(word, autoescape=True) for f in fields)))
                else:
                    where.append(or_(*(col(f).icontains(word, autoescape=True) for f in fields)))
        return where


MAX_ID = 2**62  # ids in URLs beyond what a database integer holds are simply not found


def day_start(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), zone).astimezone(UTC)


# --- indexes ----------------------------------------------------------------------------------
# Detection rows are wide (snippet, rules, links). The log's pages, counts and the overview read
# narrow covering indexes instead: with 100,000 detections a filtered count scans a few MB of
# index rather than the whole table. SQLite's planner (even with ANALYZE statistics) prefers the
# single-column indexes, which then read every matching row, so the queries name the index:
# ``INDEXED BY``, a SQLite table hint that SQLAlchemy's SQLite compiler does not render by itself
# (see :func:`ensure_indexes`).
REVIEW_INDEX = "ix_detection_review"
SEARCH_INDEX = "ix_detection_search"
_INDEXES = {
    REVIEW_INDEX: "detection (received_at, tenant_id, vendor, label, status)",
    SEARCH_INDEX: "detection (received_at, tenant_id, vendor, label, status, subject, sender_address, "
                  "sender_name, recipients)",
}


def ensure_indexes(engine: Engine) -> None:
    """Create the review log's indexes when missing (once: about a second per 100,000 rows),
    and let this engine render SQLite table hints (only statements that ask for one change)."""
    sqlite = engine.dialect.name == "sqlite"
    if sqlite and not issubclass(engine.dialect.statement_compiler, _HintingCompiler):
        engine.dialect.statement_compiler = type(
            "ReviewLogSQLiteCompiler", (_HintingCompiler, engine.dialect.statement_compiler), {}
        )
    with engine.begin() as connection:
        for name, spec in _INDEXES.items():
            if name == SEARCH_INDEX and not sqlite:
                # PostgreSQL's btree entries are capped (~2.7 kB); a long recipient list would make
                # the scanner's insert fail. There the text search scans the table.
                continue
            connection.execute(text(f"CREATE INDEX IF NOT EXISTS {name} ON {spec}"))


class _HintingCompiler(SQLCompiler):
    def get_from_hint_text(self, table: Any, text: str | None) -> str | None:
        return text


def filtered(statement: Select[Any], filters: Filters, zone: ZoneInfo, dialect: str) -> Select[Any]:
    """``statement`` (over detection alone) with the filters, through the fitting index."""
    sqlite = dialect == "sqlite"
    statement = statement.where(*filters.conditions(zone, sqlite=sqlite))
    if sqlite:
        index = SEARCH_INDEX if filters.q else REVIEW_INDEX
        statement = statement.with_hint(Detection, f"INDEXED BY {index}", "sqlite")
    return statement


def dialect_of(session: Session) -> str:
    return session.get_bind().dialect.name


# --- the log ----------------------------------------------------------------------------------

LOG_COLUMNS = (
    col(Detection.id), col(Detection.received_at), col(Detection.sender_name), col(Detection.sender_address),
    col(Detection.subject), col(Detection.label), col(Detection.vendor), col(Detection.score),
    col(Detection.status), col(Detection.outcome), col(Tenant.name).label("tenant"),
    col(Mailbox.address).label("mailbox"),
)
NEWEST_FIRST = (col(Detection.received_at).desc(), col(Detection.id).desc())


def log_select(filters: Filters, zone: ZoneInfo, *columns: Any, dialect: str = "") -> Select[Any]:
    """All of the filtered log, newest first (for exports; pages use :func:`log_page`)."""
    return (
        select(*(columns or LOG_COLUMNS))
        .join(Tenant, col(Tenant.id) == Detection.tenant_id)
        .join(Mailbox, col(Mailbox.id) == Detection.mailbox_id)
        .where(*filters.conditions(zone, sqlite=dialect == "sqlite"))
        .order_by(*NEWEST_FIRST)
    )


@dataclass
class Page:
    rows: list[Any]
    total: int
    number: int
    size: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.size))

    @property
    def first(self) -> int:
        return (self.number - 1) * self.size + 1 if self.total else 0

    @property
    def last(self) -> int:
        return min(self.total, self.number * self.size)


def log_page(session: Session, filters: Filters, zone: ZoneInfo, number: int, size: int, *columns: Any,
             clamp: bool = True) -> Page:
    """One page of the filtered log (a page past the end is the last one when ``clamp``, else
    empty). The page's ids are found in the index alone (however deep the offset), then only
    those rows are read."""
    dialect = dialect_of(session)
    total = session.execute(filtered(select(func.count()).select_from(Detection), filters, zone, dialect)).scalar_one()
    pages = max(1, math.ceil(total / size))
    number = max(1, min(number, pages) if clamp else number)
    ids = session.execute(
        filtered(select(Detection.id), filters, zone, dialect)
        .order_by(*NEWEST_FIRST).limit(size).offset((number - 1) * size)
    ).scalars().all()
    rows = session.execute(
        select(*(columns or LOG_COLUMNS))
        .join(Tenant, col(Tenant.id) == Detection.tenant_id)
        .join(Mailbox, col(Mailbox.id) == Detection.mailbox_id)
        .where(col(Detection.id).in_(ids))
        .order_by(*NEWEST_FIRST)
    ).all() if ids else []
    return Page(rows=list(rows), total=total, number=number, size=size)


def choices(session: Session) -> dict[str, Any]:
    """What the filter menus offer: every customer, and the vendors seen in detections."""
    tenants = session.execute(select(Tenant.id, Tenant.name).order_by(func.lower(Tenant.name))).all()
    vendors = session.execute(
        select(Detection.vendor).where(col(Detection.vendor) != "").distinct().order_by(Detection.vendor)
    ).scalars().all()
    return {"tenants": tenants, "vendors": vendors, "labels": LABELS, "statuses": STATUSES}


# --- one detection ----------------------------------------------------------------------------


@dataclass
class DetectionView:
    detection: Detection
    tenant: str
    mailbox: str
    recipients: list[str]
    rules: list[dict[str, Any]]
    alerts: list[Alert]
    events: list[TriageEvent]
    allowed: list[AllowedSender]

    def timeline(self) -> list[tuple[datetime, str, str, str]]:
        """(when, who, what, note): detection, Slack delivery and every triage change, oldest first."""
        d = self.detection
        items: list[tuple[datetime, str, str, str]] = [(d.created_at, "scanner", "Detected", "")]
        for alert in self.alerts:
            if alert.sent_at is not None:
                where = "printed on the console" if alert.channel == "console" else f"posted to Slack ({alert.channel})"
                items.append((alert.sent_at, "alerts", f"Alert {where}", ""))
            elif alert.state in ("silenced", "dead"):
                items.append((alert.created_at, "alerts", f"Alert {alert.state}", alert.last_error))
        for e in self.events:
            if e.action == "status":
                what = f"{STATUSES.get(e.from_status, e.from_status)} → {STATUSES.get(e.to_status, e.to_status)}"
                if e.outcome:
                    what += f" ({OUTCOMES.get(e.outcome, e.outcome)})"
            elif e.action == "allow":
                what = f"Allow-listed {e.sender} for this customer"
            elif e.action == "unallow":
                what = f"Removed {e.sender} from the allow-list"
            else:
                what = "Note"
            items.append((e.at, e.username, what, e.note))
        return sorted(items, key=lambda item: item[0])


def parse_list(raw: str) -> list[Any]:
    try:
        value = json.loads(raw or "[]")
    except ValueError:
        return []
    return value if isinstance(value, list) else []


def _weight(rule: dict[str, Any]) -> float:
    weight = rule.get("weight")
    return float(weight) if isinstance(weight, int | float) else 0.0


def rules_of(raw: str) -> list[dict[str, Any]]:
    """The rules that fired, heaviest first."""
    return sorted((r for r in parse_list(raw) if isinstance(r, dict)), key=_weight, reverse=True)


def detection_view(session: Session, detection_id: int) -> DetectionView | None:
    found = session.execute(
        select(Detection, Tenant.name, Mailbox.address)
        .join(Tenant, col(Tenant.id) == Detection.tenant_id)
        .join(Mailbox, col(Mailbox.id) == Detection.mailbox_id)
        .where(Detection.id == detection_id)
    ).first()
    if found is None:
        return None
    detection, tenant, mailbox = found
    alerts = session.execute(
        select(Alert).where(Alert.detection_id == detection_id).order_by(col(Alert.id))
    ).scalars().all()
    events = session.execute(
        select(TriageEvent).where(TriageEvent.detection_id == detection_id).order_by(col(TriageEvent.at), col(TriageEvent.id))
    ).scalars().all()
    candidates = sender_candidates(detection.sender_address)
    allowed = session.execute(
        select(AllowedSender).where(
            AllowedSender.tenant_id == detection.tenant_id, col(AllowedSender.value).in_(candidates or [""])
        )
    ).scalars().all()
    return DetectionView(
        detection=detection,
        tenant=tenant,
        mailbox=mailbox,
        recipients=[str(r) for r in parse_list(detection.recipients)][:100],
        rules=rules_of(detection.rules),
        alerts=list(alerts),
        events=list(events),
        allowed=list(allowed),
    )


def sender_candidates(address: str) -> list[str]:
    """The address and its domain: what an allow-list entry for this sender could be."""
    address = address.strip().lower()
    if "@" not in address:
        return []
    return [address, address.rsplit("@", 1)[1]]


def slack_link(alert: Alert, workspace_url: str) -> str:
    """A link to the Slack message that carried ``alert``, or "" when it never reached Slack."""
    if not alert.ts or not alert.channel or alert.channel == "console":
        return ""
    channel = alert.channel if alert.channel.isalnum() else ""
    if not channel:
        return ""
    base = (workspace_url or "https://slack.com").rstrip("/")
    link = f"{base}/archives/{channel}/p{alert.ts.replace('.', '')}"
    if alert.thread_ts and alert.thread_ts != alert.ts:
        link += f"?thread_ts={alert.thread_ts}&cid={channel}"
    return link


def outlook_link(web_link: str) -> str:
    """The message's Outlook link when it is a plain https URL (it comes from the mail server,
    but a javascript: or data: link must never become clickable)."""
    link = web_link.strip()
    return link if link.lower().startswith("https://") and not any(c in link for c in " \"'<>\\\n\r\t") else ""
