//! The real [`Env`] for config compilation: process environment and files on disk.

use std::path::Path;
use switchyard_core::config::Env;

/// Secrets from the process environment and the file system.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
    fn read_file(&self, path: &Path) -> std::io::Result<String> {
        std::fs::read_to_string(path)
    }
}
