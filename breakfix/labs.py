"""Labs as data: `labs/<id>.yaml` is a title, the cluster the lab needs and ordered steps. Each step
names a catalog fault (or declares one inline, in the fault file format), what the learner sees
(symptoms, in the catalog's symptom format: a step's symptom replaces the fault's symptom of the same
kind) and what "fixed" means (the app at N Ready replicas, a new pod scheduled).

The file's shape is a pydantic model (LabFile, exported as schemas/lab.json); what pydantic cannot
know (the catalog, the symptom kinds) is checked after it. Every error is one line: path, field,
reason (LabFileError, exit 2 on the command line and in the suite)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .catalog import Fault, check_symptom, parse_fault
from .datadirs import data_dir
from .errors import FaultFileError, UnknownFault
from .models import ID_PATTERN
from .models import pydantic_error
from .shapes import DEFAULT_SHAPE, check_selector, load_shape, shape_names

DEFAULT_DIR = data_dir("labs")


class LabFileError(FaultFileError):
    """A lab file that is not valid: path, field, reason (one line)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class AppNeeds(_Strict):
    name: str = Field("app", description="name of the Deployment in the default namespace the lab is about")
    replicas: int = Field(1, ge=0, description="its Ready replicas before the first step")
    node: str | None = Field(None, description="the node its pods must run on (a node selector of "
                                               "breakfix/shapes.py: worker, worker-N, control-plane...; placed "
                                               "there by a node affinity on the node's name); default anywhere")


class ClusterNeeds(_Strict):
    shape: str = Field(DEFAULT_SHAPE, description="the cluster shape the lab is written for (clusters/<shape>.yaml: "
                                                  "single, workers, ha)")
    nodes: int | None = Field(None, ge=1, description="nodes of the cluster; when given, the shape's node count")
    app: AppNeeds = Field(default_factory=AppNeeds, description="the application the learner works with")


# A step's "fixed" criteria: each is met when every grading check it covers passes.
CRITERIA = ("app_replicas", "new_pod_schedules", "control_plane")


class Weights(_Strict):
    """What each criterion is worth in the step's score (`lab check --json`: partial credit)."""
    app_replicas: int = Field(1, ge=0, description="the app at its Ready replicas")
    new_pod_schedules: int = Field(1, ge=0, description="a new pod gets a node and its container starts")
    control_plane: int = Field(1, ge=0, description="every other health check of `check` passes")


class LearnerWords(_Strict):
    """What `lab check` tells the learner when a criterion is not met, in the learner's words (what is
    seen, never the fix). Without it, a line is made from the checks that fail."""
    app_replicas: str | None = Field(None, min_length=1)
    new_pod_schedules: str | None = Field(None, min_length=1)
    control_plane: str | None = Field(None, min_length=1)


class Fixed(_Strict):
    """What "fixed" means for a step, checked by the suite after its fix and by `breakfix lab check`
    (together with the general health checks: every static pod Ready, kubelet active, nodes Ready)."""
    app_replicas: int | None = Field(
        None, ge=1, description="the app deployment asks for and has this many Ready replicas "
                                "(default: as many as before the step)")
    new_pod_schedules: bool = Field(True, description="a new pod gets a node and runs")
    weights: Weights = Field(default_factory=lambda: Weights(),
                             description="what each criterion is worth in the step's score (partial credit)")


class Step(_Strict):
    title: str = Field(min_length=1, description="what the step is about, as the learner reads it")
    fault: str | None = Field(None, pattern=ID_PATTERN, description="id of a fault in the catalog (faults/)")
    # in schemas/lab.json these two refer to schemas/fault.json (models.py)
    inline: dict[str, Any] | None = Field(
        None, description="a fault declared here, in the fault file format (instead of `fault`)")
    symptoms: list[dict[str, Any]] = Field(
        default_factory=list, description="what the learner sees, in the catalog's symptom format; each "
                                          "replaces the fault's symptom of the same kind")
    fixed: Fixed = Field(default_factory=Fixed, description="what \"fixed\" means")
    text: str = Field("", description="what the learner reads for the step (Markdown; default: the title and "
                                      "the symptoms' descriptions)")
    learner: LearnerWords = Field(default_factory=lambda: LearnerWords(),
                                  description="per criterion, what is still wrong in the learner's words")
    hints: list[Annotated[str, Field(min_length=1)]] = Field(
        default_factory=list, description="hints for the learner, in order, given one at a time by "
                                          "`breakfix lab hint LAB --step N` (they do not give the fix away "
                                          "at first; the last may come close)")

    @model_validator(mode="after")
    def _one_fault(self):
        if (self.fault is None) == (self.inline is None):
            raise ValueError("give exactly one of `fault` (a catalog id) and `inline` (a fault)")
        return self


class LabFile(_Strict):
    """A kube-breakfix lab: labs/<id>.yaml."""
    id: str = Field(pattern=ID_PATTERN, description="lowercase letters, digits and dashes; the file name")
    title: str = Field(min_length=1)
    description: str = ""
    cluster: ClusterNeeds = Field(default_factory=ClusterNeeds, description="the cluster the lab needs")
    steps: list[Step] = Field(min_length=1, description="in order; each starts where the previous one ended")
    finish: str = Field("", description="what the learner reads once every step is fixed (Markdown)")


@dataclass(frozen=True)
class LabStep:
    number: int                    # 1-based
    title: str
    fault: Fault                   # the catalog's fault, symptoms merged with the step's
    app_before: int                # app replicas when the step starts
    app_replicas: int              # Ready replicas once fixed
    new_pod_schedules: bool
    learner_symptoms: tuple[dict, ...]
    hints: tuple[str, ...] = ()
    learner: dict = dataclasses.field(default_factory=dict)   # criterion -> learner's words
    weights: dict = dataclasses.field(default_factory=dict)   # criterion -> weight
    text: str = ""

    @property
    def full_title(self) -> str:
        return f"step {self.number}: {self.title}"


@dataclass(frozen=True)
class Lab:
    id: str
    title: str
    description: str
    app_name: str
    app_replicas: int              # before the first step
    steps: tuple[LabStep, ...]
    source: str = ""
    finish: str = ""
    shape: str = DEFAULT_SHAPE     # the cluster shape it is written for (clusters/<shape>.yaml)
    app_node: str | None = None    # the node selector `app` is pinned to (None: anywhere)

    def fits(self, shape: str) -> bool:
        """Whether the lab can be replayed on a cluster of SHAPE: its own shape, or (a lab written for
        the single shape) any shape every one of its faults applies to, as the faults of the catalog do."""
        return shape == self.shape or (self.shape == DEFAULT_SHAPE and self.app_node is None
                                       and all(shape in s.fault.shapes for s in self.steps))

    def step(self, n: int) -> LabStep:
        if not 1 <= n <= len(self.steps):
            raise UnknownFault(f"lab {self.id} has steps 1..{len(self.steps)}, not {n}")
        return self.steps[n - 1]


def parse_lab(data: Any, path: Path, catalog: dict[str, Fault]) -> Lab:
    if not isinstance(data, dict):
        got = "an empty file" if data is None else f"a {type(data).__name__}"
        raise LabFileError(path, "(document)", f"must be a mapping of lab fields (id, title, steps), got {got}")
    try:
        m = LabFile.model_validate(data)
    except ValidationError as exc:
        raise pydantic_error(exc, path, LabFileError) from None
    if path.suffix in (".yaml", ".yml") and path.stem != m.id:
        raise LabFileError(path, "id", f"must match the file name ({path.stem!r})")
    shape = m.cluster.shape
    if shape not in shape_names():
        raise LabFileError(path, "cluster.shape", f"unknown shape {shape!r} (known: {', '.join(shape_names())})")
    if m.cluster.nodes is not None:
        sh = load_shape(shape)
        if m.cluster.nodes != sh.control_planes + sh.workers:
            raise LabFileError(path, "cluster.nodes", f"the {shape} shape has {sh.control_planes + sh.workers} "
                                                      f"node(s), not {m.cluster.nodes}")
    if m.cluster.app.node is not None and check_selector(m.cluster.app.node):
        raise LabFileError(path, "cluster.app.node", check_selector(m.cluster.app.node))
    steps = []
    app = m.cluster.app.replicas
    for i, s in enumerate(m.steps):
        where = f"steps[{i}]"
        if s.fault is not None:
            if s.fault not in catalog:
                raise LabFileError(path, f"{where}.fault", f"unknown fault {s.fault!r} (known: {', '.join(catalog)})")
            fault = catalog[s.fault]
        else:
            try:
                fault = parse_fault(s.inline, Path(f"{path}#{where}.inline"))
            except FaultFileError as exc:
                raise LabFileError(path, f"{where}.inline.{exc.field}", exc.reason) from None
        kinds = []
        for j, sym in enumerate(s.symptoms):
            try:
                kind = check_symptom(sym, path, f"{where}.symptoms[{j}]")
            except FaultFileError as exc:
                raise LabFileError(path, exc.field, exc.reason) from None
            if kind in kinds:
                raise LabFileError(path, f"{where}.symptoms[{j}].kind", f"{kind} is listed twice in this step")
            kinds.append(kind)
        if shape not in fault.shapes:
            raise LabFileError(path, f"{where}.fault", f"{fault.id} applies to the shapes {', '.join(fault.shapes)}, "
                                                      f"not to the lab's {shape}")
        merged = tuple(x for x in fault.symptoms if x["kind"] not in kinds) + tuple(s.symptoms)
        fault = dataclasses.replace(fault, symptoms=merged)
        target = s.fixed.app_replicas or app
        for j, sym in enumerate(s.symptoms):
            if sym["kind"] == "scale_stuck" and sym.get("replicas") and sym["replicas"] != target:
                raise LabFileError(path, f"{where}.symptoms[{j}].replicas",
                                   f"the learner scales to {sym['replicas']} but fixed.app_replicas is {target}")
        steps.append(LabStep(i + 1, s.title, fault, app, target, s.fixed.new_pod_schedules, tuple(s.symptoms),
                              tuple(" ".join(h.split()) for h in s.hints),
                              {k: " ".join(v.split()) for k, v in s.learner.model_dump().items() if v},
                              s.fixed.weights.model_dump(), s.text.strip()))
        app = target
    return Lab(m.id, m.title, m.description.strip(), m.cluster.app.name, m.cluster.app.replicas, tuple(steps),
               str(path), m.finish.strip(), shape, m.cluster.app.node)


def load_lab_file(path: Path, catalog: dict[str, Fault]) -> Lab:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise LabFileError(path, f"line {mark.line + 1}" if mark else "(document)",
                           f"not valid YAML: {getattr(exc, 'problem', exc)}") from None
    except UnicodeDecodeError as exc:
        raise LabFileError(path, "(file)", f"not UTF-8 text (offset {exc.start})") from None
    except OSError as exc:
        raise LabFileError(path, "(file)", exc.strerror or str(exc)) from None
    return parse_lab(data, path, catalog)


def load_labs(catalog: dict[str, Fault], directory: Path | str | None = None) -> dict[str, Lab]:
    d = Path(directory) if directory else DEFAULT_DIR
    if not d.is_dir():
        raise LabFileError(d, "(directory)", "lab directory not found")
    labs: dict[str, Lab] = {}
    for p in sorted(d.glob("*.y*ml")):
        lab = load_lab_file(p, catalog)
        if lab.id in labs:
            raise LabFileError(p, "id", f"duplicate id, also in {labs[lab.id].source}")
        labs[lab.id] = lab
    return labs


def select_labs(labs: dict[str, Lab], ids: list[str] | None) -> list[Lab]:
    if not ids:
        return list(labs.values())
    unknown = [i for i in ids if i not in labs]
    if unknown:
        raise UnknownFault(f"unknown lab {unknown[0]!r}; known: {', '.join(sorted(labs)) or '(none)'}")
    return [labs[i] for i in ids]

