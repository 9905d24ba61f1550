//! Strict head rules and chunked coding, table-driven.

use super::*;

const LIMITS: HeadLimits = HeadLimits {
    max_head: 8192,
    max_uri: 1024,
    max_fields: 16,
};

fn check(raw: &str) -> Result<Head, HeadError> {
    let b = raw.as_bytes();
    let end = find_head_end(b).expect("complete head");
    validate(&b[..end], &LIMITS)
}

#[test]
fn accepted_heads() {
    let cases: &[(&str, Framing, bool)] = &[
        ("GET / HTTP/1.1\r\nHost: a\r\n\r\n", Framing::None, false),
        ("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n", Framing::Length(5), false),
        ("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", Framing::None, false),
        ("GET /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", Framing::None, false),
        ("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n", Framing::Chunked, false),
        ("GET /websocket HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n\r\n", Framing::None, true),
        ("GET http://a:8080/x HTTP/1.1\r\nHost: A:8080\r\n\r\n", Framing::None, false),
        ("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", Framing::None, false),
        ("GET / HTTP/1.0\r\nHost: a\r\nX-A:\tv  \r\n\r\n", Framing::None, false),
    ];
    for (raw, framing, upgrade) in cases {
        assert_eq!(
            check(raw),
            Ok(Head {
                framing: *framing,
                upgrade: *upgrade
            }),
            "{raw:?}"
        );
    }
}

#[test]
fn refused_heads() {
    let cases: &[(&str, u16)] = &[
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\rc\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\0c\r\n\r\n", 400),
        ("GET / HTTP/1.1\nHost: a\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: a\n\n", 400),
        ("GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nX-A: b\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400),
        ("GET http://b/x HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("GET http://u@a/x HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("GET / HTTP/1.2\r\nHost: a\r\n\r\n", 400),
        ("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 400),
        ("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", 400),
        ("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer_Encoding: chunked\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent--Length: 5\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n", 400),
        ("HEAD / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
    ];
    for (raw, status) in cases {
        assert_eq!(check(raw).map_err(|e| e.status()), Err(*status), "{raw:?}");
    }
    let long_uri = format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "a".repeat(2000));
    assert_eq!(check(&long_uri), Err(HeadError::UriTooLong));
    let many = format!(
        "GET / HTTP/1.1\r\nHost: a\r\n{}\r\n",
        "X-A: b\r\n".repeat(20)
    );
    assert_eq!(check(&many), Err(HeadError::TooLarge));
    let big = format!(
        "GET / HTTP/1.1\r\nHost: a\r\nX-A: {}\r\n\r\n",
        "b".repeat(9000)
    );
    assert_eq!(check(&big), Err(HeadError::TooLarge));
}

#[test]
fn head_end_and_blank_lines() {
    assert_eq!(
        find_head_end(b"GET / HTTP/1.1\r\nHost: a\r\n\r\nrest"),
        Some(27)
    );
    assert_eq!(find_head_end(b"GET / HTTP/1.1\r\nHost: a\r\n"), None);
    assert_eq!(find_head_end(b"GET / HTTP/1.1\r\nHost: a\r\n\r"), None);
    assert_eq!(find_head_end(b"GET / HTTP/1.1\nHost: a\n\n"), Some(24));
    assert_eq!(leading_blank_lines(b"\r\n\r\nGET"), 4);
}

#[test]
fn chunked_scanner_finds_the_end() {
    let body = b"5\r\nhello\r\n3;ext=1\r\nabc\r\n0\r\nX-Trailer: 1\r\n\r\nGET /next";
    let end = body.len() - b"GET /next".len();
    // Whole, and fed one byte at a time: the same end.
    assert_eq!(ChunkedScanner::default().feed(body), Ok(Some(end)));
    let mut s = ChunkedScanner::default();
    let mut found = None;
    for (i, b) in body.iter().enumerate() {
        if let Some(n) = s.feed(std::slice::from_ref(b)).expect("valid") {
            assert_eq!(n, 1);
            found = Some(i + 1);
            break;
        }
    }
    assert_eq!(found, Some(end));
    assert_eq!(ChunkedScanner::default().feed(b"0\r\n\r\n"), Ok(Some(5)));
}

#[test]
fn chunked_scanner_refuses_bad_framing() {
    for bad in [
        &b"x\r\n"[..],
        b"5\nhello",
        b"5\r\nhelloX\r\n",
        b"5\r\nhello\r\n0\r\n\n",
        b"ffffffffffffffff0\r\n",
        b"\r\n",
    ] {
        assert!(
            ChunkedScanner::default().feed(bad).is_err(),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn chunked_step_decodes_data_and_finds_the_end() {
    let body = b"5\r\nhello\r\n3;x=1\r\nabc\r\n0\r\nT: 1\r\n\r\nNEXT";
    for split in [1usize, 2, 3, 7, 100] {
        let mut s = ChunkedScanner::default();
        let (mut data, mut at, mut end) = (Vec::new(), 0usize, None);
        let mut avail = split.min(body.len());
        while end.is_none() {
            match s.step(&body[at..avail]).expect("valid") {
                Step::Data(n) => {
                    data.extend_from_slice(&body[at..at + n]);
                    at += n;
                }
                Step::Framing(n) => {
                    at += n;
                    if at == avail {
                        avail = (avail + split).min(body.len());
                    }
                }
                Step::End(n) => end = Some(at + n),
            }
        }
        assert_eq!(data, b"helloabc", "split {split}");
        assert_eq!(end, Some(body.len() - 4), "split {split}");
    }
    assert!(ChunkedScanner::default().step(b"5\nhello").is_err());
}
