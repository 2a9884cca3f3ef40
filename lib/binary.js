'use strict'
// Loads the compiled addon: a source build in this package's own folder (a clone, a git install),
// else the platform package npm installed as one of our optionalDependencies. When neither is
// there, the error says which platform this is and what would help: npm cannot fix it by
// reinstalling, so it does not suggest that.

const fs = require('node:fs')
const path = require('node:path')

const { SUPPORTED, currentTarget } = require('./platform')

const NAME = 'invoke-parallel'
const SOURCE_BUILD =
  'To build it from source, install Rust >= 1.88 (cargo) and a C linker, then install invoke-parallel ' +
  'from its git repository or a clone (`npm install` there builds the addon).'

function noBinaryError(code, message, cause) {
  const error = new Error(message, cause ? { cause } : undefined)
  error.code = code
  return error
}

function loadBinary() {
  // napi-rs's own override, kept so a benchmark can load another build of the addon side by side.
  const override = process.env.NAPI_RS_NATIVE_LIBRARY_PATH
  if (override) return require(path.resolve(override))
  const target = currentTarget()
  const sourceBuild = path.join(__dirname, '..', `${NAME}.${target.key}.node`)
  if (fs.existsSync(sourceBuild)) return require(sourceBuild)

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
    file = require.resolve(platformPackage)
  } catch (cause) {
    throw noBinaryError(
      'ERR_INVOKE_BINARY_MISSING',
      `invoke-parallel's native binary for ${target.description} is missing: the package ${platformPackage} ` +
        `is not installed. It is an optional dependency of invoke-parallel, so it is left out by ` +
        `--no-optional / --omit=optional, by an install made on another platform, or by a lockfile ` +
        `written without it: \`npm install ${platformPackage}@${expected}\`. ${supported} ` +
        SOURCE_BUILD,
      cause,
    )
  }
  // The addon and this JS speak an internal interface that changes between versions.
  const { version } = require(`${platformPackage}/package.json`)
  if (version !== expected) {
    throw noBinaryError(
      'ERR_INVOKE_BINARY_VERSION',
      `invoke-parallel ${expected} found ${platformPackage} ${version}: install ${platformPackage}@${expected}.`,
    )
  }
  return require(file)
}

module.exports = loadBinary()
