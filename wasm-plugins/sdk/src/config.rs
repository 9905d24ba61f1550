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
        let mut p = json::Parser { s: text, i: 0 };
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

mod json;
#[cfg(test)]
mod tests;
