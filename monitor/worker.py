"""The worker: one long-lived process that keeps every connected mailbox scanned, alerts flowing
and tenant health watched.

The database is the source of truth; APScheduler 3 (a ``BlockingScheduler`` with the in-memory
job store) only drives four jobs, each with ``max_instances=1`` and ``coalesce=True``, and with one
executor thread per job, so no run ever waits for a thread and ``misfire_grace_time`` only matters
when the whole process stalled (suspend, a stop-the-world pause):

- **dispatch**, every ``[worker] dispatch_interval_seconds``: leases as many due mailboxes as the
  scan pool can start now (:func:`claim`: ``next_poll_at <= now`` and no live lease; ``FOR UPDATE
  SKIP LOCKED`` on PostgreSQL, a conditional UPDATE on SQLite where there is one writer anyway),
  groups them by tenant into batches of ``batch_size`` (so a Graph ``$batch`` spans mailboxes) and
  hands each batch to a pool of ``pool_size`` threads. After each scan the lease is released and
  ``next_poll_at`` set one poll interval (give or take half the jitter) after the poll was due,
  the same time for all of a tenant's mailboxes so they stay in one ``$batch``. A lease outlives a crash by at most ``lease_seconds``: then another process (or the restarted
  one) scans the mailbox again, which the scanner's exactly-once writes make harmless; leases of
  scans still running are renewed, so a slow first sync is never scanned twice at once.
- **flush**, every ``flush_interval_seconds`` and as soon as a scan queued alerts: delivers the
  outbox through one sink kept for the life of the worker (it holds per-channel send rates).
  The outbox's own lease keeps flushes of several processes apart; the lease of a process that
  died while flushing is freed (:func:`monitor.leases.reclaim`) rather than waited out.
- **token-check**, every ``token_check_minutes``: refreshes each active tenant's sign-in, so a
  revoked consent or lapsed refresh token raises its tenant-health alert even in a quiet tenant.
- **clean-up**, daily: deletes detections and delivered alerts older than ``retention_days``.

SIGINT/SIGTERM: stop claiming, give scans in flight ``stop_grace_seconds`` to finish, release the
leases of those that did not (they are due again at once on the next start), flush one last
time, return. A second signal skips the waiting.

Logs are ``key=value`` lines: one per dispatch cycle (claimed, scanned, messages, detections,
alerts, errors, duration) and one per alert delivered. They carry ids, counts and names of
tenants, never message subjects or bodies, tokens or SQL parameters.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import secrets
import signal
import socket
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobSubmissionEvent
from apscheduler.executors.pool import ThreadPoolExecutor as JobExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers import SchedulerNotRunningError
from apscheduler.schedulers.base import STATE_RUNNING
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from alerts.outbox import FLUSH_LEASE, FlushReport, Sink, clean, flush, make_sink
from detectors.verdict import LABELS
from monitor.auth import TokenProvider
from monitor.config import Settings
from monitor.db import session_scope
from monitor.errors import OutreachMonitorError, ReconnectNeeded
from monitor.leases import Claim, claim, reclaim, release, renew
from monitor.models import Alert, Mailbox, Tenant, WorkerState, utcnow
from monitor.retention import clean_up
from monitor.scanner import Scanner, ScanResult, provider_tokens

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 10.0
CLEANUP_FIRST_DELAY = timedelta(minutes=5)  # not at the very start: restarts should be quick
FLUSH_ROUNDS = 5  # flushes back to back while scans keep queueing alerts


# --- log lines ---------------------------------------------------------------------------------
def fields(**values: Any) -> str:
    """``key=value`` pairs; text is cleaned of control characters and quoted when it needs to be."""
    parts = []
    for key, value in values.items():
        if value is None:
            continue  # not applicable to this line
        if isinstance(value, float):
            text = f"{value:.3f}".rstrip("0").rstrip(".") if value else "0"
        else:
            text = clean(value)[:200] if value is not None else ""
        if not text or any(c in text for c in ' "=\\'):
            text = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
        parts.append(f"{key}={text}")
    return " ".join(parts)


def describe(exc: BaseException) -> str:
    """An exception in one line without what it may carry from the data: a database error is
    named by its driver's message (never the statement's parameters, which hold mail text)."""
    if isinstance(exc, SQLAlchemyError):
        orig = getattr(exc, "orig", None)
        detail = f"{type(orig).__name__}: {orig}" if orig is not None else type(exc).__name__
        return f"database {detail}"[:300]
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first}"[:300] if first else type(exc).__name__


# --- the worker --------------------------------------------------------------------------------
@dataclass
class CycleFigures:
    claimed: int = 0
    scanned: int = 0
    skipped: int = 0
    errors: int = 0
    messages: int = 0
    detections: int = 0
    alerts: int = 0

    def add(self, results: Sequence[ScanResult]) -> None:
        for result in results:
            if result.status == "ok":
                self.scanned += 1
            elif result.status == "skipped":
                self.skipped += 1
            else:
                self.errors += 1
            self.messages += result.messages
            self.detections += result.detections
            self.alerts += result.alerts


@dataclass
class _Cycle:
    number: int
    started: float  # monotonic
    batches: int
    figures: CycleFigures = field(default_factory=CycleFigures)


@dataclass
class _Batch:
    cycle: _Cycle
    claims: list[Claim]
    started_at: datetime
    renewed: float  # monotonic
    abandoned: bool = False


class Worker:
    """The scheduler and its jobs. :meth:`run` blocks; :meth:`stop` (any thread) ends it."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        *,
        sink: Sink | None = None,
        provider: TokenProvider | None = None,
        scanner: Scanner | None = None,
        owner: str | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.config = settings.worker
        self.provider = provider or TokenProvider(settings, engine)
        self.scanner = scanner or Scanner(settings, engine, provider_tokens(self.provider),
                                          max_workers=settings.graph.max_concurrency)
        self._sink = sink
        self.owner = owner or f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(3)}"
        self.now = clock
        self._pool = ThreadPoolExecutor(max_workers=self.config.pool_size, thread_name_prefix="scan")
        # Re-entrant: a signal handler (main thread) may call stop() while run() holds it.
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._inflight: list[_Batch] = []
        self._cycles = 0
        self._stopping = threading.Event()
        self._hurry = threading.Event()
        self._dispatching = threading.Lock()
        self._flush_lock = threading.Lock()
        self._flush_wanted = threading.Event()
        self._jobs_running = 0
        self._scheduler: BlockingScheduler | None = None
        self._beat = 0.0
        self._backlog = False
        self._skipped_runs = 0

    @property
    def sink(self) -> Sink:
        if self._sink is None:
            self._sink = make_sink(self.settings)
        return self._sink

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    # --- dispatch ------------------------------------------------------------------------------
    def dispatch(self) -> int:
        """One tick: lease what the pool can start now and start it; returns how many were leased."""
        if self._stopping.is_set():
            self._shutdown_scheduler()
            return 0
        with self._dispatching:
            if self._stopping.is_set():
                return 0
            self._renew_leases()
            self._heartbeat()
            if self._flush_wanted.is_set() and not self._flush_lock.locked():
                self.kick_flush()  # a kick that found the flush busy and was skipped
            with self._lock:
                free = self.config.pool_size - len(self._inflight)
            if free <= 0:
                return 0
            limit = free * self.config.batch_size
            claims = claim(self.engine, self.owner, now=self.now(), lease_seconds=self.config.lease_seconds,
                           limit=limit)
            # A full claim means more is due (start-up, a backlog): claim again as soon as a batch ends.
            self._backlog = len(claims) >= limit
            if not claims:
                return 0
            groups = self._split(claims, free)
            with self._lock:
                self._cycles += 1
                cycle = _Cycle(self._cycles, time.monotonic(), len(groups))
                cycle.figures.claimed = len(claims)
                batches = [_Batch(cycle, group, self.now(), time.monotonic()) for group in groups]
                self._inflight.extend(batches)
            for batch in batches:
                self._pool.submit(self._scan_batch, batch)
            return len(claims)

    def _split(self, claims: list[Claim], parts: int) -> list[list[Claim]]:
        """About ``parts`` batches of at most batch_size mailboxes, a tenant's kept together where
        it fits (its mailboxes share a token, so they share $batch requests)."""
        limit = self.config.batch_size
        size = min(limit, -(-len(claims) // max(1, parts)))
        tenants: dict[int, list[Claim]] = {}
        for item in sorted(claims, key=lambda c: (c.tenant_id, c.due_at, c.mailbox_id)):
            tenants.setdefault(item.tenant_id, []).append(item)
        batches: list[list[Claim]] = [[]]
        for group in tenants.values():
            for start in range(0, len(group), limit):
                piece = group[start:start + limit]
                if batches[-1] and len(batches[-1]) + len(piece) > size:
                    batches.append([])
                batches[-1].extend(piece)
        return [b for b in batches if b]

    def _scan_batch(self, batch: _Batch) -> None:
        results = self._scan([c.mailbox_id for c in batch.claims])
        done = self._next_polls(batch.claims, results, batch.started_at)
        with self._lock:
            abandoned = batch.abandoned
        if not abandoned:
            try:
                release(self.engine, self.owner, done)
            except SQLAlchemyError as exc:
                log.error("cannot release leases: %s (they expire after %g s)", describe(exc),
                          self.config.lease_seconds)
        with self._changed:
            if batch in self._inflight:
                self._inflight.remove(batch)
            cycle = batch.cycle
            cycle.figures.add(results)
            cycle.batches -= 1
            finished = cycle.batches == 0
            self._changed.notify_all()
        if finished:
            self._end_cycle(cycle)
        if any(r.alerts for r in results):
            self.kick_flush()
        if self._backlog:
            self._wake("dispatch")

    def _scan(self, ids: list[int]) -> list[ScanResult]:
        try:
            return self.scanner.scan_mailboxes(ids)
        except Exception as exc:  # one batch's failure must not take the worker down
            log.error("scan of %d mailbox(es) failed: %s", len(ids), describe(exc))
            log.debug("scan failure", exc_info=True)
            return [ScanResult(mailbox_id=i, status="error", error=describe(exc)) for i in ids]

    def _next_polls(self, claims: Sequence[Claim], results: Sequence[ScanResult],
                    started: datetime) -> list[tuple[int, datetime | None, str]]:
        """When each mailbox is polled next. A tenant's mailboxes share one time: they stay in
        phase, so their next poll is again one $batch rather than one request each."""
        now = self.now()
        due: dict[int, datetime] = {}
        for item in claims:
            due[item.tenant_id] = min(due.get(item.tenant_id, item.due_at), item.due_at)
        when = {tenant: self.next_poll(due_at, started, now) for tenant, due_at in due.items()}
        done: list[tuple[int, datetime | None, str]] = []
        for item, result in zip(claims, results, strict=True):
            if result.status == "unreadable":
                done.append((item.mailbox_id, None, "keep"))  # the scanner set its back-off
            else:
                done.append((item.mailbox_id, when[item.tenant_id], "later" if result.status == "skipped" else "set"))
        return done

    def next_poll(self, due_at: datetime, started: datetime, now: datetime) -> datetime:
        """One interval after the poll was due, give or take half the jitter: the cadence does not
        drift by the dispatcher's tick or the scan's length. When the scan started well after it
        was due (start-up, after an outage, a first sync), the next poll is placed at random within
        one interval instead, so a backlog spreads out rather than staying bunched."""
        interval = self.config.poll_interval_seconds
        overdue = (started - due_at).total_seconds()
        if overdue > max(interval / 4, 2 * self.config.dispatch_interval_seconds):
            at = started + timedelta(seconds=random.uniform(0, interval))
        else:
            half = self.config.poll_jitter_seconds / 2
            at = due_at + timedelta(seconds=interval + random.uniform(-half, half))
        return max(at, now)

    def _renew_leases(self) -> None:
        """Scans running for a third of the lease get it extended: no second scan while one runs."""
        threshold = self.config.lease_seconds / 3
        with self._lock:
            due = [b for b in self._inflight if time.monotonic() - b.renewed > threshold]
            for batch in due:
                batch.renewed = time.monotonic()
        if due:
            ids = [c.mailbox_id for b in due for c in b.claims]
            try:
                renew(self.engine, self.owner, ids, self.now() + timedelta(seconds=self.config.lease_seconds))
            except SQLAlchemyError as exc:
                log.warning("cannot renew leases: %s", describe(exc))

    def _end_cycle(self, cycle: _Cycle) -> None:
        figures = cycle.figures
        duration = time.monotonic() - cycle.started
        log.info("cycle %s", fields(n=cycle.number, **asdict(figures), duration_s=round(duration, 3)))
        summary = json.dumps({**asdict(figures), "number": cycle.number, "duration_s": round(duration, 3)})
        now = self.now()
        table = WorkerState.__table__  # type: ignore[attr-defined]
        self._state(cycles=table.c.cycles + 1, last_cycle_at=now, last_cycle=summary, heartbeat_at=now)

    # --- flush ---------------------------------------------------------------------------------
    def kick_flush(self) -> None:
        """Deliver soon: wakes the flush job now instead of at its next interval."""
        self._flush_wanted.set()
        self._wake("flush")

    def _wake(self, job_id: str) -> None:
        """Runs a job now instead of at its next interval (a no-op while it is running)."""
        scheduler = self._scheduler
        if scheduler is None or scheduler.state != STATE_RUNNING or self._stopping.is_set():
            return
        try:
            scheduler.modify_job(job_id, next_run_time=datetime.now(UTC))
        except Exception:  # the scheduler is stopping meanwhile: nothing to wake
            log.debug("could not wake the %s job", job_id, exc_info=True)

    def flush_outbox(self) -> FlushReport | None:
        """Deliver the outbox; None when another flush is running (it will pick the rows up)."""
        if not self._flush_lock.acquire(blocking=False):
            self._flush_wanted.set()
            return None
        try:
            return self._flush_rounds()
        finally:
            self._flush_lock.release()

    def _flush_rounds(self) -> FlushReport:
        total = FlushReport()
        for _ in range(FLUSH_ROUNDS):
            self._flush_wanted.clear()
            now = self.now()
            report = flush(self.engine, self.settings, self.sink, now=now)
            if report.busy:
                # Another process is flushing (it delivers these too), or one died while flushing.
                reclaim(self.engine, FLUSH_LEASE, now)
                total.busy = True
                break
            self._log_delivered(now)
            for name in ("sent", "updated", "retried", "dead", "silenced"):
                setattr(total, name, getattr(total, name) + getattr(report, name))
            total.problems += report.problems
            if not self._flush_wanted.is_set():
                break
        if total.sent or total.updated or total.retried or total.dead or total.silenced:
            log.info("flush %s", fields(sent=total.sent, updated=total.updated, retried=total.retried,
                                        dead=total.dead, silenced=total.silenced))
        self._state(last_flush_at=self.now())
        return total

    def _log_delivered(self, now: datetime) -> None:
        try:
            with session_scope(self.engine) as session:
                rows = session.exec(
                    select(Alert, Tenant.name).outerjoin(Tenant, Tenant.id == Alert.tenant_id)  # type: ignore[arg-type]
                    .where(Alert.sent_at == now, Alert.state == "sent").order_by(Alert.id)  # type: ignore[arg-type]
                ).all()
        except SQLAlchemyError as exc:
            log.warning("cannot list delivered alerts: %s", describe(exc))
            return
        for alert, tenant in rows:
            try:
                payload = json.loads(alert.payload)
            except ValueError:
                payload = {}
            label = payload.get("label") if isinstance(payload, dict) else None
            event = payload.get("event") if isinstance(payload, dict) else None
            log.info("alert delivered %s", fields(
                alert=alert.id, kind=alert.kind, tenant=tenant, detection=alert.detection_id,
                label=label if label in LABELS else None,
                event=event if event in ("needs_reconnect", "reconnected") else None,
                channel=alert.channel, ts=alert.ts, thread=alert.thread_ts or None,
                waited_s=round((now - alert.created_at).total_seconds(), 3),
            ))

    # --- token health --------------------------------------------------------------------------
    def check_tokens(self) -> tuple[int, int]:
        """Refresh every active tenant's sign-in; returns (working, failing)."""
        with session_scope(self.engine) as session:
            tenants = session.exec(
                select(Tenant.id, Tenant.name).where(Tenant.status == "active").order_by(Tenant.id)  # type: ignore[arg-type]
            ).all()
        working = failing = 0
        for tenant_id, name in tenants:
            if self._stopping.is_set():
                break
            try:
                self.provider.access_token(tenant_id, force_refresh=True)
                working += 1
            except ReconnectNeeded:
                failing += 1  # marked needs_reconnect with one alert; the provider logged why
                log.warning("token check %s", fields(tenant=name, status="needs_reconnect"))
            except OutreachMonitorError as exc:
                failing += 1
                log.warning("token check %s", fields(tenant=name, status="error", error=describe(exc)))
        if failing:
            self.kick_flush()
        log.info("token check %s", fields(tenants=len(tenants), working=working, failing=failing))
        return working, failing

    # --- retention -----------------------------------------------------------------------------
    def clean_up(self, now: datetime | None = None) -> dict[str, int]:
        """The daily clean-up (:func:`monitor.retention.clean_up`), logged in one line."""
        counts = clean_up(self.engine, self.config.retention_days, now or self.now(), keep_worker=self.owner,
                          stopping=self._stopping.is_set)
        log.info("clean-up %s", fields(retention_days=self.config.retention_days, **counts))
        return counts

    # --- a manual pass -------------------------------------------------------------------------
    def scan_once(
        self, mailbox_ids: Sequence[int], progress: Callable[[int], None] | None = None
    ) -> tuple[list[ScanResult], list[int]]:
        """Scan these mailboxes now, due or not, in batches. Returns the results and the ids left
        out because another process is scanning them (or their tenant is not active)."""
        claims = claim(self.engine, self.owner, now=self.now(), lease_seconds=self.config.lease_seconds,
                       limit=len(mailbox_ids), mailbox_ids=mailbox_ids)
        busy = sorted(set(mailbox_ids) - {c.mailbox_id for c in claims})
        results: list[ScanResult] = []
        pending = {c.mailbox_id for c in claims}
        try:
            for group in self._split(claims, len(claims)) if claims else []:
                started = self.now()
                found = self._scan([c.mailbox_id for c in group])
                release(self.engine, self.owner, self._next_polls(group, found, started))
                pending -= {c.mailbox_id for c in group}
                results.extend(found)
                if progress:
                    progress(len(group))
        finally:
            # Interrupted: what was not scanned is due again at once.
            release(self.engine, self.owner, [(i, None, "keep") for i in sorted(pending)])
        return results, busy

    # --- running -------------------------------------------------------------------------------
    def run(self) -> bool:
        """Runs the jobs until :meth:`stop` or SIGINT/SIGTERM (signals only when called from the
        main thread). True when everything in flight finished; False when some scan or the final
        flush was still running at the end of the grace period (a caller that exits the process
        should then do so at once: the leases are already released)."""
        config = self.config
        _quiet_apscheduler()
        scheduler = BlockingScheduler(
            jobstores={"default": MemoryJobStore()},
            executors={"default": JobExecutor(4)},  # one thread per job: no run waits for a thread
            job_defaults={"coalesce": True, "max_instances": 1},
            timezone=UTC,
        )
        now = datetime.now(UTC)
        poll = max(30, int(config.poll_interval_seconds))
        # A run that is late by more than its grace is skipped; coalesce turns a backlog of missed
        # runs into one. The frequent jobs may be a poll interval late and still be worth running.
        scheduler.add_job(self._job(self.dispatch), IntervalTrigger(seconds=config.dispatch_interval_seconds),
                          id="dispatch", name="dispatch", next_run_time=now, misfire_grace_time=poll)
        scheduler.add_job(self._job(self.flush_outbox), IntervalTrigger(seconds=config.flush_interval_seconds),
                          id="flush", name="flush", next_run_time=now, misfire_grace_time=poll)
        token_interval = config.token_check_minutes * 60
        scheduler.add_job(self._job(self.check_tokens), IntervalTrigger(seconds=token_interval),
                          id="token-check", name="token-check",
                          next_run_time=now + timedelta(seconds=token_interval),
                          misfire_grace_time=max(poll, int(token_interval)))
        scheduler.add_job(self._job(self.clean_up), IntervalTrigger(days=1), id="clean-up", name="clean-up",
                          next_run_time=now + CLEANUP_FIRST_DELAY, misfire_grace_time=6 * 3600)
        scheduler.add_listener(self._on_event, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)

        previous: dict[int, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                previous[signum] = signal.signal(signum, self._on_signal)
        self._scheduler = scheduler
        try:
            self._started()
            if not self._stopping.is_set():
                scheduler.start()  # blocks until stop()
        finally:
            try:
                clean_exit = self._drain()
            finally:
                for signum, handler in previous.items():
                    signal.signal(signum, handler)
        return clean_exit

    def stop(self) -> None:
        """Stop claiming and end :meth:`run` (which then drains). Safe from any thread."""
        self._stopping.set()
        self._shutdown_scheduler()
        with self._changed:
            self._changed.notify_all()

    def _shutdown_scheduler(self) -> None:
        scheduler = self._scheduler
        if scheduler is not None and scheduler.state == STATE_RUNNING:
            with contextlib.suppress(SchedulerNotRunningError):  # stopped by another thread meanwhile
                scheduler.shutdown(wait=False)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self._stopping.is_set():
            self._hurry.set()
            with self._changed:
                self._changed.notify_all()
            log.info("%s again: not waiting for scans in flight", name)
            return
        log.info("%s: stopping (no new scans; finishing those in flight)", name)
        self.stop()

    def _job(self, fn: Callable[[], Any]) -> Callable[[], None]:
        """A job body that counts itself running and logs a failure in one safe line."""

        def job() -> None:
            with self._lock:
                self._jobs_running += 1
            try:
                fn()
            except Exception as exc:
                log.error("job %s failed: %s", fn.__name__, describe(exc))
                log.debug("job failure", exc_info=True)
            finally:
                with self._changed:
                    self._jobs_running -= 1
                    self._changed.notify_all()

        job.__name__ = fn.__name__
        return job

    def _on_event(self, event: JobSubmissionEvent) -> None:
        if event.code == EVENT_JOB_MAX_INSTANCES:
            # The previous run is still going (a long flush): expected, and it picks the work up.
            self._skipped_runs += 1
            log.debug("job %s still running; this run skipped", event.job_id)
        else:
            log.warning("job %s missed its run (the process was stalled); it runs at its next time", event.job_id)

    def _drain(self) -> bool:
        self._stopping.set()
        grace = self.config.stop_grace_seconds
        deadline = time.monotonic() + grace
        if self._dispatching.acquire(timeout=max(grace, 1.0)):  # a claim in progress completes first
            self._dispatching.release()
        with self._changed:
            while (self._inflight or self._jobs_running) and not self._hurry.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(min(left, 0.2))
            abandoned = list(self._inflight)
            for batch in abandoned:
                batch.abandoned = True
            jobs_running = self._jobs_running
        if abandoned:
            ids = [c.mailbox_id for b in abandoned for c in b.claims]
            log.warning("stopping: %d scan(s) still running after %g s; their %d mailbox(es) are released "
                        "and due again at the next start", len(abandoned), grace, len(ids))
            try:
                release(self.engine, self.owner, [(i, None, "keep") for i in ids])
            except SQLAlchemyError as exc:
                log.error("cannot release leases: %s (they expire after %g s)", describe(exc),
                          self.config.lease_seconds)
        flusher = threading.Thread(target=self._final_flush, args=(max(grace, 1.0),), name="final-flush",
                                   daemon=True)
        flusher.start()
        flusher.join(max(grace, 1.0) * 2 + 5)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._state(stopped_at=self.now())
        log.info("worker stopped %s", fields(owner=self.owner, cycles=self._cycles,
                                             abandoned_scans=len(abandoned)))
        return not abandoned and not flusher.is_alive() and not jobs_running

    def _final_flush(self, wait: float) -> None:
        if not self._flush_lock.acquire(timeout=wait):
            log.warning("stopping: a flush is still running; its alerts stay in the outbox for the next start")
            return
        try:
            self._flush_rounds()
        except Exception as exc:
            log.error("final flush failed: %s (alerts stay in the outbox)", describe(exc))
        finally:
            self._flush_lock.release()

    # --- what `status` shows -------------------------------------------------------------------
    def _started(self) -> None:
        now = self.now()
        try:
            with session_scope(self.engine) as session:
                session.add(WorkerState(id=self.owner, host=socket.gethostname()[:200], pid=os.getpid(),
                                        started_at=now, heartbeat_at=now))
        except SQLAlchemyError as exc:
            log.warning("cannot record the worker's start: %s", describe(exc))
        reclaim(self.engine, FLUSH_LEASE, now)  # e.g. this worker's previous run, killed while flushing
        self._beat = time.monotonic()
        with session_scope(self.engine) as session:
            tenants = len(session.exec(select(Tenant.id).where(Tenant.status == "active")).all())  # type: ignore[arg-type]
            mailboxes = len(session.exec(
                select(Mailbox.id).join(Tenant, Tenant.id == Mailbox.tenant_id)  # type: ignore[arg-type]
                .where(Tenant.status == "active", Mailbox.enabled)  # type: ignore[arg-type]
            ).all())
        sink = type(self.sink).__name__.removesuffix("Sink").lower()
        log.info("worker started %s", fields(owner=self.owner, tenants=tenants, mailboxes=mailboxes,
                                             poll_s=self.config.poll_interval_seconds, pool=self.config.pool_size,
                                             sink=sink))

    def _heartbeat(self) -> None:
        if time.monotonic() - self._beat >= HEARTBEAT_SECONDS:
            self._beat = time.monotonic()
            self._state(heartbeat_at=self.now())

    def _state(self, **values: Any) -> None:
        table = WorkerState.__table__  # type: ignore[attr-defined]
        try:
            with self.engine.begin() as connection:
                connection.execute(update(table).where(table.c.id == self.owner).values(**values))
        except SQLAlchemyError as exc:
            log.warning("cannot record the worker's state: %s", describe(exc))


def _quiet_apscheduler() -> None:
    """APScheduler logs every run at INFO; our own lines say what matters."""
    logger = logging.getLogger("apscheduler")
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        logger.setLevel(logging.WARNING)
    if not any(isinstance(f, _SkipFilter) for f in logging.getLogger("apscheduler.scheduler").filters):
        logging.getLogger("apscheduler.scheduler").addFilter(_SkipFilter())


class _SkipFilter(logging.Filter):
    """Drops "skipped: maximum number of running instances reached": with max_instances=1 that is
    the intended outcome (counted by the worker, logged at DEBUG)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances" not in str(record.msg)
