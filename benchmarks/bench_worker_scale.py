"""One worker process holding thousands of mailboxes: its CPU and memory, and whether it keeps up.

    .venv/bin/python benchmarks/bench_worker_scale.py [--mailboxes 5000] [--tenants 100] [--poll 60]
                                                       [--latency-ms 50] [--minutes 3] [--per-minute 30]

World (see bench_worker_latency.py): TENANTS customers connected with the real `connect`, MAILBOXES
in all; the Graph sandbox answers every request, and every inner request of a $batch (4 at a
time), after LATENCY_MS; a fake Slack; the worker as `outreach-monitor run` with the default
settings but the poll interval. After the first sync and one interval of warm-up, for MINUTES
minutes PER_MINUTE vendor-outreach messages land in random mailboxes, and the benchmark samples:

- the worker's CPU (user + system seconds per wall second, from /proc) and peak RSS (VmHWM);
- polls: delta requests Graph answered per mailbox per poll interval (1.0 = keeping up);
- lag: mailboxes more than 15 s past their next poll and not being scanned (0 = keeping up);
- alerts: every landed message alerted, and its latency.

Targets (issue 6): 5,000 mailboxes at a 60 s poll interval, with 50 ms per request, in one
process: under one core and under 300 MB.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_worker_latency import Fleet, cpu_seconds, memory_kib, percentile  # noqa: E402

LAG_SECONDS = 15


def lagging(database: Path) -> int:
    """Mailboxes more than LAG_SECONDS past their next poll that nobody is scanning."""
    now = datetime.now(UTC).replace(tzinfo=None)
    late = (now - timedelta(seconds=LAG_SECONDS)).strftime("%Y-%m-%d %H:%M:%S.%f")
    current = now.strftime("%Y-%m-%d %H:%M:%S.%f")
    with sqlite3.connect(database) as db:
        return int(db.execute(
            "SELECT count(*) FROM mailbox WHERE enabled AND next_poll_at < ? AND (lease_until IS NULL OR lease_until < ?)",
            (late, current)).fetchone()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mailboxes", type=int, default=5000)
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--poll", type=float, default=60.0)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--per-minute", type=float, default=30.0, help="outreach messages landing per minute")
    parser.add_argument("--seed", type=int, default=5000)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        fleet = Fleet(Path(tmp), args.mailboxes, args.tenants, args.poll)
        count = len(fleet.addresses)
        try:
            fleet.graph.set_faults(latency_ms=args.latency_ms)
            process = fleet.start_worker()
            print(f"worker pid {process.pid}; Graph answers after {args.latency_ms:g} ms; first sync ...", flush=True)
            print(f"first sync of {count} mailboxes done in {fleet.wait_for_first_sync():.1f} s; warming up for "
                  f"one poll interval ({args.poll:g} s)", flush=True)
            time.sleep(args.poll)

            fleet.graph.reset_stats()
            cpu_start, wall_start = cpu_seconds(process.pid), time.monotonic()
            end = wall_start + args.minutes * 60
            every = 60 / args.per_minute if args.per_minute > 0 else float("inf")
            landed: dict[str, float] = {}
            lags: list[int] = []
            next_land = next_sample = wall_start
            serial = 0
            while time.monotonic() < end:
                now = time.monotonic()
                if now >= next_land:
                    serial += 1
                    key, at = fleet.land(rng, serial)
                    landed[key] = at
                    next_land += every
                if now >= next_sample:
                    lags.append(lagging(fleet.database))
                    next_sample += 5
                time.sleep(max(0.0, min(next_land, next_sample, end) - time.monotonic()))
            wall = time.monotonic() - wall_start
            cpu = (cpu_seconds(process.pid) - cpu_start) / wall
            stats = fleet.graph.stats()
            deadline = time.monotonic() + args.poll + 60
            while time.monotonic() < deadline and len(fleet.slack.arrivals) < len(landed):
                time.sleep(1)
            memory = memory_kib(process.pid)
            keys = fleet.alert_keys()
            latencies = [fleet.slack.arrivals[a] - landed[k] for a, k in keys.items()
                         if k in landed and a in fleet.slack.arrivals]
            errors = fleet.log().count(" ERROR ")
        finally:
            fleet.stop()

    polls = stats.get("delta", 0) / count / (wall / args.poll)
    requests = stats.get("requests", 0) / max(1, stats.get("delta", 0))
    peak = memory.get("VmHWM", 0) / 1024
    print(f"\nwindow {wall:.0f} s, {count} mailboxes in {args.tenants} tenants, poll interval {args.poll:g} s, "
          f"Graph latency {args.latency_ms:g} ms")
    print(f"  worker CPU: {cpu:.3f} CPU seconds per wall second (user + system)")
    print(f"  worker memory: peak RSS {peak:.0f} MiB (now {memory.get('VmRSS', 0) / 1024:.0f} MiB)")
    print(f"  polls: {polls:.2f} per mailbox per poll interval ({stats.get('delta', 0)} delta requests in "
          f"{stats.get('requests', 0)} HTTP requests: {requests:.3f} HTTP requests per mailbox poll)")
    print(f"  lag: mailboxes > {LAG_SECONDS} s past due and not being scanned, sampled every 5 s: "
          f"max {max(lags) if lags else 0}, mean {sum(lags) / max(1, len(lags)):.1f}")
    p95 = f"{percentile(latencies, 95):.1f} s" if latencies else "-"
    print(f"  alerts: {len(latencies)} of {len(landed)} landed messages alerted in Slack, latency p95 {p95}; "
          f"{errors} ERROR log lines")
    kept_up = polls >= 0.9 and (max(lags) if lags else 0) == 0
    print(f"  target under one core and under 300 MB, keeping up: "
          f"{'MET' if cpu < 1.0 and peak < 300 and kept_up and len(latencies) == len(landed) else 'MISSED'}")


if __name__ == "__main__":
    main()
