//! Static API keys: the partner sends one of its keys in a header, optionally after a prefix
//! (`Bearer `). Keys are kept as SHA-256 digests and the presented key is hashed and compared
//! against each in constant time, so neither the keys' bytes nor their lengths leak.

use super::{RequestView, Verified, VerifyError};
use http::HeaderName;
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

/// A compiled API-key check. Its `Debug` never shows the keys.
#[derive(Clone)]
pub struct ApiKeys {
    header: HeaderName,
    prefix: String,
    digests: Vec<[u8; 32]>,
}

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeys")
            .field("header", &self.header)
            .field("prefix", &self.prefix)
            .field("keys", &self.digests.len())
            .finish()
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

impl ApiKeys {
    /// A check accepting `header: <prefix><key>` for any of `keys` (at least one).
    pub fn new(header: HeaderName, prefix: String, keys: &[String]) -> Result<Self, String> {
        if keys.is_empty() {
            return Err("needs at least one key".into());
        }
        Ok(ApiKeys {
            header,
            prefix,
            digests: keys.iter().map(|k| digest(k.as_bytes())).collect(),
        })
    }

    /// Verifies a request (the header's first value, raw bytes).
    pub fn verify(&self, req: &RequestView<'_>) -> Result<Verified, VerifyError> {
        let raw = req
            .header(&self.header)
            .ok_or_else(|| VerifyError::MissingHeader(self.header.as_str().to_owned()))?;
        let key = raw.strip_prefix(self.prefix.as_bytes()).ok_or_else(|| {
            VerifyError::Malformed(format!(
                "{} does not start with {:?}",
                self.header, self.prefix
            ))
        })?;
        let presented = digest(key);
        let mut ok = Choice::from(0);
        for d in &self.digests {
            ok |= d.ct_eq(&presented);
        }
        if bool::from(ok) {
            Ok(Verified { id: None })
        } else {
            Err(VerifyError::BadSignature)
        }
    }
}
