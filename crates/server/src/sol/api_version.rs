//! The SOL013 `Version` request header as Tacker's v2 framework reads it
//! (`tacker/sol_refactored/api/api_version.py`).

use super::SolError;

/// A parsed `Version` header value: `Major.Minor.Patch`, optionally followed by one
/// `-impl:<anything>` suffix (SOL013 Table 4.2.2-1), which is dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ApiVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl ApiVersion {
    /// Parses `raw` as upstream does. The error carries the text upstream puts in the
    /// message: the whole value when the suffix is wrong, else the part before `-impl:`.
    pub fn parse(raw: &str) -> Result<(ApiVersion, &str), SolError> {
        let id = match raw.split_once('-') {
            None => raw,
            // Upstream splits on every '-': exactly two items, the second starting "impl:".
            Some((id, suffix)) if !suffix.contains('-') && suffix.starts_with("impl:") => id,
            Some(_) => return Err(SolError::InvalidVersion(raw.to_owned())),
        };
        let invalid = || SolError::InvalidVersion(id.to_owned());
        let mut parts = id.split('.');
        let (Some(major), Some(minor), Some(patch), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        // `^([1-9]\d*)\.([1-9]\d*|0)\.([1-9]\d*|0)$`: no leading zeros, major >= 1.
        let number = |s: &str, allow_zero: bool| -> Option<u32> {
            let digits_ok = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
            let leading_ok = !s.starts_with('0') || (allow_zero && s == "0");
            if digits_ok && leading_ok {
                s.parse().ok()
            } else {
                None
            }
        };
        let version = ApiVersion {
            major: number(major, false).ok_or_else(invalid)?,
            minor: number(minor, true).ok_or_else(invalid)?,
            patch: number(patch, true).ok_or_else(invalid)?,
        };
        Ok((version, id))
    }
}

/// Applies the `Version` rules of one action: `supported = None` means the header is
/// optional and any well-formed value is accepted (the api_versions actions); otherwise it
/// is required and must be one of `supported` (compared as strings, as upstream does).
pub fn check_version(header: Option<&str>, supported: Option<&[&str]>) -> Result<(), SolError> {
    let Some(raw) = header else {
        return match supported {
            None => Ok(()),
            Some(_) => Err(SolError::VersionMissing),
        };
    };
    let (_, id) = ApiVersion::parse(raw)?;
    match supported {
        Some(list) if !list.contains(&id) => Err(SolError::VersionNotSupported(id.to_owned())),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(major: u32, minor: u32, patch: u32) -> ApiVersion {
        ApiVersion {
            major,
            minor,
            patch,
        }
    }

    // unit/sol_refactored/api/test_api_version.py: test_init_null
    #[test]
    fn test_init_null_missing_is_fine_without_supported_list() {
        assert!(check_version(None, None).is_ok());
    }

    // test_init_null_with_supported: missing with a supported list -> APIVersionMissing
    #[test]
    fn test_init_null_with_supported() {
        assert!(matches!(
            check_version(None, Some(&["2.0.0"])),
            Err(SolError::VersionMissing)
        ));
    }

    // test_init: "2.0.0-impl:foobar" is the same as "2.0.0"
    #[test]
    fn test_init_impl_suffix() {
        assert_eq!(
            ApiVersion::parse("2.0.0-impl:foobar").unwrap(),
            (v(2, 0, 0), "2.0.0")
        );
        assert!(check_version(Some("2.0.0-impl:foobar"), Some(&["2.0.0"])).is_ok());
    }

    // test_init_invalid_version_string
    #[test]
    fn test_init_invalid_version_string() {
        for raw in [
            "2.0.0-abc:foobar",
            "0.1.2",
            "abc",
            "1.2",
            "1.2.3.4",
            "01.0.0",
            "1.00.0",
            "",
            "1.2.3-impl:a-b",
        ] {
            assert!(
                matches!(ApiVersion::parse(raw), Err(SolError::InvalidVersion(_))),
                "{raw:?} must be invalid"
            );
        }
        // The message names the value without the impl suffix once the suffix parsed.
        assert!(
            matches!(ApiVersion::parse("1.2-impl:x"), Err(SolError::InvalidVersion(s)) if s == "1.2")
        );
        assert!(
            matches!(ApiVersion::parse("2.0.0-abc:foobar"), Err(SolError::InvalidVersion(s)) if s == "2.0.0-abc:foobar")
        );
    }

    // test_init_not_supported_version: 9.9.9 -> APIVersionNotSupported
    #[test]
    fn test_init_not_supported_version() {
        assert!(matches!(
            check_version(Some("9.9.9"), Some(&["2.0.0"])),
            Err(SolError::VersionNotSupported(s)) if s == "9.9.9"
        ));
        // Without a supported list any well-formed version is accepted.
        assert!(check_version(Some("9.9.9"), None).is_ok());
    }

    // test_compare
    #[test]
    fn test_compare() {
        assert!(v(1, 0, 0) < v(1, 0, 1));
        assert!(v(1, 10, 0) > v(1, 9, 9));
        assert!(v(2, 0, 0) >= v(2, 0, 0));
        assert_eq!(ApiVersion::parse("1.3.0").unwrap().0, v(1, 3, 0));
    }
}
