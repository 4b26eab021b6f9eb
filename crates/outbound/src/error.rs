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

/// Why a Barbican call failed. Each text is what upstream's `KeyManagerError` carries for the
/// same failure (barbicanclient / keystoneauth messages); the server's key-manager adapter
/// turns every variant into a `KeyManagerError` (500 `Key manager error: <text>`).
#[derive(Debug, thiserror::Error)]
pub enum BarbicanError {
    /// A missing or wrong option in `[key_manager]` / `[keystone_authtoken]`, naming file,
    /// section and option. Refuses start-up.
    #[error("{0}")]
    Config(String),
    /// No client-credentials token for Barbican (external OAuth 2.0 mode).
    #[error(transparent)]
    Token(#[from] TokenError),
    /// No Keystone token or catalog endpoint for Barbican (Keystone mode).
    #[error(transparent)]
    Keystone(#[from] tacker_keystone::KeystoneError),
    /// `[key_manager] barbican_endpoint` unset in external OAuth 2.0 mode (upstream's text).
    #[error("The value is required for option barbican_endpoint in group [key_manager]")]
    MissingEndpoint,
    /// A service credential that is not a valid header value.
    #[error("the {0} cannot be sent in a header")]
    NotAHeader(&'static str),
    /// No answer from Barbican: keystoneauth's `Unable to establish connection to <url>` or
    /// `Request to <url> timed out` (the cause is logged, not sent).
    #[error("{0}")]
    Transport(String),
    /// An HTTP error answer: barbicanclient's `<title>: <description>`, else the status line.
    #[error("{0}")]
    Http(String),
    /// The secret does not exist (barbicanclient's `ManagedObjectNotFoundError`).
    #[error("Key not found, uuid: {0}")]
    NotFound(String),
    /// A success answer that is not what Barbican sends.
    #[error("{0}")]
    BadAnswer(String),
    /// The HTTP client could not be built (TLS back end).
    #[error("cannot build the HTTP client for Barbican: {0}")]
    HttpClient(String),
}
