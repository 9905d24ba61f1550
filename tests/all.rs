//! Integration and end-to-end tests: one binary, one module per area. Every server binds
//! 127.0.0.1 port 0 (external binaries get a port that was just free); every wait polls with
//! a deadline.

#[path = "it/admin.rs"]
mod admin;
#[path = "it/canary.rs"]
mod canary;
#[path = "it/cli.rs"]
mod cli;
#[path = "it/common.rs"]
mod common;
#[path = "it/conformance.rs"]
mod conformance;
#[path = "it/corpus.rs"]
mod corpus;
#[path = "it/ctl.rs"]
mod ctl;
#[path = "it/demo.rs"]
mod demo;
#[path = "it/drain.rs"]
mod drain;
#[path = "it/forwarding.rs"]
mod forwarding;
#[path = "it/freeze.rs"]
mod freeze;
#[path = "it/limits.rs"]
mod limits;
#[path = "it/policies.rs"]
mod policies;
#[path = "it/redis.rs"]
mod redis;
#[path = "it/reload.rs"]
mod reload;
#[path = "it/tenants.rs"]
mod tenants;
#[path = "it/tls.rs"]
mod tls;
#[path = "it/traefik.rs"]
mod traefik;
#[path = "it/webhooks.rs"]
mod webhooks;
