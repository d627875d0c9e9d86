"""`python -m bench`: runs the benchmarks, prints the figures and rewrites docs/benchmarks.md.

Figures, not pass/fail: the exit code is 0 whether or not a goal was met. A partial run
(`--only`, `--quick`) prints its figures but leaves the page alone unless `--output` says
where to write.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from functools import partial
from pathlib import Path

from bench import grpc_latency, pipeline, report, support
from bench.report import Section
from bench.support import REPO

# Benchmarks that are scripts of their own: name -> (file under bench/, heading). Their printed
# lines go into the report as they are; BENCH_QUICK=1 in their environment asks for a short run.
SCRIPTS = {
    "erlang": ("bench_erlang.py", "Staffing math (Erlang C)"),
    "authority": ("bench_authority.py", "Authority decisions and subtree listing"),
    "scheduling": ("bench_scheduling_api.py", "Requirements through the scheduling API"),
    "rostering": ("bench_rostering.py", "Schedule generation (CP-SAT) against pyworkforce"),
    "performance": ("bench_performance.py", "Fact ingestion and pay-period calculation"),
    "training": ("bench_training.py", "Low-impact training slot search"),
}


def run_script(file: str, title: str, *, quick: bool, backends: list[str]) -> Section:
    section = Section(title=title)
    script = REPO / "bench" / file
    if not script.exists():
        section.notes.append(f"not run: bench/{file} does not exist yet")
        return section
    environment = {**os.environ, "BENCH_QUICK": "1" if quick else ""}
    done = subprocess.run(
        [sys.executable, str(script)], cwd=REPO, env=environment, capture_output=True, text=True, timeout=300
    )
    section.verbatim = done.stdout.rstrip().splitlines()
    if done.returncode != 0:
        section.notes.append(f"`python bench/{file}` exited with {done.returncode}: {done.stderr[-500:]}")
    return section


BENCHMARKS: dict[str, Callable[..., Section]] = {
    "pipeline": pipeline.run,
    "grpc": grpc_latency.run,
    **{name: partial(run_script, file, title) for name, (file, title) in SCRIPTS.items()},
}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", choices=sorted(BENCHMARKS), action="append", help="run just this one")
    parser.add_argument("--quick", action="store_true", help="a short smoke run (under a minute)")
    parser.add_argument(
        "--databases",
        default="sqlite,postgresql",
        help="comma-separated; PostgreSQL is skipped when BENCH_POSTGRES_URL does not answer",
    )
    parser.add_argument("--profile", action="store_true", help="sample Cadre's processes with py-spy")
    parser.add_argument(
        "--output", type=Path, help="markdown to write (default: docs/benchmarks.md, full runs)"
    )
    args = parser.parse_args()

    backends = [b for b in args.databases.split(",") if b in support.BACKEND_NAMES]
    if "postgresql" in backends and not support.postgres_answers():
        print(f"PostgreSQL at {support.POSTGRES_SERVER_URL} does not answer: SQLite only", flush=True)
        backends.remove("postgresql")
    support.PROFILE = args.profile
    started = time.monotonic()
    sections = []
    for name in args.only or list(BENCHMARKS):
        print(f"running {name} ...", flush=True)
        try:
            section = BENCHMARKS[name](quick=args.quick, backends=backends)
        except Exception as error:
            traceback.print_exc()
            section = Section(title=name, notes=[f"failed: {type(error).__name__}: {error}"])
        print("\n".join(report.text_lines(section)), flush=True)
        sections.append(section)

    output = args.output or (None if args.only or args.quick else REPO / "docs" / "benchmarks.md")
    if output is not None:
        command = shlex.join(["python", "-m", "bench", *sys.argv[1:]])
        report.write(output, sections, command=command, seconds=time.monotonic() - started)
        print(f"wrote {output}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
