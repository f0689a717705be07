"""The overview: detections per customer and vendor over time, and the triage totals.

Read from the review index alone (see :mod:`monitor.web.queries`), so a year of 100,000
detections is counted without touching the wide rows.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlmodel import Session, col

from monitor.models import Detection, Tenant
from monitor.web.queries import STATUSES, Filters, dialect_of, filtered

OVERVIEW_DAYS = 84


@dataclass
class Overview:
    since: date
    until: date
    weekly: bool
    buckets: list[date]
    series: dict[str, Counter[date]]
    by_tenant_vendor: list[tuple[int, str, str, int]]
    totals: dict[str, int]


def overview_counts(session: Session, filters: Filters, zone: ZoneInfo, *, by: str, today: date) -> Overview:
    """Counts per customer and vendor over time, in days (up to a month) or weeks.

    Days are UTC days (the database's); the range itself is read in ``zone``.
    """
    until = filters.until or today
    since = filters.since or until - timedelta(days=OVERVIEW_DAYS - 1)
    scoped = replace(filters, since=since, until=until)
    dialect = dialect_of(session)
    weekly = (until - since).days > 31
    names: dict[int, str] = {tid: name for tid, name in session.execute(select(Tenant.id, Tenant.name)).all()}
    day = func.date(Detection.received_at)
    key = col(Detection.tenant_id) if by == "customer" else col(Detection.vendor)
    rows = session.execute(
        filtered(select(key, day, func.count()).select_from(Detection), scoped, zone, dialect).group_by(key, day)
    ).all()
    series: dict[str, Counter[date]] = {}
    for value, raw_day, count in rows:
        name = str(names.get(value, f"#{value}")) if by == "customer" else value or "(no vendor)"
        when = raw_day if isinstance(raw_day, date) else date.fromisoformat(str(raw_day)[:10])
        bucket = when - timedelta(days=when.weekday()) if weekly else when
        series.setdefault(name, Counter())[bucket] += count
    step = timedelta(days=7 if weekly else 1)
    buckets = [since - timedelta(days=since.weekday()) if weekly else since]
    while buckets[-1] + step <= until:
        buckets.append(buckets[-1] + step)
    n = func.count().label("n")
    pairs = session.execute(
        filtered(select(col(Detection.tenant_id), col(Detection.vendor), n).select_from(Detection), scoped, zone, dialect)
        .group_by(col(Detection.tenant_id), col(Detection.vendor))
        .order_by(n.desc())
        .limit(25)
    ).all()
    statuses = session.execute(
        filtered(select(Detection.status, func.count()).select_from(Detection), scoped, zone, dialect)
        .group_by(Detection.status)
    ).all()
    totals = {status: 0 for status in STATUSES}
    totals.update({status: count for status, count in statuses})
    totals["all"] = sum(count for _, count in statuses)
    return Overview(
        since=since, until=until, weekly=weekly, buckets=buckets, series=series,
        by_tenant_vendor=[(tid, str(names.get(tid, f"#{tid}")), vendor, count) for tid, vendor, count in pairs],
        totals=totals,
    )
