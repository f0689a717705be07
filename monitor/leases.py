"""Leases: which process scans which mailbox, and who flushes the outbox.

A mailbox is claimed by setting ``lease_until``/``lease_owner`` in one conditional UPDATE on the
due, unleased mailboxes of active tenants (:func:`claim`). On PostgreSQL the rows are picked with
``SELECT ... FOR UPDATE SKIP LOCKED``, so several worker processes claim disjoint sets without
waiting on each other; on SQLite the one writer makes the statement atomic. The claim is its own
proof: the rows it returns are the caller's until it releases them (:func:`release`, only while
it still holds them) or the lease runs out, after which anyone may scan them again, which the
scanner's exactly-once writes make harmless. :func:`renew` extends the leases of long scans.

Named leases (:func:`take`, :func:`drop`) keep work that must run once at a time across
processes, such as the outbox flush; their holder is :func:`holder_id` ("host:pid:..."). A
process killed while holding one would keep it until it runs out: :func:`reclaim` frees it once
its holder is known to be dead.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from monitor.db import session_scope
from monitor.models import Lease, Mailbox, Tenant, WorkerState

log = logging.getLogger(__name__)

STALE_WORKER_SECONDS = 60.0  # a worker that has not beaten for this long is dead (or hung)


@dataclass(frozen=True)
class Claim:
    """A leased mailbox and when it had been due (to tell a backlog from a regular poll)."""

    mailbox_id: int
    tenant_id: int
    due_at: datetime


def claim(
    engine: Engine,
    owner: str,
    *,
    now: datetime,
    lease_seconds: float,
    limit: int,
    mailbox_ids: Sequence[int] | None = None,
) -> list[Claim]:
    """Lease up to ``limit`` due mailboxes of active tenants (or, with ``mailbox_ids``, those
    mailboxes, due or not); none that another scan holds. One statement, so two workers never
    lease the same mailbox: the claim is its own proof."""
    if limit <= 0:
        return []
    statement = claim_statement(engine.dialect.name, owner, now=now, lease_seconds=lease_seconds, limit=limit,
                                mailbox_ids=mailbox_ids)
    with engine.begin() as connection:
        rows = connection.execute(statement).all()
    return [Claim(int(r[0]), int(r[1]), r[2]) for r in rows]


def claim_statement(
    dialect: str,
    owner: str,
    *,
    now: datetime,
    lease_seconds: float,
    limit: int,
    mailbox_ids: Sequence[int] | None = None,
) -> Any:
    """``UPDATE mailbox SET lease.. WHERE id IN (SELECT .. due, unleased .. LIMIT k) RETURNING ..``"""
    table, tenants = Mailbox.__table__, Tenant.__table__  # type: ignore[attr-defined]
    free = or_(table.c.lease_until.is_(None), table.c.lease_until < now)
    chosen = table.c.next_poll_at <= now if mailbox_ids is None else table.c.id.in_(list(mailbox_ids))
    pick = (
        select(table.c.id)
        .select_from(table.join(tenants, tenants.c.id == table.c.tenant_id))
        .where(free, chosen, table.c.enabled.is_(True), tenants.c.status == "active")
        .order_by(table.c.next_poll_at, table.c.id)
        .limit(limit)
    )
    if dialect == "postgresql":
        # Several workers: each skips the rows another is claiming instead of queueing behind it.
        pick = pick.with_for_update(of=table, skip_locked=True)
    # The outer condition again: on SQLite the one writer makes the statement atomic anyway, on
    # PostgreSQL it re-checks a row whose lease changed between the snapshot and the lock.
    return (
        update(table)
        .where(table.c.id.in_(pick.scalar_subquery()), free)
        .values(lease_until=now + timedelta(seconds=lease_seconds), lease_owner=owner)
        .returning(table.c.id, table.c.tenant_id, table.c.next_poll_at)
    )


def release(engine: Engine, owner: str, done: Sequence[tuple[int, datetime | None, str]]) -> None:
    """Ends leases this owner still holds. Each entry is (mailbox id, next poll, how): "set"
    schedules the next poll, "later" never moves it earlier (a back-off stays), "keep" leaves it
    (the scanner chose it, or the mailbox is due again at once)."""
    if not done:
        return
    table = Mailbox.__table__  # type: ignore[attr-defined]
    mine = and_(table.c.id == bindparam("b_id"), table.c.lease_owner == bindparam("b_owner"))
    values: dict[str, dict[str, Any]] = {
        "set": {"next_poll_at": bindparam("b_next")},
        "later": {"next_poll_at": case((table.c.next_poll_at > bindparam("b_next"), table.c.next_poll_at),
                                       else_=bindparam("b_next"))},
        "keep": {},
    }
    with engine.begin() as connection:
        for how, extra in values.items():
            rows = [{"b_id": i, "b_owner": owner, **({"b_next": n} if how != "keep" else {})}
                    for i, n, h in done if h == how]
            if rows:
                statement = update(table).where(mine).values(lease_until=None, lease_owner="", **extra)
                connection.execute(statement, rows)


def renew(engine: Engine, owner: str, mailbox_ids: Sequence[int], until: datetime) -> None:
    table = Mailbox.__table__  # type: ignore[attr-defined]
    with engine.begin() as connection:
        connection.execute(
            update(table).where(table.c.id.in_(list(mailbox_ids)), table.c.lease_owner == owner)
            .values(lease_until=until)
        )


def holder_id() -> str:
    """Who holds a named lease: "host:pid:thread:random", so :func:`reclaim` can tell it is gone."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}:{uuid.uuid4().hex[:8]}"


def take(engine: Engine, name: str, holder: str, *, now: datetime, seconds: float) -> bool:
    """Take the lease ``name`` for ``seconds`` unless a live one is held elsewhere."""
    with session_scope(engine) as session:
        if session.get(Lease, name) is None:
            session.add(Lease(name=name))
            try:
                session.flush()
            except IntegrityError:  # created meanwhile by another process
                session.rollback()
    with session_scope(engine) as session:
        taken = session.exec(  # type: ignore[call-overload]
            update(Lease)
            .where(Lease.name == name, or_(Lease.until.is_(None), Lease.until < now))  # type: ignore[arg-type, union-attr]
            .values(holder=holder, until=now + timedelta(seconds=seconds))
        )
        return bool(taken.rowcount)


def drop(engine: Engine, name: str, holder: str) -> None:
    """End the lease ``name`` if ``holder`` still holds it."""
    with session_scope(engine) as session:
        session.exec(  # type: ignore[call-overload]
            update(Lease).where(Lease.name == name, Lease.holder == holder).values(until=None)  # type: ignore[arg-type]
        )


def reclaim(engine: Engine, name: str, now: datetime) -> bool:
    """Frees the lease ``name`` when its holder is dead, so that work does not wait the lease out
    (e.g. the outbox flush after a worker was killed while flushing). Dead: a process of this
    host that no longer exists, or a worker whose heartbeat stopped. True when freed."""
    with session_scope(engine) as session:
        lease = session.get(Lease, name)
        if lease is None or lease.until is None or lease.until < now or not lease.holder:
            return False
        holder = lease.holder
        host, _, rest = holder.partition(":")
        pid = rest.split(":", 1)[0]
        dead = host == socket.gethostname() and pid.isdigit() and not _alive(int(pid))
        if not dead:
            worker = session.exec(
                select(WorkerState).where(WorkerState.id.startswith(f"{host[:60]}:{pid}:"))  # type: ignore[union-attr]
                .order_by(WorkerState.heartbeat_at.desc())  # type: ignore[attr-defined]
            ).first()
            dead = worker is not None and (
                worker[0].stopped_at is not None
                or worker[0].heartbeat_at < now - timedelta(seconds=STALE_WORKER_SECONDS)
            )
        if not dead:
            return False
        freed = session.exec(  # type: ignore[call-overload]
            update(Lease).where(Lease.name == name, Lease.holder == holder)  # type: ignore[arg-type]
            .values(until=None)
        ).rowcount
    if freed:
        log.warning("freed the %s lease of %s, which died holding it", name, holder)
    return bool(freed)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True
