//! Undoing a failed call's changes without copying the request up front. Every change a guest
//! makes to the lent request is recorded with what it displaced (moved, not cloned) in a
//! [`Journal`]; on failure the journal is replayed backwards, on success it is dropped. Header
//! edits go through [`HeaderEdit`], which journals request fields and leaves the response's
//! unjournaled (a failed call's response is discarded whole).

use std::mem;

use crate::request::Request;

type Field = (String, Vec<u8>);

/// One change, as what undoes it.
enum Undo {
    Method(String),
    Uri(String),
    Value(usize, Vec<u8>),
    Removed(usize, Field),
    Pushed,
}

/// The changes of the current call, oldest first. Its capacity is kept between calls.
#[derive(Default)]
pub(crate) struct Journal(Vec<Undo>);

impl Journal {
    /// Replaces the method, remembering the old one.
    pub(crate) fn set_method(&mut self, req: &mut Request, method: String) {
        self.0
            .push(Undo::Method(mem::replace(&mut req.method, method)));
    }

    /// Replaces the URI, remembering the old one.
    pub(crate) fn set_uri(&mut self, req: &mut Request, uri: String) {
        self.0.push(Undo::Uri(mem::replace(&mut req.uri, uri)));
    }

    /// Puts `req` back as it was before the first recorded change, and empties the journal.
    pub(crate) fn rollback(&mut self, req: &mut Request) {
        while let Some(undo) = self.0.pop() {
            let h = &mut req.headers;
            match undo {
                Undo::Method(m) => req.method = m,
                Undo::Uri(u) => req.uri = u,
                Undo::Value(i, v) => {
                    if let Some(field) = h.get_mut(i) {
                        field.1 = v;
                    }
                }
                Undo::Removed(i, field) => h.insert(i.min(h.len()), field),
                Undo::Pushed => drop(h.pop()),
            }
        }
    }

    /// Forgets the recorded changes (the call succeeded).
    pub(crate) fn commit(&mut self) {
        self.0.clear();
    }
}

/// Header fields being edited, journaled when they are the request's.
pub(crate) struct HeaderEdit<'a> {
    pub(crate) fields: &'a mut Vec<Field>,
    pub(crate) journal: Option<&'a mut Journal>,
}

impl HeaderEdit<'_> {
    fn record(&mut self, undo: Undo) {
        if let Some(j) = self.journal.as_deref_mut() {
            j.0.push(undo);
        }
    }

    /// Replaces the value of field `i`.
    pub(crate) fn replace_value(&mut self, i: usize, value: Vec<u8>) {
        let old = mem::replace(&mut self.fields[i].1, value);
        self.record(Undo::Value(i, old));
    }

    /// Removes every field after index `from` whose name equals `name` (ASCII
    /// case-insensitively), last first so the journal re-inserts them in order.
    pub(crate) fn remove_named(&mut self, name: &[u8], from: usize) {
        for i in (from..self.fields.len()).rev() {
            if self.fields[i].0.as_bytes().eq_ignore_ascii_case(name) {
                let field = self.fields.remove(i);
                self.record(Undo::Removed(i, field));
            }
        }
    }

    /// Appends a field.
    pub(crate) fn push(&mut self, field: Field) {
        self.fields.push(field);
        self.record(Undo::Pushed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(fields: &[(&str, &str)]) -> Request {
        let mut r = Request::new("GET", "/a");
        r.headers = fields
            .iter()
            .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
            .collect();
        r
    }

    #[test]
    fn rollback_restores_every_kind_of_change_in_place() {
        let before = req(&[("a", "1"), ("x", "2"), ("b", "3"), ("x", "4"), ("x", "5")]);
        let mut r = before.clone();
        let mut j = Journal::default();
        {
            let mut e = HeaderEdit {
                fields: &mut r.headers,
                journal: Some(&mut j),
            };
            e.replace_value(1, b"new".to_vec());
            e.remove_named(b"X", 2);
            e.push(("c".into(), b"6".to_vec()));
            e.remove_named(b"a", 0);
        }
        j.set_method(&mut r, "POST".into());
        j.set_uri(&mut r, "/b".into());
        assert_eq!(r, {
            let mut want = req(&[("x", "new"), ("b", "3"), ("c", "6")]);
            want.method = "POST".into();
            want.uri = "/b".into();
            want
        });
        j.rollback(&mut r);
        assert_eq!(r, before);
        assert!(j.0.is_empty());
    }
}
