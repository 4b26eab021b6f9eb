//! The crate's one error type.

/// Why talking to the authorization server (or preparing to) failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Start-up: an option has a wrong value or a required one is not set. The message names
    /// the file, section, option and (non-secret) value, or is upstream's text.
    /// keystonemiddleware: `ConfigurationError` raised by `filter_factory`.
    #[error("{0}")]
    Config(String),
    /// Per call: the client credentials cannot be used (key file missing/empty/unparsable,
    /// `jwt_algorithm` unsupported or not matching the key). keystonemiddleware:
    /// `ConfigurationError` → 500 with the configuration body.
    #[error("{0}")]
    Credentials(String),
    /// Per call: the authorization server could not be reached or did not answer in
    /// `http_connect_timeout` (connection refused, DNS failure, timeout). Becomes 503.
    #[error("{0}")]
    Unavailable(String),
    /// Per call: any other transport failure (TLS handshake, protocol error). keystonemiddleware:
    /// `ServiceError` → 500.
    #[error("{0}")]
    Transport(String),
}
