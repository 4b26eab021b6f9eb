//! Fernet compatibility with Python's `cryptography` (what Tacker uses), both directions:
//! tokens from the committed fixture (made once by `scripts/gen-fernet-fixture.py`) decrypt
//! here, and tokens made here decrypt in a live Python (the `.venv/fernet` virtualenv that
//! `scripts/setup/pyfernet.sh` creates), which also makes fresh tokens for us.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use tacker_vim::vault::fernet::{self, FernetError, FernetKey};
use tokio::io::AsyncWriteExt;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture() -> Value {
    let path = repo_root().join("tests/fixtures/fernet/python-tokens.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

#[test]
fn python_made_tokens_decrypt_in_rust() {
    let fixture = fixture();
    let key = SecretString::from(fixture["key"].as_str().unwrap());
    let cases = fixture["cases"].as_array().unwrap();
    assert!(cases.len() >= 8);
    for case in cases {
        let token = case["token"].as_str().unwrap();
        let plain =
            fernet::decrypt(&key, token).unwrap_or_else(|e| panic!("case {}: {e}", case["name"]));
        assert_eq!(
            plain.expose_secret(),
            case["plaintext"].as_str().unwrap(),
            "case {}",
            case["name"]
        );
    }
    let names: Vec<&str> = cases.iter().map(|c| c["name"].as_str().unwrap()).collect();
    for required in ["empty", "non_ascii", "long", "fixed_time_2016"] {
        assert!(names.contains(&required), "fixture lacks {required}");
    }
}

#[test]
fn python_token_of_another_key_is_refused() {
    let fixture = fixture();
    let key = SecretString::from(fixture["key"].as_str().unwrap());
    let foreign = fixture["foreign_key_token"].as_str().unwrap();
    assert_eq!(
        fernet::decrypt(&key, foreign).unwrap_err(),
        FernetError::InvalidToken
    );
}

#[test]
fn python_tokens_altered_in_any_byte_are_refused() {
    use base64::Engine as _;
    let fixture = fixture();
    let key = FernetKey::from_base64(fixture["key"].as_str().unwrap()).unwrap();
    let token = fixture["cases"][1]["token"].as_str().unwrap();
    let raw = base64::engine::general_purpose::URL_SAFE
        .decode(token)
        .unwrap();
    for i in 0..raw.len() {
        let mut altered = raw.clone();
        altered[i] ^= 0x01;
        let altered = base64::engine::general_purpose::URL_SAFE.encode(&altered);
        // Byte 1..9 is the timestamp: covered by the HMAC like everything else.
        assert_eq!(
            key.decrypt(&altered).unwrap_err(),
            FernetError::InvalidToken,
            "byte {i}"
        );
    }
}

/// The project virtualenv's Python with `cryptography`, or `None` outside CI when it has not
/// been set up (`scripts/setup/pyfernet.sh`). In CI its absence is a failure.
fn fernet_python() -> Option<PathBuf> {
    let python = repo_root().join(".venv/fernet/bin/python");
    if python.is_file() {
        return Some(python);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "{} is missing: run scripts/setup/pyfernet.sh before the tests",
            python.display()
        );
    }
    eprintln!("skipping the live Python check: run scripts/setup/pyfernet.sh to enable it");
    None
}

/// Runs `script` with `input` as JSON on stdin and returns its JSON stdout; killed if it
/// does not finish in time.
async fn run_python(python: &Path, script: &str, input: &Value) -> Value {
    let mut child = tokio::process::Command::new(python)
        .arg("-c")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start python");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.to_string().as_bytes()).await.unwrap();
    drop(stdin);
    let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("python did not finish within 60 s")
        .unwrap();
    assert!(
        output.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("python printed JSON")
}

const PY_DECRYPT: &str = r#"
import json, sys
from cryptography.fernet import Fernet, InvalidToken
req = json.load(sys.stdin)
f = Fernet(req["key"].encode())
out = []
for token in req["tokens"]:
    try:
        out.append(f.decrypt(token.encode()).decode("utf-8"))
    except InvalidToken:
        out.append(None)
json.dump(out, sys.stdout)
"#;

const PY_ENCRYPT: &str = r#"
import json, sys
from cryptography.fernet import Fernet
req = json.load(sys.stdin)
key = Fernet.generate_key()
f = Fernet(key)
json.dump({"key": key.decode(), "tokens": [f.encrypt(p.encode("utf-8")).decode() for p in req["plaintexts"]]}, sys.stdout)
"#;

fn plaintexts() -> Vec<String> {
    vec![
        String::new(),
        "devstack".to_owned(),
        "pässwörd-密码-🔑".to_owned(),
        "0123456789abcdef".to_owned(),
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".to_owned(),
        "y".repeat(5000),
    ]
}

#[tokio::test]
async fn rust_made_tokens_decrypt_in_python() {
    let Some(python) = fernet_python() else {
        return;
    };
    let key = fernet::generate_key();
    let plaintexts = plaintexts();
    let mut tokens: Vec<String> = plaintexts
        .iter()
        .map(|p| fernet::encrypt(&key, &SecretString::from(p.as_str())).unwrap())
        .collect();
    // And one Python must refuse: made with another key.
    tokens.push(fernet::encrypt(&fernet::generate_key(), &SecretString::from("x")).unwrap());
    let out = run_python(
        &python,
        PY_DECRYPT,
        &json!({ "key": key.expose_secret(), "tokens": tokens }),
    )
    .await;
    let mut expected: Vec<Value> = plaintexts.iter().map(|p| json!(p)).collect();
    expected.push(Value::Null);
    assert_eq!(out, Value::Array(expected));
}

#[tokio::test]
async fn live_python_tokens_decrypt_in_rust() {
    let Some(python) = fernet_python() else {
        return;
    };
    let plaintexts = plaintexts();
    let out = run_python(&python, PY_ENCRYPT, &json!({ "plaintexts": plaintexts })).await;
    let key = SecretString::from(out["key"].as_str().unwrap());
    let tokens = out["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), plaintexts.len());
    for (token, plain) in tokens.iter().zip(&plaintexts) {
        let got = fernet::decrypt(&key, token.as_str().unwrap()).unwrap();
        assert_eq!(got.expose_secret(), plain);
    }
}

const PY_ENCRYPT_AHEAD: &str = r#"
import json, sys, time
from cryptography.fernet import Fernet
req = json.load(sys.stdin)
key = Fernet.generate_key()
f = Fernet(key)
token = f.encrypt_at_time(b"from-a-clock-ahead", int(time.time()) + req["ahead"])
# Python itself decrypts it without a ttl, as Tacker calls it.
assert f.decrypt(token) == b"from-a-clock-ahead"
json.dump({"key": key.decode(), "token": token.decode()}, sys.stdout)
"#;

/// A token written by a host whose clock runs a day ahead: Python's `Fernet.decrypt` without
/// a `ttl` ignores the timestamp, so Tacker reads it, and so must we.
#[tokio::test]
async fn python_tokens_from_a_clock_ahead_decrypt_in_rust() {
    let Some(python) = fernet_python() else {
        return;
    };
    let out = run_python(&python, PY_ENCRYPT_AHEAD, &json!({ "ahead": 86_400 })).await;
    let key = SecretString::from(out["key"].as_str().unwrap());
    let plain = fernet::decrypt(&key, out["token"].as_str().unwrap()).unwrap();
    assert_eq!(plain.expose_secret(), "from-a-clock-ahead");
}

const PY_TACKER_KEY_FILE: &str = r#"
import json, sys
from cryptography.fernet import Fernet
req = json.load(sys.stdin)
# Read our key file the way Tacker's vim_client does, and decrypt our token with it.
with open(req["our_key_file"], "rb") as f:
    ours = Fernet(f.read()).decrypt(req["our_token"].encode()).decode("utf-8")
# Write a key file the way Tacker's OpenStack driver does, with a token made by it.
key = Fernet.generate_key()
with open(req["their_key_file"], "wb") as f:
    f.write(key)
json.dump({"ours": ours, "their_token": Fernet(key).encrypt(b"tacker-made").decode()}, sys.stdout)
"#;

/// Key files are interchangeable with Tacker's: Python reads a key file the Rust key manager
/// wrote, and the Rust key manager reads one written the way Tacker writes it.
#[tokio::test]
async fn key_files_are_interchangeable_with_tacker() {
    use tacker_vim::vault::{FileKeyManager, KeyManager, KeyRef};
    let Some(python) = fernet_python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let km = FileKeyManager::new(dir.path());
    let ours = "0c2b0c5e-1111-4222-8333-444455556666";
    let theirs = "9d8e7f60-aaaa-4bbb-8ccc-dddd11112222";
    let key = fernet::generate_key();
    // A stored key is staged until the row that uses it commits; then it is the key file.
    km.activate(&km.store(ours, &key).await.unwrap())
        .await
        .unwrap();
    let token = fernet::encrypt(&key, &SecretString::from("rust-made")).unwrap();
    let out = run_python(
        &python,
        PY_TACKER_KEY_FILE,
        &json!({
            "our_key_file": dir.path().join(ours),
            "our_token": token,
            "their_key_file": dir.path().join(theirs),
        }),
    )
    .await;
    assert_eq!(out["ours"], json!("rust-made"));
    let their_key = km.load(theirs, &KeyRef::FernetFile).await.unwrap();
    let plain = fernet::decrypt(&their_key, out["their_token"].as_str().unwrap()).unwrap();
    assert_eq!(plain.expose_secret(), "tacker-made");
}
