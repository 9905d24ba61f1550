//! Shared fixtures: the WAT prelude importing the whole `http_handler` ABI, builders for guest
//! modules and policies, and a log sink that records what guests log.

use std::sync::{Arc, Mutex};

use switchyard_wasm::{Host, HostOptions, Limits, LogLevel, LogSink, Policy, Request};

/// Every ABI import under a `$name`, and one page of exported memory.
pub const PRELUDE: &str = r#"
  (import "http_handler" "enable_features" (func $enable_features (param i32) (result i32)))
  (import "http_handler" "get_config" (func $get_config (param i32 i32) (result i32)))
  (import "http_handler" "log" (func $log (param i32 i32 i32)))
  (import "http_handler" "log_enabled" (func $log_enabled (param i32) (result i32)))
  (import "http_handler" "get_method" (func $get_method (param i32 i32) (result i32)))
  (import "http_handler" "set_method" (func $set_method (param i32 i32)))
  (import "http_handler" "get_uri" (func $get_uri (param i32 i32) (result i32)))
  (import "http_handler" "set_uri" (func $set_uri (param i32 i32)))
  (import "http_handler" "get_protocol_version" (func $get_protocol_version (param i32 i32) (result i32)))
  (import "http_handler" "get_source_addr" (func $get_source_addr (param i32 i32) (result i32)))
  (import "http_handler" "get_header_names" (func $get_header_names (param i32 i32 i32) (result i64)))
  (import "http_handler" "get_header_values" (func $get_header_values (param i32 i32 i32 i32 i32) (result i64)))
  (import "http_handler" "set_header_value" (func $set_header_value (param i32 i32 i32 i32 i32)))
  (import "http_handler" "add_header_value" (func $add_header_value (param i32 i32 i32 i32 i32)))
  (import "http_handler" "remove_header" (func $remove_header (param i32 i32 i32)))
  (import "http_handler" "read_body" (func $read_body (param i32 i32 i32) (result i64)))
  (import "http_handler" "write_body" (func $write_body (param i32 i32 i32)))
  (import "http_handler" "get_status_code" (func $get_status_code (result i32)))
  (import "http_handler" "set_status_code" (func $set_status_code (param i32)))
  (memory (export "memory") 1)
"#;

/// A module of the prelude plus `body`; adds a no-op `handle_response` unless `body` has one.
pub fn wasm(body: &str) -> Vec<u8> {
    let resp = if body.contains("\"handle_response\"") {
        ""
    } else {
        r#"(func (export "handle_response") (param i32 i32))"#
    };
    wat::parse_str(format!("(module {PRELUDE} {body} {resp})")).expect("fixture WAT parses")
}

/// A module from complete WAT text.
pub fn raw(text: &str) -> Vec<u8> {
    wat::parse_str(text).expect("fixture WAT parses")
}

pub fn host() -> Host {
    Host::new().expect("host starts")
}

/// Loads `body` (see [`wasm`]) with default limits and config `{}`.
pub fn policy(body: &str) -> Policy {
    policy_with(&host(), body, b"{}", Limits::default())
}

pub fn policy_with(host: &Host, body: &str, config: &[u8], limits: Limits) -> Policy {
    Policy::load(host, "test", &wasm(body), config, limits, None).expect("fixture loads")
}

/// `GET uri` with the given headers.
pub fn request(uri: &str, headers: &[(&str, &str)]) -> Request {
    let mut req = Request::new("GET", uri);
    req.headers = headers
        .iter()
        .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
        .collect();
    req
}

/// Records every line; every level enabled.
#[derive(Default)]
pub struct Recorder(pub Mutex<Vec<(String, LogLevel, String)>>);

impl LogSink for Recorder {
    fn enabled(&self, _level: LogLevel) -> bool {
        true
    }

    fn log(&self, policy: &str, level: LogLevel, message: &str) {
        self.0
            .lock()
            .unwrap()
            .push((policy.to_string(), level, message.to_string()));
    }
}

/// A host whose guests log into the returned recorder.
pub fn recording_host() -> (Host, Arc<Recorder>) {
    let rec = Arc::new(Recorder::default());
    let host = Host::with_options(HostOptions {
        log: rec.clone(),
        ..HostOptions::default()
    })
    .expect("host starts");
    (host, rec)
}
