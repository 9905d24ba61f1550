//! The wasm32 glue: [`run`] reads and validates the configuration, enables the policy's
//! features and registers it with `http-wasm-guest`, whose exports (`handle_request`,
//! `handle_response`) then call [`crate::Policy::on_request`] once per request.

use crate::config::Value;
use crate::request::{Exchange, Reply, Request, Verdict};
use crate::{Features, Policy};
use http_wasm_guest::host::{admin, feature, log, BodyIter, Request as HostRequest, Response};
use http_wasm_guest::{register, Guest};

/// http-wasm log level `error`.
const LOG_ERROR: i32 = 2;

/// Runs at module start (`_start` → `main`): config → policy → features → register.
/// A configuration error is logged through the host and ends `_start` with exit code 1,
/// so the host refuses to load the module (Traefik logs it and leaves the router without
/// this middleware; switchyard keeps the last good version).
pub fn run<P: Policy>() {
    let raw = admin::config();
    let policy = Value::parse(&raw).and_then(|v| P::from_config(&v));
    match policy {
        Ok(policy) => {
            if P::FEATURES.contains(Features::BUFFER_REQUEST) {
                admin::enable(feature::BufferRequest);
            }
            register(Adapter(policy));
        }
        Err(e) => {
            let msg = format!("{}: {e}", P::NAME);
            log::write(LOG_ERROR, msg.as_bytes());
            std::process::exit(1);
        }
    }
}

struct Adapter<P>(P);

impl<P: Policy> Guest for Adapter<P> {
    fn handle_request(&self, request: &HostRequest, response: &Response) -> (bool, i32) {
        let mut ex = HostExchange {
            req: request,
            body: None,
        };
        let verdict = {
            let mut req = Request::new(&mut ex);
            let verdict = self.0.on_request(&mut req);
            if verdict == Verdict::Continue {
                req.restore_body();
            }
            verdict
        };
        match verdict {
            Verdict::Continue => (true, 0),
            Verdict::Respond(reply) => {
                write_reply(response, &reply);
                (false, 0)
            }
        }
    }
}

/// Headers first, then the status, then the body: a host that does not buffer the response
/// (Traefik without the buffer-response feature) sends the head on `set_status_code`, so
/// headers set after it would be lost.
fn write_reply(response: &Response, reply: &Reply) {
    for (name, value) in &reply.headers {
        response.header.set(name.as_bytes(), value.as_bytes());
    }
    response.set_status(i32::from(reply.status));
    if !reply.body.is_empty() {
        response.body.write(&reply.body);
    }
}

struct HostExchange<'a> {
    req: &'a HostRequest,
    /// The request body reader, once reading started.
    body: Option<BodyIter>,
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

impl Exchange for HostExchange<'_> {
    fn method(&self) -> String {
        text(&self.req.method())
    }
    fn uri(&self) -> String {
        text(&self.req.uri())
    }
    fn header_names(&self) -> Vec<String> {
        self.req.header.names_iter().map(|n| text(&n)).collect()
    }
    fn each_header_name(&self, f: &mut dyn FnMut(&str)) {
        for n in self.req.header.names_iter() {
            match std::str::from_utf8(&n) {
                Ok(s) => f(s),
                Err(_) => f(&text(&n)),
            }
        }
    }
    fn header_values(&self, name: &str) -> Vec<String> {
        self.req
            .header
            .values_iter(name.as_bytes())
            .map(|v| text(&v))
            .collect()
    }
    fn set_header(&mut self, name: &str, value: &str) {
        self.req.header.set(name.as_bytes(), value.as_bytes());
    }
    fn add_header(&mut self, name: &str, value: &str) {
        self.req.header.add(name.as_bytes(), value.as_bytes());
    }
    fn remove_header(&mut self, name: &str) {
        self.req.header.remove(name.as_bytes());
    }
    fn source_addr(&self) -> String {
        text(&self.req.source_addr())
    }
    fn read_body_chunk(&mut self) -> Option<Vec<u8>> {
        let req = self.req;
        let it = self.body.get_or_insert_with(|| req.body.read_iter());
        it.next().map(|b| b.to_vec())
    }
    fn write_body(&mut self, body: &[u8]) {
        self.req.body.write(body);
    }
}
