//! Appends N small webhooks for partner `dhl` to the spool in DIR, one after the other, and
//! prints `ok <seq>` or `err <message>` per record. The crate's fdatasync fault test runs it
//! under `strace -f -e inject=fdatasync:error=EIO:when=3+` and then reopens DIR.
//!
//! Usage: `cargo run -p switchyard-spool --example append -- DIR N`

use std::process::ExitCode;

use switchyard_spool::{NewRecord, Spool, SpoolOptions, DEFAULT_SEGMENT_BYTES};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(dir), Some(n)) = (args.next(), args.next().and_then(|n| n.parse::<u64>().ok()))
    else {
        eprintln!("usage: append DIR N");
        return ExitCode::from(2);
    };
    let rt = match tokio::runtime::Builder::new_current_thread().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let opts = SpoolOptions {
        dir: dir.into(),
        max_bytes: 1 << 30,
        segment_bytes: DEFAULT_SEGMENT_BYTES,
    };
    let spool = match Spool::open(opts) {
        Ok(spool) => spool,
        Err(e) => {
            eprintln!("open: {e}");
            return ExitCode::FAILURE;
        }
    };
    for i in 1..=n {
        match rt.block_on(spool.append(webhook(i))) {
            Ok(seq) => println!("ok {seq}"),
            Err(e) => println!("err {e}"),
        }
    }
    ExitCode::SUCCESS
}

fn webhook(i: u64) -> NewRecord {
    NewRecord {
        partner: "dhl".to_owned(),
        id: format!("msg_{i}"),
        received_at_ms: 1_700_000_000_000 + i,
        method: "POST".to_owned(),
        path_and_query: "/hooks/dhl/events".to_owned(),
        headers: vec![("content-type".to_owned(), b"application/json".to_vec())],
        body: format!("{{\"n\":{i}}}").into(),
    }
}
