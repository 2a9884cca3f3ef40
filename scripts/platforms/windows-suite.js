'use strict'
// Runs inside a Windows node.exe under wine (scripts/test-windows.js starts it): the JS suite's
// test files, each by its own ava process (`--tap`) with this node.exe, two at a time, each one's
// TAP written to OUT/<file>.tap. One ava per file, because ava's own process can wait forever
// under wine once it has timed a worker out (seen with the whole suite in one ava, Node 24). While
// a file runs, OUT/<file>.running holds its ava's pid: test-windows.js, outside wine, ends a file
// that outlives its deadline (windows-suite-watch.js), which a timer in this process may not: in
// one run (Node 22.23.3, two files hung for 18 min) it never did.
//
//   node.exe windows-suite.js OUT FILE...

const fs = require('node:fs')
const path = require('node:path')
const { spawn } = require('node:child_process')

const [out, ...files] = process.argv.slice(2)
const root = path.join(__dirname, '..', '..')
const ava = path.join(root, 'node_modules', 'ava', 'entrypoints', 'cli.mjs')
// ava's own limit (no test reported for so long: the file fails) is 120 s scaled as the tests'
// limits are (INVOKE_TEST_TIME_SCALE), above the 120 s most of them set themselves, so a slow test
// fails with its own message: ava 7's TAP reporter throws on its own timeout, naming no test (the
// file then ends without a plan, which test-windows.js counts as a failure). The package's 60 s
// scaled by 4 was passed by a 100,000-call fixture's own limit (hardening, Node 24, at load 15-19).
const SCALE = Number(process.env.INVOKE_TEST_TIME_SCALE) > 0 ? Number(process.env.INVOKE_TEST_TIME_SCALE) : 1
const AVA_TIMEOUT = `${120 * SCALE}s`
// Files run at once (INVOKE_WINDOWS_AT_ONCE, default 2: the machine's two cores).
const AT_ONCE = Number(process.env.INVOKE_WINDOWS_AT_ONCE) > 0 ? Number(process.env.INVOKE_WINDOWS_AT_ONCE) : 2

function runFile(file) {
  const tap = path.join(out, `${path.basename(file)}.tap`)
  const fd = fs.openSync(tap, 'w')
  const started = Date.now()
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [ava, '--tap', '--timeout', AVA_TIMEOUT, file], { cwd: root, stdio: ['ignore', fd, fd] })
    const running = path.join(out, `${path.basename(file)}.running`)
    if (child.pid !== undefined) fs.writeFileSync(running, String(child.pid))
    // An ava that cannot start at all is a failed file, not a wait for an exit that never comes.
    child.on('error', (error) => {
      fs.rmSync(running, { force: true })
      fs.closeSync(fd)
      fs.appendFileSync(tap, `\nnot ok - ${path.basename(file)}: ava could not start: ${error.message}\n`)
      resolve()
    })
    child.on('exit', (code) => {
      fs.rmSync(running, { force: true })
      fs.closeSync(fd)
      fs.appendFileSync(path.join(out, 'times.jsonl'), `${JSON.stringify({ file, code, ms: Date.now() - started })}\n`)
      resolve()
    })
  })
}

async function main() {
  const queue = [...files]
  await Promise.all(
    Array.from({ length: AT_ONCE }, async () => {
      while (queue.length > 0) await runFile(queue.shift())
    }),
  )
}

main()
