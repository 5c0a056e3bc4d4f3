# kube-breakfix: the two commands a user needs are `make conformance` and `make test`.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
CLUSTER ?= breakfix
PYTEST_ARGS ?=
REPORTS := reports
# Online path: KIND_IMAGE=kindest/node:v1.34.0 KIND_BIN=$(command -v kind) skips the offline build
# (and the Docker set-up: an online runner has its engine already; `make docker-up` otherwise).
KIND_IMAGE ?=
KIND_BIN ?=
IMAGE_DEP := $(if $(KIND_IMAGE),,node-image)
KIND_ARGS := $(if $(KIND_IMAGE),--kind-image=$(KIND_IMAGE)) $(if $(KIND_BIN),--kind-bin=$(KIND_BIN))
KIND_CMD := $(if $(KIND_BIN),$(KIND_BIN),airgap/.build/bin/kind)
# A conformance run starts from a fresh cluster: one that an earlier run made and kept (its kubeconfig
# under .pytest-kind/NAME, not marked adopted) is deleted first; REUSE=1 keeps it. A cluster made
# outside kube-breakfix (`kind create cluster --name NAME`) is never deleted: the suite runs on it.
REUSE ?=
# A cluster shape of clusters/ (single, workers, ha) and a Kubernetes version of airgap/versions.env.
CLUSTER_SHAPE ?= single
# WORKERS=N: pytest-xdist, one kind cluster per worker ($(CLUSTER)-gw0 ...), the catalog spread over
# them, the longest tests first (reports/durations.json; --dist loadgroup hands every test out on
# its own, one running and one queued per worker, in that order). Four on the single shape: the fastest
# measured here, 2 cores (whole catalog: 4 -> 12.9-13.1 min, 3 -> 15.5, 2 -> 25.1; docs/measurements.md);
# one for the bigger shapes (several HA clusters do not fit 2 cores),
# and WORKERS=1 to iterate on one kept cluster (REUSE=1 --keep-cluster) or test an existing one.
# SHARD=I/N: only the I-th of N stable slices (one CI runner each: .github/workflows).
WORKERS ?= $(if $(filter single,$(CLUSTER_SHAPE)),4,1)
SHARD ?=
XDIST := $(if $(filter-out 1,$(WORKERS)),-n $(WORKERS) --dist loadgroup)
CLUSTERS := $(CLUSTER) $(if $(XDIST),$(foreach i,$(shell seq 0 $$(( $(WORKERS) - 1 ))),$(CLUSTER)-gw$(i)))
# and the clusters made for a lab of another shape than the run's (NAME-SHAPE, docs/authoring.md)
CLUSTERS += $(foreach c,$(CLUSTERS),$(foreach s,$(basename $(notdir $(wildcard clusters/*.yaml))),$(c)-$(s)))

.PHONY: schemas schemas-check docs docs-check help venv docker-up node-image node-images plan lint conformance test unit e2e stress grader-unseen bench report durations list-faults clean-cluster \
  tools-report tools-test

help:
	@echo "make conformance  - set up, create a kind cluster, run the suite, write reports/"
	@echo "make test         - the project's own tests (unit + end to end on a real kind cluster)"
	@echo "make node-image   - build the offline kind node image (airgap/)"
	@echo "make list-faults  - print the fault catalog"

$(VPY): pyproject.toml
	$(PY) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip
	$(VPY) -m pip install -q -e .
	touch $(VPY)

venv: $(VPY)

docker-up:
	bash airgap/docker-up.sh

# The node image, and the load balancer image kind runs for more than one control plane.
# K8S_VERSION=v1.33.13 builds that version's image instead (one of K8S_VERSIONS in airgap/versions.env);
# node-images builds every version's. The last line printed is the node image reference (the load
# balancer's comes before it): the scripts print their references on stdout and their logs on
# stderr, so the node image's reference is kept and printed after the load balancer's.
K8S_VERSION ?=
node-image: docker-up
	@ref=$$(BREAKFIX_K8S_VERSION=$(K8S_VERSION) bash airgap/node-image.sh) && bash airgap/haproxy-image.sh && \
	  echo "$$ref"

node-images: docker-up
	@set -e; source airgap/versions.env; refs=; \
	  for v in $$K8S_VERSIONS; do refs+="$$(BREAKFIX_K8S_VERSION=$$v bash airgap/node-image.sh)"$$'\n'; done; \
	  bash airgap/haproxy-image.sh; printf '%s' "$$refs"

# What a build would install and build on this machine; changes nothing.
plan:
	bash airgap/host-tools.sh --plan report test
	bash airgap/node-image.sh --plan

# Host tools, from Debian's packages, installed before their first use (airgap/host-tools.sh).
tools-report:
	bash airgap/host-tools.sh report

tools-test:
	bash airgap/host-tools.sh test

# actionlint (a Go module, built once into airgap/.build/bin) checks the GitHub workflow, the path for
# users who outgrow one machine; tests/unit/test_workflow.py checks that its slices cover the catalog.
ACTIONLINT_VERSION := v1.7.12
ACTIONLINT := airgap/.build/bin/actionlint
$(ACTIONLINT):
	GOBIN=$(CURDIR)/airgap/.build/bin GOFLAGS=-trimpath go install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION)

# lint-imports: the layers contract of pyproject.toml ([tool.importlinter]).
lint: tools-test docs-check $(ACTIONLINT)
	shellcheck -x airgap/*.sh .ci/run
	$(ACTIONLINT) .github/workflows/*.yml
	$(VPY) -m pip install -q -e '.[lint]'
	$(VENV)/bin/lint-imports

list-faults: venv
	$(VPY) -m pytest --list-faults

# The main job: Docker engine, offline node image (cached), kind cluster, suite, reports.
conformance: venv tools-report $(IMAGE_DEP)
	rm -rf $(REPORTS)/allure-results $(REPORTS)/html
	@$(if $(REUSE),:,for c in $(CLUSTERS); do \
	  if [ -s .pytest-kind/$$c/kubeconfig ] && [ ! -e .pytest-kind/$$c/adopted ]; then \
	    echo "kube-breakfix: deleting kind cluster $$c, kept by an earlier run (REUSE=1 keeps it)"; \
	    $(KIND_CMD) delete cluster --name $$c >/dev/null 2>&1 || true; rm -f .pytest-kind/$$c/kubeconfig; \
	  fi; done)
	$(VPY) -m pytest suites --cluster-name=$(CLUSTER) $(KIND_ARGS) $(XDIST) $(if $(SHARD),--shard=$(SHARD)) \
	  --cluster-shape=$(CLUSTER_SHAPE) $(if $(K8S_VERSION),--k8s-version=$(K8S_VERSION)) \
	  --alluredir=$(REPORTS)/allure-results --clean-alluredir \
	  --junitxml=$(REPORTS)/junit.xml $(PYTEST_ARGS); rc=$$?; \
	$(VPY) -m breakfix.report_html --history $(REPORTS)/history $(REPORTS)/allure-results $(REPORTS)/html || rc=$${rc:-1}; \
	exit $$rc

# The stored durations that order a run on several clusters (longest first), from the last run's
# JUnit XML (breakfix/durations.py): after a whole `make conformance`, then commit reports/durations.json.
durations: venv
	$(VPY) -m breakfix.durations $(REPORTS)/junit.xml

report: venv tools-report
	$(VPY) -m breakfix.report_html --history $(REPORTS)/history $(REPORTS)/allure-results $(REPORTS)/html

# JSON Schemas of the fault and lab files (schemas/*.json), from the pydantic models (breakfix/schemas.py).
schemas: venv
	$(VPY) -m breakfix.schemas

schemas-check: venv
	$(VPY) -m breakfix.schemas --check

# The fault catalog table (docs/faults.md), generated from faults/*.yaml (breakfix/docs.py).
docs: venv
	$(VPY) -m breakfix.docs

docs-check: venv
	$(VPY) -m breakfix.docs --check

unit: venv
	$(VPY) -m pytest tests/unit -q

# E2E_WORKERS=N: the end-to-end modules spread over N pytest-xdist workers, a whole module per worker
# (--dist loadfile: each module owns its kind cluster, its name fixed in the module). Four: the
# modules mostly wait on their clusters (docs/measurements.md).
E2E_WORKERS ?= 4
E2E_XDIST := $(if $(filter-out 1,$(E2E_WORKERS)),-n $(E2E_WORKERS) --dist loadfile)
e2e: venv tools-test tools-report node-image
	$(VPY) -m pytest tests/e2e -v -m "not stress and not unseen" --durations=40 $(E2E_XDIST)

# The grader on faults that are in no catalog (tests/unseen_faults): components that crash
# (tests/e2e/test_grader_unseen.py) and components that keep running or changes outside the
# manifests, each with a backup and with kubeadm's baselines only (tests/e2e/test_grader_running.py);
# every case, the two modules on a cluster each at once.
grader-unseen: venv node-image
	$(VPY) -m pytest tests/e2e/test_grader_unseen.py tests/e2e/test_grader_running.py -v -n 2 --dist loadfile

# Per fault, the floor at the kubelet's pace and at the driven pace, and the suite's own cycle
# (tests/bench, breakfix/bench.py), on BENCH_WORKERS clusters ($(CLUSTER)-bench, or
# $(CLUSTER)-bench-gwN each): reports/bench.json, reports/bench.svg, the table, and an Allure report in
# reports/bench-html. Timings with more than one cluster on a small machine are upper bounds.
BENCH_WORKERS ?= 1
BENCH_XDIST = $(if $(filter-out 1,$(BENCH_WORKERS)),-n $(BENCH_WORKERS) --dist loadgroup,-p no:xdist)
bench: venv tools-report $(IMAGE_DEP)
	-$(KIND_CMD) delete cluster --name $(CLUSTER)-bench >/dev/null 2>&1
	-for i in $$(seq 0 $$(($(BENCH_WORKERS) - 1))); do $(KIND_CMD) delete cluster --name $(CLUSTER)-bench-gw$$i >/dev/null 2>&1; done
	rm -f $(REPORTS)/bench-rows.jsonl
	start=$$(date +%s); $(VPY) -m pytest tests/bench -v -s $(BENCH_XDIST) --cluster-name=$(CLUSTER)-bench $(KIND_ARGS) \
	  --bench-rows=$(REPORTS)/bench-rows.jsonl --alluredir=$(REPORTS)/bench-results --clean-alluredir $(PYTEST_ARGS); rc=$$?; \
	$(VPY) -m breakfix.bench $(REPORTS)/bench-rows.jsonl $(REPORTS) $$(($$(date +%s) - start)) || [ $$rc -ne 0 ] || rc=1; \
	$(VPY) -m breakfix.report_html $(REPORTS)/bench-results $(REPORTS)/bench-html || [ $$rc -ne 0 ] || rc=1; \
	exit $$rc

# kill -9 at every point of a fault x every target kind, each replayed (tests/e2e/test_kill9.py; the host's
# container on an HA cluster: test_kill9_ha.py); the
# kind node restarted under a running suite (test_node_restart.py); a Docker daemon restarted with a
# fault in place, on a second dockerd of the test's own (test_docker_restart.py; never the machine's).
stress: venv node-image
	$(VPY) -m pytest tests/e2e/test_kill9.py tests/e2e/test_kill9_ha.py tests/e2e/test_node_restart.py tests/e2e/test_docker_restart.py -v

# The project's own tests: lint, unit tests, the end-to-end tests (toolchain, report, grader, kill -9,
# bad input), then the conformance suite on a real cluster with a representative subset of the
# catalog: one fault of each target kind (manifest, node file, service, file removed, file created,
# certificate, API object) and an API-down one, plus
# the reference lab replayed in order, grading and the byte-identity check. `make conformance` runs every
# fault and every lab (worker-node-failure on a three-node cluster of its own: not in make test).
TEST_FAULTS ?= scheduler-command-typo apiserver-unknown-flag kubelet-apiserver-port kubelet-stopped \
  cni-plugin-binary-missing static-pod-stray-copy apiserver-serving-cert-expired coredns-scaled-to-zero
TEST_LABS ?= control-plane-failure
# The conformance subset on three clusters at once (measured here: WORKERS=1 550 s, 2 384 s, 3 299 s; docs/measurements.md).
TEST_WORKERS ?= 3
test: venv lint tools-report node-image
	$(VPY) -m pytest tests/unit -q -n 2
	$(VPY) -m pytest tests/e2e -v -m "not stress and not unseen" --durations=40 $(E2E_XDIST)
	$(MAKE) conformance WORKERS=$(TEST_WORKERS) PYTEST_ARGS="$(foreach f,$(TEST_FAULTS),--fault=$(f)) $(foreach l,$(TEST_LABS),--lab=$(l)) $(PYTEST_ARGS)"

clean-cluster:
	-$(KIND_CMD) delete cluster --name $(CLUSTER)
