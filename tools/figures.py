#!/usr/bin/env python3
"""docs/figures.md, the one place the docs take Manta's figures from.

  python3 tools/figures.py --run [--build=build] [--runs=3]
      runs the benchmarks (`manta microbenchmark --json`, `cluster_benchmark`,
      `scalability`) and keeps their raw output in docs/figures/, with the
      machine's state (date, revision, cores, load average), then writes
      docs/figures.md from it;
  python3 tools/figures.py --peers [--build=build] [--runs=3]
      runs only `peers_benchmark --json` (Manta beside the C++ task
      libraries) into docs/figures/peers_benchmark.json, then writes
      docs/figures.md (also part of --run);
  python3 tools/figures.py
      writes docs/figures.md from the raw output already in docs/figures/;
  python3 tools/figures.py --check
      fails if docs/figures.md is not what the raw output gives (the test
      `figures`, suite docs): the file is never edited by hand.
"""

import argparse
import datetime
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RAW = os.path.join(ROOT, "docs", "figures")
OUT = os.path.join(ROOT, "docs", "figures.md")


def load_average():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def machine_state():
    """The machine's state kept beside raw output: when, at which revision,
    how many cores, the load average before the runs."""
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "revision": subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                                   capture_output=True, text=True).stdout.strip(),
        "cores": os.cpu_count(),
        "load_before": load_average(),
    }


def run_checked(cmd):
    """The standard output of `cmd`; exits if it fails."""
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                       timeout=1800)
    if r.returncode != 0:
        sys.exit(f"figures: {' '.join(cmd)} failed with exit code {r.returncode}")
    return r.stdout


def run(build, runs):
    os.makedirs(RAW, exist_ok=True)
    tools = os.path.join(build, "tools")
    machine = machine_state()
    steps = [
        ("microbenchmark.json", [os.path.join(tools, "manta"), "microbenchmark", "--json",
                                 f"--runs={runs}"]),
        ("cluster_benchmark.txt", [os.path.join(tools, "cluster_benchmark")]),
        ("scalability.txt", [os.path.join(tools, "scalability")]),
        ("broadcast.txt", [os.path.join(tools, "cluster_benchmark"), "--broadcast-nodes=8",
                           "--megabytes=256"]),
    ]
    for name, cmd in steps:
        print("running", " ".join(cmd), flush=True)
        text = run_checked(cmd)
        with open(os.path.join(RAW, name), "w") as f:
            f.write(text)
    machine["load_after"] = load_average()
    machine["commands"] = [" ".join(os.path.relpath(c, ROOT) if os.path.isabs(c) else c
                                    for c in cmd) for _, cmd in steps]
    with open(os.path.join(RAW, "machine.json"), "w") as f:
        json.dump(machine, f, indent=2)
        f.write("\n")


PEERS = os.path.join(RAW, "peers_benchmark.json")


def run_peers(build, runs):
    """`runs` runs of peers_benchmark (each of 5 interleaved rounds), kept
    with the machine's state in docs/figures/peers_benchmark.json."""
    os.makedirs(RAW, exist_ok=True)
    cmd = [os.path.join(build, "tools", "peers_benchmark"), "--json"]
    out = {**machine_state(), "command": os.path.relpath(cmd[0], ROOT) + " --json", "runs": []}
    for i in range(runs):
        print(f"running {' '.join(cmd)} ({i + 1} of {runs})", flush=True)
        out["runs"].append(json.loads(run_checked(cmd)))
    out["load_after"] = load_average()
    with open(PEERS, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


def peers_lines():
    """The section of docs/figures.md on Manta beside the C++ task libraries
    (none before peers_benchmark has run)."""
    if not os.path.exists(PEERS):
        return []
    with open(PEERS) as f:
        peers = json.load(f)
    runs = peers["runs"]
    median = lambda xs: sorted(xs)[len(xs) // 2] if len(xs) % 2 else \
        sum(sorted(xs)[len(xs) // 2 - 1:len(xs) // 2 + 1]) / 2
    load = lambda key: ", ".join(f"{x:.1f}" for x in peers[key])
    lines = ["", "## Against the C++ task libraries (`peers_benchmark`)", "",
             f"Measured {peers['date']} at revision {peers['revision']}, {peers['cores']} cores, "
             f"**load average {load('load_before')}** before and {load('load_after')} after: "
             f"{len(runs)} runs of `{peers['command']}`, each running Manta and every peer in "
             f"turn, {runs[0]['rounds']} interleaved rounds. Figures are the median of the runs' "
             "medians (µs per operation, GB/s for the put); \"Manta / peer\" is Manta's time "
             "over the peer's for the same work in the same run (above 1: Manta is slower), "
             "the median of the runs' ratios, each run's in brackets.", "",
             "| metric | Manta | peer | peer's figure | Manta / peer | runs |",
             "|---|---:|---|---:|---:|---|"]
    for k, m in enumerate(runs[0]["metrics"]):
        ms = [r["metrics"][k] for r in runs]
        unit = " GB/s" if m["unit"] == "GB_per_s" else " µs"
        manta = f"{median([x['manta']['median'] for x in ms]):.3g}{unit}"
        for i, p in enumerate(m["peers"]):
            ps = [x["peers"][i] for x in ms]
            if any("failed" in q for q in ps):
                lines.append(f"| {m['name']} | {manta} | {p['name']} | failed | - | - |")
                continue
            ratios = [q["manta_time_over_peer"] for q in ps]
            lines.append(
                f"| {m['name'] if i == 0 else ''} | {manta if i == 0 else ''} | {p['name']} | "
                f"{median([q['median'] for q in ps]):.3g}{unit} | {median(ratios):.3g}x | "
                + ", ".join(f"{x:.3g}" for x in ratios) + " |")
    lines += ["", "What each metric does: " + "; ".join(
        f"{m['name']}: {m['what']}" for m in runs[0]["metrics"]) + ".", "",
              "| target (issue 25) | Manta / peer, runs | met? |", "|---|---|---|"]
    for k, t in enumerate(runs[0]["targets"]):
        xs = [r["targets"][k]["manta_time_over_peer"] for r in runs]
        met = median(xs) <= t["at_most"]
        lines.append(f"| {t['metric']} within {t['at_most']:g}x of {t['peer']} | "
                     f"{median(xs):.3g}x ({', '.join(f'{x:.3g}' for x in xs)}) | "
                     f"{'yes' if met else '**no**'} |")
    return lines


def number(x):
    """A figure with three significant digits and a unit prefix."""
    for scale, suffix in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
        if abs(x) >= scale:
            return f"{x / scale:.3g}{suffix}"
    return f"{x:.3g}"


def duration(seconds):
    """A time with three significant digits in ns, µs, ms or s."""
    for scale, unit in ((1, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def rate(name, x):
    """Operations per second, or GB/s and MB/s for the byte rows."""
    if "gigabytes" in name:
        return f"{x:.3g} GB/s"
    if "megabytes" in name:
        return f"{x:.3g} MB/s"
    return (number(x) + "/s").replace(" /s", "/s")


def search(pattern, text):
    """The first group of `pattern` in `text` as a float; None if absent."""
    m = re.search(pattern, text)
    return float(m.group(1)) if m else None


def targets(micro, cluster, scalability):
    """The project's targets (docs/performance.md) against this run: rows of
    (target, figure, met)."""
    by = {m["name"]: m for m in micro["metrics"]}
    rows = []

    def at_least(name, goal, label):
        if name in by:
            x = by[name]["per_second"]
            rows.append((label, rate(name, x), x >= goal))

    at_least("single_client_tasks_sync", 50e3, "single_client_tasks_sync >= 50,000/s")
    at_least("single_client_tasks_async", 200e3, "single_client_tasks_async >= 200,000/s")
    at_least("single_client_put_calls", 500e3, "single_client_put_calls >= 500,000/s")
    at_least("single_client_get_calls", 500e3, "single_client_get_calls >= 500,000/s")
    at_least("1_1_actor_calls_sync", 100e3, "1_1_actor_calls_sync >= 100,000/s")
    at_least("1_1_actor_calls_async", 1e6, "1_1_actor_calls_async >= 1,000,000/s")
    below = [m["name"] for m in micro["metrics"] if m.get("times_ray") and m["times_ray"] < 20]
    rows.append(("every metric >= 20x Ray 2.31's published figure",
                 "below: " + ", ".join(below) if below else "all", not below))
    core = ["single_client_tasks_sync", "single_client_tasks_async",
            "1_1_actor_calls_sync", "1_1_actor_calls_async"]
    costs = {n: by[n]["times_floor_cost"] for n in core if n in by}
    if costs:
        rows.append(("task and actor-call costs within 4x of their raw-CAF floor",
                     ", ".join(f"{n} {c:.3g}x" for n, c in costs.items()),
                     max(costs.values()) <= 4))
    if "single_client_put_gigabytes" in by:
        c = by["single_client_put_gigabytes"]["times_floor_cost"]
        rows.append(("single_client_put_gigabytes >= 70% of memcpy into a fresh buffer",
                     f"{1 / c:.0%} of memcpy", 1 / c >= 0.7))
    t = search(r"many_tasks\s+([\d.]+) s\s+ok", scalability)
    b = search(r"(\d+) bytes per queued task", scalability)
    if t is not None and b is not None:
        rows.append(("1,000,000 queued tasks in under 20 s and 4 GiB",
                     f"{t:.3g} s, {b:.0f} bytes per task", t < 20 and b * 1e6 < 4 * 2**30))
    a = search(r"(\d+) bytes per idle actor", scalability)
    if a is not None:
        rows.append(("100,000 live actors under 2 GiB", f"{a:.0f} bytes per idle actor",
                     a * 1e5 < 2 * 2**30))
    r = search(r"cross_node_task_round_trip\s+([\d.]+) us", cluster)
    if r is not None:
        rows.append(("cross-node round trip <= 300 µs", f"{r:.3g} µs", r <= 300))
    n = search(r"cross_node_tasks_async\s+([\d.]+) /s", cluster)
    if n is not None:
        rows.append(("cross-node async tasks >= 50,000/s", rate("", n), n >= 50e3))
    g = search(r"object_transfer\s+([\d.]+) GB/s", cluster)
    if g is not None:
        rows.append(("object transfer >= 1 GB/s on loopback", f"{g:.3g} GB/s", g >= 1))
    return rows


def render():
    with open(os.path.join(RAW, "machine.json")) as f:
        machine = json.load(f)
    with open(os.path.join(RAW, "microbenchmark.json")) as f:
        micro = json.load(f)
    with open(os.path.join(RAW, "cluster_benchmark.txt")) as f:
        cluster = f.read()
    with open(os.path.join(RAW, "scalability.txt")) as f:
        scalability = f.read()
    broadcast_file = os.path.join(RAW, "broadcast.txt")
    broadcast = open(broadcast_file).read() if os.path.exists(broadcast_file) else ""
    load = lambda key: ", ".join(f"{x:.1f}" for x in machine[key])
    lines = [
        "# Figures",
        "",
        "<!-- Generated by tools/figures.py from docs/figures/; do not edit by hand:",
        "     run `python3 tools/figures.py --run` to measure again. -->",
        "",
        "Manta's figures, all from one run of the benchmarks on this project's",
        "machine; the other docs refer here instead of repeating them. Figures",
        "elsewhere are before/after comparisons of one change, measured in its own",
        "session, or Ray's.",
        "",
        f"Measured {machine['date']} at revision {machine['revision']}, "
        f"{machine['cores']} cores shared with other work:",
        f"**load average {load('load_before')}** (1, 5, 15 min) before and "
        f"{load('load_after')} after.",
        "Absolute figures on this shared machine move by 2x and more with the load",
        "(the synchronous round trips, which wait for a thread to wake up, by 10x and",
        "more); ratios measured in one run (Manta against the raw-CAF floor beside",
        "it) move less.",
        "Commands: " + "; ".join(f"`{c}`" for c in machine["commands"]) + ".",
        "",
        "## Single node (`manta microbenchmark`)",
        "",
        "Operations per second (GB/s or MB/s for the byte rows), mean ± standard",
        "deviation over the runs; \"vs Ray\" divides by Ray 2.31's published figure",
        "(64 cores); \"vs floor\" is one Manta operation's cost in units of one",
        "raw-CAF operation of the same run.",
        "",
        "| metric | Manta | ± sd | per operation | Ray 2.31 published | vs Ray | floor | vs floor |",
        "|---|---:|---:|---:|---:|---:|---|---:|",
    ]
    for m in micro["metrics"]:
        name, per_s = m["name"], m["per_second"]
        bytes_row = "gigabytes" in name or "megabytes" in name
        per_op = "" if bytes_row or per_s <= 0 else duration(1 / per_s)
        ray = m.get("ray_published")
        times_ray = m.get("times_ray")
        lines.append(
            f"| {name} | {rate(name, per_s)} | {number(m['sd'])} | {per_op} | "
            f"{rate(name, ray) if ray else '-'} | "
            f"{(f'{times_ray:,.0f}x' if times_ray >= 1000 else f'{times_ray:.3g}x') if times_ray else '-'} | "
            f"{m.get('floor') or '-'} | {m.get('times_floor_cost', '-') if m.get('floor') else '-'} |")
    floor = ", ".join(f"{k} {rate(k, v)}" for k, v in micro.get("floor", {}).items())
    lines += ["", f"Floor in the same run: {floor}.", "",
              "## Across nodes (`cluster_benchmark`: a head and 2 workers x 1 CPU on this machine, TLS)",
              "", "```"]
    lines += [l for l in cluster.splitlines() if l.strip()]
    if broadcast:
        lines += ["```", "", "Broadcast: one 256 MiB object put by the driver, read by a task "
                  "pinned on each of 8 one-CPU workers (`cluster_benchmark --broadcast-nodes=8`):",
                  "", "```"]
        lines += [l for l in broadcast.splitlines() if l.strip()]
    lines += ["```", "", "## Scalability envelope (`scalability`)", "", "```"]
    lines += [l for l in scalability.splitlines() if l.strip()]
    lines += ["```", "", "## Targets", "",
              "The project's targets (why each: docs/performance.md) against this run.", "",
              "| target | this run | met? |", "|---|---|---|"]
    for target, figure, met in targets(micro, cluster, scalability):
        lines.append(f"| {target} | {figure} | {'yes' if met else '**no**'} |")
    lines += peers_lines()
    lines.append("")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    p.add_argument("--run", action="store_true", help="run the benchmarks first")
    p.add_argument("--peers", action="store_true",
                   help="run peers_benchmark only (the rest of docs/figures/ is kept)")
    p.add_argument("--check", action="store_true", help="fail if docs/figures.md is stale")
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--runs", type=int, default=3)
    a = p.parse_args()
    if a.run:
        run(os.path.abspath(a.build), a.runs)
    if a.run or a.peers:
        run_peers(os.path.abspath(a.build), a.runs)
    text = render()
    if a.check:
        with open(OUT) as f:
            if f.read() != text:
                print("FAIL: docs/figures.md is not what docs/figures/ gives; run "
                      "`python3 tools/figures.py` (never edit it by hand)")
                return 1
        print("PASS: docs/figures.md is what docs/figures/ gives")
        return 0
    with open(OUT, "w") as f:
        f.write(text)
    print("wrote", os.path.relpath(OUT, ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
