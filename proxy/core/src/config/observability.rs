//! `observability:` — the JSON access log (one line per request with its reason code) and
//! which switchyard headers go back to clients.

use schemars::JsonSchema;
use serde::Deserialize;

/// `observability:` as written.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ObservabilitySpec {
    /// Access log.
    #[serde(default)]
    pub access_log: AccessLogSpec,
    /// Response headers.
    #[serde(default)]
    pub response_headers: ResponseHeadersSpec,
}

/// `access_log:` as written.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessLogSpec {
    /// Only `json`.
    #[serde(default = "json")]
    pub format: LogFormat,
    /// `stdout`, `stderr` or `off`.
    #[serde(default)]
    pub to: AccessLogTarget,
}

fn json() -> LogFormat {
    LogFormat::Json
}

impl Default for AccessLogSpec {
    fn default() -> Self {
        AccessLogSpec {
            format: LogFormat::Json,
            to: AccessLogTarget::Stdout,
        }
    }
}

/// Access log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// JSON lines.
    Json,
}

/// Where access log lines go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AccessLogTarget {
    /// Standard output.
    #[default]
    Stdout,
    /// Standard error.
    Stderr,
    /// Nowhere.
    Off,
}

/// `response_headers:` as written.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResponseHeadersSpec {
    /// Send `X-Switchyard-Variant`.
    #[serde(default = "yes")]
    pub variant: bool,
    /// Send `X-Request-Id`.
    #[serde(default = "yes")]
    pub request_id: bool,
}

fn yes() -> bool {
    true
}

impl Default for ResponseHeadersSpec {
    fn default() -> Self {
        ResponseHeadersSpec {
            variant: true,
            request_id: true,
        }
    }
}

/// Compiled `observability:`.
#[derive(Debug, Clone, Copy)]
pub struct Observability {
    /// Access log destination.
    pub access_log: AccessLogTarget,
    /// Send `X-Switchyard-Variant`.
    pub variant_header: bool,
    /// Send `X-Request-Id`.
    pub request_id_header: bool,
}

/// Compiles `observability:`.
pub fn compile(spec: &ObservabilitySpec) -> Observability {
    Observability {
        access_log: spec.access_log.to,
        variant_header: spec.response_headers.variant,
        request_id_header: spec.response_headers.request_id,
    }
}
