//! One policy call on the request path: a header-only WAT guest that reads `x-tenant` and sets
//! `x-switchyard-pool`, on a request with a dozen headers. Measures the host's fixed cost
//! (pool take/give, request swap, epoch deadline, two ABI calls); real Rust policies are
//! benched separately. Run: `cargo bench -p switchyard-wasm --bench policy`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use switchyard_wasm::{Decision, Host, Limits, Policy, Request};

const GUEST: &str = r#"(module
  (import "http_handler" "get_header_values" (func $get (param i32 i32 i32 i32 i32) (result i64)))
  (import "http_handler" "set_header_value" (func $set (param i32 i32 i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "x-tenant") (data (i32.const 16) "x-switchyard-pool") (data (i32.const 48) "blue")
  (func (export "handle_request") (result i64)
    (if (i64.eqz (call $get (i32.const 0) (i32.const 0) (i32.const 8) (i32.const 1024) (i32.const 256)))
      (then (return (i64.const 1))))
    (call $set (i32.const 0) (i32.const 16) (i32.const 17) (i32.const 48) (i32.const 4))
    (i64.const 1))
  (func (export "handle_response") (param i32 i32)))"#;

fn request() -> Request {
    let mut req = Request::new("GET", "/api/v1/orders?page=2");
    let fields = [
        ("host", "api.example.test"),
        ("user-agent", "bench/1.0"),
        ("accept", "application/json"),
        ("accept-encoding", "gzip, br"),
        ("accept-language", "en"),
        ("authorization", "Bearer abcdefghijklmnopqrstuvwxyz"),
        ("x-request-id", "0123456789abcdef"),
        ("x-forwarded-for", "192.0.2.1"),
        ("cookie", "session=abc"),
        ("cache-control", "no-cache"),
        ("x-tenant", "acme"),
        ("content-type", "application/json"),
    ];
    req.headers = fields
        .iter()
        .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
        .collect();
    req
}

fn bench(c: &mut Criterion) {
    let host = Host::new().expect("host");
    let wasm = wat::parse_str(GUEST).expect("wat");
    let policy = Policy::load(&host, "bench", &wasm, b"{}", Limits::default(), None).expect("load");
    let template = request();
    c.bench_function("policy/header_only_call", |b| {
        b.iter_batched_ref(
            || template.clone(),
            |req| {
                let d = policy.handle(black_box(req));
                debug_assert_eq!(d, Ok(Decision::Continue));
                black_box(d)
            },
            BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
