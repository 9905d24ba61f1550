//! switchyard-core owns every decision switchyard makes that needs no I/O: the configuration
//! model and its compiler (raw `*Spec` serde types → typed, validated [`config::Config`]),
//! canary assignment, its guard and ramp ([`canary`]), change-risk classification
//! ([`change`]), the strict HTTP/1 head rules ([`http1`]), the canonical request path ([`path`]) and host
//! ([`host`]), route and tenant matching ([`routing`]), header hygiene lists ([`hygiene`]) and
//! the problem+json type every refusal is written with ([`problem`]). Nothing here touches a
//! socket, a clock or the file system (secrets are read through an injected [`config::Env`]),
//! so it builds in seconds and is tested table-driven.

pub mod canary;
pub mod change;
pub mod config;
pub mod fairq;
pub mod freeze;
pub mod gcra;
pub mod host;
pub mod http1;
pub mod hygiene;
pub mod odoo;
pub mod path;
pub mod problem;
pub mod routing;
pub mod units;
pub mod webhook;
