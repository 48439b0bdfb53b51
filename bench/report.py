"""Run every benchmark and rewrite docs/benchmarks.md from their results.

    ./dev bench            # all of them (several minutes)
    ./dev bench --quick    # fewer repetitions, to check the report builds

Each benchmark script prints its own figures and, given ``--json PATH``,
writes them for this report; the report adds the machine and the command.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import machine  # noqa: E402

Render = Callable[[dict[str, Any]], list[str]]


@dataclass
class Benchmark:
    script: str
    title: str
    what: str
    render: Render
    args: tuple[str, ...] = ()


def _durability(results: dict[str, Any]) -> list[str]:
    lines = [
        "| appendfsync | acknowledged per trial (median) | acknowledged writes lost | writes/s median (min-max) |",
        "| --- | --- | --- | --- |",
    ]
    for mode in ("always", "everysec"):
        r = results[mode]
        acked = statistics.median(r["acknowledged"])
        rate = r["writes_per_s"]
        lines.append(
            f"| `{mode}` | {acked:.0f} | {sum(r['lost'])} of {sum(r['acknowledged'])} |"
            f" {rate['median']:.0f} ({rate['min']:.0f}-{rate['max']:.0f}) |"
        )
    lines.append("")
    lines.append(
        "A kill -9 of the Redis process leaves what it wrote to its append-only file in the OS page cache, "
        "so `everysec` loses nothing here either; its window of up to about one second (two if an fsync "
        "stalls) opens only on an OS crash or power loss, which cannot be staged on this machine. "
        "`always` costs the write rate shown and closes that window too."
    )
    return lines


BENCHMARKS = [
    Benchmark(
        "bench/durability.py",
        "Redis durability under kill -9",
        "Acknowledged stream writes lost when Redis is killed mid-write, per `appendfsync` mode.",
        _durability,
    ),
]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--only", action="append", help="run only these scripts (e.g. bench/match.py)")
    p.add_argument("--output", type=Path, default=ROOT / "docs/benchmarks.md")
    args = p.parse_args()
    sections: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for bench in BENCHMARKS:
            if args.only and bench.script not in args.only:
                continue
            out = Path(tmp) / (Path(bench.script).stem + ".json")
            command = [sys.executable, bench.script, *bench.args, "--json", str(out)]
            if args.quick:
                command.append("--quick")
            print(f"== {bench.script}", flush=True)
            started = time.perf_counter()
            subprocess.run(command, cwd=ROOT, check=True)
            took = time.perf_counter() - started
            data = json.loads(out.read_text())
            shown = " ".join(["python", bench.script, *bench.args])
            sections += [
                f"## {bench.title}",
                "",
                bench.what,
                "",
                f"Reproduce: `{shown}` (ran in {took:.0f} s at commit `{data['machine']['commit']}`).",
                "",
                *bench.render(data["results"]),
                "",
            ]
    m = machine()
    header = [
        "# Benchmarks",
        "",
        "Every figure below comes from a script under `bench/`; `./dev bench` runs them all and",
        "rewrites this page. Medians of repeated runs, with their spread; a naive baseline beside",
        "each figure where one exists. These machines are shared and noisy: compare ratios, not",
        "absolute times, across machines.",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, Python {m['python']},",
        f"{m['platform']}. Generated {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
        + (" with `--quick` (fewer repetitions)." if args.quick else "."),
        "",
    ]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(header + sections))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
