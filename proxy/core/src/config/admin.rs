//! `admin:` — the admin API listener and its bearer tokens. Roles are ordered
//! viewer < operator < freeze-admin < admin; an endpoint names the least role it needs.

use super::secrets::{resolve, SecretSpec};
use super::{Env, Errors};
use schemars::JsonSchema;
use serde::Deserialize;
use std::net::SocketAddr;

/// `admin:` as written.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminSpec {
    /// Admin listener (default 127.0.0.1:9901).
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Bearer tokens.
    #[serde(default)]
    pub tokens: Vec<TokenSpec>,
}

fn default_listen() -> String {
    "127.0.0.1:9901".into()
}

impl Default for AdminSpec {
    fn default() -> Self {
        AdminSpec {
            listen: default_listen(),
            tokens: Vec::new(),
        }
    }
}

/// One token as written.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenSpec {
    /// Who holds it (appears in the audit log).
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// The secret.
    pub token: SecretSpec,
}

/// Admin roles, in increasing power.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, JsonSchema, serde::Serialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Read-only.
    Viewer,
    /// Day-to-day changes (reload, canary).
    Operator,
    /// Freezes and break-glass.
    FreezeAdmin,
    /// Everything.
    Admin,
}

/// A resolved token.
#[derive(Clone)]
pub struct Token {
    /// Holder.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Secret value.
    pub secret: String,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Token({}, {:?}, ***)", self.name, self.role)
    }
}

/// Compiled `admin:`.
#[derive(Debug, Clone)]
pub struct AdminConfig {
    /// Listener.
    pub listen: SocketAddr,
    /// Tokens.
    pub tokens: Vec<Token>,
}

/// Compiles `admin:`.
pub fn compile(spec: &AdminSpec, env: &dyn Env, errs: &mut Errors) -> AdminConfig {
    let mut tokens: Vec<Token> = Vec::new();
    for (i, t) in spec.tokens.iter().enumerate() {
        let path = format!("admin.tokens[{i}]");
        if t.name.is_empty() {
            errs.at(format!("{path}.name"), "must not be empty");
        }
        if tokens.iter().any(|o| o.name == t.name) {
            errs.at(
                format!("{path}.name"),
                format!("duplicate token name {:?}", t.name),
            );
        }
        if let Some(secret) = resolve(&t.token, &format!("{path}.token"), env, errs) {
            if secret.len() < 16 {
                errs.at(
                    format!("{path}.token"),
                    "tokens must be at least 16 characters",
                );
            }
            tokens.push(Token {
                name: t.name.clone(),
                role: t.role,
                secret,
            });
        }
    }
    AdminConfig {
        listen: super::server::addr(&spec.listen, "admin.listen", errs),
        tokens,
    }
}
