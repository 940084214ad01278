#!/usr/bin/env python3
"""Experiment (b): CFS's CPU shares for different nice values against Linux's weights.

Runs scenario.json (four CPU hogs of nice -5, 0, 5, 10 on one CPU under CFS for 4 s) and
scenario_wide.json (nice -20, -10, 0, 10, 19), and plots each task's measured share of
the CPU time the hogs got beside the share Linux's nice-to-weight table predicts,
weight(nice) / sum of the weights.

    examples/scheduling/cfs_nice/run.py [OSSIM] [--out DIR]
"""

import json
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import ossim_experiment as ox  # noqa: E402

# Linux's sched_prio_to_weight (kernel/sched/core.c), nice -20 to 19.
PRIO_TO_WEIGHT = [
    88761, 71755, 56483, 46273, 36291,
    29154, 23254, 18705, 14949, 11916,
    9548, 7620, 6100, 4904, 3906,
    3121, 2501, 1991, 1586, 1277,
    1024, 820, 655, 526, 423,
    335, 272, 215, 172, 137,
    110, 87, 70, 56, 45,
    36, 29, 23, 18, 15,
]
SCENARIOS = ["scenario.json", "scenario_wide.json"]


def weight(nice: int) -> int:
    return PRIO_TO_WEIGHT[nice + 20]


def shares(scenario_path: pathlib.Path, metrics: dict) -> list[tuple[str, int, float, float, dict]]:
    """(name, nice, measured share, predicted share, task) for each entry of the scenario."""
    entries = json.loads(scenario_path.read_text())["workloads"]
    nice = {entry["name"]: entry.get("nice", 0) for entry in entries}
    total_cpu = sum(task["cpu_ns"] for task in metrics["tasks"])
    total_weight = sum(weight(n) for n in nice.values())
    rows = []
    for name, n in nice.items():
        task = ox.task_named(metrics, name)
        rows.append((name, n, task["cpu_ns"] / total_cpu, weight(n) / total_weight, task))
    return rows


def main() -> None:
    args = ox.parse_args(__doc__.splitlines()[0], HERE)
    plt = ox.use_matplotlib()
    calls = [(args.ossim, HERE / name, args.out / pathlib.Path(name).stem, 1) for name in SCENARIOS]
    results = ox.run_many(args.jobs, calls)

    fig, axes = plt.subplots(1, len(SCENARIOS), figsize=(12, 5))
    worst = 0.0
    for ax, name, metrics in zip(axes, SCENARIOS, results):
        rows = shares(HERE / name, metrics)
        end_ms = metrics["run"]["end_ns"] / ox.NS_PER_MS
        busy = sum(cpu["busy_ns"] for cpu in metrics["cpus"])
        print(f"{name}: 1 CPU, CFS, {end_ms:.0f} ms, hogs' CPU time {ox.ms(sum(r[4]['cpu_ns'] for r in rows))} ms "
              f"of {ox.ms(busy)} ms busy")
        print(f"  {'task':8} {'nice':>4} {'weight':>6} {'cpu ms':>9} {'measured':>9} {'predicted':>9} {'error':>7} "
              f"{'slices':>6}")
        for task_name, n, measured, predicted, task in rows:
            error = (measured - predicted) / predicted
            worst = max(worst, abs(error))
            print(f"  {task_name:8} {n:4d} {weight(n):6d} {ox.ms(task['cpu_ns']):>9} {measured:9.5f} {predicted:9.5f} "
                  f"{error:+7.2%} {task['slices']:6d}")
        positions = range(len(rows))
        width = 0.4
        ax.bar([p - width / 2 for p in positions], [r[2] for r in rows], width, label="measured (ossim)")
        ax.bar([p + width / 2 for p in positions], [r[3] for r in rows], width, label="weight / sum of weights")
        ax.set_xticks(list(positions), [f"nice {r[1]}\nw={weight(r[1])}" for r in rows])
        ax.set_ylabel("share of the CPU time")
        ax.set_title(f"{name}: {len(rows)} hogs, 1 CPU, {end_ms:.0f} ms")
        if name == "scenario_wide.json":
            ax.set_yscale("log")
        for p, (_, _, measured, predicted, _) in zip(positions, rows):
            ax.annotate(f"{(measured - predicted) / predicted:+.2%}", (p, max(measured, predicted)),
                        ha="center", va="bottom", fontsize=8)
        ax.legend()
    fig.suptitle("CFS: CPU share by nice value vs Linux's nice-to-weight table (labels: relative error)")
    print(f"largest relative error of a share: {worst:.2%}")
    ox.save_plot(fig, args.out, "cfs_nice.png")


if __name__ == "__main__":
    main()
