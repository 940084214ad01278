#!/usr/bin/env python3
"""Thrashing: throughput and page-fault rate against the number of processes.

Runs scenario.json (N `thrash` processes, each repeating jobs over a 12 MiB working set
with computation per touch, on one CPU with 64 MiB of memory and swap on an SSD) for
N = 1 to 10, 3 simulated seconds each, and plots the jobs finished per second and the
major faults per second against N. While the working sets fit (N <= 4, 48 MiB of the
machine's 63 MiB) throughput stays at what the CPU can do; past that the processes
spend their time waiting for swap and throughput collapses (Denning's thrashing).

    examples/memory/thrash/run.py [OSSIM] [--out DIR] [-j N]
"""

import copy
import json
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "scheduling"))
import ossim_experiment as ox  # noqa: E402

COUNTS = list(range(1, 11))


def main() -> None:
    args = ox.parse_args(__doc__.splitlines()[0], HERE)
    plt = ox.use_matplotlib()
    base = json.loads((HERE / "scenario.json").read_text())
    calls = []
    for count in COUNTS:
        scenario = copy.deepcopy(base)
        scenario["workloads"][0]["count"] = count
        calls.append((args.ossim, scenario, args.out / f"n{count}", 1))
    results = ox.run_many(args.jobs, calls)

    seconds = [m["run"]["end_ns"] / 1e9 for m in results]
    throughput = [m["totals"]["jobs"] / s for m, s in zip(results, seconds)]
    majors = [sum(t["major_faults"] for t in m["tasks"]) / s for m, s in zip(results, seconds)]
    utilisation = [m["totals"]["mean_utilisation"] for m in results]

    fig, left = plt.subplots(figsize=(8, 5))
    left.plot(COUNTS, throughput, "o-", color="tab:blue", label="throughput (jobs/s)")
    left.set_xlabel("processes (12 MiB working set each; memory 64 MiB)")
    left.set_ylabel("jobs finished per second", color="tab:blue")
    left.axvline(63 / 12, color="grey", linestyle=":", label="working sets = memory")
    right = left.twinx()
    right.plot(COUNTS, majors, "s--", color="tab:red", label="major faults/s")
    right.set_ylabel("major page faults per second", color="tab:red")
    left.set_title("Thrashing: throughput collapses once the working sets exceed memory")
    lines = left.get_legend_handles_labels()
    more = right.get_legend_handles_labels()
    left.legend(lines[0] + more[0], lines[1] + more[1], loc="upper right")
    fig.tight_layout()
    png = args.out / "thrash.png"
    fig.savefig(png, dpi=120)

    print(f"{'N':>3} {'jobs/s':>8} {'major faults/s':>15} {'CPU utilisation':>16}")
    for count, jobs, faults, busy in zip(COUNTS, throughput, majors, utilisation):
        print(f"{count:>3} {jobs:>8.1f} {faults:>15.0f} {busy:>16.3f}")
    print(f"plot: {png}")


if __name__ == "__main__":
    main()
