//! Near-misses of a valid TOML file: byte flips, cuts, splices of TOML
//! fragments, huge numbers, odd keys, unicode, CRLF and a byte order mark,
//! applied to a file the tool wrote, so that a parser is driven past its
//! first checks rather than stopped at the first byte.

use proptest::prelude::*;

/// One change to a file's bytes; positions are taken modulo the length.
#[derive(Debug, Clone)]
pub(crate) enum Mutation {
    /// XOR one byte.
    Flip(usize, u8),
    /// Set one byte to one TOML or UTF-8 cares about.
    Set(usize, u8),
    /// Cut the file short.
    Truncate(usize),
    /// Remove a run of bytes.
    Delete(usize, usize),
    /// Copy a run of bytes elsewhere: a bad merge.
    Duplicate(usize, usize, usize),
    /// Insert a TOML fragment at a byte position.
    Insert(usize, usize),
    /// Replace what follows the `=` of a line with a value fragment.
    Value(usize, usize),
    /// Replace what precedes the `=` of a line with a key fragment.
    Key(usize, usize),
    /// Remove a line.
    DeleteLine(usize),
    /// Swap two lines.
    SwapLines(usize, usize),
    /// Insert a whole-line fragment (a header, an assignment) before a line.
    InsertLine(usize, usize),
    /// End every line with CRLF.
    Crlf,
    /// Start with a byte order mark.
    Bom,
}

/// Bytes a parser treats specially, and bytes that break UTF-8.
const SPECIAL_BYTES: &[u8] = b"\"'=[]{},.#\\\n\r\t \0\x7f\xff\xc3\xe2\x80";

/// Values: huge and odd numbers, odd strings, other types.
const VALUES: &[&str] = &[
    "18446744073709551615",
    "18446744073709551616",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-1",
    "0",
    "1_000",
    "0x7fffffffffffffff",
    "0o777",
    "0b101",
    "1e999",
    "-0.0",
    "inf",
    "nan",
    "true",
    "1979-05-27T07:32:00Z",
    "1979-05-27",
    "07:32:00",
    "\"\"",
    "\"\\u0000\"",
    "\"\\uD800\"",
    "\"\\U0010FFFF\"",
    "\"\u{202e}evil\u{1b}[2J\"",
    "\"a\\nb\\r\\nc\"",
    "\"\\\"",
    "'''\nmulti\r\nline'''",
    "\"\"\"\\\n  folded\"\"\"",
    "'literal \\ text'",
    "\"x\" \"y\"",
    "[]",
    "[1, \"a\", [2]]",
    "[\"myapp\", \"api\"]",
    "{}",
    "{ value = \"x\", force = true }",
    "{ value = \"x\", relative = \"yes\" }",
    "{ secret = \"hmac-sha256:0000000000000000000000000000000000000000000000000000000000000000\" }",
    "{ secret = \"hmac-sha256:00\", sealed = \"YWdl\" }",
    "{ value = \"x\", secret = \"y\" }",
    "{ value = \"x\", sealed = \"YWdl\" }",
    "\"sha256:0000000000000000000000000000000000000000000000000000000000000000\"",
    "\"0000000000000000000000000000000000000000\"",
    "\"2026-02-30T25:61:00Z\"",
    "\"2026-01-15T04:00:00-08:00\"",
    "\"-rf\"",
    "\"../../etc/passwd\"",
];

/// Keys: odd, quoted, dotted, duplicated fields, names no shell takes.
const KEYS: &[&str] = &[
    "format",
    "version",
    "kind",
    "change",
    "when",
    "status",
    "commit",
    "deploy",
    "name",
    "sha256",
    "size",
    "value",
    "force",
    "relative",
    "secret",
    "sealed",
    "previous-digest",
    "rollback-to",
    "latest-deploy",
    "\"\"",
    "\"é\"",
    "\"\\u0000\"",
    "'quoted key'",
    "a.b.c",
    "config.PATH",
    "code.commit",
    "env.A",
    "A-B",
    "1X",
    "PATH",
    "LD_PRELOAD",
    "_",
    "ÉTÉ",
    "\"A\nB\"",
];

/// Whole lines: headers, array tables, assignments, conflict markers.
const LINES: &[&str] = &[
    "[code]",
    "[code.slug]",
    "[[code.slug.executables]]",
    "[[code.addons]]",
    "[code.build]",
    "[latest-deploy]",
    "[latest-deploy.slug]",
    "[config]",
    "[config.A]",
    "[team]",
    "[release-phase]",
    "[promoted-from]",
    "[addon-releases]",
    "[env]",
    "[env.A]",
    "[[env]]",
    "[build]",
    "[alias]",
    "[target.x86_64-unknown-linux-gnu]",
    "env = 1",
    "env = { A = \"1\" }",
    "env.B = \"2\"",
    "format = 2",
    "format = 0",
    "format = \"1\"",
    "version = 1",
    "unknown-field = 1",
    "unhealthy = [1, 2, 3]",
    "addons = []",
    "A = \"1\"",
    "B = { value = \"2\", force = true }",
    "value = \"v\"",
    "relative = true",
    "<<<<<<< HEAD",
    "=======",
    ">>>>>>> branch",
    "# comment \u{202e}",
    "\u{feff}",
    "",
    "[",
    "]]",
    "\"unterminated",
    "a = \"\"\"",
    "x = [",
];

/// A list of mutations: none (a valid file, to reach what follows the parse) to a few.
pub(crate) fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    proptest::collection::vec(mutation(), 0..5)
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let at = || any::<usize>();
    let len = || 1..64usize;
    prop_oneof![
        3 => (at(), 1..=255u8).prop_map(|(i, x)| Mutation::Flip(i, x)),
        2 => (at(), proptest::sample::select(SPECIAL_BYTES)).prop_map(|(i, b)| Mutation::Set(i, b)),
        1 => at().prop_map(Mutation::Truncate),
        1 => (at(), len()).prop_map(|(i, n)| Mutation::Delete(i, n)),
        1 => (at(), 1..400usize, at()).prop_map(|(i, n, to)| Mutation::Duplicate(i, n, to)),
        2 => (at(), at()).prop_map(|(i, f)| Mutation::Insert(i, f)),
        4 => (at(), at()).prop_map(|(l, f)| Mutation::Value(l, f)),
        3 => (at(), at()).prop_map(|(l, f)| Mutation::Key(l, f)),
        2 => at().prop_map(Mutation::DeleteLine),
        1 => (at(), at()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        3 => (at(), at()).prop_map(|(l, f)| Mutation::InsertLine(l, f)),
        1 => Just(Mutation::Crlf),
        1 => Just(Mutation::Bom),
    ]
}

/// `text` with `mutations` applied in order.
pub(crate) fn apply(text: &str, mutations: &[Mutation]) -> Vec<u8> {
    let mut bytes = text.as_bytes().to_vec();
    for mutation in mutations {
        apply_one(&mut bytes, mutation);
    }
    bytes
}

fn apply_one(bytes: &mut Vec<u8>, mutation: &Mutation) {
    let n = bytes.len();
    // A position in the file, its end included.
    let pos = |i: usize| i % (n + 1);
    match *mutation {
        Mutation::Flip(i, x) if n > 0 => bytes[i % n] ^= x,
        Mutation::Set(i, b) if n > 0 => bytes[i % n] = b,
        Mutation::Truncate(i) => bytes.truncate(pos(i)),
        Mutation::Delete(i, len) => {
            let start = pos(i);
            bytes.drain(start..(start + len).min(n));
        }
        Mutation::Duplicate(i, len, to) => {
            let start = pos(i);
            let run = bytes[start..(start + len).min(n)].to_vec();
            let to = pos(to);
            bytes.splice(to..to, run);
        }
        Mutation::Insert(i, f) => {
            let fragment = pick_fragment(f);
            let at = pos(i);
            bytes.splice(at..at, fragment.bytes());
        }
        Mutation::Value(l, f) => edit_line(bytes, l, |line| match find(line, b'=') {
            Some(eq) => [&line[..=eq], b" ", VALUES[f % VALUES.len()].as_bytes()].concat(),
            None => line.to_vec(),
        }),
        Mutation::Key(l, f) => edit_line(bytes, l, |line| match find(line, b'=') {
            Some(eq) => [KEYS[f % KEYS.len()].as_bytes(), b" ", &line[eq..]].concat(),
            None => line.to_vec(),
        }),
        Mutation::DeleteLine(l) => {
            let mut lines = split_lines(bytes);
            if !lines.is_empty() {
                lines.remove(l % lines.len());
            }
            *bytes = lines.concat();
        }
        Mutation::SwapLines(a, b) => {
            let mut lines = split_lines(bytes);
            if !lines.is_empty() {
                let len = lines.len();
                lines.swap(a % len, b % len);
            }
            *bytes = lines.concat();
        }
        Mutation::InsertLine(l, f) => {
            let mut lines = split_lines(bytes);
            let at = l % (lines.len() + 1);
            lines.insert(at, format!("{}\n", LINES[f % LINES.len()]).into_bytes());
            *bytes = lines.concat();
        }
        Mutation::Crlf => {
            let mut out = Vec::with_capacity(n + n / 16);
            for &b in bytes.iter() {
                if b == b'\n' && out.last() != Some(&b'\r') {
                    out.push(b'\r');
                }
                out.push(b);
            }
            *bytes = out;
        }
        Mutation::Bom => {
            bytes.splice(0..0, "\u{feff}".bytes());
        }
        Mutation::Flip(..) | Mutation::Set(..) => {}
    }
}

fn pick_fragment(f: usize) -> &'static str {
    let all = VALUES.len() + KEYS.len() + LINES.len();
    let f = f % all;
    if f < VALUES.len() {
        VALUES[f]
    } else if f < VALUES.len() + KEYS.len() {
        KEYS[f - VALUES.len()]
    } else {
        LINES[f - VALUES.len() - KEYS.len()]
    }
}

fn find(line: &[u8], byte: u8) -> Option<usize> {
    line.iter().position(|&b| b == byte)
}

/// The lines of `bytes`, each with its line ending.
fn split_lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes
        .split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

/// Rewrites line `l` (modulo the count) with `edit`, keeping its line ending.
fn edit_line(bytes: &mut Vec<u8>, l: usize, edit: impl FnOnce(&[u8]) -> Vec<u8>) {
    let mut lines = split_lines(bytes);
    if lines.is_empty() {
        return;
    }
    let i = l % lines.len();
    let line = &lines[i];
    let body = line.strip_suffix(b"\n").unwrap_or(line);
    let body = body.strip_suffix(b"\r").unwrap_or(body);
    let ending = line[body.len()..].to_vec();
    let mut new = edit(body);
    new.extend(ending);
    lines[i] = new;
    *bytes = lines.concat();
}
