//! Fuzz targets of the server crate (seeds in `tests/fuzz/corpus/<target>/`, cases per
//! property from `TACKER_FUZZ_CASES`):
//! - `paste`: the PasteDeploy reader and the pipeline loader (`PasteApp::from_document`) on
//!   mutated paste files never panic, for both auth strategies.
//! - `version`: the SOL013 `Version` header parser never panics, agrees with upstream's
//!   rule written as a regular expression (`api_version.py`), and reads back every version
//!   it is given.

#[path = "../../../tests/fuzz/harness.rs"]
mod harness;

use proptest::prelude::*;
use tacker_common::ini::IniDocument;
use tacker_server::config::AuthStrategy;
use tacker_server::paste::PasteApp;
use tacker_server::sol::{check_version, ApiVersion};

fn load_paste(text: &str) {
    if let Ok(doc) = IniDocument::parse_paste(text, "fuzz-paste.ini", "/fuzz") {
        for strategy in [AuthStrategy::Keystone, AuthStrategy::Noauth] {
            let _ = PasteApp::from_document(&doc, strategy);
        }
    }
}

#[test]
fn paste_corpus_replays() {
    for (name, bytes) in harness::corpus("paste") {
        let text = String::from_utf8_lossy(&bytes);
        let doc = IniDocument::parse_paste(&text, &name, "/fuzz").unwrap();
        // The shipped paste files load as they are (`authtoken` pipelines only with noauth).
        PasteApp::from_document(&doc, AuthStrategy::Noauth)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        load_paste(&text);
    }
}

/// Upstream's rule: `-` splits the value into at most the version and one `impl:` suffix;
/// the version matches `^([1-9]\d*)\.([1-9]\d*|0)\.([1-9]\d*|0)$` (ASCII digits here: a
/// header value is ASCII) and each number fits the parser's `u32`.
fn oracle(raw: &str) -> Option<(u32, u32, u32)> {
    let parts: Vec<&str> = raw.split('-').collect();
    let id = match parts[..] {
        [id] => id,
        [id, suffix] if suffix.starts_with("impl:") => id,
        _ => return None,
    };
    let re = regex::Regex::new(r"^([1-9][0-9]*)\.([1-9][0-9]*|0)\.([1-9][0-9]*|0)$").unwrap();
    let caps = re.captures(id)?;
    let n = |i: usize| caps[i].parse::<u32>().ok();
    Some((n(1)?, n(2)?, n(3)?))
}

fn check_version_agrees(raw: &str) -> Result<(), TestCaseError> {
    let parsed = ApiVersion::parse(raw)
        .ok()
        .map(|(v, _)| (v.major, v.minor, v.patch));
    prop_assert_eq!(parsed, oracle(raw), "Version: {:?}", raw);
    let _ = check_version(Some(raw), Some(&["2.0.0", "1.3.0"]));
    let _ = check_version(Some(raw), None);
    Ok(())
}

#[test]
fn version_corpus_replays() {
    for (name, bytes) in harness::corpus("version") {
        let raw = String::from_utf8_lossy(&bytes);
        check_version_agrees(&raw).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

fn version_like() -> impl Strategy<Value = String> {
    "[0-9]{1,11}\\.[0-9]{1,3}\\.[0-9]{1,3}(-impl:[a-z:.-]{0,6}|-[a-z]{0,4})?"
}

proptest! {
    #![proptest_config(harness::config())]

    #[test]
    fn paste_loader_never_panics(text in harness::mutated("paste")) {
        load_paste(&text);
    }

    #[test]
    fn version_parser_agrees_with_upstream_rule(
        raw in prop_oneof![harness::mutated("version"), version_like()]
    ) {
        check_version_agrees(&raw)?;
    }

    #[test]
    fn version_reads_back(major in 1u32.., minor in any::<u32>(), patch in any::<u32>(),
                          suffix in proptest::option::of("impl:[a-z0-9:.]{0,8}")) {
        let id = format!("{major}.{minor}.{patch}");
        let raw = match &suffix {
            Some(s) => format!("{id}-{s}"),
            None => id.clone(),
        };
        let (v, got_id) = ApiVersion::parse(&raw)
            .map_err(|e| TestCaseError::fail(format!("{raw}: {e:?}")))?;
        prop_assert_eq!((v.major, v.minor, v.patch), (major, minor, patch));
        prop_assert_eq!(got_id, id.as_str());
    }
}
