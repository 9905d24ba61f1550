//! Reading admin request bodies: one JSON object, fields checked one by one, every problem a
//! 400 naming its `field`.

use serde_json::{Map, Value};
use switchyard_core::problem::Problem;

/// A JSON object body.
pub type Body = Map<String, Value>;

/// A 400 naming the field at fault.
pub fn bad(field: &str, detail: impl Into<String>) -> Problem {
    Problem::new(400, "invalid-request", "Invalid request", detail).with("field", field)
}

/// The body as a JSON object (`empty_ok`: an empty body is an empty object).
pub fn object(b: &[u8], empty_ok: bool) -> Result<Body, Problem> {
    if empty_ok && b.iter().all(u8::is_ascii_whitespace) {
        return Ok(Body::new());
    }
    match serde_json::from_slice::<Value>(b) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(bad("", "the body must be a JSON object")),
        Err(e) => Err(bad("", format!("the body is not valid JSON: {e}"))),
    }
}

/// A required, non-blank string field.
pub fn text(m: &Body, field: &str) -> Result<String, Problem> {
    match m.get(field) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
        Some(Value::String(_)) | None => Err(bad(field, format!("{field} is required"))),
        Some(_) => Err(bad(field, format!("{field} must be a string"))),
    }
}
