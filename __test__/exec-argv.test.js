'use strict'

const test = require('ava')
const { scaled } = require('./helpers/time')
const fc = require('fast-check')
const path = require('node:path')
const { inheritable } = require('../lib/exec-argv')
const { runNode } = require('./helpers/processes')

// Words of a parent's execArgv a worker must not get, in every spelling Node accepts: one flag
// with the value words that belong to it.
const code = fc.string({ maxLength: 12 }).filter((s) => !s.startsWith('-'))
const dropped = fc.oneof(
  fc.tuple(fc.constantFrom('-e', '--eval', '-pe', '--print', '-p', '--input-type', '--input_type'), code),
  code.map((value) => [`--eval=${value}`]),
  code.map((value) => [`--print=${value}`]),
  fc.constantFrom('module', 'commonjs').map((type) => [`--input-type=${type}`]),
  fc.constantFrom('-p', '--print', '-i', '--interactive', '-c', '--check', '--test', '--test-only', '--test-force-exit',
    '--watch', '--watch-preserve-output', '--inspect', '--inspect-brk', '--inspect-wait', '--inspect_brk').map((f) => [f]),
  fc.tuple(fc.constantFrom('--test-name-pattern', '--test-reporter', '--test-reporter-destination', '--test-shard',
    '--test-concurrency', '--test-timeout', '--watch-path', '--inspect-port', '--debug-port', '--inspect-publish-uid'), code),
  fc.constantFrom('--inspect=127.0.0.1:0', '--inspect-brk=9230', '--test-reporter=tap', '--watch-path=./src').map((f) => [f]),
)
// Flags a worker keeps, with their values.
const kept = fc.oneof(
  fc.constantFrom('--no-warnings', '--expose-gc', '--enable-source-maps', '--max-old-space-size=64', '--stack-size=900',
    '--conditions=dev', '--title=x', '--no-deprecation').map((f) => [f]),
  fc.tuple(fc.constantFrom('-r', '--require', '--import', '-C', '--conditions', '--title'), code.filter((s) => s !== '')),
)

test('execArgv: every spelling of eval, print, REPL, check, test, watch and inspector flags is dropped with its value', (t) => {
  fc.assert(
    fc.property(fc.array(fc.oneof(dropped.map((w) => ({ w, keep: false })), kept.map((w) => ({ w, keep: true }))), { maxLength: 12 }), (parts) => {
      const argv = parts.flatMap((p) => p.w)
      const expected = parts.filter((p) => p.keep).flatMap((p) => p.w)
      t.deepEqual(inheritable(argv), expected, JSON.stringify(argv))
    }),
    { numRuns: 2000 },
  )
})

// The parent script, for `node -pe` and `node -p -e`: a worker that ran it instead of the shim
// would find INVOKE_TEST_DEPTH set and exit at once (no chain of pools). It marks its answer's
// line: Node 20 prints the `-p` result ('started') before the pool answers, Node >= 22 at exit,
// after it.
const ANSWER = 'answer: '

function parentScript() {
  return `const ANSWER = ${JSON.stringify(ANSWER)}; process.env.INVOKE_TEST_DEPTH ? process.exit(0) : (process.env.INVOKE_TEST_DEPTH = '1',
    require(${JSON.stringify(path.join(__dirname, '..'))})
      .require(${JSON.stringify(path.join(__dirname, 'fixtures', 'echo.js'))}, {
        pool: require(${JSON.stringify(path.join(__dirname, '..'))}).pool({ limit: 1, retries: 1 }) })
      .then((echo) => echo.execArgv())
      .then((argv) => { process.stdout.write('\\n' + ANSWER + JSON.stringify(argv) + '\\n'); process.exit(0) },
        (error) => { process.stdout.write('\\n' + ANSWER + JSON.stringify(String(error)) + '\\n'); process.exit(1) }), 'started')`
}

for (const flags of [['-pe'], ['-p', '-e'], ['--print'], ['-p'], ['--input-type=commonjs', '-pe']]) {
  test(`a pool made under \`node ${flags.join(' ')}\` runs the worker module, not the parent's code`, async (t) => {
    t.timeout(scaled(30000))
    const run = await runNode([...flags, parentScript()], { timeout: 25000 })
    t.false(run.killed)
    t.is(run.code, 0, run.stdout + run.stderr)
    const lines = run.stdout.split('\n')
    const answers = lines.filter((line) => line.startsWith(ANSWER))
    t.is(answers.length, 1, run.stdout)
    t.deepEqual(JSON.parse(answers[0].slice(ANSWER.length)), [])
    // The parent's own code ran under -p: its result is printed (before or after the answer).
    t.true(lines.includes('started'), run.stdout)
  })
}
