'use strict'
// Where a module's syntax error is. CommonJS puts the file, line and an arrow at the top of a
// SyntaxError's stack; an ES module's (loaded through import() or require(esm), which is also how
// a .ts file with `export` and no loader is compiled) has neither, and Node keeps that location
// where no module can read it. Asking Node to check the source as an ES module in a process of its
// own finds the same text: it runs only when a load already failed so.

const fs = require('node:fs')
const { spawnSync } = require('node:child_process')

/** A stack that opens with `file:line`, as Node's own decorated syntax errors do. */
const LOCATED = /^[^\n]*:\d+\n/
/** `node --check`'s report on its stdin: the location lines, then a blank line and the error's first line. */
const REPORT = /^\[stdin\](:\d+\n[\s\S]*?)\n\nSyntaxError: ([^\n]*)/
/** A check that takes longer is abandoned: the error arrives as it was. */
const CHECK_TIMEOUT_MS = 10000

/** Adds `file:line`, the line and its arrow to the top of `error`'s stack when Node left them out. */
function locateSyntaxError(error, path) {
  let stack
  try {
    if (!(error instanceof SyntaxError)) return
    stack = error.stack
  } catch {
    return
  }
  if (typeof stack !== 'string' || LOCATED.test(stack)) return
  let source
  try {
    source = fs.readFileSync(path)
  } catch {
    return
  }
  const check = spawnSync(process.execPath, ['--input-type=module', '--check'], {
    input: source,
    encoding: 'utf8',
    timeout: CHECK_TIMEOUT_MS,
    stdio: ['pipe', 'ignore', 'pipe'],
  })
  // Node on Windows ends the report's lines with \r\n.
  const report = REPORT.exec((check.stderr ?? '').replace(/\r\n/g, '\n'))
  // The same error, or this is some other one (a SyntaxError thrown by code run at load, say).
  if (report === null || report[2] !== error.message) return
  try {
    error.stack = `${path}${report[1]}\n\n${stack}`
  } catch {
    // A frozen error keeps its stack.
  }
}

module.exports = { locateSyntaxError }
