'use strict'
// node scripts/platforms/check-binary.js <platform> <file.node>: the link checks every release
// binary passes, including those nothing here can run (macOS, and any target whose runtime is
// missing). Format and architecture; the oldest OS it claims (glibc symbol versions <= 2.17,
// macOS 11); no glibc in a musl build; stripped; and that everything it imports is N-API
// (napi_*), libuv (uv_*, which Node exports) or the system's C library, never a library a user
// would have to install. Prints one line per check and exits non-zero on the first failure.

const assert = require('node:assert/strict')
const fs = require('node:fs')
const { execFileSync } = require('node:child_process')

const GLIBC_BASELINE = [2, 17]
const MACOS_MINIMUM = '11.0'
// What a Mach-O addon exports: the N-API entry point Node looks up (napi-rs 3 exports no
// node_api_module_get_api_version_v1 outside wasm, so Node takes the module as N-API 8), and what
// zig's linker exports of its own accord, which no flag of ours reaches: the image header and
// __dso_handle it makes, and compiler-rt's OS version checks (weak definitions). Any more (every
// Rust symbol, once: 3,759) weighs on every load and may clash with another addon's.
const MACHO_EXPORTS = ['___dso_handle', '___isOSVersionAtLeast', '___isPlatformVersionAtLeast', '__mh_dylib_header', '_napi_register_module_v1']

const sh = (command, args) => execFileSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 })
const tool = (name) => (hasCommand(name) ? name : `${name}-14`)
function hasCommand(name) {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

const EXPECT = {
  'linux-x64-gnu': { format: 'elf', machine: 'Advanced Micro Devices X86-64', libc: 'gnu' },
  'linux-arm64-gnu': { format: 'elf', machine: 'AArch64', libc: 'gnu' },
  'linux-x64-musl': { format: 'elf', machine: 'Advanced Micro Devices X86-64', libc: 'musl' },
  'linux-arm64-musl': { format: 'elf', machine: 'AArch64', libc: 'musl' },
  'darwin-x64': { format: 'macho', cpu: 'X86_64' },
  'darwin-arm64': { format: 'macho', cpu: 'ARM64' },
  'win32-x64-gnu': { format: 'pe', machine: 'x86-64' },
}

// What an ELF addon may import besides napi_*/uv_*: the C runtime's own libraries.
const ELF_LIBS = { gnu: ['libc.so.6', 'libm.so.6', 'libdl.so.2', 'libpthread.so.0', 'librt.so.1', 'libgcc_s.so.1', 'ld-linux-x86-64.so.2', 'ld-linux-aarch64.so.1'], musl: ['libc.so', 'libgcc_s.so.1'] }
// Windows DLLs every Windows has (Rust's std and the mingw runtime import these). Not node.exe:
// N-API and libuv are looked up at run time, so the DLL loads in any Node's process.
const PE_DLLS = ['kernel32.dll', 'ntdll.dll', 'bcryptprimitives.dll', 'ws2_32.dll', 'advapi32.dll', 'userenv.dll', 'msvcrt.dll', 'api-ms-win-core-synch-l1-2-0.dll', 'shell32.dll', 'ole32.dll', 'user32.dll']

function checkElf(file, expect, report) {
  const header = sh('readelf', ['-h', file])
  assert.match(header, new RegExp(`Machine:\\s+${expect.machine}`), 'architecture')
  assert.match(header, /Type:\s+DYN/, 'a shared object')
  report(`ELF shared object for ${expect.machine}`)
  const needed = [...sh('readelf', ['-d', file]).matchAll(/\(NEEDED\)\s+Shared library: \[(.+)\]/g)].map((m) => m[1])
  const foreign = needed.filter((lib) => !ELF_LIBS[expect.libc].includes(lib))
  assert.deepEqual(foreign, [], `needs only ${expect.libc}'s C runtime`)
  report(`needs ${needed.join(', ')}`)
  const dynamic = sh('readelf', ['--dyn-syms', '--wide', file])
  const versions = [...dynamic.matchAll(/@GLIBC_(\d+)\.(\d+)(?:\.(\d+))?/g)].map((m) => m.slice(1).map((x) => Number(x ?? 0)))
  if (expect.libc === 'musl') {
    assert.equal(versions.length, 0, 'a musl build names no GLIBC_ symbol version')
    assert.ok(!needed.some((lib) => /^(libc\.so\.6|ld-linux)/.test(lib)), 'a musl build needs no glibc')
    report('no glibc')
  } else {
    const highest = versions.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]).at(-1)
    assert.ok(highest, 'names GLIBC_ symbol versions')
    assert.ok(highest[0] < GLIBC_BASELINE[0] || (highest[0] === GLIBC_BASELINE[0] && highest[1] <= GLIBC_BASELINE[1]), `needs GLIBC_${highest.join('.')}`)
    report(`needs GLIBC_${highest.slice(0, 2).join('.')} at most`)
  }
  assert.ok(!sh('readelf', ['-S', '--wide', file]).includes('.symtab'), 'stripped (no .symtab)')
  report('stripped')
  // Undefined dynamic symbols: N-API, libuv, and the C runtime's (versioned on glibc; on musl,
  // checked against musl's own exports where they were unpacked, else just listed).
  // Weak ones are optional: Rust's std looks up newer C library functions (pidfd_spawnp, statx)
  // that way and falls back when they are missing.
  const undefinedSymbols = dynamic
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields[6] === 'UND' && fields[4] !== 'WEAK')
    .map((fields) => fields[7])
    .filter(Boolean)
  const node = undefinedSymbols.filter((name) => /^(napi_|uv_)/.test(name))
  const others = undefinedSymbols.filter((name) => !/^(napi_|uv_)/.test(name) && !/@GLIBC_|@GCC_/.test(name) && name !== '')
  if (expect.libc === 'musl' && process.env.MUSL_LIBC) {
    const exported = new Set(sh('nm', ['-D', '--defined-only', process.env.MUSL_LIBC]).split('\n').map((l) => l.trim().split(/\s+/)[2]))
    const unknown = others.filter((name) => !exported.has(name) && !/^_Unwind_|^__gcc_|^__cxa_thread_atexit_impl$|^_ITM_|^__gmon_start__$|^__cxa_finalize$/.test(name))
    assert.deepEqual(unknown, [], 'every other import is musl libc or libgcc_s')
  } else if (expect.libc === 'gnu') {
    const unknown = others.filter((name) => !/^(_ITM_|__gmon_start__|__cxa_finalize|__cxa_thread_atexit_impl)/.test(name))
    assert.deepEqual(unknown, [], 'every other import is versioned glibc or libgcc')
  }
  report(`imports ${node.filter((n) => n.startsWith('napi_')).length} napi_*, ${node.filter((n) => n.startsWith('uv_')).length} uv_*, ${undefinedSymbols.length - node.length} from the C runtime`)
}

function checkMacho(file, expect, report) {
  const objdump = tool('llvm-objdump')
  const headers = sh(objdump, ['--macho', '--private-headers', file])
  assert.match(headers, /MH_MAGIC_64/, 'a 64-bit Mach-O')
  assert.match(headers, new RegExp(`\\b${expect.cpu}\\b`), 'architecture')
  assert.match(headers, /\bDYLIB\b|MH_DYLIB|BUNDLE/, 'a dylib or bundle')
  report(`Mach-O 64-bit ${expect.cpu}`)
  const minos = /LC_BUILD_VERSION[\s\S]*?minos (\S+)/.exec(headers)?.[1] ?? /LC_VERSION_MIN_MACOSX[\s\S]*?version (\S+)/.exec(headers)?.[1]
  assert.equal(minos, MACOS_MINIMUM, `claims macOS ${minos}`)
  report(`minimum macOS ${minos}`)
  const dylibs = [...headers.matchAll(/cmd LC_LOAD(?:_WEAK)?_DYLIB\n\s+cmdsize \d+\n\s+name (\S+)/g)].map((m) => m[1])
  const foreign = dylibs.filter((lib) => !lib.startsWith('/usr/lib/') && !lib.startsWith('/System/Library/'))
  assert.deepEqual(foreign, [], 'links only system libraries')
  report(`links ${dylibs.join(', ')}`)
  const imports = sh(tool('llvm-nm'), ['-u', '--no-sort', file]).split('\n').map((l) => l.trim()).filter(Boolean)
  const node = imports.filter((name) => /^_(napi_|uv_)/.test(name))
  // The addon looks N-API and libuv up in the Node that loads it, at run time: a symbol bound at
  // link time would tie it to one executable's name.
  assert.deepEqual(node, [], 'imports no napi_*/uv_* symbol (found at run time)')
  report(`imports ${node.filter((n) => n.startsWith('_napi_')).length} napi_*, ${node.filter((n) => n.startsWith('_uv_')).length} uv_*, ${imports.length - node.length} from libSystem`)
  const exported = [...sh(objdump, ['--macho', '--exports-trie', file]).matchAll(/^0x[0-9A-Fa-f]+\s+(\S+)/gm)].map((m) => m[1]).sort()
  const extra = exported.filter((name) => !MACHO_EXPORTS.includes(name))
  assert.deepEqual(extra.slice(0, 10), [], `exports no more than ${MACHO_EXPORTS.join(', ')} (it exports ${exported.length} symbols)`)
  assert.ok(exported.includes('_napi_register_module_v1'), 'exports napi_register_module_v1')
  report(`exports ${exported.length} symbols: ${exported.join(', ')}`)
  const symbols = sh(tool('llvm-nm'), ['--defined-only', file]).split('\n').filter((line) => / [tT] /.test(line))
  assert.ok(symbols.filter((line) => / t /.test(line)).length === 0, 'stripped (no local symbols)')
  report('stripped')
}

function checkPe(file, expect, report) {
  const headers = sh('x86_64-w64-mingw32-objdump', ['-p', file])
  assert.match(headers, /file format pei-x86-64/, 'a PE32+ x86-64 image')
  assert.match(headers, /Characteristics[\s\S]*DLL/, 'a DLL')
  report('PE32+ x86-64 DLL')
  const dlls = [...headers.matchAll(/DLL Name: (\S+)/g)].map((m) => m[1].toLowerCase())
  const foreign = dlls.filter((dll) => !PE_DLLS.includes(dll) && !dll.startsWith('api-ms-win-'))
  assert.deepEqual(foreign, [], 'imports only system DLLs')
  assert.ok(!dlls.includes('libnode.dll'), 'imports nothing from the stub libnode.dll')
  report(`imports ${dlls.join(', ')}`)
  assert.ok(!/\.symtab|SYMBOL TABLE:\n\[/.test(sh('x86_64-w64-mingw32-objdump', ['-t', file])), 'stripped')
  report('stripped')
}

function main() {
  const [platform, file] = process.argv.slice(2)
  const expect = EXPECT[platform]
  assert.ok(expect, `platform: one of ${Object.keys(EXPECT).join(', ')}`)
  assert.ok(fs.existsSync(file), `${file} exists`)
  const report = (what) => console.log(`check-binary ${platform}: ✔ ${what}`)
  report(`${fs.statSync(file).size} bytes`)
  ;({ elf: checkElf, macho: checkMacho, pe: checkPe })[expect.format](file, expect, report)
}

main()
