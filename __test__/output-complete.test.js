'use strict'
// Captured output loses no line: everything a worker wrote arrives before close() resolves, and
// before a program that just ends exits, whatever the size of the writes and however slow the
// parent's handler.

const test = require('ava')
const fc = require('fast-check')
const path = require('node:path')
const { execFile } = require('node:child_process')
const invoke = require('..')
const { runNode } = require('./helpers/processes')

const fixture = (name) => path.join(__dirname, 'fixtures', name)

for (const mode of ['prefix', 'function']) {
  test(`a program that just ends gets its worker's last console.log line (output: ${mode}, 40 runs)`, async (t) => {
    t.timeout(180000)
    const counts = {}
    // Four at a time: each run is a process of its own.
    for (let run = 0; run < 40; run += 4) {
      const runs = await Promise.all(
        Array.from({ length: 4 }, () => runNode([fixture('output-ends-parent.js'), mode], { timeout: 60000 })),
      )
      for (const { code, stdout, stderr } of runs) {
        t.is(code, 0, stderr)
        const lines = stdout.split('\n').filter(Boolean).length
        counts[lines] = (counts[lines] ?? 0) + 1
      }
    }
    t.deepEqual(counts, { 1: 40 })
  })
}

test('a program whose worker never stops writing still ends, with the line written before the answer', async (t) => {
  t.timeout(60000)
  const run = await runNode([fixture('output-flood-ends-parent.js')], { timeout: 50000 })
  t.is(run.code, 0, run.stderr)
  t.is(run.stdout, 'before the answer\n')
})

test('a program that just ends gets every line written before the answer, even more than the parent reads in one loop turn', async (t) => {
  t.timeout(120000)
  // 5 MB of lines in a stdout widened to 4 MiB (8 MiB in the kernel's count): when the answer is
  // read, most of the output is still in the pipe, and the pool holds the loop until it is read
  // (the portable driver's count of what it read on the loop and what its pipes still hold;
  // without it the program ended with 20,763 of the 50,000 lines). Widening needs root
  // (SO_SNDBUFFORCE) or net.core.wmem_max >= 4 MiB; the Linux driver's pipes are pipes and stay
  // as they are (0 is logged), where the lines must arrive all the same.
  const run = await runNode([fixture('output-wide-pipe-parent.js'), '50000', '100'], { timeout: 100000 })
  t.is(run.code, 0, run.stderr)
  const [heard, size] = run.stdout.trim().split(' ').map(Number)
  t.log(`the worker's stdout held ${size} bytes`)
  t.is(heard, 50000)
})

test("output: 'prefix', 2 calls x 100,000 lines (one as a single write): every line arrives before close() resolves", async (t) => {
  t.timeout(180000)
  const stdout = await new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [fixture('output-close-parent.js'), '100000'],
      { maxBuffer: 2 ** 26, timeout: 170000 },
      (error, out) => (error ? reject(error) : resolve(out)),
    )
  })
  const lines = stdout.split('\n')
  t.is(lines.at(-2), 'closed')
  t.is(lines.filter((l) => / a \d+$/.test(l)).length, 100000)
  t.is(lines.filter((l) => / b \d+$/.test(l)).length, 100000)
})

for (const work of [0, 2000]) {
  const handler = work === 0 ? 'a handler that only counts' : 'a handler with work to do per line'
  test(`2 calls x 100,000 lines (one as a single write) all reach ${handler} before close() resolves`, async (t) => {
    t.timeout(180000)
    const heard = { a: 0, b: 0 }
    let done = 0
    const pool = invoke.pool({
      limit: 2,
      output: (line) => {
        heard[line[0]]++
        for (let i = 0; i < work; i++) done += i
      },
    })
    const printer = await invoke.require('./fixtures/printer', { pool })
    await Promise.all([printer.lines(100000, 'a'), printer.oneWrite(100000, 'b')])
    await pool.close()
    t.deepEqual(heard, { a: 100000, b: 100000 })
    t.true(work === 0 || done > 0)
  })

  test(`10,000 lines in one write, then close(): all reach ${handler} before close() resolves`, async (t) => {
    let heard = 0
    let done = 0
    const pool = invoke.pool({
      limit: 1,
      output: () => {
        heard++
        for (let i = 0; i < work * 10; i++) done += i
      },
    })
    const printer = await invoke.require('./fixtures/printer', { pool })
    // 2 MB: most of it more than the pipe takes at once.
    await printer.oneWrite(10000, 'x', 'stdout', 200)
    await pool.close()
    t.is(heard, 10000)
    t.true(work === 0 || done > 0)
  })
}

test('generated outputs (line counts and widths, console or one write, stdout or stderr): every line arrives, in order, before close() resolves', async (t) => {
  t.timeout(180000)
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.record({
          count: fc.integer({ min: 0, max: 3000 }),
          width: fc.integer({ min: 0, max: 70000 }),
          how: fc.constantFrom('lines', 'oneWrite'),
          stream: fc.constantFrom('stdout', 'stderr'),
        }),
        { minLength: 1, maxLength: 3 },
      ),
      async (writes) => {
        const heard = []
        const pool = invoke.pool({ limit: 2, output: (line, { stream }) => heard.push([stream, line]) })
        const printer = await invoke.require('./fixtures/printer', { pool })
        // Few lines when they are wide: the total stays a few MB.
        const sized = writes.map((w, i) => ({
          ...w,
          count: w.width > 1000 ? Math.min(w.count, 40) : w.count,
          tag: `t${i}`,
        }))
        await Promise.all(sized.map((w) => printer[w.how](w.count, w.tag, w.stream, w.width)))
        await pool.close()
        // A line over 64 KiB arrives in pieces: count the pieces that end a line by their tag.
        for (const w of sized) {
          const mine = heard.filter(([stream, line]) => stream === w.stream && line.startsWith(`${w.tag} `))
          const numbers = mine.map(([, line]) => Number(line.slice(w.tag.length + 1).split('.')[0]))
          if (numbers.length !== w.count || numbers.some((n, i) => n !== i)) return false
        }
        return true
      },
    ),
    { numRuns: 12 },
  )
  t.pass()
})
