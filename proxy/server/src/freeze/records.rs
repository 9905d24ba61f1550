//! The stored shapes of manual freezes and break-glass exemptions (JSON in the state
//! backend), with the rules that follow from them alone: a freeze's window, a break-glass's
//! status at a given time.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use switchyard_core::freeze::{Glob, Scope, Window};

/// A scope as written in API bodies and stored: tenant and route globs (empty: all).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeRecord {
    /// Tenant globs.
    #[serde(default)]
    pub tenants: Vec<String>,
    /// Route globs.
    #[serde(default)]
    pub routes: Vec<String>,
}

impl ScopeRecord {
    /// The compiled scope, or what is wrong (`tenants[1]: empty glob …`).
    pub fn compile(&self) -> Result<Scope, String> {
        let globs = |list: &[String], axis: &str| {
            list.iter()
                .enumerate()
                .map(|(i, g)| Glob::new(g).map_err(|e| format!("{axis}[{i}]: {e}")))
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(Scope::new(
            globs(&self.tenants, "tenants")?,
            globs(&self.routes, "routes")?,
        ))
    }
}

/// A manual "stop the line" freeze.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManualFreeze {
    /// Id (`freeze-…`), also its window's name.
    pub id: String,
    /// Why.
    pub reason: String,
    /// When it began.
    pub start: DateTime<Utc>,
    /// When it ends by itself.
    pub until: DateTime<Utc>,
    /// What it freezes.
    pub scope: ScopeRecord,
    /// Who started it.
    pub by: String,
}

impl ManualFreeze {
    /// Its window for the calendar.
    pub fn window(&self) -> Result<Window, String> {
        Ok(Window::fixed(
            self.id.clone(),
            self.start,
            self.until,
            self.scope.compile()?,
        ))
    }
}

/// Where a break-glass stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GlassStatus {
    /// Waiting for a second freeze-admin's approval.
    Pending,
    /// Exempting its scope.
    Active,
    /// Past its time to live (or never approved within it).
    Expired,
    /// Revoked.
    Revoked,
}

/// A break-glass request or exemption.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakGlass {
    /// Id (`bg-…`).
    pub id: String,
    /// What it exempts.
    pub scope: ScopeRecord,
    /// How long it exempts once active.
    pub ttl_secs: u64,
    /// Why.
    pub reason: String,
    /// Ticket reference.
    pub ticket: String,
    /// Who asked.
    pub requested_by: String,
    /// When.
    pub requested_at: DateTime<Utc>,
    /// Who approved (four eyes), if approval was needed.
    pub approved_by: Option<String>,
    /// When it became active.
    pub activated_at: Option<DateTime<Utc>>,
    /// Who revoked it.
    pub revoked_by: Option<String>,
}

impl BreakGlass {
    fn ttl(&self) -> chrono::TimeDelta {
        chrono::TimeDelta::seconds(i64::try_from(self.ttl_secs).unwrap_or(i64::MAX / 1000))
    }

    /// When it stops exempting (active), or stops waiting for approval (pending).
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.activated_at.unwrap_or(self.requested_at) + self.ttl()
    }

    /// Its status at `now`: a request not approved within its time to live expires too.
    pub fn status(&self, now: DateTime<Utc>) -> GlassStatus {
        if self.revoked_by.is_some() {
            GlassStatus::Revoked
        } else if now >= self.expires_at() {
            GlassStatus::Expired
        } else if self.activated_at.is_none() {
            GlassStatus::Pending
        } else {
            GlassStatus::Active
        }
    }
}
