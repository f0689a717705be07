"""`alerts`, `silences` and `slack`: look at and steer the alert outbox from the command line."""

from __future__ import annotations

import getpass
import json
from datetime import datetime
from typing import Any

import click
from sqlmodel import Session, col, select

from monitor.cli import pass_app
from monitor.errors import InputError, OutreachMonitorError
from monitor.models import Alert, Silence, Tenant, utcnow

STATES = ("pending", "sent", "dead", "silenced")


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "—"


def _cut(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: chars - 1] + "…"


def _payload(alert: Alert) -> dict[str, Any]:
    try:
        value = json.loads(alert.payload)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


# --- alerts ---------------------------------------------------------------------------------


@click.group("alerts")
def alerts() -> None:
    """The alert outbox: what was sent to Slack, what waits, what failed."""


@alerts.command("list")
@click.option("--state", type=click.Choice(STATES), help="Only alerts in this state.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10000), help="Newest first.")
@pass_app
def list_alerts(app: Any, state: str | None, limit: int) -> None:
    """List alerts, newest first, with the error of those that failed."""
    from alerts.outbox import clean

    with Session(app.engine) as s:
        query = select(Alert).order_by(col(Alert.id).desc()).limit(limit)
        if state:
            query = query.where(Alert.state == state)
        rows = s.exec(query).all()
        tenants = {t.id: t.name for t in s.exec(select(Tenant))}
    if not rows:
        click.echo(f"no {state + ' ' if state else ''}alerts")
        return
    click.echo(f"{'ID':>6}  {'STATE':<9} {'CREATED':<16} {'TRIES':>5}  {'TENANT':<20} WHAT")
    for row in rows:
        payload = _payload(row)
        tenant = clean(payload.get("tenant")) or tenants.get(row.tenant_id, "") or "—"
        if row.kind == "tenant_health":
            what = f"tenant health: {clean(payload.get('event'))}"
        else:
            sender = clean(payload.get("sender_address")) or clean(payload.get("sender_name"))
            what = f"{sender}: {clean(payload.get('subject')) or '(no subject)'}"
        click.echo(f"{row.id:>6}  {row.state:<9} {_when(row.created_at):<16} {row.attempts:>5}  "
                   f"{_cut(tenant, 20):<20} {_cut(what, 90)}")
        if row.state == "sent" and row.ts:
            where = f"thread {row.thread_ts}" if row.thread_ts else "message"
            click.echo(f"{'':>8}sent to {row.channel} ({where} {row.ts}) at {_when(row.sent_at)}")
        elif row.last_error:
            prefix = "next try " + _when(row.next_attempt_at) + ": " if row.state == "pending" else ""
            click.echo(f"{'':>8}{prefix}{clean(row.last_error)}")


@alerts.command("retry")
@click.argument("ids", nargs=-1, type=int)
@click.option("--all-dead", is_flag=True, help="Retry every dead alert (e.g. after fixing the token).")
@pass_app
def retry(app: Any, ids: tuple[int, ...], all_dead: bool) -> None:
    """Send dead (or silenced) alerts again at the next flush."""
    from alerts.silences import active_silences, matching_silence
    from monitor.db import session_scope

    if not ids and not all_dead:
        raise InputError("give alert IDs (see `outreach-monitor alerts list --state dead`) or --all-dead")
    now = utcnow()
    problems = []
    with session_scope(app.engine) as s:
        rows = list(s.exec(select(Alert).where(col(Alert.id).in_(ids))).all()) if ids else []
        if all_dead:
            rows += s.exec(select(Alert).where(Alert.state == "dead").order_by(col(Alert.id))).all()
        missing = set(ids) - {r.id for r in rows}
        problems += [f"no alert {i}" for i in sorted(missing)]
        silences = active_silences(s, now)
        queued = 0
        for row in rows:
            if row.ts:
                problems.append(f"alert {row.id} is already in Slack ({row.channel} {row.ts}); not posting it again")
                continue
            if row.state == "pending":
                row.next_attempt_at = now
                queued += 1
                continue
            if row.state not in ("dead", "silenced"):
                problems.append(f"alert {row.id} is {row.state}")
                continue
            if row.state == "silenced" and (silence := matching_silence(silences, _payload(row))):
                problems.append(f"alert {row.id} is still muted by silence #{silence.id}; remove it first")
                continue
            row.state, row.attempts, row.last_error, row.next_attempt_at = "pending", 0, "", now
            s.add(row)
            queued += 1
    click.echo(f"{queued} alert{'s' if queued != 1 else ''} queued; they go out at the next flush")
    for problem in problems:
        click.echo(f"warning: {problem}", err=True)
    if problems and not queued:
        raise OutreachMonitorError("nothing to retry")


@alerts.command("flush")
@click.option("--to-terminal", is_flag=True,
              help="Without a Slack token, print the due alerts here and mark them sent.")
@pass_app
def flush_command(app: Any, to_terminal: bool) -> None:
    """Deliver the due alerts now (to Slack; to this terminal only with --to-terminal)."""
    from alerts.outbox import flush, make_sink
    from monitor.config import SLACK_TOKEN_ENV, secret

    if not secret(SLACK_TOKEN_ENV) and not to_terminal:
        # The worker may hold the token in its own environment: draining its alerts into this
        # shell would mark them sent without Slack ever seeing them.
        raise OutreachMonitorError(
            f"{SLACK_TOKEN_ENV} is not set here, so alerts would print to this terminal and count as sent; "
            "set it, or pass --to-terminal if that is what you want"
        )
    report = flush(app.engine, app.settings, make_sink(app.settings))
    click.echo(f"flush: {report}")
    for problem in dict.fromkeys(report.problems):
        click.echo(f"dead letter: {problem}", err=True)


# --- silences -------------------------------------------------------------------------------


@click.group("silences")
def silences() -> None:
    """Mute alerts for a tenant, sender or vendor for a while (they are still logged)."""


def _matcher(silence: Silence) -> str:
    parts = [f"{k}={v}" for k, v in (("tenant", silence.tenant), ("sender", silence.sender),
                                      ("vendor", silence.vendor)) if v]
    return " ".join(parts)


@silences.command("add")
@click.option("--tenant", default="", help="Tenant name.")
@click.option("--sender", default="", help="Sender address, or a domain (its subdomains too).")
@click.option("--vendor", default="", help="Vendor name as shown in alerts.")
@click.option("--reason", required=True, help="Why; shown with every alert it mutes.")
@click.option("--expires", default="7d", show_default=True, help="How long: 30m, 12h, 7d, 2w (at most 90d).")
@pass_app
def add(app: Any, tenant: str, sender: str, vendor: str, reason: str, expires: str) -> None:
    """Add a silence: alerts matching every given field are kept but not posted."""
    from alerts.silences import add_silence, parse_duration
    from monitor.db import session_scope

    duration, capped = parse_duration(expires)
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = ""
    with session_scope(app.engine) as s:
        silence = add_silence(s, tenant=tenant, sender=sender, vendor=vendor, reason=reason,
                              duration=duration, now=utcnow(), created_by=user)
        s.flush()
        known = {t.name.lower() for t in s.exec(select(Tenant))}
    note = " (capped at 90 days)" if capped else ""
    click.echo(f"silence #{silence.id} added: {_matcher(silence)} until {_when(silence.expires_at)} UTC{note}")
    if silence.tenant and silence.tenant.lower() not in known:
        click.echo(f"warning: no tenant is named {silence.tenant!r} yet (see `outreach-monitor tenants list`)",
                   err=True)


@silences.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include expired and removed silences.")
@pass_app
def list_silences(app: Any, show_all: bool) -> None:
    """List silences and how many alerts each has muted."""
    now = utcnow()
    with Session(app.engine) as s:
        query = select(Silence).order_by(col(Silence.id))
        if not show_all:
            query = query.where(col(Silence.removed_at).is_(None), Silence.expires_at > now)
        rows = s.exec(query).all()
    if not rows:
        click.echo("no silences" if show_all else "no active silences")
        return
    for row in rows:
        state = "removed" if row.removed_at else "expired" if row.expires_at <= now else "active"
        click.echo(f"#{row.id:<4} {state:<8} until {_when(row.expires_at)}  muted {row.hits:<4} {_matcher(row)}")
        click.echo(f"       reason: {row.reason}" + (f" (by {row.created_by})" if row.created_by else ""))


@silences.command("remove")
@click.argument("silence_id", type=int)
@pass_app
def remove(app: Any, silence_id: int) -> None:
    """Remove a silence; alerts it already muted stay silenced (see `alerts retry`)."""
    from alerts.silences import remove_silence
    from monitor.db import session_scope

    with session_scope(app.engine) as s:
        silence = remove_silence(s, silence_id, utcnow())
    click.echo(f"silence #{silence.id} removed ({_matcher(silence)})")


# --- slack ----------------------------------------------------------------------------------


@click.group("slack")
def slack() -> None:
    """Slack connection."""


@slack.command("check")
@pass_app
def slack_check(app: Any) -> None:
    """Check the bot token (auth.test) and the configured channels."""
    from alerts.slack import inspect

    with Session(app.engine) as s:
        channels = [(t.slack_channel, f"tenant {t.name}") for t in s.exec(select(Tenant)) if t.slack_channel]
    status = inspect(app.settings, channels=channels)
    if status.problem:
        raise OutreachMonitorError(status.problem)
    click.echo(f"Slack OK: workspace {status.team or '?'} as {status.bot or '?'}; "
               f"channels {', '.join(status.checked) or 'none checked'}")
    if status.unknown:
        click.echo(f"not checked (token may not read channel info): {', '.join(status.unknown)}")
    for warning in status.warnings:
        click.echo(f"warning: {warning}", err=True)


COMMANDS = [alerts, silences, slack]
