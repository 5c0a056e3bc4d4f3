"""`make bench`: for each fault, the floor and the suite's own cycle, on one cluster, in one run.

The floor is the shortest honest script for the same fault: the same atomic edit (with the same
backup and journal: a benchmark does not get to lose a file), one observation of each symptom,
polled every FLOOR_POLL seconds (no hold, no stability window), the restore, then polling until
the original pod is Ready and a new pod runs (the scaled `app` pods where the fault's story scales
it, else a probe pod). Like the suite, it clears a crash back-off the outage left (a kubelet
restart), so the floor is the engine's lower bound, not a naive script's. The suite's cycle is `runner.run_cycle`, exactly as `make conformance` runs it.
Both are timed by phase; nothing here asserts a time (the numbers go to reports/bench.json, a
chart and docs/measurements.md)."""
from __future__ import annotations

import json
import platform
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


def floor_lab(lab: Lab) -> Lab:
    """The same cluster and node as LAB, without dwell, polling every FLOOR_POLL seconds, at LAB's
    pace (`make bench PYTEST_ARGS=--pace=kubelet` for the kubelet's own)."""
    f = Lab(lab.kube, lab.node, lab.node_name, reporter=Reporter(), app_name=lab.app_name,
            app_image=lab.app_image, probe_image=lab.probe_image, namespace=lab.namespace,
            timeout_scale=lab.scale_factor, poll=FLOOR_POLL, dwell=False, pace=lab.pace.name)
    f.calibration = lab.calibration
    return f


def floor_verify(c: runner.Cycle) -> None:
    """The floor's check after the fix: the scaled `app` pods where the fault's story scales it,
    else a probe pod runs."""
    target = c.injection.context.get("scale_target")
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


RATIO_GOAL = 1.3   # issue 9: a fault's suite cycle within this multiple of its floor


def summary(rows: list[dict], calibration: dict | None, wall: float, env: dict) -> dict:
    suites = [r["suite"]["total"] for r in rows]
    return {
        "machine": {"host": platform.node(), "cpus": _cpus(), **env},
        "calibration": calibration,
        "floor_poll_seconds": FLOOR_POLL,
        "faults": rows,
        "median_suite_seconds": round(statistics.median(suites), 1) if suites else None,
        "median_floor_seconds": round(statistics.median(r["floor"]["total"] for r in rows), 1) if rows else None,
        "suite_catalog_seconds": round(sum(suites), 1),
        # the floors end to end: what one cluster cannot go below for these faults, whatever the suite does
        "floor_catalog_seconds": round(sum(r["floor"]["total"] for r in rows), 1),
        "within_ratio": {"ratio": RATIO_GOAL, "faults": sum(1 for r in rows if r["ratio"] is not None
                                                             and r["ratio"] <= RATIO_GOAL), "of": len(rows)},
        "wall_seconds": round(wall, 1),
    }


def _cpus() -> int:
    import os
    return os.cpu_count() or 0


def row(fault: Fault, floor: Cycle, suite: Cycle) -> dict:
    return {"id": fault.id, "component": fault.component, "floor": floor.to_dict(), "suite": suite.to_dict(),
            "ratio": round(suite.total / floor.total, 2) if floor.total else None}


def markdown(data: dict) -> str:
    lines = ["| fault | floor s | suite s | ratio | suite phases (settle/break/symptoms/fix/verify) |",
             "|---|---|---|---|---|"]
    for r in data["faults"]:
        ph = "/".join(f"{r['suite']['phases'].get(p, 0):.1f}" for p in PHASES)
        lines.append(f"| {r['id']} | {r['floor']['total']:.1f} | {r['suite']['total']:.1f} | {r['ratio']}× | {ph} |")
    return "\n".join(lines)


def svg(data: dict) -> str:
    """Per fault two bars, phases stacked: the suite's cycle, and the floor below it."""
    rows = data["faults"]
    label_w, bar_h, gap, scale_w = 300, 12, 10, 620
    longest = max([max(r["suite"]["total"], r["floor"]["total"]) for r in rows] + [1.0])
    px = scale_w / longest
    height = 40 + len(rows) * (2 * bar_h + gap) + 40
    out = svg_head("kube-breakfix bench: suite cycle (upper bar) vs floor (lower bar), seconds",
                   label_w + scale_w + 80, height)
    y = 32
    for r in rows:
        out.append(f'<text x="4" y="{y + bar_h + 4}">{escape(r["id"])} ({r["ratio"]}×)</text>')
        for which, dy in (("suite", 0), ("floor", bar_h)):
            x = label_w
            for p in PHASES:
                w = r[which]["phases"].get(p, 0.0) * px
                if w > 0:
                    out.append(f'<rect x="{x:.1f}" y="{y + dy}" width="{w:.1f}" height="{bar_h - 1}" '
                               f'fill="{COLORS[p]}" opacity="{1.0 if which == "suite" else 0.55}">'
                               f'<title>{which} {p}: {r[which]["phases"][p]:.1f} s</title></rect>')
                    x += w
            out.append(f'<text x="{x + 4:.1f}" y="{y + dy + bar_h - 2}">{r[which]["total"]:.1f}</text>')
        y += 2 * bar_h + gap
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
