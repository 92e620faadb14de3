#!/usr/bin/env bash
# Builds one reader binary for a container image, the same way inside and outside Docker:
#
#   deploy/build-binary.sh FLAVOR [--target TRIPLE] [--fips] [--profile-use FILE] [--out DIR]
#
#   FLAVOR          a flavor of this checkout (`python3 deploy/flavors.py` lists them: every
#                   bins/*/Cargo.toml with [package.metadata.case-reader] flavor = "FLAVOR");
#                   package and binary reader-FLAVOR
#   --target        Rust target triple (default: the host's). Cross builds need the target's
#                   C toolchain (e.g. gcc-aarch64-linux-gnu) and `rustup target add TRIPLE`.
#   --fips          build with `--no-default-features --features fips` (rustls on aws-lc-rs
#                   FIPS; no ring, no OpenSSL, so Kafka is plaintext or SASL/PLAIN); needs
#                   cmake and Go besides the C compiler (deploy/README.md, "FIPS").
#   --profile-use   a merged .profdata file: a PGO build (deploy/README.md, "PGO").
#   --out           where to put the binary (default: target/deploy/<triple>[-fips]).
#
# The release profile (lto = "thin", codegen-units = 1) comes from the root Cargo.toml.
# After the build the binary is checked against the runtime image (distroless/cc on Debian
# 12): only the C runtime's shared libraries, and no glibc symbol newer than MAX_GLIBC.
# Prints the binary's path and sha256 on success.
set -euo pipefail

usage() {
  sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'
  exit "${1:-2}"
}

die() {
  echo "build-binary.sh: $*" >&2
  exit 1
}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
FLAVOR=""
TARGET=""
FIPS=false
PROFILE_USE=""
OUT=""
# glibc of the runtime image (gcr.io/distroless/cc-debian12 = Debian 12, glibc 2.36).
MAX_GLIBC=${MAX_GLIBC:-2.36}

while [ $# -gt 0 ]; do
  case "$1" in
    -h | --help) usage 0 ;;
    --target)
      [ $# -ge 2 ] || die "--target needs a triple, e.g. aarch64-unknown-linux-gnu"
      TARGET=$2
      shift 2
      ;;
    --fips)
      FIPS=true
      shift
      ;;
    --profile-use)
      [ $# -ge 2 ] || die "--profile-use needs a .profdata file"
      PROFILE_USE=$2
      shift 2
      ;;
    --out)
      [ $# -ge 2 ] || die "--out needs a directory"
      OUT=$2
      shift 2
      ;;
    -*) die "unknown option $1 (see --help)" ;;
    *)
      [ -z "$FLAVOR" ] || die "one flavor only (got $FLAVOR and $1)"
      FLAVOR=$1
      shift
      ;;
  esac
done

command -v python3 >/dev/null ||
  die "python3 not found: deploy/flavors.py reads the flavors from bins/*/Cargo.toml (Debian: apt-get install python3)"
if [ -z "$FLAVOR" ]; then
  die "missing FLAVOR: one of $(python3 "$ROOT/deploy/flavors.py" | tr '\n' ' ')(see --help)"
fi
# Says "unknown flavor '<f>': expected one of …" when it is not one.
NOT_A_FLAVOR=$(python3 "$ROOT/deploy/flavors.py" --check "$FLAVOR" 2>&1) || die "$NOT_A_FLAVOR"
PACKAGE="reader-$FLAVOR"
MANIFEST="$ROOT/bins/$PACKAGE/Cargo.toml"
[ -f "$MANIFEST" ] || die "$MANIFEST does not exist: the $PACKAGE binary is not in this checkout"

command -v cargo >/dev/null || die "cargo not found: install the toolchain pinned in rust-toolchain.toml"
HOST=$(rustc -vV | sed -n 's/^host: //p')
TARGET=${TARGET:-$HOST}

# librdkafka and zstd are built from source by their -sys crates.
for tool in cc make perl; do
  command -v "$tool" >/dev/null ||
    die "$tool not found: librdkafka/zstd need a C toolchain (Debian: apt-get install build-essential perl)"
done

FEATURES=()
if [ "$FIPS" = true ]; then
  for tool in cmake go; do
    command -v "$tool" >/dev/null ||
      die "$tool not found: the FIPS build (aws-lc-fips-sys) needs cmake and Go (Debian: apt-get install cmake golang-go)"
  done
  grep -Eq '^[[:space:]]*fips[[:space:]]*=' "$MANIFEST" ||
    die "$PACKAGE has no 'fips' cargo feature yet: add it (rustls on aws-lc-rs FIPS) before building the FIPS image"
  # Without the default features: no ring and no OpenSSL are linked (deploy/README.md, FIPS).
  FEATURES=(--no-default-features --features fips)
fi

# Static zlib: the runtime image has no libz.so (libz-sys links the system one otherwise).
export LIBZ_SYS_STATIC=1

if [ "$TARGET" != "$HOST" ]; then
  rustup target list --installed 2>/dev/null | grep -qx "$TARGET" ||
    die "Rust target $TARGET is not installed: rustup target add $TARGET"
  case "$TARGET" in
    aarch64-unknown-linux-gnu) CROSS_PREFIX=aarch64-linux-gnu ;;
    x86_64-unknown-linux-gnu) CROSS_PREFIX=x86_64-linux-gnu ;;
    *) die "no cross C toolchain known for $TARGET: build natively (buildx runs one builder per platform)" ;;
  esac
  command -v "$CROSS_PREFIX-gcc" >/dev/null ||
    die "$CROSS_PREFIX-gcc not found: apt-get install gcc-$CROSS_PREFIX g++-$CROSS_PREFIX libc6-dev-${TARGET%%-*}-cross (arm64: libc6-dev-arm64-cross)"
  TRIPLE_ENV=$(echo "$TARGET" | tr 'a-z-' 'A-Z_')
  export "CARGO_TARGET_${TRIPLE_ENV}_LINKER=$CROSS_PREFIX-gcc"
  export "CC_${TARGET//-/_}=$CROSS_PREFIX-gcc" "CXX_${TARGET//-/_}=$CROSS_PREFIX-g++" "AR_${TARGET//-/_}=$CROSS_PREFIX-ar"
fi

if [ -n "$PROFILE_USE" ]; then
  [ -f "$PROFILE_USE" ] || die "profile $PROFILE_USE not found (merge .profraw files with llvm-profdata first)"
  PROFILE_USE=$(cd "$(dirname "$PROFILE_USE")" && pwd)/$(basename "$PROFILE_USE")
  export RUSTFLAGS="${RUSTFLAGS:-} -Cprofile-use=$PROFILE_USE -Cllvm-args=-pgo-warn-missing-function"
fi

SUFFIX=""
[ "$FIPS" = true ] && SUFFIX="-fips"
OUT=${OUT:-"$ROOT/target/deploy/$TARGET$SUFFIX"}
mkdir -p "$OUT"

echo "building $PACKAGE for $TARGET (fips=$FIPS, pgo=${PROFILE_USE:-no})" >&2
cd "$ROOT"
cargo build --release --locked --package "$PACKAGE" --bin "$PACKAGE" --target "$TARGET" ${FEATURES[@]+"${FEATURES[@]}"}

BINARY="$ROOT/target/$TARGET/release/$PACKAGE"
[ -x "$BINARY" ] || die "cargo finished but $BINARY is missing"

# The runtime image has glibc, libgcc_s and libstdc++ and nothing else.
command -v readelf >/dev/null || die "readelf not found: install binutils (it comes with the C toolchain)"
NEEDED=$(readelf -d "$BINARY" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
for lib in $NEEDED; do
  case "$lib" in
    libc.so.* | libm.so.* | libdl.so.* | librt.so.* | libpthread.so.* | libgcc_s.so.* | libstdc++.so.* | ld-linux*.so.*) ;;
    *) die "$PACKAGE links $lib, which the distroless/cc runtime image does not have: link it statically" ;;
  esac
done
NEWEST=$(readelf -V "$BINARY" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -n1)
if [ -n "$NEWEST" ] && [ "$(printf '%s\n%s\n' "$NEWEST" "$MAX_GLIBC" | sort -V | tail -n1)" != "$MAX_GLIBC" ]; then
  die "$PACKAGE needs glibc $NEWEST but the runtime image has $MAX_GLIBC: build on Debian 12 (rust:*-bookworm)"
fi
echo "runtime libraries: $(echo "$NEEDED" | tr '\n' ' ')(newest glibc symbol ${NEWEST:-none})" >&2

cp "$BINARY" "$OUT/$PACKAGE"
echo "$OUT/$PACKAGE"
sha256sum "$OUT/$PACKAGE" >&2
