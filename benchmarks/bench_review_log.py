"""Review-log speed with a large log: server-side page times and a streamed CSV export.

    .venv/bin/python benchmarks/bench_review_log.py [--rows 100000] [--repeat 15] [--db PATH]

Fills a SQLite database (WAL, as in production) with ``--rows`` detections spread over a year,
25 customers and 40 vendors (kept at ``--db`` for the next run when given), then times requests
through the WSGI app in-process: the whole server-side work of a request (sign-in check, queries,
template rendering), without a network in between. Then it streams the CSV export of every
detection and of a tenth of them, with the Python memory peak of each (tracemalloc).

Targets (issue "The intercepted-outreach log"): with 100,000 detections the log's first page and
a filtered page render in <= 300 ms server-side; the CSV export streams in constant memory.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, insert, select  # noqa: E402

from monitor.config import Settings  # noqa: E402
from monitor.db import make_engine, session_scope  # noqa: E402
from monitor.models import Detection, Mailbox, Tenant  # noqa: E402
from monitor.web import create_app  # noqa: E402
from monitor.web.users import add_user, find_user  # noqa: E402

TARGET_MS = 300.0
PASSWORD = "benchmark passphrase"
VENDORS = [
    "Microsoft", "Dell", "Cisco", "HP", "Lenovo", "Adobe", "Sophos", "Fortinet", "Palo Alto Networks", "VMware",
    "Veeam", "Datto", "Kaseya", "ConnectWise", "N-able", "SentinelOne", "CrowdStrike", "Mimecast", "Proofpoint",
    "Barracuda", "Ubiquiti", "Meraki", "Zoom", "RingCentral", "8x8", "Google", "Amazon Web Services", "Salesforce",
    "Intuit", "Sage", "Autodesk", "Citrix", "Okta", "Duo", "Acronis", "Webroot", "ESET", "Bitdefender", "Trend Micro",
    "Apple",
]
SUBJECTS = [
    "Free {v} workshop for your team", "Your {v} renewal: talk to us directly", "Quick question about your IT",
    "{v} migration estimate", "Exclusive {v} offer for {c}", "Following up on my last email",
    "Can we book 15 minutes next week?", "Save 30% on {v} when you buy direct", "{v} security assessment, no cost",
]
LABELS = ["vendor_outreach"] * 8 + ["impersonation", "competitor_outreach"]
STATUSES = ["new"] * 5 + ["acknowledged"] * 2 + ["resolved"] * 2 + ["false_positive"]


def fill(engine, rows: int) -> None:
    rng = random.Random(7)
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        tenants = [Tenant(name=f"Customer {i:02d}", status="active") for i in range(25)]
        session.add_all(tenants)
        session.flush()
        boxes = [Mailbox(tenant_id=t.id, address=f"user{j}@customer{t.id}.example") for t in tenants for j in range(4)]
        session.add_all(boxes)
        session.flush()
        pairs = [(b.tenant_id, b.id, b.address) for b in boxes]
    snippet = ("Hi, I'm reaching out from the vendor's direct sales team about your licences. " * 8)[:500]
    batch = []
    started = time.perf_counter()
    for i in range(rows):
        tenant_id, mailbox_id, address = rng.choice(pairs)
        vendor = VENDORS[min(int(rng.expovariate(0.12)), len(VENDORS) - 1)]
        status = rng.choice(STATUSES)
        received = now - timedelta(seconds=rng.randrange(365 * 86400))
        sender = f"rep{rng.randrange(500)}@{vendor.lower().replace(' ', '')}.com"
        batch.append({
            "tenant_id": tenant_id, "mailbox_id": mailbox_id, "internet_message_id": f"<bench{i}@example>",
            "graph_message_id": f"AAMk{i}", "conversation_id": "", "received_at": received,
            "sender_address": sender, "sender_name": f"Rep {i % 500}",
            "recipients": json.dumps([address]), "subject": rng.choice(SUBJECTS).format(v=vendor, c=f"Customer {tenant_id}"),
            "label": rng.choice(LABELS), "vendor": vendor, "score": round(rng.random(), 3),
            "rules": json.dumps([
                {"id": "vendor_domain", "description": "Sent from the vendor's own domain", "weight": 2.0, "evidence": sender},
                {"id": "offer", "description": "Offers something free", "weight": 1.0, "evidence": "free workshop"},
                {"id": "meeting_ask", "description": "Asks for a meeting", "weight": 1.0, "evidence": "15 minutes"},
            ]),
            "snippet": snippet, "web_link": f"https://outlook.office365.com/owa/?ItemID=AAMk{i}&exvsurl=1",
            "status": status, "outcome": "customer_contacted" if status == "resolved" else "",
            "deleted_in_mailbox": False, "created_at": received, "updated_at": received,
        })
        if len(batch) == 5000:
            with session_scope(engine) as session:
                session.execute(insert(Detection), batch)
            batch = []
    if batch:
        with session_scope(engine) as session:
            session.execute(insert(Detection), batch)
    print(f"filled {rows:,} detections in {time.perf_counter() - started:.1f} s")


def timed(client, url: str, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(url)
        body = response.get_data()
        times.append((time.perf_counter() - start) * 1000)
        if response.status_code != 200 or not body:
            raise SystemExit(f"{url}: HTTP {response.status_code}")
    return times


def report(name: str, url: str, times: list[float], target: float | None = None) -> bool:
    ordered = sorted(times)
    median = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    verdict = ""
    ok = True
    if target is not None:
        ok = p95 <= target
        verdict = f"  {'OK' if ok else 'OVER'} (target p95 <= {target:.0f} ms)"
    print(f"  {name:<34} median {median:7.1f} ms  p95 {p95:7.1f} ms  max {ordered[-1]:7.1f} ms{verdict}")
    print(f"  {'':<34} {url}")
    return ok


def _rss_mib() -> float:
    """Resident memory of this process (Linux), in MiB."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def export(client, url: str) -> tuple[int, int, float, float]:
    """(rows, bytes, seconds, growth of resident memory in MiB) while streaming ``url`` and
    throwing the chunks away, as a client downloading it would."""
    gc.collect()
    base = peak = _rss_mib()
    start = time.perf_counter()
    response = client.get(url, buffered=False)
    size = lines = 0
    for chunk in response.response:
        size += len(chunk)
        lines += chunk.count(b"\n")
        peak = max(peak, _rss_mib())
    response.close()
    return lines - 1, size, time.perf_counter() - start, peak - base


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--db", type=Path, help="SQLite file to use (filled when empty, kept afterwards)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-review-log-") as workdir:
        return run(args, Path(workdir))


def run(args: argparse.Namespace, workdir: Path) -> int:
    db_path = args.db or workdir / "bench.db"
    settings = Settings.model_validate({
        "database": {"url": f"sqlite:///{db_path.resolve()}", "data_dir": str(workdir)},
        "web": {"page_size": 50},
    })
    engine = make_engine(settings.database_url)
    with session_scope(engine) as session:
        have = session.execute(select(func.count()).select_from(Detection)).scalar_one()
        if not session.execute(select(func.count()).select_from(Tenant)).scalar_one():
            have = -1
    if have <= 0:
        fill(engine, args.rows)
    with session_scope(engine) as session:
        total = session.execute(select(func.count()).select_from(Detection)).scalar_one()
        if find_user(session, "bench") is None:
            add_user(session, "bench", PASSWORD, "viewer")
        tenant_id = session.execute(select(Tenant.id).order_by(Tenant.id).limit(1)).scalar_one()
        detection_id = session.execute(select(func.max(Detection.id))).scalar_one()

    app = create_app(settings, engine)
    client = app.test_client()
    page = client.get("/signin").get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    if client.post("/signin", data={"username": "bench", "password": PASSWORD, "csrf_token": token}).status_code != 302:
        raise SystemExit("could not sign in")

    today = datetime.now(UTC).date()
    month_ago = (today - timedelta(days=30)).isoformat()
    print(f"review log with {total:,} detections in SQLite ({db_path}); {args.repeat} requests each, "
          "server-side time (in-process WSGI, no network)")
    ok = True
    print("targets:")
    ok &= report("log, first page", "/log", timed(client, "/log", args.repeat), TARGET_MS)
    filtered = [
        ("filtered: vendor + status", "/log?vendor=Microsoft&status=new"),
        ("filtered: customer + label", f"/log?tenant={tenant_id}&label=impersonation"),
        ("filtered: date range (30 days)", f"/log?since={month_ago}&until={today.isoformat()}"),
        ("filtered: free text", "/log?q=workshop"),
        ("filtered: rare vendor + text", "/log?vendor=Apple&q=renewal"),
        ("filtered: everything at once", f"/log?tenant={tenant_id}&vendor=Dell&status=new&since={month_ago}&q=offer"),
    ]
    for name, url in filtered:
        ok &= report(name, url, timed(client, url, args.repeat), TARGET_MS)
    print("other pages:")
    others = [
        ("log, page 1,000 (deep offset)", "/log?page=1000"),
        ("overview (12 weeks)", "/"),
        ("overview (a year, by customer)", f"/?since={(today - timedelta(days=365)).isoformat()}&by=customer"),
        ("detection page", f"/detections/{detection_id}"),
        ("JSON API, 100 per page", "/api/detections?per_page=100&vendor=Microsoft"),
    ]
    for name, url in others:
        report(name, url, timed(client, url, max(3, args.repeat // 3)))

    print("CSV export (streamed; memory = growth of the process's resident memory while streaming):")
    results = []
    for name, url in (("one customer (~4%)", f"/log.csv?tenant={tenant_id}"), ("all detections", "/log.csv")):
        rows, size, seconds, grown = export(client, url)
        results.append(grown)
        print(f"  {name:<22} {rows:>7,} rows  {size / 2**20:6.1f} MiB  {seconds:5.2f} s  "
              f"{rows / seconds:8,.0f} rows/s  memory +{grown:5.1f} MiB")
    constant = results[1] < results[0] + 16
    print(f"  memory {'constant' if constant else 'GROWS'}: +{results[1]:.1f} MiB for every row vs "
          f"+{results[0]:.1f} MiB for a small export (the export itself is "
          f"{size / 2**20:.0f} MiB)")
    ok &= constant
    print("result:", "all targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
