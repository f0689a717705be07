"""Polling thousands of mailboxes through the Graph sandbox: cost of an idle cycle, and exactly-once
processing under throttling and failures.

    .venv/bin/python benchmarks/bench_graph_poll.py [--mailboxes 2000] [--tenants 50] [--latency-ms 50]
                                                     [--cycles 3] [--new-rate 0.05] [--fail-rate 0.10]

World: TENANTS customers, each connected by one user who reads their own mailbox and the others'
(shared), MAILBOXES in all; SQLite (WAL) in a temporary directory; the Graph sandbox on loopback
answering every Graph request (and every inner request of a $batch, 4 at a time) after LATENCY.

1. Idle cycle: every mailbox already synced, no new mail. Target (issue "Graph mail scanning"):
   one cycle in <= 15 s and <= 0.06 HTTP requests per mailbox.
2. Busy cycles: in each, NEW_RATE of the mailboxes receive a message (from the development corpus)
   and FAIL_RATE of Graph requests fail (half 429 with a decimal Retry-After, half 503). Target:
   every injected message classified exactly once and no duplicate detections or alerts.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from detectors.classifier import classify  # noqa: E402
from monitor.config import DatabaseSettings, GraphSettings, Settings  # noqa: E402
from monitor.db import make_engine  # noqa: E402
from monitor.graph import GraphClient  # noqa: E402
from monitor.models import Alert, Detection, Mailbox, Tenant  # noqa: E402
from monitor.sandbox.directory import Directory  # noqa: E402
from monitor.sandbox.graph import GraphSandbox  # noqa: E402
from monitor.scanner import Scanner  # noqa: E402

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "dev"
SCOPES = ["Mail.Read", "Mail.Read.Shared", "User.Read"]


def load_corpus(corpus: Path) -> list[dict[str, Any]]:
    paths = sorted((corpus / "messages").glob("*.json"))
    if not paths:
        sys.exit(f"no corpus messages under {corpus}/messages (use --corpus)")
    return [json.loads(p.read_text(encoding="utf-8")) for p in paths]


class Fleet:
    """The sandbox world, the database and a scanner whose classifier counts what it judges."""

    def __init__(self, mailboxes: int, tenants: int, workdir: Path) -> None:
        self.directory = Directory()
        self.graph = GraphSandbox(self.directory).start()
        self.settings = Settings(
            graph=GraphSettings(endpoint=self.graph.base_url),
            database=DatabaseSettings(url=f"sqlite:///{workdir / 'bench.db'}", data_dir=str(workdir)),
        )
        self.engine = make_engine(self.settings.database_url)
        self.addresses: dict[int, str] = {}
        self.judged: Counter[str] = Counter()
        per_tenant = -(-mailboxes // tenants)
        with Session(self.engine) as session:
            made = 0
            for t in range(tenants):
                domain = f"customer{t:03d}.example"
                world_tenant = self.directory.add_tenant(f"Customer {t}", domain)
                owner = self.directory.add_user(world_tenant, f"owner@{domain}")
                tenant = Tenant(name=f"Customer {t}", status="active", domains=json.dumps([domain]),
                                username=owner.upn, tenant_guid=world_tenant.tenant_id)
                session.add(tenant)
                session.flush()
                for m in range(min(per_tenant, mailboxes - made)):
                    if m == 0:
                        mailbox = Mailbox(tenant_id=tenant.id or 0, address=owner.upn)
                    else:
                        address = f"mailbox{m:03d}@{domain}"
                        self.directory.add_user(world_tenant, address)
                        self.directory.share(address, owner.upn)
                        mailbox = Mailbox(tenant_id=tenant.id or 0, address=address, shared=True,
                                          graph_user_id=address)
                    session.add(mailbox)
                    session.flush()
                    self.addresses[mailbox.id or 0] = mailbox.address
                    made += 1
            session.commit()
        self.scanner = Scanner(self.settings, self.engine, self.tokens,
                               client=GraphClient(self.settings.graph), classifier=self.counting)

    def tokens(self, tenant: Tenant, force_refresh: bool) -> str:
        return self.directory.issue_access_token(self.directory.user(tenant.username), SCOPES)  # type: ignore[arg-type]

    def counting(self, message, context):  # type: ignore[no-untyped-def]
        self.judged[message.internet_message_id] += 1
        return classify(message, context)

    def cycle(self) -> tuple[float, int, list[Any]]:
        """One poll of every mailbox: (seconds, HTTP requests the sandbox answered, results)."""
        self.graph.reset_stats()
        sent_before = self.scanner.client.requests_sent
        start = time.perf_counter()
        results = self.scanner.scan_mailboxes(list(self.addresses))
        seconds = time.perf_counter() - start
        served = self.graph.stats().get("requests", 0)
        assert served == self.scanner.client.requests_sent - sent_before, "client and sandbox disagree"
        return seconds, served, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mailboxes", type=int, default=2000)
    parser.add_argument("--tenants", type=int, default=50)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--new-rate", type=float, default=0.05)
    parser.add_argument("--fail-rate", type=float, default=0.10)
    parser.add_argument("--retry-after", type=float, default=0.5, help="seconds the sandbox asks for on 429/503")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    corpus = load_corpus(args.corpus)
    rng = random.Random(args.seed)

    with tempfile.TemporaryDirectory(prefix="bench-graph-") as tmp:
        started = time.perf_counter()
        fleet = Fleet(args.mailboxes, args.tenants, Path(tmp))
        count = len(fleet.addresses)
        print(f"world: {count} mailboxes in {args.tenants} tenants, built in {time.perf_counter() - started:.1f} s")
        seconds, served, results = fleet.cycle()  # first sync of empty mailboxes: cursors for everyone
        print(f"first sync (no latency): {seconds:.2f} s, {served} requests, "
              f"{sum(r.status == 'ok' for r in results)}/{count} ok")

        # 1. idle cycle at the latency
        fleet.graph.set_faults(latency_ms=args.latency_ms)
        seconds, served, results = fleet.cycle()
        ok = sum(r.status == "ok" for r in results)
        per_mailbox = served / count
        print(f"\n1. idle cycle, {args.latency_ms:g} ms per Graph request: {seconds:.2f} s, {served} HTTP requests "
              f"= {per_mailbox:.4f} per mailbox, {ok}/{count} ok")
        print(f"   target <= 15 s and <= 0.06 requests per mailbox: "
              f"{'MET' if seconds <= 15 and per_mailbox <= 0.06 and ok == count else 'MISSED'}")

        # 2. busy cycles with faults
        half = args.fail_rate / 2
        fleet.graph.set_faults(rate_429=half, rate_503=half, retry_after=args.retry_after, seed=args.seed)
        injected: dict[str, int] = {}
        serial = 0
        now = datetime.now(UTC)
        print(f"\n2. {args.cycles} busy cycles: {args.new_rate:.0%} of mailboxes get a message, "
              f"{args.fail_rate:.0%} of Graph requests fail (429 with Retry-After {args.retry_after:g} s, or 503)")
        for cycle in range(1, args.cycles + 1):
            for mailbox_id in rng.sample(sorted(fleet.addresses), int(count * args.new_rate)):
                message = dict(rng.choice(corpus))
                serial += 1
                message.pop("id", None)
                message["internetMessageId"] = f"<bench-{serial}@outreach-monitor.test>"
                message["receivedDateTime"] = (now - timedelta(minutes=serial % 600)).strftime("%Y-%m-%dT%H:%M:%SZ")
                fleet.graph.add_message(fleet.addresses[mailbox_id], message)
                injected[message["internetMessageId"]] = mailbox_id
            seconds, served, results = fleet.cycle()
            stats = fleet.graph.stats()
            failed = stats.get("inner:429", 0) + stats.get("inner:503", 0)
            statuses = Counter(r.status for r in results)
            print(f"   cycle {cycle}: {seconds:.2f} s, {served} HTTP requests ({stats.get('inner', 0)} inner, "
                  f"{failed} failed 429/503 and retried), mailboxes {dict(statuses)}")
        # A last cycle without faults picks up anything a mailbox gave up on (none expected).
        fleet.graph.set_faults(rate_429=0.0, rate_503=0.0)
        fleet.cycle()

        judged_once = sum(1 for m in injected if fleet.judged[m] == 1)
        judged_twice = sum(1 for m in injected if fleet.judged[m] > 1)
        missed = sum(1 for m in injected if fleet.judged[m] == 0)
        with Session(fleet.engine) as session:
            detections = session.exec(select(func.count()).select_from(Detection)).one()
            distinct = session.exec(
                select(func.count()).select_from(
                    select(Detection.mailbox_id, Detection.internet_message_id).distinct().subquery()
                )
            ).one()
            alerts = session.exec(select(func.count()).select_from(Alert)).one()
            alerted = session.exec(select(func.count(func.distinct(Alert.detection_id)))).one()
        print(f"   injected {len(injected)}: classified exactly once {judged_once}, more than once {judged_twice}, "
              f"never {missed}")
        print(f"   detections {detections} ({detections - distinct} duplicates), alerts {alerts} "
              f"for {alerted} detections ({alerts - alerted} repeated)")
        good = judged_once == len(injected) and detections == distinct and alerts == alerted
        print(f"   target every message exactly once, no duplicates: {'MET' if good else 'MISSED'}")
        fleet.graph.stop()


if __name__ == "__main__":
    main()
