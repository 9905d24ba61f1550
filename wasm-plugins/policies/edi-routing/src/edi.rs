//! Recognising EDI interchanges by their first message type, from the raw body.
//!
//! - ANSI X12: an `ISA` envelope declares its separators (the element separator is the
//!   byte after `ISA`; the component separator follows the 16th element separator and the
//!   segment terminator follows that). The transaction set is element 1 of the first `ST`
//!   segment (`ST*856*0001~` → `856`). A body starting at `GS` or `ST` (no envelope) is read
//!   with the element separator that follows the tag and `~` (or a line break) as terminator.
//! - UN/EDIFACT: an optional `UNA` service string advice declares component, element,
//!   release and terminator characters (defaults `:` `+` `?` `'`). The message type is the
//!   first component of element 2 of the first `UNH` segment
//!   (`UNH+1+DESADV:D:96A:UN'` → `DESADV`); the release character escapes separators.
//!
//! Anything else (JSON, XML, compressed bodies) is not EDI. Only the first `limit` bytes are
//! examined.

/// A recognised message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// An X12 transaction set id (`856`).
    X12(String),
    /// An EDIFACT message type (`DESADV`).
    Edifact(String),
}

impl Message {
    /// `X12` / `EDIFACT`.
    pub fn standard(&self) -> &'static str {
        match self {
            Message::X12(_) => "X12",
            Message::Edifact(_) => "EDIFACT",
        }
    }

    /// The type (`856`, `DESADV`).
    pub fn kind(&self) -> &str {
        match self {
            Message::X12(k) | Message::Edifact(k) => k,
        }
    }
}

/// The first message type of an interchange, if `body` is X12 or EDIFACT.
pub fn detect(body: &[u8], limit: usize) -> Option<Message> {
    let body = &body[..body.len().min(limit)];
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let start = body.iter().position(|b| !b.is_ascii_whitespace())?;
    let body = &body[start..];
    if body.starts_with(b"ISA") {
        x12_enveloped(body)
    } else if body.starts_with(b"GS") || body.starts_with(b"ST") {
        let sep = *body.get(2)?;
        let term = if body.contains(&b'~') { b'~' } else { b'\n' };
        x12_segments(body, sep, term)
    } else if body.starts_with(b"UNA") {
        let d = body.get(3..9)?;
        let seps = Seps {
            component: d[0],
            element: d[1],
            release: d[3],
            terminator: d[5],
        };
        edifact(&body[9..], seps)
    } else if body.starts_with(b"UNB") || body.starts_with(b"UNH") {
        edifact(body, Seps::DEFAULT)
    } else {
        None
    }
}

fn x12_enveloped(body: &[u8]) -> Option<Message> {
    let sep = *body.get(3)?;
    if sep.is_ascii_alphanumeric() || sep.is_ascii_whitespace() {
        return None;
    }
    // ISA has 16 elements: after the 16th separator come ISA16 (component separator, one
    // byte) and then the segment terminator.
    let mut seen = 0;
    let mut at = None;
    for (i, &b) in body.iter().enumerate() {
        if b == sep {
            seen += 1;
            if seen == 16 {
                at = Some(i);
                break;
            }
        }
    }
    let term = *body.get(at? + 2)?;
    x12_segments(body, sep, term)
}

fn x12_segments(body: &[u8], sep: u8, term: u8) -> Option<Message> {
    if sep.is_ascii_alphanumeric() || sep.is_ascii_whitespace() {
        return None;
    }
    body.split(|&b| b == term).find_map(|seg| {
        let seg = trim(seg);
        let mut elements = seg.split(|&b| b == sep);
        if elements.next() != Some(b"ST".as_slice()) {
            return None;
        }
        kind(elements.next()?).map(Message::X12)
    })
}

#[derive(Debug, Clone, Copy)]
struct Seps {
    component: u8,
    element: u8,
    release: u8,
    terminator: u8,
}

impl Seps {
    const DEFAULT: Seps = Seps {
        component: b':',
        element: b'+',
        release: b'?',
        terminator: b'\'',
    };
}

/// Splits on `delim` outside release-escaped positions; the pieces keep their escapes.
fn split_released(s: &[u8], delim: u8, release: u8) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut from = 0;
    let mut i = 0;
    while i < s.len() {
        if s[i] == release {
            i += 2;
            continue;
        }
        if s[i] == delim {
            out.push(&s[from..i]);
            from = i + 1;
        }
        i += 1;
    }
    out.push(&s[from.min(s.len())..]);
    out
}

fn edifact(body: &[u8], seps: Seps) -> Option<Message> {
    split_released(body, seps.terminator, seps.release)
        .into_iter()
        .find_map(|seg| {
            let seg = trim(seg);
            let elements = split_released(seg, seps.element, seps.release);
            if elements.first() != Some(&b"UNH".as_slice()) {
                return None;
            }
            let identifier = elements.get(2)?;
            let first = split_released(identifier, seps.component, seps.release)
                .into_iter()
                .next()?;
            kind(first).map(Message::Edifact)
        })
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &s[start..end.max(start)]
}

/// A message type: 1–6 ASCII letters or digits, upper-cased.
fn kind(raw: &[u8]) -> Option<String> {
    let raw = trim(raw);
    (!raw.is_empty() && raw.len() <= 6 && raw.iter().all(u8::is_ascii_alphanumeric))
        .then(|| String::from_utf8_lossy(raw).to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISA: &str = "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *240101*1200*U*00401*000000001*0*P*>~";

    fn x12(kind: &str) -> Option<Message> {
        Some(Message::X12(kind.into()))
    }
    fn edi(kind: &str) -> Option<Message> {
        Some(Message::Edifact(kind.into()))
    }

    #[test]
    fn x12_interchanges() {
        let asn = format!("{ISA}GS*SH*S*R*20240101*1200*1*X*004010~ST*856*0001~BSN*00*1~SE*3*0001~GE*1*1~IEA*1*000000001~");
        assert_eq!(detect(asn.as_bytes(), 1 << 16), x12("856"));
        // Other separators declared by the envelope, line breaks between segments.
        let alt = "ISA|00|          |00|          |ZZ|A|ZZ|B|240101|1200|U|00401|1|0|P|^\n\
                   GS|IN|A|B|20240101|1200|1|X|004010\nST|810|1\nBIG|x\n";
        assert_eq!(detect(alt.as_bytes(), 1 << 16), x12("810"));
        assert_eq!(detect(b"  \r\nST*850*0001~BEG*00~", 1 << 16), x12("850"));
        assert_eq!(
            detect(b"\xEF\xBB\xBFST*850*1\nBEG*00\n", 1 << 16),
            x12("850")
        );
    }

    #[test]
    fn edifact_interchanges() {
        let plain = "UNB+UNOC:3+SENDER+RECEIVER+240101:1200+1'UNH+1+DESADV:D:96A:UN'BGM+351+1'UNT+3+1'UNZ+1+1'";
        assert_eq!(detect(plain.as_bytes(), 1 << 16), edi("DESADV"));
        let una = "UNA:+.? 'UNB+UNOC:3+S+R+240101:1200+1'\nUNH+1+INVOIC:D:96A:UN'";
        assert_eq!(detect(una.as_bytes(), 1 << 16), edi("INVOIC"));
        // Custom separators (element `*`, terminator `~`) and an escaped terminator before UNH.
        let custom = "UNA:*.? ~UNB*UNOC:3*S?~X*R~UNH*1*ORDERS:D:96A:UN~";
        assert_eq!(detect(custom.as_bytes(), 1 << 16), edi("ORDERS"));
        assert_eq!(detect(b"UNH+1+DESADV:D:96A:UN'", 1 << 16), edi("DESADV"));
    }

    #[test]
    fn not_edi() {
        for body in [
            &b""[..],
            b"   ",
            b"{\"ST\": \"856\"}",
            b"<ST>856</ST>",
            b"ISA",
            b"ISA*00*short~ST*856*1~",
            b"STATUS: ok",
            b"UNB+UNOC:3+S+R'BGM+1'",
            b"ST*TOOLONG1*1~",
        ] {
            assert_eq!(
                detect(body, 1 << 16),
                None,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        // Past the scan limit, nothing is found.
        let late = format!("{ISA}{}ST*856*1~", "N1*ST*X~".repeat(100));
        assert_eq!(detect(late.as_bytes(), 64), None);
        assert_eq!(detect(late.as_bytes(), 1 << 16), x12("856"));
    }
}
