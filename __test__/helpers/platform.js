'use strict'
// Tests that cannot apply on a platform skip there, and the skipped test's title says why (npm run
// test:windows runs this suite with a Windows node.exe under wine). A test that applies everywhere
// uses plain `test`; one that needs something a system may lack asks `testWhere` with a probe of
// that very thing, so it runs wherever the thing works.

const fs = require('node:fs')
const net = require('node:net')
const os = require('node:os')
const path = require('node:path')
const test = require('ava')

const onWindows = process.platform === 'win32'

/** Like `test` (and `test.serial`), but each test skipped with `note` added to its title. */
function skipped(note) {
  const skip = (title, ...rest) => test.skip(`${title} [${note}]`, ...rest)
  skip.serial = (title, ...rest) => test.serial.skip(`${title} [${note}]`, ...rest)
  return skip
}

/** `test`, or on Windows a skipped test whose title says what it needs that Windows has not. */
function unixTest(needs) {
  return onWindows ? skipped(`skipped on Windows: ${needs}`) : test
}

/** `test` on Linux; elsewhere a skipped test whose title says what it needs of Linux. */
function linuxTest(needs) {
  return process.platform === 'linux' ? test : skipped(`skipped on ${process.platform}: ${needs}`)
}

/** `test` on Windows; elsewhere a skipped test whose title says why it is Windows' own. */
function windowsTest(why) {
  return onWindows ? test : skipped(`skipped on ${process.platform}: ${why}`)
}

/** `test` when `missing` is null, else a skipped test whose title says what is missing. */
function testWhere(missing) {
  return missing === null ? test : skipped(`skipped here: ${missing}`)
}

/** Links `target` (a folder) at `link` as npm links a package: a junction on Windows, which needs no privilege. */
function linkFolder(target, link) {
  fs.symlinkSync(target, link, onWindows ? 'junction' : 'dir')
}

/** Where a test's server can listen for local connections, named after `dir` (a scratch folder):
 * a socket file in it, or on Windows a named pipe (there net.Server.listen takes a path only in
 * the pipe namespace, \\.\pipe\..., and refuses a file path with EACCES). */
function localSocketPath(dir) {
  return onWindows ? `\\\\.\\pipe\\${path.basename(dir)}` : path.join(dir, 's')
}

let folderLinks
/** null where linkFolder works, else why not (wine makes neither symbolic links nor junctions). */
function cannotLinkFolders() {
  if (folderLinks !== undefined) return folderLinks
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'invoke-parallel-link-'))
  try {
    linkFolder(__dirname, path.join(dir, 'link'))
    folderLinks = fs.existsSync(path.join(dir, 'link', path.basename(__filename))) ? null : 'a folder link made here does not resolve'
  } catch (error) {
    folderLinks = `this system cannot link a folder (fs.symlinkSync: ${error.code})`
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
  return folderLinks
}

const runs = new Map()
/** null where `command` (a tool from node_modules/.bin, say) runs here, else why not: npm installs
 * the tools of the platform it ran on, so a Linux install has no Windows bun, deno or shims. */
function cannotRun(command, args = ['--version'], name = path.basename(command)) {
  const key = JSON.stringify([command, args])
  if (!runs.has(key)) {
    const { spawnSync } = require('node:child_process')
    const run = spawnSync(command, args, { stdio: 'ignore', timeout: 60000 })
    const failed = run.error ? run.error.code ?? run.error.message : run.status !== 0 ? `exit code ${run.status}` : null
    runs.set(key, failed && `${name} as installed here cannot run on ${process.platform}-${process.arch} (${failed})`)
  }
  return runs.get(key)
}

let sockets
/** null where a TCP socket can be passed to a worker, else why not (ERR_INVOKE_HANDLES_UNSUPPORTED). */
function cannotPassSockets() {
  if (sockets !== undefined) return sockets
  const { takeHandles } = require('../../lib/handles')
  try {
    takeHandles([new net.Socket()], true)
    sockets = null
  } catch (error) {
    // Anything but the refusal is this probe's socket (it has no descriptor yet), not the platform.
    sockets = error.code === 'ERR_INVOKE_HANDLES_UNSUPPORTED' ? `sockets cannot be passed to workers in this Node on ${process.platform} (${error.code})` : null
  }
  return sockets
}

module.exports = { windowsTest, onWindows, unixTest, linuxTest, testWhere, localSocketPath, linkFolder, cannotLinkFolders, cannotPassSockets, cannotRun }
