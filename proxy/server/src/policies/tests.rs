//! A policy's declared tests (`policies.<name>.tests`): each request goes through the module
//! as the proxy would send it, and the decision must match — the status when the policy
//! answers itself, else the pool and variant it picks (`X-Switchyard-Pool`,
//! `X-Switchyard-Variant`) and the request headers it must have set. A module that fails any
//! test never goes live.

use switchyard_core::config::policies::PolicyTest;
use switchyard_core::config::PolicyConfig;
use switchyard_wasm::{Decision, Policy, Request};

/// The wasm request of a test.
fn request(t: &PolicyTest) -> Request {
    let mut r = Request::new(
        t.request.method.to_ascii_uppercase(),
        t.request.path.clone(),
    );
    r.headers = t
        .request
        .headers
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.as_bytes().to_vec()))
        .collect();
    if !r.headers.iter().any(|(n, _)| n == "host") {
        r.headers
            .insert(0, ("host".into(), b"test.switchyard.invalid".to_vec()));
    }
    r.body = Some(bytes::Bytes::from(t.request.body.clone()));
    r.source = Some(std::net::SocketAddr::from(([127, 0, 0, 1], 40000)));
    r
}

fn header<'a>(r: &'a Request, name: &str) -> Option<&'a str> {
    r.header(name).and_then(|v| std::str::from_utf8(v).ok())
}

/// Checks one test; the message says what differed.
fn check(policy: &Policy, t: &PolicyTest, pools: &[String]) -> Result<(), String> {
    let mut req = request(t);
    let decision = policy
        .handle(&mut req)
        .map_err(|e| format!("the call failed: {e}"))?;
    let e = &t.expect;
    match (decision, e.status) {
        (Decision::Respond { status, .. }, Some(want)) if status == want => return Ok(()),
        (Decision::Respond { status, .. }, want) => {
            return Err(format!(
                "the policy answered {status}; expected {}",
                want.map_or("no answer".into(), |w| w.to_string())
            ))
        }
        (Decision::Continue, Some(want)) => {
            return Err(format!(
                "expected an answer {want}; the policy let the request through"
            ))
        }
        (Decision::Continue, None) => {}
    }
    if let Some(pool) = &e.pool {
        let got = header(&req, "x-switchyard-pool");
        let want = (pool != "none").then_some(pool.as_str());
        if want.is_some_and(|p| !pools.iter().any(|x| x == p)) {
            return Err(format!("expects unknown pool {pool:?}"));
        }
        if got != want {
            return Err(format!("expected pool {pool:?}, got {got:?}"));
        }
    }
    if let Some(v) = &e.variant {
        let got = header(&req, "x-switchyard-variant");
        if got != Some(v.as_str()) {
            return Err(format!("expected variant {v:?}, got {got:?}"));
        }
    }
    for (name, want) in &e.headers {
        let got = header(&req, &name.to_ascii_lowercase());
        if got != Some(want.as_str()) {
            return Err(format!("expected header {name}: {want:?}, got {got:?}"));
        }
    }
    Ok(())
}

/// Runs every declared test; the first failure with its index.
pub fn run(policy: &Policy, p: &PolicyConfig, pools: &[String]) -> Result<(), (usize, String)> {
    for (i, t) in p.tests.iter().enumerate() {
        check(policy, t, pools).map_err(|m| (i, m))?;
    }
    Ok(())
}
