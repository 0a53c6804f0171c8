"""Run benchmark suites: ``python -m benchmarks [SUITE ...]`` (default: ``core``).

Each suite is a module of this package with a ``run() -> None`` function that prints its table.
"""

from __future__ import annotations

import argparse
import importlib

SUITES = {
    "core": "fit of a 64-64-10 MLP vs scikit-learn, and full gradient checks",
    "grading": "release, autograde one submission, throughput with --jobs 1 vs 2",
    "notebooks": "each solution notebook run with nbclient (time, slowest cell, kernel memory); "
    "one student's whole course autograded",
    "widgets": "learning-rate and initialization explorers: time of one update, 50 settings",
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "suites",
        nargs="*",
        metavar="SUITE",
        help="; ".join(f"{name}: {what}" for name, what in SUITES.items()) + "; all: every suite",
    )
    args = parser.parse_args(argv)
    # choices= is not used: Python 3.11's argparse checks a nargs="*" default list against
    # the choices as a single value, so a bare `python -m benchmarks` failed.
    unknown = sorted(set(args.suites) - set(SUITES) - {"all"})
    if unknown:
        parser.error(f"unknown suite(s) {unknown}; choose from {sorted(SUITES)} or all")
    suites = args.suites or ["core"]
    names = sorted(SUITES) if "all" in suites else suites
    for name in names:
        print(f"== {name}: {SUITES[name]}")
        importlib.import_module(f"benchmarks.{name}").run()


if __name__ == "__main__":
    main()
