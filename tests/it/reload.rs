//! Hot reload: a file rename (editor), a ConfigMap-style symlink swap, the admin endpoint and
//! SIGHUP all apply a new config; an invalid one never replaces the good one and the status
//! says exactly what is wrong; a request in flight finishes on the snapshot it started with.

use crate::common;
use std::time::Duration;
use switchyard_test_support::client;
use switchyard_test_support::eventually;
use switchyard_test_support::proxy::TestProxy;
use switchyard_test_support::upstream::{Behavior, RecordingUpstream};

fn served_by(p: &TestProxy, a: &RecordingUpstream, b: &RecordingUpstream) -> (usize, usize) {
    let (x, y) = (a.requests().len(), b.requests().len());
    assert_eq!(client::get(p.addr, "acme.erp.test", "/", &[]).status, 200);
    (a.requests().len() - x, b.requests().len() - y)
}

#[test]
fn editor_rename_applies_and_invalid_config_keeps_serving() {
    common::env();
    let (a, b) = (RecordingUpstream::start(), RecordingUpstream::start());
    let p = TestProxy::start(&common::config(&a, ""));
    assert_eq!(served_by(&p, &a, &b), (1, 0));

    p.write_config(&common::config(&b, ""));
    assert!(
        eventually(Duration::from_secs(5), || (p.version() == 2).then_some(())).is_some(),
        "rename not picked up: {}",
        p.status(common::VIEWER_TOKEN)["last_reload"]
    );
    assert_eq!(served_by(&p, &a, &b), (0, 1));

    let broken = common::config(&a, "")
        .replace("stable: odoo", "stable: odoo-typo")
        .replace("workers: 1", "workers: 1\n  limits: { max_body: lots }");
    p.write_config(&broken);
    let status = eventually(Duration::from_secs(5), || {
        let s = p.status(common::VIEWER_TOKEN);
        (s["last_reload"]["result"] == "refused").then_some(s)
    })
    .expect("refused reload not reported");
    let errors: Vec<String> =
        serde_json::from_value(status["last_reload"]["errors"].clone()).expect("errors");
    assert!(
        errors
            .iter()
            .any(|e| e == "routes[0].upstream.stable: unknown pool \"odoo-typo\""),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("server.limits.max_body: invalid size")),
        "{errors:?}"
    );
    assert_eq!(status["config"]["version"], 2);
    assert_eq!(
        served_by(&p, &a, &b),
        (0, 1),
        "the last good config keeps serving"
    );
    let metrics = p.metrics();
    assert!(
        metrics.contains("switchyard_config_reloads_total{result=\"failure\"} 1"),
        "{metrics}"
    );
}

#[test]
fn configmap_symlink_swap_is_picked_up() {
    common::env();
    let (a, b) = (RecordingUpstream::start(), RecordingUpstream::start());
    // Lay the config out as Kubernetes does: file -> ..data/file, ..data -> ..v1 (a dir).
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let data_dir = d.join("state");
    let write_version = |name: &str, yaml: &str| {
        std::fs::create_dir_all(d.join(name)).expect("mkdir");
        std::fs::write(
            d.join(name).join("switchyard.yaml"),
            yaml.replace("${DATA_DIR}", &data_dir.display().to_string()),
        )
        .expect("write");
    };
    write_version("..v1", &common::config(&a, ""));
    std::os::unix::fs::symlink("..v1", d.join("..data")).expect("symlink");
    std::os::unix::fs::symlink("..data/switchyard.yaml", d.join("switchyard.yaml"))
        .expect("symlink");
    let running = switchyard::proxy::start(switchyard::proxy::Options {
        config_path: d.join("switchyard.yaml"),
        watch: true,
        signals: false,
    })
    .expect("start");
    let get = || client::get(running.data.plain, "acme.erp.test", "/", &[]).status;
    assert_eq!(get(), 200);
    assert_eq!(a.requests().len(), 1);
    write_version("..v2", &common::config(&b, ""));
    std::os::unix::fs::symlink("..v2", d.join("..data_tmp")).expect("symlink");
    std::fs::rename(d.join("..data_tmp"), d.join("..data")).expect("swap");
    assert!(
        eventually(Duration::from_secs(5), || (running
            .shared
            .live
            .load()
            .version
            == 2)
            .then_some(()))
        .is_some(),
        "symlink swap not picked up"
    );
    assert_eq!(get(), 200);
    assert_eq!(b.requests().len(), 1);
    running.shutdown();
}

#[test]
fn admin_reload_and_in_flight_requests_finish_on_their_snapshot() {
    common::env();
    let slow = RecordingUpstream::with(Behavior::Delay(Duration::from_millis(700)));
    let fast = RecordingUpstream::start();
    let p = TestProxy::start(&common::config(&slow, ""));
    let addr = p.addr;
    let in_flight = std::thread::spawn(move || client::get(addr, "acme.erp.test", "/slow", &[]));
    assert!(
        eventually(Duration::from_secs(5), || (!slow.requests().is_empty())
            .then_some(()))
        .is_some()
    );
    // Swap the file without waiting for the watcher: reload through the API.
    std::fs::write(
        &p.config_path,
        switchyard_test_support::proxy::fill(&common::config(&fast, ""), p.dir.path()),
    )
    .expect("write");
    let r = p.reload(common::OPERATOR_TOKEN);
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.json()["result"] == "applied" || r.json()["result"] == "unchanged",
        "{}",
        r.text()
    );
    assert_eq!(p.version(), 2);
    let old = in_flight.join().expect("thread");
    assert_eq!(
        old.status, 200,
        "the in-flight request finished on its snapshot"
    );
    assert_eq!(
        client::get(p.addr, "acme.erp.test", "/new", &[]).status,
        200
    );
    assert_eq!(fast.requests().len(), 1);

    // A refused reload through the API answers 422 with every error.
    std::fs::write(
        &p.config_path,
        "server: {listen: nope}\npools: {}\nroutes: []\n",
    )
    .expect("write");
    let r = p.reload(common::OPERATOR_TOKEN);
    assert_eq!(r.status, 422, "{}", r.text());
    let errs = r.json()["errors"].to_string();
    assert!(
        errs.contains("server.listen: invalid listen address")
            && errs.contains("routes: at least one route is needed"),
        "{errs}"
    );
    assert_eq!(p.version(), 2);
}
