//! Integration and end-to-end tests live in all.rs and its modules.
