"""Run every benchmark and rewrite docs/benchmarks.md with what each printed.

    ./dev bench                      # all of them (about a quarter of an hour)
    ./dev bench --quick              # fewer repetitions, to check the report builds
    ./dev bench --only bench/match.py

Each benchmark script prints its own figures (medians, spreads, and a naive
baseline where one exists); this report adds the command, the machine and
the time it took, and keeps the prose that says what each figure means in
``docs/benchmarks.intro.md``-style notes below each section.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import machine  # noqa: E402


@dataclass(frozen=True)
class Benchmark:
    script: str
    title: str
    what: str
    args: tuple[str, ...] = ()
    quick: tuple[str, ...] = ()  # arguments for a smoke run


BENCHMARKS = [
    Benchmark(
        "bench/match.py",
        "Matching: rules against articles",
        "Articles per second through the rule engine, for the shipped library and for generated sets of "
        "10 to 10,000 rules, beside a naive baseline that runs each rule's patterns one by one. "
        "Targets: at least 1,000 articles/s with the shipped rules on one core; no more than 3x slowdown "
        "from 10 to 10,000 rules. More generated rules also match more (4.24 matches per article at "
        "10,000, none at 10), so that slowdown includes evaluating and explaining those matches; the "
        "'quiet' line runs 10,000 rules about nothing in these articles, which isolates what the index costs.",
        quick=("--runs", "1", "--sizes", "10,1000"),
    ),
    Benchmark(
        "bench/poll.py",
        "Polling: 1,000 feeds of 20 items",
        "A full cycle over 1,000 feeds served on loopback (fetch, parse, normalise, de-duplicate, append), "
        "then an unchanged cycle (every feed answers 304), beside a naive sequential poller. Targets: a full "
        "cycle under 10 s and at least 2,000 articles/s into the stream; the unchanged cycle writes nothing.",
        quick=("--quick",),
    ),
    Benchmark(
        "bench/stories.py",
        "Story clustering",
        "Near-duplicate detection (MinHash over word shingles): the dev set's related articles, synthetic "
        "rewrites of each article as other outlets would write them, and wire copy: 150 distinct summit "
        "reports written on one agency template (other leaders, cities and dates, each with its own detail; "
        "tests/storygen.py), three sets, then a rewrite of each. Two error rates: wrong joins (a distinct "
        "report put in another's story: its alert is lost) and missed joins (a rewrite left apart: a second "
        "alert). Before candidates were judged on verification bins (32 bins only), the wire sets gave 76 "
        "wrong joins in 450 (16.9%) and 113 missed rewrites (25.1%).",
    ),
    Benchmark(
        "bench/deliver.py",
        "Delivery: fan-out and end-to-end latency",
        "One alert fanned out to 1,000 webhook subscriptions on a local receiver; then the latency from "
        "POST /v1/articles to the signed webhook arriving, at a steady 100 articles/s. Targets: fan-out under "
        "2 s; end-to-end p50 under 20 ms and p99 under 100 ms.",
        quick=("--runs", "1", "--seconds", "5"),
    ),
    Benchmark(
        "bench/chat.py",
        "Delivery to chat services (Apprise)",
        "One alert fanned out to 200 Apprise (`json://`) subscriptions on a local receiver through the "
        "delivery queue, beside the same fan-out as webhooks and a naive loop of Apprise `notify()` calls. "
        "Apprise sends block and build a new HTTP connection per message (requests), and that work is mostly "
        "Python under the GIL: the pool of 8 threads keeps the event loop free and overlaps the waits, about "
        "twice the naive loop, not eight times. "
        "Chat services rate-limit far below these figures (Slack: about 1 message per second per webhook).",
        quick=("--quick",),
    ),
    Benchmark(
        "bench/load.py",
        "Load: 10,000 articles, 200 subscriptions",
        "The whole service (`geoalert run`, every role in one process, as the quick start runs it) under a "
        "steady push of 10,000 articles with 200 webhook subscriptions, then with a fifth of the endpoints "
        "timing out: end-to-end latency, event-loop lag, pending entries, Redis memory and service memory.",
        quick=("--quick",),
    ),
    Benchmark(
        "bench/durability.py",
        "Redis durability under kill -9",
        "Acknowledged stream writes lost when Redis is killed mid-write, per `appendfsync` mode, and the write "
        "rate each mode allows.",
        quick=("--quick",),
    ),
    Benchmark(
        "bench/failover.py",
        "Redis failover: what a kill -9 of the primary loses, with and without WAIT",
        "The fault suite's scenario (tests/failoverkit.py) on a primary + replica + 3 Sentinels and on a "
        "3-primary, 3-replica Redis Cluster: a writer appends 2,000 articles as fast as Redis acknowledges "
        "them, a matcher and a dispatcher process turn them into webhooks, and half-way through the primary "
        "holding the articles stream is killed with SIGKILL; the killed node is started again 3 s later. "
        "'lost' counts acknowledged articles whose alerts never arrived. With WAIT 0 on Sentinel the killed "
        "primary came back before the failover had settled, took every later write, and lost them when it "
        "was made a replica of the new primary; WAIT 1 refused those writes (no replica confirmed them), "
        "which is also why writes failed for longer. See README, Production Redis.",
        args=("--trials", "2"),
        quick=("--quick", "--forms", "cluster", "--articles", "400"),
    ),
    Benchmark(
        "bench/scale.py",
        "Scaling out: matchers and dispatchers, one Redis vs a cluster",
        "A backlog drained by 1, 2 and 4 processes of one role, on one Redis and on a 3-primary Redis "
        "Cluster, on this 2-core machine (the processes, Redis and the webhook receiver share the 2 cores, "
        "so past 2 processes the machine, not the design, is the limit; other work shared the machine too, "
        "so read the ratios, not the rates; the cluster's dispatcher rows ran at a quieter moment than the "
        "single Redis's, which is why they are faster). "
        "What it says for a fleet of N machines: the Redis work per item is small and flat in the "
        "number of processes (matching: about 75 microseconds of Redis CPU per article, appending the backlog "
        "included; delivery: about 0.6 to 0.8 ms per delivered alert, for the enqueue, take and settle scripts "
        "and the acknowledgements), so adding processes adds throughput until a stream's Redis core fills. "
        "Each stream is one key, so it lives on one core even on a cluster: the articles stream fills at "
        "roughly 13,000 articles/s, some 25 matchers at the ~530 articles/s one process does with a core of "
        "its own; the delivery queue, one slot because taking work scans its lanes in one script, fills first: "
        "on one Redis (alerts stream and queue on one core) around 1,300 to 1,700 deliveries/s, on a cluster "
        "(the queue's node at 13% of a core for 362 deliveries/s) around 2,800/s. A cluster puts the three stages on three primaries (the busiest "
        "node's share above), which moves each ceiling to a core of its own but no further; the cluster's "
        "own overhead (gossip, replicas) shows as more Redis CPU in total. Past that, shard: run several "
        "deployments, each with its own `GEOALERT_KEY_PREFIX` (the prefix is inside the hash tags, so each "
        "deployment's streams and queue land in their own slots, on a cluster on different primaries). "
        "By region, each deployment polls its region's feeds and takes its region's pushes, which splits "
        "ingest, matching and delivery alike; by rule set, each deployment loads its own rules directory "
        "and subscriptions, which splits matching and delivery but needs every article ingested into each "
        "deployment. Story de-duplication and 'one alert per rule and story' hold within a deployment.",
        quick=("--quick", "--processes", "1,2"),
    ),
    Benchmark(
        "bench/console.py",
        "Console: first loads, a 10,000-alert timeline, a 100,000-article backtest",
        "The console in Debian's Chromium (Playwright) against `geoalert run --role api` on its own "
        "redis-server holding 100,000 articles and 10,000 alerts: each page from navigation to its content "
        "on screen in a fresh context (no cache); the timeline's first page, a filter by rule and the next "
        "page, beside fetching and showing every alert (what a page without paging would do); and the rule "
        "editor's Backtest (`POST /v1/rules/backtest`, an edited arms_deal over every stored article), beside "
        "matching the whole library twice per article in one loop. Medians of 5 runs (backtest: 2).",
        quick=("--quick",),
    ),
    Benchmark(
        "bench/reload.py",
        "Rule reloads and the event loop",
        "How long the event loop stands still while an edited rules directory (the shipped library plus a "
        "generated term list of 20,000 or 50,000 entries, the most a list may hold) is reloaded: in a thread, "
        "as the service's watcher does, beside the naive reload on the loop that the service did before "
        "(then a 600,000-term list stalled /livez for 14.6 s). The stall left in the thread is time spent "
        "in compiled code that holds the interpreter lock while it builds the matcher. Target: no stall "
        "near the length of the reload.",
        quick=("--quick", "--terms", "20000"),
    ),
]


def run(bench: Benchmark, quick: bool) -> tuple[str, float, int]:
    command = [sys.executable, bench.script, *bench.args, *(bench.quick if quick else ())]
    print(f"== {' '.join(command[1:])}", flush=True)
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    assert process.stdout is not None
    for line in process.stdout:
        print(line, end="", flush=True)
        lines.append(line)
    code = process.wait()
    return "".join(lines).rstrip(), time.perf_counter() - started, code


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--quick", action="store_true", help="fewer repetitions: checks the report, not the figures"
    )
    p.add_argument("--only", action="append", help="run only these scripts (e.g. bench/match.py)")
    p.add_argument("--output", type=Path, default=ROOT / "docs/benchmarks.md")
    args = p.parse_args()
    m = machine()
    sections: list[str] = []
    failed = 0
    for bench in BENCHMARKS:
        if args.only and bench.script not in args.only:
            continue
        output, took, code = run(bench, args.quick)
        failed += code != 0
        command = " ".join(["python", bench.script, *bench.args, *(bench.quick if args.quick else ())])
        sections += [
            f"## {bench.title}",
            "",
            bench.what,
            "",
            f"`{command}` ({took:.0f} s{'' if code == 0 else f', exit code {code}'}):",
            "",
            "```",
            output,
            "```",
            "",
        ]
    header = [
        "# Benchmarks",
        "",
        "Every figure below is printed by a script under `bench/`; `./dev bench` runs them all and rewrites",
        "this page (`./dev bench --only bench/match.py` reruns one). Scripts report medians of repeated runs",
        "with their spread, and a naive baseline beside each figure where one exists. These machines are",
        "shared and noisy: compare ratios and CPU-seconds rather than single wall-clock times.",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB; Python {m['python']}; "
        f"{m['platform']}; commit `{m['commit']}`; generated {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
        + (" with `--quick` (fewer repetitions: not figures to quote)." if args.quick else "."),
        "",
    ]
    if args.only and args.output.exists():
        sections = _merge(args.output.read_text(), sections)
        header = []
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(header + sections).rstrip() + "\n")
    print(f"wrote {args.output}")
    return 1 if failed else 0


def _merge(existing: str, fresh: list[str]) -> list[str]:
    """Replace only the sections that were rerun, keeping the others as they were."""
    new = "\n".join(fresh)
    titles = [line for line in fresh if line.startswith("## ")]
    parts = existing.split("\n## ")
    kept = [parts[0]]
    for part in parts[1:]:
        if f"## {part.splitlines()[0]}" not in titles:
            kept.append("## " + part)
    return ["\n".join([kept[0], *kept[1:]]).rstrip() + "\n", new]


if __name__ == "__main__":
    sys.exit(main())
