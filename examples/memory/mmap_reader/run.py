#!/usr/bin/env python3
"""mmap_reader: sequential against random reads of a mapped file, on an HDD and an SSD.

Runs scenario.json (one process mapping the 1 GiB data disk /dev/sdb and touching 4096
pages of its first 256 MiB, one word each) with the pattern sequential or random and the
disk an HDD (7200 rpm) or an SSD, and random touches also with madvise(MADV_RANDOM), and
plots the mean time per page touched and the major faults. Sequential touches fault once
per 32-page readahead window and stream from the disk; random ones fault on almost every
page and pay, on the HDD, a seek and half a rotation each, and, without MADV_RANDOM, the
readahead of 31 pages they do not use.

    examples/memory/mmap_reader/run.py [OSSIM] [--out DIR] [-j N]
"""

import copy
import json
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "scheduling"))
import ossim_experiment as ox  # noqa: E402

# (disk, pattern, madvise advice)
CASES = [(kind, pattern, advice) for kind in ("hdd", "ssd")
         for pattern, advice in (("sequential", "normal"), ("random", "normal"), ("random", "random"))]


def main() -> None:
    args = ox.parse_args(__doc__.splitlines()[0], HERE)
    plt = ox.use_matplotlib()
    base = json.loads((HERE / "scenario.json").read_text())
    calls = []
    for kind, pattern, advice in CASES:
        scenario = copy.deepcopy(base)
        scenario["machine"]["disks"][0]["kind"] = kind
        scenario["workloads"][0]["params"]["pattern"] = pattern
        scenario["workloads"][0]["params"]["advice"] = advice
        calls.append((args.ossim, scenario, args.out / f"{kind}-{pattern}-{advice}", 1))
    results = ox.run_many(args.jobs, calls)

    rows = []
    for (kind, pattern, advice), metrics in zip(CASES, results):
        task = ox.task_named(metrics, "reader")
        touches = base["workloads"][0]["params"]["touches"]
        per_touch_us = task["turnaround_ns"] / touches / 1000
        label = pattern if advice == "normal" else f"{pattern}+MADV_{advice.upper()}"
        rows.append((kind, label, per_touch_us, task["major_faults"]))

    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
    labels = [f"{kind}\n{pattern}".replace("+", "\n+") for kind, pattern, _, _ in rows]
    palette = {"sequential": "tab:blue", "random": "tab:orange"}
    colours = [palette.get(pattern, "tab:green") for _, pattern, _, _ in rows]
    left.bar(labels, [row[2] for row in rows], color=colours)
    left.set_yscale("log")
    left.set_ylabel("mean time per page touched (us, log scale)")
    left.set_title("Reading a mapped disk: time per page")
    right.bar(labels, [row[3] for row in rows], color=colours)
    right.set_ylabel("major page faults (4096 touches)")
    right.set_title("Major faults (readahead: 32 pages)")
    fig.tight_layout()
    png = args.out / "mmap_reader.png"
    fig.savefig(png, dpi=120)

    print(f"{'disk':<5} {'pattern':<19} {'us/page':>9} {'major faults':>13}")
    for kind, pattern, per_touch, majors in rows:
        print(f"{kind:<5} {pattern:<19} {per_touch:>9.1f} {majors:>13}")
    print(f"plot: {png}")


if __name__ == "__main__":
    main()
