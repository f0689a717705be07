"""First sync of a big mailbox through the Graph sandbox: bounded by the look-back, in constant memory.

    .venv/bin/python benchmarks/bench_first_sync.py [--messages 10000] [--spread-days 35] [--lookback-days 14]
                                                     [--page-size 50] [--sizes 2500,10000]

A mailbox holds MESSAGES corpus messages received evenly over the last SPREAD_DAYS. Its first sync
(delta with a receivedDateTime look-back, 50 to a page, each page committed with its cursor) is
run for each size in SIZES, with tracemalloc tracing the whole process (scanner and sandbox): the
peak above the starting point must not grow with the mailbox. Target (issue "Graph mail scanning"):
a 10,000-message mailbox's first sync stays within its look-back and in constant memory.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlmodel import Session  # noqa: E402

from detectors.classifier import classify  # noqa: E402
from monitor.config import DatabaseSettings, GraphSettings, Settings  # noqa: E402
from monitor.db import make_engine  # noqa: E402
from monitor.graph import GraphClient  # noqa: E402
from monitor.models import Mailbox, Tenant  # noqa: E402
from monitor.sandbox.directory import Directory  # noqa: E402
from monitor.sandbox.graph import GraphSandbox  # noqa: E402
from monitor.scanner import Scanner  # noqa: E402

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "dev"
SCOPES = ["Mail.Read", "User.Read"]
UPN = "owner@bigmailbox.example"


def load_corpus(corpus: Path) -> list[dict[str, Any]]:
    paths = sorted((corpus / "messages").glob("*.json"))
    if not paths:
        sys.exit(f"no corpus messages under {corpus}/messages (use --corpus)")
    return [json.loads(p.read_text(encoding="utf-8")) for p in paths]


def first_sync(size: int, args: argparse.Namespace, corpus: list[dict[str, Any]], workdir: Path) -> dict[str, Any]:
    directory = Directory()
    tenant_world = directory.add_tenant("Big Mailbox Co", "bigmailbox.example")
    owner = directory.add_user(tenant_world, UPN)
    now = datetime.now(UTC)
    since = now - timedelta(days=args.lookback_days)
    within = 0
    with GraphSandbox(directory) as graph:
        step = timedelta(days=args.spread_days) / size
        for n in range(size):
            message = dict(corpus[n % len(corpus)])
            message.pop("id", None)
            received = now - step * (n + 0.5)
            within += received >= since
            message["receivedDateTime"] = received.strftime("%Y-%m-%dT%H:%M:%SZ")
            message["internetMessageId"] = f"<first-sync-{n}@outreach-monitor.test>"
            graph.add_message(UPN, message)
        settings = Settings(
            graph=GraphSettings(endpoint=graph.base_url, page_size=args.page_size, lookback_days=args.lookback_days),
            database=DatabaseSettings(url=f"sqlite:///{workdir / f'first-sync-{size}.db'}", data_dir=str(workdir)),
        )
        engine = make_engine(settings.database_url)
        with Session(engine) as session:
            tenant = Tenant(name="Big Mailbox Co", status="active", domains='["bigmailbox.example"]', username=UPN)
            session.add(tenant)
            session.flush()
            mailbox = Mailbox(tenant_id=tenant.id or 0, address=UPN)
            session.add(mailbox)
            session.commit()
            mailbox_id = mailbox.id or 0

        judged: Counter[str] = Counter()
        oldest: list[datetime] = []

        def counting(message, context):  # type: ignore[no-untyped-def]
            judged[message.internet_message_id] += 1
            received = datetime.fromisoformat(message.received.replace("Z", "+00:00"))
            if not oldest or received < oldest[0]:
                oldest[:] = [received]
            return classify(message, context)

        scanner = Scanner(
            settings, engine, lambda tenant, force: directory.issue_access_token(owner, SCOPES),
            client=GraphClient(settings.graph), classifier=counting,
        )
        gc.collect()
        if args.memory:
            tracemalloc.start()
        baseline, _ = tracemalloc.get_traced_memory()
        started = time.perf_counter()
        result = scanner.scan_mailbox(mailbox_id)
        seconds = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        engine.dispose()
        return {
            "size": size, "within": within, "judged": len(judged), "repeats": sum(v - 1 for v in judged.values()),
            "oldest": oldest[0] if oldest else None, "since": since, "seconds": seconds, "pages": result.pages,
            "status": result.status, "peak_mib": (peak - baseline) / 2**20, "requests": graph.stats()["requests"],
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--spread-days", type=float, default=35.0)
    parser.add_argument("--lookback-days", type=int, default=14)
    parser.add_argument("--page-size", type=int, default=50)
    parser.add_argument("--sizes", default="", help="comma-separated mailbox sizes (default: a quarter, then all)")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--no-memory", dest="memory", action="store_false",
                        help="no tracemalloc: true speed, no memory figure")
    args = parser.parse_args()
    corpus = load_corpus(args.corpus)
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else [args.messages // 4, args.messages]

    print(f"first sync, messages over the last {args.spread_days:g} days, look-back {args.lookback_days} days, "
          f"page size {args.page_size}" + (", tracemalloc on (slower than without it)" if args.memory else ""))
    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-first-sync-") as tmp:
        first_sync(200, args, corpus, Path(tmp))  # warm-up: imports, caches, compiled patterns
        for size in sizes:
            run = first_sync(size, args, corpus, Path(tmp))
            runs.append(run)
            inside = run["oldest"] is None or run["oldest"] >= run["since"]
            memory = f"; peak memory above start {run['peak_mib']:.1f} MiB" if args.memory else ""
            print(f"  {run['size']:>6} messages: {run['within']} inside the look-back, {run['judged']} classified "
                  f"({run['repeats']} twice), oldest classified inside the look-back: {inside}; "
                  f"{run['pages']} pages in {run['requests']} requests, {run['seconds']:.1f} s "
                  f"({run['judged'] / run['seconds']:.0f} messages/s){memory}")
    last = runs[-1]
    within = all(r["judged"] == r["within"] and r["repeats"] == 0 and r["status"] == "ok" for r in runs) and (
        last["oldest"] is None or last["oldest"] >= last["since"]
    )
    if not args.memory:
        print(f"target within the look-back: {'MET' if within else 'MISSED'} (memory not measured)")
        return
    growth = last["peak_mib"] / max(runs[0]["peak_mib"], 0.001)
    print(f"peak memory ratio, {last['size']} vs {runs[0]['size']} messages: {growth:.2f}x "
          f"(mailbox {last['size'] / runs[0]['size']:.0f}x bigger)")
    print(f"target within the look-back and constant memory: {'MET' if within and growth < 1.5 else 'MISSED'}")


if __name__ == "__main__":
    main()
