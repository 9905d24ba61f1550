//! Micro-benchmarks of the per-request decisions in switchyard-core (criterion): strict head
//! validation, path canonicalisation, header hygiene, route selection and tenant lookup.
//! Run: `cargo bench -p switchyard-benches`. Ratios, not absolute times, are what to compare.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use switchyard_core::config::{self, Env};
use switchyard_core::{http1, hygiene, path, routing};

struct NoEnv;
impl Env for NoEnv {
    fn var(&self, _: &str) -> Option<String> {
        None
    }
    fn read_file(&self, p: &std::path::Path) -> std::io::Result<String> {
        Err(std::io::Error::other(p.display().to_string()))
    }
}

const HEAD: &[u8] = b"GET /web/dataset/call_kw/res.partner/read HTTP/1.1\r\nHost: acme.erp.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/120.0\r\nAccept: application/json\r\nAccept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br\r\nCookie: session_id=0123456789abcdef0123456789abcdef01234567; frontend_lang=en_US\r\nConnection: keep-alive\r\nX-Forwarded-For: 203.0.113.7\r\n\r\n";

fn bench(c: &mut Criterion) {
    let limits = http1::HeadLimits {
        max_head: 65536,
        max_uri: 8192,
        max_fields: 100,
    };
    c.bench_function("http1::validate (9 fields)", |b| {
        b.iter(|| http1::validate(black_box(HEAD), &limits))
    });
    c.bench_function("http1::find_head_end", |b| {
        b.iter(|| http1::find_head_end(black_box(HEAD)))
    });
    c.bench_function("path::canonicalize (already canonical)", |b| {
        b.iter(|| path::canonicalize(black_box("/web/dataset/call_kw/res.partner/read")))
    });
    c.bench_function("path::canonicalize (dots, escapes)", |b| {
        b.iter(|| path::canonicalize(black_box("/web//./dataset/%63all_kw/../call_kw")))
    });
    let names = [
        "host",
        "user-agent",
        "accept",
        "cookie",
        "connection",
        "x-forwarded-for",
        "x-odoo-dbfilter",
    ];
    c.bench_function("hygiene::classify x7", |b| {
        b.iter(|| {
            names
                .iter()
                .map(|n| hygiene::classify(black_box(n), false) as u8)
                .sum::<u8>()
        })
    });
    let cfg = config::load(
        r#"
server: { listen: 127.0.0.1:0 }
pools: { a: { endpoints: ["http://127.0.0.1:1"] }, b: { endpoints: ["http://127.0.0.1:2"] } }
tenants: { identify: [{ host: "{tenant}.erp.example.com" }], list: { acme: {}, globex: {}, initech: {}, umbrella: {} } }
routes:
  - { name: hooks, match: { path_prefix: /hooks/ }, upstream: { stable: b } }
  - { name: status, match: { host: status.example.com }, upstream: { stable: b } }
  - { name: odoo, match: { host: "*.erp.example.com" }, upstream: { stable: a } }
"#,
        &NoEnv,
    )
    .expect("bench config");
    c.bench_function("routing::select (3 routes)", |b| {
        b.iter(|| {
            routing::select(
                &cfg.routes,
                black_box("acme.erp.example.com"),
                black_box("/web"),
                "GET",
            )
        })
    });
    c.bench_function("tenants::by_host", |b| {
        b.iter(|| {
            cfg.tenants
                .by_host(black_box("umbrella.erp.example.com"), false)
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
