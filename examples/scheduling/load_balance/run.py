#!/usr/bin/env python3
"""Experiment (d): load balancing on 4 CPUs with affinity (CFS).

Runs scenario.json (eight CPU hogs on four CPUs: five free, one pinned to CPU 0, two to
CPUs 0-1, arriving at staggered times, 1.5 s) with three settings of
kernel.scheduler.balance_ms: 4 ms (the default), 50 ms, and 10000 ms (longer than the
run: busy CPUs never balance; an idle CPU still pulls work at each tick and before it
goes idle). From each run's trace (events.jsonl: the CPU run slices) it draws which task
ran on which CPU when, checks that every slice of a pinned task ran on a CPU of its
affinity, and plots each task's CPU share from the last arrival (400 ms) on, with its
migrations.

    examples/scheduling/load_balance/run.py [OSSIM] [--out DIR]
"""

import collections
import json
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import ossim_experiment as ox  # noqa: E402

SETTINGS = [(4, "balance_ms = 4 (default)"), (50, "balance_ms = 50"),
            (10000, "balance_ms = 10000 (busy CPUs never balance)")]
PS_PER_MS = 1_000_000_000


def cpu_slices(run_dir: pathlib.Path) -> list[tuple[int, int, float, float]]:
    """(cpu, tid, start_ms, end_ms) of every run slice on a CPU track of the trace."""
    cpu_of_track, slices = {}, []
    with open(run_dir / "events.jsonl") as events:
        for line in events:
            record = json.loads(line)
            if record["type"] == "track" and record.get("kind") == "cpu":
                cpu_of_track[record["track"]] = record["cpu"]
            elif record["type"] == "slice" and record["track"] in cpu_of_track:
                start = record["t_ps"] / PS_PER_MS
                slices.append((cpu_of_track[record["track"]], record["tid"], start,
                               start + record["dur_ps"] / PS_PER_MS))
    return slices


def main() -> None:
    args = ox.parse_args(__doc__.splitlines()[0], HERE)
    plt = ox.use_matplotlib()
    scenario = json.loads((HERE / "scenario.json").read_text())
    cpus = scenario["machine"]["cpus"]
    entries = scenario["workloads"]
    allowed = {entry["name"]: set(entry.get("cpus", range(cpus))) for entry in entries}
    steady_from = max(entry["arrival_ms"] for entry in entries)
    end_ms = scenario["run"]["end_ms"]

    calls = [(args.ossim, HERE / "scenario.json", args.out / f"balance_{interval}ms", 1,
              [f"kernel.scheduler.balance_ms={interval}"]) for interval, _ in SETTINGS]
    results = ox.run_many(args.jobs, calls)

    names = [entry["name"] for entry in entries]
    colours = {name: plt.get_cmap("tab10")(i) for i, name in enumerate(names)}
    fig, axes = plt.subplots(2, len(SETTINGS), figsize=(6 * len(SETTINGS), 8),
                             gridspec_kw={"height_ratios": [1, 1.1]})
    violations_total = 0
    for column, ((interval, label), metrics) in enumerate(zip(SETTINGS, results)):
        run_dir = args.out / f"balance_{interval}ms"
        task_of_tid = {task["pid"]: task for task in metrics["tasks"]}
        slices = cpu_slices(run_dir)

        # Which task ran where, and the affinity check.
        gantt = axes[0][column]
        bars = collections.defaultdict(list)
        cpus_used = collections.defaultdict(set)
        steady_cpu = collections.defaultdict(float)
        violations = []
        for cpu, tid, start, end in slices:
            task = task_of_tid.get(tid)
            name = task["name"] if task else "kernel/init"
            bars[(cpu, name)].append((start, end - start))
            cpus_used[name].add(cpu)
            if task and cpu not in allowed[name]:
                violations.append((name, cpu, start))
            overlap = min(end, end_ms) - max(start, steady_from)
            if task and overlap > 0:
                steady_cpu[name] += overlap
        for (cpu, name), spans in bars.items():
            gantt.broken_barh(spans, (cpu - 0.4, 0.8), facecolors=colours.get(name, "0.6"),
                              hatch="//" if name.startswith("pin") else None, edgecolor="none")
        gantt.set_yticks(range(cpus), [f"CPU {c}" for c in range(cpus)])
        gantt.invert_yaxis()
        gantt.set_xlim(0, end_ms)
        gantt.set_xlabel("time (ms)")
        gantt.set_title(label)
        if column == 0:
            handles = [plt.Rectangle((0, 0), 1, 1, facecolor=colours[n], hatch="//" if n.startswith("pin") else None)
                       for n in names]
            gantt.legend(handles, names, ncol=4, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.15))

        # Each task's share of a CPU once every task has arrived.
        share_ax = axes[1][column]
        window = end_ms - steady_from
        shares = [steady_cpu[name] / window for name in names]
        for i, name in enumerate(names):
            share_ax.bar(i, shares[i], color=colours[name], hatch="//" if name.startswith("pin") else None,
                         edgecolor="black", linewidth=0.5)
        share_ax.set_xticks(range(len(names)), names)
        ideal = cpus / len(names)  # 8 tasks on 4 CPUs: half a CPU each
        share_ax.axhline(ideal, color="black", linestyle="--", linewidth=1, label=f"even split ({ideal:.2f})")
        for i, name in enumerate(names):
            task = ox.task_named(metrics, name)
            share_ax.annotate(f"{task['migrations']} mig.", (i, shares[i]), ha="center", va="bottom", fontsize=8)
        share_ax.set_ylim(0, 1.15)
        share_ax.set_ylabel(f"CPU share, {steady_from}-{end_ms} ms")
        share_ax.tick_params(axis="x", labelrotation=45)
        share_ax.legend(loc="upper left", fontsize=8)

        jain = sum(shares) ** 2 / (len(shares) * sum(s * s for s in shares))
        migrations = sum(task["migrations"] for task in metrics["tasks"])
        utilisation = ", ".join(f"{cpu['utilisation']:.3f}" for cpu in metrics["cpus"])
        print(f"{label}: migrations {migrations}, Jain's index of the shares {steady_from}-{end_ms} ms {jain:.4f}, "
              f"per-CPU utilisation {utilisation}")
        print(f"  {'task':7} {'allowed':>9} {'ran on':>9} {'share':>6} {'migr.':>5} {'cpu ms':>9}")
        for name, share in zip(names, shares):
            task = ox.task_named(metrics, name)
            allowed_text = ",".join(map(str, sorted(allowed[name])))
            ran_text = ",".join(map(str, sorted(cpus_used[name])))
            print(f"  {name:7} {allowed_text:>9} {ran_text:>9} {share:6.3f} {task['migrations']:5d} "
                  f"{ox.ms(task['cpu_ns']):>9}")
        print(f"  affinity check: {len(slices)} run slices, "
              f"{'every one on an allowed CPU' if not violations else f'{len(violations)} on a CPU outside the affinity: {violations[:5]}'}")
        violations_total += len(violations)

    fig.suptitle("CFS on 4 CPUs: 8 hogs, pin0 on CPU 0, pin01a/b on CPUs 0-1 (hatched); "
                 "which task ran where, and each task's CPU share")
    ox.save_plot(fig, args.out, "load_balance.png", dpi=110)
    if violations_total:
        sys.exit(f"affinity violated {violations_total} times")


if __name__ == "__main__":
    main()
