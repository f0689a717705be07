"""Leases on the database: one scanner per mailbox at a time, released only by its holder,
row locks on PostgreSQL, and the outbox's flush lease freed when its holder died."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy.dialects import postgresql
from sqlmodel import Session, select

from monitor.db import session_scope
from monitor.leases import claim, claim_statement, reclaim, release
from monitor.models import Mailbox, WorkerState, utcnow


def mailboxes(engine) -> dict[str, Mailbox]:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return {m.address: m for m in session.exec(select(Mailbox)).all()}


def test_a_mailbox_is_leased_to_one_worker_at_a_time_and_released_by_it(worker_db) -> None:  # type: ignore[no-untyped-def]
    settings, engine = worker_db
    now = utcnow() + timedelta(seconds=1)
    # Eight workers claim at once: every due mailbox of an active tenant goes to exactly one.
    with ThreadPoolExecutor(8) as pool:
        claimed = list(
            pool.map(lambda i: claim(engine, f"w{i}", now=now, lease_seconds=60, limit=4), range(8))
        )
    ids = [c.mailbox_id for claims in claimed for c in claims]
    boxes = mailboxes(engine)
    assert sorted(ids) == sorted(m.id for m in boxes.values() if m.address.startswith("m"))
    assert boxes["off@active.example"].lease_owner == "" and boxes["p@paused.example"].lease_owner == ""
    # Leased: nobody else gets them, not even by id, until the lease runs out.
    assert claim(engine, "late", now=now, lease_seconds=60, limit=100) == []
    assert claim(engine, "late", now=now, lease_seconds=60, limit=5, mailbox_ids=ids[:5]) == []
    assert len(claim(engine, "late", now=now + timedelta(seconds=61), lease_seconds=60, limit=100)) == 20
    # The first owners' release is ignored now: the leases are someone else's.
    first = claimed[0][0]
    release(engine, "w0", [(first.mailbox_id, now + timedelta(seconds=60), "set")])
    box = next(m for m in mailboxes(engine).values() if m.id == first.mailbox_id)
    assert box.lease_owner == "late" and box.next_poll_at <= now
    # The holder's release ends the lease and schedules the next poll; "later" keeps a later time.
    release(engine, "late", [(first.mailbox_id, now + timedelta(seconds=60), "set")])
    release(engine, "late", [(ids[1], now + timedelta(seconds=5), "later")])
    boxes = {m.id: m for m in mailboxes(engine).values()}
    assert boxes[first.mailbox_id].lease_until is None
    assert boxes[first.mailbox_id].next_poll_at == now + timedelta(seconds=60)
    assert boxes[ids[1]].next_poll_at == now + timedelta(seconds=5)
    # Half a minute on, the others still leased: only the one due again is claimed.
    again = claim(engine, "next", now=now + timedelta(seconds=30), lease_seconds=60, limit=100)
    assert [c.mailbox_id for c in again] == [ids[1]]


def test_claims_lock_rows_with_skip_locked_on_postgresql() -> None:
    sql = str(
        claim_statement("postgresql", "w", now=utcnow(), lease_seconds=60, limit=10).compile(
            dialect=postgresql.dialect()
        )
    )
    assert "FOR UPDATE OF mailbox SKIP LOCKED" in sql and "RETURNING mailbox.id" in sql
    assert "FOR UPDATE" not in str(claim_statement("sqlite", "w", now=utcnow(), lease_seconds=60, limit=10))


def test_the_flush_lease_of_a_dead_process_is_freed_and_a_live_ones_kept(worker_db) -> None:  # type: ignore[no-untyped-def]
    import os
    import socket
    import subprocess

    from alerts.outbox import FLUSH_LEASE
    from monitor.models import Lease

    settings, engine = worker_db
    now = utcnow()
    gone = subprocess.Popen(["true"])
    gone.wait()

    def hold(holder: str) -> None:
        with session_scope(engine) as session:
            lease = session.get(Lease, FLUSH_LEASE) or Lease(name=FLUSH_LEASE)
            lease.holder, lease.until = holder, now + timedelta(minutes=10)
            session.add(lease)

    def held() -> bool:
        with Session(engine) as session:
            lease = session.get(Lease, FLUSH_LEASE)
            return lease is not None and lease.until is not None

    here = socket.gethostname()
    hold(f"{here}:{os.getpid()}:1:abc")  # this very process: alive
    assert reclaim(engine, FLUSH_LEASE, now) is False and held()
    hold(f"{here}:{gone.pid}:1:abc")  # killed while flushing
    assert reclaim(engine, FLUSH_LEASE, now) is True and not held()
    hold("elsewhere:4242:1:abc")  # another machine, no worker known there: wait for the lease
    assert reclaim(engine, FLUSH_LEASE, now) is False and held()
    with session_scope(engine) as session:
        session.add(WorkerState(id="elsewhere:4242:beef", heartbeat_at=now - timedelta(minutes=5)))
    assert reclaim(engine, FLUSH_LEASE, now) is True and not held()  # its worker stopped beating
