//! The generated documentation of this flavor (ARCHITECTURE.md, flavor contract §3: `config.example.ini` and the
//! key table of `README.md` in this folder) matches what the binary's `config-keys` prints.
//! Until the testkit's `reader_docs_tests!` reads a flavor's own folder, the check is here.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::Path;
use std::process::Command;

/// The (start, end) markers around the generated part of a file; `None`: the whole file.
type Markers = Option<(&'static str, &'static str)>;

/// Each generated file, the `config-keys` format it holds, and its markers.
const GENERATED: [(&str, &str, Markers); 2] = [
    ("config.example.ini", "ini", None),
    (
        "README.md",
        "markdown",
        Some(("<!-- config-keys:start -->\n", "<!-- config-keys:end -->")),
    ),
];

#[test]
fn the_example_ini_and_the_readme_key_table_are_what_config_keys_prints() {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (file, format, markers) in GENERATED {
        let text = std::fs::read_to_string(folder.join(file))
            .unwrap_or_else(|e| panic!("reading bins/reader-github/{file}: {e}"));
        let committed = match markers {
            None => text.as_str(),
            Some((start, end)) => text
                .split_once(start)
                .and_then(|(_, rest)| rest.split_once(end))
                .map_or_else(
                    || panic!("{file} lacks the {start:?} … {end:?} markers"),
                    |(t, _)| t,
                ),
        };
        let printed = Command::new(env!("CARGO_BIN_EXE_reader-github"))
            .args(["config-keys", "--format", format])
            .output()
            .unwrap();
        assert!(
            printed.status.success(),
            "config-keys --format {format} failed"
        );
        assert!(
            committed.as_bytes() == printed.stdout.as_slice(),
            "bins/reader-github/{file} is stale: run `cargo xtask codegen` (or `reader-github config-keys --format {format}`)"
        );
    }
}
