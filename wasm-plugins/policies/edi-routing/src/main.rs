//! edi-routing: route EDI interchanges to pools by message type.
//!
//! Reads the request body, recognises ANSI X12 (`ST*856*…`) and UN/EDIFACT
//! (`UNH+…+DESADV:…`) interchanges in its first `scan_limit` bytes ([`edi`]) and, for a
//! configured type, sets `X-Switchyard-Pool: <pool>` and optionally
//! `X-Switchyard-Variant: stable|canary`. The body then goes upstream unchanged: the policy
//! enables *buffer request*, and the SDK reads the rest of the body and writes it back
//! (`Request::restore_body`), because Traefik's host forwards only the last chunk a guest
//! read. So the whole body passes through guest memory: bound it with the host's limits.
//! Bodies that are not EDI, and EDI types with no route and no `default`, pass unchanged.
//!
//! Config (Traefik's string scalars accepted; keys compared case-insensitively):
//! ```yaml
//! routes:                     # message type → pool
//!   "856": integration-workers        # X12 transaction set (also "X12:856")
//!   DESADV: integration-workers       # EDIFACT message type (also "EDIFACT:DESADV")
//!   "*": edi-workers                  # any other EDI message (optional)
//! default: null               # pool for EDI messages no route names (null: leave unrouted)
//! variants:                   # optional: pin message types to a canary variant
//!   "810": stable
//! scan_limit: 65536           # bytes of body examined (default 64 KiB)
//! ```
//! Lookup order for a message: `STANDARD:TYPE`, then `TYPE`, then `*`, then `default`.

mod edi;

use edi::Message;
use switchyard_policy_sdk::{
    Config, ConfigError, Features, Policy, Request, Value, Variant, Verdict,
};

struct EdiRouting {
    routes: Vec<(String, String)>,
    default: Option<String>,
    variants: Vec<(String, Variant)>,
    scan_limit: usize,
}

/// Pool names as switchyard accepts them: 1–63 of `[A-Za-z0-9._-]`.
fn valid_pool(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= 63
        && p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The value for `msg` in a type-keyed table (`X12:856`, `856`, `*`).
fn lookup<'a, T>(table: &'a [(String, T)], msg: &Message) -> Option<&'a T> {
    let qualified = format!("{}:{}", msg.standard(), msg.kind());
    [qualified.as_str(), msg.kind(), "*"]
        .iter()
        .find_map(|key| {
            table
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v)
        })
}

impl Policy for EdiRouting {
    const NAME: &'static str = "edi-routing";
    const FEATURES: Features = Features::BUFFER_REQUEST;

    fn from_config(config: &Value) -> Result<Self, ConfigError> {
        let c = Config::new(config)?;
        c.deny_unknown(&["routes", "default", "variants", "scan_limit"])?;
        let routes = c.field("routes").string_map()?;
        for (k, pool) in &routes {
            if !valid_pool(pool) {
                return Err(ConfigError {
                    path: format!("routes.{k}"),
                    message: format!("{pool:?} is not a pool name"),
                });
            }
        }
        let default = c.field("default").str()?.map(str::to_owned);
        if let Some(p) = &default {
            if !valid_pool(p) {
                return Err(c
                    .field("default")
                    .error(format!("{p:?} is not a pool name")));
            }
        }
        let mut variants = Vec::new();
        for (k, v) in c.field("variants").string_map()? {
            let variant = Variant::parse(&v).ok_or_else(|| ConfigError {
                path: format!("variants.{k}"),
                message: format!("must be stable or canary, got {v:?}"),
            })?;
            variants.push((k, variant));
        }
        let scan_limit = c.field("scan_limit").u64(64 * 1024)?;
        if scan_limit == 0 {
            return Err(c.field("scan_limit").error("must be at least 1"));
        }
        Ok(EdiRouting {
            routes,
            default,
            variants,
            scan_limit: usize::try_from(scan_limit).unwrap_or(usize::MAX),
        })
    }

    fn on_request(&self, req: &mut Request<'_>) -> Verdict {
        let Some(msg) = edi::detect(req.body_prefix(self.scan_limit), self.scan_limit) else {
            return Verdict::Continue;
        };
        if let Some(pool) = lookup(&self.routes, &msg).or(self.default.as_ref()) {
            req.route_to_pool(pool);
        }
        if let Some(variant) = lookup(&self.variants, &msg) {
            req.route_to_variant(*variant);
        }
        Verdict::Continue
    }
}

switchyard_policy_sdk::policy_main!(EdiRouting);

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_policy_sdk::testing::FakeExchange;

    fn policy(config: &str) -> EdiRouting {
        let v = Value::parse(config.as_bytes()).expect("json");
        EdiRouting::from_config(&v).expect("config")
    }

    fn post(body: &str) -> FakeExchange {
        FakeExchange::new("POST", "/edi/inbound").body(body.as_bytes())
    }

    #[test]
    fn routes_by_type() {
        let p = policy(
            r#"{"routes": {"856": "integration-workers", "EDIFACT:desadv": "edifact-workers",
                "X12:810": "billing"}, "default": "edi-default",
                "variants": {"810": "stable", "*": "canary"}}"#,
        );
        for (body, pool, variant) in [
            ("ST*856*1~BSN*00~", "integration-workers", "canary"),
            ("ST*810*1~BIG*x~", "billing", "stable"),
            ("UNH+1+DESADV:D:96A:UN'", "edifact-workers", "canary"),
            ("ST*850*1~", "edi-default", "canary"),
        ] {
            let mut ex = post(body);
            assert_eq!(ex.run(&p), Verdict::Continue);
            assert_eq!(ex.values("x-switchyard-pool"), [pool], "{body}");
            assert_eq!(ex.values("x-switchyard-variant"), [variant], "{body}");
            assert_eq!(ex.forwarded_body(), body.as_bytes());
        }
    }

    #[test]
    fn leaves_the_rest_alone() {
        let p = policy(r#"{"routes": {"856": "w"}, "default": null}"#);
        for body in ["{\"a\": 1}", "", "ST*850*1~"] {
            let mut ex = post(body).header("X-Switchyard-Pool", "client-choice");
            ex.run(&p);
            assert_eq!(ex.values("x-switchyard-pool"), ["client-choice"], "{body}");
            assert!(ex.values("x-switchyard-variant").is_empty());
        }
        // A routed message overrides whatever the client sent.
        let mut ex = post("ST*856*1~").header("X-Switchyard-Pool", "client-choice");
        ex.run(&p);
        assert_eq!(ex.values("x-switchyard-pool"), ["w"]);
    }

    #[test]
    fn scans_a_prefix_and_forwards_everything() {
        let p = policy(r#"{"routes": {"856": "w"}, "scan_limit": 100}"#);
        let big = format!("ST*856*1~{}", "N1*ST*X~".repeat(10_000));
        let mut ex = post(&big);
        ex.run(&p);
        assert_eq!(ex.values("x-switchyard-pool"), ["w"]);
        // The whole body goes upstream (read to the end and written back).
        assert_eq!(ex.forwarded_body(), big.as_bytes());
        assert_eq!(ex.written_body.as_deref(), Some(big.as_bytes()));
        // A request the policy never looked into is left alone.
        let mut get = FakeExchange::get("/edi");
        get.run(&p);
        assert_eq!(get.written_body, None);
    }

    #[test]
    fn traefik_spelling() {
        // Traefik hands every scalar over as a string; "" stands for null.
        let p = policy(r#"{"routes": {"856": "w"}, "default": "", "scan_limit": "16"}"#);
        assert_eq!(p.default, None);
        assert_eq!(p.scan_limit, 16);
    }

    #[test]
    fn config_errors() {
        for bad in [
            r#"{"routes": {"856": "no spaces"}}"#,
            r#"{"routes": ["856"]}"#,
            r#"{"default": "a/b"}"#,
            r#"{"variants": {"810": "blue"}}"#,
            r#"{"scan_limit": 0}"#,
            r#"{"route": {}}"#,
        ] {
            let v = Value::parse(bad.as_bytes()).expect("json");
            assert!(EdiRouting::from_config(&v).is_err(), "{bad}");
        }
    }
}
