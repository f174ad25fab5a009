//! Secrets: opaque tokens, their keyed hashes, and password hashing.
//!
//! Tokens (sessions, setup links; later API, invitation and SCIM tokens) are
//! 32 random bytes shown once and stored only as HMAC-SHA256 under the
//! server key, so a stolen database does not yield usable tokens and lookups
//! stay a single indexed equality. Passwords use argon2id with OWASP's
//! recommended parameters (19 MiB, 2 passes, 1 lane).

use anyhow::{bail, Context};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use hmac::{Hmac, Mac};
use rand::rngs::OsRng;
use rand::{Rng, RngCore};
use sha2::Sha256;
use std::path::Path;

/// OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1.
pub const ARGON2_M_COST_KIB: u32 = 19 * 1024;
pub const ARGON2_T_COST: u32 = 2;
pub const ARGON2_P_COST: u32 = 1;

pub fn argon2() -> Argon2<'static> {
    // The parameters are constants within argon2's limits.
    #[allow(clippy::unwrap_used)]
    let params = Params::new(ARGON2_M_COST_KIB, ARGON2_T_COST, ARGON2_P_COST, None).unwrap();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password into a PHC string. CPU-bound: call it on a blocking
/// thread.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing password: {e}"))
}

/// Checks a password against a PHC string in constant time. A malformed
/// hash counts as a mismatch.
pub fn verify_password(hash: &str, password: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// The server key: keys token hashes, and (through a derived key) encrypts
/// stored secrets such as Slack credentials.
#[derive(Clone)]
pub struct Keys {
    /// HMAC-SHA256 keyed with the server key, its key schedule done once
    /// (hashing a token on every request clones it).
    token_mac: Hmac<Sha256>,
    encryption_key: [u8; 32],
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(<redacted>)")
    }
}

/// Parses a 64-hex-character key.
pub fn parse_key(hex: &str) -> anyhow::Result<[u8; 32]> {
    let hex = hex.trim();
    if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        bail!("secret_key must be 64 hexadecimal characters (32 bytes)");
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)?;
    }
    Ok(out)
}

/// Lower-case hex. Runs on every authenticated request (token hashes), so
/// it writes into one buffer rather than formatting byte by byte.
fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

impl Keys {
    pub fn from_bytes(hmac_key: [u8; 32]) -> Keys {
        // A separate key for encryption, derived so that one configured
        // secret serves both purposes without reusing key material.
        #[allow(clippy::expect_used)]
        let mut mac = Hmac::<Sha256>::new_from_slice(&hmac_key).expect("HMAC takes any key length");
        mac.update(b"roster encryption key v1");
        let encryption_key: [u8; 32] = mac.finalize().into_bytes().into();
        #[allow(clippy::expect_used)]
        let token_mac =
            Hmac::<Sha256>::new_from_slice(&hmac_key).expect("HMAC takes any key length");
        Keys {
            token_mac,
            encryption_key,
        }
    }

    /// Encrypts a secret for storage: base64 of a random 24-byte nonce and
    /// the XChaCha20-Poly1305 ciphertext.
    pub fn encrypt(&self, plaintext: &str) -> anyhow::Result<String> {
        use chacha20poly1305::aead::{Aead, AeadCore, KeyInit};
        use chacha20poly1305::XChaCha20Poly1305;
        let cipher = XChaCha20Poly1305::new((&self.encryption_key).into());
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = cipher
            .encrypt(&nonce, plaintext.as_bytes())
            .map_err(|_| anyhow::anyhow!("encryption failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(base64::engine::general_purpose::STANDARD.encode(out))
    }

    /// Decrypts what [`Keys::encrypt`] produced. Fails on tampering or a
    /// different server key.
    pub fn decrypt(&self, stored: &str) -> anyhow::Result<String> {
        use chacha20poly1305::aead::{Aead, KeyInit};
        use chacha20poly1305::{XChaCha20Poly1305, XNonce};
        let bytes = base64::engine::general_purpose::STANDARD.decode(stored)?;
        if bytes.len() < 24 {
            bail!("stored secret is too short");
        }
        let (nonce, sealed) = bytes.split_at(24);
        let cipher = XChaCha20Poly1305::new((&self.encryption_key).into());
        let plain = cipher
            .decrypt(XNonce::from_slice(nonce), sealed)
            .map_err(|_| {
                anyhow::anyhow!("stored secret cannot be decrypted with this server key")
            })?;
        Ok(String::from_utf8(plain)?)
    }

    /// Signs `message` with HMAC-SHA256 under `key` and compares it with the
    /// hex `signature` in constant time (Slack's request signatures).
    pub fn verify_hmac_hex(key: &[u8], message: &[u8], signature_hex: &str) -> bool {
        #[allow(clippy::expect_used)]
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
        mac.update(message);
        let expected = to_hex(&mac.finalize().into_bytes());
        use subtle::ConstantTimeEq;
        expected.as_bytes().ct_eq(signature_hex.as_bytes()).into()
    }

    /// Uses the configured key, or else the one in `data_dir/secret.key`,
    /// creating it (mode 0600) on first start.
    pub fn load(configured: Option<&str>, data_dir: &Path) -> anyhow::Result<Keys> {
        if let Some(hex) = configured {
            return Ok(Keys::from_bytes(parse_key(hex)?));
        }
        let path = data_dir.join("secret.key");
        if path.exists() {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            return Ok(Keys::from_bytes(parse_key(&text)?));
        }
        let mut key = [0u8; 32];
        OsRng.fill_bytes(&mut key);
        write_private(&path, &to_hex(&key))?;
        Ok(Keys::from_bytes(key))
    }

    /// The key check value: a keyed hash of a fixed label, stored in the
    /// database at first start so that a server (or a replica) started
    /// with another key is refused. It tells nothing about the key.
    pub fn check_value(&self) -> String {
        format!("v1:{}", self.hash_token("roster key check v1"))
    }

    /// Whether `stored` is this key's check value (constant time).
    pub fn matches_check_value(&self, stored: &str) -> bool {
        use subtle::ConstantTimeEq;
        self.check_value()
            .as_bytes()
            .ct_eq(stored.as_bytes())
            .into()
    }

    /// The stored form of a token: hex HMAC-SHA256 under the server key.
    pub fn hash_token(&self, token: &str) -> String {
        let mut mac = self.token_mac.clone();
        mac.update(token.as_bytes());
        to_hex(&mac.finalize().into_bytes())
    }
}

/// Creates a directory (and any missing parents) that only its owner can
/// enter (mode 0700): the data directory holds the key, the database and
/// the mail log. An existing directory keeps the mode its operator gave it.
pub fn create_private_dir(path: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path)
}

/// Writes a file only its owner can read.
pub fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(contents.as_bytes())?;
    Ok(())
}

/// A new opaque token: `prefix` and 32 random bytes, base64url. The prefix
/// tells people (and secret scanners) what kind of token it is.
pub fn new_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// A temporary password: 20 characters from an alphabet without look-alikes
/// (about 110 bits).
pub fn temporary_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = OsRng;
    (0..20)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Ten recovery codes, each ten characters from an alphabet without
/// look-alikes (about 50 bits), written `xxxxx-xxxxx`.
pub fn recovery_codes() -> Vec<String> {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut rng = OsRng;
    (0..10)
        .map(|_| {
            let raw: String = (0..10)
                .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
                .collect();
            format!("{}-{}", &raw[..5], &raw[5..])
        })
        .collect()
}

/// A recovery code as it is hashed: lower case, without dashes or spaces.
pub fn normalize_recovery_code(code: &str) -> String {
    code.chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_hash() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password(&h, "correct horse battery"));
        assert!(!verify_password(&h, "correct horse battery!"));
        assert!(!verify_password("not a hash", "x"));
    }

    #[test]
    fn hex_is_lower_case_two_digits_a_byte() {
        assert_eq!(to_hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(to_hex(&[]), "");
    }

    #[test]
    fn token_hashes_depend_on_the_key() {
        let a = Keys::from_bytes([1; 32]);
        let b = Keys::from_bytes([2; 32]);
        let t = new_token("rst_");
        assert_eq!(a.hash_token(&t), a.hash_token(&t));
        assert_ne!(a.hash_token(&t), b.hash_token(&t));
        assert_ne!(new_token("rst_"), t);
        assert_eq!(a.hash_token(&t).len(), 64);
    }

    #[test]
    fn secrets_round_trip_and_refuse_tampering_or_another_key() {
        let k = Keys::from_bytes([7; 32]);
        let sealed = k.encrypt("xoxb-secret").unwrap();
        assert!(!sealed.contains("xoxb"));
        assert_ne!(
            sealed,
            k.encrypt("xoxb-secret").unwrap(),
            "fresh nonce each time"
        );
        assert_eq!(k.decrypt(&sealed).unwrap(), "xoxb-secret");
        assert!(Keys::from_bytes([8; 32]).decrypt(&sealed).is_err());
        let mut bytes = base64::engine::general_purpose::STANDARD
            .decode(&sealed)
            .unwrap();
        *bytes.last_mut().unwrap() ^= 1;
        assert!(k
            .decrypt(&base64::engine::general_purpose::STANDARD.encode(bytes))
            .is_err());
    }

    #[test]
    fn hmac_signatures_verify_only_when_exact() {
        let mut mac = Hmac::<Sha256>::new_from_slice(b"secret").unwrap();
        mac.update(b"v0:1:body");
        let sig = to_hex(&mac.finalize().into_bytes());
        assert!(Keys::verify_hmac_hex(b"secret", b"v0:1:body", &sig));
        assert!(!Keys::verify_hmac_hex(b"secret", b"v0:1:bodx", &sig));
        assert!(!Keys::verify_hmac_hex(b"other", b"v0:1:body", &sig));
    }

    #[test]
    fn the_check_value_tells_keys_apart() {
        let a = Keys::from_bytes([1; 32]);
        let b = Keys::from_bytes([2; 32]);
        assert!(a.matches_check_value(&a.check_value()));
        assert!(!a.matches_check_value(&b.check_value()));
        assert!(!a.matches_check_value(""));
    }

    #[test]
    fn keys_parse_from_hex_only() {
        assert!(parse_key(&"ab".repeat(32)).is_ok());
        assert!(parse_key("abc").is_err());
        assert!(parse_key(&"zz".repeat(32)).is_err());
    }

    #[test]
    fn temporary_passwords_are_long_and_distinct() {
        let p = temporary_password();
        assert_eq!(p.len(), 20);
        assert_ne!(p, temporary_password());
    }
}
