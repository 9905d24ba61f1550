//! Client-certificate partners: the TLS layer (or a trusted proxy's forwarded certificate)
//! has already verified the chain; this only checks that the verified subject CN is the
//! partner's. CNs compare ASCII case-insensitively (they are DNS-style names).

use super::{RequestView, Verified, VerifyError};

/// A compiled client-certificate check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCert {
    /// The subject CN the partner's certificate must carry.
    pub subject_cn: String,
}

impl ClientCert {
    /// Passes when the request's verified CN is `subject_cn`.
    pub fn verify(&self, req: &RequestView<'_>) -> Result<Verified, VerifyError> {
        match req.client_cn {
            None => Err(VerifyError::NoClientCert),
            Some(cn) if cn.eq_ignore_ascii_case(&self.subject_cn) => Ok(Verified { id: None }),
            Some(cn) => Err(VerifyError::WrongClientCert(cn.chars().take(128).collect())),
        }
    }
}
