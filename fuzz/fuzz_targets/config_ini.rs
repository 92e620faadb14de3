//! `config_ini`: arbitrary text as the reader's ini config file
//! (`reader_app::config::RawConfig::parse_ini`) and as a skip list (`parse_skip_list`).
//!
//! Seeds: `fixtures/config/*.ini` (as they are and with every key uncommented) and
//! hand-written configs. The text is parsed with the shell's keys plus a `[fuzz]` flavor
//! section holding one key of every kind. Checks: no panic; a value that passed validation is
//! readable with its typed getter; a secret (a `Secret` key, or a pass-through `…password`
//! property) is never shown by `report`, and a `Secret` key's value never by an invalid-value
//! error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reader_app::config::{
    ConfigError, KEYS, KeyDef, KeyKind, PASS_THROUGH_PREFIXES, RawConfig, parse_skip_list,
};

const fn def(key: &'static str, default: Option<&'static str>, kind: KeyKind) -> KeyDef {
    KeyDef {
        key,
        default,
        required: false,
        kind,
        doc: "fuzz key",
    }
}

/// A flavor section with one key of every kind.
const FLAVOR_KEYS: &[KeyDef] = &[
    def("fuzz.text", None, KeyKind::Text),
    def("fuzz.secret", None, KeyKind::Secret),
    def(
        "fuzz.count",
        Some("3"),
        KeyKind::Integer { min: 1, max: 10 },
    ),
    def("fuzz.switch", Some("false"), KeyKind::Bool),
    def("fuzz.address", None, KeyKind::SocketAddr),
    def("fuzz.mode", Some("a"), KeyKind::OneOf(&["a", "b"])),
    def("fuzz.skip", Some(""), KeyKind::SkipList),
    def("fuzz.file", None, KeyKind::File),
];

fn check_loaded(raw: &RawConfig, extra: &[KeyDef]) {
    for def in KEYS.iter().chain(extra) {
        let Some(value) = raw.get(def.key) else {
            continue;
        };
        match def.kind {
            KeyKind::Integer { min, max } => {
                let n = raw.u64(def.key);
                assert!(
                    n.as_ref().is_ok_and(|n| (min..=max).contains(n)),
                    "`{}` = {value:?} passed validation but reads as {n:?}",
                    def.key
                );
            }
            KeyKind::Bool => {
                let b = raw.bool(def.key);
                assert!(
                    b.is_ok(),
                    "`{}` = {value:?} passed validation but reads as {b:?}",
                    def.key
                );
            }
            KeyKind::SocketAddr => {
                let a = raw.socket_addr(def.key);
                assert!(
                    a.is_ok(),
                    "`{}` = {value:?} passed validation but reads as {a:?}",
                    def.key
                );
            }
            KeyKind::SkipList => {
                let s = parse_skip_list(value);
                assert!(
                    s.is_ok(),
                    "`{}` = {value:?} passed validation but reads as {s:?}",
                    def.key
                );
            }
            KeyKind::Text | KeyKind::Secret | KeyKind::OneOf(_) | KeyKind::File => {}
        }
    }
    for prefix in PASS_THROUGH_PREFIXES {
        let _ = raw.with_prefix(prefix);
    }
    for (key, shown, _source) in raw.report(extra) {
        let declared = KEYS
            .iter()
            .chain(extra)
            .any(|d| d.key == key && d.kind == KeyKind::Secret);
        let credential =
            PASS_THROUGH_PREFIXES.iter().any(|p| key.starts_with(p)) && key.contains("password");
        if declared || credential {
            assert_eq!(shown, "<redacted>", "report shows the secret `{key}`");
        }
    }
}

fn check_error(err: &ConfigError, extra: &[KeyDef]) {
    let _ = err.to_string();
    if let ConfigError::InvalidValue { key, value, .. } = err {
        let secret = KEYS
            .iter()
            .chain(extra)
            .any(|d| d.key == key && d.kind == KeyKind::Secret);
        assert!(
            !secret || value == "<redacted>",
            "error shows the secret `{key}`"
        );
    }
}

fuzz_target!(|text: &str| {
    let _ = parse_skip_list(text);
    // The shell's keys plus the `[fuzz]` section: a superset of what `&[]` checks, so one
    // parse covers both.
    match RawConfig::parse_ini(text, FLAVOR_KEYS) {
        Ok(raw) => check_loaded(&raw, FLAVOR_KEYS),
        Err(err) => check_error(&err, FLAVOR_KEYS),
    }
});
