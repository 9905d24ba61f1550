//! The pipeline's stages, one module each; every stage either continues or returns a
//! [`crate::rescue::Reject`]. The order they run in is written once, in [`crate::pipeline`].

pub mod admit;
pub mod canary;
pub mod identify;
pub mod odoo;
pub mod respond;
pub mod target;
pub mod trust;
