//! `switchyard ctl policy push NAME FILE [--shadow]` (SPEC §6, §7): sends a `.wasm` module to
//! `PUT /api/v1/policies/{name}` as the raw body (`Content-Type: application/wasm`). The
//! server compiles it off the request path with the policy's config, limits and sha256 pin,
//! runs the policy's declared tests, checks the change freeze and audits the push; then the
//! module goes live atomically, or with `--shadow` runs beside the live one and only counts
//! disagreements. A refused module is the server's 422 naming the config path that failed
//! (`policies.<name>.module`, `.sha256`, `.tests[i]`), a freeze its 423, an unknown policy 404.

use super::client::{encode_segment, Admin, CtlError, Payload};
use super::render::{kv, text};
use bytes::Bytes;
use clap::Subcommand;
use http::Method;
use serde_json::Value;
use std::path::PathBuf;

/// `ctl policy …`.
#[derive(Subcommand, Debug)]
pub enum PolicyCmd {
    /// Replace a configured policy's module with FILE (operator): compiled, tested against
    /// the policy's declared tests, freeze-gated and audited, then swapped in atomically
    /// (requests in flight finish on the old module). Push the previous file to roll back.
    Push {
        /// Policy name (`policies.<name>` in the config).
        name: String,
        /// The `.wasm` module to send.
        file: PathBuf,
        /// Run the module as a shadow beside the live one: it sees the same requests, never
        /// acts, and its disagreements are counted
        /// (`switchyard_policy_shadow_disagreements_total`).
        #[arg(long)]
        shadow: bool,
    },
}

/// The admin API path of a push.
pub fn push_path(name: &str, shadow: bool) -> String {
    let mode = if shadow { "?mode=shadow" } else { "" };
    format!("/api/v1/policies/{}{mode}", encode_segment(name))
}

/// Reads the module and sends it.
pub fn send(admin: &Admin, cmd: &PolicyCmd) -> Result<Value, CtlError> {
    match cmd {
        PolicyCmd::Push { name, file, shadow } => {
            let bytes = std::fs::read(file).map_err(|e| CtlError::File {
                path: file.display().to_string(),
                cause: e.to_string(),
            })?;
            let body = Payload {
                bytes: Bytes::from(bytes),
                content_type: "application/wasm",
            };
            admin.send_payload(Method::PUT, &push_path(name, *shadow), Some(body))
        }
    }
}

/// Human output of a push: the policy, the mode, and the module's sha256 before → after.
pub fn render(v: &Value) -> String {
    let mut out = String::new();
    let (before, after) = (text(&v["previous"]), text(&v["sha256"]));
    kv(&mut out, "policy", &text(&v["policy"]));
    let shadow = v["mode"].as_str() == Some("shadow");
    if shadow {
        kv(
            &mut out,
            "mode",
            "shadow: runs beside the live module, never acts; disagreements are counted in switchyard_policy_shadow_disagreements_total",
        );
        kv(
            &mut out,
            "sha256",
            &format!("{before} (live, unchanged) → {after} (shadow)"),
        );
    } else {
        kv(&mut out, "mode", &format!("{}: live now", text(&v["mode"])));
        let same = if before == after {
            " (same module)"
        } else {
            ""
        };
        kv(&mut out, "sha256", &format!("{before} → {after}{same}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_encode_the_name_and_the_mode() {
        assert_eq!(
            push_path("edi-routing", false),
            "/api/v1/policies/edi-routing"
        );
        assert_eq!(push_path("a b", true), "/api/v1/policies/a%20b?mode=shadow");
    }

    #[test]
    fn pushes_read_as_before_and_after() {
        let v = json!({"policy": "maint", "mode": "enforce", "sha256": "bb", "previous": "aa"});
        assert_eq!(
            render(&v),
            "policy   maint\nmode     enforce: live now\nsha256   aa → bb\n"
        );
        let same = json!({"policy": "maint", "mode": "enforce", "sha256": "aa", "previous": "aa"});
        assert!(render(&same).contains("aa → aa (same module)"));
        let shadow = json!({"policy": "maint", "mode": "shadow", "sha256": "bb", "previous": "aa"});
        let r = render(&shadow);
        assert!(r.contains("aa (live, unchanged) → bb (shadow)"), "{r}");
        assert!(r.contains("mode     shadow"), "{r}");
    }
}
