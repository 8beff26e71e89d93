#!/usr/bin/env python3
"""Ray's side of the large-object metrics that `ray microbenchmark` lacks.

Measured with Ray's own `timeit` (ray._private.ray_microbenchmark_helpers:
warm-up, then four windows of at least 2 s; mean +- sd) and printed in its
"<name> per second <mean> +- <sd>" lines, so tools/compare_ray.py reads them
beside `ray microbenchmark`'s. The Manta metrics of the same names are in
tools/microbenchmark.cpp:

- put gigabytes <size>: ray.put of a written numpy uint8 array of 1 KiB to
  1 GiB, ref dropped; GB/s (1e9 bytes).
- tutorial 800mb put 10 readers: ray.put of 100 M float64 (800 MB), 10 tasks
  each counting the values above k / 10 in it, their results got; per second.

Honours TESTS_TO_RUN and TESTS_TO_SKIP as `ray microbenchmark` does.

    python ray_large_objects.py
"""

import numpy as np
import ray
from ray._private.ray_microbenchmark_helpers import timeit

SIZES = [
    ("1 KiB", 1 << 10),
    ("64 KiB", 64 << 10),
    ("1 MiB", 1 << 20),
    ("16 MiB", 16 << 20),
    ("256 MiB", 256 << 20),
    ("1 GiB", 1 << 30),
]


def report(results):
    """timeit prints its figures rounded to 2 decimals (0.0 GB/s for a 1 KiB
    put); the same line again, with 6 significant digits, replaces it for
    compare_ray.py (the last line of a name counts)."""
    for r in results:
        if r is not None:
            name, mean, sd = r
            print(f"{name} per second {mean:.6g} +- {sd:.6g}", flush=True)


@ray.remote
def count_above(data, k):
    return int(np.count_nonzero(data > k / 10))


def main():
    ray.init()
    for label, size in SIZES:
        arr = np.ones(size, dtype=np.uint8)  # written, like Manta's source

        def put_once(arr=arr):
            ray.put(arr)

        report(timeit(f"put gigabytes {label}", put_once, size / 1e9))
        del arr

    data = np.random.default_rng(1).random(100_000_000)

    def tutorial():
        ref = ray.put(data)
        counts = ray.get([count_above.remote(ref, k) for k in range(10)])
        assert counts[-1] > 0

    report(timeit("tutorial 800mb put 10 readers", tutorial))
    ray.shutdown()


if __name__ == "__main__":
    main()
