//! What a module must be before it can run: every import one of the 19 `http_handler`
//! functions or the four WASI stubs (anything else, memories and tables included, is refused
//! by name), the exports the ABI needs with the right types, and the sha256 pin when given.
//! Checked on the compiled module, before anything is instantiated.

use sha2::{Digest, Sha256};
use wasmtime::{ExternType, FuncType, Module, ValType};

use crate::abi;
use crate::error::LoadError;

/// Exports run once per instance, in this order, when present.
pub(crate) const INITIALIZERS: [&str; 2] = ["_initialize", "_start"];

/// The module's sha256, lower-case hex.
pub(crate) fn sha256_hex(wasm: &[u8]) -> String {
    hex::encode(Sha256::digest(wasm))
}

/// Compares against a pin given as 64 hex digits, optionally prefixed `sha256:`.
pub(crate) fn check_pin(actual: &str, pin: Option<&str>) -> Result<(), LoadError> {
    let Some(pin) = pin else { return Ok(()) };
    let want = pin.trim();
    let want = want.strip_prefix("sha256:").unwrap_or(want);
    if want.eq_ignore_ascii_case(actual) {
        return Ok(());
    }
    Err(LoadError::Sha256Mismatch {
        expected: pin.to_string(),
        actual: actual.to_string(),
    })
}

/// Every import must be an allowed function.
pub(crate) fn check_imports(module: &Module) -> Result<(), LoadError> {
    for import in module.imports() {
        let (m, n) = (import.module(), import.name());
        let allowed = match m {
            abi::MODULE => abi::FUNCTIONS.contains(&n),
            abi::wasi::MODULE => abi::wasi::FUNCTIONS.contains(&n),
            _ => false,
        };
        if !allowed || !matches!(import.ty(), ExternType::Func(_)) {
            return Err(LoadError::ForbiddenImport(format!("{m}.{n}")));
        }
    }
    Ok(())
}

/// `memory` (32-bit, unshared), `handle_request: () -> i64`, `handle_response: (i32, i32)`,
/// and the [`INITIALIZERS`] as `()` if present.
pub(crate) fn check_exports(module: &Module) -> Result<(), LoadError> {
    let export = |name: &str| module.exports().find(|e| e.name() == name).map(|e| e.ty());
    match export("memory") {
        Some(ExternType::Memory(m)) if !m.is_64() && !m.is_shared() => {}
        _ => {
            return Err(LoadError::MissingExport(
                "memory (32-bit, not shared)".into(),
            ))
        }
    }
    let func = |name: &str, params: &[ValType], results: &[ValType], sig: &str| match export(name) {
        Some(ExternType::Func(f)) if same(&f, params, results) => Ok(()),
        _ => Err(LoadError::MissingExport(format!("{name}: {sig}"))),
    };
    func("handle_request", &[], &[ValType::I64], "func () -> i64")?;
    func(
        "handle_response",
        &[ValType::I32, ValType::I32],
        &[],
        "func (i32, i32)",
    )?;
    for name in INITIALIZERS {
        if export(name).is_some() {
            func(name, &[], &[], "func ()")?;
        }
    }
    Ok(())
}

/// Whether `f` has exactly these numeric params and results.
fn same(f: &FuncType, params: &[ValType], results: &[ValType]) -> bool {
    let eq = |a: ValType, b: &ValType| {
        matches!(
            (a, b),
            (ValType::I32, ValType::I32) | (ValType::I64, ValType::I64)
        )
    };
    f.params().len() == params.len()
        && f.results().len() == results.len()
        && f.params().zip(params).all(|(a, b)| eq(a, b))
        && f.results().zip(results).all(|(a, b)| eq(a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_accepts_prefix_and_case() {
        let actual = sha256_hex(b"abc");
        assert!(check_pin(&actual, None).is_ok());
        assert!(check_pin(&actual, Some(&actual.to_uppercase())).is_ok());
        assert!(check_pin(&actual, Some(&format!("sha256:{actual}"))).is_ok());
        assert!(matches!(
            check_pin(&actual, Some("00")),
            Err(LoadError::Sha256Mismatch { .. })
        ));
    }
}
