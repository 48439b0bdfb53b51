"""What a failover loses: kill -9 of the primary holding the articles stream, with and without WAIT.

Runs the fault suite's scenario (tests/failoverkit.py): a writer appends
articles as fast as Redis acknowledges them, a matcher and a dispatcher
process turn them into webhooks, and half-way through the primary holding the
articles stream is killed with SIGKILL; its replica takes over, and the killed
node comes back 3 s later as a replica. Printed per Redis form and WAIT
setting: acknowledged articles whose alerts never arrived (lost), how long
writes failed, the write rate before the kill (what WAIT costs), duplicates.

    python bench/failover.py [--forms sentinel,cluster] [--trials 3] [--articles 2000] [--json PATH]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import parser, summary, write_json  # noqa: E402
from tests.failoverkit import CountingReceiver, Outcome, run_failover  # noqa: E402


async def trial(form: str, wait: int, articles: int) -> Outcome:
    receiver = CountingReceiver()
    await receiver.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            return await run_failover(form, Path(tmp), receiver, wait_replicas=wait, articles=articles)
    finally:
        await receiver.stop()


async def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--forms", default="sentinel,cluster")
    p.add_argument("--trials", type=int, default=3)
    p.add_argument("--articles", type=int, default=2000)
    args = p.parse_args()
    trials = 1 if args.quick else args.trials
    results: dict[str, object] = {}
    print(f"kill -9 of the articles stream's primary after {args.articles // 2} of {args.articles} articles")
    print(
        f"{'form':<9} {'WAIT':>4} {'lost (per trial)':<18} {'writes failed for':>18} {'writes/s':>9} {'dup':>5}"
    )
    for form in args.forms.split(","):
        for wait in (1, 0):
            outcomes = [await trial(form, wait, args.articles) for _ in range(trials)]
            lost = [o.lost_articles for o in outcomes]
            outage = summary([o.write_outage_s for o in outcomes])
            rate = summary([o.writes_per_s for o in outcomes])
            dup = [o.duplicates for o in outcomes]
            results[f"{form}/wait={wait}"] = {
                "lost_articles": lost,
                "acknowledged": [len(o.acknowledged) for o in outcomes],
                "write_outage_s": outage,
                "writes_per_s": rate,
                "duplicates": dup,
                "drain_s": summary([o.drain_s for o in outcomes]),
            }
            print(
                f"{form:<9} {wait:>4} {lost!s:<18} {outage['median']:>16.1f} s {rate['median']:>9.0f}"
                f" {max(dup):>5}"
            )
    write_json(args.json, "failover", results)


if __name__ == "__main__":
    asyncio.run(main())
