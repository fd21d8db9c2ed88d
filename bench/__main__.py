"""`python -m bench` (`make bench`): every benchmark, then one table; exit 1 if a target fails.

`python -m bench turns streams` runs only the named parts. Never part of `make test`: these
figures are wall-clock times, and a test that asserts one fails on a busy machine.
"""

from __future__ import annotations

import importlib
import sys
import time
from collections.abc import Callable
from typing import cast

from bench import load
from bench.report import Row, table

# Each module exposes `measure() -> list[Row]`.
PARTS = ["turns", "startup", "streams", "store_append", "reload"]


def main(argv: list[str]) -> int:
    parts = argv or PARTS
    unknown = set(parts) - set(PARTS)
    if unknown:
        print(f"unknown part(s): {', '.join(sorted(unknown))}; choose from {', '.join(PARTS)}")
        return 2
    print(f"load generator: {load.generator()}", flush=True)
    rows: list[Row] = []
    began = time.perf_counter()
    for name in parts:
        started = time.perf_counter()
        print(f"== {name} ...", end=" ", flush=True)
        measure = cast(Callable[[], list[Row]], importlib.import_module(f"bench.{name}").measure)
        rows += measure()
        print(f"{time.perf_counter() - started:.0f} s", flush=True)
    print()
    print(table(rows))
    failed = [r.figure for r in rows if r.ok is False]
    total = time.perf_counter() - began
    targets = sum(r.ok is not None for r in rows)
    print(f"\n{len(failed)} of {targets} targets missed ({total:.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
