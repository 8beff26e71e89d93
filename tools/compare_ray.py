#!/usr/bin/env python3
"""Side-by-side table of `ray microbenchmark` and `manta microbenchmark`.

Reads Ray's text output (lines "<name> per second <mean> +- <sd>") and
Manta's --json output, both measured on this machine in the same session,
and prints each shared metric with the ratio Manta / Ray.

    compare_ray.py RAY_OUTPUT.txt MANTA_OUTPUT.json
"""

import json
import re
import sys

LINE = re.compile(r"^(.+?) per second ([0-9.eE+-]+) \+- ([0-9.eE+-]+)")


def metric_name(ray_name):
    """Ray's printed name to the metric's name: "1:1 async-actor calls sync"
    -> "1_1_async_actor_calls_sync". Ray's store metrics say "(Plasma
    Store)"; Manta has one store, so the names meet without it."""
    name = ray_name.lower().replace("(plasma store)", "")
    return re.sub(r"[^a-z0-9]+", "_", name).strip("_")


def ray_figures(path):
    figures = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = LINE.match(line.strip())
            if m:
                figures[metric_name(m.group(1))] = (float(m.group(2)), float(m.group(3)))
    return figures


def manta_figures(path):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    return {m["name"]: (m["per_second"], m["sd"]) for m in doc["metrics"]}


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    ray, manta = ray_figures(argv[1]), manta_figures(argv[2])
    if not ray:
        print(f"compare_ray: no Ray figures found in {argv[1]}", file=sys.stderr)
        return 1
    print(f"{'metric':45} {'Ray (this machine)':>22} {'Manta (this machine)':>24} {'Manta/Ray':>10}")
    for name, (m_mean, m_sd) in manta.items():
        if name not in ray:
            continue
        r_mean, r_sd = ray[name]
        ratio = m_mean / r_mean if r_mean > 0 else float("inf")
        print(f"{name:45} {r_mean:13.1f} +- {r_sd:7.1f} {m_mean:15.1f} +- {m_sd:7.1f} {ratio:9.1f}x")
    missing = sorted(set(manta) - set(ray))
    if missing:
        print("\nmeasured by Manta only: " + ", ".join(missing))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
