"""The review log's pages: the overview, the log, one detection with its triage, the allow-list."""

from __future__ import annotations

import logging
from datetime import datetime

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import func, select
from sqlmodel import col
from werkzeug.wrappers import Response

from monitor.db import session_scope
from monitor.models import AllowedSender, Detection, Tenant, TriageEvent
from monitor.web.app import db, requires, web
from monitor.web.chart import stacked_bars
from monitor.web.exports import csv_stream
from monitor.web.overview import overview_counts
from monitor.web.queries import MAX_ID, Filters, choices, detection_view, log_page, outlook_link, slack_link
from monitor.web.triage import Change, TriageError, apply, remove_allowed, version

log = logging.getLogger(__name__)
blueprint = Blueprint("pages", __name__)


def _page_number() -> int:
    raw = request.args.get("page", "1")
    return int(raw) if raw.isdecimal() and raw.isascii() and len(raw) < 7 else 1


@blueprint.route("/")
@requires("viewer")
def overview() -> str:
    filters = Filters.parse(request.args)
    by = "customer" if request.args.get("by") == "customer" else "vendor"
    today = datetime.now(web().zone).date()
    counts = overview_counts(db(), filters, web().zone, by=by, today=today)
    chart = stacked_bars(counts.buckets, counts.series, weekly=counts.weekly)
    return render_template("overview.html", filters=filters, counts=counts, chart=chart, by=by,
                           choices=choices(db()))


@blueprint.route("/log")
@requires("viewer")
def detections() -> str:
    filters = Filters.parse(request.args)
    page = log_page(db(), filters, web().zone, _page_number(), web().settings.web.page_size)
    return render_template("log.html", filters=filters, page=page, choices=choices(db()),
                           export_args=filters.args())


@blueprint.route("/detections/<int:detection_id>")
@requires("viewer")
def detection(detection_id: int) -> str:
    if detection_id > MAX_ID:
        abort(404)
    return _detection_page(detection_id)


def _detection_page(detection_id: int, error: str = "", code: int = 200, back: str | None = None) -> tuple[str, int] | str:
    view = detection_view(db(), detection_id)
    if view is None:
        abort(404, "There is no detection with this number (it may have been deleted by the retention clean-up).")
    workspace = web().settings.web.slack_workspace_url
    slack = [(alert, slack_link(alert, workspace)) for alert in view.alerts]
    page = render_template(
        "detection.html", view=view, d=view.detection, slack=slack, outlook=outlook_link(view.detection.web_link),
        version=version(view.detection), error=error,
        back=request.args.get("back", "") if back is None else back,
    )
    return (page, code) if code != 200 else page


@blueprint.route("/detections/<int:detection_id>/triage", methods=["POST"])
@requires("reviewer")
def triage(detection_id: int) -> Response | tuple[str, int] | str:
    form = request.form
    change = Change(
        status=form.get("status", ""),
        outcome=form.get("outcome", ""),
        note=form.get("note", ""),
        allow=form.get("allow", "") if form.get("status") == "false_positive" else "",
        expected=form.get("version", ""),
    )
    try:
        with session_scope(web().engine) as session:
            found = session.get(Detection, detection_id)
            if found is None:
                abort(404)
            events = apply(session, found, change, g.user.username)
    except TriageError as exc:
        return _detection_page(detection_id, error=str(exc), code=409, back=form.get("back", ""))
    log.info("%s triaged detection %s: %s", g.user.username, detection_id, ", ".join(e.action for e in events))
    allowed = [e.sender for e in events if e.action == "allow"]
    flash("Saved." + (f" {allowed[0]} is now allow-listed for this customer." if allowed else ""))
    # The log's filters ride along, so "Back to the log" returns to the same list.
    return redirect(url_for("pages.detection", detection_id=detection_id, back=form.get("back") or None))


@blueprint.route("/allowlist")
@requires("viewer")
def allowlist() -> str:
    rows = db().execute(
        select(AllowedSender, Tenant.name)
        .join(Tenant, col(Tenant.id) == AllowedSender.tenant_id)
        .order_by(func.lower(Tenant.name), col(AllowedSender.value))
    ).all()
    return render_template("allowlist.html", rows=rows)


@blueprint.route("/allowlist/<int:entry_id>/remove", methods=["POST"])
@requires("reviewer")
def allowlist_remove(entry_id: int) -> Response:
    with session_scope(web().engine) as session:
        entry = session.get(AllowedSender, entry_id)
        if entry is None:
            flash("That entry was already removed.")
            return redirect(url_for("pages.allowlist"))
        value = entry.value
        remove_allowed(session, entry, g.user.username)
    log.info("%s removed %s from an allow-list", g.user.username, value)
    flash(f"{value} is no longer allow-listed; its mail will be judged again from now on.")
    return redirect(url_for("pages.allowlist"))


@blueprint.route("/history")
@requires("viewer")
def history() -> str:
    """The latest triage changes across all detections (the audit trail)."""
    rows = db().execute(
        select(TriageEvent, Tenant.name)
        .outerjoin(Tenant, col(Tenant.id) == TriageEvent.tenant_id)
        .order_by(col(TriageEvent.at).desc(), col(TriageEvent.id).desc())
        .limit(200)
    ).all()
    return render_template("history.html", rows=rows)


@blueprint.route("/log.csv")
@requires("viewer")
def export_csv() -> Response:
    """The filtered log as CSV, all pages, streamed."""
    filters = Filters.parse(request.args)
    stamp = datetime.now(web().zone).strftime("%Y%m%d-%H%M")
    log.info("%s exported the log as CSV (%s)", g.user.username, filters.args() or "no filters")
    return Response(
        csv_stream(web().engine, filters, web().zone, web().base_url),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="outreach-log-{stamp}.csv"'},
    )
