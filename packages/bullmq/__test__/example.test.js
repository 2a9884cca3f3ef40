'use strict'
// `npm run example:fleet` as a user runs it: Redis, two hosts and a parent, all shut down after.

const path = require('node:path')
const { execFile } = require('node:child_process')
const { redisTest } = require('./helpers/fleet')

const test = redisTest(__filename)

test('examples/fleet runs every call on one of its two hosts and exits', async (t) => {
  t.timeout(60000)
  const run = path.join(__dirname, '..', '..', '..', 'examples', 'fleet', 'run.js')
  const stdout = await new Promise((resolve, reject) =>
    execFile(process.execPath, [run], { timeout: 50000 }, (err, out) => (err ? reject(err) : resolve(out))),
  )
  const lines = stdout.split('\n').filter((line) => line.includes(' ran on '))
  t.is(lines.length, 8)
  t.true(lines.every((line) => / ran on host-[ab]$/.test(line)), stdout)
})
