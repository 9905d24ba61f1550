//! The one shape every refusal takes: RFC 9457 `application/problem+json` with a stable
//! `type` (`urn:switchyard:problem:<code>`, or IANA's `quota-exceeded` for rate limits), a
//! `title`, the `status`, a human `detail`, the `request_id`, and fields that explain it.

use serde_json::{Map, Value};

/// The media type of problem documents.
pub const CONTENT_TYPE: &str = "application/problem+json";

/// A problem document before it is written.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// HTTP status code.
    pub status: u16,
    /// Stable machine code: the last part of the `type` URN.
    pub code: &'static str,
    /// Short, stable summary of the problem type.
    pub title: &'static str,
    /// What was wrong with this request, and where.
    pub detail: String,
    /// Extra members (`tenant`, `retry_after`, `window`, …).
    pub extra: Map<String, Value>,
}

impl Problem {
    /// A problem with no extra members.
    pub fn new(
        status: u16,
        code: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Problem {
            status,
            code,
            title,
            detail: detail.into(),
            extra: Map::new(),
        }
    }

    /// Adds an explaining member.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extra.insert(key.to_owned(), value.into());
        self
    }

    /// The `type` URI of this problem.
    pub fn type_uri(&self) -> String {
        if self.code == "quota-exceeded" {
            "https://iana.org/assignments/http-problem-types#quota-exceeded".to_owned()
        } else {
            format!("urn:switchyard:problem:{}", self.code)
        }
    }

    /// Serialises the document, stamping it with the request id.
    pub fn to_json(&self, request_id: &str) -> Vec<u8> {
        let mut m = Map::new();
        m.insert("type".into(), self.type_uri().into());
        m.insert("title".into(), self.title.into());
        m.insert("status".into(), self.status.into());
        m.insert("detail".into(), self.detail.clone().into());
        m.insert("request_id".into(), request_id.into());
        for (k, v) in &self.extra {
            m.insert(k.clone(), v.clone());
        }
        serde_json::to_vec(&Value::Object(m)).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_shape() {
        let p = Problem::new(
            404,
            "unknown-tenant",
            "Unknown tenant",
            "no tenant \"zeta\"",
        )
        .with("tenant", "zeta");
        let v: Value = serde_json::from_slice(&p.to_json("r1")).expect("json");
        assert_eq!(v["type"], "urn:switchyard:problem:unknown-tenant");
        assert_eq!(
            (
                v["status"].as_u64(),
                v["request_id"].as_str(),
                v["tenant"].as_str()
            ),
            (Some(404), Some("r1"), Some("zeta"))
        );
        let q = Problem::new(429, "quota-exceeded", "Too many requests", "x");
        assert!(q.type_uri().ends_with("#quota-exceeded"));
    }
}
