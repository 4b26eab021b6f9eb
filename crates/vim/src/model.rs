//! The VIM as stored (`vims` + `vimauths`, spec §2.13) and as shown (spec §2.3).

use chrono::NaiveDateTime;
use serde_json::{Map, Value};

/// A VIM row joined with its `vimauths` row, unmasked.
///
/// `auth_cred` holds what the client sent plus what the driver added (`key_type`,
/// `secret_uuid`, `auth_url`, `project_*`), with secret values (`bearer_token`,
/// `client_secret`, `ssl_ca_cert`) already Fernet-encrypted; the encrypted password lives in
/// `password` (column `vimauths.password`), not in `auth_cred`.
#[derive(Clone, PartialEq)]
pub struct Vim {
    /// uuid4, lower-case hyphenated.
    pub id: String,
    /// `openstack` or `kubernetes`.
    pub vim_type: String,
    pub tenant_id: String,
    pub name: String,
    pub description: String,
    /// `{"regions": [...]}` once registered; `None` before.
    pub placement_attr: Option<Value>,
    pub shared: bool,
    pub is_default: bool,
    /// Naive UTC.
    pub created_at: NaiveDateTime,
    pub updated_at: Option<NaiveDateTime>,
    /// `None` while live; the soft-delete time afterwards.
    pub deleted_at: Option<NaiveDateTime>,
    pub extra: Map<String, Value>,
    pub auth_url: String,
    pub vim_project: Map<String, Value>,
    pub auth_cred: Map<String, Value>,
    /// Fernet token of the VIM password (`vimauths.password`), if any.
    pub password: Option<String>,
}

/// Debug output never shows credentials: `auth_cred` is masked as the API shows it and the
/// password token is replaced (a VIM in flight to its driver holds plaintext secrets).
impl std::fmt::Debug for Vim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vim")
            .field("id", &self.id)
            .field("vim_type", &self.vim_type)
            .field("tenant_id", &self.tenant_id)
            .field("name", &self.name)
            .field("description", &self.description)
            .field("placement_attr", &self.placement_attr)
            .field("shared", &self.shared)
            .field("is_default", &self.is_default)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .field("deleted_at", &self.deleted_at)
            .field("extra", &self.extra)
            .field("auth_url", &self.auth_url)
            .field("vim_project", &self.vim_project)
            .field("auth_cred", &crate::mask::mask_auth_cred(&self.auth_cred))
            .field("password", &self.password.as_ref().map(|_| "***"))
            .finish()
    }
}

/// Python `str(datetime)` of a naive UTC value: `YYYY-MM-DD HH:MM:SS[.ffffff]`, the fraction
/// only when non-zero (spec §2.3).
pub fn format_timestamp(ts: &NaiveDateTime) -> String {
    let mut buf = [0u8; TIMESTAMP_MAX];
    let len = write_timestamp(ts, &mut buf);
    String::from_utf8_lossy(&buf[..len]).into_owned()
}

/// Longest [`format_timestamp`] output: `YYYY-MM-DD HH:MM:SS.ffffff`.
pub(crate) const TIMESTAMP_MAX: usize = 26;

/// [`format_timestamp`] into `buf`, digit by digit (no format string parsed per call);
/// returns the length written. Years outside 0..=9999 (never stored) are clamped to four
/// digits as Python's `str(datetime)` cannot show them either.
pub(crate) fn write_timestamp(ts: &NaiveDateTime, buf: &mut [u8; TIMESTAMP_MAX]) -> usize {
    use chrono::{Datelike, Timelike};
    fn put(buf: &mut [u8], at: usize, value: u32, width: usize) {
        let mut v = value;
        for i in (0..width).rev() {
            buf[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    }
    let year = ts.year().clamp(0, 9999) as u32;
    put(buf, 0, year, 4);
    buf[4] = b'-';
    put(buf, 5, ts.month(), 2);
    buf[7] = b'-';
    put(buf, 8, ts.day(), 2);
    buf[10] = b' ';
    put(buf, 11, ts.hour(), 2);
    buf[13] = b':';
    put(buf, 14, ts.minute(), 2);
    buf[16] = b':';
    // A leap second (nanosecond >= 1e9) is shown as chrono's `%S` shows it: second 60.
    let nanos = ts.nanosecond();
    put(buf, 17, ts.second() + nanos / 1_000_000_000, 2);
    let micros = (nanos % 1_000_000_000) / 1000;
    if micros == 0 {
        19
    } else {
        buf[19] = b'.';
        put(buf, 20, micros, 6);
        TIMESTAMP_MAX
    }
}

/// Tacker's `utils.deep_update`: nested objects are merged key by key, everything else
/// (including `null`) replaces the old value; keys are never removed.
pub fn deep_update(orig: &mut Map<String, Value>, new: &Map<String, Value>) {
    for (key, value) in new {
        if let (Value::Object(new_inner), Some(Value::Object(old_inner))) =
            (value, orig.get_mut(key))
        {
            deep_update(old_inner, new_inner);
            continue;
        }
        orig.insert(key.clone(), value.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_credentials() {
        let vim = Vim {
            id: "i".into(),
            vim_type: "kubernetes".into(),
            tenant_id: "t".into(),
            name: "n".into(),
            description: String::new(),
            placement_attr: None,
            shared: false,
            is_default: false,
            created_at: NaiveDateTime::default(),
            updated_at: None,
            deleted_at: None,
            extra: Map::new(),
            auth_url: "http://k".into(),
            vim_project: Map::new(),
            auth_cred: serde_json::json!({"password": "plain-pw", "bearer_token": "plain-token",
                "client_secret": "plain-secret", "username": "u"})
            .as_object()
            .unwrap()
            .clone(),
            password: Some("gAAAAA-token".into()),
        };
        let shown = format!("{vim:?}");
        for secret in ["plain-pw", "plain-token", "plain-secret", "gAAAAA-token"] {
            assert!(!shown.contains(secret), "{secret} leaked: {shown}");
        }
        assert!(shown.contains("\"u\""));
    }

    #[test]
    fn deep_update_merges_nested_objects() {
        let mut orig = serde_json::json!({"a": {"x": 1, "y": 2}, "b": 1});
        let new = serde_json::json!({"a": {"y": 3}, "c": null});
        deep_update(orig.as_object_mut().unwrap(), new.as_object().unwrap());
        assert_eq!(
            orig,
            serde_json::json!({"a": {"x": 1, "y": 3}, "b": 1, "c": null})
        );
    }

    #[test]
    fn timestamp_fraction_only_when_non_zero() {
        let t = NaiveDateTime::parse_from_str("2026-11-29 15:51:07.139986", "%Y-%m-%d %H:%M:%S%.f")
            .unwrap();
        assert_eq!(format_timestamp(&t), "2026-11-29 15:51:07.139986");
        let t = NaiveDateTime::parse_from_str("2026-11-29 15:51:07", "%Y-%m-%d %H:%M:%S").unwrap();
        assert_eq!(format_timestamp(&t), "2026-11-29 15:51:07");
    }

    #[test]
    fn timestamps_as_strftime_writes_them() {
        use chrono::Timelike;
        for text in [
            "0001-01-01 00:00:00",
            "1970-01-01 00:00:00.000001",
            "2026-02-28 23:59:59.999999",
            "9999-12-31 23:59:59.5",
            "2024-02-29 12:07:03.000100",
        ] {
            let t = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").unwrap();
            let strftime = if t.nanosecond() / 1000 == 0 {
                t.format("%Y-%m-%d %H:%M:%S").to_string()
            } else {
                format!(
                    "{}.{:06}",
                    t.format("%Y-%m-%d %H:%M:%S"),
                    t.nanosecond() / 1000
                )
            };
            assert_eq!(format_timestamp(&t), strftime, "{text}");
        }
    }
}
