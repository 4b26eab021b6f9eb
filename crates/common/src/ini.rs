//! INI files as the two Python parsers Tacker relies on read them:
//!
//! * `tacker.conf` with oslo.config's own parser (`oslo_config/iniparser.py`): `=` or `:`
//!   (whichever comes first) separates key and value, matching outer quotes are removed,
//!   indented lines continue a value, keys keep their case, group names are lower-cased
//!   except `DEFAULT`, and a key given twice keeps the last value (this reader has no
//!   multi-valued options).
//! * `api-paste.ini` with PasteDeploy's `NicerConfigParser` (Python's `ConfigParser`): keys
//!   are lower-cased, a repeated key in one section is an error, `%(name)s` interpolation
//!   looks in the section, then `[DEFAULT]`, then PasteDeploy's `here` / `__file__`.
//!
//! Every value remembers the file it came from, so callers can name file, section, option
//! and value in their error messages.

use std::fmt;

use indexmap::IndexMap;

use crate::config::Section;

/// A syntax error, with the file and 1-based line it was found on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IniError {
    pub origin: String,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for IniError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.origin, self.line, self.message)
    }
}

impl std::error::Error for IniError {}

/// One parsed INI file: its sections in file order (`DEFAULT` included when present).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IniDocument {
    pub origin: String,
    pub sections: IndexMap<String, Section>,
}

impl IniDocument {
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.get(name)
    }

    /// Parse `text` (read from `origin`) as oslo.config does.
    pub fn parse_oslo(text: &str, origin: &str) -> Result<Self, IniError> {
        let mut doc = IniDocument {
            origin: origin.to_owned(),
            sections: IndexMap::new(),
        };
        let mut current: Option<String> = None;
        // (key, value lines, line number) of the assignment being read.
        let mut pending: Option<(String, Vec<String>, usize)> = None;
        let err = |line: usize, message: String| IniError {
            origin: origin.to_owned(),
            line,
            message,
        };

        for (idx, raw) in text.lines().enumerate() {
            let lineno = idx + 1;
            let line = raw.trim_end();
            if line.is_empty() {
                // oslo: a blank line ends a multi-line value.
                flush_oslo(&mut doc, current.as_deref(), pending.take(), origin)
                    .map_err(|m| err(lineno, m))?;
                continue;
            }
            if line.starts_with([' ', '\t']) {
                match pending.as_mut() {
                    Some((_, lines, _)) => lines.push(line.trim_start().to_owned()),
                    None => {
                        return Err(err(
                            lineno,
                            format!("Unexpected continuation line: {line:?}"),
                        ))
                    }
                }
                continue;
            }
            if let Some((key, lines, at)) = pending.take() {
                flush_oslo(&mut doc, current.as_deref(), Some((key, lines, at)), origin)
                    .map_err(|m| err(at, m))?;
            }
            if line.starts_with('[') {
                if !line.ends_with(']') {
                    return Err(err(
                        lineno,
                        format!("Invalid section (must end with ]): {line:?}"),
                    ));
                }
                if line.len() <= 2 {
                    return Err(err(lineno, format!("Empty section name: {line:?}")));
                }
                let name = &line[1..line.len() - 1];
                // oslo.config normalises group names to lower case, except DEFAULT.
                let name = if name == "DEFAULT" {
                    name.to_owned()
                } else {
                    name.to_lowercase()
                };
                doc.sections
                    .entry(name.clone())
                    .or_insert_with(|| Section::new(name.clone()));
                current = Some(name);
            } else if line.starts_with(['#', ';']) {
                continue;
            } else {
                let (key, value) = split_key_value(line).ok_or_else(|| {
                    err(
                        lineno,
                        format!("No ':' or '=' found in assignment: {line:?}"),
                    )
                })?;
                if key.is_empty() {
                    return Err(err(lineno, format!("Key cannot be empty: {line:?}")));
                }
                let mut value = value.trim();
                if value.len() >= 2
                    && (value.starts_with('"') || value.starts_with('\''))
                    && value.ends_with(&value[..1])
                {
                    value = &value[1..value.len() - 1];
                }
                pending = Some((key.to_owned(), vec![value.to_owned()], lineno));
            }
        }
        let last = text.lines().count();
        flush_oslo(&mut doc, current.as_deref(), pending.take(), origin)
            .map_err(|m| err(last, m))?;
        Ok(doc)
    }

    /// Parse `text` (read from `origin`, a file in directory `here`) as PasteDeploy does,
    /// `%(...)s` interpolation included.
    pub fn parse_paste(text: &str, origin: &str, here: &str) -> Result<Self, IniError> {
        let err = |line: usize, message: String| IniError {
            origin: origin.to_owned(),
            line,
            message,
        };
        // (section, key) -> (raw value, line)
        let mut raw: IndexMap<String, IndexMap<String, (String, usize)>> = IndexMap::new();
        let mut current: Option<String> = None;
        // (key, indent of the key line) of the value being read.
        let mut pending: Option<(String, usize)> = None;

        for (idx, line) in text.lines().enumerate() {
            let lineno = idx + 1;
            let stripped = line.trim();
            let indent = line.len() - line.trim_start().len();
            if stripped.starts_with(['#', ';']) {
                continue;
            }
            if stripped.is_empty() {
                // ConfigParser keeps empty lines inside a value and trims them at the end.
                if let (Some((key, _)), Some(sec)) = (&pending, &current) {
                    if let Some(entry) = raw.get_mut(sec).and_then(|s| s.get_mut(key)) {
                        entry.0.push('\n');
                    }
                }
                continue;
            }
            if let (Some((key, key_indent)), Some(sec)) = (&pending, &current) {
                if indent > *key_indent {
                    let entry = raw
                        .get_mut(sec)
                        .and_then(|s| s.get_mut(key))
                        .expect("pending key was inserted");
                    entry.0.push('\n');
                    entry.0.push_str(stripped);
                    continue;
                }
            }
            pending = None;
            if stripped.starts_with('[') && stripped.ends_with(']') && stripped.len() > 2 {
                let name = stripped[1..stripped.len() - 1].to_owned();
                raw.entry(name.clone()).or_default();
                current = Some(name);
                continue;
            }
            let Some(sec) = current.clone() else {
                return Err(err(
                    lineno,
                    format!("File contains no section headers: {stripped:?}"),
                ));
            };
            let (key, value) = split_key_value(stripped).ok_or_else(|| {
                err(
                    lineno,
                    format!("Source contains parsing errors: {stripped:?}"),
                )
            })?;
            // ConfigParser.optionxform lower-cases option names.
            let key = key.to_lowercase();
            let section = raw.get_mut(&sec).expect("current section exists");
            if section.contains_key(&key) {
                return Err(err(
                    lineno,
                    format!("option {key:?} in section [{sec}] already exists"),
                ));
            }
            section.insert(key.clone(), (value.trim().to_owned(), lineno));
            pending = Some((key, indent));
        }

        let defaults = raw.get("DEFAULT").cloned().unwrap_or_default();
        let mut doc = IniDocument {
            origin: origin.to_owned(),
            sections: IndexMap::new(),
        };
        for (name, options) in &raw {
            let mut section = Section::new(name.clone());
            for (key, (value, line)) in options {
                let value = value.trim_end_matches('\n');
                let value = interpolate(value, options, &defaults, here, origin, 0)
                    .map_err(|m| err(*line, format!("[{name}] {key}: {m}")))?;
                section.set(key.clone(), value, origin);
            }
            doc.sections.insert(name.clone(), section);
        }
        Ok(doc)
    }
}

fn flush_oslo(
    doc: &mut IniDocument,
    section: Option<&str>,
    pending: Option<(String, Vec<String>, usize)>,
    origin: &str,
) -> Result<(), String> {
    let Some((key, lines, _)) = pending else {
        return Ok(());
    };
    let Some(section) = section else {
        return Err(format!(
            "No section for option {key:?}: every option must follow a [section] header"
        ));
    };
    doc.sections
        .get_mut(section)
        .expect("current section exists")
        .set(key, lines.join("\n"), origin);
    Ok(())
}

/// Split at the first `=` or `:`, whichever comes first (both parsers agree on this).
fn split_key_value(line: &str) -> Option<(&str, &str)> {
    let at = line.find(['=', ':'])?;
    Some((line[..at].trim(), &line[at + 1..]))
}

/// ConfigParser `BasicInterpolation`: `%%` is a literal `%`, `%(name)s` the value of `name`
/// from the section, `[DEFAULT]`, or PasteDeploy's `here` / `__file__`.
fn interpolate(
    value: &str,
    section: &IndexMap<String, (String, usize)>,
    defaults: &IndexMap<String, (String, usize)>,
    here: &str,
    file: &str,
    depth: usize,
) -> Result<String, String> {
    // ConfigParser's MAX_INTERPOLATION_DEPTH.
    if depth > 10 {
        return Err(format!("interpolation too deeply recursive in {value:?}"));
    }
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        if let Some(tail) = rest.strip_prefix("%%") {
            out.push('%');
            rest = tail;
        } else if let Some(tail) = rest.strip_prefix("%(") {
            let close = tail
                .find(")s")
                .ok_or_else(|| format!("bad interpolation variable reference {rest:?}"))?;
            let name = tail[..close].to_lowercase();
            let replacement = match section.get(&name).or_else(|| defaults.get(&name)) {
                Some((v, _)) => interpolate(
                    v.trim_end_matches('\n'),
                    section,
                    defaults,
                    here,
                    file,
                    depth + 1,
                )?,
                None if name == "here" => here.to_owned(),
                None if name == "__file__" => file.to_owned(),
                None => return Err(format!("no option {name:?} to interpolate in {value:?}")),
            };
            out.push_str(&replacement);
            rest = &tail[close + 2..];
        } else {
            return Err(format!(
                "'%' must be followed by '%' or '(', found: {rest:?}"
            ));
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn val<'a>(doc: &'a IniDocument, sec: &str, key: &str) -> &'a str {
        &doc.section(sec).unwrap().get(key).unwrap().value
    }

    #[test]
    fn oslo_separators_quotes_and_case() {
        let doc = IniDocument::parse_oslo(
            "[DEFAULT]\nbind_port: 9890\nauth_strategy = noauth # not a comment\n\
             api_paste_config = \"api-paste.ini\"\n[Database]\nconnection = sqlite:///x.db\n",
            "t.conf",
        )
        .unwrap();
        assert_eq!(val(&doc, "DEFAULT", "bind_port"), "9890");
        // oslo has no inline comments.
        assert_eq!(
            val(&doc, "DEFAULT", "auth_strategy"),
            "noauth # not a comment"
        );
        assert_eq!(val(&doc, "DEFAULT", "api_paste_config"), "api-paste.ini");
        assert_eq!(val(&doc, "database", "connection"), "sqlite:///x.db");
        assert_eq!(
            doc.section("database")
                .unwrap()
                .get("connection")
                .unwrap()
                .origin,
            "t.conf"
        );
    }

    #[test]
    fn oslo_continuation_and_last_value_wins() {
        let doc =
            IniDocument::parse_oslo("[a]\nk = one\n  two\n\nk2 = x\nk2 = y\n", "t.conf").unwrap();
        assert_eq!(val(&doc, "a", "k"), "one\ntwo");
        assert_eq!(val(&doc, "a", "k2"), "y");
    }

    #[test]
    fn oslo_errors_name_file_and_line() {
        let e = IniDocument::parse_oslo("[a]\njunk line\n", "t.conf").unwrap_err();
        assert_eq!((e.origin.as_str(), e.line), ("t.conf", 2));
        let e = IniDocument::parse_oslo("k = v\n", "t.conf").unwrap_err();
        assert!(e.message.contains("No section"), "{e}");
        let e = IniDocument::parse_oslo("[a\n", "t.conf").unwrap_err();
        assert!(e.message.contains("Invalid section"), "{e}");
    }

    #[test]
    fn paste_urlmap_keys_use_colon_and_are_lowercased() {
        let doc = IniDocument::parse_paste(
            "[composite:tacker]\nuse = egg:Paste#urlmap\n/: tackerversions\n/V1.0: api\n\
             [filter:f]\npaste.filter_factory = oslo_middleware:RequestId.factory\n",
            "api-paste.ini",
            "/etc/tacker",
        )
        .unwrap();
        let s = doc.section("composite:tacker").unwrap();
        let keys: Vec<_> = s.options.keys().cloned().collect();
        assert_eq!(keys, ["use", "/", "/v1.0"]);
        assert_eq!(
            val(&doc, "filter:f", "paste.filter_factory"),
            "oslo_middleware:RequestId.factory"
        );
    }

    #[test]
    fn paste_interpolation_here_default_and_escape() {
        let doc = IniDocument::parse_paste(
            "[DEFAULT]\nbase = %(here)s/x\n[app:a]\nfile = %(base)s/y\npct = 100%%\nf = %(__file__)s\n",
            "/etc/t/api-paste.ini",
            "/etc/t",
        )
        .unwrap();
        assert_eq!(val(&doc, "app:a", "file"), "/etc/t/x/y");
        assert_eq!(val(&doc, "app:a", "pct"), "100%");
        assert_eq!(val(&doc, "app:a", "f"), "/etc/t/api-paste.ini");
        let e = IniDocument::parse_paste("[a]\nk = %(nope)s\n", "p.ini", ".").unwrap_err();
        assert!(e.message.contains("nope"), "{e}");
        assert_eq!(e.line, 2);
    }

    #[test]
    fn paste_duplicate_key_and_continuation() {
        let e = IniDocument::parse_paste("[a]\nk = 1\nk = 2\n", "p.ini", ".").unwrap_err();
        assert!(e.message.contains("already exists"), "{e}");
        let doc =
            IniDocument::parse_paste("[a]\nk = one\n    two\n# c\nj = 3\n", "p.ini", ".").unwrap();
        assert_eq!(val(&doc, "a", "k"), "one\ntwo");
        assert_eq!(val(&doc, "a", "j"), "3");
    }
}
