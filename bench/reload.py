"""How long a rule reload stops the event loop: in the watcher's thread, beside the naive reload on the loop.

    python bench/reload.py [--terms 20000,50000] [--runs 3] [--quick]

A rules directory (the shipped library plus one generated term list) is
edited, and ``RuleSource.refresh`` reloads it, the way the service does
(``lifecycle.watch_file``: in a thread, the new rule set then set aside from the
garbage collector's passes), the same without setting it aside, and the way it
used to (called on the event loop). A ticker on the loop wakes every 10 ms; its worst lateness is
the time no request, not even ``/livez``, could have been answered.
"""

from __future__ import annotations

import asyncio
import gc
import random
import shutil
import string
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import parser, summary  # noqa: E402
from service.lifecycle import set_aside_long_lived, settling  # noqa: E402
from service.matching import RuleSource  # noqa: E402

TICK = 0.01


def term_list(count: int, seed: int) -> str:
    rng = random.Random(seed)
    words = (
        "".join(rng.choices(string.ascii_lowercase, k=rng.randint(5, 10)))
        + " "
        + "".join(rng.choices(string.ascii_lowercase, k=6))
        for _ in range(count)
    )
    return "list: generated\nterms:\n" + "".join(f"  - {w}\n" for w in words)


async def worst_stall(reload: Callable[[], Awaitable[object]]) -> tuple[float, float]:
    """(seconds the reload took, worst lateness of a 10 ms ticker meanwhile)."""
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    worst = 0.0

    async def ticker() -> None:
        nonlocal worst
        while not done.is_set():
            expected = loop.time() + TICK
            await asyncio.sleep(TICK)
            worst = max(worst, loop.time() - expected)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(3 * TICK)
    started = time.perf_counter()
    await reload()
    took = time.perf_counter() - started
    done.set()
    await task
    return took, worst


async def measure(terms: int, runs: int) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as name:
        rules = Path(name) / "rules"
        shutil.copytree(ROOT / "rules", rules)
        source = RuleSource(rules)
        for way in ("unfrozen", "thread", "loop"):
            if way == "unfrozen":
                gc.unfreeze()  # the service before it set its rule sets aside from the collector
            else:
                set_aside_long_lived()  # as the service does once its rules are loaded
            took_all, stalls = [], []
            for run in range(runs):
                (rules / "lists" / "generated.yaml").write_text(term_list(terms, seed=run * 2 + len(way)))

                async def reload(way: str = way) -> bool:
                    if way == "thread":  # as the service's watcher does
                        return await asyncio.to_thread(settling(source.refresh))
                    if way == "unfrozen":
                        return await asyncio.to_thread(source.refresh)
                    return source.refresh()  # the naive way: on the event loop

                took, stall = await worst_stall(reload)
                assert source.errors == [], source.errors
                took_all.append(took)
                stalls.append(stall)
            out[way] = {"reload_s": summary(took_all)["median"], "stall_ms": summary(stalls)["median"] * 1000}
            out[way]["stall_max_ms"] = summary(stalls)["max"] * 1000
    return out


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--terms", default="20000,50000", help="sizes of the generated term list")
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args()
    sizes = [int(s) for s in args.terms.split(",")]
    runs = 1 if args.quick else args.runs
    print(f"rule reload: the shipped rules plus one generated term list; median of {runs} runs")
    print(f"{'terms':>7}  {'where':<22} {'reload':>8}  {'worst loop stall':>17}  {'(max)':>8}")
    for terms in sizes:
        results = asyncio.run(measure(terms, runs))
        for way, label in (
            ("thread", "thread (the service)"),
            ("unfrozen", "thread, collector on"),
            ("loop", "event loop (naive)"),
        ):
            r = results[way]
            print(
                f"{terms:>7}  {label:<22} {r['reload_s']:>7.2f}s  {r['stall_ms']:>14.0f} ms  {r['stall_max_ms']:>5.0f} ms"
            )


if __name__ == "__main__":
    main()
