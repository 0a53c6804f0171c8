"""Run benchmark suites: ``python -m benchmarks [SUITE ...]`` (default: ``core``).

Each suite is a module of this package with a ``run() -> None`` function that prints its table.
"""

from __future__ import annotations

import argparse
import importlib

SUITES = {
    "core": "fit of a 64-64-10 MLP vs scikit-learn, and full gradient checks",
    "grading": "release, autograde one submission, throughput with --jobs 1 vs 2",
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "suites",
        nargs="*",
        default=["core"],
        choices=sorted(SUITES) + ["all"],
        help="; ".join(f"{name}: {what}" for name, what in SUITES.items()),
    )
    args = parser.parse_args(argv)
    names = sorted(SUITES) if "all" in args.suites else args.suites
    for name in names:
        print(f"== {name}: {SUITES[name]}")
        importlib.import_module(f"benchmarks.{name}").run()


if __name__ == "__main__":
    main()
