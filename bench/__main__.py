"""Run every benchmark in order, print its figures, exit non-zero if any missed its target."""

from __future__ import annotations

import importlib
import sys
import time
from collections.abc import Callable
from typing import cast

# Each module exposes `main() -> bool`: True when its figures meet their target.
BENCHES = ["bench.store_append", "bench.reload", "bench.throughput"]


def main() -> int:
    failed: list[str] = []
    for name in BENCHES:
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        run = cast(Callable[[], bool], importlib.import_module(name).main)
        if not run():
            failed.append(name)
        print(f"   ({time.perf_counter() - started:.1f} s)", flush=True)
    print("FAILED: " + ", ".join(failed) if failed else "all benchmarks passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
