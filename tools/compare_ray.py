#!/usr/bin/env python3
"""Side-by-side table of interleaved `ray microbenchmark` and `manta
microbenchmark` rounds.

Reads Ray's text output of each round (lines "<name> per second <mean> +-
<sd>", from `ray microbenchmark` and tools/ray_large_objects.py) and Manta's
--json output of each round, all measured on this machine in the same
session, and prints per shared metric the median of the rounds' figures on
each side, their spread (lowest-highest over the rounds) and the ratio of
the medians, Manta / Ray.

    compare_ray.py [--markdown] --ray R1.txt [R2.txt ...] --manta M1.json [M2.json ...]
"""

import argparse
import json
import re
import statistics
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
                figures[metric_name(m.group(1))] = float(m.group(2))
    return figures


def manta_figures(path):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    return {m["name"]: m["per_second"] for m in doc["metrics"]}


def rounds_of(paths, read):
    """{metric: [figure of each round that measured it]}"""
    out = {}
    for path in paths:
        for name, value in read(path).items():
            out.setdefault(name, []).append(value)
    return out


def fmt(x):
    return f"{x:,.0f}" if x >= 100 else f"{x:.3g}"


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ray", nargs="+", required=True)
    parser.add_argument("--manta", nargs="+", required=True)
    parser.add_argument("--markdown", action="store_true", help="a Markdown table")
    args = parser.parse_args(argv[1:])
    ray = rounds_of(args.ray, ray_figures)
    manta = rounds_of(args.manta, manta_figures)
    if not ray:
        print(f"compare_ray: no Ray figures found in {' '.join(args.ray)}", file=sys.stderr)
        return 1
    rows = []
    for name, m_values in manta.items():
        if name not in ray:
            continue
        r_values = ray[name]
        r_med, m_med = statistics.median(r_values), statistics.median(m_values)
        ratio = m_med / r_med if r_med > 0 else float("inf")
        rows.append((name, r_med, min(r_values), max(r_values), len(r_values),
                     m_med, min(m_values), max(m_values), len(m_values), ratio))
    title = (f"medians of {len(args.ray)} Ray and {len(args.manta)} Manta rounds, "
             "interleaved; spread = lowest-highest round")
    if args.markdown:
        print(f"<!-- {title} -->")
        print("| metric | Ray: median (spread) | Manta: median (spread) | Manta / Ray |")
        print("|---|---|---|---|")
        for n, rm, rlo, rhi, _, mm, mlo, mhi, _, ratio in rows:
            print(f"| {n} | {fmt(rm)} ({fmt(rlo)}-{fmt(rhi)}) | {fmt(mm)} ({fmt(mlo)}-{fmt(mhi)})"
                  f" | {ratio:.2f}x |")
    else:
        print(title)
        print(f"{'metric':42} {'Ray median':>12} {'(spread)':>22} {'Manta median':>13}"
              f" {'(spread)':>22} {'Manta/Ray':>10}")
        for n, rm, rlo, rhi, _, mm, mlo, mhi, _, ratio in rows:
            print(f"{n:42} {fmt(rm):>12} {'(' + fmt(rlo) + '-' + fmt(rhi) + ')':>22}"
                  f" {fmt(mm):>13} {'(' + fmt(mlo) + '-' + fmt(mhi) + ')':>22} {ratio:9.2f}x")
    missing = sorted(set(manta) - set(ray))
    if missing:
        print("\nmeasured by Manta only: " + ", ".join(missing))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
