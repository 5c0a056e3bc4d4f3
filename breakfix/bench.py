"""`make bench`: for each fault, the floor at both paces and the suite's own cycle, in one run.

The floor is the shortest honest script for the same fault: the same atomic edit (with the same
backup and journal: a benchmark does not get to lose a file), one observation of each symptom,
polled every FLOOR_POLL seconds (no hold, no stability window), the restore, then polling until
the original pod is Ready and a new pod runs (the scaled `app` pods where the fault's story scales
it, else a probe pod). Like the suite, it clears a crash back-off the outage left (a kubelet
restart), so the floor is the engine's lower bound, not a naive script's. The floor runs twice per
fault: at the kubelet's pace (the kubelet replaces a changed static pod by itself) and at the driven
pace (pace.py). The suite's cycle is `runner.run_cycle`, exactly as `make conformance` runs it, at
the run's `--pace` (driven unless told). All are timed by phase; nothing here asserts a time.

Each measured fault is one JSON line in a rows file (`append_row`, safe for several pytest-xdist
workers, one cluster each); `python -m breakfix.bench ROWS OUT_DIR` turns the rows into
reports/bench.json, a chart (bench.svg) and the table (stdout)."""
from __future__ import annotations

import json
import os
import platform
import sys
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from . import runner
from .catalog import Fault
from .charts import svg_head
from .lab import Lab
from .report import Reporter

FLOOR_POLL = 0.25
PHASES = runner.PHASES
COLORS = {"settle": "#9e9e9e", "break": "#e53935", "symptoms": "#fb8c00", "fix": "#43a047", "verify": "#1e88e5"}


@dataclass
class Cycle:
    phases: dict[str, float] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return round(sum(self.phases.values()), 2)

    def to_dict(self) -> dict:
        return {"phases": {k: round(v, 2) for k, v in self.phases.items()}, "total": self.total}


FLOOR_PACES = ("kubelet", "driven")


def floor_lab(lab: Lab, pace: str) -> Lab:
    """The same cluster and node as LAB, without dwell, polling every FLOOR_POLL seconds, at PACE."""
    f = Lab(lab.kube, lab.node, lab.node_name, reporter=Reporter(), app_name=lab.app_name,
            app_image=lab.app_image, probe_image=lab.probe_image, namespace=lab.namespace,
            timeout_scale=lab.scale_factor, poll=FLOOR_POLL, dwell=False, pace=pace)
    f.calibration = lab.calibration
    return f


def floor_verify(c: runner.Cycle) -> None:
    """The floor's check after the fix: the scaled `app` pods where the fault's story scales it,
    else a probe pod runs."""
    target = c.injection.context.scale_target
    if target:
        c.lab.wait_app(target)
    else:
        c.lab.schedule_probe()


def floor_cycle(lab: Lab, fault: Fault, register) -> Cycle:
    """LAB is a floor_lab. Starts from a settled cluster (the caller's job, not timed). The fix: the
    restored pod Ready, then the control plane Ready once (the floor lab has no window); a crash
    back-off the outage left is cleared as the suite does (else the floor would wait the kubelet's
    5 min)."""
    c = runner.run_cycle([lab], fault, register, settle=None,
                         fix=lambda c: c.lab.restore(c.injection, window=False), verify=floor_verify)
    return Cycle(dict(c.outcome.seconds))


def suite_cycle(lab: Lab, fault: Fault, register) -> Cycle:
    """The suite's own cycle (runner.run_cycle, as the suite runs it), its phases as the runner timed them."""
    return Cycle(dict(runner.run_cycle([lab], fault, register).outcome.seconds))


def tidy(lab: Lab, base_replicas: int) -> None:
    """Between measurements (not timed): app back to its size, the control plane settled."""
    lab.kube.scale(lab.app_name, base_replicas, lab.namespace)
    lab.wait_app(base_replicas)
    lab.wait_settled("control plane Ready between measurements")


RATIO_GOAL = 1.3   # a fault's suite cycle within this multiple of its floor at the same pace


def row(fault: Fault, floors: dict[str, Cycle], suite: Cycle, pace: str) -> dict:
    """One fault's measurement: its floor at each pace, the suite's cycle at PACE, and the ratio of
    the suite to the floor at the same pace. `floor` is that floor (what `make conformance`'s
    closing table compares with)."""
    floor = floors[pace]
    return {"id": fault.id, "component": fault.component, "pace": pace,
            "floors": {p: c.to_dict() for p, c in floors.items()}, "floor": floor.to_dict(),
            "suite": suite.to_dict(), "ratio": round(suite.total / floor.total, 2) if floor.total else None}


def append_row(path: Path, data: dict) -> None:
    """DATA as one JSON line at the end of PATH: one write(2) of O_APPEND, so the rows of several
    processes do not interleave."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, (json.dumps(data) + "\n").encode())
    finally:
        os.close(fd)


def read_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def summary(rows: list[dict], calibration: dict | None, wall: float | None, env: dict) -> dict:
    rows = sorted(rows, key=lambda r: r["id"])
    suites = [r["suite"]["total"] for r in rows]
    paces = sorted({p for r in rows for p in r.get("floors", {})})
    return {
        "machine": {"host": platform.node(), "cpus": os.cpu_count() or 0, **env},
        "calibration": calibration,
        "floor_poll_seconds": FLOOR_POLL,
        "faults": rows,
        "median_suite_seconds": _median(suites),
        "median_floor_seconds": _median([r["floor"]["total"] for r in rows]),
        "median_floor_seconds_by_pace": {p: _median([r["floors"][p]["total"] for r in rows if p in r["floors"]])
                                         for p in paces},
        "suite_catalog_seconds": round(sum(suites), 1),
        # the floors end to end: what one cluster cannot go below for these faults, whatever the suite does
        "floor_catalog_seconds": round(sum(r["floor"]["total"] for r in rows), 1),
        "floor_catalog_seconds_by_pace": {p: round(sum(r["floors"][p]["total"] for r in rows if p in r["floors"]), 1)
                                          for p in paces},
        "within_ratio": {"ratio": RATIO_GOAL, "faults": sum(1 for r in rows if r["ratio"] is not None
                                                             and r["ratio"] <= RATIO_GOAL), "of": len(rows)},
        "wall_seconds": round(wall, 1) if wall is not None else None,
    }


def markdown(data: dict) -> str:
    lines = ["| fault | floor, kubelet pace s | floor, driven pace s | suite s | suite / floor | "
             "suite phases (settle/break/symptoms/fix/verify) |", "|---|---|---|---|---|---|"]
    for r in data["faults"]:
        ph = "/".join(f"{r['suite']['phases'].get(p, 0):.1f}" for p in PHASES)
        fl = r.get("floors", {})
        k, d = (f"{fl[p]['total']:.1f}" if p in fl else "-" for p in FLOOR_PACES)
        lines.append(f"| {r['id']} | {k} | {d} | {r['suite']['total']:.1f} | {r['ratio']}× | {ph} |")
    return "\n".join(lines)


BARS = (("suite", "suite", 1.0), ("driven", "floor, driven", 0.6), ("kubelet", "floor, kubelet", 0.35))


def _bars(r: dict) -> list[tuple[str, dict, float]]:
    fl = r.get("floors") or {r.get("pace", "driven"): r["floor"]}
    return [(label, r["suite"] if key == "suite" else fl[key], op) for key, label, op in BARS
            if key == "suite" or key in fl]


def svg(data: dict) -> str:
    """Per fault one bar per measurement, phases stacked: the suite's cycle, then the floor at the
    driven pace, then at the kubelet's."""
    rows = data["faults"]
    label_w, bar_h, gap, scale_w = 300, 11, 10, 620
    longest = max([m["total"] for r in rows for _, m, _ in _bars(r)] + [1.0])
    px = scale_w / longest
    height = 40 + sum(len(_bars(r)) * bar_h + gap for r in rows) + 40
    out = svg_head("kube-breakfix bench: per fault the suite's cycle, the floor at the driven pace and "
                   "at the kubelet's, seconds", label_w + scale_w + 80, height)
    y = 32
    for r in rows:
        bars = _bars(r)
        out.append(f'<text x="4" y="{y + bar_h + 4}">{escape(r["id"])} ({r["ratio"]}×)</text>')
        for i, (label, m, opacity) in enumerate(bars):
            x, dy = label_w, i * bar_h
            for p in PHASES:
                w = m["phases"].get(p, 0.0) * px
                if w > 0:
                    out.append(f'<rect x="{x:.1f}" y="{y + dy}" width="{w:.1f}" height="{bar_h - 1}" '
                               f'fill="{COLORS[p]}" opacity="{opacity}">'
                               f'<title>{label} {p}: {m["phases"][p]:.1f} s</title></rect>')
                    x += w
            out.append(f'<text x="{x + 4:.1f}" y="{y + dy + bar_h - 2}">{m["total"]:.1f} {label}</text>')
        y += len(bars) * bar_h + gap
    x = label_w
    for p in PHASES:
        out.append(f'<rect x="{x}" y="{y + 8}" width="10" height="10" fill="{COLORS[p]}"/>'
                   f'<text x="{x + 14}" y="{y + 17}">{p}</text>')
        x += 90
    out.append("</svg>")
    return "\n".join(out)


def write(data: dict, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    j, s = out_dir / "bench.json", out_dir / "bench.svg"
    j.write_text(json.dumps(data, indent=2) + "\n")
    s.write_text(svg(data))
    return j, s


def main(argv: list[str]) -> int:
    """`python -m breakfix.bench ROWS OUT_DIR [WALL_SECONDS]`: the summary of the rows file."""
    if len(argv) not in (2, 3):
        print("usage: python -m breakfix.bench ROWS OUT_DIR [WALL_SECONDS]", file=sys.stderr)
        return 2
    rows = read_rows(Path(argv[0]))
    if not rows:
        print(f"kube-breakfix: no fault was measured ({argv[0]} has no rows)", file=sys.stderr)
        return 1
    first = rows[0]
    env = {k: first[k] for k in ("kubernetes", "node_image") if k in first}
    measured = [{k: v for k, v in r.items() if k not in ("kubernetes", "node_image", "calibration")} for r in rows]
    data = summary(measured, first.get("calibration"), float(argv[2]) if len(argv) == 3 else None, env)
    j, s = write(data, Path(argv[1]))
    print(markdown(data))
    byp = data["median_floor_seconds_by_pace"]
    print(f"median suite cycle {data['median_suite_seconds']} s (floors: {byp}), catalog "
          f"{data['suite_catalog_seconds']} s (floors {data['floor_catalog_seconds_by_pace']} s), "
          f"{data['within_ratio']['faults']} of {data['within_ratio']['of']} within {RATIO_GOAL}x -> {j}, {s}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
