"""The grade as text (for a person), JUnit XML (for CI); JSON is GradeReport.to_dict."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from ..report import redact
from .diagnosis import clip
from .results import EVIDENCE_LINES, GradeReport, score


def _indent(text: str, prefix: str, limit: int | None = EVIDENCE_LINES) -> str:
    lines = [ln for ln in redact(text).strip().splitlines() if ln.strip()]
    if limit and len(lines) > limit:
        lines = lines[:limit] + [f"... ({len(lines) - limit} more lines in --json / --junit)"]
    return "\n".join(prefix + clip(ln) for ln in lines)


def to_text(rep: GradeReport) -> str:
    out = [f"breakfix check: node {rep.node_name} ({rep.node_spec}); API server: "
           f"{'reachable' if rep.api.get('reachable') else 'NOT reachable'}"
           + (f" ({rep.api.get('detail')})" if not rep.api.get("reachable") else "")]
    if rep.lab:
        out.insert(0, f"lab {rep.lab['id']} step {rep.lab['step']}: {rep.lab['step_title']} "
                      f"(fixed means: {rep.lab['fixed']})")
    w = max(len(r.name) for r in rep.checks) if rep.checks else 0
    for r in rep.checks:
        mark = {"pass": "PASS", "fail": "FAIL", "skip": "SKIP", "error": "ERROR"}[r.status]
        out.append(f"{mark}  {r.name:<{w}}  [{r.weight}]" + (f"  {_first(r.evidence)}" if r.status != "fail" else ""))
        if r.failed:
            out.append("      evidence:")
            out.append(_indent(r.evidence, "        "))
    if rep.diagnosis:
        out.append("diagnosis (root causes first):")
    shown: set[str] = set()
    for f in rep.diagnosis:
        if f.role != "root-cause":
            continue
        out.append(f"  root cause: {f.component}")
        for c in f.changed:
            out.append(f"    changed: {c.line(f.component)}")
        if not f.changed:
            out.append("    changed: nothing found against the baseline" if not rep.notes else
                       f"    changed: unknown ({rep.notes[-1]})")
        for i, line in enumerate(f.proof or ["(nothing on the node explains it yet)"]):
            out.append(f"    {'proof:  ' if i == 0 else '        '} {clip(redact(line))}")
        if f.catalog is not None:
            out.append(f"    catalog: {f.catalog.id}: {f.catalog.title}")
            if f.catalog.id not in shown:
                shown.add(f.catalog.id)
                out.append(_indent(f.catalog.remediation, "      ", None))
        else:
            out.append("    catalog: no catalog fault makes this change (the lines above are the diagnosis)")
    for f in rep.warnings:
        for c in f.changed:
            out.append(f"WARN  changed while every check passes: {c.line(f.component)}")
    blocked: dict[str, list[str]] = {}
    for f in rep.diagnosis:
        if f.role == "blocked":
            blocked.setdefault(f.blocked_by or "?", []).append(f.component)
    for by, parts in blocked.items():
        out.append(f"  blocked by {by}: {', '.join(parts)}")
    got, total, pct = score(rep.checks)
    nfail = len(rep.failed_checks)
    out.append(f"verdict: {rep.verdict.upper()} (exit {rep.exit_code}); score: {pct:.0f}% ({got}/{total})  "
               + ("all checks passed" if nfail == 0 else f"{nfail} of {sum(r.status != 'skip' for r in rep.checks)} "
                                                         f"checks failed: {', '.join(r.name for r in rep.failed_checks)}"))
    if rep.probes.get("created"):
        out.append(f"probes: created and deleted in namespace {rep.probes.get('namespace')}: "
                   f"{len(rep.probes['created'])} objects (--json lists them)")
    ro = rep.readonly
    if ro.get("unchanged"):
        out.append(f"read-only: {ro.get('files')} files under {', '.join(ro.get('paths', []))} have the same "
                   f"sha256 before and after")
    else:
        out.append(f"READ-ONLY VIOLATION: changed during grading: {', '.join(ro.get('changed', []))}")
    return "\n".join(out)


def _first(text: str) -> str:
    lines = redact(text).strip().splitlines()
    return lines[0][:160] if lines else ""


def to_junit(rep: GradeReport) -> str:
    got, total, pct = score(rep.checks)
    cases = list(rep.checks)
    nfail = len(rep.failed_checks) + (0 if rep.readonly.get("unchanged") else 1)
    nskip = sum(r.status == "skip" for r in cases)
    suites = ET.Element("testsuites", name="breakfix check", tests=str(len(cases) + 1), failures=str(nfail),
                        time=f"{rep.seconds:.2f}")
    suite = ET.SubElement(suites, "testsuite", name=f"breakfix check {rep.node_name}", tests=str(len(cases) + 1),
                          failures=str(nfail), errors="0", skipped=str(nskip), time=f"{rep.seconds:.2f}")
    props = ET.SubElement(suite, "properties")
    for k, v in (("verdict", rep.verdict), ("score_percent", f"{pct}"), ("passed_weight", str(got)),
                 ("total_weight", str(total)),
                 ("node", rep.node_spec), ("api_reachable", str(bool(rep.api.get("reachable"))).lower()),
                 ("warnings", str(sum(len(f.changed) for f in rep.warnings)))):
        ET.SubElement(props, "property", name=k, value=v)
    for k, v in (rep.lab or {}).items():
        ET.SubElement(props, "property", name=f"lab_{k}", value=str(v))
    for r in cases:
        tc = ET.SubElement(suite, "testcase", classname=f"breakfix.{r.component}", name=r.name,
                           time=f"{r.seconds:.2f}")
        if r.failed:
            body = redact(r.evidence).strip()
            f = next((x for x in rep.diagnosis if x.component == r.part), None)
            if f is not None and f.role == "blocked":
                body += f"\n\nblocked by: {f.blocked_by}"
            elif f is not None:
                body += "\n\nroot cause: " + f.component + "".join(
                    f"\nchanged: {c.line(f.component)}" for c in f.changed) + "".join(
                    f"\nproof: {redact(p)}" for p in f.proof)
            lf = r.likely_fault
            if lf:
                body += (f"\n\ncatalog fault: {lf.id}{f' (via {lf.via})' if lf.via else ''}: {lf.title}"
                         f"\n\nremediation:\n{lf.remediation}")
            fl = ET.SubElement(tc, "failure", message=f"{r.name}: {_first(r.evidence)}"
                               + (f" (likely fault: {lf.id})" if lf else ""), type=r.component)
            fl.text = body
        elif r.status in ("skip", "error"):
            ET.SubElement(tc, "skipped", message=("could not run: " if r.status == "error" else "")
                          + _first(r.evidence))
        else:
            ET.SubElement(tc, "system-out").text = redact(r.evidence)
    tc = ET.SubElement(suite, "testcase", classname="breakfix.readonly", name="read-only: node files unchanged",
                       time="0")
    if not rep.readonly.get("unchanged"):
        ET.SubElement(tc, "failure", message="grading changed node files",
                      type="readonly").text = "\n".join(rep.readonly.get("changed", []))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


CRITERION_WORDS = {"app_replicas": "the app's replicas", "new_pod_schedules": "a new pod",
                   "control_plane": "the rest of the cluster"}


def to_learner_text(rep: GradeReport, graded: dict, hints: list[tuple[int, str]] | None = None,
                    hints_total: int = 0, hint_command: str = "") -> str:
    """A lab step's grade for the learner: what is still wrong in the learner's words (one line per
    unmet criterion), the hints asked for so far, the step's score and the verdict. Never the
    catalog's remediation, a changed line or its baseline (`--reveal` and `--json` show them)."""
    lab = rep.lab or {}
    out = [f"lab {lab.get('id')} step {lab.get('step')}: {lab.get('step_title')}"]
    crits = graded["criteria"]
    unmet = [c for c in crits if c["verdict"] == "unmet"]
    if rep.verdict == "pass" and not unmet:
        out.append("fixed: every criterion is met")
    elif rep.verdict == "could-not-grade" and not unmet:
        out.append("could not grade this step: the grader cannot see the cluster (--reveal says why)")
    else:
        out.append("not fixed yet, still wrong:")
        out += [f"  - {c['learner']}" for c in unmet]
        for c in crits:
            if c["verdict"] == "not graded":
                out.append(f"  ? {CRITERION_WORDS.get(c['id'], c['id'])}: could not be graded")
    if hints:
        out.append("hints so far:")
        out += [f"  {n}. {text}" for n, text in hints]
    if rep.verdict != "pass" and hints_total and len(hints or []) < hints_total and hint_command:
        out.append(f"a hint ({len(hints or [])} of {hints_total} given): {hint_command}")
    s = graded["score"]
    out.append(f"score: {s['percent']:.0f}% ({s['points']}/{s['total']}): "
               + ", ".join(f"{CRITERION_WORDS.get(c['id'], c['id'])} {c['verdict']}" for c in crits))
    if not rep.readonly.get("unchanged"):
        out.append(f"READ-ONLY VIOLATION: changed during grading: {', '.join(rep.readonly.get('changed', []))}")
    out.append(f"verdict: {rep.verdict.upper()} (exit {rep.exit_code})")
    return "\n".join(out)


def criteria_text(graded: dict) -> str:
    """The step's criteria after the full grade (`lab check --reveal`): verdict, weight, expected, read."""
    s = graded["score"]
    out = [f"lab step criteria: score {s['percent']:.0f}% ({s['points']}/{s['total']})"]
    for c in graded["criteria"]:
        out.append(f"  {c['verdict'].upper():<10} {c['id']} [{c['weight']}]: expected {c['expected']}")
        out.append(f"             read: {clip(redact(c['read']))}")
    return "\n".join(out)
