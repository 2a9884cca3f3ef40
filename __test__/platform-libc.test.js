'use strict'
// How the loader tells glibc from musl when Node's diagnostic report is not there to ask: a
// sandbox, a test environment or a preload may remove `process.report`, make its getter or
// `getReport` throw, or refuse `excludeNetwork`. Loading must still pick this Node's own C
// library (from the ELF interpreter of its executable), and never throw an error without a code.

const test = require('ava')
const fc = require('fast-check')
const path = require('node:path')
const { execFile } = require('node:child_process')
const fs = require('node:fs')
const { readElf, elfInterpreter, elfLibc } = require('../lib/elf')

const interpreterOf = (read) => readElf(read)?.interpreter ?? null
const { libcFromInterpreter, targetOf } = require('../lib/platform')
const { scaled } = require('./helpers/time')

const root = path.join(__dirname, '..')

/** ELF bytes with `entries` program headers, `interp` (a string or null) in a PT_INTERP one. */
function elfBytes({ is64, little, types, interp, gap }) {
  const phentsize = is64 ? 56 : 32
  const phoff = (is64 ? 64 : 52) + gap
  const dataAt = phoff + types.length * phentsize + gap
  const data = Buffer.from(interp === null ? '' : `${interp}\0`, 'latin1')
  const file = Buffer.alloc(dataAt + data.length)
  file.writeUInt32BE(0x7f454c46, 0)
  file[4] = is64 ? 2 : 1
  file[5] = little ? 1 : 2
  const u16 = (value, at) => (little ? file.writeUInt16LE(value, at) : file.writeUInt16BE(value, at))
  const u32 = (value, at) => (little ? file.writeUInt32LE(value, at) : file.writeUInt32BE(value, at))
  const word = (value, at) => (is64 ? (little ? file.writeBigUInt64LE(BigInt(value), at) : file.writeBigUInt64BE(BigInt(value), at)) : u32(value, at))
  word(phoff, is64 ? 0x20 : 0x1c)
  u16(phentsize, is64 ? 0x36 : 0x2a)
  u16(types.length, is64 ? 0x38 : 0x2c)
  types.forEach((type, index) => {
    const at = phoff + index * phentsize
    u32(type, at)
    if (type === 3) {
      word(dataAt, at + (is64 ? 0x08 : 0x04))
      word(data.length, at + (is64 ? 0x20 : 0x10))
    }
  })
  data.copy(file, dataAt)
  return file
}

const reader = (bytes) => (position, length) => bytes.subarray(position, position + length)

test('the interpreter is read from 32- and 64-bit ELF files of either byte order, wherever its header is', (t) => {
  const interp = fc.oneof(fc.constantFrom('/lib/ld-musl-x86_64.so.1', '/lib64/ld-linux-x86-64.so.2', '/lib/ld-linux-aarch64.so.1'), fc.uint8Array({ min: 1, minLength: 1, maxLength: 300 }).map((bytes) => Buffer.from(bytes).toString('latin1')))
  const otherTypes = fc.array(fc.integer({ min: 0, max: 0x7fffffff }).filter((type) => type !== 3), { maxLength: 6 })
  fc.assert(
    fc.property(fc.boolean(), fc.boolean(), otherTypes, otherTypes, interp, fc.nat(40), (is64, little, before, after, latin1, gap) => {
      const bytes = elfBytes({ is64, little, types: [...before, 3, ...after], interp: latin1, gap })
      t.is(interpreterOf(reader(bytes)), latin1)
      // Without a PT_INTERP header (a static executable) there is no answer.
      t.is(interpreterOf(reader(elfBytes({ is64, little, types: [...before, ...after], interp: null, gap }))), null)
    }),
  )
})

test('bytes that are not a whole ELF file give no interpreter, never an exception', (t) => {
  const elf = fc.record({ is64: fc.boolean(), little: fc.boolean(), types: fc.array(fc.nat(8), { maxLength: 4 }), interp: fc.constant('/lib/ld-musl-x86_64.so.1'), gap: fc.nat(8) })
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }).map(Buffer.from), elf.chain((shape) => {
      const bytes = elfBytes(shape)
      return fc.nat(bytes.length).map((cut) => bytes.subarray(0, cut))
    })), (bytes) => {
      const found = interpreterOf(reader(bytes))
      t.true(found === null || typeof found === 'string')
    }),
  )
  t.is(elfInterpreter(path.join(__dirname, 'no-such-file')), null)
  t.is(elfInterpreter(__filename), null)
})

test('an ELF file holds what its headers describe; cut anywhere past its header, it is shorter than that', (t) => {
  const shape = fc.record({ is64: fc.boolean(), little: fc.boolean(), types: fc.array(fc.constantFrom(1, 3, 4, 6), { minLength: 1, maxLength: 5 }), interp: fc.constant('/lib/ld-musl-x86_64.so.1'), gap: fc.nat(40) })
  fc.assert(
    fc.property(shape.chain((each) => fc.tuple(fc.constant(elfBytes(each)), fc.nat())), ([bytes, at]) => {
      const { extent } = readElf(reader(bytes))
      t.true(extent <= bytes.length)
      const header = bytes[4] === 2 ? 64 : 52
      const cut = header + (at % Math.max(1, extent - header))
      if (cut >= extent) return
      const shorter = readElf(reader(bytes.subarray(0, cut)))
      t.true(shorter === null || shorter.extent > cut, `cut at ${cut} of ${extent}`)
    }),
  )
})

test("an interpreter's name gives the C library: ld-musl-* is musl, ld-linux*/ld64.so/ld.so glibc", (t) => {
  for (const file of ['/lib/ld-musl-x86_64.so.1', '/lib/ld-musl-aarch64.so.1', '/opt/node/lib/ld-musl-x86_64.so.1']) t.is(libcFromInterpreter(file), 'musl', file)
  for (const file of ['/lib64/ld-linux-x86-64.so.2', '/lib/ld-linux-aarch64.so.1', '/lib/ld-linux-armhf.so.3', '/lib64/ld64.so.2', '/lib/ld.so.1']) t.is(libcFromInterpreter(file), 'gnu', file)
  for (const file of [null, undefined, '', '/lib/libc.so', '/usr/bin/node', 7]) t.is(libcFromInterpreter(file), null, String(file))
  // The report decides when there is one; the interpreter only when there is none.
  const musl = () => '/lib/ld-musl-x86_64.so.1'
  t.is(targetOf({ platform: 'linux', arch: 'x64', getReport: () => null, getInterpreter: musl }).key, 'linux-x64-musl')
  t.is(targetOf({ platform: 'linux', arch: 'x64', getReport: () => ({ header: { glibcVersionRuntime: '2.36' } }), getInterpreter: musl }).key, 'linux-x64-gnu')
  t.is(targetOf({ platform: 'linux', arch: 'x64', getReport: () => null, getInterpreter: () => null }).key, 'linux-x64-unknown-libc')
})

const HOSTILE_REPORTS = {
  'process.report removed': "Object.defineProperty(process, 'report', { value: undefined })",
  'a process.report getter that throws': "Object.defineProperty(process, 'report', { get() { throw new Error('no report in this sandbox') } })",
  'a getReport that throws': "process.report.getReport = () => { throw new Error('reports are off') }",
  'a getReport that returns nothing': 'process.report.getReport = () => undefined',
  'an excludeNetwork that refuses to be set': "Object.defineProperty(process.report, 'excludeNetwork', { get: () => false, set() { throw new TypeError('read-only') } })",
}

test("with process.report missing, throwing or refusing, the package loads this Node's own binary", async (t) => {
  t.timeout(scaled(60000))
  const expected = elfInterpreter()
  t.is(libcFromInterpreter(expected), 'gnu', `this suite runs on a glibc Node (interpreter ${expected})`)
  for (const [name, setup] of Object.entries(HOSTILE_REPORTS)) {
    const script = `${setup}
      try { const invoke = require(${JSON.stringify(root)}); console.log(typeof invoke.pool) }
      catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })) }`
    const out = await new Promise((resolve) => {
      execFile(process.execPath, ['-e', script], { timeout: scaled(20000) }, (error, stdout, stderr) => resolve(error ? `${error.message} ${stderr}` : stdout.trim()))
    })
    t.is(out, 'function', name)
  }
})

test('the C library an executable was linked against: glibc by its GLIBC_ version needs, musl by its interpreter', (t) => {
  // Real programs, glibc's and (where its toolchain is set up) musl's: the version needs say
  // what their interpreters say.
  const muslNode = '/work/toolchains/node-musl-24.19.0-x64/bin/node'
  const seen = new Set()
  for (const file of [process.execPath, '/bin/ls', muslNode].filter((file) => fs.existsSync(file))) {
    const libc = libcFromInterpreter(elfInterpreter(file))
    t.is(elfLibc(file), libc, file)
    seen.add(libc)
  }
  t.true(seen.has('gnu'), 'a glibc program was among them')
  // /proc/self/exe is this Node only on Linux, the one OS the loader asks it on (under wine it is
  // wine's own Linux loader, a glibc program).
  if (process.platform === 'linux') t.is(elfLibc(), elfLibc(process.execPath), 'this Node, through /proc/self/exe')
  t.is(elfLibc(__filename), null, 'not ELF')
  t.is(elfLibc(path.join(__dirname, 'no-such-file')), null)
})

test('an executable corrupted anywhere gives a C library or none, never an exception', (t) => {
  const fd = fs.openSync(process.execPath, 'r')
  t.teardown(() => fs.closeSync(fd))
  const size = fs.fstatSync(fd).size
  // Past the end (however far) there is nothing, as for any file.
  const read = (position, length) => {
    if (position >= size) return Buffer.alloc(0)
    const buffer = Buffer.alloc(length)
    return buffer.subarray(0, fs.readSync(fd, buffer, 0, length, position))
  }
  // Which bytes the reader reads, in order: the corruption hits the nth one it is asked for.
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(20000), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 8 }), (flips) => {
      let served = 0
      let reads = 0
      const corrupted = (position, length) => {
        reads++
        const bytes = Buffer.from(read(position, length))
        for (const [at, mask] of flips) if (at >= served && at < served + bytes.length) bytes[at - served] ^= mask
        served += bytes.length
        return bytes
      }
      const elf = readElf(corrupted, { versions: true })
      t.true(elf === null || typeof elf.needsGlibc === 'boolean')
      t.true(reads < 5000, `${reads} reads`)
    }),
    { numRuns: 300 },
  )
})

test('loading the package makes no diagnostic report (its executable answers)', async (t) => {
  const script = `let made = 0
    const getReport = process.report.getReport.bind(process.report)
    process.report.getReport = (...args) => (made++, getReport(...args))
    // Whether or not this platform's binary is here: the choice is made before that.
    try { require(${JSON.stringify(root)}) } catch {}
    console.log(made)`
  const out = await new Promise((resolve) => {
    execFile(process.execPath, ['-e', script], { timeout: scaled(20000) }, (error, stdout, stderr) => resolve(error ? `${error.message} ${stderr}` : stdout.trim()))
  })
  t.is(out, '0')
})
