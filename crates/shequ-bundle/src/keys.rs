//! Keys: each device signs its manifests with Ed25519; the centre decrypts with an age X25519
//! identity whose public recipient the laptops import.

use std::io::{Read, Write};
use std::str::FromStr;

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use shequ_core::{Error, ErrorCode, Result};
use zeroize::Zeroizing;

/// A device's signing key (kept in its own, encrypted, store). Secret material in memory is
/// zeroized when dropped: the key itself (ed25519-dalek), its seed and its hex text.
pub struct DeviceKey(SigningKey);

impl DeviceKey {
    pub fn generate() -> Result<DeviceKey> {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut())
            .map_err(|e| Error::internal(format!("no randomness: {e}")))?;
        Ok(DeviceKey(SigningKey::from_bytes(&seed)))
    }

    pub fn from_hex(s: &str) -> Result<DeviceKey> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(s.trim(), bytes.as_mut())
            .map_err(|_| Error::internal("stored device key is malformed"))?;
        Ok(DeviceKey(SigningKey::from_bytes(&bytes)))
    }

    pub fn to_hex(&self) -> Zeroizing<String> {
        let bytes = Zeroizing::new(self.0.to_bytes());
        Zeroizing::new(hex::encode(&bytes[..]))
    }

    pub fn public_hex(&self) -> String {
        hex::encode(self.0.verifying_key().to_bytes())
    }

    pub fn sign(&self, message: &[u8]) -> String {
        hex::encode(self.0.sign(message).to_bytes())
    }
}

/// A device key's fingerprint, for people to compare by phone or face to face before the
/// centre accepts the device: the first 10 bytes of SHA-256 of the public key, as five groups
/// of four hex digits (`3F2A-91C0-77DE-0B4C-A1E9`).
pub fn fingerprint(public_hex: &str) -> String {
    use sha2::Digest;
    let key = hex::decode(public_hex.trim()).unwrap_or_default();
    let digest = sha2::Sha256::digest(&key);
    hex::encode_upper(&digest[..10])
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// A fingerprint as a person types it (any case, with or without dashes or spaces) in the
/// form [`fingerprint`] writes; `None` when it is not one.
pub fn normalise_fingerprint(typed: &str) -> Option<String> {
    let hex: String = typed
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | '\u{3000}'))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (hex.len() == 20 && hex.chars().all(|c| c.is_ascii_hexdigit())).then(|| {
        hex.as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join("-")
    })
}

/// Checks a hex signature by a hex public key.
pub fn verify(public_hex: &str, message: &[u8], signature_hex: &str) -> bool {
    let key: Option<[u8; 32]> = hex::decode(public_hex.trim())
        .ok()
        .and_then(|b| b.try_into().ok());
    let sig: Option<[u8; 64]> = hex::decode(signature_hex.trim())
        .ok()
        .and_then(|b| b.try_into().ok());
    match (key.and_then(|k| VerifyingKey::from_bytes(&k).ok()), sig) {
        (Some(k), Some(s)) => k.verify(message, &Signature::from_bytes(&s)).is_ok(),
        _ => false,
    }
}

/// An age X25519 identity (`AGE-SECRET-KEY-1…`): the centre's, which opens what laptops send,
/// or a device's own, which opens what the centre sends back.
pub struct CentreIdentity(age::x25519::Identity);

impl CentreIdentity {
    pub fn generate() -> CentreIdentity {
        CentreIdentity(age::x25519::Identity::generate())
    }

    pub fn parse(s: &str) -> Result<CentreIdentity> {
        age::x25519::Identity::from_str(s.trim())
            .map(CentreIdentity)
            .map_err(|_| Error::new(ErrorCode::BundleKeyInvalid).with("value", "AGE-SECRET-KEY-…"))
    }

    pub fn secret(&self) -> Zeroizing<String> {
        use age::secrecy::ExposeSecret;
        Zeroizing::new(self.0.to_string().expose_secret().to_string())
    }

    /// The public recipient (`age1…`) that field laptops import.
    pub fn recipient(&self) -> String {
        self.0.to_public().to_string()
    }

    /// The secret key in an age file protected by a passphrase (scrypt), readable by any
    /// age tool (`age -d`): the centre's backup, to keep off the computer.
    pub fn backup(&self, passphrase: &str) -> Result<Vec<u8>> {
        let encryptor = age::Encryptor::with_user_passphrase(age::secrecy::SecretString::from(
            passphrase.to_string(),
        ));
        let mut out = Vec::new();
        let mut w = encryptor
            .wrap_output(&mut out)
            .map_err(|e| Error::internal(format!("age: {e}")))?;
        w.write_all(self.secret().as_bytes())
            .and_then(|_| w.finish().map(|_| ()))
            .map_err(|e| Error::internal(format!("age: {e}")))?;
        Ok(out)
    }

    /// Reads a backup made by [`CentreIdentity::backup`]: `WrongPassphrase` when the
    /// passphrase does not open it, `BundleKeyInvalid` when it is not such a file.
    pub fn restore(bytes: &[u8], passphrase: &str) -> Result<CentreIdentity> {
        let invalid = || Error::new(ErrorCode::BundleKeyInvalid).with("value", "AGE-SECRET-KEY-…");
        let decryptor = age::Decryptor::new(bytes).map_err(|_| invalid())?;
        if !decryptor.is_scrypt() {
            return Err(invalid());
        }
        let identity =
            age::scrypt::Identity::new(age::secrecy::SecretString::from(passphrase.to_string()));
        let mut reader = decryptor
            .decrypt(std::iter::once(&identity as &dyn age::Identity))
            .map_err(|_| Error::new(ErrorCode::WrongPassphrase))?;
        let mut text = zeroize::Zeroizing::new(String::new());
        reader.read_to_string(&mut text).map_err(|_| invalid())?;
        CentreIdentity::parse(&text)
    }

    pub fn decrypt(&self, bytes: &[u8]) -> Option<Vec<u8>> {
        let decryptor = age::Decryptor::new(bytes).ok()?;
        let mut reader = decryptor
            .decrypt(std::iter::once(&self.0 as &dyn age::Identity))
            .ok()?;
        let mut out = Vec::new();
        reader.read_to_end(&mut out).ok()?;
        Some(out)
    }
}

/// Checks a recipient string (`age1…`) as a laptop receives it.
pub fn parse_recipient(s: &str) -> Result<age::x25519::Recipient> {
    age::x25519::Recipient::from_str(s.trim())
        .map_err(|_| Error::new(ErrorCode::BundleKeyInvalid).with("value", s.trim()))
}

/// Encrypts to every recipient given: any one of their identities opens the file.
pub fn encrypt(recipients: &[String], plain: &[u8]) -> Result<Vec<u8>> {
    let parsed = recipients
        .iter()
        .map(|r| parse_recipient(r))
        .collect::<Result<Vec<_>>>()?;
    let encryptor =
        age::Encryptor::with_recipients(parsed.iter().map(|r| r as &dyn age::Recipient))
            .map_err(|e| Error::internal(format!("age: {e}")))?;
    let mut out = Vec::new();
    let mut w = encryptor
        .wrap_output(&mut out)
        .map_err(|e| Error::internal(format!("age: {e}")))?;
    w.write_all(plain).map_err(Error::internal)?;
    w.finish().map_err(Error::internal)?;
    Ok(out)
}

/// Whether bytes are an age file (rather than a plain zip).
pub fn is_encrypted(bytes: &[u8]) -> bool {
    bytes.starts_with(b"age-encryption.org/v1")
}

#[cfg(test)]
mod fingerprint_tests {
    use super::*;

    #[test]
    fn a_fingerprint_is_five_groups_of_the_key_hash_and_reads_back_however_typed() {
        let key = DeviceKey::from_hex(&"22".repeat(32)).unwrap();
        let fp = fingerprint(&key.public_hex());
        assert_eq!(fp.len(), 24);
        assert_eq!(fp.matches('-').count(), 4);
        // The first 10 bytes of SHA-256 of the public key, upper case.
        use sha2::Digest;
        let digest = sha2::Sha256::digest(hex::decode(key.public_hex()).unwrap());
        assert_eq!(fp.replace('-', ""), hex::encode_upper(&digest[..10]));
        let other = DeviceKey::from_hex(&"23".repeat(32)).unwrap();
        assert_ne!(fingerprint(&other.public_hex()), fp);
        for typed in [
            fp.clone(),
            fp.to_lowercase(),
            fp.replace('-', " "),
            fp.replace('-', ""),
            format!(" {} ", fp.replace('-', "\u{3000}")),
        ] {
            assert_eq!(
                normalise_fingerprint(&typed).as_deref(),
                Some(&*fp),
                "{typed}"
            );
        }
        for bad in [
            "",
            "3F2A",
            &format!("{fp}-0"),
            &fp.replace('-', "_"),
            "GGGG-GGGG-GGGG-GGGG-GGGG",
        ] {
            assert_eq!(normalise_fingerprint(bad), None, "{bad}");
        }
    }
}
