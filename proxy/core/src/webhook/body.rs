//! Body checks of partner deliveries: the content-type allow-list (media types compared
//! without their parameters, ASCII case-insensitively, `type/*` wildcards allowed) and the
//! "is this valid JSON" check for partners that require JSON bodies.

/// An allow-list of media types; empty means any (and a missing `Content-Type` is fine).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContentTypes(Vec<String>);

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Splits `type/subtype[; params]` into its lower-cased `type/subtype`, if well formed.
fn media_type(raw: &str) -> Option<String> {
    let essence = raw.split(';').next()?.trim_matches([' ', '\t']);
    let (t, sub) = essence.split_once('/')?;
    (is_token(t) && is_token(sub)).then(|| essence.to_ascii_lowercase())
}

impl ContentTypes {
    /// Allows any content type.
    pub fn any() -> Self {
        ContentTypes(Vec::new())
    }

    /// Parses config entries (`application/json`, `application/*`, no parameters); the
    /// error names the index of the first bad entry.
    pub fn parse(list: &[String]) -> Result<Self, (usize, String)> {
        list.iter()
            .enumerate()
            .map(|(i, s)| match media_type(s) {
                Some(m) if !s.contains(';') && (m == "*/*" || !m.starts_with("*/")) => Ok(m),
                _ => Err((
                    i,
                    format!("invalid media type {s:?} (expected type/subtype, no parameters)"),
                )),
            })
            .collect::<Result<_, _>>()
            .map(ContentTypes)
    }

    /// True when any content type is allowed.
    pub fn is_any(&self) -> bool {
        self.0.is_empty() || self.0.iter().any(|m| m == "*/*")
    }

    /// True when the list is non-empty and names only JSON (`application/json`, `*/*+json`).
    pub fn all_json(&self) -> bool {
        !self.0.is_empty()
            && self
                .0
                .iter()
                .all(|m| m == "application/json" || (m.ends_with("+json") && !m.contains('*')))
    }

    /// True when a request with this `Content-Type` value (None: absent) is allowed.
    pub fn allows(&self, content_type: Option<&[u8]>) -> bool {
        if self.is_any() {
            return true;
        }
        let Some(m) = content_type
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(media_type)
        else {
            return false;
        };
        self.0.iter().any(|a| match a.strip_suffix("/*") {
            Some(t) => m.split_once('/').is_some_and(|(mt, _)| mt == t),
            None => *a == m,
        })
    }
}

/// True when `body` is one well-formed JSON value (surrounding whitespace allowed). The
/// value is skipped without recursion, so no nesting depth can overflow the stack.
pub fn is_json(body: &[u8]) -> bool {
    serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok()
}
