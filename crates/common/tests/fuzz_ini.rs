//! Fuzz target `ini`: the oslo.config and PasteDeploy INI readers (`IniDocument`) on
//! mutated seeds and arbitrary text never panic, and a well-formed document reads back the
//! values it was written with. Seeds: `tests/fuzz/corpus/ini/`; cases: `TACKER_FUZZ_CASES`.

#[path = "../../../tests/fuzz/harness.rs"]
mod harness;

use indexmap::IndexMap;
use proptest::prelude::*;
use tacker_common::ini::IniDocument;

fn parse_both(text: &str) {
    let _ = IniDocument::parse_oslo(text, "fuzz.conf");
    let _ = IniDocument::parse_paste(text, "fuzz.ini", "/fuzz");
}

#[test]
fn ini_corpus_replays() {
    for (name, bytes) in harness::corpus("ini") {
        let text = String::from_utf8_lossy(&bytes);
        parse_both(&text);
        if !name.starts_with("malformed") {
            IniDocument::parse_oslo(&text, &name).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
}

/// A value oslo keeps as written: no surrounding blanks, quotes, comment characters or
/// substitutions.
fn plain_value() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_./:@-]([A-Za-z0-9 _./:@-]{0,20}[A-Za-z0-9_./:@-])?"
}

fn document() -> impl Strategy<Value = IndexMap<String, IndexMap<String, String>>> {
    proptest::collection::vec(
        (
            "[a-z][a-z0-9_]{0,10}",
            proptest::collection::vec(("[a-z][a-z0-9_]{0,10}", plain_value()), 0..6),
        ),
        1..5,
    )
    .prop_map(|sections| {
        let mut doc: IndexMap<String, IndexMap<String, String>> = IndexMap::new();
        for (name, options) in sections {
            let section = doc.entry(name).or_default();
            for (k, v) in options {
                section.insert(k, v);
            }
        }
        doc
    })
}

proptest! {
    #![proptest_config(harness::config())]

    #[test]
    fn ini_parsers_never_panic(text in harness::mutated("ini")) {
        parse_both(&text);
    }

    #[test]
    fn ini_written_document_reads_back(doc in document()) {
        let mut text = String::new();
        for (name, options) in &doc {
            text.push_str(&format!("[{name}]\n"));
            for (k, v) in options {
                text.push_str(&format!("{k} = {v}\n"));
            }
        }
        let parsed = IniDocument::parse_oslo(&text, "fuzz.conf")
            .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        for (name, options) in &doc {
            let section = parsed.section(name);
            prop_assert!(section.is_some(), "section {name} missing:\n{text}");
            let section = section.unwrap();
            for (k, v) in options {
                prop_assert_eq!(section.get(k).map(|o| o.value.as_str()), Some(v.as_str()));
            }
        }
    }
}
