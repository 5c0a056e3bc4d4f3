"""A grading result as Allure results (`breakfix check --alluredir DIR`, `breakfix lab check`): one
test per check, so a grader can hand a learner the same single-file HTML report as the suite's
(`python -m breakfix.report_html DIR OUT`). Written with allure-python-commons' own model and file
writer (the library allure-pytest uses)."""
from __future__ import annotations

import hashlib
import time
import uuid
from pathlib import Path

from allure_commons.logger import AllureFileLogger
from allure_commons.model2 import (ATTACHMENT_PATTERN, Attachment, Label, Parameter, Status, StatusDetails,
                                   TestResult)

from ..report import redact, write_executor
from .results import GradeReport

STATUS = {"pass": Status.PASSED, "fail": Status.FAILED, "skip": Status.SKIPPED}


def write_allure(rep: GradeReport, directory: str | Path) -> list[Path]:
    """Write REP into DIRECTORY (created; existing results are kept, so history and other runs stay)."""
    out = Path(directory)
    logger = AllureFileLogger(out, clean=False)
    now = int(time.time() * 1000)
    lab = rep.lab or {}
    suite = f"lab {lab['id']} step {lab['step']}" if lab else "breakfix check"
    written = []
    for r in rep.checks:
        rid = uuid.uuid4().hex
        key = f"{lab.get('id', '')}/{lab.get('step', '')}/{r.id}"
        res = TestResult(uuid=rid, name=r.name, fullName=f"breakfix.check.{key}",
                         historyId=hashlib.md5(key.encode()).hexdigest(),
                         testCaseId=hashlib.md5(key.encode()).hexdigest(),
                         status=STATUS[r.status], stage="finished",
                         start=now - int(r.seconds * 1000), stop=now)
        evidence = redact(r.evidence).strip()
        first = next((ln for ln in evidence.splitlines() if ln.strip()), "")
        if r.failed:
            res.statusDetails = StatusDetails(message=f"{r.name}: {first}", trace=evidence)
        desc = []
        if lab:
            desc.append(f"**Lab:** {lab['title']}  \n**Step {lab['step']}:** {lab['step_title']}  \n"
                        f"**Fixed means:** {lab['fixed']}")
        if r.likely_fault:
            desc.append(f"**Likely fault:** {r.likely_fault.title} ({r.likely_fault.id})\n\n"
                        f"{r.likely_fault.remediation}")
        res.description = "\n\n".join(desc) or None
        res.labels = [Label("parentSuite", "grading"), Label("suite", suite), Label("subSuite", r.component),
                      Label("feature", "grading"), Label("story", r.name), Label("framework", "breakfix"),
                      Label("host", rep.node_name)]
        res.parameters = [Parameter("check", r.id), Parameter("node", rep.node_name)]
        if lab:
            res.parameters.append(Parameter("lab step", f"{lab['id']} #{lab['step']}"))
        source = ATTACHMENT_PATTERN.format(prefix=uuid.uuid4().hex, ext="txt")
        logger.report_attached_data(evidence or "(no evidence)", source)
        res.attachments = [Attachment(name="evidence", source=source, type="text/plain")]
        logger.report_result(res)
        written.append(out)
    write_executor(out, name="breakfix lab check" if lab else "breakfix check")
    return written
