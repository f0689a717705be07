"""Connecting customers and choosing their mailboxes: `connect`, `tenants ...`, `mailboxes ...`.

A tenant is connected by one person at the customer signing in with the device-code flow.
`connect --tenant NAME` signs in again for an existing tenant (after consent was revoked or
the token aged out): its mailboxes, delta cursors and history are kept.

Text that comes from a customer's directory or from Graph (display names, error messages) is
shown with control characters removed, so it cannot rewrite the terminal.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import click
from sqlalchemy import delete, func
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, select

from monitor.cli import App, pass_app
from monitor.crypto import TokenVault, reconnect_command
from monitor.db import session_scope
from monitor.errors import AuthError, GraphError, InputError, MailboxUnreadable, ReconnectNeeded
from monitor.models import Mailbox, Tenant, utcnow
from monitor.terminal import safe, table, when

_ADDRESS = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")
def normalise_address(address: str) -> str:
    value = address.strip().lower()
    if value.startswith("mailto:"):
        value = value[len("mailto:"):]
    if not _ADDRESS.match(value) or len(value) > 320:
        raise click.BadParameter(f"{safe(address, 80)!r} is not an email address", param_hint="ADDRESS")
    return value


def find_tenant(session: Session, name: str) -> Tenant:
    tenant = session.exec(select(Tenant).where(Tenant.name == name)).first()
    if tenant is None:
        tenant = session.exec(select(Tenant).where(func.lower(Tenant.name) == name.strip().lower())).first()
    if tenant is None:
        raise InputError(f"no tenant named {name!r}: see `outreach-monitor tenants`")
    return tenant


def _domains(tenant: Tenant) -> list[str]:
    try:
        value = json.loads(tenant.domains or "[]")
    except ValueError:
        return []
    return [str(d) for d in value] if isinstance(value, list) else []


def _add_domains(tenant: Tenant, *addresses: str) -> None:
    domains = _domains(tenant)
    for address in addresses:
        domain = address.rpartition("@")[2].lower()
        if domain and domain not in domains:
            domains.append(domain)
    tenant.domains = json.dumps(domains)


# --- probing mailboxes ------------------------------------------------------------------------
@dataclass
class Probe:
    address: str
    shared: bool
    problem: str = ""  # "" when readable
    transient: bool = False


def probe_all(app: App, token: str, own: str, addresses: list[str]) -> list[Probe]:
    from monitor.auth import probe_mailbox
    from monitor.http import Session as HttpSession

    endpoint = app.settings.graph.endpoint
    results = []
    with HttpSession() as session:
        for address in addresses:
            shared = address != own
            try:
                probe_mailbox(session, endpoint, token, address if shared else None)
                results.append(Probe(address, shared))
            except MailboxUnreadable as exc:
                results.append(Probe(address, shared, safe(exc, 300)))
            except GraphError as exc:
                results.append(Probe(address, shared, safe(exc, 300), transient=True))
    return results


def _apply_probe(session: Session, tenant: Tenant, probe: Probe, mailbox: Mailbox | None) -> Mailbox | None:
    """Records a probe: a readable mailbox is added or marked ok; an unreadable one is never
    added, and an existing one is marked unreadable so the scanner leaves it be."""
    if probe.problem and not probe.transient:
        if mailbox is not None:
            mailbox.status, mailbox.status_reason = "unreadable", probe.problem
            mailbox.last_error, mailbox.last_error_at = probe.problem, utcnow()
            session.add(mailbox)
        return mailbox
    if mailbox is None:
        if probe.transient:
            return None
        mailbox = Mailbox(tenant_id=tenant.id or 0, address=probe.address)
    mailbox.shared = probe.shared
    mailbox.graph_user_id = probe.address if probe.shared else ""
    mailbox.enabled = True
    if not probe.problem:
        mailbox.status, mailbox.status_reason, mailbox.unreadable_until = "ok", "", None
        mailbox.next_poll_at = utcnow()
    session.add(mailbox)
    _add_domains(tenant, probe.address)
    return mailbox


def _print_probes(probes: list[Probe], tenant_name: str) -> int:
    rows = []
    for probe in probes:
        if not probe.problem:
            outcome = "readable"
        elif probe.transient:
            outcome = f"not checked now: {probe.problem}"
        else:
            outcome = f"NOT ADDED: {probe.problem}"
        rows.append([probe.address, "shared" if probe.shared else "own", outcome])
    click.echo("\n".join("    " + line for line in table(rows, ["MAILBOX", "KIND", "CHECK"]).splitlines()))
    failed = sum(1 for p in probes if p.problem)
    if failed:
        click.echo(
            f"  Fix access (share the mailbox with the signed-in user), then check again with "
            f"`outreach-monitor mailboxes add --tenant {_quote(tenant_name)} ADDRESS`."
        )
    return failed


def _quote(name: str) -> str:
    import shlex

    return shlex.quote(name)


# --- connect ----------------------------------------------------------------------------------
@click.command()
@click.option("--name", "new_name", metavar="NAME", help='Connect a new customer, e.g. --name "Contoso Dental".')
@click.option("--tenant", "existing", metavar="NAME", help="Sign in again for a connected customer.")
@click.option(
    "--mailbox", "mailboxes", metavar="ADDRESS", multiple=True,
    help="A mailbox shared with the person signing in (repeatable); adds Mail.Read.Shared.",
)
@click.option("--timeout", type=click.FloatRange(min=1), metavar="SECONDS", help="Give up waiting for sign-in after SECONDS.")
@pass_app
def connect(app: App, new_name: str | None, existing: str | None, mailboxes: tuple[str, ...], timeout: float | None) -> None:
    """Connect a customer: someone there signs in once with a device code and consents."""
    from monitor.auth import NEW_TENANT_AUTHORITY, DeviceSignIn

    if bool(new_name) == bool(existing):
        raise click.UsageError('give either --name "New Customer" or --tenant "Connected Customer"')
    wanted = [normalise_address(a) for a in mailboxes]
    settings, engine = app.settings, app.engine
    # Before anyone signs in: fail now on a bad key rather than after the customer's effort.
    vault = TokenVault.from_settings(settings, create=True)

    authority = NEW_TENANT_AUTHORITY
    shared = bool(wanted)
    with session_scope(engine) as session:
        if new_name:
            name = safe(new_name, 200)
            if not name:
                raise click.BadParameter("the name is empty", param_hint="--name")
            same = session.exec(select(Tenant).where(func.lower(Tenant.name) == name.lower())).first()
            if same is not None:
                raise InputError(
                    f"a tenant named {same.name!r} already exists: to sign in again, use --tenant {_quote(same.name)}"
                )
            previous = None
        else:
            previous = find_tenant(session, existing or "")
            name = previous.name
            authority = previous.tenant_guid or NEW_TENANT_AUTHORITY
            known = session.exec(
                select(Mailbox).where(Mailbox.tenant_id == previous.id, Mailbox.shared, Mailbox.enabled)
            ).all()
            shared = shared or bool(known)

    sign_in = DeviceSignIn.start(settings, tenant=authority, shared=shared)
    click.echo(sign_in.message)
    left = max(0.0, sign_in.expires_at - time.time())
    limit = f"{timeout:g} s" if timeout and timeout < left else f"{round(left / 60)} min"
    click.echo(f"Waiting for {name} to sign in (up to {limit}; Ctrl+C to cancel)...")
    result = sign_in.wait(timeout)

    if previous is not None and previous.tenant_guid and previous.tenant_guid != result.tenant_guid:
        raise AuthError(
            f"{result.username} belongs to another Microsoft tenant ({result.tenant_guid}) than {name!r} "
            f"({previous.tenant_guid}): sign in with an account of {name}"
        )
    with session_scope(engine) as session:
        other = session.exec(
            select(Tenant).where(Tenant.tenant_guid == result.tenant_guid, Tenant.name != name)
        ).first()
        if other is not None:
            raise InputError(
                f"{result.username}'s Microsoft tenant is already connected as {other.name!r}: "
                f"use `{reconnect_command(other.name)}`"
            )
        addresses = [result.username]
        if previous is not None:
            for mailbox in session.exec(
                select(Mailbox).where(Mailbox.tenant_id == previous.id, Mailbox.enabled)
            ).all():
                if mailbox.address not in addresses:
                    addresses.append(mailbox.address)
    addresses += [a for a in wanted if a not in addresses]

    probes = probe_all(app, result.access_token, result.username, addresses)
    reconnected = _record(engine, vault, name, previous, result, probes)

    verb = "Reconnected" if previous is not None else "Connected"
    with session_scope(engine) as session:
        tenant = find_tenant(session, name)
        click.echo(f"{verb} {name!r}: Microsoft tenant {tenant.tenant_guid}, domains {', '.join(_domains(tenant))}")
    click.echo(f"  signed in as {safe(result.username)} ({safe(result.display_name, 80) or 'no display name'})")
    click.echo("  mailboxes:")
    _print_probes(probes, name)
    if tenant.status == "paused":
        click.echo(f"  The tenant is paused: `outreach-monitor tenants resume {_quote(name)}` starts polling it.")
    elif reconnected:
        click.echo("  Polling resumes where it stopped; the MSP channel gets a 'reconnected' notice.")


def _record(engine: Engine, vault: TokenVault, name: str, previous: Tenant | None, result: Any, probes: list[Probe]) -> bool:
    """Stores the sign-in and the readable mailboxes in one transaction; True if this was a
    recovery from needs_reconnect (and so a "reconnected" alert was queued)."""
    from monitor.auth import enqueue_health

    blob = vault.encrypt(result.cache_state)
    try:
        with session_scope(engine) as session:
            if previous is None:
                tenant = Tenant(name=name)
                session.add(tenant)
                session.flush()
            else:
                tenant = find_tenant(session, name)
            was = tenant.status
            old_user = tenant.username
            tenant.tenant_guid = result.tenant_guid
            tenant.username = result.username
            tenant.home_account_id = result.home_account_id
            tenant.token_cache = blob
            tenant.connected_at = utcnow()
            tenant.status = "paused" if was == "paused" else "active"
            tenant.status_reason = ""
            tenant.last_error, tenant.last_error_at = "", None
            _add_domains(tenant, result.username)
            existing = {m.address: m for m in session.exec(select(Mailbox).where(Mailbox.tenant_id == tenant.id)).all()}
            if old_user and old_user != result.username and old_user in existing:
                # Someone else signed in: the old user's mailbox is now reached as a shared one.
                existing[old_user].shared, existing[old_user].graph_user_id = True, old_user
            for probe in probes:
                _apply_probe(session, tenant, probe, existing.get(probe.address))
            session.add(tenant)
            recovered = previous is not None and was == "needs_reconnect"
            if recovered:
                enqueue_health(session, tenant.id or 0, name, "reconnected", f"signed in again as {result.username}")
            return recovered
    except IntegrityError:
        raise InputError(f"a tenant named {name!r} was added meanwhile: use --tenant {_quote(name)}") from None


# --- tenants ----------------------------------------------------------------------------------
@click.group(invoke_without_command=True)
@click.pass_context
def tenants(ctx: click.Context) -> None:
    """List connected customers (default), or show, pause, resume or remove one."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(tenants_list)


@tenants.command("list")
@pass_app
def tenants_list(app: App) -> None:
    """Every tenant with its status, mailboxes, last scan and last error."""
    with session_scope(app.engine) as session:
        rows = []
        for tenant in session.exec(select(Tenant).order_by(Tenant.name)).all():
            boxes = session.exec(select(Mailbox).where(Mailbox.tenant_id == tenant.id)).all()
            watched = [m for m in boxes if m.enabled]
            scans = [m.last_success_at for m in watched if m.last_success_at]
            errors = sorted((m for m in watched if m.last_error), key=lambda m: m.last_error_at or datetime.min)
            error = tenant.status_reason if tenant.status == "needs_reconnect" else tenant.last_error
            if not error and errors:
                error = f"{errors[-1].address}: {errors[-1].last_error}"
            rows.append(
                [safe(tenant.name, 40), tenant.status, str(len(watched)), when(max(scans) if scans else None), safe(error, 70) or "-"]
            )
    if not rows:
        click.echo('No tenants yet: connect one with `outreach-monitor connect --name "Customer Name"`.')
        return
    click.echo(table(rows, ["NAME", "STATUS", "MAILBOXES", "LAST SCAN", "LAST ERROR"]))


@tenants.command("show")
@click.argument("name")
@pass_app
def tenants_show(app: App, name: str) -> None:
    """Everything about one tenant (never its tokens)."""
    from monitor.auth import token_summary

    with session_scope(app.engine) as session:
        tenant = find_tenant(session, name)
        boxes = session.exec(select(Mailbox).where(Mailbox.tenant_id == tenant.id).order_by(Mailbox.address)).all()
    status = tenant.status + (f" ({safe(tenant.status_reason, 200)})" if tenant.status_reason else "")
    lines = [
        ("Tenant", safe(tenant.name)),
        ("Status", status),
        ("Microsoft tenant", tenant.tenant_guid or "-"),
        ("Domains", ", ".join(_domains(tenant)) or "-"),
        ("Signed in as", safe(tenant.username) or "-"),
        ("Connected", when(tenant.connected_at)),
        ("Last error", f"{safe(tenant.last_error, 200)} ({when(tenant.last_error_at)})" if tenant.last_error else "-"),
    ]
    if tenant.token_cache:
        try:
            summary = token_summary(TokenVault.from_settings(app.settings).decrypt(tenant.token_cache, tenant=tenant.name))
            detail = f"encrypted; {summary['refresh_tokens']} refresh token(s)"
            granted = [s.rsplit("/", 1)[-1] for s in summary["scopes"] if s not in ("openid", "profile", "offline_access")]
            if granted:
                detail += "; scopes " + " ".join(granted)
        except ReconnectNeeded:
            detail = "encrypted; cannot be decrypted with this key"
    else:
        detail = "none (not connected)"
    lines.append(("Token cache", detail))
    width = max(len(label) for label, _ in lines)
    for label, value in lines:
        click.echo(f"{label.ljust(width)}  {value}")
    click.echo("")
    click.echo(_mailbox_table(boxes, None) if boxes else "No mailboxes.")


def _set_status(app: App, name: str, allowed: set[str], status: str, reason: str) -> Tenant:
    with session_scope(app.engine) as session:
        tenant = find_tenant(session, name)
        if tenant.status not in allowed:
            return tenant
        tenant.status, tenant.status_reason = status, reason
        session.add(tenant)
        return tenant


@tenants.command("pause")
@click.argument("name")
@pass_app
def tenants_pause(app: App, name: str) -> None:
    """Stop polling a tenant's mailboxes (its sign-in is kept)."""
    with session_scope(app.engine) as session:
        tenant = find_tenant(session, name)
        if tenant.status == "paused":
            click.echo(f"{tenant.name!r} is already paused.")
            return
        if tenant.status not in ("active", "needs_reconnect"):
            raise InputError(f"{tenant.name!r} is not connected ({tenant.status}): run `{reconnect_command(tenant.name)}`")
        tenant.status_reason = f"was {tenant.status}: {tenant.status_reason}" if tenant.status_reason else ""
        tenant.status = "paused"
        session.add(tenant)
    click.echo(f"Paused {tenant.name!r}: its mailboxes are not polled until `tenants resume`.")


@tenants.command("resume")
@click.argument("name")
@pass_app
def tenants_resume(app: App, name: str) -> None:
    """Poll a paused tenant again, after checking its sign-in still works."""
    from monitor.auth import TokenProvider

    with session_scope(app.engine) as session:
        tenant = find_tenant(session, name)
    if tenant.status == "active":
        click.echo(f"{tenant.name!r} is already active.")
        return
    if tenant.status not in ("paused", "needs_reconnect") or not tenant.token_cache:
        raise InputError(f"{tenant.name!r} is not connected: run `{reconnect_command(tenant.name)}`")
    try:
        TokenProvider(app.settings, app.engine).recheck(tenant.id or 0)
    except ReconnectNeeded:
        raise
    except AuthError as exc:
        if tenant.status != "paused":
            raise
        _set_status(app, tenant.name, {"paused"}, "active", "")
        click.echo(f"Resumed {tenant.name!r}, but its sign-in could not be checked now: {safe(exc, 200)}")
        return
    click.echo(f"Resumed {tenant.name!r}: its sign-in works and its mailboxes are polled again.")


@tenants.command("check")
@click.argument("names", nargs=-1)
@pass_app
def tenants_check(app: App, names: tuple[str, ...]) -> None:
    """Check that connected tenants' sign-ins still work (all active ones by default)."""
    from monitor.auth import TokenProvider

    with session_scope(app.engine) as session:
        chosen = [find_tenant(session, n) for n in names] or list(
            session.exec(select(Tenant).where(Tenant.status == "active").order_by(Tenant.name)).all()
        )
    provider = TokenProvider(app.settings, app.engine)
    broken: list[str] = []
    for tenant in chosen:
        try:
            provider.access_token(tenant.id or 0)
        except AuthError as exc:
            broken.append(str(exc))
            continue
        click.echo(f"{safe(tenant.name)}: sign-in works")
    if len(broken) == 1:
        raise AuthError(broken[0])
    if broken:
        for line in broken:
            click.echo(f"{safe(line)}")
        raise AuthError(f"{len(broken)} of {len(chosen)} tenants cannot get a token (see above)")


@tenants.command("remove")
@click.argument("name")
@click.option("--yes", "-y", is_flag=True, help="Do not ask; also delete the tenant's data.")
@click.option("--keep-data", is_flag=True, help="Delete only the sign-in; keep mailboxes, detections and alerts.")
@pass_app
def tenants_remove(app: App, name: str, yes: bool, keep_data: bool) -> None:
    """Delete a tenant's sign-in (tokens) and, after confirmation, its data."""
    with session_scope(app.engine) as session:
        tenant = find_tenant(session, name)
        counts = _purge_counts(session, tenant.id or 0)
    if not yes:
        click.confirm(f"Remove {tenant.name!r}: delete its sign-in and stop watching its mailboxes?", abort=True)
    described = ", ".join(f"{n} {label}" for label, n in counts.items() if n) or "no stored data"
    purge = False
    if not keep_data:
        purge = yes or click.confirm(f"Also delete its data ({described})? This cannot be undone", default=False)
    name = tenant.name
    with session_scope(app.engine) as session:
        tenant = find_tenant(session, name)
        if purge:
            purge_rows(session, "tenant", {tenant.id or 0})
        else:
            tenant.token_cache = None
            tenant.home_account_id = ""
            tenant.status, tenant.status_reason = "disconnected", "removed with `tenants remove`; data kept"
            session.add(tenant)
            for mailbox in session.exec(select(Mailbox).where(Mailbox.tenant_id == tenant.id)).all():
                mailbox.enabled = False
                session.add(mailbox)
    if purge:
        click.echo(f"Removed {name!r} and its data ({described}).")
    else:
        click.echo(f"Removed the sign-in of {name!r}; its data is kept. `{reconnect_command(name)}` brings it back.")


def _purge_counts(session: Session, tenant_id: int) -> dict[str, int]:
    doomed = _doomed(session, "tenant", {tenant_id})
    return {
        "mailboxes": len(doomed.get("mailbox", ())),
        "detections": len(doomed.get("detection", ())),
        "alerts": len(doomed.get("alert", ())),
    }


def _doomed(session: Session, root: str, ids: set[int]) -> dict[str, set[Any]]:
    """Ids of every row that references the root rows, directly or through other rows.

    Walks the foreign keys of all tables (including those other modules add), so removing a
    tenant leaves nothing behind that points at it.
    """
    doomed: dict[str, set[Any]] = {root: set(ids)}
    tables = SQLModel.metadata.sorted_tables
    changed = True
    while changed:
        changed = False
        for sa_table in tables:
            if "id" not in sa_table.c:
                continue
            for fk in sa_table.foreign_keys:
                parents = doomed.get(fk.column.table.name)
                if not parents or fk.column.name != "id":
                    continue
                found = set(session.connection().execute(sa_select(sa_table.c.id).where(fk.parent.in_(parents))).scalars())
                new = found - doomed.setdefault(sa_table.name, set())
                if new:
                    doomed[sa_table.name] |= new
                    changed = True
    return doomed


def purge_rows(session: Session, root: str, ids: set[int]) -> dict[str, int]:
    """Deletes the root rows and everything that references them; returns counts per table."""
    doomed = _doomed(session, root, ids)
    connection = session.connection()
    counts: dict[str, int] = {}
    for sa_table in reversed(SQLModel.metadata.sorted_tables):
        if "id" in sa_table.c:
            if doomed.get(sa_table.name):
                counts[sa_table.name] = connection.execute(delete(sa_table).where(sa_table.c.id.in_(doomed[sa_table.name]))).rowcount
            continue
        for fk in sa_table.foreign_keys:  # link tables without an id of their own
            parents = doomed.get(fk.column.table.name)
            if parents and fk.column.name == "id":
                connection.execute(delete(sa_table).where(fk.parent.in_(parents)))
    session.expire_all()
    return counts


# --- mailboxes --------------------------------------------------------------------------------
@click.group()
def mailboxes() -> None:
    """The mailboxes watched per tenant: list, add or remove."""


def _mailbox_table(boxes: list[Mailbox], names: dict[int, str] | None) -> str:
    rows = []
    for m in boxes:
        status = m.status if m.enabled else "removed"
        row = [
            m.address,
            "shared" if m.shared else "own",
            status,
            when(m.last_success_at),
            safe(m.last_error or m.status_reason, 60) or "-",
            str(m.messages_seen),
            str(m.detections_count),
        ]
        if names is not None:
            row.insert(0, safe(names.get(m.tenant_id, "?"), 30))
        rows.append(row)
    headers = ["ADDRESS", "KIND", "STATUS", "LAST SUCCESS", "LAST ERROR", "SEEN", "DETECTIONS"]
    return table(rows, (["TENANT"] if names is not None else []) + headers)


@mailboxes.command("list")
@click.option("--tenant", "tenant_name", metavar="NAME", help="Only this tenant's mailboxes.")
@pass_app
def mailboxes_list(app: App, tenant_name: str | None) -> None:
    """Mailboxes with their scan state: status, last success, last error, messages seen, detections."""
    with session_scope(app.engine) as session:
        query = select(Mailbox).order_by(Mailbox.tenant_id, Mailbox.address)
        if tenant_name:
            query = query.where(Mailbox.tenant_id == find_tenant(session, tenant_name).id)
        boxes = list(session.exec(query).all())
        names = None if tenant_name else {t.id or 0: t.name for t in session.exec(select(Tenant)).all()}
    if not boxes:
        click.echo("No mailboxes yet: `outreach-monitor connect` adds the signed-in user's own.")
        return
    click.echo(_mailbox_table(boxes, names))


@mailboxes.command("add")
@click.option("--tenant", "tenant_name", metavar="NAME", required=True)
@click.argument("addresses", nargs=-1, required=True)
@pass_app
def mailboxes_add(app: App, tenant_name: str, addresses: tuple[str, ...]) -> None:
    """Watch more mailboxes of a tenant, checking each can be read (or check them again)."""
    from monitor.auth import TokenProvider

    wanted = list(dict.fromkeys(normalise_address(a) for a in addresses))
    with session_scope(app.engine) as session:
        tenant = find_tenant(session, tenant_name)
    if tenant.status not in ("active", "paused"):
        raise ReconnectNeeded(f"{tenant.name!r} is {tenant.status}: run `{reconnect_command(tenant.name)}` first")
    shared = any(a != tenant.username for a in wanted)
    token = TokenProvider(app.settings, app.engine).token_for(tenant.id or 0, shared=shared)
    probes = probe_all(app, token, tenant.username, wanted)
    with session_scope(app.engine) as session:
        tenant = find_tenant(session, tenant_name)
        existing = {m.address: m for m in session.exec(select(Mailbox).where(Mailbox.tenant_id == tenant.id)).all()}
        for probe in probes:
            _apply_probe(session, tenant, probe, existing.get(probe.address))
        session.add(tenant)
    click.echo(f"{tenant.name}:")
    failed = _print_probes(probes, tenant.name)
    if failed:
        raise MailboxUnreadable(f"{failed} of {len(probes)} mailbox(es) could not be added (see above)")


@mailboxes.command("remove")
@click.option("--tenant", "tenant_name", metavar="NAME", required=True)
@click.argument("addresses", nargs=-1, required=True)
@click.option("--purge", is_flag=True, help="Also delete its detections, alerts and sync state.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before purging.")
@pass_app
def mailboxes_remove(app: App, tenant_name: str, addresses: tuple[str, ...], purge: bool, yes: bool) -> None:
    """Stop watching mailboxes; their detections stay in the log unless --purge."""
    wanted = [normalise_address(a) for a in addresses]
    with session_scope(app.engine) as session:
        tenant = find_tenant(session, tenant_name)
        found = {m.address: m for m in session.exec(select(Mailbox).where(Mailbox.tenant_id == tenant.id)).all()}
    missing = [a for a in wanted if a not in found]
    if missing:
        raise InputError(f"{tenant.name!r} has no mailbox {', '.join(missing)}: see `outreach-monitor mailboxes list`")
    if purge and not yes:
        click.confirm(f"Delete {', '.join(wanted)} with their detections and alerts? This cannot be undone", abort=True)
    with session_scope(app.engine) as session:
        ids = {found[a].id or 0 for a in wanted}
        if purge:
            purge_rows(session, "mailbox", ids)
        else:
            for mailbox in session.exec(select(Mailbox).where(Mailbox.id.in_(ids))).all():  # type: ignore[union-attr]
                mailbox.enabled = False
                session.add(mailbox)
    verb = "Deleted" if purge else "Stopped watching"
    click.echo(f"{verb} {', '.join(wanted)} ({tenant.name}).")


COMMANDS = [connect, tenants, mailboxes]
