//! What every fuzz target shares (each includes this file with `#[path]`): how many cases a
//! run tries, the seed corpus in `tests/fuzz/corpus/<target>/`, and a mutator that turns a
//! seed into nearby inputs (coverage-less, deterministic per run seed; proptest shrinks a
//! failure to a minimal input).
//!
//! - `TACKER_FUZZ_CASES` (default [`DEFAULT_CASES`]): cases per property; CI runs the
//!   default (a few seconds per target), `TACKER_FUZZ_CASES=200000` runs longer.
//! - Every seed file is replayed as is on every run, before the random cases.
//! - A failure prints the minimal input: add it to the target's corpus directory and as a
//!   named regression test next to the property.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use proptest::test_runner::Config;

pub const CASES_ENV: &str = "TACKER_FUZZ_CASES";
pub const DEFAULT_CASES: u32 = 1000;

/// Cases per property (`TACKER_FUZZ_CASES`), no regression files written.
pub fn config() -> Config {
    let cases = std::env::var(CASES_ENV)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(DEFAULT_CASES);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fuzz/corpus")
        .join(target)
}

/// The seed files of `target`, sorted by name (there must be some).
pub fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = corpus_dir(target);
    let mut seeds: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    seeds.sort();
    assert!(!seeds.is_empty(), "no seeds in {}", dir.display());
    seeds
}

/// The seeds of `target` as text (lossy for non-UTF-8 seeds).
pub fn corpus_text(target: &str) -> Vec<String> {
    corpus(target)
        .into_iter()
        .map(|(_, bytes)| String::from_utf8_lossy(&bytes).into_owned())
        .collect()
}

/// One edit of a mutated input.
#[derive(Clone, Debug)]
pub enum Edit {
    Insert(usize, String),
    Delete(usize, usize),
    Duplicate(usize, usize),
}

/// Characters that mean something to the parsers under test, plus some that should not.
const ALPHABET: &[char] = &[
    '[',
    ']',
    '=',
    ':',
    '.',
    ',',
    '#',
    ';',
    '$',
    '{',
    '}',
    '"',
    '\'',
    '\\',
    '\n',
    '\r',
    '\t',
    ' ',
    '-',
    '_',
    '0',
    '1',
    '9',
    'a',
    'Z',
    '/',
    '%',
    '\u{0}',
    '\u{feff}',
    'é',
    '\u{10ffff}',
];

fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::collection::vec(proptest::sample::select(ALPHABET), 1..6)
            .prop_map(|cs| cs.into_iter().collect()),
        any::<String>().prop_map(|s| s.chars().take(8).collect()),
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), fragment()).prop_map(|(at, s)| Edit::Insert(at, s)),
        (any::<usize>(), 1usize..16).prop_map(|(at, n)| Edit::Delete(at, n)),
        (any::<usize>(), 1usize..32).prop_map(|(at, n)| Edit::Duplicate(at, n)),
    ]
}

/// Applies `edits` to `seed` at char boundaries (positions taken modulo the length).
pub fn mutate(seed: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = seed.chars().collect();
    for e in edits {
        let len = chars.len();
        match e {
            Edit::Insert(at, s) => {
                let at = if len == 0 { 0 } else { at % (len + 1) };
                chars.splice(at..at, s.chars());
            }
            Edit::Delete(at, n) if len > 0 => {
                let at = at % len;
                let end = (at + n).min(len);
                chars.drain(at..end);
            }
            Edit::Duplicate(at, n) if len > 0 => {
                let at = at % len;
                let end = (at + n).min(len);
                let copy: Vec<char> = chars[at..end].to_vec();
                chars.splice(at..at, copy);
            }
            _ => {}
        }
    }
    chars.into_iter().collect()
}

/// A seed of `target` with up to 8 edits, or (one case in eight) arbitrary text.
pub fn mutated(target: &str) -> impl Strategy<Value = String> {
    let seeds = corpus_text(target);
    prop_oneof![
        7 => (
            proptest::sample::select(seeds),
            proptest::collection::vec(edit(), 0..8)
        )
            .prop_map(|(seed, edits)| mutate(&seed, &edits)),
        1 => any::<String>(),
    ]
}
