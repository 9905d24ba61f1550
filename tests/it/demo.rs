//! `switchyard demo` (what `make demo` runs): it starts on the embedded config with its own
//! upstreams, and the curl lines it prints work: routing by tenant host, the canonical path,
//! unknown tenants refused, the admin API with the printed token. SIGTERM stops it cleanly.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;
use switchyard_test_support::{binary, client, eventually, free_port};

#[test]
fn demo_serves_what_it_prints() {
    let (port, admin) = (free_port(), free_port());
    let mut child = Command::new(binary())
        .args([
            "demo",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--admin",
            &format!("127.0.0.1:{admin}"),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn demo");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut printed = String::new();
    let mut line = String::new();
    while out.read_line(&mut line).unwrap_or(0) > 0 {
        printed.push_str(&line);
        if line.starts_with("Stop with") {
            break;
        }
        line.clear();
    }
    let token = printed
        .lines()
        .find_map(|l| l.strip_prefix("admin token: "))
        .expect("token printed")
        .trim()
        .to_owned();
    let data: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let admin: std::net::SocketAddr = format!("127.0.0.1:{admin}").parse().expect("addr");
    assert!(printed.contains(&format!("http://{data}")), "{printed}");

    let r = eventually(Duration::from_secs(5), || {
        let r = client::get(data, "acme.erp.localhost", "/web//./login", &[]);
        (r.status == 200).then_some(r)
    })
    .expect("demo never answered");
    let echo = r.json();
    assert_eq!(echo["upstream"], "odoo-stable");
    assert_eq!(echo["path"], "/web/login");
    let spoofed = client::get(
        data,
        "acme.erp.localhost",
        "/",
        &["X-Forwarded-For: 6.6.6.6", "X-Odoo-Dbfilter: .*"],
    )
    .json();
    assert_eq!(spoofed["x-forwarded-for"], "127.0.0.1");
    let other_db = client::get(data, "acme.erp.localhost", "/web?db=globex", &[]);
    assert_eq!(other_db.status, 403, "{}", other_db.text());
    let manager = client::get(data, "acme.erp.localhost", "/web/%64atabase/manager", &[]);
    assert_eq!(manager.status, 403);
    assert_eq!(echo["x-odoo-dbfilter"], "^acme$");
    let z = client::get(data, "zeta.erp.localhost", "/web", &[]);
    assert_eq!(z.status, 404);
    assert_eq!(z.json()["tenant"], "zeta");
    assert_eq!(
        client::get(data, "hooks.localhost", "/hooks/dhl/shipment", &[]).json()["upstream"],
        "integration-workers"
    );
    assert_eq!(
        client::get(data, "acme.preview.localhost", "/web", &[]).json()["upstream"],
        "odoo-canary"
    );
    let pilot = client::get(data, "globex.erp.localhost", "/web", &[]);
    assert_eq!(pilot.header("x-switchyard-variant"), Some("canary"));
    assert_eq!(pilot.json()["upstream"], "odoo-canary");
    let set = client::admin(
        admin,
        "PUT",
        "/api/v1/routes/odoo/canary",
        Some(&token),
        &[],
        br#"{"weight": 100, "reason": "demo"}"#,
    );
    assert_eq!(set.status, 200, "{}", set.text());
    let initech = client::get(data, "initech.erp.localhost", "/web", &[]);
    assert_eq!(initech.json()["upstream"], "odoo-canary");
    let acme = client::get(data, "acme.erp.localhost", "/web", &[]);
    assert_eq!(acme.json()["upstream"], "odoo-stable", "excluded tenant");
    let s = client::admin(admin, "GET", "/api/v1/status", Some(&token), &[], b"");
    assert_eq!(s.status, 200, "{}", s.text());
    assert_eq!(
        client::admin(admin, "POST", "/api/v1/reload", Some(&token), &[], b"").json()["result"],
        "unchanged"
    );
    assert!(Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill")
        .success());
    let status = eventually(Duration::from_secs(15), || child.try_wait().ok().flatten())
        .expect("demo did not exit");
    assert_eq!(status.code(), Some(0));
}
