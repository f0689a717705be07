"""The worker on the command line: `run`, `scan --once`, `status`, and `demo`."""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime, timedelta
from pathlib import Path

import click
from sqlalchemy import func
from sqlmodel import col, select

from monitor.cli import App, pass_app
from monitor.commands.tenants import find_tenant
from monitor.db import session_scope
from monitor.errors import ConfigError, InputError
from monitor.models import Alert, Mailbox, Tenant, WorkerState, utcnow
from monitor.terminal import safe, table, when

STATUS_MAILBOXES = 40  # rows of the mailbox table in `status`; `mailboxes list` has them all
TRANSIENT_SLACK = ("cannot reach", "Slack auth.test failed")


@click.command()
@pass_app
def run(app: App) -> None:
    """Run the worker until Ctrl+C or SIGTERM: poll every connected mailbox, deliver alerts,
    watch tenants' sign-ins, clean up old history."""
    from alerts.slack import inspect
    from monitor.config import SLACK_TOKEN_ENV, secret
    from monitor.worker import Worker

    settings = app.settings
    status = inspect(settings) if secret(SLACK_TOKEN_ENV) else None
    problem = status.problem if status else None
    for warning in status.warnings if status else []:
        logging.getLogger("monitor.worker").warning("Slack: %s", warning)
    if problem and not problem.startswith(TRANSIENT_SLACK):
        raise ConfigError(f"Slack: {problem}")
    if problem:
        logging.getLogger("monitor.worker").warning("Slack: %s; alerts wait in the outbox until it answers", problem)
    worker = Worker(settings, app.engine)
    finished = worker.run()
    if not finished:
        # A scan or a flush is stuck in a network call past the grace period. Its leases are
        # released and its work is idempotent, so end now rather than wait for its timeouts.
        logging.shutdown()
        os._exit(0)


@click.command()
@click.option("--once", is_flag=True, help="Scan every watched mailbox once now (required: `run` is the service).")
@click.option("--tenant", "tenant_name", metavar="NAME", help="Only this tenant's mailboxes.")
@pass_app
def scan(app: App, once: bool, tenant_name: str | None) -> None:
    """Scan mailboxes once now, with a progress bar, and deliver what it finds."""
    from monitor.worker import Worker

    if not once:
        raise click.UsageError("give --once for a manual pass; `outreach-monitor run` keeps scanning")
    engine = app.engine
    with session_scope(engine) as session:
        query = select(Mailbox.id).join(Tenant, col(Tenant.id) == col(Mailbox.tenant_id)).where(
            col(Mailbox.enabled), Tenant.status == "active"
        )
        if tenant_name:
            tenant = find_tenant(session, tenant_name)
            if tenant.status != "active":
                raise InputError(f"{tenant.name!r} is {tenant.status.replace('_', ' ')}: it is not scanned "
                                 f"(see `outreach-monitor tenants show {_quote(tenant.name)}`)")
            query = query.where(Mailbox.tenant_id == tenant.id)
        ids = list(session.exec(query.order_by(Mailbox.tenant_id, Mailbox.id)).all())
    if not ids:
        click.echo("No mailboxes to scan: connect a tenant with `outreach-monitor connect`.")
        return
    worker = Worker(app.settings, engine, owner=f"scan-once:{os.getpid()}")
    with click.progressbar(length=len(ids), label=f"Scanning {len(ids)} mailbox(es)", show_pos=True) as bar:
        results, busy = worker.scan_once(ids, progress=bar.update)
    problems = [r for r in results if r.status in ("error", "unreadable")]
    messages = sum(r.messages for r in results)
    detections = sum(r.detections for r in results)
    alerts = sum(r.alerts for r in results)
    click.echo(f"Scanned {sum(r.status == 'ok' for r in results)} of {len(ids)} mailbox(es): {messages} new "
               f"message(s), {detections} detection(s), {alerts} alert(s).")
    for result in results:
        if result.status != "ok":
            click.echo(f"  {safe(result.address, 80) or result.mailbox_id}: {result.status}: {safe(result.error, 200)}")
    if busy:
        click.echo(f"  {len(busy)} mailbox(es) skipped: the running worker is scanning them right now.")
    report = worker.flush_outbox()
    if report is not None and report.busy:
        click.echo("Alerts: another flush (the running worker's) is delivering them.")
    elif report is not None and (report.sent or report.retried or report.dead):
        click.echo(f"Alerts: {report}.")
    if problems:
        raise SystemExit(1)


def _quote(name: str) -> str:
    import shlex

    return shlex.quote(name)


def _live_worker(engine: object) -> WorkerState | None:
    """The worker that beat recently and has not stopped, if any."""
    since = utcnow() - timedelta(minutes=2)
    with session_scope(engine) as session:  # type: ignore[arg-type]
        return session.exec(
            select(WorkerState).where(col(WorkerState.stopped_at).is_(None), WorkerState.heartbeat_at >= since)
            .order_by(col(WorkerState.heartbeat_at).desc())
        ).first()


def _ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never"
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    return f"{when(moment)} UTC"


@click.command()
@click.option("--all", "show_all", is_flag=True, help="List every mailbox, not only the first ones.")
@pass_app
def status(app: App, show_all: bool) -> None:
    """The worker, tenants, mailboxes, the last cycle, the outbox backlog and dead letters."""
    engine = app.engine
    now = utcnow()
    with session_scope(engine) as session:
        workers = session.exec(select(WorkerState).order_by(col(WorkerState.heartbeat_at).desc()).limit(5)).all()
        tenants = session.exec(select(Tenant).order_by(Tenant.name)).all()
        boxes = session.exec(select(Mailbox).order_by(Mailbox.tenant_id, Mailbox.address)).all()
        counts = dict(session.exec(select(Alert.state, func.count()).group_by(Alert.state)).all())  # type: ignore[call-overload]
        oldest = session.exec(select(func.min(Alert.created_at)).where(Alert.state == "pending")).one()
        retrying = session.exec(
            select(func.count()).select_from(Alert).where(Alert.state == "pending", Alert.attempts > 0)
        ).one()

    live = _live_worker(engine)
    click.echo("Worker")
    if live is not None:
        click.echo(f"  running on {safe(live.host, 60)} (pid {live.pid}) since {when(live.started_at)} UTC; "
                   f"heartbeat {_ago(live.heartbeat_at, now)}, {live.cycles} cycle(s)")
    elif workers:
        last = workers[0]
        how = "stopped" if last.stopped_at else "did not stop cleanly; last seen"
        click.echo(f"  not running ({how} {_ago(last.stopped_at or last.heartbeat_at, now)}): "
                   "start it with `outreach-monitor run`")
    else:
        click.echo("  has never run: start it with `outreach-monitor run`")
    shown = live or (workers[0] if workers else None)
    if shown is not None and shown.last_cycle_at:
        try:
            cycle = json.loads(shown.last_cycle)
        except ValueError:
            cycle = {}
        figures = ", ".join(f"{key} {cycle[key]}" for key in
                            ("claimed", "scanned", "skipped", "errors", "messages", "detections", "alerts")
                            if key in cycle)
        click.echo(f"  last cycle {_ago(shown.last_cycle_at, now)}: {figures}, {cycle.get('duration_s', '?')} s")
    if shown is not None and shown.last_flush_at:
        click.echo(f"  last outbox flush {_ago(shown.last_flush_at, now)}")

    click.echo("\nTenants")
    if not tenants:
        click.echo('  none yet: `outreach-monitor connect --name "Customer Name"`')
    names = {t.id or 0: t.name for t in tenants}
    rows = []
    for tenant in tenants:
        own = [m for m in boxes if m.tenant_id == tenant.id and m.enabled]
        scans = [m.last_success_at for m in own if m.last_success_at]
        reason = tenant.status_reason if tenant.status != "active" else tenant.last_error
        rows.append([safe(tenant.name, 40), tenant.status, str(len(own)), _ago(max(scans) if scans else None, now),
                     safe(reason, 70) or "-"])
    if rows:
        click.echo(_indent(table(rows, ["NAME", "STATUS", "MAILBOXES", "LAST SCAN", "PROBLEM"])))

    click.echo("\nMailboxes")
    watched = [m for m in boxes if m.enabled]
    if not watched:
        click.echo("  none watched")
    # Problems first, then the longest unscanned: what needs attention is at the top.
    watched.sort(key=lambda m: (not (m.last_error or m.status != "ok"), m.last_success_at or datetime.min.replace(tzinfo=now.tzinfo)))
    listed = watched if show_all else watched[:STATUS_MAILBOXES]
    rows = []
    for m in listed:
        scanning = m.lease_until is not None and m.lease_until > now
        next_poll = "now" if scanning else ("due" if m.next_poll_at <= now else f"in {int((m.next_poll_at - now).total_seconds())} s")
        error = f"{safe(m.last_error, 60)} ({_ago(m.last_error_at, now)})" if m.last_error else "-"
        rows.append([safe(names.get(m.tenant_id, "?"), 24), m.address, m.status, _ago(m.last_success_at, now),
                     next_poll if m.status == "ok" or scanning else f"after {when(m.unreadable_until)}", error])
    if rows:
        click.echo(_indent(table(rows, ["TENANT", "ADDRESS", "STATUS", "LAST SUCCESS", "NEXT POLL", "LAST ERROR"])))
    if len(listed) < len(watched):
        click.echo(f"  … and {len(watched) - len(listed)} more (`outreach-monitor status --all`)")

    click.echo("\nOutbox")
    pending = counts.get("pending", 0)
    backlog = f"{pending} waiting" + (f" (oldest {_ago(oldest, now)}; {retrying} being retried)" if pending else "")
    click.echo(f"  {backlog}; {counts.get('sent', 0)} sent, {counts.get('silenced', 0)} silenced")
    dead = counts.get("dead", 0)
    if dead:
        click.echo(f"  {dead} dead letter(s): `outreach-monitor alerts list --state dead`, then `alerts retry`")
    else:
        click.echo("  no dead letters")


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


@click.command()
@click.option("--seconds", type=click.FloatRange(min=5), default=60, show_default=True,
              help="End after this long (mail arrives during the first two thirds).")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("var/demo"),
              show_default=True, help="Where the demo keeps its database; emptied at each run.")
@click.option("--verbose", is_flag=True, help="Also show the worker's log lines.")
def demo(seconds: float, data_dir: Path, verbose: bool) -> None:
    """The whole job in a minute, on this machine only: a sandbox customer, the real worker,
    mail arriving, and the alerts as Slack would show them."""
    from monitor.demo import run_demo

    run_demo(seconds=seconds, data_dir=data_dir, verbose=verbose)


COMMANDS = [run, scan, status, demo]
