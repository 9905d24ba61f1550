//! `switchyard demo`: the main job on an embedded default. Starts three in-process upstreams
//! (stable, canary, integration) that answer with what they received, writes the embedded
//! example config (config/demo.yaml) into a temp dir with their addresses, runs the proxy on
//! it, and prints curl lines that work as pasted.

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::ExitCode;

/// The embedded demo config; `${…}` placeholders are filled at start.
pub const DEMO_YAML: &str = include_str!("../../../config/demo.yaml");

async fn echo(
    name: &'static str,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let pick = |h: &str| {
        req.headers()
            .get(h)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let body = serde_json::json!({
        "upstream": name,
        "method": req.method().as_str(),
        "path": req.uri().to_string(),
        "host": pick("host"),
        "x-forwarded-for": pick("x-forwarded-for"),
        "x-forwarded-host": pick("x-forwarded-host"),
        "x-forwarded-proto": pick("x-forwarded-proto"),
        "x-request-id": pick("x-request-id"),
        "traceparent": pick("traceparent"),
        "x-switchyard-tenant": pick("x-switchyard-tenant"),
        "x-odoo-dbfilter": pick("x-odoo-dbfilter"),
    });
    let mut resp = Response::new(Full::new(Bytes::from(format!("{body:#}\n"))));
    resp.headers_mut().insert(
        "content-type",
        http::HeaderValue::from_static("application/json"),
    );
    Ok(resp)
}

/// Starts a demo upstream on 127.0.0.1:0 in the current runtime; returns its address.
pub async fn upstream(name: &'static str) -> std::io::Result<SocketAddr> {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = l.local_addr()?;
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            tokio::spawn(async move {
                let svc = service_fn(move |r| echo(name, r));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(s), svc)
                    .await;
            });
        }
    });
    Ok(addr)
}

/// Runs the demo until SIGTERM/Ctrl-C.
pub fn run(listen: &str, admin: &str) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("demo: {e}");
            return ExitCode::FAILURE;
        }
    };
    let ups = rt.block_on(async {
        Ok::<_, std::io::Error>((
            upstream("odoo-stable").await?,
            upstream("odoo-canary").await?,
            upstream("integration-workers").await?,
        ))
    });
    let Ok((stable, canary, integration)) = ups else {
        eprintln!("demo: cannot start the demo upstreams");
        return ExitCode::FAILURE;
    };
    let dir = std::env::temp_dir().join(format!("switchyard-demo-{}", std::process::id()));
    let token = format!("demo-{:016x}", fastrand::u64(..));
    let yaml = DEMO_YAML
        .replace("${LISTEN}", listen)
        .replace("${ADMIN}", admin)
        .replace("${STABLE}", &stable.to_string())
        .replace("${CANARY}", &canary.to_string())
        .replace("${INTEGRATION}", &integration.to_string())
        .replace("${DATA_DIR}", &dir.join("data").display().to_string())
        .replace(
            "${TOKEN_FILE}",
            &dir.join("admin-token").display().to_string(),
        );
    let config = dir.join("switchyard.yaml");
    let written = std::fs::create_dir_all(&dir)
        .and_then(|_| std::fs::write(dir.join("admin-token"), &token))
        .and_then(|_| std::fs::write(&config, yaml));
    if let Err(e) = written {
        eprintln!("demo: cannot write {}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    let running = match crate::proxy::start(crate::proxy::Options {
        config_path: config.clone(),
        watch: true,
        signals: true,
    }) {
        Ok(r) => r,
        Err(errs) => {
            for e in errs {
                eprintln!("demo: {e}");
            }
            eprintln!("demo: (is something else on {listen} or {admin}? try: switchyard demo --listen 127.0.0.1:18080 --admin 127.0.0.1:19901)");
            return ExitCode::FAILURE;
        }
    };
    let (d, a) = (running.data.plain, running.admin);
    println!(
        r#"
switchyard demo is up — data plane http://{d}, admin http://{a}
config (edit it; changes apply live): {cfg}
admin token: {token}

Try:
  curl -s -H 'Host: acme.erp.localhost' http://{d}/web/login              # tenant acme → odoo-stable (excluded from canary)
  curl -si -H 'Host: globex.erp.localhost' http://{d}/web                 # pilot tenant → odoo-canary (X-Switchyard-Variant)
  curl -si -H 'Host: initech.erp.localhost' -H 'X-Canary: always' http://{d}/web   # tester override → canary
  curl -s -H 'Host: globex.erp.localhost' http://{d}/web//./login         # one canonical path: /web/login
  curl -s -H 'Host: zeta.erp.localhost' http://{d}/web                    # unknown tenant → 404 problem+json
  curl -s -H 'Host: acme.erp.localhost' 'http://{d}/web?db=globex'        # another tenant's database → 403
  curl -s -H 'Host: acme.erp.localhost' http://{d}/web/%64atabase/manager  # database manager, any spelling → 403
  for i in 1 2 3 4 5; do curl -s -o /dev/null -w '%{{http_code}} ' -H 'Host: initech.erp.localhost' http://{d}/web; done   # 2/s burst 3 → 429s
  curl -s -H 'Host: acme.erp.localhost' -H 'X-Forwarded-For: 6.6.6.6' -H 'X-Odoo-Dbfilter: .*' http://{d}/  # spoofed headers stripped
  curl -s http://{d}/hooks/dhl/shipment -H 'Host: hooks.localhost' -d '{{}}'   # → integration-workers
  curl -s -H 'Host: acme.preview.localhost' http://{d}/web                # → odoo-canary
  curl -s -H 'Authorization: Bearer {token}' http://{a}/api/v1/status
  curl -s -X POST -H 'Authorization: Bearer {token}' http://{a}/api/v1/reload
  export SWITCHYARD_ADMIN_URL=http://{a} SWITCHYARD_TOKEN={token}
  switchyard ctl status                                                    # routes, weights, pools
  switchyard ctl canary set odoo 50 --reason "widen the pilot"             # live, audited
  switchyard ctl canary ramp odoo start --reason "release 17.0.5"          # 10 → 25 → 50 → 100 every minute
  switchyard ctl canary rollback odoo --reason "bad build"                 # weight 0 at once
  curl -s http://{a}/metrics | grep switchyard_requests_total

Stop with Ctrl-C (drains in-flight requests first).
"#,
        cfg = config.display()
    );
    running.wait();
    drop(rt);
    let _ = std::fs::remove_dir_all(&dir);
    ExitCode::SUCCESS
}
