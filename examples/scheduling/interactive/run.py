#!/usr/bin/env python3
"""Experiment (a): an interactive task beside CPU hogs under RR, MLFQ and CFS.

Runs scenario.json (one CPU: an interactive task computing 1 ms then thinking 0-20 ms,
and four CPU hogs, for 10 s) once per policy, and plots the CDF of the interactive task's
wakeup latency (from each wakeup to running again: the delay of each request) from the
histogram buckets of metrics.json, one line per policy, log x axis.

    examples/scheduling/interactive/run.py [OSSIM] [--out DIR]
"""

import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import ossim_experiment as ox  # noqa: E402

POLICIES = ["rr", "mlfq", "cfs"]
LABELS = {"rr": "RR (10 ms quantum)", "mlfq": "MLFQ (3 levels, 10 ms, boost 200 ms)", "cfs": "CFS"}
STYLES = {"rr": "-", "mlfq": "--", "cfs": "-"}


def main() -> None:
    args = ox.parse_args(__doc__.splitlines()[0], HERE)
    plt = ox.use_matplotlib()
    calls = [(args.ossim, HERE / "scenario.json", args.out / policy, 1, [f"kernel.scheduler.policy={policy}"])
             for policy in POLICIES]
    results = dict(zip(POLICIES, ox.run_many(args.jobs, calls)))

    fig, ax = plt.subplots(figsize=(8, 5))
    print("interactive task's wakeup latency (ms), 1 CPU, 4 hogs, 10 s:")
    print(f"{'policy':6} {'wakeups':>7} {'mean':>8} {'p50':>8} {'p95':>8} {'p99':>8} {'max':>8} "
          f"{'its CPU':>8} {'hogs CPU':>9}")
    for policy, metrics in results.items():
        task = ox.task_named(metrics, "interactive")
        latency = task["wakeup_latency"]
        if not latency.get("buckets"):
            sys.exit(f"{policy}: metrics.json has no wakeup_latency buckets (an ossim older than the histogram export?)")
        xs, ys = ox.histogram_cdf(latency)
        # Each bucket's samples lie between the previous bound and its own: draw the rise
        # across the bucket (8 buckets per octave), starting from 0 below the first one.
        px, py, previous_x, previous_y = [], [], 0.0, 0.0
        for x, y in zip(xs, ys):
            lower = max(previous_x, x / 2 ** (1 / 8))
            px += [lower, x]
            py += [previous_y, y]
            previous_x, previous_y = x, y
        ax.plot(px, py, STYLES[policy], label=LABELS[policy], linewidth=2)
        hogs = sum(t["cpu_ns"] for t in metrics["tasks"] if t["name"] == "hog")
        print(f"{policy:6} {latency['count']:7d} {ox.ms(latency['mean_ns']):>8} {ox.ms(latency['p50_ns']):>8} "
              f"{ox.ms(latency['p95_ns']):>8} {ox.ms(latency['p99_ns']):>8} {ox.ms(latency['max_ns']):>8} "
              f"{ox.ms(task['cpu_ns']):>8} {ox.ms(hogs):>9}")
    ax.set_xscale("log")
    ax.set_xlabel("wakeup latency of the interactive task (ms, log scale)")
    ax.set_ylabel("fraction of wakeups")
    ax.set_ylim(0, 1.02)
    ax.grid(True, which="both", alpha=0.3)
    ax.set_title("Interactive task beside 4 CPU hogs on 1 CPU: wakeup latency CDF")
    ax.legend(loc="center", bbox_to_anchor=(0.45, 0.5))
    ox.save_plot(fig, args.out, "interactive.png")


if __name__ == "__main__":
    main()
