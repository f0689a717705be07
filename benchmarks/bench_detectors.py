"""Detector speed on one core: messages per second and per-message latency.

    .venv/bin/python benchmarks/bench_detectors.py [--corpus ../shared/corpus/dev] [--repeat 20]

Three runs, each parsing (Graph JSON dict -> Message) and classifying:
1. the development corpus, repeated;
2. large real-world-sized messages: long marketing layouts (~200 KB HTML) and long reply threads;
3. a single 5 MB HTML body (and its memory peak), to show the work is capped.
Targets (issue "Foundation and detection engine"): >= 3,000 messages/s, p99 <= 5 ms,
the 5 MB body in <= 100 ms with bounded memory.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from detectors.classifier import Context, classify  # noqa: E402
from detectors.message import from_graph  # noqa: E402

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "dev"


def load(corpus: Path) -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted((corpus / "messages").glob("*.json"))]


def run(messages: list[dict], context: Context) -> list[float]:
    latencies = []
    for data in messages:
        start = time.perf_counter()
        classify(from_graph(data), context)
        latencies.append(time.perf_counter() - start)
    return latencies


def report(name: str, latencies: list[float]) -> None:
    latencies = sorted(latencies)
    total = sum(latencies)
    p50 = latencies[len(latencies) // 2]
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(f"{name}: {len(latencies)} messages in {total:.2f} s = {len(latencies) / total:,.0f} messages/s; "
          f"p50 {p50 * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms, max {latencies[-1] * 1000:.2f} ms")


def large_messages(base: list[dict]) -> list[dict]:
    """Real-world sizes built from corpus messages: marketing layouts repeated to ~200 KB and
    replies with 30 quoted earlier messages."""
    out = []
    for data in base[:40]:
        big = copy.deepcopy(data)
        body = (big.get("body") or {}).get("content") or ""
        if not body:
            continue
        repeat = max(1, 200_000 // max(1, len(body)))
        big["body"] = {"contentType": "html", "content": body * repeat}
        out.append(big)
        thread = copy.deepcopy(data)
        quoted = "".join(
            f"<div id='divRplyFwdMsg'><b>From:</b> someone{i}@example.com<br><b>Sent:</b> Monday<br>"
            f"<b>Subject:</b> RE: earlier</div><div>{body}</div>" for i in range(30)
        )
        thread["body"] = {"contentType": "html", "content": f"<div>Thanks, see below.</div>{quoted}"}
        out.append(thread)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    base = load(args.corpus)
    if not base:
        sys.exit(f"no messages under {args.corpus}/messages")
    context = Context.build()
    run(base, context)  # warm caches (catalog, phrase index, public-suffix list)

    report(f"dev corpus x{args.repeat}", run(base * args.repeat, context))
    report("large messages (~200 KB marketing, 30-message threads)", run(large_messages(base), context))

    html = "<html><body>" + "<div><p>Hello <a href='https://example.com/x'>link</a> world</p></div>" * 80_000
    html = html[: 5 * 1024 * 1024] + "</body></html>"
    huge = dict(base[0], body={"contentType": "html", "content": html})
    times = []
    for _ in range(5):
        start = time.perf_counter()
        classify(from_graph(huge), context)
        times.append(time.perf_counter() - start)
    # Memory apart: tracemalloc slows every allocation, so it must not be on while timing.
    tracemalloc.start()
    classify(from_graph(huge), context)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"5 MB HTML body: median {statistics.median(times) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms, "
          f"peak Python memory {peak / 1024 / 1024:.1f} MB (the 5 MB input itself included)")


if __name__ == "__main__":
    main()
