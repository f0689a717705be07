"""The read-only JSON API for PSA tools: the log with the same filters as the page.

Authenticated by a bearer token (``Authorization: Bearer omt_...``, created on the Account page
or with `outreach-monitor users token NAME`) or by a signed-in browser. Only GET routes exist,
so there is nothing to forge; every role may read.

    GET /api/detections?tenant=&vendor=&label=&status=&since=&until=&q=&page=&per_page=
    GET /api/detections/<id>
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, request
from sqlmodel import col

from monitor.models import Detection
from monitor.web.app import db, requires, web
from monitor.web.exports import API_COLUMNS, detection_json
from monitor.web.queries import MAX_ID, Filters, detection_view, log_page, log_select, slack_link

blueprint = Blueprint("api", __name__, url_prefix="/api")
MAX_PER_PAGE = 500


def _number(name: str, default: int, maximum: int) -> int:
    raw = request.args.get(name, "")
    if not raw:
        return default
    if not (raw.isdecimal() and raw.isascii() and len(raw) < 10) or not 1 <= int(raw) <= maximum:
        abort(400, f"{name} must be a whole number from 1 to {maximum}")
    return int(raw)


@blueprint.route("/detections")
@requires("viewer")
def detections() -> dict[str, Any]:
    filters = Filters.parse(request.args)
    if filters.problems:
        abort(400, "; ".join(filters.problems))
    per_page = _number("per_page", web().settings.web.page_size, MAX_PER_PAGE)
    # A page past the end is empty, so a client paging until it gets nothing stops.
    page = log_page(db(), filters, web().zone, _number("page", 1, 10**6), per_page, *API_COLUMNS, clamp=False)
    return {
        "count": page.total,
        "page": page.number,
        "pages": page.pages,
        "per_page": page.size,
        "filters": filters.args(),
        "detections": [detection_json(row, web().base_url) for row in page.rows],
    }


@blueprint.route("/detections/<int:detection_id>")
@requires("viewer")
def detection(detection_id: int) -> dict[str, Any]:
    if detection_id > MAX_ID:
        abort(404)
    """One detection with its triage history and Slack links."""
    found = db().execute(
        log_select(Filters(), web().zone, *API_COLUMNS).where(col(Detection.id) == detection_id)
    ).first()
    view = detection_view(db(), detection_id) if found is not None else None
    if found is None or view is None:
        abort(404, "no such detection")
    body = detection_json(found, web().base_url)
    workspace = web().settings.web.slack_workspace_url
    body["slack_urls"] = [link for link in (slack_link(a, workspace) for a in view.alerts) if link]
    body["history"] = [
        {"at": e.at.isoformat(), "user": e.username, "action": e.action, "from": e.from_status,
         "to": e.to_status, "outcome": e.outcome, "note": e.note, "sender": e.sender}
        for e in view.events
    ]
    return body
