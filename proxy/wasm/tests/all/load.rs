//! Loading and vetting: what is refused, with which error, before any request runs.

use std::time::{Duration, Instant};

use switchyard_wasm::{Limits, LoadError, Policy};

use crate::common::{host, raw, wasm};

const OK: &str = r#"(func (export "handle_request") (result i64) (i64.const 1))"#;

fn load(bytes: &[u8]) -> Result<Policy, LoadError> {
    Policy::load(&host(), "t", bytes, b"{}", Limits::default(), None)
}

#[test]
fn garbage_and_text_are_invalid() {
    assert!(matches!(load(b"\0asm garbage"), Err(LoadError::Invalid(_))));
    assert!(matches!(
        load(b"not wasm at all"),
        Err(LoadError::Invalid(_))
    ));
    assert!(
        matches!(load(b"(module)"), Err(LoadError::Invalid(_))),
        "WAT text is not accepted"
    );
    assert!(load(&wasm(OK)).is_ok());
}

#[test]
fn imports_outside_the_abi_are_refused_by_name() {
    let cases = [
        (
            r#"(import "wasi_snapshot_preview1" "path_open" (func (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))"#,
            "wasi_snapshot_preview1.path_open",
        ),
        (
            r#"(import "wasi_snapshot_preview1" "random_get" (func (param i32 i32) (result i32)))"#,
            "wasi_snapshot_preview1.random_get",
        ),
        (r#"(import "env" "abort" (func))"#, "env.abort"),
        (
            r#"(import "http_handler" "get_body" (func))"#,
            "http_handler.get_body",
        ),
        (
            r#"(import "http_handler" "log" (global i32))"#,
            "http_handler.log",
        ),
        (r#"(import "env" "table" (table 1 funcref))"#, "env.table"),
    ];
    for (import, name) in cases {
        let text = format!(
            r#"(module {import} (memory (export "memory") 1) {OK} (func (export "handle_response") (param i32 i32)))"#
        );
        assert_eq!(
            load(&raw(&text)).err(),
            Some(LoadError::ForbiddenImport(name.into())),
            "{name}"
        );
    }
    let imported_memory = r#"(module (import "http_handler" "memory" (memory 1)) (export "memory" (memory 0))
        (func (export "handle_request") (result i64) (i64.const 1)) (func (export "handle_response") (param i32 i32)))"#;
    assert_eq!(
        load(&raw(imported_memory)).err(),
        Some(LoadError::ForbiddenImport("http_handler.memory".into()))
    );
}

#[test]
fn a_mistyped_abi_import_is_invalid() {
    let text = format!(
        r#"(module (import "http_handler" "get_method" (func (param i32) (result i32)))
        (memory (export "memory") 1) {OK} (func (export "handle_response") (param i32 i32)))"#
    );
    let err = load(&raw(&text)).unwrap_err();
    assert!(
        matches!(&err, LoadError::Invalid(m) if m.contains("get_method")),
        "{err}"
    );
}

#[test]
fn required_exports_are_checked_with_their_types() {
    let resp = r#"(func (export "handle_response") (param i32 i32))"#;
    let cases = [
        (format!("(module {OK} {resp})"), "memory"),
        (
            format!(r#"(module (memory (export "memory") 1) {resp})"#),
            "handle_request",
        ),
        (
            format!(
                r#"(module (memory (export "memory") 1) (func (export "handle_request") (result i32) (i32.const 1)) {resp})"#
            ),
            "handle_request",
        ),
        (
            format!(r#"(module (memory (export "memory") 1) {OK})"#),
            "handle_response",
        ),
        (
            format!(
                r#"(module (memory (export "memory") 1) {OK} {resp} (func (export "_start") (param i32)))"#
            ),
            "_start",
        ),
        (
            format!(
                r#"(module (memory (export "memory") 1) {OK} {resp} (global (export "_start") i32 (i32.const 0)))"#
            ),
            "_start",
        ),
    ];
    for (text, name) in cases {
        match load(&raw(&text)) {
            Err(LoadError::MissingExport(m)) => assert!(m.starts_with(name), "{name}: {m}"),
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn the_sha256_pin_is_enforced() {
    let bytes = wasm(OK);
    let digest = Policy::load(&host(), "t", &bytes, b"", Limits::default(), None)
        .unwrap()
        .sha256()
        .to_string();
    assert_eq!(digest.len(), 64);
    assert!(Policy::load(&host(), "t", &bytes, b"", Limits::default(), Some(&digest)).is_ok());
    let wrong = "0".repeat(64);
    match Policy::load(&host(), "t", &bytes, b"", Limits::default(), Some(&wrong)) {
        Err(LoadError::Sha256Mismatch { expected, actual }) => {
            assert_eq!((expected, actual), (wrong, digest))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_failing_start_refuses_the_module_in_bounded_time() {
    let trap = wasm(&format!(r#"{OK} (func (export "_start") unreachable)"#));
    assert!(matches!(load(&trap), Err(LoadError::StartTrapped(_))));
    let spin = wasm(&format!(
        r#"{OK} (func (export "_start") (loop $l (br $l)))"#
    ));
    let start = Instant::now();
    let err = load(&spin).unwrap_err();
    assert!(
        matches!(&err, LoadError::StartTrapped(m) if m.contains("time")),
        "{err}"
    );
    assert!(start.elapsed() < Duration::from_secs(2));
}

#[test]
fn limits_and_config_are_checked() {
    let big_memory = raw(&format!(
        r#"(module (memory (export "memory") 512) {OK} (func (export "handle_response") (param i32 i32)))"#
    ));
    assert!(
        matches!(load(&big_memory), Err(LoadError::Instantiate(_))),
        "32 MiB initial memory > 16 MiB limit"
    );
    let zero = Limits {
        time: Duration::ZERO,
        ..Limits::default()
    };
    assert!(matches!(
        Policy::load(&host(), "t", &wasm(OK), b"", zero, None),
        Err(LoadError::Invalid(_))
    ));
    let config = vec![b' '; 2 * 1024 * 1024];
    assert!(matches!(
        Policy::load(&host(), "t", &wasm(OK), &config, Limits::default(), None),
        Err(LoadError::Invalid(_))
    ));
}
