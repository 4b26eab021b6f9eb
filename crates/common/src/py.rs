//! Python value semantics of JSON-decoded values, as Tacker and keystonemiddleware apply
//! them: `str()` / `repr()` (how `%s` renders values in validation messages, and
//! `request.body` in `Invalid format: b'...'`), truthiness, and `tacker.common.utils`'
//! `str_to_bool` / `none_from_string`.

use serde_json::Value;

/// `'%s' % value` for a value decoded by Python's `json.loads`.
pub fn py_str(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => py_repr(other),
    }
}

/// `repr(value)` for a value decoded by Python's `json.loads`.
pub fn py_repr(value: &Value) -> String {
    match value {
        Value::Null => "None".to_owned(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Number(n) => py_number(n),
        Value::String(s) => py_str_repr(s),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(py_repr).collect();
            format!("[{}]", inner.join(", "))
        }
        Value::Object(map) => {
            let inner: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", py_str_repr(k), py_repr(v)))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
    }
}

fn py_number(n: &serde_json::Number) -> String {
    if n.is_f64() {
        let f = n.as_f64().unwrap_or(0.0);
        // Python's float repr always shows a fraction or an exponent.
        if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e16 {
            format!("{f:.1}")
        } else {
            let s = format!("{f:?}");
            s.replace("e", "e+").replace("e+-", "e-")
        }
    } else {
        n.to_string()
    }
}

/// Python `repr(str)`: single quotes unless the text holds `'` and no `"`.
pub fn py_str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for ch in s.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if (0x80..0xa0).contains(&(c as u32)) => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Python `repr(bytes)`: `b'...'` with printable ASCII kept and everything else `\xNN`.
pub fn py_bytes_repr(bytes: &[u8]) -> String {
    let quote = if bytes.contains(&b'\'') && !bytes.contains(&b'"') {
        b'"'
    } else {
        b'\''
    };
    let mut out = String::with_capacity(bytes.len() + 3);
    out.push('b');
    out.push(quote as char);
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            q if q == quote => {
                out.push('\\');
                out.push(q as char);
            }
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push(quote as char);
    out
}

/// Python `bool(value)` for a value decoded from JSON.
pub fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// `utils.str_to_bool`: a bool as is, `"True"/"true"/"False"/"false"`, anything else refused
/// (upstream raises `ValueError`, a 500).
pub fn str_to_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s == "True" || s == "true" => Some(true),
        Value::String(s) if s == "False" || s == "false" => Some(false),
        _ => None,
    }
}

/// `utils.none_from_string`: the string, unless it is one of the spellings of "nothing".
pub fn none_from_string(value: Option<&Value>) -> Option<&str> {
    match value {
        Some(Value::String(s)) if !["", "None", "NONE", "null", "NULL"].contains(&s.as_str()) => {
            Some(s)
        }
        _ => None,
    }
}

/// An error and its causes, `": "`-separated, as Python prints chained exceptions inline
/// (how keystoneauth1 and urllib3 render the failure of a request that got no answer).
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Whether a failed request failed in its TLS handshake (Python raises `SSLError` for those,
/// a connection error otherwise).
pub fn is_tls_failure(err: &(dyn std::error::Error + 'static)) -> bool {
    let chain = error_chain(err).to_ascii_lowercase();
    chain.contains("certificate") || chain.contains("tls") || chain.contains("handshake")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn str_of_scalars_matches_python() {
        assert_eq!(py_str(&json!(null)), "None");
        assert_eq!(py_str(&json!(true)), "True");
        assert_eq!(py_str(&json!(123)), "123");
        assert_eq!(py_str(&json!(1.0)), "1.0");
        assert_eq!(py_str(&json!(1.5)), "1.5");
        assert_eq!(py_str(&json!("x")), "x");
    }

    #[test]
    fn str_of_containers_uses_repr_inside() {
        assert_eq!(py_str(&json!({})), "{}");
        assert_eq!(py_str(&json!([1])), "[1]");
        assert_eq!(py_str(&json!(["default"])), "['default']");
        assert_eq!(
            py_str(&json!({"a": [null, true, "it's"]})),
            "{'a': [None, True, \"it's\"]}"
        );
    }

    #[test]
    fn bytes_repr_matches_python() {
        assert_eq!(py_bytes_repr(b""), "b''");
        assert_eq!(py_bytes_repr(b"[1]"), "b'[1]'");
        assert_eq!(py_bytes_repr(b"\"x\""), "b'\"x\"'");
        assert_eq!(py_bytes_repr("é\n".as_bytes()), "b'\\xc3\\xa9\\n'");
    }

    #[test]
    fn truthiness_as_python() {
        for v in [
            json!(null),
            json!(false),
            json!(0),
            json!(0.0),
            json!(""),
            json!([]),
            json!({}),
        ] {
            assert!(!truthy(&v), "{v}");
        }
        for v in [
            json!(true),
            json!(1),
            json!("0"),
            json!("False"),
            json!([0]),
            json!({"a": 1}),
        ] {
            assert!(truthy(&v), "{v}");
        }
    }

    #[test]
    fn str_to_bool_as_upstream() {
        assert_eq!(str_to_bool(&json!("True")), Some(true));
        assert_eq!(str_to_bool(&json!("true")), Some(true));
        assert_eq!(str_to_bool(&json!(false)), Some(false));
        assert_eq!(str_to_bool(&json!("False")), Some(false));
        assert_eq!(str_to_bool(&json!("TRUE")), None);
        assert_eq!(str_to_bool(&json!("1")), None);
        assert_eq!(str_to_bool(&json!(null)), None);
    }

    #[test]
    fn none_from_string_as_upstream() {
        for v in ["", "None", "NONE", "null", "NULL"] {
            assert_eq!(none_from_string(Some(&json!(v))), None);
        }
        assert_eq!(none_from_string(None), None);
        assert_eq!(none_from_string(Some(&json!("none"))), Some("none"));
        assert_eq!(none_from_string(Some(&json!("PEM"))), Some("PEM"));
    }
}
