//! The switchyard binary's library: everything with I/O. [`proxy::start`] brings up the data
//! plane ([`listener`], [`preface`], [`h1`], [`tls`]), runs each request through [`pipeline`] and
//! forwards it ([`forward`]); the control plane ([`live`], [`watch`], [`admin`], [`audit`],
//! [`metrics`], [`health`]) keeps the configuration live and observable. Tests embed it
//! through `switchyard-test-support`.

pub mod access_log;
pub mod admin;
pub mod admission;
pub mod audit;
pub mod body;
pub mod canary;
pub mod cli;
pub mod control;
pub mod ctl;
pub mod ctx;
pub mod demo;
pub mod envsrc;
pub mod forward;
pub mod freeze;
pub mod governance;
pub mod h1;
pub mod health;
pub mod listener;
pub mod live;
pub mod metrics;
pub mod pipeline;
pub mod policies;
pub mod preface;
pub mod proxy;
pub mod reload;
pub mod rescue;
pub mod stages;
pub mod tls;
pub mod upstream;
pub mod watch;
pub mod webhooks;
