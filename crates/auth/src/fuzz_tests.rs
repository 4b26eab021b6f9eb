//! Fuzz target `claims`: claim-path mapping (`mapping_*` options) over arbitrary
//! introspection responses. `map_claims` never panics and never lets through a value that
//! cannot be a header; `resolve` finds what was placed at a dotted path and never panics on
//! any path. Seeds: `tests/fuzz/corpus/claims/` (JSON); cases: `TACKER_FUZZ_CASES`.

#[path = "../../../tests/fuzz/harness.rs"]
mod harness;

use http::HeaderValue;
use proptest::prelude::*;
use serde_json::{Map, Value};

use crate::mapping::{map_claims, resolve};
use crate::options::MappingOptions;

fn nested_mapping() -> MappingOptions {
    MappingOptions {
        project_id: Some("project.id".into()),
        project_name: Some("project.name".into()),
        project_domain_id: Some("project.domain.id".into()),
        project_domain_name: Some("project.domain.name".into()),
        user_id: Some("user.id".into()),
        user_name: Some("user.name".into()),
        user_domain_id: Some("user.domain.id".into()),
        user_domain_name: Some("user.domain.name".into()),
        roles: Some("roles".into()),
        system_scope: Some("system".into()),
        expires_at: Some("exp".into()),
    }
}

fn flat_mapping() -> MappingOptions {
    MappingOptions {
        project_id: Some("project_id".into()),
        project_name: Some("project_name".into()),
        project_domain_id: Some("domain".into()),
        project_domain_name: Some("domain".into()),
        user_id: None,
        user_name: None,
        user_domain_id: Some("domain".into()),
        user_domain_name: Some("domain".into()),
        roles: Some("roles".into()),
        system_scope: None,
        expires_at: None,
    }
}

/// Every identity value the filter puts into a header must be a valid header value.
fn check(claims: Map<String, Value>) -> Result<(), TestCaseError> {
    for mapping in [nested_mapping(), flat_mapping()] {
        let expires = crate::mapping::expires_at(&claims, &mapping, "ext_oauth2_auth");
        let Ok(expires) = expires else { continue };
        if let Ok(ctx) = map_claims(claims.clone(), &mapping, "ext_oauth2_auth", expires) {
            for v in [
                &ctx.user_id,
                &ctx.user_name,
                &ctx.user_domain_id,
                &ctx.user_domain_name,
                &ctx.roles_header,
            ] {
                prop_assert!(HeaderValue::from_str(v).is_ok(), "{v:?} from {claims:?}");
            }
        }
    }
    Ok(())
}

#[test]
fn claims_corpus_replays() {
    for (name, bytes) in harness::corpus("claims") {
        let Value::Object(claims) = serde_json::from_slice(&bytes).unwrap() else {
            panic!("{name}: not a JSON object");
        };
        check(claims).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

const KEYS: &[&str] = &[
    "project",
    "user",
    "domain",
    "id",
    "name",
    "roles",
    "system",
    "exp",
    "client_id",
    "username",
    "project_id",
    "project_name",
    "active",
    "cnf",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop_oneof![
            "[a-zA-Z0-9_, -]{0,12}",
            any::<String>(),
            Just("admin".to_owned()),
            Just("member, admin".to_owned()),
        ]
        .prop_map(Value::String),
    ]
}

fn json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec((proptest::sample::select(KEYS), inner), 0..6).prop_map(
                |kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            ),
        ]
    })
}

fn claims() -> impl Strategy<Value = Map<String, Value>> {
    proptest::collection::vec((proptest::sample::select(KEYS), json()), 0..10)
        .prop_map(|kv| kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

/// Seeds with their JSON text mutated; what no longer parses as an object becomes the
/// empty object (a filter would reject most cases and abort long runs).
fn mutated_claims() -> impl Strategy<Value = Map<String, Value>> {
    harness::mutated("claims").prop_map(|text| match serde_json::from_str(&text) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    })
}

proptest! {
    #![proptest_config(harness::config())]

    #[test]
    fn claim_mapping_never_panics_and_yields_header_safe_values(
        claims in prop_oneof![claims(), mutated_claims()]
    ) {
        check(claims)?;
    }

    #[test]
    fn resolve_finds_the_value_at_its_path(
        segments in proptest::collection::vec("[a-z_][a-z0-9_]{0,6}", 1..5),
        value in leaf(),
        noise in claims(),
    ) {
        let mut node = value.clone();
        for seg in segments.iter().skip(1).rev() {
            let mut m = Map::new();
            m.insert(seg.clone(), node);
            node = Value::Object(m);
        }
        let mut root = noise;
        root.insert(segments[0].clone(), node);
        let path = segments.join(".");
        let found = resolve(&root, "mapping_x", &path)
            .map_err(|e| TestCaseError::fail(format!("{path}: {e}")))?;
        prop_assert_eq!(found, Some(&value));
    }

    #[test]
    fn resolve_never_panics(root in claims(), path in "[a-z._]{0,20}|\\PC{0,12}") {
        let _ = resolve(&root, "mapping_x", &path);
    }
}
