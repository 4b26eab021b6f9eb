//! Fernet as Python's `cryptography.fernet.Fernet` (the library Tacker encrypts VIM secrets
//! with), so keys and tokens written by an existing Tacker stay readable and ours stay
//! readable to it. The token format and the cryptography are the `fernet` crate's (its
//! pure-Rust `rustcrypto` backend); this module keeps what Tacker's use of it needs:
//!
//! - Key: 32 bytes, URL-safe base64 with padding (44 characters), accepted without the
//!   padding and with surrounding whitespace (a key file written by hand ends in a newline).
//! - Token: URL-safe base64 with padding, accepted without it.
//! - Tacker never passes a `ttl`, and `Fernet.decrypt(token)` without one does not look at
//!   the timestamp at all, not even at one in the future (`_decrypt_data` checks the clock
//!   skew only with a `ttl`); [`FernetKey::decrypt`] does the same.

use secrecy::{ExposeSecret, SecretSlice, SecretString};

/// Seconds a token's timestamp may lie ahead of the clock before the `fernet` crate refuses
/// it: `MAX_CLOCK_SKEW` there, as `_MAX_CLOCK_SKEW` in `cryptography.fernet`.
const MAX_CLOCK_SKEW: u64 = 60;

/// The "current time" handed to the `fernet` crate on decryption: no `u64` timestamp is more
/// than [`MAX_CLOCK_SKEW`] ahead of it, and adding the skew to it does not overflow, so the
/// crate's skew check never refuses a token, as Python's never runs without a `ttl`.
const NO_TIME_CHECK: u64 = u64::MAX - MAX_CLOCK_SKEW;

/// Why a key or a token was refused. The texts follow `cryptography`'s (`ValueError` for a
/// bad key, `InvalidToken` for everything about a token) and never contain key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FernetError {
    /// The key is not 32 bytes of URL-safe base64.
    #[error("Fernet key must be 32 url-safe base64-encoded bytes.")]
    InvalidKey,
    /// Not base64, wrong version byte, too short, bad signature, bad padding: the token was
    /// not made with this key, or was altered.
    #[error("invalid Fernet token")]
    InvalidToken,
    /// Decrypted bytes are not UTF-8 (only from the string helpers).
    #[error("Fernet plaintext is not UTF-8")]
    NotUtf8,
}

/// A decoded Fernet key. `Debug` prints nothing of it; the key bytes are zeroed on drop (by
/// `fernet::Fernet` and `SecretString`).
pub struct FernetKey {
    fernet: fernet::Fernet,
    /// The padded 44-character text form, for [`to_base64`](Self::to_base64).
    text: SecretString,
}

impl std::fmt::Debug for FernetKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FernetKey([REDACTED])")
    }
}

impl FernetKey {
    /// A new random key (`Fernet.generate_key()`: 32 bytes from the OS RNG).
    pub fn generate() -> Self {
        let text = SecretString::from(fernet::Fernet::generate_key());
        Self::from_base64(text.expose_secret())
            .unwrap_or_else(|_| unreachable!("fernet::Fernet::generate_key makes valid keys"))
    }

    /// Decode the 44-character URL-safe base64 form. Surrounding whitespace (a trailing
    /// newline in a key file written by hand) is ignored.
    pub fn from_base64(encoded: &str) -> Result<Self, FernetError> {
        let encoded = encoded.trim();
        let fernet = fernet::Fernet::new(encoded).ok_or(FernetError::InvalidKey)?;
        // 32 bytes are 43 base64 characters and one `=`: the padded form whether or not the
        // input had its padding.
        let text = SecretString::from(format!("{}=", encoded.trim_end_matches('=')));
        Ok(Self { fernet, text })
    }

    /// The 44-character URL-safe base64 form with padding, as `Fernet.generate_key()`
    /// returns it and Tacker writes it to the key file or Barbican.
    pub fn to_base64(&self) -> SecretString {
        self.text.clone()
    }

    /// Encrypt with the current time and a random IV.
    pub fn encrypt(&self, plaintext: &[u8]) -> String {
        self.fernet.encrypt(plaintext)
    }

    /// Verify and decrypt a token (no `ttl`, as Tacker calls it). Surrounding whitespace is
    /// ignored.
    pub fn decrypt(&self, token: &str) -> Result<SecretSlice<u8>, FernetError> {
        self.fernet
            .decrypt_at_time(token.trim(), None, NO_TIME_CHECK)
            .map(SecretSlice::from)
            .map_err(|fernet::DecryptionError| FernetError::InvalidToken)
    }
}

/// `Fernet.generate_key()`: a new key in its 44-character text form.
pub fn generate_key() -> SecretString {
    FernetKey::generate().to_base64()
}

/// Encrypt a UTF-8 secret with a key in text form; the token itself is not secret (it is
/// what the database stores).
pub fn encrypt(key: &SecretString, plaintext: &SecretString) -> Result<String, FernetError> {
    let key = FernetKey::from_base64(key.expose_secret())?;
    Ok(key.encrypt(plaintext.expose_secret().as_bytes()))
}

/// Decrypt a token made by [`encrypt`] or by Python's `Fernet(key).encrypt(s.encode())`.
pub fn decrypt(key: &SecretString, token: &str) -> Result<SecretString, FernetError> {
    let key = FernetKey::from_base64(key.expose_secret())?;
    let bytes = key.decrypt(token)?;
    let text = std::str::from_utf8(bytes.expose_secret()).map_err(|_| FernetError::NotUtf8)?;
    Ok(SecretString::from(text))
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::URL_SAFE;
    use base64::Engine as _;

    use super::*;

    const HEADER_LEN: usize = 1 + 8 + 16;
    const MAC_LEN: usize = 32;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s)
    }

    #[test]
    fn generated_key_is_44_chars_of_url_safe_base64() {
        let key = generate_key();
        let text = key.expose_secret();
        assert_eq!(text.len(), 44);
        assert!(text.ends_with('='));
        assert!(text[..43]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_ne!(generate_key().expose_secret(), text);
    }

    #[test]
    fn round_trip_and_token_shape() {
        let key = generate_key();
        let token = encrypt(&key, &secret("devstack")).unwrap();
        assert!(token.starts_with("gAAAAA"), "{token}");
        assert_eq!(decrypt(&key, &token).unwrap().expose_secret(), "devstack");
        // Fresh IV every time.
        assert_ne!(encrypt(&key, &secret("devstack")).unwrap(), token);
    }

    #[test]
    fn token_layout() {
        let key = FernetKey::from_base64(&URL_SAFE.encode([7u8; 32])).unwrap();
        let token = key.fernet.encrypt_at_time(b"abc", 0x0102030405060708);
        let data = URL_SAFE.decode(&token).unwrap();
        assert_eq!(data[0], 0x80);
        assert_eq!(&data[1..9], &[1, 2, 3, 4, 5, 6, 7, 8]);
        // 3 bytes pad to one block.
        assert_eq!(data.len(), HEADER_LEN + 16 + MAC_LEN);
        assert_eq!(key.decrypt(&token).unwrap().expose_secret(), b"abc");
    }

    /// The specification's test vector (`generate.json` in fernet/spec), which Python's
    /// `Fernet._encrypt_from_parts(b"hello", 499162800, bytes(range(16)))` also makes.
    #[test]
    fn fernet_spec_vector_decrypts() {
        let key = FernetKey::from_base64("cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=").unwrap();
        let token = "gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA==";
        assert_eq!(key.decrypt(token).unwrap().expose_secret(), b"hello");
    }

    /// `Fernet.decrypt(token)` without a `ttl` accepts a timestamp any distance in the future
    /// (a token written by a host whose clock ran ahead).
    #[test]
    fn future_timestamps_are_accepted_without_ttl() {
        let key = FernetKey::generate();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        for timestamp in [now + MAX_CLOCK_SKEW + 3600, u64::MAX - 1, u64::MAX] {
            let token = key.fernet.encrypt_at_time(b"ahead", timestamp);
            assert_eq!(
                key.decrypt(&token).unwrap().expose_secret(),
                b"ahead",
                "{timestamp}"
            );
        }
    }

    #[test]
    fn bad_keys_are_refused() {
        for bad in [
            "",
            "short",
            "!!!!",
            &URL_SAFE.encode([1u8; 31]),
            &URL_SAFE.encode([1u8; 33]),
        ] {
            assert_eq!(
                FernetKey::from_base64(bad).unwrap_err(),
                FernetError::InvalidKey,
                "{bad}"
            );
        }
        // Standard-alphabet characters are not URL-safe base64.
        let standard = base64::engine::general_purpose::STANDARD.encode([0xfbu8; 32]);
        assert!(standard.contains('+') || standard.contains('/'));
        assert_eq!(
            FernetKey::from_base64(&standard).unwrap_err(),
            FernetError::InvalidKey
        );
    }

    #[test]
    fn bad_tokens_are_refused_without_panicking() {
        let key = FernetKey::generate();
        let good = key.encrypt(b"secret value");
        let other = FernetKey::generate();
        assert_eq!(other.decrypt(&good).unwrap_err(), FernetError::InvalidToken);

        let raw = URL_SAFE.decode(&good).unwrap();
        let cases: Vec<Vec<u8>> = vec![
            vec![],
            vec![0x80],
            raw[..HEADER_LEN + MAC_LEN - 1].to_vec(),
            {
                let mut v = raw.clone();
                v[0] = 0x81;
                v
            },
            {
                let mut v = raw.clone();
                let n = v.len();
                v[n - 1] ^= 1;
                v
            },
            {
                let mut v = raw.clone();
                v[30] ^= 1;
                v
            },
        ];
        for case in cases {
            assert_eq!(
                key.decrypt(&URL_SAFE.encode(&case)).unwrap_err(),
                FernetError::InvalidToken
            );
        }
        for junk in ["", "not base64 ***", "gAAAAA", "=="] {
            assert_eq!(
                key.decrypt(junk).unwrap_err(),
                FernetError::InvalidToken,
                "{junk}"
            );
        }
    }

    /// A correctly signed token whose ciphertext is 5 bytes, not a whole block: made with
    /// Python's `hmac` over `0x80 | 1451606400 | [9; 16] | b"abcde"` with the key `[7; 32]`;
    /// `Fernet(key).decrypt` raises `InvalidToken` for it.
    #[test]
    fn signed_token_with_unaligned_ciphertext_is_refused() {
        let key = FernetKey::from_base64(&URL_SAFE.encode([7u8; 32])).unwrap();
        let token =
            "gAAAAABWhcGACQkJCQkJCQkJCQkJCQkJCWFiY2RlvTG5Iwzo7ynso3nv7ocOFzpG2OGbDYrkzoyrAFnyZ04=";
        assert_eq!(key.decrypt(token).unwrap_err(), FernetError::InvalidToken);
    }

    #[test]
    fn unpadded_token_and_key_are_accepted() {
        let key = generate_key();
        let token = encrypt(&key, &secret("x")).unwrap();
        let key_nopad = SecretString::from(key.expose_secret().trim_end_matches('='));
        assert_eq!(
            decrypt(&key_nopad, token.trim_end_matches('='))
                .unwrap()
                .expose_secret(),
            "x"
        );
    }

    #[test]
    fn text_form_is_padded_whatever_the_input() {
        let padded = URL_SAFE.encode([0x41u8; 32]);
        for input in [
            padded.clone(),
            padded.trim_end_matches('=').to_owned(),
            format!("{padded}\n"),
        ] {
            let key = FernetKey::from_base64(&input).unwrap();
            assert_eq!(key.to_base64().expose_secret(), padded, "{input:?}");
        }
    }

    #[test]
    fn debug_redacts_the_key() {
        let key = FernetKey::from_base64(&URL_SAFE.encode([0x41u8; 32])).unwrap();
        let shown = format!("{key:?}");
        assert_eq!(shown, "FernetKey([REDACTED])");
    }
}
