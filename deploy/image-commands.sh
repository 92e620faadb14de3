#!/usr/bin/env bash
# Prints the commands that build and push the reader images (`cargo xtask image` runs this).
# Nothing is executed: no Docker engine is needed to print them.
#
#   REGISTRY  registry prefix            (default registry.example.com/case-management)
#   VERSION   image version              (default: appVersion of the Helm chart)
#   PLATFORMS buildx platforms           (default linux/amd64,linux/arm64)
#
# Tags match the chart's default image tag, "<VERSION>-<flavor>": casethirdpartyreader for
# staging/prod and casethirdpartyreaderfips (FIPS build) for gov. One image per flavor of
# the checkout (deploy/flavors.py: every bins/*/Cargo.toml with [package.metadata.case-reader]).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CHART="$ROOT/deploy/helm/case-third-party-reader/Chart.yaml"
REGISTRY=${REGISTRY:-registry.example.com/case-management}
if [ -z "${VERSION:-}" ]; then
  VERSION=$(sed -n 's/^appVersion:[[:space:]]*"\{0,1\}\([^"]*\)"\{0,1\}[[:space:]]*$/\1/p' "$CHART")
  [ -n "$VERSION" ] || { echo "image-commands.sh: no appVersion in $CHART; set VERSION" >&2; exit 1; }
fi
PLATFORMS=${PLATFORMS:-linux/amd64,linux/arm64}
# The flavors of this checkout (bins/*/Cargo.toml metadata; deploy/flavors.py).
FLAVORS=$(python3 "$ROOT/deploy/flavors.py") || { echo "image-commands.sh: could not list the flavors (deploy/flavors.py)" >&2; exit 1; }
[ -n "$FLAVORS" ] || { echo "image-commands.sh: no flavor found under bins/ ([package.metadata.case-reader] flavor)" >&2; exit 1; }

cat <<TEXT
# Once per machine: a BuildKit builder that can build both platforms. arm64 on an amd64
# host runs under QEMU (slow for Rust); append a native arm64 node to avoid that:
#   docker buildx create --name ctpr --append ssh://arm64-builder
docker run --privileged --rm tonistiigi/binfmt --install arm64,amd64
docker buildx create --name ctpr --driver docker-container --use

# From the repository root. Each command builds both platforms and pushes one manifest list.
TEXT
# build_command FLAVOR REPOSITORY [BUILD_ARG]: the buildx command of one image.
build_command() {
  local extra=""
  [ -z "${3:-}" ] || extra=" --build-arg $3"
  printf 'docker buildx build --file deploy/Dockerfile --platform %s \\\n' "$PLATFORMS"
  printf '  --build-arg FLAVOR=%s%s \\\n' "$1" "$extra"
  printf '  --tag %s/%s:%s-%s --push .\n' "$REGISTRY" "$2" "$VERSION" "$1"
}
for flavor in $FLAVORS; do
  build_command "$flavor" casethirdpartyreader
done
echo
echo "# FIPS images for gov (needs the 'fips' cargo feature; see deploy/README.md)."
for flavor in $FLAVORS; do
  build_command "$flavor" casethirdpartyreaderfips FIPS=true
done
echo
echo "# The same build steps without Docker (what CI runs), binaries under target/deploy/:"
for flavor in $FLAVORS; do
  echo "deploy/build-binary.sh $flavor"
done
