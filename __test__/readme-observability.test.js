'use strict'
// The README's Observability snippets, run as pasted: each block marked
// `<!-- observability: file -->` (and the `hash.js` of A first pool) written into a folder in
// this repository, where `invoke-parallel`, `invoke-parallel-otel` and the OpenTelemetry SDK
// resolve as they would in a user's project.

const test = require('ava')
const fs = require('node:fs')
const path = require('node:path')
const { runNode } = require('./helpers/processes')

const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8')
const blocks = (marker) =>
  Object.fromEntries([...readme.matchAll(new RegExp(`<!-- ${marker}: (\\S+) -->\\n\`\`\`\\w*\\n([\\s\\S]*?)\`\`\``, 'g'))].map((m) => [m[1], m[2]]))

function project(t) {
  const dir = fs.mkdtempSync(path.join(__dirname, '.readme-observability-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const files = { 'hash.js': blocks('example')['js/hash.js'], ...blocks('observability') }
  for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, file), text)
  return dir
}

test('watch.js logs every call with its worker, attempt and times, and the stats', async (t) => {
  const dir = project(t)
  const run = await runNode([path.join(dir, 'watch.js')], { cwd: dir, timeout: 30000 })
  t.is(run.code, 0, run.stderr)
  t.regex(run.stdout, /^worker 1 is pid \d+$/m)
  const lines = run.stdout.match(/^slowSquare resolved on pid \d+ \(attempt 1\): waited [\d.]+ ms, ran [\d.]+ ms$/gm)
  t.is(lines?.length, 4, run.stdout)
  t.regex(run.stdout, /^run p50 [\d.]+ ms, p99 [\d.]+ ms; wait p99 [\d.]+ ms; utilization (0|1|0\.\d+)$/m)
})

test('traced.js: the worker span is the child of the parent client span, in the request trace', async (t) => {
  const dir = project(t)
  const run = await runNode([path.join(dir, 'traced.js')], { cwd: dir, timeout: 30000 })
  t.is(run.code, 0, run.stderr)
  const [, traceId] = run.stdout.match(/^trace ([0-9a-f]{32}) [0-9a-f]{64}$/m)
  // ConsoleSpanExporter prints each span as an object literal.
  const spans = run.stdout.split(/\n(?=\{)/).filter((s) => s.includes(`traceId: '${traceId}'`))
  // A span's own fields are the ones indented once.
  const field = (span, name) => span.match(new RegExp(`\\n  ${name}: '?([^',\\n]+)`))?.[1]
  const client = spans.find((s) => field(s, 'name') === 'invoke sha256' && field(s, 'kind') === '2')
  const server = spans.find((s) => field(s, 'name') === 'invoke sha256' && field(s, 'kind') === '1')
  t.truthy(client, run.stdout)
  t.truthy(server, run.stdout)
  t.is(server.match(/parentSpanContext: \{[^}]*spanId: '([0-9a-f]+)'/)?.[1], field(client, 'id'))
})
