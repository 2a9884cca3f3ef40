'use strict'
// Loads the compiled addon: a source build in this package's own folder (a clone, a git install),
// else the platform package npm installed as one of our optionalDependencies. When neither is
// there, the error says which platform this is and what would help: the same install again
// would leave the package out again, so it does not suggest that (it does for a package whose
// binary is gone or cut short).

const fs = require('node:fs')
const path = require('node:path')
const { packageDir } = require('./package-dir')

const { SUPPORTED, currentTarget } = require('./platform')
const { parsedFile, readElf } = require('./elf')
const { peExtent } = require('./pe')

const NAME = 'invoke-parallel'
const SOURCE_BUILD =
  'To build it from source, install Rust >= 1.88 (cargo) and a C linker, then install invoke-parallel ' +
  'from its git repository or a clone (`npm install` there builds the addon).'

function noBinaryError(code, message, cause) {
  const error = new Error(message, cause ? { cause } : undefined)
  error.code = code
  return error
}

/**
 * Requires the addon at `file` unless it is an ELF or PE file shorter than its own headers say:
 * dlopen would map the missing pages and the process would die of SIGBUS on touching them, with
 * no error to catch (ELF); LoadLibrary would fail saying nothing of why (PE). `reinstall` says how
 * to get a whole one.
 */
function requireWhole(file, reinstall) {
  const headers = parsedFile(file, (read) => readElf(read) ?? peExtent(read))
  if (headers && headers.size < headers.extent) {
    throw noBinaryError(
      'ERR_INVOKE_BINARY_DAMAGED',
      `invoke-parallel's native binary ${file} is cut short: ${headers.size} bytes of the ${headers.extent} its headers ` +
        `describe (an interrupted install or copy, or a full disk). ${reinstall}`,
    )
  }
  return require(file)
}

/** The platform packages of ours installed beside this one (for another platform), as `name@version`. */
function otherPlatformPackages(wanted) {
  return SUPPORTED.map((key) => `${NAME}-${key}`)
    .filter((name) => name !== wanted)
    .flatMap((name) => {
      try {
        return [`${name}@${require(require.resolve(`${name}/package.json`, { paths: [packageDir] })).version}`]
      } catch {
        return []
      }
    })
}

/** How to install `platformPackage` for `target` when npm took another platform's instead. */
function installForThisPlatform(target, platformPackage, expected) {
  const [os, cpu, libc] = target.key.split('-')
  const settings = [`os=${os}`, `cpu=${cpu}`, ...(os === 'linux' ? [`libc=${libc === 'gnu' ? 'glibc' : libc}`] : [])]
  return (
    `npm installed for another platform than this Node's. npm takes the C library from the host's ` +
    `/usr/bin/ldd, not from the Node that runs (a musl Node on a glibc host gets the glibc package, and the ` +
    `reverse), and node_modules copied from another machine or container holds that machine's. ` +
    `\`npm install ${settings.map((setting) => `--${setting}`).join(' ')}\` installs this platform's; ` +
    `${settings.join(', ')} in the project's .npmrc keeps it so for later installs.`
  )
}

/**
 * The addon NAPI_RS_NATIVE_LIBRARY_PATH names. Every napi-rs package reads that variable, so one set
 * for another package (to try a build of swc, rolldown, ...) names an addon that is not ours: that
 * is refused with a code, not left to fail later as a TypeError on a missing export.
 */
function requireOverride(override) {
  const file = path.resolve(override)
  const addon = requireWhole(file, 'Rebuild it, or unset NAPI_RS_NATIVE_LIBRARY_PATH.')
  if (typeof addon?.NativePool !== 'function' || typeof addon.missingLibuv !== 'function') {
    throw noBinaryError(
      'ERR_INVOKE_BINARY_FOREIGN',
      `NAPI_RS_NATIVE_LIBRARY_PATH names ${file}, which is not invoke-parallel's addon (it lacks NativePool). ` +
        `Every napi-rs package loads the addon that variable names: set it only in a process that ` +
        `loads no other napi-rs package than the one it is meant for.`,
    )
  }
  return addon
}

function loadBinary() {
  // napi-rs's own override, kept so a benchmark can load another build of the addon side by side.
  const override = process.env.NAPI_RS_NATIVE_LIBRARY_PATH
  if (override) return requireOverride(override)
  const target = currentTarget()
  const sourceBuild = path.join(packageDir, `${NAME}.${target.key}.node`)
  if (fs.existsSync(sourceBuild)) return requireWhole(sourceBuild, 'Rebuild it (`npm run build` in the clone).')

  const supported = `Prebuilt binaries: ${SUPPORTED.join(', ')} (Linux glibc >= 2.17).`
  if (!target.supported) {
    throw noBinaryError(
      'ERR_INVOKE_UNSUPPORTED_PLATFORM',
      `invoke-parallel has no prebuilt binary for ${target.description} (platform key ${target.key}). ` +
        `${supported} ${SOURCE_BUILD}`,
    )
  }
  const platformPackage = `${NAME}-${target.key}`
  const expected = require('../package.json').version
  let file
  try {
    file = require.resolve(platformPackage, { paths: [packageDir] })
  } catch (cause) {
    let manifest = null
    try {
      manifest = require.resolve(`${platformPackage}/package.json`, { paths: [packageDir] })
    } catch {}
    const others = otherPlatformPackages(platformPackage)
    let why
    if (manifest) {
      why = `the package ${platformPackage} is installed (${path.dirname(manifest)}) but its binary file is not there: reinstall it, \`npm install ${platformPackage}@${expected}\`.`
    } else if (others.length > 0) {
      why = `the package ${platformPackage} is not installed, and ${others.join(', ')} is: ${installForThisPlatform(target, platformPackage, expected)}`
    } else {
      why =
        `the package ${platformPackage} is not installed. It is an optional dependency of invoke-parallel, so it is ` +
        `left out by --no-optional / --omit=optional, by an install made on another platform, or by a lockfile ` +
        `written without it: \`npm install ${platformPackage}@${expected}\`.`
    }
    throw noBinaryError('ERR_INVOKE_BINARY_MISSING', `invoke-parallel's native binary for ${target.description} is missing: ${why} ${supported} ${SOURCE_BUILD}`, cause)
  }
  // The addon and this JS speak an internal interface that changes between versions.
  const { version } = require(require.resolve(`${platformPackage}/package.json`, { paths: [packageDir] }))
  if (version !== expected) {
    throw noBinaryError(
      'ERR_INVOKE_BINARY_VERSION',
      `invoke-parallel ${expected} found ${platformPackage} ${version}: install ${platformPackage}@${expected}.`,
    )
  }
  return requireWhole(file, `Reinstall it: \`npm install ${platformPackage}@${expected}\`.`)
}

module.exports = loadBinary()
