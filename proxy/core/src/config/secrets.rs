//! Secrets are never written inline: `{ env: NAME }` or `{ file: PATH }`, resolved through the
//! injected [`super::Env`] at compile time; a missing variable or unreadable file is a config
//! error at the secret's path.

use super::{Env, Errors};
use schemars::JsonSchema;
use serde::Deserialize;
use std::path::Path;

/// Where a secret comes from.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretSpec {
    /// Name of an environment variable holding the secret.
    pub env: Option<String>,
    /// Path of a file holding the secret (trailing newline ignored).
    pub file: Option<String>,
}

/// Resolves a secret; records an error and returns `None` when it cannot.
pub fn resolve(spec: &SecretSpec, path: &str, env: &dyn Env, errs: &mut Errors) -> Option<String> {
    let value = match (&spec.env, &spec.file) {
        (Some(name), None) => match env.var(name) {
            Some(v) => v,
            None => {
                errs.at(path, format!("environment variable {name} is not set"));
                return None;
            }
        },
        (None, Some(file)) => match env.read_file(Path::new(file)) {
            Ok(v) => v.trim_end_matches(['\n', '\r']).to_owned(),
            Err(e) => {
                errs.at(path, format!("cannot read secret file {file}: {e}"));
                return None;
            }
        },
        _ => {
            errs.at(path, "a secret needs exactly one of `env` or `file`");
            return None;
        }
    };
    if value.is_empty() {
        errs.at(path, "the secret is empty");
        return None;
    }
    Some(value)
}
