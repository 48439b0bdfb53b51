"""Score the rules on labelled sets, as written and with every headline replaced by a neutral one.

    python eval/score.py [--rules DIR] [--markdown] DATASET.yaml...

The neutral run shows whether a rule finds the event in the body: a headline that
names the event makes many articles easy, and feeds are full of headlines that do not.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from service.matching import load_rules  # noqa: E402
from service.matching.evaluation import GROUPS, evaluate, load_dataset  # noqa: E402

NEUTRAL_HEADLINE = "World news briefing"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("datasets", nargs="+", type=Path)
    parser.add_argument("--rules", type=Path, default=ROOT / "rules")
    parser.add_argument("--errors", action="store_true", help="list misses and false alarms")
    args = parser.parse_args()
    rules = load_rules(args.rules)
    print("| set | rule | lang | n | P / R / F1 | neutral headlines P / R / F1 |")
    print("| --- | --- | --- | --- | --- | --- |")
    for path in args.datasets:
        dataset = load_dataset(path)
        neutral = [item.model_copy(update={"title": NEUTRAL_HEADLINE}) for item in dataset]
        written, blind = evaluate(rules, dataset), evaluate(rules, neutral)
        for rule, groups in written.items():
            for group in GROUPS:
                a, b = groups[group], blind[rule][group]
                if not a.articles:
                    continue
                print(
                    f"| {path.stem} | {rule} | {group} | {a.articles} "
                    f"| {a.precision:.2f} / {a.recall:.2f} / {a.f1:.3f} "
                    f"| {b.precision:.2f} / {b.recall:.2f} / {b.f1:.3f} |"
                )
            if args.errors:
                for name, groups_ in (("written", written[rule]), ("neutral", blind[rule])):
                    for group in ("en", "non_en"):
                        for item in groups_[group].misses:
                            print(f"    {name} missed: {item}")
                        for item in groups_[group].false_alarms:
                            print(f"    {name} false alarm: {item}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
