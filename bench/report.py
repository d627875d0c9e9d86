"""Figures, each beside its bare peer, printed and written to docs/benchmarks.md.

The hand-written text at the top of the markdown file (everything above `MARKER`, or the
whole file before it has one) is kept on every rewrite; everything below it comes from the run.
"""

from __future__ import annotations

import math
import os
import platform
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.support import REPO

MARKER = "<!-- Everything below this line is written by `python -m bench`; edit the text above it. -->"

DEFAULT_HEADER = """# Benchmarks

`python -m bench` (or `make bench`) runs every benchmark and rewrites this page.
"""


@dataclass(frozen=True)
class Figure:
    """One measured figure of Cadre's and the same figure of its bare peer, in the same run."""

    label: str
    ours: float
    bare: float
    unit: str
    goal: str = ""
    met: bool | None = None

    @property
    def ratio(self) -> float:
        return self.ours / self.bare if self.bare else math.nan


@dataclass
class Section:
    title: str
    intro: str = ""
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    verbatim: list[str] = field(default_factory=list)


def _number(value: float) -> str:
    if math.isnan(value):
        return "–"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _verdict(met: bool | None) -> str:
    return {True: "met", False: "**missed**", None: ""}[met]


def text_lines(section: Section) -> list[str]:
    """The section as plain lines for the terminal."""
    lines = [f"== {section.title}"]
    for f in section.figures:
        lines.append(
            f"  {f.label:<44} {_number(f.ours):>9} {f.unit:<9} bare {_number(f.bare):>9}  "
            f"ratio {_number(f.ratio):>5}  {f.goal} {_verdict(f.met).strip('*')}".rstrip()
        )
    lines += [f"  {note}" for note in section.notes]
    lines += [f"  | {line}" for line in section.verbatim]
    return lines


def _markdown(section: Section) -> list[str]:
    lines = [f"## {section.title}", ""]
    if section.intro:
        lines += [section.intro, ""]
    if section.figures:
        lines += ["| Figure | Cadre | Bare peer | Ratio | Goal | |", "|---|---:|---:|---:|---|---|"]
        lines += [
            f"| {f.label} | {_number(f.ours)} {f.unit} | {_number(f.bare)} {f.unit} | "
            f"{_number(f.ratio)} | {f.goal} | {_verdict(f.met)} |"
            for f in section.figures
        ]
        lines.append("")
    lines += [f"- {note}" for note in section.notes]
    if section.notes:
        lines.append("")
    if section.verbatim:
        lines += ["```", *section.verbatim, "```", ""]
    return lines


def machine() -> str:
    model = "unknown CPU"
    memory = "unknown memory"
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB memory"
                break
    return f"{os.cpu_count()} cores (nproc), {model}, {memory}; {platform.system()} {platform.release()}"


def git_commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + (
        " (with uncommitted changes)" if git("status", "--porcelain", "--untracked-files=no") else ""
    )


def _header(path: Path) -> str:
    """The hand-written text: above the marker, or all of a page that has no marker yet."""
    if not path.exists():
        return DEFAULT_HEADER
    return path.read_text().split(MARKER, 1)[0].rstrip() + "\n"


def write(path: Path, sections: list[Section], *, command: str, seconds: float) -> None:
    lines = [
        _header(path),
        MARKER,
        "",
        "## Run",
        "",
        f"- Machine: {machine()}",
        f"- Date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Commit: {git_commit()}",
        f"- Command: `{command}` ({seconds / 60:.1f} minutes)",
        "",
    ]
    for section in sections:
        lines += _markdown(section)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines).rstrip() + "\n")
