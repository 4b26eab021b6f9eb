//! The shared cache's byte layout checked against keystonemiddleware 13.0.1's own code, both
//! ways: `tests/peers/kmw/memcache_vectors.py` runs in the kmw venv (`scripts/setup/kmw.sh`)
//! and derives keys, protects and unprotects values, dumps `token_data` JSON and picks servers
//! as a Python node would; these tests compare, read what Python wrote and have Python read
//! what Rust wrote.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;

use serde_json::{json, Value};

use crate::cache::{memcache_key, Cached};
use crate::mapping::{AuthContext, Scope};
use crate::memcache::pick_server;
use crate::memcache_crypt::derive_keys;
use crate::token_data;

fn python() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/kmw/bin/python");
    assert!(
        path.is_file(),
        "keystonemiddleware reference is not installed ({} missing): run scripts/setup/kmw.sh",
        path.display()
    );
    path
}

/// One request to the Python side; the answer as JSON.
fn upstream(request: &Value) -> Value {
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/peers/kmw/memcache_vectors.py");
    let mut child = Command::new(python())
        .arg(script)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the kmw venv's python");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(request.to_string().as_bytes())
        .expect("write request");
    let out = child.wait_with_output().expect("python output");
    assert!(
        out.status.success(),
        "memcache_vectors.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("python answer is JSON")
}

/// Tokens with the characters real ones carry (JWT dots, base64url, `~`), and non-ASCII.
const TOKENS: [&str; 4] = [
    "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln-_~",
    "QmFzZTY0K3Rva2VuLz0=",
    "t",
    "tökén",
];
/// Strategies as an operator may type them: only exact `ENCRYPT` encrypts upstream.
const STRATEGIES: [&str; 5] = ["MAC", "ENCRYPT", "mac", "encrypt", "Encrypt"];
const SECRETS: [&str; 2] = ["s3cr3t", "clé très secrète"];

fn cases() -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for token in TOKENS {
        for strategy in STRATEGIES {
            for secret in SECRETS {
                out.push((token.to_owned(), strategy.to_owned(), secret.to_owned()));
            }
        }
    }
    out
}

#[test]
fn cache_keys_match_keystonemiddleware_plain_and_secure() {
    let mut specs: Vec<Value> = TOKENS.iter().map(|t| json!({"token": t})).collect();
    specs.extend(
        cases()
            .iter()
            .map(|(t, st, se)| json!({"token": t, "strategy": st, "secret": se})),
    );
    let answer = upstream(&json!({ "keys": specs }));
    let python_keys = answer["keys"].as_array().expect("keys");
    let mut ours: Vec<String> = TOKENS.iter().map(|t| memcache_key(t)).collect();
    ours.extend(
        cases()
            .iter()
            .map(|(t, st, se)| derive_keys(t, se.as_bytes(), st).memcache_key()),
    );
    assert_eq!(python_keys.len(), ours.len());
    for (python, rust) in python_keys.iter().zip(&ours) {
        assert_eq!(python.as_str(), Some(rust.as_str()));
    }
}

#[test]
fn python_protected_values_are_read_by_rust() {
    let data = r#"{"origin_token_metadata": {"active": true, "name": "\u00e9"}, "roles": "admin"}"#;
    let specs: Vec<Value> = cases()
        .iter()
        .map(|(t, st, se)| json!({"token": t, "strategy": st, "secret": se, "data": data}))
        .collect();
    let answer = upstream(&json!({ "protect": specs }));
    for ((token, strategy, secret), value) in
        cases().iter().zip(answer["protect"].as_array().unwrap())
    {
        let value = value.as_str().expect("protected text");
        let keys = derive_keys(token, secret.as_bytes(), strategy);
        assert_eq!(
            keys.unprotect(value.as_bytes())
                .expect("Rust reads Python's value"),
            data.as_bytes(),
            "{strategy}"
        );
        // MAC mode is deterministic: the very same bytes.
        if strategy != "ENCRYPT" {
            assert_eq!(
                keys.protect(data.as_bytes()),
                value.as_bytes(),
                "{strategy}"
            );
        }
        // Another secret, or another spelling of the strategy, cannot read it.
        let other = derive_keys(token, b"another secret", strategy);
        assert!(other.unprotect(value.as_bytes()).is_err());
    }
}

#[test]
fn rust_protected_values_are_read_by_python() {
    let data = r#"{"origin_token_metadata": {"active": false}}"#;
    let mut specs = Vec::new();
    for (token, strategy, secret) in cases() {
        let keys = derive_keys(&token, secret.as_bytes(), &strategy);
        let value = String::from_utf8(keys.protect(data.as_bytes())).unwrap();
        specs.push(json!({"token": token, "strategy": strategy, "secret": secret, "value": value}));
        // The same value under a wrong secret: Python's SecureTokenCache sees no entry.
        specs
            .push(json!({"token": token, "strategy": strategy, "secret": "wrong", "value": value}));
    }
    // Garbage and a flipped MAC byte: no entry, no exception.
    let keys = derive_keys("t", b"s", "ENCRYPT");
    let mut tampered = keys.protect(data.as_bytes());
    tampered[3] = if tampered[3] == b'A' { b'B' } else { b'A' };
    specs.push(json!({"token": "t", "strategy": "ENCRYPT", "secret": "s", "value": String::from_utf8(tampered).unwrap()}));
    specs.push(json!({"token": "t", "strategy": "MAC", "secret": "s", "value": "garbage"}));
    let answer = upstream(&json!({ "unprotect": specs }));
    let read = answer["unprotect"].as_array().unwrap();
    let n = cases().len();
    for i in 0..n {
        assert_eq!(read[2 * i].as_str(), Some(data), "case {i}");
        assert!(read[2 * i + 1].is_null(), "case {i} with a wrong secret");
    }
    assert!(read[2 * n].is_null());
    assert!(read[2 * n + 1].is_null());
}

#[test]
fn token_data_bytes_are_jsonutils_dumps() {
    let metadata = json!({
        "active": true, "client_id": "c", "exp": 1_900_000_000_i64, "iat": 1.7e9,
        "scope": "openstack", "name": "Zoë 😀", "nested": {"list": [1, 2.5, null, false]},
        "ratio": 1e-7,
    });
    let project = AuthContext {
        user_id: "u".into(),
        user_name: "user".into(),
        user_domain_id: "default".into(),
        user_domain_name: "Default".into(),
        roles_header: "member,reader".into(),
        roles: vec!["member".into(), "reader".into()],
        is_admin: false,
        scope: Scope::Project {
            id: "p".into(),
            name: "proj".into(),
            domain_id: "default".into(),
            domain_name: "Default".into(),
        },
        expires_at: Some(1.9e9),
        token_info: Arc::new(metadata.as_object().unwrap().clone()),
        derived: Default::default(),
    };
    let system = AuthContext {
        scope: Scope::System,
        ..project.clone()
    };
    let domain = AuthContext {
        scope: Scope::Domain {
            id: "d".into(),
            name: "dom".into(),
        },
        is_admin: true,
        ..project.clone()
    };
    let entries = [
        Cached::Valid(Arc::new(project)),
        Cached::Valid(Arc::new(system)),
        Cached::Valid(Arc::new(domain)),
        Cached::Inactive,
    ];
    let ours: Vec<String> = entries
        .iter()
        .map(|e| String::from_utf8(token_data::encode(e)).unwrap())
        .collect();
    // Python dumps the dict it would have built; feed it our own output parsed back, which
    // keeps the key order, so any difference is one of formatting.
    let dicts: Vec<Value> = ours
        .iter()
        .map(|s| serde_json::from_str(s).unwrap())
        .collect();
    let answer = upstream(&json!({ "dumps": dicts }));
    for (python, rust) in answer["dumps"].as_array().unwrap().iter().zip(&ours) {
        assert_eq!(python.as_str(), Some(rust.as_str()));
    }
}

#[test]
fn server_choice_matches_python_memcached() {
    let mut specs = Vec::new();
    let mut ours = Vec::new();
    for (i, token) in TOKENS.iter().enumerate() {
        let keys = [
            memcache_key(token),
            derive_keys(token, b"s", "MAC").memcache_key(),
        ];
        for key in keys {
            for servers in 1..=4usize {
                let dead_sets: [Vec<usize>; 3] =
                    [vec![], vec![i % servers], (0..servers).collect()];
                for dead in dead_sets {
                    ours.push(pick_server(key.as_bytes(), servers, |s| dead.contains(&s)));
                    specs.push(json!({"key": key, "servers": servers, "dead": dead}));
                }
            }
        }
    }
    let answer = upstream(&json!({ "servers": specs }));
    let python: Vec<Option<usize>> = answer["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().map(|n| n as usize))
        .collect();
    assert_eq!(python, ours);
}
