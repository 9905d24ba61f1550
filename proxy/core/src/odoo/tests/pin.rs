//! `database_pin` over every source a database can be named from.

use super::*;

const DB: &str = "acme_prod";

struct Req {
    query: Option<&'static str>,
    cookies: &'static [&'static str],
    header: Option<&'static str>,
    form: Option<&'static [u8]>,
}

const NONE: Req = Req {
    query: None,
    cookies: &[],
    header: None,
    form: None,
};

fn q(query: &'static str) -> Req {
    Req {
        query: Some(query),
        ..NONE
    }
}

fn c(cookies: &'static [&'static str]) -> Req {
    Req { cookies, ..NONE }
}

fn h(header: &'static str) -> Req {
    Req {
        header: Some(header),
        ..NONE
    }
}

fn f(form: &'static [u8]) -> Req {
    Req {
        form: Some(form),
        ..NONE
    }
}

#[test]
fn database_pin_cases() {
    use DbViolation::*;
    let err = |v: fn(String) -> DbViolation, s: &str| Err(v(s.to_owned()));
    let cases: Vec<(Req, Result<(), DbViolation>)> = vec![
        (NONE, Ok(())),
        (q("db=acme_prod"), Ok(())),
        (q("db=acme%5Fprod&x=1"), Ok(())),
        (q("db=acme_prod&db=acme_prod"), Ok(())),
        (q("db=acme_prod&db=globex"), err(QueryParam, "globex")),
        (q("db=globex&db=acme_prod"), err(QueryParam, "globex")),
        (q("%64b=globex"), err(QueryParam, "globex")),
        (q("x=1;db=globex"), err(QueryParam, "globex")),
        (q("db=ACME_PROD"), err(QueryParam, "ACME_PROD")),
        (q("db="), err(QueryParam, "")),
        (q("db"), err(QueryParam, "")),
        (q("db=acme_prod+"), err(QueryParam, "acme_prod ")),
        (q("db=acme_prod%00"), err(QueryParam, "acme_prod\0")),
        (q("dbx=globex&xdb=globex&DB=globex"), Ok(())),
        (q("session_id=abc"), Ok(())),
        (q("session_id=abc.acme_prod"), Ok(())),
        (q("session_id=abc.globex"), err(SessionQuery, "globex")),
        (q("session_id=abc%2Eglobex"), err(SessionQuery, "globex")),
        (
            q("session_id=abc&session_id=def.globex"),
            err(SessionQuery, "globex"),
        ),
        (h("abc"), Ok(())),
        (h("abc.acme_prod"), Ok(())),
        (h("abc.globex"), err(SessionHeader, "globex")),
        (h("abc."), err(SessionHeader, "")),
        (h("abc.acme_prod.x"), err(SessionHeader, "acme_prod.x")),
        (c(&["session_id=abc.acme_prod; other=x.globex"]), Ok(())),
        (c(&["session_id=abc.globex"]), err(SessionCookie, "globex")),
        (
            c(&["session_id=abc.acme_prod", "session_id=def.globex"]),
            err(SessionCookie, "globex"),
        ),
        (
            c(&["session_id=\"abc.globex\""]),
            err(SessionCookie, "globex"),
        ),
        (
            c(&["session_id=\"abc\\056globex\""]),
            err(SessionCookie, ""),
        ),
        (
            c(&["session_id=\"abc\\056acme_prod\""]),
            err(SessionCookie, ""),
        ),
        (f(b"login=a&password=b&db=acme_prod"), Ok(())),
        (f(b"login=a&db=globex"), err(FormParam, "globex")),
        (f(b"db=acme_prod&db=globex"), err(FormParam, "globex")),
        (f(b"db=%67lobex"), err(FormParam, "globex")),
        (f(b"db=\xff"), err(FormParam, "\u{fffd}")),
        (
            Req {
                query: Some("db=q"),
                cookies: &["session_id=a.c"],
                header: Some("a.h"),
                form: Some(b"db=f"),
            },
            err(QueryParam, "q"),
        ),
        (
            Req {
                query: Some("db=acme_prod"),
                cookies: &["session_id=a.c"],
                header: Some("a.h"),
                form: Some(b"db=f"),
            },
            err(SessionHeader, "h"),
        ),
    ];
    for (r, want) in cases {
        let got = database_pin(DB, r.query, r.cookies, r.header, r.form);
        assert_eq!(got, want, "{:?} {:?} {:?}", r.query, r.cookies, r.header);
    }
}

#[test]
fn violations_never_show_the_session_token() {
    let v = database_pin(DB, None, &["session_id=s3cr3tt0k3n.globex"], None, None);
    let shown = v.map_err(|e| e.to_string()).expect_err("refused");
    assert!(
        shown.contains("globex") && !shown.contains("s3cr3t"),
        "{shown}"
    );
}
