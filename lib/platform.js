'use strict'
// Which prebuilt binary fits this process, named as napi-rs names them (`linux-x64-gnu`,
// `darwin-arm64`, ...). The C library is the one this Node runs on, not the host's: a musl Node
// on a glibc distribution (or the reverse, in a container or a bundled runtime) needs the
// binary of its own libc (napi-rs's loader reads /usr/bin/ldd first, which describes the host).
// It comes from this process's executable: the C library it was linked against (under a
// millisecond); where that does not tell (a static Node, /proc unreadable), from Node's
// diagnostic report (which takes some 15 ms to make); and where there is no report either
// (process.report removed, replaced or throwing), from the dynamic loader the executable names.

const { elfInterpreter, elfLibc } = require('./elf')

/** The platform keys a release publishes (package.json `napi.targets`, one `npm/<key>/` each). */
const SUPPORTED = ['linux-x64-gnu', 'linux-arm64-gnu', 'linux-x64-musl', 'linux-arm64-musl', 'darwin-x64', 'darwin-arm64', 'win32-x64-gnu']

/** A shared object path of musl's dynamic loader or libc, as Alpine and Debian's musl name them. */
const isMuslObject = (file) => typeof file === 'string' && /(^|\/)(ld-musl-|libc\.musl-)/.test(file)

/**
 * 'gnu' or 'musl' from a `process.report.getReport()` object: glibc reports its runtime version
 * in the header; musl reports none and shows up among the loaded shared objects. A report with
 * neither counts as glibc, as napi-rs's loader counts it. Null when there is no report to read.
 */
function libcFromReport(report) {
  if (!report || typeof report !== 'object' || !report.header || typeof report.header !== 'object') return null
  if (report.header.glibcVersionRuntime) return 'gnu'
  if (Array.isArray(report.sharedObjects) && report.sharedObjects.some(isMuslObject)) return 'musl'
  return 'gnu'
}

/** 'gnu' or 'musl' from the path of an executable's ELF interpreter; null for anything else. */
function libcFromInterpreter(file) {
  if (typeof file !== 'string') return null
  const name = file.slice(file.lastIndexOf('/') + 1)
  if (/^ld-musl-/.test(name)) return 'musl'
  if (/^(ld-linux|ld64\.so|ld\.so)/.test(name)) return 'gnu'
  return null
}

/**
 * This process's target: `{key, description}`, `key` as napi-rs names binaries. Windows is
 * `win32-x64-gnu` for every Node there: the binary is built with mingw-w64 and resolves Node's
 * N-API at run time, so it loads in the official (MSVC) Node too. On Linux the C library is
 * `getLinkedLibc()`'s, else the report's (`getReport` is called only then), else the interpreter's.
 */
function targetOf({ platform, arch, getReport, getInterpreter = () => null, getLinkedLibc = () => null }) {
  let libc = null
  if (platform === 'linux') libc = getLinkedLibc() ?? libcFromReport(getReport()) ?? libcFromInterpreter(getInterpreter())
  else if (platform === 'win32') libc = 'gnu'
  const key = [platform, arch, libc ?? (platform === 'linux' ? 'unknown-libc' : null)].filter(Boolean).join('-')
  const libcName = { gnu: platform === 'linux' ? 'glibc' : null, musl: 'musl', null: platform === 'linux' ? 'unknown C library' : null }[libc]
  return { key, description: `${platform} ${arch}${libcName ? ` (${libcName})` : ''}`, supported: SUPPORTED.includes(key) }
}

/**
 * The report without its network section (interfaces are slow to list and not needed here), or
 * null: whatever a sandbox or test environment made of `process.report` (a getter that throws, a
 * setter that refuses) must not make loading the package throw something without a code.
 */
function diagnosticReport() {
  let report
  let excludeNetwork
  try {
    report = process.report
    if (typeof report?.getReport !== 'function') return null
    excludeNetwork = report.excludeNetwork
    report.excludeNetwork = true
    return report.getReport()
  } catch {
    return null
  } finally {
    try {
      if (report && typeof report === 'object' && report.excludeNetwork !== excludeNetwork) report.excludeNetwork = excludeNetwork
    } catch {}
  }
}

function currentTarget() {
  return targetOf({ platform: process.platform, arch: process.arch, getReport: diagnosticReport, getInterpreter: elfInterpreter, getLinkedLibc: elfLibc })
}

module.exports = { SUPPORTED, libcFromReport, libcFromInterpreter, targetOf, currentTarget }
