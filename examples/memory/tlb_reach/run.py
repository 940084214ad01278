#!/usr/bin/env python3
"""Experiment: the TLB's reach with 4 KiB and 2 MiB pages (OSTEP chapter 19's measurement).

Runs scenario.json (one `tlb_reach` process on one CPU) for arrays of 1 to 4096 pages
(powers of two), once with 4 KiB pages and once with 2 MiB pages (`huge`: madvise
MADV_HUGEPAGE), and plots the mean simulated time per access the workload measured and
from metrics.json the dTLB hit rate and the share of accesses that needed no page walk
(a dTLB or STLB hit) against the number of pages. Each run
makes about 65536 timed accesses (passes = 65536 / pages, at least 4), so the sweeps
dominate the TLB counters, which also count the process's start and its first touches.

    examples/memory/tlb_reach/run.py [OSSIM] [--out DIR]
"""

import pathlib
import re
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "scheduling"))
import ossim_experiment as ox  # noqa: E402

PAGES = [2 ** k for k in range(13)]  # 1 .. 4096 pages: 4 KiB .. 16 MiB
ACCESSES = 65536
LINE = re.compile(r"tlb_reach: .* ns_per_access=([0-9.]+)")


def passes(pages: int) -> int:
    return max(4, ACCESSES // pages)


def tlb_rates(metrics: dict) -> tuple[float, float]:
    """Over every CPU's data accesses: the dTLB hit rate, and the share that hit the dTLB
    or the STLB (no page walk)."""
    def total(level: str, key: str) -> int:
        return sum(cpu["tlb"][level][key] for cpu in metrics["cpus"])
    lookups = total("dtlb", "hits") + total("dtlb", "misses")
    return total("dtlb", "hits") / lookups, (total("dtlb", "hits") + total("stlb", "hits")) / lookups


def ns_per_access(out_dir: pathlib.Path) -> float:
    match = LINE.search((out_dir / "console.txt").read_text())
    if match is None:
        raise RuntimeError(f"{out_dir}/console.txt has no tlb_reach line")
    return float(match.group(1))


def main() -> None:
    args = ox.parse_args(__doc__.splitlines()[0], HERE)
    plt = ox.use_matplotlib()
    scenario = HERE / "scenario.json"
    runs = [(huge, pages) for huge in (False, True) for pages in PAGES]
    calls = []
    for huge, pages in runs:
        sets = [f"workloads.0.params.pages={pages}", f"workloads.0.params.passes={passes(pages)}",
                f"workloads.0.params.huge={'true' if huge else 'false'}"]
        calls.append((args.ossim, scenario, args.out / f"{'2M' if huge else '4K'}-{pages}", 1, sets))
    results = ox.run_many(args.jobs, calls)

    series = {False: [], True: []}
    print(f"{'pages':>6} {'array':>8} | {'4 KiB: ns':>9} {'dTLB':>7} {'no walk':>7} | {'2 MiB: ns':>9} {'dTLB':>7} "
          f"{'no walk':>7}")
    for (huge, pages), call, metrics in zip(runs, calls, results):
        if huge and metrics["totals"]["thp_fault_alloc"] == 0:
            raise RuntimeError(f"{call[2]}: no 2 MiB page was mapped")
        series[huge].append((ns_per_access(call[2]), *tlb_rates(metrics)))
    for i, pages in enumerate(PAGES):
        small, large = series[False][i], series[True][i]
        size = f"{pages * 4} KiB" if pages < 256 else f"{pages // 256} MiB"
        print(f"{pages:6d} {size:>8} | {small[0]:9.3f} {small[1]:7.2%} {small[2]:7.2%} | {large[0]:9.3f} "
              f"{large[1]:7.2%} {large[2]:7.2%}")

    fig, (time_ax, rate_ax) = plt.subplots(1, 2, figsize=(13, 5))
    for huge, label, marker, color in ((False, "4 KiB pages", "o", "C0"),
                                       (True, "2 MiB pages (MADV_HUGEPAGE)", "s", "C1")):
        time_ax.plot(PAGES, [row[0] for row in series[huge]], marker=marker, color=color, label=label)
        rate_ax.plot(PAGES, [row[1] for row in series[huge]], marker=marker, color=color, label=f"dTLB, {label}")
        rate_ax.plot(PAGES, [row[2] for row in series[huge]], marker=marker, color=color, linestyle="--",
                     alpha=0.6, label=f"dTLB or STLB (no walk), {label}")
    for ax in (time_ax, rate_ax):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("array size (4 KiB pages touched, one access per page)")
        ax.axvline(64, color="grey", linestyle=":", linewidth=1)
        ax.axvline(1024, color="grey", linestyle=":", linewidth=1)
        ax.grid(True, which="both", alpha=0.3)
    time_ax.set_yscale("log")
    time_ax.set_ylabel("simulated ns per access")
    time_ax.set_title("time per access (dotted: 64-entry dTLB, 1024-entry STLB)")
    rate_ax.set_ylabel("share of data accesses (whole run)")
    rate_ax.set_title("TLB hits")
    time_ax.legend()
    rate_ax.legend(fontsize="small")
    ox.save_plot(fig, args.out, "tlb_reach.png")


if __name__ == "__main__":
    main()
