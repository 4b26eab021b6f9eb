//! The crate's error type for getting service credentials.

/// Why this service could not get its own access token. The texts are upstream's
/// (`tacker/common/ext_oauth2_auth.py`); through the key manager they become
/// `KeyManagerError` → 500 `Key manager error: <text>`.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// A required option is missing or has a wrong value: upstream's
    /// `Configuration error. The parameter is not set for "<key>" in group [ext_oauth2_auth].`
    /// or a conversion/file error naming file, section, option and value. Refuses start-up.
    #[error("{0}")]
    Config(String),
    /// The token endpoint answered, but not 200 with an `access_token` (upstream raises this
    /// for a 2xx/3xx that is not 200, or a 200 without the field).
    #[error("Failed to get an access token.")]
    Failed,
    /// Connection refused, unresolvable host or timeout (keystoneauth `ConnectFailure`,
    /// `DiscoveryFailure`, `RequestTimeout`).
    #[error("The OAuth2.0 access token API service is temporarily unavailable.")]
    Unavailable,
    /// Anything else: HTTP ≥ 400 from the token endpoint (keystoneauth raises on it), TLS
    /// failures, a body that is not JSON, client credentials that cannot be used.
    #[error("An exception occurred during the processing of getting an access token")]
    Other,
}
