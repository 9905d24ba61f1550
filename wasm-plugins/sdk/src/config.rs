//! Policy configuration: a small JSON reader and lenient, path-aware accessors.
//!
//! The host hands a policy its configuration as JSON through `get_config`. switchyard passes
//! `policies.<name>.config` with its YAML types intact (`retry_after: 600` is a number);
//! Traefik passes the middleware's `plugin.<key>` map with every YAML scalar turned into a
//! string (`"600"`, `"true"`) and, depending on the provider, lists as arrays or as
//! comma-separated strings. The accessors here accept all of those spellings, so one policy
//! build behaves the same under both hosts:
//!
//! | accessor | accepts |
//! | --- | --- |
//! | [`Field::str`] | a string, a number, a boolean (its text) |
//! | [`Field::u64`] | a number or a string of digits |
//! | [`Field::bool`] | `true`/`false`, or the strings `true/false/yes/no/on/off/1/0` (any case) |
//! | [`Field::strings`] | a list of scalars, a comma-separated string, a map keyed `"0"`, `"1"`, … |
//! | [`Field::string_map`] | a map of scalars |
//!
//! An absent key, `null` and the empty string all mean "not set". Unknown keys are an error
//! ([`Config::deny_unknown`]), so a typo is refused at load time instead of silently ignored.
//! No serde: the reader is a few hundred lines and keeps the modules small.

use std::fmt;

/// A parsed JSON value. Numbers keep their source text so that no precision is lost and
/// the lenient accessors can treat `856` and `"856"` alike.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null` (or an empty configuration).
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number, as written.
    Number(String),
    /// A string.
    String(String),
    /// An array.
    List(Vec<Value>),
    /// An object, in document order (keys may repeat; the first wins on lookup).
    Map(Vec<(String, Value)>),
}

/// A configuration problem, with the path of the offending value (`routes.856`,
/// `allow_from[1]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Where: a dotted path from the configuration root, empty for the root itself.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "config: {}", self.message)
        } else {
            write!(f, "config.{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for ConfigError {}

impl Value {
    /// Parses JSON text. Empty (or all-blank) input is [`Value::Null`]: hosts send an empty
    /// configuration when none was given.
    pub fn parse(text: &[u8]) -> Result<Value, ConfigError> {
        let mut p = Parser { s: text, i: 0 };
        p.ws();
        if p.i == p.s.len() {
            return Ok(Value::Null);
        }
        let v = p.value(0)?;
        p.ws();
        if p.i != p.s.len() {
            return Err(p.err("trailing characters after the JSON value"));
        }
        Ok(v)
    }

    /// True for `null` and the empty string: "not set".
    pub fn is_unset(&self) -> bool {
        match self {
            Value::Null => true,
            Value::String(s) => s.trim().is_empty(),
            _ => false,
        }
    }

    /// A scalar's text: strings as they are, numbers as written, booleans as `true`/`false`.
    pub fn scalar_text(&self) -> Option<&str> {
        match self {
            Value::String(s) | Value::Number(s) => Some(s),
            Value::Bool(true) => Some("true"),
            Value::Bool(false) => Some("false"),
            _ => None,
        }
    }

    /// Looks a key up in a map, ASCII case-insensitively (providers differ in key case).
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }
}

/// The configuration root, for reading named fields.
#[derive(Debug, Clone, Copy)]
pub struct Config<'a> {
    root: &'a Value,
}

impl<'a> Config<'a> {
    /// Wraps a parsed value; `null` behaves as an empty map.
    pub fn new(root: &'a Value) -> Result<Self, ConfigError> {
        match root {
            Value::Null | Value::Map(_) => Ok(Config { root }),
            Value::String(s) if s.trim().is_empty() => Ok(Config { root }),
            _ => Err(ConfigError {
                path: String::new(),
                message: "must be a map".into(),
            }),
        }
    }

    /// The field `key` (absent fields read as unset).
    pub fn field(&self, key: &'a str) -> Field<'a> {
        Field {
            path: key.to_owned(),
            value: self.root.get(key),
        }
    }

    /// Refuses keys other than `known` (compared ASCII case-insensitively).
    pub fn deny_unknown(&self, known: &[&str]) -> Result<(), ConfigError> {
        if let Value::Map(entries) = self.root {
            for (k, _) in entries {
                if !known.iter().any(|n| n.eq_ignore_ascii_case(k)) {
                    return Err(ConfigError {
                        path: k.clone(),
                        message: format!("unknown key (expected one of: {})", known.join(", ")),
                    });
                }
            }
        }
        Ok(())
    }
}

/// One configuration value and its path, read leniently.
#[derive(Debug, Clone)]
pub struct Field<'a> {
    path: String,
    value: Option<&'a Value>,
}

impl<'a> Field<'a> {
    /// The error for this field.
    pub fn error(&self, message: impl Into<String>) -> ConfigError {
        ConfigError {
            path: self.path.clone(),
            message: message.into(),
        }
    }

    /// The raw value, `None` when unset (absent, `null`, empty string).
    pub fn value(&self) -> Option<&'a Value> {
        self.value.filter(|v| !v.is_unset())
    }

    /// A scalar as text, trimmed; `None` when unset.
    pub fn str(&self) -> Result<Option<&'a str>, ConfigError> {
        match self.value() {
            None => Ok(None),
            Some(v) => v
                .scalar_text()
                .map(|s| Some(s.trim()))
                .ok_or_else(|| self.error("must be a string")),
        }
    }

    /// A non-negative integer (`600` or `"600"`), or `default` when unset.
    pub fn u64(&self, default: u64) -> Result<u64, ConfigError> {
        match self.str() {
            Ok(None) => Ok(default),
            Ok(Some(s)) => s
                .parse::<u64>()
                .map_err(|_| self.error(format!("must be a non-negative integer, got {s:?}"))),
            Err(_) => Err(self.error("must be a non-negative integer")),
        }
    }

    /// A boolean (`true` or `"true"`, also yes/no/on/off/1/0), or `default` when unset.
    pub fn bool(&self, default: bool) -> Result<bool, ConfigError> {
        let s = match self.str() {
            Ok(None) => return Ok(default),
            Ok(Some(s)) => s,
            Err(_) => return Err(self.error("must be a boolean")),
        };
        match s.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" => Ok(true),
            "false" | "no" | "off" | "0" => Ok(false),
            _ => Err(self.error(format!("must be a boolean, got {s:?}"))),
        }
    }

    /// A list of scalars as trimmed, non-empty strings. Accepts a JSON array, a
    /// comma-separated string, or a map with keys `"0"`, `"1"`, … (in index order).
    /// Unset reads as the empty list.
    pub fn strings(&self) -> Result<Vec<String>, ConfigError> {
        let items: Vec<(String, &Value)> = match self.value() {
            None => return Ok(Vec::new()),
            Some(Value::List(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("{}[{i}]", self.path), v))
                .collect(),
            Some(Value::Map(entries)) => {
                let mut indexed = Vec::with_capacity(entries.len());
                for (k, v) in entries {
                    let i: usize = k
                        .parse()
                        .map_err(|_| self.error("must be a list (got a map)"))?;
                    indexed.push((i, format!("{}[{i}]", self.path), v));
                }
                indexed.sort_by_key(|(i, _, _)| *i);
                indexed.into_iter().map(|(_, p, v)| (p, v)).collect()
            }
            Some(v) => {
                let text = v.scalar_text().unwrap_or("");
                return Ok(text
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect());
            }
        };
        let mut out = Vec::with_capacity(items.len());
        for (path, v) in items {
            if v.is_unset() {
                continue;
            }
            let s = v.scalar_text().ok_or(ConfigError {
                path,
                message: "must be a string".into(),
            })?;
            out.push(s.trim().to_owned());
        }
        Ok(out)
    }

    /// A map of scalars (`{"856": "integration-workers"}`), keys and values as trimmed text,
    /// in document order. Entries whose value is unset are skipped. Unset reads as empty.
    pub fn string_map(&self) -> Result<Vec<(String, String)>, ConfigError> {
        match self.value() {
            None => Ok(Vec::new()),
            Some(Value::Map(entries)) => {
                let mut out = Vec::with_capacity(entries.len());
                for (k, v) in entries {
                    if v.is_unset() {
                        continue;
                    }
                    let s = v.scalar_text().ok_or_else(|| ConfigError {
                        path: format!("{}.{k}", self.path),
                        message: "must be a string".into(),
                    })?;
                    out.push((k.trim().to_owned(), s.trim().to_owned()));
                }
                Ok(out)
            }
            Some(_) => Err(self.error("must be a map")),
        }
    }
}

/// Nesting deeper than this is refused (policy configs are shallow; this bounds recursion).
const MAX_DEPTH: usize = 32;

struct Parser<'s> {
    s: &'s [u8],
    i: usize,
}

impl Parser<'_> {
    fn err(&self, message: &str) -> ConfigError {
        ConfigError {
            path: String::new(),
            message: format!("invalid JSON at byte {}: {message}", self.i),
        }
    }

    fn ws(&mut self) {
        while self
            .s
            .get(self.i)
            .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        {
            self.i += 1;
        }
    }

    fn eat(&mut self, lit: &[u8]) -> bool {
        if self.s[self.i..].starts_with(lit) {
            self.i += lit.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, ConfigError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nested too deeply"));
        }
        self.ws();
        match self.s.get(self.i) {
            Some(b'{') => self.map(depth),
            Some(b'[') => self.list(depth),
            Some(b'"') => self.string().map(Value::String),
            Some(b't') if self.eat(b"true") => Ok(Value::Bool(true)),
            Some(b'f') if self.eat(b"false") => Ok(Value::Bool(false)),
            Some(b'n') if self.eat(b"null") => Ok(Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.err("unexpected character")),
            None => Err(self.err("unexpected end")),
        }
    }

    fn map(&mut self, depth: usize) -> Result<Value, ConfigError> {
        self.i += 1;
        let mut entries = Vec::new();
        self.ws();
        if self.eat(b"}") {
            return Ok(Value::Map(entries));
        }
        loop {
            self.ws();
            if self.s.get(self.i) != Some(&b'"') {
                return Err(self.err("expected a key"));
            }
            let k = self.string()?;
            self.ws();
            if !self.eat(b":") {
                return Err(self.err("expected ':'"));
            }
            let v = self.value(depth + 1)?;
            entries.push((k, v));
            self.ws();
            if self.eat(b",") {
                continue;
            }
            if self.eat(b"}") {
                return Ok(Value::Map(entries));
            }
            return Err(self.err("expected ',' or '}'"));
        }
    }

    fn list(&mut self, depth: usize) -> Result<Value, ConfigError> {
        self.i += 1;
        let mut items = Vec::new();
        self.ws();
        if self.eat(b"]") {
            return Ok(Value::List(items));
        }
        loop {
            items.push(self.value(depth + 1)?);
            self.ws();
            if self.eat(b",") {
                continue;
            }
            if self.eat(b"]") {
                return Ok(Value::List(items));
            }
            return Err(self.err("expected ',' or ']'"));
        }
    }

    fn number(&mut self) -> Result<Value, ConfigError> {
        let start = self.i;
        while self
            .s
            .get(self.i)
            .is_some_and(|b| matches!(b, b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'))
        {
            self.i += 1;
        }
        let text = std::str::from_utf8(&self.s[start..self.i]).unwrap_or("");
        if text.parse::<f64>().is_err() {
            return Err(self.err("malformed number"));
        }
        Ok(Value::Number(text.to_owned()))
    }

    fn string(&mut self) -> Result<String, ConfigError> {
        self.i += 1; // opening quote
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(&b) = self.s.get(self.i) else {
                return Err(self.err("unterminated string"));
            };
            self.i += 1;
            match b {
                b'"' => break,
                b'\\' => self.escape(&mut out)?,
                0x00..=0x1f => return Err(self.err("control character in string")),
                _ => out.push(b),
            }
        }
        String::from_utf8(out).map_err(|_| self.err("string is not UTF-8"))
    }

    fn escape(&mut self, out: &mut Vec<u8>) -> Result<(), ConfigError> {
        let Some(&e) = self.s.get(self.i) else {
            return Err(self.err("unterminated escape"));
        };
        self.i += 1;
        let c = match e {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let hi = self.hex4()?;
                let code = if (0xD800..0xDC00).contains(&hi) && self.eat(b"\\u") {
                    let lo = self.hex4()?;
                    0x10000 + ((hi - 0xD800) << 10) + (lo.wrapping_sub(0xDC00) & 0x3ff)
                } else {
                    hi
                };
                char::from_u32(code).unwrap_or('\u{fffd}')
            }
            _ => return Err(self.err("unknown escape")),
        };
        let mut buf = [0u8; 4];
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        Ok(())
    }

    fn hex4(&mut self) -> Result<u32, ConfigError> {
        let digits = self
            .s
            .get(self.i..self.i + 4)
            .and_then(|d| std::str::from_utf8(d).ok())
            .and_then(|d| u32::from_str_radix(d, 16).ok())
            .ok_or_else(|| self.err("bad \\u escape"))?;
        self.i += 4;
        Ok(digits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Value {
        Value::parse(s.as_bytes()).expect("valid JSON")
    }

    #[test]
    fn parses_json() {
        let v = parse(r#" {"a": [1, -2.5e3, "x\u00e9\n", true, false, null], "b": {}} "#);
        let Value::Map(m) = &v else {
            panic!("map expected")
        };
        assert_eq!(m.len(), 2);
        assert_eq!(
            v.get("A"),
            Some(&Value::List(vec![
                Value::Number("1".into()),
                Value::Number("-2.5e3".into()),
                Value::String("xé\n".into()),
                Value::Bool(true),
                Value::Bool(false),
                Value::Null
            ]))
        );
        assert_eq!(parse("  "), Value::Null);
        assert_eq!(parse(r#""\ud83d\ude00""#), Value::String("😀".into()));
    }

    #[test]
    fn refuses_bad_json() {
        for bad in [
            "{",
            "[1,]",
            "{\"a\" 1}",
            "tru",
            "\"x",
            "1 2",
            "{1: 2}",
            "--1",
            "\"\\q\"",
        ] {
            assert!(Value::parse(bad.as_bytes()).is_err(), "{bad}");
        }
        let deep = "[".repeat(100) + &"]".repeat(100);
        assert!(Value::parse(deep.as_bytes()).is_err());
    }

    #[test]
    fn lenient_scalars() {
        // switchyard (typed) and Traefik (strings) spellings read alike.
        for text in [
            r#"{"n": 856, "b": true}"#,
            r#"{"n": "856", "b": "true"}"#,
            r#"{"N": " 856 ", "B": "Yes"}"#,
        ] {
            let v = parse(text);
            let c = Config::new(&v).expect("map");
            assert_eq!(c.field("n").u64(0), Ok(856), "{text}");
            assert_eq!(c.field("b").bool(false), Ok(true), "{text}");
            assert_eq!(c.field("n").str(), Ok(Some("856")), "{text}");
        }
        let v = parse(r#"{"n": "", "m": null, "x": "ten", "y": [1]}"#);
        let c = Config::new(&v).expect("map");
        assert_eq!(c.field("n").u64(7), Ok(7));
        assert_eq!(c.field("m").bool(true), Ok(true));
        assert_eq!(c.field("absent").str(), Ok(None));
        assert_eq!(
            c.field("x").u64(0).map_err(|e| e.to_string()),
            Err("config.x: must be a non-negative integer, got \"ten\"".to_owned())
        );
        assert!(c.field("y").str().is_err());
        assert!(c.field("x").bool(false).is_err());
    }

    #[test]
    fn lenient_lists() {
        let want = vec!["a".to_owned(), "b c".to_owned()];
        for text in [
            r#"{"l": ["a", " b c "]}"#,
            r#"{"l": "a, b c"}"#,
            r#"{"l": {"1": "b c", "0": "a"}}"#,
            r#"{"l": ["a", null, "b c", ""]}"#,
        ] {
            let v = parse(text);
            let c = Config::new(&v).expect("map");
            assert_eq!(c.field("l").strings(), Ok(want.clone()), "{text}");
        }
        let v = parse(r#"{"l": {"a": "b"}, "m": [[1]], "e": ""}"#);
        let c = Config::new(&v).expect("map");
        assert!(c.field("l").strings().is_err());
        assert_eq!(
            c.field("m").strings().map_err(|e| e.path),
            Err("m[0]".to_owned())
        );
        assert_eq!(c.field("e").strings(), Ok(vec![]));
        assert_eq!(c.field("none").strings(), Ok(vec![]));
    }

    #[test]
    fn maps_and_unknown_keys() {
        let v = parse(r#"{"routes": {"856": "workers", "810": 7, "x": null}, "typo": 1}"#);
        let c = Config::new(&v).expect("map");
        assert_eq!(
            c.field("routes").string_map(),
            Ok(vec![
                ("856".into(), "workers".into()),
                ("810".into(), "7".into())
            ])
        );
        let e = c.deny_unknown(&["routes"]).expect_err("typo refused");
        assert_eq!(e.path, "typo");
        assert!(c.deny_unknown(&["routes", "typo"]).is_ok());
        assert!(Config::new(&Value::List(vec![])).is_err());
        assert!(Config::new(&Value::Null).is_ok());
    }
}
