'use strict'
// NAPI_RS_NATIVE_LIBRARY_PATH is napi-rs's override of which addon a package loads, and every
// napi-rs package in the process reads it: one set for another package (a build of swc or
// rolldown under test) must give a coded error here, not a TypeError on a missing export, while
// one naming this package's own addon still loads it.

const test = require('ava')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { execFile } = require('node:child_process')
const { currentTarget } = require('../lib/platform')
const { scaled } = require('./helpers/time')

const root = path.join(__dirname, '..')

function requireWith(override) {
  const script = `try { console.log(typeof require(${JSON.stringify(root)}).pool) }
    catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })) }`
  return new Promise((resolve) => {
    execFile(process.execPath, ['-e', script], { env: { ...process.env, NAPI_RS_NATIVE_LIBRARY_PATH: override }, timeout: scaled(20000) }, (error, stdout, stderr) =>
      resolve(error ? `${error.message} ${stderr}` : stdout.trim()),
    )
  })
}

test("an override naming another package's addon is refused with a code; one naming ours loads", async (t) => {
  t.timeout(scaled(60000))
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'foreign-addon-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  // What another napi-rs package's addon looks like to require: an object of its own exports.
  const foreign = path.join(dir, 'other-package.js')
  fs.writeFileSync(foreign, 'module.exports = { transform() {}, version: () => "1.0.0" }\n')
  const refused = JSON.parse(await requireWith(foreign))
  t.is(refused.code, 'ERR_INVOKE_BINARY_FOREIGN', refused.message)
  t.true(refused.message.includes(foreign) && refused.message.includes('NAPI_RS_NATIVE_LIBRARY_PATH'), refused.message)

  const own = path.join(root, `invoke-parallel.${currentTarget().key}.node`)
  if (!fs.existsSync(own)) return t.log(`no source build ${own} here: the loading half is left out`)
  t.is(await requireWith(own), 'function')
  // Its copy cut short is refused as the installed one would be, not loaded into a SIGBUS.
  const cut = path.join(dir, path.basename(own))
  fs.writeFileSync(cut, fs.readFileSync(own).subarray(0, 8192))
  t.is(JSON.parse(await requireWith(cut)).code, 'ERR_INVOKE_BINARY_DAMAGED')
})
