//! Reads `lib/protocol.js`, the JS side's one copy of what it shares with Rust, so that tests on
//! the Rust side can hold the two to the same values. The file keeps to plain literals:
//! `const NAME = 13`, and `const NAME = Object.freeze({` (or `{`), one `Key: value,` per line,
//! then `})`.

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

/// What follows `NAME =` on a line that assigns it (`const NAME =`, `exports.NAME =`, …).
fn assigned<'a>(line: &'a str, name: &str) -> Option<&'a str> {
  ["const ", "let ", "var ", "module.exports.", "exports.", ""].iter().find_map(|keyword| {
    let rest = line.trim().strip_prefix(keyword)?.strip_prefix(name)?.trim_start();
    rest.strip_prefix('=').filter(|value| !value.starts_with('=')).map(str::trim)
  })
}

/// The value of `NAME = <literal>`, if the file assigns it.
pub fn scalar_if_present(source: &str, name: &str) -> Option<i64> {
  source.lines().find_map(|line| assigned(line, name)).map(|value| number(value.trim_end_matches(';')))
}

/// The value of `NAME = <literal>`.
pub fn scalar(source: &str, name: &str) -> i64 {
  scalar_if_present(source, name).unwrap_or_else(|| panic!("lib/protocol.js does not assign {name}"))
}

/// The entries of `NAME = Object.freeze({ … })` (or a bare `{ … }`), values as written (a
/// string without its quotes).
pub fn object(source: &str, name: &str) -> BTreeMap<String, String> {
  let mut lines = source.lines().skip_while(|line| assigned(line, name).is_none());
  let opening = lines.next().and_then(|line| assigned(line, name)).unwrap_or_else(|| panic!("no {name} ="));
  assert!(opening.ends_with('{'), "{name} opens its entries at the end of the line: {opening:?}");
  let mut entries = BTreeMap::new();
  for line in lines.map(str::trim).take_while(|line| !line.starts_with('}')) {
    let (key, value) = line.trim_end_matches(',').split_once(':').unwrap_or_else(|| panic!("{name}: {line:?}"));
    let unquote = |text: &str| text.trim().trim_matches('\'').trim_matches('"').to_string();
    assert!(entries.insert(unquote(key), unquote(value)).is_none(), "{name} names {key} twice");
  }
  entries
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn reads_the_forms_the_contract_allows() {
    let source =
      "const A = 13\nexports.B = 0x80;\nconst K = Object.freeze({\n  Load: 1,\n  'queue-full': 'ERR_X',\n})\n";
    assert_eq!(scalar(source, "A"), 13);
    assert_eq!(scalar(source, "B"), 0x80);
    assert_eq!(scalar_if_present(source, "C"), None);
    let entries = object(source, "K");
    assert_eq!(entries["Load"], "1");
    assert_eq!(entries["queue-full"], "ERR_X");
  }
}
