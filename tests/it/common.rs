//! Shared config builders for the integration tests.

use switchyard_test_support::proxy::TestProxy;
use switchyard_test_support::upstream::RecordingUpstream;

/// Admin tokens used by the tests' configs (files are written next to the config).
pub const ADMIN_TOKEN: &str = "admin-token-0123456789";
pub const OPERATOR_TOKEN: &str = "operator-token-0123456789";
pub const VIEWER_TOKEN: &str = "viewer-token-0123456789";
pub const FREEZE_A_TOKEN: &str = "freeze-admin-alice-0123456789";
pub const FREEZE_B_TOKEN: &str = "freeze-admin-bob-0123456789";

/// A config with one tenant-aware route to `up` and the given extra server lines.
pub fn config(up: &RecordingUpstream, server_extra: &str) -> String {
    config_with(&up.url(), server_extra, "")
}

/// A config whose `odoo` pool has these endpoints (YAML list items) and pool extra lines.
pub fn config_with(endpoints: &str, server_extra: &str, pool_extra: &str) -> String {
    format!(
        r#"
server:
  listen: 127.0.0.1:0
  workers: 1
{server_extra}
admin:
  listen: 127.0.0.1:0
  tokens:
    - {{ name: root, role: admin, token: {{ env: SY_TEST_ADMIN }} }}
    - {{ name: deploy-bot, role: operator, token: {{ env: SY_TEST_OPERATOR }} }}
    - {{ name: dashboard, role: viewer, token: {{ env: SY_TEST_VIEWER }} }}
state: {{ backend: local, data_dir: "${{DATA_DIR}}" }}
pools:
  odoo:
    endpoints: [{endpoints}]
{pool_extra}
tenants:
  identify: [{{ host: "{{tenant}}.erp.test" }}]
  list: {{ acme: {{}}, globex: {{}} }}
routes:
  - name: odoo
    match: {{ host: "*.erp.test" }}
    upstream: {{ stable: odoo }}
observability:
  access_log: {{ to: "off" }}
"#
    )
}

/// Sets the token environment variables the configs refer to (same values in every test).
pub fn env() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Set once, before any proxy thread reads them; every test sets the same values.
        std::env::set_var("SY_TEST_ADMIN", ADMIN_TOKEN);
        std::env::set_var("SY_TEST_OPERATOR", OPERATOR_TOKEN);
        std::env::set_var("SY_TEST_VIEWER", VIEWER_TOKEN);
        std::env::set_var("SY_TEST_FREEZE_A", FREEZE_A_TOKEN);
        std::env::set_var("SY_TEST_FREEZE_B", FREEZE_B_TOKEN);
    });
}

/// A recording upstream answering `200 ok` and a proxy in front of it with these extra
/// `server:` lines.
pub fn proxy(server_extra: &str) -> (RecordingUpstream, TestProxy) {
    env();
    let up = RecordingUpstream::start();
    let p = TestProxy::start(&config(&up, server_extra));
    (up, p)
}
