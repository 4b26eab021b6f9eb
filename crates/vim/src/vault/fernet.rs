//! Fernet, byte for byte as Python's `cryptography.fernet` (the library Tacker encrypts VIM
//! secrets with), so keys and tokens written by an existing Tacker stay readable and ours
//! stay readable to it.
//!
//! Key: 32 bytes, URL-safe base64 with padding (44 characters); the first 16 bytes sign
//! (HMAC-SHA256), the last 16 encrypt (AES-128-CBC).
//! Token: URL-safe base64 with padding of
//! `0x80 | timestamp (u64 BE seconds) | IV (16) | ciphertext (PKCS7) | HMAC-SHA256 (32)`,
//! the HMAC covering everything before it.
//!
//! Tacker never passes a `ttl`, so decryption does not look at the timestamp (as
//! `Fernet.decrypt(token)` without `ttl`).

use aes::Aes128;
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use hmac::{Hmac, Mac};
use rand::RngCore;
use secrecy::zeroize::Zeroize;
use secrecy::{ExposeSecret, SecretBox, SecretSlice, SecretString};
use sha2::Sha256;

const VERSION: u8 = 0x80;
const HEADER_LEN: usize = 1 + 8 + 16;
const MAC_LEN: usize = 32;
const BLOCK_LEN: usize = 16;

/// URL-safe alphabet that accepts input with or without `=` padding (Python's decoder is
/// lenient the same way for well-formed input); we always write padding.
const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

type HmacSha256 = Hmac<Sha256>;

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

/// A decoded Fernet key. `Debug` prints nothing of it.
pub struct FernetKey {
    signing: SecretBox<[u8; 16]>,
    encryption: SecretBox<[u8; 16]>,
}

impl std::fmt::Debug for FernetKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FernetKey([REDACTED])")
    }
}

impl FernetKey {
    /// A new random key (`Fernet.generate_key()`: 32 bytes from the OS RNG).
    pub fn generate() -> Self {
        let mut raw = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut raw);
        let key = Self::from_raw(&raw);
        raw.zeroize();
        key
    }

    /// Decode the 44-character URL-safe base64 form. Surrounding whitespace (a trailing
    /// newline in a key file written by hand) is ignored.
    pub fn from_base64(encoded: &str) -> Result<Self, FernetError> {
        let mut raw = URL_SAFE_LENIENT
            .decode(encoded.trim())
            .map_err(|_| FernetError::InvalidKey)?;
        let key = if raw.len() == 32 {
            Ok(Self::from_raw(&raw))
        } else {
            Err(FernetError::InvalidKey)
        };
        raw.zeroize();
        key
    }

    fn from_raw(raw: &[u8]) -> Self {
        let mut signing = [0u8; 16];
        let mut encryption = [0u8; 16];
        signing.copy_from_slice(&raw[..16]);
        encryption.copy_from_slice(&raw[16..32]);
        let key = Self {
            signing: SecretBox::new(Box::new(signing)),
            encryption: SecretBox::new(Box::new(encryption)),
        };
        signing.zeroize();
        encryption.zeroize();
        key
    }

    /// The 44-character URL-safe base64 form with padding, as `Fernet.generate_key()`
    /// returns it and Tacker writes it to the key file or Barbican.
    pub fn to_base64(&self) -> SecretString {
        let mut raw = [0u8; 32];
        raw[..16].copy_from_slice(self.signing.expose_secret());
        raw[16..].copy_from_slice(self.encryption.expose_secret());
        let encoded = URL_SAFE.encode(raw);
        raw.zeroize();
        SecretString::from(encoded)
    }

    /// Encrypt with the current time and a random IV.
    pub fn encrypt(&self, plaintext: &[u8]) -> String {
        let mut iv = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut iv);
        self.encrypt_with(plaintext, unix_now(), iv)
    }

    /// Encrypt with a given timestamp and IV (`Fernet._encrypt_from_parts`); for tests that
    /// need a deterministic token.
    pub fn encrypt_with(&self, plaintext: &[u8], timestamp: u64, iv: [u8; 16]) -> String {
        let ciphertext =
            cbc::Encryptor::<Aes128>::new(self.encryption.expose_secret().into(), &iv.into())
                .encrypt_padded_vec_mut::<Pkcs7>(plaintext);
        let mut data = Vec::with_capacity(HEADER_LEN + ciphertext.len() + MAC_LEN);
        data.push(VERSION);
        data.extend_from_slice(&timestamp.to_be_bytes());
        data.extend_from_slice(&iv);
        data.extend_from_slice(&ciphertext);
        let tag = self.mac().chain_update(&data).finalize().into_bytes();
        data.extend_from_slice(&tag);
        URL_SAFE.encode(data)
    }

    /// Verify and decrypt a token (no `ttl`, as Tacker calls it).
    pub fn decrypt(&self, token: &str) -> Result<SecretSlice<u8>, FernetError> {
        let data = URL_SAFE_LENIENT
            .decode(token.trim())
            .map_err(|_| FernetError::InvalidToken)?;
        // cryptography checks the version byte first, then the HMAC, then CBC/PKCS7.
        if data.first() != Some(&VERSION) {
            return Err(FernetError::InvalidToken);
        }
        if data.len() < HEADER_LEN + MAC_LEN {
            return Err(FernetError::InvalidToken);
        }
        let (signed, tag) = data.split_at(data.len() - MAC_LEN);
        self.mac()
            .chain_update(signed)
            .verify_slice(tag)
            .map_err(|_| FernetError::InvalidToken)?;
        let iv: [u8; 16] = signed[9..HEADER_LEN]
            .try_into()
            .map_err(|_| FernetError::InvalidToken)?;
        let ciphertext = &signed[HEADER_LEN..];
        if ciphertext.is_empty() || ciphertext.len() % BLOCK_LEN != 0 {
            return Err(FernetError::InvalidToken);
        }
        let plaintext =
            cbc::Decryptor::<Aes128>::new(self.encryption.expose_secret().into(), &iv.into())
                .decrypt_padded_vec_mut::<Pkcs7>(ciphertext)
                .map_err(|_| FernetError::InvalidToken)?;
        Ok(SecretSlice::from(plaintext))
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC accepts keys of any length; 16 bytes cannot fail.
        <HmacSha256 as Mac>::new_from_slice(self.signing.expose_secret())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"))
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

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn deterministic_layout() {
        let key = FernetKey::from_base64(&URL_SAFE.encode([7u8; 32])).unwrap();
        let token = key.encrypt_with(b"abc", 0x0102030405060708, [9u8; 16]);
        let data = URL_SAFE.decode(&token).unwrap();
        assert_eq!(data[0], 0x80);
        assert_eq!(&data[1..9], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(&data[9..25], &[9u8; 16]);
        // 3 bytes pad to one block.
        assert_eq!(data.len(), 25 + 16 + 32);
        assert_eq!(key.decrypt(&token).unwrap().expose_secret(), b"abc");
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

        let mut raw = URL_SAFE.decode(&good).unwrap();
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
        // A correctly signed token whose ciphertext is not block aligned.
        raw.truncate(HEADER_LEN + 5);
        let tag = key.mac().chain_update(&raw).finalize().into_bytes();
        raw.extend_from_slice(&tag);
        assert_eq!(
            key.decrypt(&URL_SAFE.encode(&raw)).unwrap_err(),
            FernetError::InvalidToken
        );
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
    fn debug_redacts_the_key() {
        let key = FernetKey::from_base64(&URL_SAFE.encode([0x41u8; 32])).unwrap();
        let shown = format!("{key:?}");
        assert_eq!(shown, "FernetKey([REDACTED])");
    }
}
