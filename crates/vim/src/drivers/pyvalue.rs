//! The Python value semantics the upstream drivers rely on, for JSON values: truthiness,
//! `tacker.common.utils.str_to_bool` / `none_from_string`, and `repr()` of a string (used in
//! error texts that upstream builds with `%r`-like formatting).

use serde_json::Value;

/// Python `bool(value)` for a value decoded from JSON.
pub(crate) fn truthy(value: &Value) -> bool {
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
pub(crate) fn str_to_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s == "True" || s == "true" => Some(true),
        Value::String(s) if s == "False" || s == "false" => Some(false),
        _ => None,
    }
}

/// `utils.none_from_string`: the string, unless it is one of the spellings of "nothing".
pub(crate) fn none_from_string(value: Option<&Value>) -> Option<&str> {
    match value {
        Some(Value::String(s)) if !["", "None", "NONE", "null", "NULL"].contains(&s.as_str()) => {
            Some(s)
        }
        _ => None,
    }
}

/// Python `repr()` of a `str`.
pub(crate) fn repr_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Python `str()` of a JSON value, for values that end up in a form body or a header.
pub(crate) fn py_str(value: &Value) -> String {
    match value {
        Value::Null => "None".to_owned(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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

    #[test]
    fn repr_as_python() {
        assert_eq!(repr_str("abc"), "'abc'");
        assert_eq!(repr_str("it's"), "\"it's\"");
        assert_eq!(repr_str("a'b\"c"), "'a\\'b\"c'");
        assert_eq!(repr_str("x\ny\\"), "'x\\ny\\\\'");
    }
}
