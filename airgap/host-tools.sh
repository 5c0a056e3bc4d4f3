#!/usr/bin/env bash
# Installs, from Debian's packages, the host tools a group of make targets needs, before their
# first use; or stops with one line naming what is missing. `--plan` only says what it would do.
#   build   go, debootstrap, jq            (make node-image; also checked by node-image.sh itself)
#   docker  dockerd, jq                    (make docker-up; docker-up.sh checks them itself)
#   report  java, npm                      (the offline Allure HTML report)
#   test    shellcheck, chromium           (make lint; the report's headless-browser test)
# Usage: host-tools.sh [--plan] GROUP...
if [[ ${1:-} == --plan ]]; then export BREAKFIX_PLAN=1; shift; fi
source "$(dirname "$0")/lib.sh"
(( $# )) || die "usage: host-tools.sh [--plan] build|docker|report|test..."
for group in "$@"; do
  case $group in
    build) ensure_build_tools ;;
    docker) ensure_docker_tools ;;
    report)
      ensure java default-jre-headless "Allure 2 renders the HTML report with a Java runtime"
      ensure npm npm "installs the pinned Allure command line from reports/tooling" ;;
    test)
      ensure shellcheck shellcheck "lints airgap/*.sh and .ci/run (make lint)"
      ensure chromium chromium "opens the generated report headless (tests/e2e/test_report_html.py)" ;;
    *) die "unknown group $group (build, docker, report, test)" ;;
  esac
done
