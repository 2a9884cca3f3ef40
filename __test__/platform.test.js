'use strict'
// The loader's choice of binary, as a table: every platform, architecture and diagnostic report
// maps to napi-rs's key for it, and only the seven published keys count as supported.

const test = require('ava')
const fc = require('fast-check')
const { SUPPORTED, libcFromReport, targetOf } = require('../lib/platform')
const pkg = require('../package.json')

const glibcHeader = fc.record({ glibcVersionRuntime: fc.constantFrom('2.17', '2.31', '2.36', '2.41'), osName: fc.constant('Linux') })
const plainHeader = fc.record({ osName: fc.constant('Linux') })
const glibcObjects = fc.subarray(['/lib/x86_64-linux-gnu/libc.so.6', '/lib64/ld-linux-x86-64.so.2', '/usr/lib/libstdc++.so.6'])
const muslObject = fc.constantFrom('/lib/ld-musl-x86_64.so.1', '/lib/ld-musl-aarch64.so.1', '/usr/lib/libc.musl-x86_64.so.1', 'ld-musl-x86_64.so.1')
const otherObjects = fc.array(fc.string().filter((s) => !/ld-musl-|libc\.musl-/.test(s)), { maxLength: 4 })

test('a report with a glibc runtime version is glibc, whatever objects it lists', (t) => {
  fc.assert(fc.property(glibcHeader, fc.array(fc.oneof(muslObject, fc.string()), { maxLength: 5 }), (header, sharedObjects) => {
    t.is(libcFromReport({ header, sharedObjects }), 'gnu')
  }))
})

test('a report without one that loaded musl is musl', (t) => {
  fc.assert(fc.property(plainHeader, otherObjects, muslObject, otherObjects, (header, before, musl, after) => {
    t.is(libcFromReport({ header, sharedObjects: [...before, musl, ...after] }), 'musl')
  }))
})

test('a report that says neither is glibc, as napi-rs counts it; no report is no answer', (t) => {
  fc.assert(fc.property(plainHeader, otherObjects, (header, sharedObjects) => t.is(libcFromReport({ header, sharedObjects }), 'gnu')))
  t.is(libcFromReport({ header: {} }), 'gnu')
  for (const report of [null, undefined, 'text', 7, {}, { header: null }, { header: 'x' }, { sharedObjects: ['ld-musl-x86_64.so.1'] }]) {
    t.is(libcFromReport(report), null, JSON.stringify(report))
  }
})

const TABLE = [
  // platform, arch, report's libc -> key, supported
  ['linux', 'x64', 'gnu', 'linux-x64-gnu', true],
  ['linux', 'x64', 'musl', 'linux-x64-musl', true],
  ['linux', 'arm64', 'gnu', 'linux-arm64-gnu', true],
  ['linux', 'arm64', 'musl', 'linux-arm64-musl', true],
  ['linux', 'x64', null, 'linux-x64-unknown-libc', false],
  ['linux', 'arm', 'gnu', 'linux-arm-gnu', false],
  ['linux', 'riscv64', 'musl', 'linux-riscv64-musl', false],
  ['darwin', 'x64', null, 'darwin-x64', true],
  ['darwin', 'arm64', 'gnu', 'darwin-arm64', true],
  ['win32', 'x64', null, 'win32-x64-gnu', true],
  ['win32', 'ia32', null, 'win32-ia32-gnu', false],
  ['win32', 'arm64', null, 'win32-arm64-gnu', false],
  ['freebsd', 'x64', 'gnu', 'freebsd-x64', false],
  ['android', 'arm64', 'musl', 'android-arm64', false],
]

test('the choice table: platform, architecture and C library to napi-rs key', (t) => {
  const reports = { gnu: { header: { glibcVersionRuntime: '2.36' }, sharedObjects: [] }, musl: { header: {}, sharedObjects: ['/lib/ld-musl-x86_64.so.1'] }, null: null }
  for (const [platform, arch, libc, key, supported] of TABLE) {
    let asked = 0
    const target = targetOf({ platform, arch, getReport: () => (asked++, reports[libc]) })
    t.is(target.key, key, `${platform} ${arch} ${libc}`)
    t.is(target.supported, supported, key)
    t.true(target.description.startsWith(`${platform} ${arch}`))
    // Only Linux pays for a diagnostic report.
    t.is(asked, platform === 'linux' ? 1 : 0, key)
  }
})

test('the supported keys are package.json napi.targets, each with its npm/ folder', (t) => {
  const napiPlatform = { 'x86_64-unknown-linux-gnu': 'linux-x64-gnu', 'aarch64-unknown-linux-gnu': 'linux-arm64-gnu', 'x86_64-unknown-linux-musl': 'linux-x64-musl', 'aarch64-unknown-linux-musl': 'linux-arm64-musl', 'x86_64-apple-darwin': 'darwin-x64', 'aarch64-apple-darwin': 'darwin-arm64', 'x86_64-pc-windows-gnu': 'win32-x64-gnu' }
  t.deepEqual(pkg.napi.targets.map((triple) => napiPlatform[triple]).sort(), [...SUPPORTED].sort())
  for (const key of SUPPORTED) {
    const manifest = require(`../npm/${key}/package.json`)
    t.is(manifest.name, `invoke-parallel-${key}`)
    t.is(manifest.main, `invoke-parallel.${key}.node`)
  }
})
