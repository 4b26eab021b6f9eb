//! Protection of cached token data in a shared memcached, byte for byte as keystonemiddleware
//! 13.0.1 lays it out (`keystonemiddleware/auth_token/_memcache_crypt.py`, used by
//! `_cache.SecureTokenCache` when `memcache_security_strategy` is not `None`).
//!
//! Upstream, in order:
//! * `derive_keys(token, secret, strategy)`: one HMAC-SHA384 keyed with the UTF-8
//!   `memcache_secret_key` over the UTF-8 token followed by the UTF-8 strategy **as typed** in
//!   the configuration (`MAC`, `mac`, `Encrypt`, ...: oslo.config accepts any case and hands the
//!   text on unchanged). Of the 48 digest bytes, 0..16 name the cache entry, 16..32 key the
//!   MAC and 32..48 key the cipher (NIST SP 800-108 split).
//! * `get_cache_key`: standard base64 (with padding) of the first 16 bytes. `_cache` formats
//!   the returned *bytes* object into `'tokens/%s'`, so the memcached key is literally
//!   `tokens/b'<base64>'`, Python's bytes repr included.
//! * `protect_data`: only when the strategy is exactly `ENCRYPT` (case-sensitive, so `encrypt`
//!   only MACs), the data becomes `iv ‖ AES-128-CBC(PKCS7(data))` with a random 16-byte IV.
//!   Then `B = base64(data)` and the stored value is `base64(HMAC-SHA384(mac_key, B)) ‖ B`:
//!   a 64-character signature, then the encoded data.
//! * `unprotect_data`: the first 64 bytes must equal the signature recomputed over the rest
//!   (`hmac.compare_digest`), then base64-decode and, for `ENCRYPT`, decrypt and unpad.
//!   `SecureTokenCache._deserialize` turns any failure into "not cached".

use std::fmt;

use aes::Aes128;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use hmac::{Hmac, Mac};
use secrecy::zeroize::Zeroize;
use sha2::Sha384;

type HmacSha384 = Hmac<Sha384>;

/// `DIGEST_LENGTH_B64`: base64 length of a SHA-384 digest (48 bytes → 64 characters).
const SIGNATURE_LEN: usize = 64;
const BLOCK_LEN: usize = 16;

/// Why a cached value could not be read (each is a cache miss for the caller).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UnprotectError {
    /// `InvalidMacError`: wrong key, or the value was changed.
    InvalidMac,
    /// The signed part is not base64.
    Encoding,
    /// `DecryptError`: not a whole number of blocks, or bad padding.
    Decrypt,
}

impl fmt::Display for UnprotectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::InvalidMac => "Invalid MAC; data appears to be corrupted.",
            Self::Encoding => "The signed data is not base64.",
            Self::Decrypt => "Encrypted data appears to be corrupted.",
        })
    }
}

/// The keys `derive_keys` returns for one token. Zeroed on drop; `Debug` shows nothing.
pub(crate) struct DerivedKeys {
    cache_key: [u8; 16],
    mac: [u8; 16],
    encryption: [u8; 16],
    /// `keys['strategy'] == b'ENCRYPT'`.
    encrypt: bool,
}

impl fmt::Debug for DerivedKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DerivedKeys")
            .field("encrypt", &self.encrypt)
            .finish_non_exhaustive()
    }
}

impl Drop for DerivedKeys {
    fn drop(&mut self) {
        self.cache_key.zeroize();
        self.mac.zeroize();
        self.encryption.zeroize();
    }
}

/// `derive_keys(token, secret, strategy)`; `strategy` is the option value as typed.
pub(crate) fn derive_keys(token: &str, secret: &[u8], strategy: &str) -> DerivedKeys {
    let mut mac = new_hmac(secret);
    mac.update(token.as_bytes());
    mac.update(strategy.as_bytes());
    let mut digest: [u8; 48] = mac.finalize().into_bytes().into();
    let part = |range: std::ops::Range<usize>| -> [u8; 16] {
        let mut out = [0u8; 16];
        out.copy_from_slice(&digest[range]);
        out
    };
    let keys = DerivedKeys {
        cache_key: part(0..16),
        mac: part(16..32),
        encryption: part(32..48),
        encrypt: strategy == "ENCRYPT",
    };
    digest.zeroize();
    keys
}

impl DerivedKeys {
    /// The memcached key `_cache.SecureTokenCache._get_cache_key` builds:
    /// `tokens/b'<base64 of the 16 cache-key bytes>'`.
    pub(crate) fn memcache_key(&self) -> String {
        format!("tokens/b'{}'", STANDARD.encode(self.cache_key))
    }

    /// `protect_data(keys, data)` with a fresh random IV.
    pub(crate) fn protect(&self, data: &[u8]) -> Vec<u8> {
        let mut iv = [0u8; BLOCK_LEN];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut iv);
        self.protect_with_iv(data, iv)
    }

    /// `protect_data` with a given IV (ignored unless encrypting); deterministic for tests.
    pub(crate) fn protect_with_iv(&self, data: &[u8], iv: [u8; BLOCK_LEN]) -> Vec<u8> {
        let encoded = if self.encrypt {
            let ciphertext = cbc::Encryptor::<Aes128>::new(&self.encryption.into(), &iv.into())
                .encrypt_padded_vec_mut::<Pkcs7>(data);
            let mut raw = Vec::with_capacity(BLOCK_LEN + ciphertext.len());
            raw.extend_from_slice(&iv);
            raw.extend_from_slice(&ciphertext);
            STANDARD.encode(raw)
        } else {
            STANDARD.encode(data)
        };
        let mut out = self.sign(encoded.as_bytes()).into_bytes();
        out.extend_from_slice(encoded.as_bytes());
        out
    }

    /// `unprotect_data(keys, signed_data)`.
    pub(crate) fn unprotect(&self, signed: &[u8]) -> Result<Vec<u8>, UnprotectError> {
        if signed.len() < SIGNATURE_LEN {
            return Err(UnprotectError::InvalidMac);
        }
        let (provided, encoded) = signed.split_at(SIGNATURE_LEN);
        // Verifying the decoded tag in constant time is equivalent to upstream's
        // `compare_digest` of the two base64 strings: canonical base64 is one-to-one.
        let tag = STANDARD
            .decode(provided)
            .map_err(|_| UnprotectError::InvalidMac)?;
        let mut mac = new_hmac(&self.mac);
        mac.update(encoded);
        mac.verify_slice(&tag)
            .map_err(|_| UnprotectError::InvalidMac)?;
        let data = STANDARD
            .decode(encoded)
            .map_err(|_| UnprotectError::Encoding)?;
        if !self.encrypt {
            return Ok(data);
        }
        if data.len() < 2 * BLOCK_LEN || data.len() % BLOCK_LEN != 0 {
            return Err(UnprotectError::Decrypt);
        }
        let (iv, ciphertext) = data.split_at(BLOCK_LEN);
        let iv: [u8; BLOCK_LEN] = iv.try_into().map_err(|_| UnprotectError::Decrypt)?;
        cbc::Decryptor::<Aes128>::new(&self.encryption.into(), &iv.into())
            .decrypt_padded_vec_mut::<Pkcs7>(ciphertext)
            .map_err(|_| UnprotectError::Decrypt)
    }

    /// `sign_data(key, data)`: base64 of HMAC-SHA384 under the MAC key.
    fn sign(&self, data: &[u8]) -> String {
        let mut mac = new_hmac(&self.mac);
        mac.update(data);
        STANDARD.encode(mac.finalize().into_bytes())
    }
}

fn new_hmac(key: &[u8]) -> HmacSha384 {
    <HmacSha384 as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vectors printed by keystonemiddleware 13.0.1's own `_memcache_crypt` (the kmw venv):
    //   k = derive_keys('tok-1', 'secret-1', 'MAC'); get_cache_key(k); protect_data(k, b'{}')
    // The cross-language tests in tests/memcache_kmw.rs produce and check many more at run
    // time; these keep the layout checked where the venv is absent.
    const MAC_KEY: &str = "tokens/b'39LrW7mGLvFmVc4PfHoYHQ=='";
    const MAC_VALUE: &str = "W/83SRF/EfTlKVRpxng2MwuYCMycRPxPCTv+X8dxT+Ms9o9iE8ajB4qz+2Mgd9oYe30=";

    #[test]
    fn mac_vector_from_keystonemiddleware() {
        let keys = derive_keys("tok-1", b"secret-1", "MAC");
        assert_eq!(keys.memcache_key(), MAC_KEY);
        let value = keys.protect(b"{}");
        assert_eq!(String::from_utf8(value.clone()).unwrap(), MAC_VALUE);
        assert_eq!(keys.unprotect(&value).unwrap(), b"{}");
    }

    #[test]
    fn strategy_as_typed_changes_every_key_and_only_exact_encrypt_encrypts() {
        let upper = derive_keys("t", b"s", "ENCRYPT");
        let lower = derive_keys("t", b"s", "encrypt");
        assert_ne!(upper.memcache_key(), lower.memcache_key());
        assert!(upper.encrypt);
        assert!(!lower.encrypt);
        // MAC-only layout: the signed part is the plain base64 of the data.
        let value = lower.protect(b"hello");
        assert_eq!(
            &value[SIGNATURE_LEN..],
            STANDARD.encode(b"hello").as_bytes()
        );
    }

    #[test]
    fn encrypt_layout_iv_then_cbc_pkcs7() {
        let keys = derive_keys("t", b"s", "ENCRYPT");
        let iv = [7u8; 16];
        let value = keys.protect_with_iv(b"0123456789abcdef", iv);
        let raw = STANDARD.decode(&value[SIGNATURE_LEN..]).unwrap();
        // A full block of data gains a full block of padding.
        assert_eq!(raw.len(), 16 + 32);
        assert_eq!(&raw[..16], &iv);
        assert_eq!(keys.unprotect(&value).unwrap(), b"0123456789abcdef");
        // Random IVs: two protections differ, both read back.
        let a = keys.protect(b"x");
        let b = keys.protect(b"x");
        assert_ne!(a, b);
        assert_eq!(keys.unprotect(&a).unwrap(), b"x");
        assert_eq!(keys.unprotect(&b).unwrap(), b"x");
    }

    #[test]
    fn unreadable_values_are_errors_not_panics() {
        let keys = derive_keys("t", b"s", "ENCRYPT");
        let good = keys.protect(b"data");
        let mut flipped = good.clone();
        let last = flipped.len() - 2;
        flipped[last] ^= 1;
        assert_eq!(keys.unprotect(&flipped), Err(UnprotectError::InvalidMac));
        let other = derive_keys("t", b"other secret", "ENCRYPT");
        assert_eq!(other.unprotect(&good), Err(UnprotectError::InvalidMac));
        for garbage in [&b""[..], b"garbage", &[0xffu8; 200][..]] {
            assert!(keys.unprotect(garbage).is_err());
        }
        // A correctly signed value whose ciphertext is not whole blocks.
        let mac_only = derive_keys("t", b"s", "MAC");
        let forged = {
            let encoded = STANDARD.encode([1u8; 20]);
            let keys_enc = derive_keys("t", b"s", "ENCRYPT");
            let mut out = keys_enc.sign(encoded.as_bytes()).into_bytes();
            out.extend_from_slice(encoded.as_bytes());
            out
        };
        assert_eq!(keys.unprotect(&forged), Err(UnprotectError::Decrypt));
        assert!(mac_only.unprotect(&forged).is_err());
    }

    #[test]
    fn debug_hides_keys() {
        let keys = derive_keys("t", b"s", "MAC");
        let shown = format!("{keys:?}");
        assert!(!shown.contains("cache_key") && !shown.contains("mac:"));
    }
}
