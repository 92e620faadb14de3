//! Freshness of the files `cargo xtask codegen` derives from a reader binary's
//! `config-keys` output, in the flavor's bin folder (ARCHITECTURE.md, flavor contract §3): `config.example.ini`
//! and the key table of `README.md` between `<!-- config-keys:start -->` and
//! `<!-- config-keys:end -->`.

use std::path::Path;
use std::process::Command;

fn config_keys(bin: &str, format: &str) -> String {
    let out = Command::new(bin)
        .args(["config-keys", "--format", format])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "reading {}: {e} (`cargo xtask codegen` writes it)",
            path.display()
        )
    })
}

/// `<bin_dir>/config.example.ini` equals `bin config-keys --format ini`.
pub fn assert_example_ini_is_fresh(bin: &str, bin_dir: &str) {
    let path = Path::new(bin_dir).join("config.example.ini");
    assert!(
        read(&path) == config_keys(bin, "ini"),
        "{} is stale: run `cargo xtask codegen`",
        path.display()
    );
}

/// The table between the markers of `<bin_dir>/README.md` equals `bin config-keys`.
pub fn assert_readme_table_is_fresh(bin: &str, bin_dir: &str) {
    let path = Path::new(bin_dir).join("README.md");
    let readme = read(&path);
    let start = "<!-- config-keys:start -->\n";
    let end = "<!-- config-keys:end -->";
    let a = readme
        .find(start)
        .unwrap_or_else(|| panic!("{} lacks the line {start}", path.display()))
        + start.len();
    let b = readme
        .find(end)
        .unwrap_or_else(|| panic!("{} lacks {end}", path.display()));
    assert!(
        readme.get(a..b) == Some(config_keys(bin, "markdown").as_str()),
        "{}'s key table is stale: run `cargo xtask codegen`",
        path.display()
    );
}
