//! Reads `lib/protocol.js`, the JS side's one copy of what it shares with Rust, so that tests on
//! the Rust side can hold the two to the same values. The file keeps to plain literals:
//! `const NAME = 13` and `const NAME = Object.freeze({` then one `Key: value,` per line, `})`.

#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;

/// The file's text (from the repository root, wherever the test runs).
pub fn protocol_js() -> String {
  let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../lib/protocol.js");
  std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A literal's text as a number: decimal or 0x hexadecimal.
pub fn number(text: &str) -> i64 {
  let parsed = match text.strip_prefix("0x") {
    Some(hex) => i64::from_str_radix(hex, 16),
    None => text.parse(),
  };
  parsed.unwrap_or_else(|_| panic!("{text:?} is not a plain number literal"))
}

/// The value of `const NAME = <literal>`.
pub fn scalar(source: &str, name: &str) -> i64 {
  let prefix = format!("const {name} = ");
  let line = source.lines().find_map(|line| line.trim().strip_prefix(&prefix)).unwrap_or_else(|| panic!("no {prefix}"));
  number(line.trim().trim_end_matches(';'))
}

/// The entries of `const NAME = Object.freeze({ … })` (or a bare `{ … }`), values as written
/// (a string without its quotes).
pub fn object(source: &str, name: &str) -> BTreeMap<String, String> {
  let prefix = format!("const {name} = ");
  let mut lines = source.lines().map(str::trim).skip_while(|line| !line.starts_with(&prefix));
  let opening = lines.next().unwrap_or_else(|| panic!("no {prefix}"));
  assert!(opening.ends_with('{'), "{name} opens its entries at the end of the line: {opening:?}");
  let mut entries = BTreeMap::new();
  for line in lines.take_while(|line| !line.starts_with('}')) {
    let (key, value) = line.trim_end_matches(',').split_once(':').unwrap_or_else(|| panic!("{name}: {line:?}"));
    let unquote = |text: &str| text.trim().trim_matches('\'').trim_matches('"').to_string();
    assert!(entries.insert(unquote(key), unquote(value)).is_none(), "{name} names {key} twice");
  }
  entries
}
