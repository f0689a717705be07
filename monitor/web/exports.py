"""Exports of the filtered log: CSV for spreadsheets and JSON for PSA tools.

Everything in a detection that came from an email is a stranger's text. In CSV a cell that a
spreadsheet would read as a formula (starting with = + - @, or a tab or carriage return, even
after spaces) is prefixed with an apostrophe, so opening the export runs nothing.

The CSV is streamed: rows are fetched in batches from one query and written out as they come,
so exporting 100,000 detections takes the memory of one batch.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from monitor.models import Detection, Mailbox, Tenant
from monitor.web.queries import OUTCOMES, STATUSES, Filters, log_select, outlook_link, parse_list, rules_of

BATCH = 1000
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")

CSV_HEADER = [
    "id", "received", "customer", "mailbox", "sender name", "sender address", "recipients", "subject",
    "label", "vendor", "score", "status", "outcome", "reasons", "review link", "outlook link",
]
EXPORT_COLUMNS = (
    col(Detection.id), col(Detection.received_at), col(Tenant.name).label("tenant"),
    col(Mailbox.address).label("mailbox"), col(Detection.sender_name), col(Detection.sender_address),
    col(Detection.recipients), col(Detection.subject), col(Detection.label), col(Detection.vendor),
    col(Detection.score), col(Detection.status), col(Detection.outcome), col(Detection.rules),
    col(Detection.web_link), col(Detection.tenant_id),
)
API_COLUMNS = (*EXPORT_COLUMNS, col(Detection.snippet))


_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def neutralise(value: str) -> str:
    """Text a spreadsheet shows as text: no formula, no control characters."""
    text = _CONTROLS.sub(" ", value)
    if text.lstrip(" ").startswith(_FORMULA_START):
        return "'" + text
    return text


def _when(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def _reasons(raw: str) -> str:
    parts = []
    for rule in rules_of(raw):
        text = str(rule.get("description") or rule.get("id") or "")
        evidence = str(rule.get("evidence") or "")
        parts.append(f"{text}: {evidence}" if evidence else text)
    return " | ".join(parts)


def csv_row(row: Any, zone: ZoneInfo, base_url: str) -> list[Any]:
    """One detection (a row of EXPORT_COLUMNS) as CSV cells."""
    (id_, received, tenant, mailbox, sender_name, sender_address, recipients, subject, label, vendor, score,
     status, outcome, rules, web_link, _tenant_id) = row
    return [
        id_,
        _when(received, zone),
        neutralise(tenant or ""),
        neutralise(mailbox or ""),
        neutralise(sender_name or ""),
        neutralise(sender_address or ""),
        neutralise("; ".join(str(r) for r in parse_list(recipients))),
        neutralise(subject or ""),
        label,
        neutralise(vendor or ""),
        f"{score:.2f}",
        STATUSES.get(status, status),
        OUTCOMES.get(outcome, outcome),
        neutralise(_reasons(rules)),
        f"{base_url}/detections/{id_}",
        neutralise(outlook_link(web_link or "")),
    ]


def csv_stream(engine: Engine, filters: Filters, zone: ZoneInfo, base_url: str) -> Iterator[str]:
    """The filtered log as CSV text chunks (UTF-8 with a BOM, which Excel needs to read UTF-8)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    yield "\ufeff" + buffer.getvalue()
    with Session(engine) as session:
        statement = log_select(filters, zone, *EXPORT_COLUMNS, dialect=engine.dialect.name)
        result = session.execute(statement.execution_options(yield_per=BATCH))
        for batch in result.partitions():
            buffer.seek(0)
            buffer.truncate()
            writer.writerows(csv_row(row, zone, base_url) for row in batch)
            yield buffer.getvalue()


def detection_json(row: Any, base_url: str) -> dict[str, Any]:
    """One detection for the JSON API (the fields of the CSV, with structure kept)."""
    return {
        "id": row.id,
        "received_at": row.received_at.isoformat() if row.received_at else None,
        "customer": {"id": row.tenant_id, "name": row.tenant},
        "mailbox": row.mailbox,
        "sender": {"name": row.sender_name, "address": row.sender_address},
        "recipients": [str(r) for r in parse_list(row.recipients)],
        "subject": row.subject,
        "label": row.label,
        "vendor": row.vendor,
        "score": round(float(row.score), 3),
        "status": row.status,
        "outcome": row.outcome,
        "reasons": [
            {"id": r.get("id"), "description": r.get("description"), "weight": r.get("weight"),
             "evidence": r.get("evidence")}
            for r in rules_of(row.rules)
        ],
        "snippet": row.snippet,
        "review_url": f"{base_url}/detections/{row.id}",
        "outlook_url": outlook_link(row.web_link or "") or None,
    }
