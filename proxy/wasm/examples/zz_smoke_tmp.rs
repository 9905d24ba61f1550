//! temporary smoke run against the guest policies built in wasm-plugins (deleted after use)
#![allow(clippy::unwrap_used)]
use std::time::Instant;
use switchyard_wasm::*;
struct P;
impl LogSink for P {
    fn enabled(&self, _: LogLevel) -> bool {
        true
    }
    fn log(&self, p: &str, l: LogLevel, m: &str) {
        eprintln!("[{p} {l:?}] {m}")
    }
}
fn main() {
    let host = Host::with_options(HostOptions {
        log: std::sync::Arc::new(P),
        ..Default::default()
    })
    .unwrap();
    for (name, cfg) in [
        ("edge_guard", "{}"),
        ("edi_routing", "{}"),
        ("tenant_maintenance", "{}"),
        ("edge_guard", r#"{"request_id":"always"}"#),
    ] {
        let wasm = std::fs::read(format!(
            "/work/main/wasm-plugins/target/wasm32-wasip1/release/{name}.wasm"
        ))
        .unwrap();
        let t = Instant::now();
        let p = match Policy::load(&host, name, &wasm, cfg.as_bytes(), Limits::default(), None) {
            Ok(p) => p,
            Err(e) => {
                println!("{name}: load error {e}");
                continue;
            }
        };
        println!(
            "{name}: loaded in {:?}, features {}, wants_body {}",
            t.elapsed(),
            p.features(),
            p.wants_body()
        );
        let mut req = Request::new("GET", "/web");
        req.headers = vec![
            ("host".into(), b"acme.erp.test".to_vec()),
            ("x-tenant".into(), b"globex".to_vec()),
            ("x-switchyard-pool".into(), b"admin".to_vec()),
            ("accept".into(), b"*/*".to_vec()),
        ];
        req.source = Some("127.0.0.1:5555".parse().unwrap());
        let mut r = req.clone();
        println!(
            "  decision {:?}\n  headers {:?}",
            p.handle(&mut r),
            r.headers
                .iter()
                .map(|(n, v)| format!("{n}: {}", String::from_utf8_lossy(v)))
                .collect::<Vec<_>>()
        );
        let n = 20000;
        let t = Instant::now();
        for _ in 0..n {
            let mut r = req.clone();
            let _ = p.handle(&mut r);
        }
        println!(
            "  {:?} per call (incl. clone), instances {:?}",
            t.elapsed() / n,
            p.stats()
        );
    }
}
