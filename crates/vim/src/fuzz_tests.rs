//! Fuzz target `vim-body`: `POST`/`PUT /v1.0/vims` bodies through Tacker's deserializer and
//! attribute validation (`parse_body`, `prepare_create`, `prepare_update`) never panic, for
//! an admin and a project context; a valid create body keeps the name and description it
//! was given. Seeds: `tests/fuzz/corpus/vim-body/`; cases: `TACKER_FUZZ_CASES`.

#[path = "../../../tests/fuzz/harness.rs"]
mod harness;

use proptest::prelude::*;
use serde_json::{json, Value};
use tacker_common::{Identity, RequestContext};

use crate::attributes::{parse_body, prepare_create, prepare_update};

fn contexts() -> [RequestContext; 2] {
    let project = RequestContext::from(Identity {
        project_id: Some("tenant-a".into()),
        roles: vec!["member".into()],
        // The rest as in the noauth admin context.
        is_admin: true,
        ..Identity::default()
    });
    [RequestContext::noauth_admin(), project]
}

fn exercise(raw: &[u8]) {
    let Ok(body) = parse_body(raw) else {
        return;
    };
    for ctx in contexts() {
        let _ = prepare_create(&ctx, body.clone(), raw);
        let _ = prepare_update(&ctx, body.clone(), raw);
    }
}

#[test]
fn vim_body_corpus_replays() {
    for (name, bytes) in harness::corpus("vim-body") {
        exercise(&bytes);
        if name.starts_with("create-") {
            let body = parse_body(&bytes).unwrap();
            prepare_create(&RequestContext::noauth_admin(), body, &bytes)
                .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        }
    }
}

proptest! {
    #![proptest_config(harness::config())]

    #[test]
    fn vim_body_validation_never_panics(text in harness::mutated("vim-body")) {
        exercise(text.as_bytes());
    }

    #[test]
    fn vim_body_arbitrary_bytes_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..64)) {
        exercise(&raw);
    }

    #[test]
    fn valid_create_keeps_name_and_description(
        name in "[\\PC&&[^\\u{0}]]{1,40}",
        description in "\\PC{0,40}",
    ) {
        let body = json!({"vim": {
            "tenant_id": "tenant-a",
            "type": "kubernetes",
            "auth_url": "https://127.0.0.1:6443",
            "auth_cred": {"bearer_token": "t"},
            "vim_project": {"name": "default"},
            "name": name,
            "description": description,
        }});
        let raw = serde_json::to_vec(&body).unwrap();
        let parsed: Option<Value> = parse_body(&raw)
            .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        let req = prepare_create(&RequestContext::noauth_admin(), parsed, &raw)
            .map_err(|e| TestCaseError::fail(format!("{name:?}: {e:?}")))?;
        prop_assert_eq!(req.name, name);
        prop_assert_eq!(req.description, description);
    }
}
