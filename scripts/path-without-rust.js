'use strict'
// A PATH on which no Rust toolchain can be found, for tests of what a user without Rust gets.
// A folder holding cargo or rustc is not just dropped: when it is /usr/bin (Debian's cargo
// packages install there) dropping it would take sh and every other tool with it. It is replaced
// by a folder of links to everything in it except the Rust tools.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const RUST_TOOLS = /^(cargo|rustc|rustup|rustdoc|cargo-.*|rust-.*)$/

/** `{PATH, cleanup}`: `first` (folders to put in front), then process PATH's folders without Rust. */
function pathWithoutRust(first = []) {
  const shadows = fs.mkdtempSync(path.join(os.tmpdir(), 'no-rust-path-'))
  const folders = (process.env.PATH ?? '').split(':').filter(Boolean).map((dir, index) => {
    const hasRust = ['cargo', 'rustc'].some((tool) => fs.existsSync(path.join(dir, tool)))
    if (!hasRust) return dir
    const shadow = path.join(shadows, String(index))
    fs.mkdirSync(shadow)
    for (const name of fs.readdirSync(dir)) {
      if (!RUST_TOOLS.test(name)) fs.symlinkSync(path.join(dir, name), path.join(shadow, name))
    }
    return shadow
  })
  return { PATH: [...first, ...folders].join(':'), cleanup: () => fs.rmSync(shadows, { recursive: true, force: true }) }
}

module.exports = { pathWithoutRust }
