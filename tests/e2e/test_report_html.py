"""End to end: a synthetic allure-pytest run -> single-file HTML report -> headless Chromium.

The synthetic run is a separate pytest process isolated from this project
(``-c /dev/null``, its own ``--rootdir``/``--confcutdir``, cwd in tmp_path), so
the project's conftest.py and pyproject settings never reach it. The report is
rendered by the pinned Allure 2 CLI (reports/tooling) and opened from disk by
Debian's Chromium; the rendered DOM of the Suites tree must list the three
tests with their statuses. Nothing here sleeps: Chromium gets a *virtual* time
budget, every subprocess a generous timeout.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
try:
    from breakfix.report_html import generate_html
except ImportError:  # run as `pytest` (not `python -m pytest`) without the package installed
    sys.path.insert(0, str(REPO_ROOT))
    from breakfix.report_html import generate_html

try:
    import allure
except ImportError:  # the outer run does not need Allure; the inner one does
    allure = None

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",  # small /dev/shm in containers
    "--virtual-time-budget=15000",  # virtual time: lets the app render, is not a sleep
]

PYTEST_TIMEOUT = 300
ALLURE_TIMEOUT = 300
CHROMIUM_TIMEOUT = 180

EXPECTED = {
    "test_selfcheck_passes": "passed",
    "test_selfcheck_fails": "failed",
    "test_selfcheck_skipped": "skipped",
}

SYNTHETIC_TESTS = textwrap.dedent(
    '''
    import allure
    import pytest

    EPIC = "Report self-check"
    FEATURE = "Single-file HTML report"


    @allure.epic(EPIC)
    @allure.feature(FEATURE)
    @allure.story("A passing check with a step and an attachment")
    @allure.severity(allure.severity_level.CRITICAL)
    def test_selfcheck_passes():
        with allure.step("probe the pretend API server"):
            allure.attach(
                "GET /readyz -> 200 ok",
                name="probe output",
                attachment_type=allure.attachment_type.TEXT,
            )
        assert True


    @allure.epic(EPIC)
    @allure.feature(FEATURE)
    @allure.story("A failing check")
    @allure.severity(allure.severity_level.NORMAL)
    def test_selfcheck_fails():
        assert 1 == 2, "SymptomNotObserved: synthetic failure for the report self-check"


    @allure.epic(EPIC)
    @allure.feature(FEATURE)
    @allure.story("A skipped check")
    @allure.severity(allure.severity_level.MINOR)
    def test_selfcheck_skipped():
        pytest.skip("synthetic skip for the report self-check")
    '''
)


def _run(cmd: list[str], *, cwd: Path, timeout: float, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """subprocess.run with a timeout that kills the whole process group (Chromium forks child processes)."""
    proc = subprocess.Popen(
        cmd,
        cwd=str(cwd),
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, err = proc.communicate(timeout=30)
        pytest.fail(f"timed out after {timeout}s: {' '.join(cmd[:3])} ...\nstdout tail:\n{out[-2000:]}\nstderr tail:\n{err[-2000:]}")
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def _chromium(url: str, extra: list[str], profile: Path, cwd: Path) -> subprocess.CompletedProcess:
    profile.mkdir()
    cmd = [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, url]
    res = _run(cmd, cwd=cwd, timeout=CHROMIUM_TIMEOUT)
    noise = ("dbus", "Fontconfig", "unexpected operator")
    stderr_tail = "\n".join(l for l in res.stderr.splitlines() if not any(n in l for n in noise))[-2000:]
    assert res.returncode == 0, f"chromium exited {res.returncode} for {url}\n{stderr_tail}"
    return res


def _embedded_json(html: str, name: str):
    """Single-file reports embed each data file as d('<name>','<base64>')."""
    m = re.search(r"d\('" + re.escape(name) + r"',\s*'([A-Za-z0-9+/=]*)'\)", html)
    assert m, f"{name} is not embedded in the single-file report"
    return json.loads(base64.b64decode(m.group(1)))


def _leaves(node: dict) -> list[dict]:
    children = node.get("children")
    if children is None:
        return [node]
    return [leaf for child in children for leaf in _leaves(child)]


def _visible_text(dom: str) -> str:
    dom = re.sub(r"(?is)<(script|style|svg)\b.*?</\1>", " ", dom)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", dom)).strip()


def _rendered_tree_leaves(dom: str) -> dict[str, str]:
    """name -> status of every rendered test leaf in the Suites tree."""
    found: dict[str, str] = {}
    for chunk in re.split(r'(?=<a [^>]*class="[^"]*\bnode__leaf\b)', dom)[1:]:
        chunk = chunk.split("</a>", 1)[0]
        name = re.search(r'class="[^"]*\bnode__name\b[^"]*">\s*([^<]+?)\s*<', chunk)
        status = re.search(r"\bstatus-icon_status_(\w+)", chunk)
        if name and status:
            found[name.group(1)] = status.group(1)
    return found


def _page_requests(netlog: Path) -> list[str]:
    """The network requests a page made (Chromium's --log-net-log): every URL request started on
    behalf of a page, whatever its scheme but file:, data: and blob:. Chromium's own background
    requests (its initiator "not an origin") are not the page's."""
    log = json.loads(netlog.read_text())
    types = {v: k for k, v in log["constants"]["logEventTypes"].items()}
    found = []
    for ev in log["events"]:
        params = ev.get("params") or {}
        if types.get(ev["type"]) != "URL_REQUEST_START_JOB" or "url" not in params:
            continue
        if params.get("initiator") == "not an origin" or params["url"].startswith(("file:", "data:", "blob:")):
            continue
        found.append(params["url"])
    return found


def _offline_chromium(url: str, profile: Path, cwd: Path) -> tuple[str, list[str]]:
    """URL rendered with every host name unresolvable: its DOM and the requests the page made."""
    netlog = profile.with_suffix(".netlog.json")
    dom = _chromium(url, ["--host-resolver-rules=MAP * ~NOTFOUND", f"--log-net-log={netlog}", "--dump-dom"],
                    profile, cwd).stdout
    return dom, _page_requests(netlog)


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


@pytest.mark.e2e
def test_single_file_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"headless Chromium not installed at {CHROMIUM}: `make tools-test` installs it")

    # 1. A synthetic allure-pytest run, isolated from this project's conftest/pyproject.
    run_dir = tmp_path / "synthetic"
    run_dir.mkdir()
    test_file = run_dir / "test_report_selfcheck.py"
    test_file.write_text(SYNTHETIC_TESTS)
    results = tmp_path / "results"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTEST_DISABLE_PLUGIN_AUTOLOAD")}
    cmd = [
        sys.executable, "-m", "pytest",
        "-p", "no:cacheprovider",
        "-c", os.devnull,
        f"--rootdir={run_dir}",
        f"--confcutdir={run_dir}",
        f"--alluredir={results}",
        "-q", "-rA",
        str(test_file),
    ]
    inner = _run(cmd, cwd=run_dir, timeout=PYTEST_TIMEOUT, env=env)
    summary = inner.stdout + inner.stderr
    assert inner.returncode == 1, f"synthetic run should fail exactly one test, got exit {inner.returncode}:\n{summary[-3000:]}"
    assert re.search(r"\b1 failed, 1 passed, 1 skipped\b", summary), summary[-3000:]

    raw = [json.loads(p.read_text()) for p in results.glob("*-result.json")]
    assert {r["name"]: r["status"] for r in raw} == EXPECTED
    passing = next(r for r in raw if r["name"] == "test_selfcheck_passes")
    labels = {label["name"]: label["value"] for label in passing["labels"]}
    assert labels["epic"] == "Report self-check" and labels["severity"] == "critical", labels
    assert labels["feature"] == "Single-file HTML report" and labels["story"], labels
    assert [s["name"] for s in passing["steps"]] == ["probe the pretend API server"]
    assert passing["steps"][0]["attachments"][0]["name"] == "probe output"

    # 2. The single-file HTML report.
    out = tmp_path / "html"
    index = generate_html(results, out, timeout=ALLURE_TIMEOUT)
    assert index == out / "index.html" and index.is_file()
    assert sorted(p.name for p in out.iterdir()) == ["index.html"], "report is not a single file"
    html = index.read_text(encoding="utf-8")
    external = re.findall(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//[^"'\s>]+""", html)
    assert not external, f"report references external resources: {external[:5]}"

    suites = _embedded_json(html, "data/suites.json")
    leaves = {leaf["name"]: leaf for leaf in _leaves(suites)}
    assert {name: leaf["status"] for name, leaf in leaves.items()} == EXPECTED
    statistic = _embedded_json(html, "widgets/summary.json")["statistic"]
    assert (statistic["total"], statistic["passed"], statistic["failed"], statistic["skipped"]) == (3, 1, 1, 1)
    categories = {c["name"]: [leaf["name"] for leaf in _leaves(c)] for c in _embedded_json(html, "data/categories.json")["children"]}
    assert categories.get("Symptom not observed") == ["test_selfcheck_fails"], categories

    # 3. Render it from disk. The Suites tree starts collapsed; the route of a test
    #    (#suites/<group>/<test>/) expands its group and opens the test's details.
    failing = leaves["test_selfcheck_fails"]
    url = f"{index.as_uri()}#suites/{failing['parentUid']}/{failing['uid']}/"
    dom = _chromium(url, ["--dump-dom"], tmp_path / "chrome-dom", tmp_path).stdout
    (tmp_path / "dom.html").write_text(dom)
    text = _visible_text(dom)
    assert "Suites" in text and "test_report_selfcheck" in text, f"Suites page did not render: {text[:1500]}"
    assert _rendered_tree_leaves(dom) == EXPECTED, f"rendered tree: {_rendered_tree_leaves(dom)}; text: {text[:1500]}"
    assert "SymptomNotObserved: synthetic failure for the report self-check" in text, text[:3000]
    assert "Symptom not observed" in text, "category not shown in the failing test's details"

    # 4. A screenshot of the same view, kept as evidence.
    shot = tmp_path / "report.png"
    _chromium(url, [f"--screenshot={shot}", "--window-size=1400,1000"], tmp_path / "chrome-shot", tmp_path)
    assert shot.is_file(), "chromium wrote no screenshot"
    assert _png_size(shot) == (1400, 1000)
    if allure is not None:
        allure.attach.file(str(shot), name="single-file report (Suites)", attachment_type=allure.attachment_type.PNG)


# --- what a reviewer must see: a fault test as the suite reports it -----------------------------
# A synthetic run that describes its tests with the suite's own code (breakfix.report,
# breakfix.charts, fixtures' phase picture) for a real catalog fault: one passing with its phase
# timings, one failing with its diagnostics. Generated twice with --history, so the Trend has two
# runs; read in headless Chromium.
REVIEWER_TESTS = textwrap.dedent(
    '''
    import allure

    from breakfix.catalog import load_catalog
    from breakfix.errors import SymptomNotObserved
    from breakfix.report import AllureReporter, describe_fault_test
    from fixtures.reporting import PhasePicture

    FAULT = load_catalog()["scheduler-command-typo"]


    def test_fault_passes():
        describe_fault_test(FAULT)
        rep = AllureReporter()
        pic = PhasePicture(rep, FAULT.id)
        with rep.step("break: " + FAULT.title):
            rep.timing("inject->took effect", 4.2, fault=FAULT.id)
        with rep.step("observe"):
            rep.timing("inject->symptoms", 31.0, fault=FAULT.id)
        with rep.step("fix"):
            rep.timing("fix->recovered", 22.5, fault=FAULT.id)
        pic.attach()


    def test_fault_fails():
        describe_fault_test(load_catalog()["controller-manager-kubeconfig-path"])
        rep = AllureReporter()
        rep.attach("describe pod kube-controller-manager-node",
                   "State: Waiting\\n  Reason: CrashLoopBackOff\\nLast State: Terminated\\n  Exit Code: 1")
        raise SymptomNotObserved("scale_stuck", "deployment app: spec.replicas=2 pods=2 (the scale went through)")
    '''
)


def _test_case(html: str, leaf: dict) -> dict:
    return _embedded_json(html, f"data/test-cases/{leaf['uid']}.json")


@pytest.mark.e2e
def test_report_shows_what_a_reviewer_needs(tmp_path: Path) -> None:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"headless Chromium not installed at {CHROMIUM}: `make tools-test` installs it")
    from breakfix.catalog import load_catalog
    from breakfix.report import write_executor
    catalog = load_catalog()
    passing_fault, failing_fault = catalog["scheduler-command-typo"], catalog["controller-manager-kubeconfig-path"]

    run_dir = tmp_path / "synthetic"
    run_dir.mkdir()
    test_file = run_dir / "test_reviewer.py"
    test_file.write_text(REVIEWER_TESTS)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTEST_DISABLE_PLUGIN_AUTOLOAD")}
    env["PYTHONPATH"] = str(REPO_ROOT)   # fixtures.reporting's phase picture
    history = tmp_path / "history"
    for run in (1, 2):   # two runs: the second report's Trend shows both
        results = tmp_path / f"results{run}"
        inner = _run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-c", os.devnull,
                      f"--rootdir={run_dir}", f"--confcutdir={run_dir}", f"--alluredir={results}", "-q",
                      str(test_file)], cwd=run_dir, timeout=PYTEST_TIMEOUT, env=env)
        assert inner.returncode == 1 and re.search(r"\b1 failed, 1 passed\b", inner.stdout), inner.stdout[-3000:]
        write_executor(results, env={})
        index = generate_html(results, tmp_path / f"html{run}", timeout=ALLURE_TIMEOUT, history_dir=history)
    html = index.read_text(encoding="utf-8")

    # the data behind the page
    leaves = {leaf["name"]: leaf for leaf in _leaves(_embedded_json(html, "data/suites.json"))}
    assert set(leaves) == {passing_fault.title, failing_fault.title}, f"test titles: {list(leaves)}"
    passed = _test_case(html, leaves[passing_fault.title])
    assert {p["name"]: p["value"] for p in passed["parameters"]} == {
        "fault": passing_fault.id, "component": passing_fault.component}
    svgs = [a for s in passed["testStage"]["steps"] + [passed["testStage"]] for a in s.get("attachments", [])
            if a["type"] == "image/svg+xml"]
    assert [a["name"] for a in svgs] == [f"phase timings: {passing_fault.id}"]
    jsons = [a for s in passed["testStage"]["steps"] + [passed["testStage"]] for a in s.get("attachments", [])
             if a["type"] == "application/json"]
    assert [a["name"] for a in jsons] == [f"phase timings: {passing_fault.id} (JSON)"], "one JSON of the timings"
    failed = _test_case(html, leaves[failing_fault.title])
    assert failed["status"] == "failed", "a symptom not observed is a verdict: Failed, not Broken"
    categories = {c["name"]: [leaf["name"] for leaf in _leaves(c)] for c in _embedded_json(html, "data/categories.json")["children"]}
    assert categories.get("Symptom not observed") == [failing_fault.title], categories
    trend = _embedded_json(html, "widgets/history-trend.json")
    assert len(trend) == 2, f"Trend should show both runs: {trend}"
    executors = _embedded_json(html, "widgets/executors.json")
    assert executors and executors[0]["type"] == "local" and executors[0]["name"], executors
    # each test's history holds the first run
    for title, status in ((passing_fault.title, "passed"), (failing_fault.title, "failed")):
        hist = _test_case(html, leaves[title])["extra"]["history"]
        assert [i["status"] for i in hist["items"]] == [status] and hist["statistic"]["total"] == 2, hist

    # offline and private: with no host name resolvable the page renders, and it asked for nothing
    # off the machine (a page that does is caught: the control)
    control = tmp_path / "control.html"
    control.write_text('<html><body><img src="https://example.invalid/pixel.png">control</body></html>')
    _, asked = _offline_chromium(control.as_uri(), tmp_path / "chrome-control", tmp_path)
    assert any("example.invalid" in u for u in asked), f"the request check sees nothing: {asked}"
    # the History tab of a test in the second report shows the first run
    leaf = leaves[passing_fault.title]
    dom = _chromium(f"{index.as_uri()}#suites/{leaf['parentUid']}/{leaf['uid']}/history", ["--dump-dom"],
                    tmp_path / "chrome-history", tmp_path).stdout
    assert re.search(r"Success rate\s+100%\s+\(2 of 2\)\s+passed", _visible_text(dom)), _visible_text(dom)[:2000]
    dom, asked = _offline_chromium(f"{index.as_uri()}#", tmp_path / "chrome-offline", tmp_path)
    assert not asked, f"the report asked for {asked}"
    assert "Overview" in _visible_text(dom) and "Trend" in _visible_text(dom), _visible_text(dom)[:1500]

    # what Chromium renders: the passing test (title, parameters, remediation with its line breaks,
    # the timing picture) ...
    url = f"{index.as_uri()}#suites/{leaves[passing_fault.title]['parentUid']}/{leaves[passing_fault.title]['uid']}/"
    dom = _chromium(url, ["--dump-dom"], tmp_path / "chrome-pass", tmp_path).stdout
    (tmp_path / "pass.html").write_text(dom)
    text = _visible_text(dom)
    assert passing_fault.title in text
    assert passing_fault.id in text and passing_fault.component in text, "Parameters row"
    assert "Fault(" not in text, "a repr in the report"
    first, second = passing_fault.remediation.splitlines()[:2]
    assert re.search(re.escape(first.split("`")[0].strip()[:40]), text), "remediation text"
    description = dom[dom.find("Description"):][:8000]
    assert re.search(r"<h2[^>]*>\s*Remediation\s*</h2>", description), "the description's headings are not rendered"
    assert re.search(r"<li[^>]*>\s*<strong>Component:</strong>", description), "the description's list is not rendered"
    # ... and look like headings and a list: Allure's reset makes them plain lines, reports/tooling/report.css
    # gives them their styles back (the screenshot below shows it)
    assert '<style id="kube-breakfix">' in html and ".description__text ul" in html
    shot = tmp_path / "passed.png"
    _chromium(url, [f"--screenshot={shot}", "--window-size=1400,1000"], tmp_path / "chrome-shot-pass", tmp_path)
    if allure is not None:
        allure.attach.file(str(shot), name="a passing fault's page", attachment_type=allure.attachment_type.PNG)
    assert f"phase timings: {passing_fault.id}" in text, "the timing picture is not listed"

    # ... and the failing one, with its message and diagnostics
    url = f"{index.as_uri()}#suites/{leaves[failing_fault.title]['parentUid']}/{leaves[failing_fault.title]['uid']}/"
    dom = _chromium(url, ["--dump-dom"], tmp_path / "chrome-fail", tmp_path).stdout
    (tmp_path / "fail.html").write_text(dom)
    text = _visible_text(dom)
    assert failing_fault.title in text
    assert "SymptomNotObserved: scale_stuck: deployment app: spec.replicas=2 pods=2" in text, text[:3000]
    assert _rendered_tree_leaves(dom).get(failing_fault.title) == "failed", _rendered_tree_leaves(dom)
    assert re.search(r'class="[^"]*status-details_status_failed', dom), "the message is not shown as Failed (red)"
    assert "describe pod kube-controller-manager-node" in text, "diagnostics attachment not shown"
    shot = tmp_path / "reviewer.png"
    _chromium(url, [f"--screenshot={shot}", "--window-size=1400,1000"], tmp_path / "chrome-shot", tmp_path)
    if allure is not None:
        allure.attach.file(str(shot), name="what a reviewer sees", attachment_type=allure.attachment_type.PNG)
