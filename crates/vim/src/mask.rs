//! `oslo_utils.strutils.mask_dict_password` / `mask_password`, as Tacker applies them to a
//! VIM's `auth_cred` before showing it (spec §2.3).

use std::borrow::Cow;
use std::sync::OnceLock;

use regex::Regex;
use serde::ser::{Serialize, SerializeMap, Serializer};
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

/// The patterns of one sanitize key, compiled the first time a text contains the key (most
/// texts contain none, so a server that never meets one compiles nothing).
struct KeyPatterns {
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

fn patterns(index: usize) -> &'static KeyPatterns {
    static PATTERNS: [OnceLock<KeyPatterns>; SANITIZE_KEYS.len()] =
        [const { OnceLock::new() }; SANITIZE_KEYS.len()];
    PATTERNS[index].get_or_init(|| {
        let key = SANITIZE_KEYS[index];
        KeyPatterns {
            two: compile(&FORMAT_PATTERNS_2, key),
            one: compile(&FORMAT_PATTERNS_1, key),
            wildcard: compile(&FORMAT_PATTERNS_WILDCARD, key),
        }
    })
}

/// `strutils.mask_password(message)`: masks `password=xxx`-like fragments inside a string.
pub fn mask_password(message: &str) -> String {
    mask_password_cow(message).into_owned()
}

/// [`mask_password`] without a copy when nothing is masked (nearly every value).
pub fn mask_password_cow(message: &str) -> Cow<'_, str> {
    // Masking only ever removes text after a key, so a text with no key stays as it is.
    if !contains_any_key(message) {
        return Cow::Borrowed(message);
    }
    let mut message = Cow::Borrowed(message);
    for (index, key) in SANITIZE_KEYS.iter().enumerate() {
        if !lower_contains(&message, key) {
            continue;
        }
        let p = patterns(index);
        for re in &p.two {
            if let Cow::Owned(masked) = re.replace_all(&message, SUBSTITUTE_2) {
                message = Cow::Owned(masked);
            }
        }
        for re in &p.one {
            if let Cow::Owned(masked) = re.replace_all(&message, SUBSTITUTE_1) {
                message = Cow::Owned(masked);
            }
        }
        for re in &p.wildcard {
            if let Cow::Owned(masked) = re.replace_all(&message, "${1}") {
                message = Cow::Owned(masked);
            }
        }
    }
    message
}

/// oslo's `r'\g<1>' + secret + r'\g<2>'` and `r'\g<1>' + secret`.
const SUBSTITUTE_2: &str = "${1}***${2}";
const SUBSTITUTE_1: &str = "${1}***";

/// Every sanitize key, ASCII case-insensitively, in one automaton: one pass over a text tells
/// whether any key is in it (nearly every key and value of a VIM has none).
fn any_key() -> &'static aho_corasick::AhoCorasick {
    static ANY: OnceLock<aho_corasick::AhoCorasick> = OnceLock::new();
    ANY.get_or_init(|| {
        aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(SANITIZE_KEYS)
            .expect("the sanitize keys build an automaton")
    })
}

/// Python's `any(k in text.lower() for k in _SANITIZE_KEYS)`: for ASCII text one pass of
/// [`any_key`]; other text is lower-cased as Python does (Unicode case mapping can turn a
/// non-ASCII character into an ASCII letter: KELVIN SIGN -> `k`).
fn contains_any_key(text: &str) -> bool {
    if text.is_ascii() {
        any_key().is_match(text)
    } else {
        let lower = text.to_lowercase();
        SANITIZE_KEYS.iter().any(|k| lower.contains(k))
    }
}

/// Python's `key in text.lower()` for an (ASCII, lower-case) sanitize key, without a
/// lower-cased copy when `text` is ASCII. Other text is lower-cased as Python does: Unicode
/// case mapping can turn a non-ASCII character into an ASCII letter (KELVIN SIGN -> `k`).
fn lower_contains(text: &str, key: &str) -> bool {
    if text.is_ascii() {
        let (haystack, needle) = (text.as_bytes(), key.as_bytes());
        haystack.len() >= needle.len()
            && haystack
                .windows(needle.len())
                .any(|w| w.eq_ignore_ascii_case(needle))
    } else {
        text.to_lowercase().contains(key)
    }
}

/// True when the lower-cased key contains any sanitize key.
pub fn is_sensitive_key(key: &str) -> bool {
    contains_any_key(key)
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

/// [`mask_dict_password`] written straight to a serializer: same keys, order and values,
/// without building the masked map.
pub struct MaskedDict<'a>(pub &'a Map<String, Value>);

impl Serialize for MaskedDict<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            map.serialize_entry(k, &MaskedValue(k, v))?;
        }
        map.end()
    }
}

/// One value of [`mask_dict_password`] under `key`.
pub(crate) struct MaskedValue<'a>(pub &'a str, pub &'a Value);

impl Serialize for MaskedValue<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.1 {
            Value::Object(inner) => MaskedDict(inner).serialize(serializer),
            _ if is_sensitive_key(self.0) => serializer.serialize_str(SECRET),
            Value::String(s) => serializer.serialize_str(&mask_password_cow(s)),
            other => other.serialize(serializer),
        }
    }
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
    fn one_pass_finds_what_the_per_key_search_finds() {
        let mut texts: Vec<String> = vec![
            String::new(),
            "plain".into(),
            "usernam".into(),
            "x-\u{212a}ey".into(),
            "priv\u{212a}ey".into(),
            "Ã©token".into(),
            "tok en".into(),
        ];
        for key in SANITIZE_KEYS {
            texts.push(key.to_uppercase());
            texts.push(format!("--{key}=1"));
            texts.push(key[..key.len() - 1].to_owned());
            texts.push(format!("\u{e9}{}", key.to_ascii_uppercase()));
        }
        for text in &texts {
            let per_key = SANITIZE_KEYS.iter().any(|k| lower_contains(text, k));
            assert_eq!(contains_any_key(text), per_key, "{text:?}");
        }
    }

    #[test]
    fn sanitize_keys_are_found_as_python_lower_finds_them() {
        assert!(is_sensitive_key("OS_PASSWORD"));
        assert!(is_sensitive_key("bearer_Token"));
        assert!(!is_sensitive_key("username"));
        // KELVIN SIGN lower-cases to an ASCII `k` in Python (and Rust) too.
        assert!(is_sensitive_key("private_\u{212a}ey"));
        assert_eq!(mask_password("PassWord=abc def"), "PassWord=*** def");
        assert_eq!(
            mask_password("fernet\u{212a}ey=abc def"),
            "fernet\u{212a}ey=*** def"
        );
        assert!(matches!(mask_password_cow("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn masked_dict_streams_what_mask_dict_password_builds() {
        let dict = obj(json!({
            "password": {"inner": "x", "token": 1}, "bearer_token": "t", "n": 5,
            "note": "password=abc", "list": ["password=abc"], "username": "u"
        }));
        assert_eq!(
            serde_json::to_string(&MaskedDict(&dict)).unwrap(),
            serde_json::to_string(&mask_dict_password(&dict)).unwrap()
        );
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
