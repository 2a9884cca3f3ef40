'use strict'
// The README's first examples, as the release tests run them in a user's project: the code
// blocks marked `<!-- example: folder/file -->`, and what running `main` must print.

const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { execFileSync } = require('node:child_process')

const root = path.join(__dirname, '..')
const EXPECTED_OUTPUT = [
  '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824', // sha256('hello')
  /\[ 1, 4, 9, 16 \]/,
]

/** The README's code blocks marked `<!-- example: folder/file -->`, as {folder/file: text}. */
function readmeExamples() {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8')
  const examples = {}
  for (const [, file, code] of readme.matchAll(/<!-- example: (\S+) -->\n```\w*\n([\s\S]*?)```/g)) examples[file] = code
  return examples
}

/** How a Linux `node` runs: `exec(node, args, {cwd, env, timeout})` returns what it printed. */
const execNode = (node, args, options) => execFileSync(node, args, { ...options, encoding: 'utf8' })

/**
 * Runs `node main` in `dir` (through `exec`, for a node.exe under wine) and checks it printed what
 * the README says; returns its output.
 */
function runExample(node, dir, main, env, timeout = 60000, exec = execNode) {
  const out = exec(node, [main], { cwd: dir, env, timeout })
  for (const expected of EXPECTED_OUTPUT) {
    assert.ok(typeof expected === 'string' ? out.includes(expected) : expected.test(out), `${dir}/${main} printed:\n${out}`)
  }
  return out
}

module.exports = { readmeExamples, runExample, execNode }
