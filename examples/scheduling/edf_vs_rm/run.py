#!/usr/bin/env python3
"""Experiment (c): EDF vs rate monotonic, deadline misses across utilisation.

For each total utilisation U from 0.50 to 1.00 (step 0.05) and each of N task-set seeds,
runs scenario.json (five implicit-deadline periodic tasks, UUniFast utilisations,
log-uniform periods of 10-100 ms, one CPU, ideal costs, 1 s) under `edf`
(SCHED_DEADLINE, runtime = WCET) and `rm` (SCHED_FIFO, shorter period = higher priority),
and plots (1) the fraction of task sets with at least one deadline miss and (2) the job
miss ratio (sum of deadline_misses / sum of jobs), both against U, with the Liu-Layland
bound n(2^(1/n) - 1) marked. Each task set is also checked against theory: EDF meets
every deadline iff U <= 1; RM's exact test is response-time analysis on the synchronous
release at 0 (the critical instant), which the simulation starts with.

The task sets come from the scenario's `taskset` workload (the same seed at every U
draws the same periods and utilisation proportions, scaled to U), or, with an ossim that
lacks that kind (or --generator python), from the same UUniFast recipe in Python, written
as explicit `periodic` entries.

    examples/scheduling/edf_vs_rm/run.py [OSSIM] [--out DIR] [--sets N]
"""

import json
import math
import pathlib
import random
import re
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import ossim_experiment as ox  # noqa: E402

POLICIES = ["edf", "rm"]
UTILISATIONS = [round(0.50 + 0.05 * i, 2) for i in range(11)]
NS = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}


def duration_ns(value) -> int:
    """A duration of effective_config.json in nanoseconds: a number of ms or "<int><unit>"."""
    if isinstance(value, (int, float)):
        return round(value * NS["ms"])
    match = re.fullmatch(r"(\d+)(s|ms|us|ns)", value)
    if not match:
        raise ValueError(f"unexpected duration {value!r}")
    return int(match.group(1)) * NS[match.group(2)]


def python_task_set(tasks: int, utilisation: float, period_ms: tuple[int, int], seed: int) -> list[dict]:
    """UUniFast utilisations, log-uniform periods rounded down to whole ms, WCET = u x T
    rounded down to whole microseconds: the recipe of ossim's `taskset` kind (its random
    numbers differ)."""
    rng = random.Random(seed)
    shares, remaining = [], 1.0
    for i in range(1, tasks):
        following = remaining * rng.random() ** (1.0 / (tasks - i))
        shares.append(remaining - following)
        remaining = following
    shares.append(remaining)
    periods = [int(math.exp(math.log(period_ms[0]) + rng.random() * (math.log(period_ms[1]) - math.log(period_ms[0]))))
               for _ in range(tasks)]
    entries = []
    for i, (share, period) in enumerate(zip(shares, periods)):
        period = min(max(period, 1), period_ms[1])
        wcet_us = max(1, min(int(share * utilisation * period * 1000), period * 1000))
        entries.append({"kind": "periodic", "name": f"ts.{i}", "period_ms": period, "wcet_ms": f"{wcet_us}us"})
    return entries


def taskset_kind_available(ossim: pathlib.Path) -> bool:
    done = subprocess.run([str(ossim), "validate", str(HERE / "scenario.json")], capture_output=True, text=True)
    if done.returncode == 0:
        return True
    if "unknown workload" in done.stderr or "taskset" in done.stderr:
        return False
    sys.exit(f"ossim validate {HERE / 'scenario.json'} failed:\n{done.stderr}")


def rm_schedulable(tasks: list[tuple[int, int]]) -> bool:
    """Response-time analysis for rate-monotonic priorities, implicit deadlines:
    R = C_i + sum over higher-priority j of ceil(R / T_j) C_j <= T_i. `tasks` are
    (period_ns, wcet_ns) in spawn order; equal periods share a SCHED_FIFO priority, and the
    one spawned first is taken to run first (the release order)."""
    for i, (period, wcet) in enumerate(tasks):
        higher = [(p, c) for j, (p, c) in enumerate(tasks) if p < period or (p == period and j < i)]
        response = wcet + sum(c for _, c in higher)
        while True:
            following = wcet + sum(-(-response // p) * c for p, c in higher)
            if following == response or following > period:
                break
            response = following
        if following > period:
            return False
    return True


def main() -> None:
    args = ox.parse_args(__doc__.splitlines()[0], HERE, extra=[
        (["--sets"], {"type": int, "default": 30, "help": "task sets per utilisation (default: %(default)s)"}),
        (["--generator"], {"choices": ["auto", "ossim", "python"], "default": "auto",
                           "help": "where the task sets come from (default: the taskset kind if ossim has it)"}),
    ])
    plt = ox.use_matplotlib()
    template = json.loads((HERE / "scenario.json").read_text())
    spec = template["workloads"][0]
    n = spec["tasks"]
    generator = args.generator
    if generator == "auto":
        generator = "ossim" if taskset_kind_available(args.ossim) else "python"

    calls, keys = [], []
    for utilisation in UTILISATIONS:
        for seed in range(1, args.sets + 1):
            for policy in POLICIES:
                out_dir = args.out / f"{policy}_u{utilisation:.2f}_s{seed}"
                if generator == "ossim":
                    scenario = HERE / "scenario.json"
                    sets = [f"kernel.scheduler.policy={policy}", f"workloads.0.utilisation={utilisation}",
                            f"workloads.0.seed={seed}"]
                else:
                    scenario = json.loads(json.dumps(template))
                    scenario["kernel"]["scheduler"]["policy"] = policy
                    scenario["workloads"] = python_task_set(n, utilisation, tuple(spec["period_ms"]), seed)
                    sets = []
                calls.append((args.ossim, scenario, out_dir, 1, sets))
                keys.append((policy, utilisation, seed, out_dir))
    print(f"{len(calls)} runs: {len(UTILISATIONS)} utilisations x {args.sets} task sets x {len(POLICIES)} policies, "
          f"{n} tasks, periods {spec['period_ms']} ms, {template['run']['end_ms']} ms each; "
          f"task sets from {'the taskset kind' if generator == 'ossim' else 'Python UUniFast (periodic entries)'}")
    results = ox.run_many(args.jobs, calls)

    # Per (policy, U): sets with a miss, misses, jobs; and the theory check per set.
    stats = {(p, u): {"sets_missed": 0, "misses": 0, "jobs": 0, "real_u": []} for p in POLICIES for u in UTILISATIONS}
    rta_unschedulable = {u: 0 for u in UTILISATIONS}
    disagreements, refused = [], 0
    for (policy, utilisation, seed, out_dir), metrics in zip(keys, results):
        effective = json.loads((out_dir / "effective_config.json").read_text())
        tasks = [(duration_ns(w["period_ms"]), duration_ns(w["wcet_ms"])) for w in effective["workloads"]]
        real_u = sum(c / p for p, c in tasks)
        if "admission control refused" in (out_dir / "console.txt").read_text():
            refused += 1
        ts = [t for t in metrics["tasks"] if t["name"].startswith("ts.")]
        misses = sum(t["deadline_misses"] for t in ts)
        jobs = sum(t["jobs"] for t in ts)
        entry = stats[(policy, utilisation)]
        entry["sets_missed"] += misses > 0
        entry["misses"] += misses
        entry["jobs"] += jobs
        entry["real_u"].append(real_u)
        predicted_miss = real_u > 1 + 1e-12 if policy == "edf" else not rm_schedulable(tasks)
        if policy == "rm":
            rta_unschedulable[utilisation] += predicted_miss
        if predicted_miss != (misses > 0):
            disagreements.append((policy, utilisation, seed, real_u, misses, jobs, tasks))

    liu_layland = n * (2 ** (1 / n) - 1)
    print(f"Liu-Layland bound for n={n}: {liu_layland:.4f}")
    print(f"{'U':>5} {'real U':>7} | {'EDF sets missed':>15} {'EDF job miss':>12} | {'RM sets missed':>14} "
          f"{'RM job miss':>11} {'RTA: RM unsched.':>16}")
    for u in UTILISATIONS:
        edf, rm = stats[("edf", u)], stats[("rm", u)]
        real = sum(edf["real_u"]) / len(edf["real_u"])
        print(f"{u:5.2f} {real:7.4f} | {edf['sets_missed']:6d}/{args.sets:<3d} ({edf['sets_missed'] / args.sets:4.0%}) "
              f"{edf['misses'] / edf['jobs']:12.5f} | {rm['sets_missed']:5d}/{args.sets:<3d} ({rm['sets_missed'] / args.sets:4.0%}) "
              f"{rm['misses'] / rm['jobs']:11.5f} {rta_unschedulable[u]:9d}/{args.sets}")
    print(f"admission control refusals (a deadline task run as SCHED_OTHER instead): {refused}")
    print(f"simulation vs theory (EDF: miss iff U > 1; RM: response-time analysis): "
          f"{len(keys) - len(disagreements)}/{len(keys)} runs agree")
    for policy, u, seed, real_u, misses, jobs, tasks in disagreements[:10]:
        described = ", ".join(f"(T={p / 1e6:g} ms, C={c / 1e6:g} ms)" for p, c in tasks)
        print(f"  DISAGREES: {policy} U={u} seed={seed} real U={real_u:.5f}: {misses} misses in {jobs} jobs; "
              f"tasks {described}")

    fig, (sets_ax, jobs_ax) = plt.subplots(1, 2, figsize=(12, 5))
    labels = {"edf": "EDF (SCHED_DEADLINE)", "rm": "RM (SCHED_FIFO by period)"}
    for policy, marker in zip(POLICIES, ["o", "s"]):
        sets_ax.plot(UTILISATIONS, [stats[(policy, u)]["sets_missed"] / args.sets for u in UTILISATIONS],
                     marker=marker, label=labels[policy])
        jobs_ax.plot(UTILISATIONS, [stats[(policy, u)]["misses"] / stats[(policy, u)]["jobs"] for u in UTILISATIONS],
                     marker=marker, label=labels[policy])
    sets_ax.plot(UTILISATIONS, [rta_unschedulable[u] / args.sets for u in UTILISATIONS], "k:",
                 label="RM unschedulable by response-time analysis")
    for ax in (sets_ax, jobs_ax):
        ax.axvline(liu_layland, color="grey", linestyle="--", label=f"Liu-Layland bound n={n}: {liu_layland:.3f}")
        ax.set_xlabel("total utilisation U")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8, loc="upper left")
    sets_ax.set_ylabel(f"fraction of task sets with a deadline miss ({args.sets} per U)")
    sets_ax.set_ylim(-0.02, 1.02)
    jobs_ax.set_ylabel("job miss ratio (missed jobs / jobs)")
    fig.suptitle(f"EDF vs RM on 1 CPU: {n} periodic tasks, UUniFast, periods {spec['period_ms'][0]}-"
                 f"{spec['period_ms'][1]} ms, {template['run']['end_ms']} ms per run")
    ox.save_plot(fig, args.out, "edf_vs_rm.png")


if __name__ == "__main__":
    main()
