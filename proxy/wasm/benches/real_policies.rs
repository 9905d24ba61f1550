//! The real policies of `wasm-plugins/` (Rust, built with the SDK for wasm32-wasip1) on the
//! request path: one `Policy::handle` per iteration on a browser-like request (12 headers,
//! `Host: acme.erp.test`), the request cloned in the untimed setup of `iter_batched`.
//!
//! - `edge_guard`: header hygiene with its default config (reads every name, keeps a
//!   well-formed `X-Request-Id`), header-only;
//! - `tenant_maintenance/pass`: `acme` not under maintenance → continue, header-only;
//! - `tenant_maintenance/answer`: `acme` under maintenance → the 503 HTML page;
//! - `edi_routing/x12_856_4k`: `buffer_request`, a 4 KiB X12 856 body read, routed by its
//!   transaction set (`X-Switchyard-Pool: integration-workers`) and written back whole.
//!
//! Needs `make plugins` (the modules in `wasm-plugins/dist/`); without them it prints that and
//! measures nothing. Run: `cargo bench -p switchyard-wasm --bench real_policies`.

use std::hint::black_box;
use std::net::SocketAddr;
use std::path::PathBuf;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use switchyard_wasm::{Decision, Host, Limits, Policy, Request};

/// Size of the EDI body.
const BODY: usize = 4096;

fn dist() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../wasm-plugins/dist")
}

/// A browser-like request to an Odoo tenant: 12 header fields.
fn request(method: &str, uri: &str) -> Request {
    let mut req = Request::new(method, uri);
    req.source = Some(SocketAddr::from(([192, 0, 2, 10], 51_234)));
    let fields = [
        ("host", "acme.erp.test"),
        (
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        ),
        ("accept", "application/json, text/plain, */*"),
        ("accept-encoding", "gzip, deflate, br"),
        ("accept-language", "en-US,en;q=0.7,de;q=0.3"),
        (
            "cookie",
            "session_id=3f9d2c41a8b7e6f5d4c3b2a1908f7e6d5c4b3a29; frontend_lang=en_US",
        ),
        ("x-request-id", "7c1e0b5f9a2d4e8c8b3f6a1d2e4c5b7a"),
        ("x-forwarded-for", "198.51.100.23"),
        ("x-forwarded-proto", "https"),
        ("cache-control", "no-cache"),
        ("content-type", "application/json"),
        ("referer", "https://acme.erp.test/odoo/sales"),
    ];
    req.headers = fields
        .iter()
        .map(|(n, v)| ((*n).to_owned(), v.as_bytes().to_vec()))
        .collect();
    req
}

/// An X12 856 (advance ship notice) interchange of exactly [`BODY`] bytes.
fn x12_856() -> Bytes {
    let head = "ISA*00*          *00*          *ZZ*ACMESUPPLY     *ZZ*ACMEERP        *261122*1200*U*00401*000000101*0*P*>~\
                GS*SH*ACMESUPPLY*ACMEERP*20261122*1200*101*X*004010~\
                ST*856*0001~BSN*00*SHP0000101*20261122*1200~HL*1**S~TD1*CTN25*12~\
                TD5*B*2*UPSN*M~REF*BM*1Z999AA10123456784~DTM*011*20261122~\
                N1*ST*ACME DISTRIBUTION CENTER*92*0042~N3*100 INDUSTRIAL PKWY~N4*SPRINGFIELD*IL*62701*US~HL*2*1*O~PRF*PO4500012345~";
    let tail = "CTT*40~SE*180*0001~GE*1*101~IEA*1*000000101~";
    let mut body = String::from(head);
    let mut item = 0;
    loop {
        item += 1;
        let seg = format!(
            "HL*{}*2*I~LIN**SK*ITEM-{item:06}*UP*0123456{item:05}~SN1**24*EA~",
            item + 2
        );
        // Leave room for the tail and a REF segment of at least 8 bytes that pads to BODY.
        if body.len() + seg.len() + tail.len() + 8 > BODY {
            break;
        }
        body.push_str(&seg);
    }
    let fill = BODY - body.len() - tail.len() - "REF*ZZ*~".len();
    body.push_str(&format!("REF*ZZ*{}~", "X".repeat(fill)));
    body.push_str(tail);
    assert_eq!(body.len(), BODY);
    Bytes::from(body)
}

fn load(host: &Host, file: &str, config: &str) -> Option<Policy> {
    let path = dist().join(file);
    let wasm = match std::fs::read(&path) {
        Ok(w) => w,
        Err(e) => {
            eprintln!(
                "real_policies: cannot read {} ({e}): run `make plugins` first; skipping",
                path.display()
            );
            return None;
        }
    };
    let policy = Policy::load(
        host,
        file,
        &wasm,
        config.as_bytes(),
        Limits::default(),
        None,
    )
    .unwrap_or_else(|e| panic!("{file}: {e}"));
    Some(policy)
}

/// Times `policy.handle` on a fresh clone of `template`, after checking the decision once.
fn bench_one(
    c: &mut Criterion,
    name: &str,
    policy: &Policy,
    template: &Request,
    check: impl Fn(&Decision, &Request),
) {
    let mut probe = template.clone();
    let d = policy
        .handle(&mut probe)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    check(&d, &probe);
    c.bench_function(name, |b| {
        b.iter_batched(
            || template.clone(),
            |mut req| {
                let d = policy.handle(black_box(&mut req));
                // Returned, so the request is dropped outside the timed routine.
                (black_box(d), req)
            },
            BatchSize::SmallInput,
        )
    });
}

fn bench(c: &mut Criterion) {
    let host = Host::new().expect("host");
    let (Some(edge), Some(maint_pass), Some(maint_answer), Some(edi)) = (
        load(&host, "edge_guard.wasm", "{}"),
        load(
            &host,
            "tenant_maintenance.wasm",
            r#"{"tenants": ["globex"], "allow_from": ["10.0.0.0/8"], "allow_paths": ["/web/health"]}"#,
        ),
        load(
            &host,
            "tenant_maintenance.wasm",
            r#"{"tenants": ["acme"], "allow_from": ["10.0.0.0/8"], "retry_after": 600}"#,
        ),
        load(
            &host,
            "edi_routing.wasm",
            r#"{"routes": {"856": "integration-workers"}}"#,
        ),
    ) else {
        return;
    };
    assert!(
        edi.wants_body(),
        "edi-routing enables buffer_request at start"
    );
    assert!(!edge.wants_body() && !maint_pass.wants_body());

    let web = request("POST", "/web/dataset/call_kw/sale.order/read?debug=");
    bench_one(c, "real/edge_guard", &edge, &web, |d, r| {
        assert_eq!(*d, Decision::Continue);
        assert_eq!(
            r.header("x-request-id"),
            Some(&b"7c1e0b5f9a2d4e8c8b3f6a1d2e4c5b7a"[..])
        );
    });
    bench_one(
        c,
        "real/tenant_maintenance/pass",
        &maint_pass,
        &web,
        |d, _| {
            assert_eq!(*d, Decision::Continue);
        },
    );
    bench_one(
        c,
        "real/tenant_maintenance/answer",
        &maint_answer,
        &web,
        |d, _| assert!(matches!(d, Decision::Respond { status: 503, .. }), "{d:?}"),
    );

    let body = x12_856();
    let mut edi_req = request("POST", "/edi/inbound");
    for (n, v) in &mut edi_req.headers {
        if n == "content-type" {
            *v = b"application/edi-x12".to_vec();
        }
    }
    edi_req.body = Some(body.clone());
    bench_one(c, "real/edi_routing/x12_856_4k", &edi, &edi_req, |d, r| {
        assert_eq!(*d, Decision::Continue);
        assert_eq!(
            r.header("x-switchyard-pool"),
            Some(&b"integration-workers"[..])
        );
        assert_eq!(
            r.body.as_ref(),
            Some(&body),
            "the body is written back whole"
        );
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
