"""What the scheduling experiments share: finding the ossim program, running a scenario
through `ossim run`, reading its metrics, and the command line every experiment takes.

Each experiment (`<experiment>/run.py`) runs its scenarios into an output directory
(`<experiment>/out/` unless --out says otherwise), writes one PNG there and prints the
numbers it plotted. Only the standard library and matplotlib are used.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import pathlib
import subprocess
import sys
from typing import Any, Iterable, Sequence

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
NS_PER_MS = 1_000_000


def use_matplotlib():
    """Returns matplotlib.pyplot with the Agg backend (files only, no display).

    A Python without matplotlib (a pyenv or venv interpreter on PATH) re-runs the script
    under /usr/bin/python3, where Debian's python3-matplotlib installs it.
    """
    try:
        import matplotlib
    except ImportError:
        system_python = "/usr/bin/python3"
        if os.path.exists(system_python) and os.path.realpath(sys.executable) != os.path.realpath(system_python) \
                and not os.environ.get("OSSIM_EXAMPLE_REEXEC"):
            os.environ["OSSIM_EXAMPLE_REEXEC"] = "1"
            os.execv(system_python, [system_python, *sys.argv])
        sys.exit("matplotlib is missing: apt-get install python3-matplotlib (or pip install matplotlib)")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def save_plot(fig, out_dir: pathlib.Path, name: str, dpi: int = 120) -> pathlib.Path:
    """Lays `fig` out, writes it to out_dir/name and prints where."""
    fig.tight_layout()
    png = out_dir / name
    fig.savefig(png, dpi=dpi)
    print(f"plot: {png}")
    return png


def find_ossim(given: str | None) -> pathlib.Path:
    """The ossim program: `given`, else $OSSIM, else the most recently built of
    build/apps/ossim and build-*/apps/ossim under the repository root."""
    for candidate in (given, os.environ.get("OSSIM")):
        if candidate:
            path = pathlib.Path(candidate)
            if not (path.is_file() and os.access(path, os.X_OK)):
                sys.exit(f"{path}: not an executable ossim program")
            return path
    found = [path for path in [REPO_ROOT / "build" / "apps" / "ossim", *REPO_ROOT.glob("build-*/apps/ossim")]
             if path.is_file() and os.access(path, os.X_OK)]
    if found:
        return max(found, key=lambda path: path.stat().st_mtime)
    sys.exit("no ossim program found: build it (cmake --build build --target ossim_cli), "
             "or pass --ossim PATH or set OSSIM")


def parse_args(description: str, experiment_dir: pathlib.Path,
               extra: Sequence[tuple[Sequence[str], dict[str, Any]]] = ()) -> argparse.Namespace:
    """The command line every experiment takes: [OSSIM] [--ossim PATH] [--out DIR] [-j N]."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("ossim_positional", nargs="?", metavar="OSSIM",
                        help="the ossim program (default: $OSSIM, else the newest build/apps/ossim or build-*/apps/ossim)")
    parser.add_argument("--ossim", help="the ossim program (same as the positional argument)")
    parser.add_argument("--out", type=pathlib.Path, default=experiment_dir / "out",
                        help="directory for the runs and the PNG (default: %(default)s)")
    parser.add_argument("-j", "--jobs", type=int, default=2, help="simulations run at once (default: 2)")
    for flags, options in extra:
        parser.add_argument(*flags, **options)
    args = parser.parse_args()
    args.ossim = find_ossim(args.ossim or args.ossim_positional)
    args.out.mkdir(parents=True, exist_ok=True)
    return args


def run_scenario(ossim: pathlib.Path, scenario: dict | pathlib.Path, out_dir: pathlib.Path,
                 seed: int = 1, sets: Iterable[str] = ()) -> dict:
    """Runs one scenario (a file, or a document written to out_dir/scenario.json) with
    `ossim run` into out_dir and returns its metrics.json."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if isinstance(scenario, dict):
        path = out_dir / "scenario.json"
        path.write_text(json.dumps(scenario, indent=2) + "\n")
    else:
        path = scenario
    command = [str(ossim), "run", str(path), "--out", str(out_dir), "--seed", str(seed)]
    for assignment in sets:
        command += ["--set", assignment]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr}")
    return json.loads((out_dir / "metrics.json").read_text())


def run_many(jobs: int, calls: Sequence[tuple]) -> list[dict]:
    """run_scenario(*call) for each call, `jobs` at a time; the results in call order."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(lambda call: run_scenario(*call), calls))


def task_named(metrics: dict, name: str) -> dict:
    """The workload task whose scenario entry is called `name` (the first, if several)."""
    for task in metrics["tasks"]:
        if task["name"] == name:
            return task
    raise KeyError(f"no task named {name!r} in metrics.json")


def histogram_cdf(latency: dict) -> tuple[list[float], list[float]]:
    """The CDF of a wakeup-latency histogram (metrics.json's `buckets`: [upper_ns, count]
    pairs, count samples below upper_ns) as (x in ms, fraction of samples <= x)."""
    total = latency.get("count", 0)
    xs, ys, seen = [], [], 0
    for upper_ns, count in latency.get("buckets", []):
        seen += count
        xs.append(upper_ns / NS_PER_MS)
        ys.append(seen / total)
    return xs, ys


def ms(ns: float | None) -> str:
    """Nanoseconds as milliseconds for the summaries."""
    return "-" if ns is None else f"{ns / NS_PER_MS:.3f}"
