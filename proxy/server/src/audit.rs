//! The tamper-evident audit log: append-only JSON lines under `data_dir/audit.log`, each
//! written as `{"hash":"<sha256 of the rest>",<rest>}` where the rest holds `seq` and the
//! previous line's hash (`prev`). Editing, reordering or removing a line breaks the chain,
//! which [`verify`] finds (`switchyard audit verify FILE`). Appends are fdatasync'd. With the
//! redis backend each appended line is also mirrored to a shared stream ([`AuditLog::mirror_to`]).

use serde::Serialize;
use serde_json::{json, Value};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audit record before it is chained.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    /// Who (token name, cert subject, `system`).
    pub actor: String,
    /// What kind of change (`config.reload`, …).
    pub action: String,
    /// What it applies to.
    pub target: String,
    /// State before.
    pub before: Value,
    /// State after.
    pub after: Value,
    /// Why.
    pub reason: String,
    /// Ticket reference.
    pub ticket: Option<String>,
    /// `applied`, `refused`, …
    pub result: String,
    /// The break-glass exemption the change was made under.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub break_glass: Option<String>,
    /// How the change moves production risk (governance mutations).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub risk: Option<switchyard_core::change::Risk>,
}

impl AuditEntry {
    /// A new entry.
    pub fn new(actor: &str, action: &str, target: &str) -> Self {
        AuditEntry {
            actor: actor.into(),
            action: action.into(),
            target: target.into(),
            before: Value::Null,
            after: Value::Null,
            reason: String::new(),
            ticket: None,
            result: "applied".into(),
            risk: None,
            break_glass: None,
        }
    }
    /// Sets before/after.
    pub fn state(mut self, before: impl Serialize, after: impl Serialize) -> Self {
        self.before = json!(before);
        self.after = json!(after);
        self
    }
    /// Sets the reason.
    pub fn reason(mut self, r: &str) -> Self {
        self.reason = r.into();
        self
    }
    /// Sets the risk classification.
    pub fn risk(mut self, r: switchyard_core::change::Risk) -> Self {
        self.risk = Some(r);
        self
    }
    /// Sets the ticket reference.
    pub fn ticket(mut self, t: &str) -> Self {
        self.ticket = Some(t.to_owned());
        self
    }
    /// Names the break-glass exemption the change was made under.
    pub fn break_glass(mut self, id: Option<&str>) -> Self {
        self.break_glass = id.map(str::to_owned);
        self
    }
    /// Sets the result.
    pub fn result(mut self, r: &str) -> Self {
        self.result = r.into();
        self
    }
}

struct Tail {
    file: File,
    seq: u64,
    hash: String,
}

/// The open audit log.
pub struct AuditLog {
    path: PathBuf,
    tail: Mutex<Tail>,
    mirror: Mutex<Option<tokio::sync::mpsc::UnboundedSender<String>>>,
}

impl AuditLog {
    /// Opens (creating) the log and reads its tail; refuses a log whose chain is broken.
    pub fn open(path: &Path) -> Result<Self, String> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        let (seq, hash) = if path.exists() {
            verify(path).map_err(|e| format!("audit log {}: {e}", path.display()))?
        } else {
            (0, GENESIS.to_owned())
        };
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        Ok(AuditLog {
            path: path.to_owned(),
            tail: Mutex::new(Tail { file, seq, hash }),
            mirror: Mutex::new(None),
        })
    }

    /// The last entry's sequence number and hash (the chain head).
    pub fn head(&self) -> (u64, String) {
        let t = self.tail.lock().unwrap_or_else(|e| e.into_inner());
        (t.seq, t.hash.clone())
    }

    /// Sends every line appended from now on to `tx` as well (the redis stream mirror).
    pub fn mirror_to(&self, tx: tokio::sync::mpsc::UnboundedSender<String>) {
        *self.mirror.lock().unwrap_or_else(|e| e.into_inner()) = Some(tx);
    }

    /// The log's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends an entry durably; returns its hash, or an error if it could not be written.
    pub fn append(&self, entry: AuditEntry) -> Result<String, String> {
        let mut t = self.tail.lock().unwrap_or_else(|e| e.into_inner());
        let seq = t.seq + 1;
        let mut body = serde_json::to_value(&entry).map_err(|e| e.to_string())?;
        if let Value::Object(m) = &mut body {
            m.insert("seq".into(), seq.into());
            m.insert("prev".into(), t.hash.clone().into());
            m.insert("ts".into(), crate::live::now_rfc3339().into());
        }
        let body = serde_json::to_string(&body).map_err(|e| e.to_string())?;
        let hash = crate::live::sha256_hex(body.as_bytes());
        let line = format!("{{\"hash\":\"{hash}\",{}\n", &body[1..]);
        let before = t
            .file
            .metadata()
            .map(|m| m.len())
            .map_err(|e| format!("audit log: {e}"))?;
        if let Err(e) = t
            .file
            .write_all(line.as_bytes())
            .and_then(|_| t.file.sync_data())
        {
            // Leave no half-written or unsynced line behind: the chain must stay verifiable.
            let _ = t.file.set_len(before);
            return Err(format!("audit write failed: {e}"));
        }
        t.seq = seq;
        t.hash = hash.clone();
        if let Some(tx) = &*self.mirror.lock().unwrap_or_else(|e| e.into_inner()) {
            let _ = tx.send(line.trim_end().to_owned());
        }
        Ok(hash)
    }

    /// Entries with `seq > since`, at most `limit`, oldest first.
    pub fn read(&self, since: u64, limit: usize) -> Result<Vec<Value>, String> {
        let f = File::open(&self.path).map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        for line in BufReader::new(f).lines() {
            let v: Value = serde_json::from_str(&line.map_err(|e| e.to_string())?)
                .map_err(|e| e.to_string())?;
            if v["seq"].as_u64().unwrap_or(0) > since {
                out.push(v);
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }
}

/// Checks the chain; returns (last seq, last hash) or the first bad line.
pub fn verify(path: &Path) -> Result<(u64, String), String> {
    let f = File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let (mut seq, mut prev) = (0u64, GENESIS.to_owned());
    for (i, line) in BufReader::new(f).lines().enumerate() {
        let n = i + 1;
        let line = line.map_err(|e| format!("line {n}: unreadable: {e}"))?;
        let bad = |why: &str| format!("line {n}: {why}");
        let rest = line
            .strip_prefix("{\"hash\":\"")
            .ok_or_else(|| bad("not an audit entry"))?;
        let (hash, body) = (
            rest.get(..64).ok_or_else(|| bad("truncated"))?,
            rest.get(64..).ok_or_else(|| bad("truncated"))?,
        );
        let body = format!(
            "{{{}",
            body.strip_prefix("\",").ok_or_else(|| bad("malformed"))?
        );
        if crate::live::sha256_hex(body.as_bytes()) != hash {
            return Err(bad("hash mismatch: the entry was edited"));
        }
        let v: Value =
            serde_json::from_str(&body).map_err(|e| bad(&format!("invalid JSON: {e}")))?;
        if v["prev"].as_str() != Some(prev.as_str()) {
            return Err(bad("chain broken: entries were removed or reordered"));
        }
        if v["seq"].as_u64() != Some(seq + 1) {
            return Err(bad("sequence gap: entries were removed or reordered"));
        }
        seq += 1;
        prev = hash.to_owned();
    }
    Ok((seq, prev))
}
