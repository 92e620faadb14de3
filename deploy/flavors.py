"""The reader flavors of this checkout, discovered (never listed): every `bins/*/Cargo.toml`
whose package declares

    [package.metadata.case-reader]
    flavor = "<flavor>"

The one place deploy/ learns the flavors: deploy/build-binary.sh, deploy/image-commands.sh,
deploy/check.sh and deploy/checks/deploy_checks.py all use it.

    python3 deploy/flavors.py            # one flavor per line, sorted
    python3 deploy/flavors.py --check F  # exit 0 if F is a flavor, else 1 naming the flavors

Needs only the standard library (Python 3.11+, `tomllib`).
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class FlavorError(Exception):
    """A bin's metadata is malformed: says which file and what to fix."""


def discover(root: Path = ROOT) -> dict[str, Path]:
    """Flavor -> its bin's Cargo.toml, for every bin that declares one."""
    found: dict[str, Path] = {}
    for manifest in sorted((root / "bins").glob("*/Cargo.toml")):
        with manifest.open("rb") as f:
            try:
                package = tomllib.load(f).get("package", {})
            except tomllib.TOMLDecodeError as e:
                raise FlavorError(f"{manifest}: not valid TOML ({e})") from e
        meta = package.get("metadata", {}).get("case-reader")
        if meta is None:
            continue
        flavor = meta.get("flavor")
        if not isinstance(flavor, str) or not flavor:
            raise FlavorError(f'{manifest}: [package.metadata.case-reader] needs flavor = "<flavor>"')
        if flavor in found:
            raise FlavorError(f"{manifest}: flavor {flavor!r} is also declared by {found[flavor]}")
        found[flavor] = manifest
    return found


def flavors(root: Path = ROOT) -> list[str]:
    """The flavors, sorted."""
    return sorted(discover(root))


def main(argv: list[str]) -> int:
    try:
        names = flavors()
    except FlavorError as e:
        print(f"flavors.py: {e}", file=sys.stderr)
        return 2
    if len(argv) == 3 and argv[1] == "--check":
        if argv[2] in names:
            return 0
        print(
            f"unknown flavor '{argv[2]}': expected one of {' '.join(names) or '(none)'} "
            '(a flavor is a bins/reader-<flavor>/Cargo.toml with [package.metadata.case-reader] flavor = "<flavor>")',
            file=sys.stderr,
        )
        return 1
    if len(argv) != 1:
        print(f"usage: {argv[0]} [--check FLAVOR]", file=sys.stderr)
        return 2
    for name in names:
        print(name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
