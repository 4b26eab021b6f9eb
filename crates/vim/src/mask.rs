//! `oslo_utils.strutils.mask_dict_password` / `mask_password`, as Tacker applies them to a
//! VIM's `auth_cred` before showing it (spec §2.3).

use std::sync::OnceLock;

use regex::Regex;
use serde_json::{Map, Value};

/// The replacement text oslo uses.
pub const SECRET: &str = "***";

/// oslo.utils `_SANITIZE_KEYS`, in its order (all lower case).
pub const SANITIZE_KEYS: [&str; 34] = [
    "adminpass",
    "admin_pass",
    "password",
    "admin_password",
    "auth_token",
    "new_pass",
    "auth_password",
    "secret_uuid",
    "secret",
    "sys_pswd",
    "token",
    "configdrive",
    "chappassword",
    "encrypted_key",
    "private_key",
    "fernetkey",
    "sslkey",
    "passphrase",
    "cephclusterfsid",
    "octaviaheartbeatkey",
    "rabbitcookie",
    "cephmanilaclientkey",
    "pacemakerremoteauthkey",
    "designaterndckey",
    "cephadminkey",
    "heatauthencryptionkey",
    "cephclientkey",
    "keystonecredential",
    "barbicansimplecryptokek",
    "cephrgwkey",
    "swifthashsuffix",
    "migrationsshkey",
    "cephmdskey",
    "cephmonkey",
];

// oslo's `_FORMAT_PATTERNS_2` (two groups kept around the secret), `_FORMAT_PATTERNS_1` (one
// group) and `_FORMAT_PATTERNS_WILDCARD`, with `{key}` substituted per sanitize key.
const FORMAT_PATTERNS_2: [&str; 10] = [
    r#"({key}[0-9]*\s*[=]\s*[\"'])[^\"']*([\"'])"#,
    r#"({key}[0-9]*\s*[=]\s*[\"])[^\"]*([\"])"#,
    r#"({key}[0-9]*\s*[=]\s*['])[^']*(['])"#,
    r#"({key}[0-9]*\s+[\"'])[^\"']*([\"'])"#,
    r#"([-]{2}{key}[0-9]*\s+)[^'^\"^=^\s]+([\s]*)"#,
    r#"(<{key}[0-9]*>)[^<]*(</{key}[0-9]*>)"#,
    r#"([\"']{key}[0-9]*[\"']\s*:\s*[\"'])[^\"']*([\"'])"#,
    r#"(['"][^"']*{key}[0-9]*['"]\s*:\s*u?['"])[^\"']*(['"])"#,
    r#"(['"][^'"]*{key}[0-9]*['"]\s*,\s*'--?[A-z]+'\s*,\s*u?['"])[^\"']*(['"])"#,
    r#"({key}[0-9]*\s*--?[A-z]+\s*)\S+(\s*)"#,
];
const FORMAT_PATTERNS_1: [&str; 1] = [r#"({key}[0-9]*\s*[=]\s*)[^\s^'^\"]+"#];
const FORMAT_PATTERNS_WILDCARD: [&str; 1] =
    [r#"(['\"][^\"']*{key}[0-9]*['\"]\s*:\s*u?['\"].*['\"])[^\"']*(['\"])"#];

struct KeyPatterns {
    key: &'static str,
    two: Vec<Regex>,
    one: Vec<Regex>,
    wildcard: Vec<Regex>,
}

fn compile(patterns: &[&str], key: &str) -> Vec<Regex> {
    patterns
        .iter()
        .map(|p| {
            // oslo compiles with re.DOTALL | re.IGNORECASE.
            let source = format!("(?si){}", p.replace("{key}", key));
            Regex::new(&source).expect("oslo mask patterns are valid regexes")
        })
        .collect()
}

fn patterns() -> &'static [KeyPatterns] {
    static PATTERNS: OnceLock<Vec<KeyPatterns>> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        SANITIZE_KEYS
            .iter()
            .map(|key| KeyPatterns {
                key,
                two: compile(&FORMAT_PATTERNS_2, key),
                one: compile(&FORMAT_PATTERNS_1, key),
                wildcard: compile(&FORMAT_PATTERNS_WILDCARD, key),
            })
            .collect()
    })
}

/// `strutils.mask_password(message)`: masks `password=xxx`-like fragments inside a string.
pub fn mask_password(message: &str) -> String {
    let mut message = message.to_owned();
    for p in patterns() {
        if !message.to_lowercase().contains(p.key) {
            continue;
        }
        for re in &p.two {
            message = re
                .replace_all(&message, format!("${{1}}{SECRET}${{2}}").as_str())
                .into_owned();
        }
        for re in &p.one {
            message = re
                .replace_all(&message, format!("${{1}}{SECRET}").as_str())
                .into_owned();
        }
        for re in &p.wildcard {
            message = re.replace_all(&message, "${1}").into_owned();
        }
    }
    message
}

/// True when the lower-cased key contains any sanitize key.
pub fn is_sensitive_key(key: &str) -> bool {
    let lower = key.to_lowercase();
    SANITIZE_KEYS.iter().any(|k| lower.contains(k))
}

/// `strutils.mask_dict_password(dictionary)`: nested dicts are recursed into (even under a
/// sensitive key), other values under a sensitive key become `"***"` whatever their type, and
/// remaining strings go through `mask_password`.
pub fn mask_dict_password(dict: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in dict {
        let masked = match v {
            Value::Object(inner) => Value::Object(mask_dict_password(inner)),
            _ if is_sensitive_key(k) => Value::String(SECRET.to_owned()),
            Value::String(s) => Value::String(mask_password(s)),
            other => other.clone(),
        };
        out.insert(k.clone(), masked);
    }
    out
}

/// Tacker's `_make_vim_dict` masking of `auth_cred`: `oidc_token_url` is renamed while
/// masking (it contains `token`) and put back afterwards, which moves it to the end.
pub fn mask_auth_cred(auth_cred: &Map<String, Value>) -> Map<String, Value> {
    const TEMP: &str = "oidc_x_url";
    let mut renamed = auth_cred.clone();
    if let Some(url) = renamed.shift_remove("oidc_token_url") {
        renamed.insert(TEMP.to_owned(), url);
    }
    let mut masked = mask_dict_password(&renamed);
    if let Some(url) = masked.shift_remove(TEMP) {
        masked.insert("oidc_token_url".to_owned(), url);
    }
    masked
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn sensitive_keys_are_masked_whatever_the_value() {
        let m = mask_dict_password(&obj(json!({
            "password": null, "bearer_token": "t", "client_secret": 5,
            "secret_uuid": "u", "username": "admin", "key_type": "fernet_key",
            "ssl_ca_cert": "-----BEGIN", "client_id": "c", "cert_verify": "True"
        })));
        assert_eq!(
            Value::Object(m),
            json!({
                "password": "***", "bearer_token": "***", "client_secret": "***",
                "secret_uuid": "***", "username": "admin", "key_type": "fernet_key",
                "ssl_ca_cert": "-----BEGIN", "client_id": "c", "cert_verify": "True"
            })
        );
    }

    #[test]
    fn nested_dicts_are_recursed_into() {
        let m = mask_dict_password(&obj(json!({"nested": {"password": "x", "user": "u"}})));
        assert_eq!(
            Value::Object(m),
            json!({"nested": {"password": "***", "user": "u"}})
        );
    }

    #[test]
    fn password_fragments_inside_strings_are_masked() {
        assert_eq!(mask_password("--password d81juxmEW_"), "--password ***");
        assert_eq!(
            mask_password("'adminPass' : 'aaaaa'"),
            "'adminPass' : '***'"
        );
        assert_eq!(mask_password("password=abc def"), "password=*** def");
        assert_eq!(mask_password("plain text"), "plain text");
    }

    #[test]
    fn oidc_token_url_is_exempt_and_moves_last() {
        let m = mask_auth_cred(&obj(json!({
            "oidc_token_url": "https://idp/token", "username": "u", "password": "p"
        })));
        assert_eq!(
            m.keys().map(String::as_str).collect::<Vec<_>>(),
            vec!["username", "password", "oidc_token_url"]
        );
        assert_eq!(m["oidc_token_url"], json!("https://idp/token"));
        assert_eq!(m["password"], json!("***"));
    }
}
