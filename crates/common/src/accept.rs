//! The `Accept` header as WebOb 1.8 reads it (`webob.acceptparse`): a value that follows
//! RFC 7231's grammar is a list of media ranges with q-values; a value that does not is
//! treated as if every offer were acceptable (`AcceptInvalidHeader`), as is a missing header
//! (`AcceptNoHeader`). `acceptable_offers` ranks offers as `AcceptValidHeader` does: the most
//! specific matching range gives an offer its q-value, `q=0` excludes it, ties keep the
//! order of the offers. This is the one content negotiation of the server: WebOb's error
//! pages and the SOL APIs' `Accept` check both use it.

use std::sync::OnceLock;

use http::header::ACCEPT;
use http::HeaderMap;
use regex::Regex;

/// A parsed `Accept` header.
#[derive(Clone, Debug, PartialEq)]
pub enum Accept {
    /// No header at all.
    NoHeader,
    /// A value that does not follow the grammar.
    Invalid,
    /// The media ranges, in header order: (type, subtype, media type parameters, q-value),
    /// type/subtype/parameter names lower-cased.
    Valid(Vec<MediaRange>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct MediaRange {
    pub type_: String,
    pub subtype: String,
    pub params: Vec<(String, String)>,
    pub q: f32,
}

// RFC 7230 §3.2.6 / RFC 7231 §5.3, as WebOb spells them (`acceptparse.py`).
const OWS: &str = "[ \\t]*";
const TCHAR: &str = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]";
const QVALUE: &str = r"(?:0(?:\.[0-9]{0,3})?)|(?:1(?:\.0{0,3})?)";

fn token() -> String {
    format!("{TCHAR}+")
}

fn quoted_string() -> String {
    // qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text; quoted-pair = "\" ...
    r#""(?:(?:[\t \x21\x23-\x5b\x5d-\x7e\x{80}-\x{ff}])|(?:\\[\t \x21-\x7e\x{80}-\x{ff}]))*""#
        .to_owned()
}

/// `media-range [accept-params]` with groups: 1 type/subtype, 2 parameters, 3 q-value,
/// 4 extensions. A media type parameter may not be named `q` (WebOb's `(?![qQ]=)`, written
/// without look-ahead: a name that is `q`/`Q` followed by more characters, or that starts
/// with any other token character).
fn element() -> String {
    let token = token();
    let quoted = quoted_string();
    let not_q_tchar = r"[!#$%&'*+\-.^_`|~0-9A-Pa-pR-Zr-z]";
    let param_name = format!("(?:[qQ]{TCHAR}+|{not_q_tchar}{TCHAR}*)");
    let parameter = format!("{param_name}=(?:(?:{token})|(?:{quoted}))");
    let media_range = format!("({token}/{token})((?:{OWS};{OWS}{parameter})*)");
    let weight = format!("{OWS};{OWS}[qQ]=({QVALUE})");
    let accept_ext = format!("{OWS};{OWS}{token}(?:=(?:(?:{token})|(?:{quoted})))?");
    format!("{media_range}(?:{weight}((?:{accept_ext})*))?")
}

fn list_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        // RFC 7230 §7 `#element`: [ ( "," / element ) *( OWS "," [ OWS element ] ) ]
        let e = element();
        Regex::new(&format!(
            "^(?:(?:)|(?:(?:,|(?:{e}))(?:{OWS},(?:{OWS}{e})?)*))$"
        ))
        .expect("static regex")
    })
}

fn element_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(&element()).expect("static regex"))
}

fn param_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(&format!(
            "{OWS};{OWS}({})=({}|{})",
            token(),
            token(),
            quoted_string()
        ))
        .expect("static regex")
    })
}

impl Accept {
    /// `create_accept_header(value)`: `None` is no header; a value is parsed or invalid.
    pub fn parse(value: Option<&str>) -> Self {
        let Some(value) = value else {
            return Accept::NoHeader;
        };
        if !list_re().is_match(value) {
            return Accept::Invalid;
        }
        let ranges = element_re()
            .captures_iter(value)
            .map(|c| {
                let (type_, subtype) = c[1].split_once('/').expect("type/subtype");
                let params = param_re()
                    .captures_iter(c.get(2).map_or("", |m| m.as_str()))
                    .map(|p| (p[1].to_ascii_lowercase(), unquote(&p[2])))
                    .collect();
                MediaRange {
                    type_: type_.to_ascii_lowercase(),
                    subtype: subtype.to_ascii_lowercase(),
                    params,
                    q: c.get(3).map_or(1.0, |q| q.as_str().parse().unwrap_or(1.0)),
                }
            })
            .collect();
        Accept::Valid(ranges)
    }

    /// The request's `Accept` (several header lines are one comma-separated list, as a WSGI
    /// server joins them). A value that is not Latin-1 text is invalid.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let mut values = headers.get_all(ACCEPT).iter().peekable();
        if values.peek().is_none() {
            return Accept::NoHeader;
        }
        // WSGI environ values are Latin-1 decoded bytes.
        let joined = values
            .map(|v| v.as_bytes().iter().map(|&b| b as char).collect::<String>())
            .collect::<Vec<_>>()
            .join(",");
        Accept::parse(Some(&joined))
    }

    /// `acceptable_offers(offers)`: the acceptable offers with their q-values, best first
    /// (ties in offer order). Offers are plain `type/subtype` media types.
    pub fn acceptable_offers<'o>(&self, offers: &[&'o str]) -> Vec<(&'o str, f32)> {
        let ranges = match self {
            Accept::NoHeader | Accept::Invalid => {
                return offers.iter().map(|o| (*o, 1.0)).collect();
            }
            Accept::Valid(ranges) => ranges,
        };
        let mut found: Vec<(usize, f32)> = Vec::new();
        for (index, offer) in offers.iter().enumerate() {
            let Some((otype, osub)) = offer.split_once('/') else {
                continue;
            };
            let (otype, osub) = (otype.to_ascii_lowercase(), osub.to_ascii_lowercase());
            // (specificity, q) of the most specific matching range; on equal specificity
            // the first one listed wins.
            let mut best: Option<(u8, f32)> = None;
            for r in ranges {
                let specificity = if r.type_ == otype && r.subtype == osub {
                    // The offers carry no parameters: only a range without any matches.
                    if !r.params.is_empty() {
                        continue;
                    }
                    3
                } else if r.subtype == "*" && r.type_ == otype {
                    2
                } else if r.type_ == "*" && r.subtype == "*" {
                    1
                } else {
                    continue;
                };
                if best.is_none_or(|(s, _)| specificity > s) {
                    best = Some((specificity, r.q));
                }
            }
            if let Some((_, q)) = best {
                if q > 0.0 {
                    found.push((index, q));
                }
            }
        }
        // Stable sort by q descending keeps offer order among equals.
        found.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap_or(std::cmp::Ordering::Equal));
        found.into_iter().map(|(i, q)| (offers[i], q)).collect()
    }

    /// The best acceptable offer, if any.
    pub fn best<'o>(&self, offers: &[&'o str]) -> Option<&'o str> {
        self.acceptable_offers(offers).first().map(|(o, _)| *o)
    }
}

/// A quoted-string's content with its quoted pairs resolved.
fn unquote(value: &str) -> String {
    let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) else {
        return value.to_owned();
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const WEBOB_OFFERS: [&str; 2] = ["text/html", "application/json"];

    fn best(value: Option<&str>) -> Option<&'static str> {
        Accept::parse(value).best(&WEBOB_OFFERS)
    }

    #[test]
    fn missing_and_invalid_headers_accept_everything_in_offer_order() {
        assert_eq!(best(None), Some("text/html"));
        for invalid in [
            "garbage",
            "text/html;q=abc",
            "text/html;q=2",
            "a/b;q=0.5555",
            "/json",
        ] {
            assert_eq!(Accept::parse(Some(invalid)), Accept::Invalid, "{invalid}");
            assert_eq!(best(Some(invalid)), Some("text/html"), "{invalid}");
        }
    }

    #[test]
    fn an_empty_header_is_valid_and_accepts_nothing() {
        assert_eq!(Accept::parse(Some("")), Accept::Valid(vec![]));
        assert_eq!(best(Some("")), None);
        assert_eq!(best(Some(",")), None);
    }

    #[test]
    fn the_most_specific_range_decides_and_ties_keep_offer_order() {
        assert_eq!(best(Some("*/*")), Some("text/html"));
        assert_eq!(best(Some("application/json")), Some("application/json"));
        assert_eq!(best(Some("Application/JSON")), Some("application/json"));
        assert_eq!(
            best(Some("text/*;q=0.5, application/json")),
            Some("application/json")
        );
        assert_eq!(best(Some("*/*, text/html;q=0")), Some("application/json"));
        assert_eq!(best(Some("text/html;q=0, text/html")), None);
        assert_eq!(best(Some("text/plain")), None);
        assert_eq!(
            best(Some("application/json;q=0.001, text/html;q=0.0")),
            Some("application/json")
        );
        // A range with media type parameters does not match a parameterless offer.
        assert_eq!(best(Some("text/html;level=1")), None);
        assert_eq!(
            best(Some("text/html;level=1, */*;q=0.1")),
            Some("text/html")
        );
    }

    #[test]
    fn parameters_extensions_and_whitespace_follow_the_grammar() {
        let a = Accept::parse(Some(
            "text/html ; level=\"a\\\"b\" ;q=0.5;ext=1, application/json;Q=1.0 , ,",
        ));
        let Accept::Valid(ranges) = &a else {
            panic!("{a:?}")
        };
        assert_eq!(ranges.len(), 2);
        assert_eq!(
            ranges[0].params,
            vec![("level".to_owned(), "a\"b".to_owned())]
        );
        assert_eq!(ranges[0].q, 0.5);
        assert_eq!(a.best(&WEBOB_OFFERS), Some("application/json"));
        // `q` cannot be a media type parameter name: here it is the weight.
        assert_eq!(
            Accept::parse(Some("text/html;q=0")).best(&WEBOB_OFFERS),
            None
        );
        assert!(matches!(
            Accept::parse(Some("text/html;qa=1")),
            Accept::Valid(_)
        ));
    }

    #[test]
    fn several_header_lines_are_one_list() {
        let mut h = HeaderMap::new();
        h.append(ACCEPT, "text/html;q=0".parse().unwrap());
        h.append(ACCEPT, "application/json".parse().unwrap());
        assert_eq!(
            Accept::from_headers(&h).best(&WEBOB_OFFERS),
            Some("application/json")
        );
        assert_eq!(Accept::from_headers(&HeaderMap::new()), Accept::NoHeader);
    }
}
