//! Policy conformance (SPEC §6): one table, `wasm-plugins/conformance.yaml`, of what each example
//! policy must decide, run against every http-wasm host that loads the modules built by
//! `make plugins`. This module owns the table (its types, [`table`], [`cases`]), the request
//! a case sends ([`send`]) and the host-independent verdict ([`Observed`], [`check`]); the
//! Traefik half lives here too: a real Traefik per policy, loading the module as a local
//! plugin, one router per case, in front of a recording upstream. A switchyard half reuses
//! the same pieces with the policy loaded by switchyard's own host.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use switchyard_test_support::client::{self, Resp};
use switchyard_test_support::upstream::{Recorded, RecordingUpstream};
use switchyard_test_support::{eventually, free_port, traefik, workspace_root};

/// The example policies, by table name.
pub const POLICIES: [&str; 3] = ["edge-guard", "edi-routing", "tenant-maintenance"];
/// Host names a case may list under `hosts`.
pub const HOSTS: [&str; 2] = ["traefik", "switchyard"];
/// The header that tags each case's request.
pub const CASE_HEADER: &str = "X-Conformance-Case";

/// One row of the table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Unique, `[a-z0-9-]`.
    pub name: String,
    /// One of [`POLICIES`].
    pub policy: String,
    /// The policy's configuration.
    #[serde(default)]
    pub config: serde_json::Value,
    /// Hosts the case holds for (default: all).
    #[serde(default = "all_hosts")]
    pub hosts: Vec<String>,
    /// Why a case is limited to some hosts.
    #[serde(default)]
    pub why: Option<String>,
    /// The request to send.
    #[serde(default)]
    pub request: CaseRequest,
    /// The expected decision.
    #[serde(default)]
    pub expect: Expect,
}

fn all_hosts() -> Vec<String> {
    HOSTS.iter().map(|h| (*h).to_owned()).collect()
}

/// The request of a case.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CaseRequest {
    pub method: String,
    pub path: String,
    pub host: String,
    /// `"Name: value"` lines.
    pub headers: Vec<String>,
    pub body: String,
    /// Appended to `body` `times` times (large bodies without a large table).
    pub repeat: Option<Repeat>,
}

/// A repeated body tail.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Repeat {
    pub text: String,
    pub times: usize,
}

impl CaseRequest {
    /// The body as sent.
    pub fn body_bytes(&self) -> Vec<u8> {
        let mut body = self.body.clone();
        if let Some(r) = &self.repeat {
            body.push_str(&r.text.repeat(r.times));
        }
        body.into_bytes()
    }
}

impl Default for CaseRequest {
    fn default() -> Self {
        CaseRequest {
            method: "GET".into(),
            path: "/".into(),
            host: "acme.erp.test".into(),
            headers: Vec::new(),
            body: String::new(),
            repeat: None,
        }
    }
}

/// The expected decision (see the table's header for the semantics).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub status: Option<u16>,
    #[serde(default)]
    pub load_error: bool,
    /// `None`: not checked; `Some(None)`: no pool chosen.
    #[serde(default, deserialize_with = "present")]
    pub pool: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub variant: Option<Option<String>>,
    #[serde(default)]
    pub headers_set: BTreeMap<String, String>,
    #[serde(default)]
    pub headers_removed: Vec<String>,
    #[serde(default)]
    pub response_headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body_contains: Vec<String>,
}

/// A key that is present (even as `~`) is `Some`.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    cases: Vec<Case>,
}

/// The whole table, validated (unique names, known policies and hosts, a `why` for limited cases).
pub fn table() -> Vec<Case> {
    let path = workspace_root().join("wasm-plugins/conformance.yaml");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let t: Table = serde_yaml_ng::from_str(&text)
        .unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()));
    let mut seen = std::collections::BTreeSet::new();
    for c in &t.cases {
        let n = &c.name;
        assert!(seen.insert(n.clone()), "duplicate case {n}");
        assert!(
            !n.is_empty()
                && n.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "case name {n:?} must be [a-z0-9-]"
        );
        assert!(POLICIES.contains(&c.policy.as_str()), "{n}: unknown policy");
        assert!(
            c.hosts.iter().all(|h| HOSTS.contains(&h.as_str())),
            "{n}: unknown host"
        );
        assert!(
            c.hosts.len() == HOSTS.len() || c.why.as_deref().is_some_and(|w| !w.is_empty()),
            "{n}: a case limited to some hosts says why"
        );
    }
    t.cases
}

/// The cases of `policy` that hold for `host`.
pub fn cases(policy: &str, host: &str) -> Vec<Case> {
    table()
        .into_iter()
        .filter(|c| c.policy == policy && c.hosts.iter().any(|h| h == host))
        .collect()
}

/// `wasm-plugins/dist`, which `make plugins` produces (panics with that advice when missing).
pub fn dist_dir() -> PathBuf {
    let dist = workspace_root().join("wasm-plugins/dist");
    assert!(
        dist.is_dir(),
        "{} is missing: run `make plugins` (builds the WASM policies; `make test` runs it)",
        dist.display()
    );
    dist
}

/// `edge-guard` → `edge_guard`: the module and Traefik plugin name.
pub fn snake(policy: &str) -> String {
    policy.replace('-', "_")
}

/// The built module of `policy` (`dist/<snake>.wasm`).
pub fn module(policy: &str) -> PathBuf {
    let p = dist_dir().join(format!("{}.wasm", snake(policy)));
    assert!(
        p.is_file(),
        "{} is missing: run `make plugins`",
        p.display()
    );
    p
}

/// Sends the case's request, tagged with [`CASE_HEADER`].
pub fn send(addr: SocketAddr, case: &Case) -> Resp {
    let r = &case.request;
    let tag = format!("{CASE_HEADER}: {}", case.name);
    let mut extra: Vec<&str> = r.headers.iter().map(String::as_str).collect();
    extra.push(&tag);
    client::request(addr, &r.method, &r.host, &r.path, &extra, &r.body_bytes())
}

/// What a host did with a case's request.
pub struct Observed {
    /// The client's response.
    pub response: Resp,
    /// What the upstream received, if the request got there.
    pub upstream: Option<Recorded>,
    /// The pool the request was routed to (host-specific evidence).
    pub pool: Option<String>,
    /// The variant it was pinned to.
    pub variant: Option<String>,
}

/// The upstream's record of `case` (by its tag).
pub fn recorded(up: &RecordingUpstream, case: &Case) -> Option<Recorded> {
    up.requests()
        .into_iter()
        .find(|r| r.header(CASE_HEADER) == [case.name.as_str()])
}

/// `*` (present), `!text` (present, different), or exact text.
fn matches(pattern: &str, values: &[String]) -> bool {
    let v = values.join(", ");
    match pattern {
        "*" => !v.is_empty(),
        p if p.starts_with('!') => !values.is_empty() && v != p[1..],
        p => !values.is_empty() && v == p,
    }
}

/// Checks an observation against the case's expectations (all but `load_error`).
pub fn check(case: &Case, seen: &Observed) -> Result<(), String> {
    let e = &case.expect;
    let mut problems = Vec::new();
    let status = e.status.unwrap_or(200);
    let resp = &seen.response;
    if resp.status != status {
        problems.push(format!(
            "status {} (want {status}): {:.200}",
            resp.status,
            resp.text()
        ));
    }
    match (&seen.upstream, status == 200) {
        (None, true) => problems.push("the upstream never received the request".into()),
        (Some(_), false) => problems.push("the policy answered but the upstream got it".into()),
        (Some(rec), true) if upstream_body(rec) != case.request.body_bytes() => {
            problems.push(format!(
                "body changed upstream: {:?}",
                String::from_utf8_lossy(&rec.body)
            ))
        }
        _ => {}
    }
    for (what, want, got) in [
        ("pool", &e.pool, &seen.pool),
        ("variant", &e.variant, &seen.variant),
    ] {
        if let Some(want) = want {
            if want != got {
                problems.push(format!("{what} {got:?} (want {want:?})"));
            }
        }
    }
    let up = seen.upstream.as_ref();
    for (name, pattern) in &e.headers_set {
        let values = up.map(|r| r.header(name)).unwrap_or_default();
        if !matches(pattern, &values) {
            problems.push(format!("upstream {name}: {values:?} (want {pattern:?})"));
        }
    }
    for name in &e.headers_removed {
        let values = up.map(|r| r.header(name)).unwrap_or_default();
        if !values.is_empty() {
            problems.push(format!("upstream still received {name}: {values:?}"));
        }
    }
    for (name, pattern) in &e.response_headers {
        let values: Vec<String> = resp.header(name).map(str::to_owned).into_iter().collect();
        if !matches(pattern, &values) {
            problems.push(format!("response {name}: {values:?} (want {pattern:?})"));
        }
    }
    for text in &e.body_contains {
        if !resp.text().contains(text.as_str()) {
            problems.push(format!("response body lacks {text:?}"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// The body as the upstream received it, de-chunked if need be.
fn upstream_body(rec: &Recorded) -> Vec<u8> {
    let chunked = rec
        .header("transfer-encoding")
        .iter()
        .any(|v| v.eq_ignore_ascii_case("chunked"));
    if !chunked {
        return rec.body.clone();
    }
    let mut out = Vec::new();
    let mut b = rec.body.as_slice();
    while let Some(i) = b.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&b[..i])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 || b.len() < i + 2 + size {
            break;
        }
        out.extend_from_slice(&b[i + 2..i + 2 + size]);
        b = &b[(i + 4 + size).min(b.len())..];
    }
    out
}

/// A Traefik loading one policy as a local plugin, one router per case (matched on
/// [`CASE_HEADER`]) plus a `ready` router without the plugin, all to one upstream.
struct TraefikHost {
    child: Child,
    addr: SocketAddr,
    dir: tempfile::TempDir,
}

impl TraefikHost {
    /// A Traefik loading one policy, with a router per case.
    fn start(policy: &str, cases: &[Case], upstream: &RecordingUpstream) -> Self {
        let plugin = snake(policy);
        let dir = work_dir(&[&plugin]);
        let dynamic = dir.path().join("dynamic");
        let config = dynamic_config(&plugin, cases, upstream);
        std::fs::write(dynamic.join("cases.yml"), config).expect("write dynamic");
        let port = free_port();
        let stat = format!(
            "global: {{checkNewVersion: false, sendAnonymousUsage: false}}\n\
             entryPoints:\n  web:\n    address: \"127.0.0.1:{port}\"\n\
             providers:\n  file: {{directory: \"{}\", watch: false}}\n\
             log: {{level: INFO, noColor: true}}\n\
             experimental:\n  localPlugins:\n    {plugin}: {{moduleName: switchyard/{plugin}}}\n",
            dynamic.display()
        );
        Self::spawn(dir, port, &stat, &[])
    }

    /// Runs Traefik in `dir` on the static config `stat` (entry point `web` on `port`).
    fn spawn(dir: tempfile::TempDir, port: u16, stat: &str, env: &[(&str, String)]) -> Self {
        let bin = traefik::binary();
        assert!(
            bin.exists(),
            "{} is missing: run `make test-deps`",
            bin.display()
        );
        std::fs::write(dir.path().join("traefik.yml"), stat).expect("write static");
        let log = std::fs::File::create(dir.path().join("traefik.log")).expect("log");
        let child = Command::new(bin)
            .arg("--configFile=traefik.yml")
            .current_dir(dir.path())
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::from(log.try_clone().expect("log fd")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn traefik");
        TraefikHost {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            dir,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("traefik.log")).unwrap_or_default()
    }
}

impl Drop for TraefikHost {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A temp dir to run Traefik in: `plugins-local/src/switchyard/<plugin>/` copied from dist
/// (Traefik looks for local plugins under its working directory) and an empty `dynamic/`.
fn work_dir(plugins: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for plugin in plugins {
        let src = dist_dir().join("plugins-local/src/switchyard").join(plugin);
        assert!(
            src.is_dir(),
            "{} is missing: run `make plugins`",
            src.display()
        );
        let dst = dir.path().join("plugins-local/src/switchyard").join(plugin);
        std::fs::create_dir_all(&dst).expect("mkdir plugin");
        for f in [".traefik.yml", "plugin.wasm"] {
            std::fs::copy(src.join(f), dst.join(f)).expect("copy plugin");
        }
    }
    std::fs::create_dir_all(dir.path().join("dynamic")).expect("mkdir dynamic");
    dir
}

/// Routers, middlewares (the case's config, as JSON, which is YAML) and the upstream service.
fn dynamic_config(plugin: &str, cases: &[Case], up: &RecordingUpstream) -> String {
    let rule = |name: &str| format!("\"Header(`{CASE_HEADER}`, `{name}`)\"");
    let mut routers = format!("    ready: {{rule: {}, service: up}}\n", rule("ready"));
    let mut middlewares = String::new();
    for (i, c) in cases.iter().enumerate() {
        let config = serde_json::to_string(&c.config).expect("config as JSON");
        let rule = rule(&c.name);
        routers.push_str(&format!(
            "    case-{i}: {{rule: {rule}, middlewares: [case-{i}], service: up}}\n"
        ));
        middlewares.push_str(&format!(
            "    case-{i}:\n      plugin:\n        {plugin}: {config}\n"
        ));
    }
    let text = format!(
        "http:\n  routers:\n{routers}  middlewares:\n{middlewares}  services:\n    up:\n      \
         loadBalancer:\n        servers: [{{url: \"{}\"}}]\n",
        up.url()
    );
    // The file provider renders Go templates: the table must not smuggle one in.
    assert!(!text.contains("{{"), "template braces in a case config");
    text
}

/// Runs every Traefik case of `policy`; panics listing every failure and Traefik's log.
fn run_traefik(policy: &str) {
    let cases = cases(policy, "traefik");
    assert!(!cases.is_empty(), "no Traefik cases for {policy}");
    let up = RecordingUpstream::start();
    let t = TraefikHost::start(policy, &cases, &up);
    // Traefik loads plugins, then the file provider: poll until the plain router answers.
    let ready = eventually(Duration::from_secs(30), || {
        let r = client::get(
            t.addr,
            "acme.erp.test",
            "/",
            &[&format!("{CASE_HEADER}: ready")],
        );
        (r.status == 200).then_some(())
    });
    assert!(ready.is_some(), "Traefik never became ready:\n{}", t.log());
    let mut failures = Vec::new();
    for case in &cases {
        let response = send(t.addr, case);
        let upstream = recorded(&up, case);
        let result = if case.expect.load_error {
            let refused = response.status == 404
                && response.text().contains("404 page not found")
                && upstream.is_none()
                && t.log().contains(&format!("{policy}: config"));
            refused.then_some(()).ok_or_else(|| {
                format!("config was not refused at load: status {}", response.status)
            })
        } else {
            let header = |n: &str| {
                upstream
                    .as_ref()
                    .and_then(|r| r.header(n).into_iter().next())
            };
            let (pool, variant) = (header("x-switchyard-pool"), header("x-switchyard-variant"));
            check(
                case,
                &Observed {
                    response,
                    upstream,
                    pool,
                    variant,
                },
            )
        };
        if let Err(e) = result {
            failures.push(format!("{}: {e}", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} {policy} cases failed under Traefik:\n  {}\n--- traefik log ---\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n  "),
        t.log()
    );
}

#[test]
fn traefik_edge_guard() {
    run_traefik("edge-guard");
}

#[test]
fn traefik_edi_routing() {
    run_traefik("edi-routing");
}

#[test]
fn traefik_tenant_maintenance() {
    run_traefik("tenant-maintenance");
}

/// deploy/traefik with its plugin block enabled and plugins/policies.yml added to the
/// dynamic directory: every request is guarded, EDI is routed (a recording upstream stands in
/// for switchyard).
#[test]
fn traefik_deploy_example_wires_the_policies() {
    let root = workspace_root().join("deploy/traefik");
    let up = RecordingUpstream::start();
    let dir = work_dir(&["edge_guard", "edi_routing", "tenant_maintenance"]);
    let dynamic = dir.path().join("dynamic");
    for f in ["dynamic/switchyard.yml", "plugins/policies.yml"] {
        let name = Path::new(f).file_name().expect("file name");
        std::fs::copy(root.join(f), dynamic.join(name)).expect("copy dynamic");
    }
    let stat = std::fs::read_to_string(root.join("traefik.yml")).expect("static config");
    let (head, rest) = stat
        .split_once("# >>> plugins\n")
        .expect("plugin block start");
    let (block, tail) = rest.split_once("# <<< plugins").expect("plugin block end");
    let block: String = block
        .lines()
        .map(|l| format!("{}\n", l.strip_prefix("# ").unwrap_or(l)))
        .collect();
    let port = free_port();
    let stat = format!("{head}{block}{tail}")
        .replace(
            "address: \":80\"",
            &format!("address: \"127.0.0.1:{port}\""),
        )
        .replace(
            "directory: deploy/traefik/dynamic",
            &format!("directory: {}", dynamic.display()),
        );
    let t = TraefikHost::spawn(dir, port, &stat, &[("SWITCHYARD_URL", up.url())]);
    let x12 = "ST*856*0001~BSN*00*SHIP1~SE*3*0001~";
    let r = eventually(Duration::from_secs(30), || {
        let r = client::request(
            t.addr,
            "POST",
            "acme.erp.test",
            "/edi/inbound",
            &["X-Tenant: globex"],
            x12.as_bytes(),
        );
        (r.status == 200).then_some(r)
    });
    assert!(r.is_some(), "Traefik never forwarded:\n{}", t.log());
    let seen = up
        .requests()
        .last()
        .cloned()
        .expect("upstream saw the request");
    assert_eq!(
        seen.header("x-switchyard-pool"),
        ["integration-workers"],
        "{}",
        t.log()
    );
    assert!(seen.header("x-tenant").is_empty());
    assert_eq!(seen.header("x-request-id").len(), 1);
    assert_eq!(seen.body, x12.as_bytes());
    let held = client::get(t.addr, "maintenance-demo.erp.test", "/web", &[]);
    assert_eq!(held.status, 503, "{}", held.text());
    assert_eq!(held.header("retry-after"), Some("600"));
    let health = client::get(t.addr, "maintenance-demo.erp.test", "/web/health", &[]);
    assert_eq!(health.status, 200);
}

#[test]
fn table_covers_every_policy() {
    for policy in POLICIES {
        let all: Vec<Case> = table().into_iter().filter(|c| c.policy == policy).collect();
        assert!(
            all.len() >= 6,
            "{policy}: {} cases, want at least 6",
            all.len()
        );
        assert!(
            all.iter().any(|c| c.expect.load_error),
            "{policy}: no case for a refused config"
        );
    }
}

/// The modules import only the http-wasm ABI and the four WASI functions Rust's start-up
/// needs, and export what both hosts call; the Traefik package holds the same bytes.
#[test]
fn modules_import_only_the_abi() {
    const WASI: [&str; 4] = ["environ_get", "environ_sizes_get", "fd_write", "proc_exit"];
    for policy in POLICIES {
        let path = module(policy);
        let bytes = std::fs::read(&path).expect("read module");
        let (imports, exports) = wasm_interface(&bytes)
            .unwrap_or_else(|| panic!("{} is not a wasm module", path.display()));
        for (m, f) in &imports {
            let ok = (m == "http_handler" && HTTP_HANDLER.split_whitespace().any(|h| h == f))
                || (m == "wasi_snapshot_preview1" && WASI.contains(&f.as_str()));
            assert!(ok, "{policy} imports {m}.{f}");
        }
        for e in ["memory", "handle_request", "handle_response", "_start"] {
            assert!(
                exports.iter().any(|x| x == e),
                "{policy} does not export {e}"
            );
        }
        let pkg = dist_dir().join(format!("plugins-local/src/switchyard/{}", snake(policy)));
        assert_eq!(
            std::fs::read(pkg.join("plugin.wasm")).ok(),
            Some(bytes),
            "{policy} package"
        );
        let manifest = std::fs::read_to_string(pkg.join(".traefik.yml")).expect("manifest");
        for key in [
            "type: middleware",
            "runtime: wasm",
            "displayName: ",
            "summary: ",
            "testData:",
        ] {
            assert!(manifest.contains(key), "{policy} manifest lacks {key:?}");
        }
    }
}

/// The 19 host functions of the http-wasm `http_handler` ABI.
const HTTP_HANDLER: &str = "enable_features get_config log log_enabled get_method set_method \
    get_uri set_uri get_protocol_version get_source_addr get_header_names get_header_values \
    set_header_value add_header_value remove_header read_body write_body get_status_code \
    set_status_code";

/// A module's imports (module, name) and export names.
type Interface = (Vec<(String, String)>, Vec<String>);

/// Reads the import and export sections of a wasm binary.
fn wasm_interface(b: &[u8]) -> Option<Interface> {
    let mut r = Reader { b, i: 8 };
    if b.get(..8)? != b"\0asm\x01\0\0\0" {
        return None;
    }
    let (mut imports, mut exports) = (Vec::new(), Vec::new());
    while r.i < b.len() {
        let id = r.byte()?;
        let size = r.leb()? as usize;
        let end = r.i.checked_add(size)?;
        match id {
            2 => {
                for _ in 0..r.leb()? {
                    let (m, f) = (r.name()?, r.name()?);
                    r.import_desc()?;
                    imports.push((m, f));
                }
            }
            7 => {
                for _ in 0..r.leb()? {
                    exports.push(r.name()?);
                    r.byte()?;
                    r.leb()?;
                }
            }
            _ => {}
        }
        r.i = end;
    }
    Some((imports, exports))
}

struct Reader<'a> {
    b: &'a [u8],
    i: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let v = *self.b.get(self.i)?;
        self.i += 1;
        Some(v)
    }
    fn leb(&mut self) -> Option<u64> {
        let (mut v, mut shift) = (0u64, 0);
        loop {
            let byte = self.byte()?;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 || shift > 56 {
                return Some(v);
            }
            shift += 7;
        }
    }
    fn name(&mut self) -> Option<String> {
        let n = self.leb()? as usize;
        let s = self.b.get(self.i..self.i.checked_add(n)?)?;
        self.i += n;
        Some(String::from_utf8_lossy(s).into_owned())
    }
    fn import_desc(&mut self) -> Option<()> {
        match self.byte()? {
            0 => self.leb().map(drop),
            1 => {
                self.byte()?;
                self.limits()
            }
            2 => self.limits(),
            3 => self.byte().and_then(|_| self.byte()).map(drop),
            _ => None,
        }
    }
    fn limits(&mut self) -> Option<()> {
        let flags = self.byte()?;
        self.leb()?;
        if flags & 1 == 1 {
            self.leb()?;
        }
        Some(())
    }
}
