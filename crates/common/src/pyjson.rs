//! Python `json.dumps(obj)` output: separators `", "` and `": "`, `ensure_ascii=True`
//! (every character outside printable ASCII written as `\uXXXX`, astral characters as
//! surrogate pairs).

use std::io;

use axum::response::{IntoResponse, Response};
use http::header;
use serde::Serialize;
use serde_json::ser::{CharEscape, Formatter, Serializer};

struct PyFormatter;

impl Formatter for PyFormatter {
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            w.write_all(b", ")
        }
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            w.write_all(b", ")
        }
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        // serde_json passes runs that need no JSON escaping; Python additionally escapes
        // everything outside ' '..='~'.
        let mut start = 0;
        for (i, ch) in fragment.char_indices() {
            if (' '..='~').contains(&ch) {
                continue;
            }
            w.write_all(&fragment.as_bytes()[start..i])?;
            let mut buf = [0u16; 2];
            for unit in ch.encode_utf16(&mut buf) {
                write!(w, "\\u{:04x}", unit)?;
            }
            start = i + ch.len_utf8();
        }
        w.write_all(&fragment.as_bytes()[start..])
    }

    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        escape: CharEscape,
    ) -> io::Result<()> {
        let s: &[u8] = match escape {
            CharEscape::Quote => b"\\\"",
            CharEscape::ReverseSolidus => b"\\\\",
            CharEscape::Solidus => b"\\/",
            CharEscape::Backspace => b"\\b",
            CharEscape::FormFeed => b"\\f",
            CharEscape::LineFeed => b"\\n",
            CharEscape::CarriageReturn => b"\\r",
            CharEscape::Tab => b"\\t",
            CharEscape::AsciiControl(byte) => {
                return write!(w, "\\u{:04x}", byte);
            }
        };
        w.write_all(s)
    }
}

/// Serialise `value` exactly as Python's `json.dumps(value)` would.
pub fn to_py_json<T: Serialize + ?Sized>(value: &T) -> String {
    let mut out = Vec::with_capacity(128);
    let mut ser = Serializer::with_formatter(&mut out, PyFormatter);
    value
        .serialize(&mut ser)
        .expect("serialising JSON values into a Vec cannot fail");
    String::from_utf8(out).expect("the formatter only writes ASCII")
}

/// A JSON response body written as Python's `json.dumps`, `Content-Type: application/json`.
pub struct PyJson<T>(pub T);

impl<T: Serialize> IntoResponse for PyJson<T> {
    fn into_response(self) -> Response {
        (
            [(header::CONTENT_TYPE, "application/json")],
            to_py_json(&self.0),
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn separators_match_python() {
        let v = json!({"a": [1, 2], "b": {"c": null}});
        assert_eq!(to_py_json(&v), r#"{"a": [1, 2], "b": {"c": null}}"#);
    }

    #[test]
    fn non_ascii_is_escaped_like_ensure_ascii() {
        assert_eq!(
            to_py_json(&json!("é\u{7f}😀\n")),
            r#""\u00e9\u007f\ud83d\ude00\n""#
        );
    }

    #[test]
    fn empty_containers() {
        assert_eq!(
            to_py_json(&json!({"a": {}, "b": []})),
            r#"{"a": {}, "b": []}"#
        );
    }
}
