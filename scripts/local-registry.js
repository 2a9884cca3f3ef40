'use strict'
// node scripts/local-registry.js <folder of .tgz>: an npm registry on 127.0.0.1 that serves the
// packages of those tarballs, for tests that install the release as users do, by name
// (`npm install invoke-parallel`), so that npm itself chooses which optional platform package fits
// (and which it skips) instead of being handed the tarballs. A package it has no tarball of is
// a 404, as an unpublished name is. Prints its URL, then serves until killed.

const crypto = require('node:crypto')
const fs = require('node:fs')
const http = require('node:http')
const path = require('node:path')
const zlib = require('node:zlib')

/** The package.json inside an npm tarball (a gzipped tar whose files sit under `package/`). */
function manifestOf(tarball) {
  const tar = zlib.gunzipSync(tarball)
  for (let at = 0; at + 512 <= tar.length; ) {
    const name = tar.toString('utf8', at, at + 100).replace(/\0[\s\S]*$/, '')
    if (name === '') break
    const size = parseInt(tar.toString('utf8', at + 124, at + 136).replace(/\0/g, '').trim(), 8)
    if (name === 'package/package.json') return JSON.parse(tar.toString('utf8', at + 512, at + 512 + size))
    at += 512 + Math.ceil(size / 512) * 512
  }
  throw new Error('no package/package.json in the tarball')
}

/** {name: {version: {manifest, file, integrity, shasum}}} of every tarball in `folder`. */
function packagesIn(folder) {
  const packages = {}
  for (const file of fs.readdirSync(folder).filter((name) => name.endsWith('.tgz'))) {
    const tarball = fs.readFileSync(path.join(folder, file))
    const manifest = manifestOf(tarball)
    packages[manifest.name] ??= {}
    packages[manifest.name][manifest.version] = {
      manifest,
      file,
      integrity: `sha512-${crypto.createHash('sha512').update(tarball).digest('base64')}`,
      shasum: crypto.createHash('sha1').update(tarball).digest('hex'),
    }
  }
  return packages
}

function serve(folder) {
  const packages = packagesIn(folder)
  const server = http.createServer((request, response) => {
    const { port } = server.address()
    const url = decodeURIComponent(new URL(request.url, 'http://localhost').pathname)
    const json = (status, body) => {
      response.writeHead(status, { 'content-type': 'application/json' })
      response.end(JSON.stringify(body))
    }
    if (url.startsWith('/-/')) {
      const file = path.basename(url)
      const known = Object.values(packages).some((versions) => Object.values(versions).some((entry) => entry.file === file))
      if (!known) return json(404, { error: 'not found' })
      response.writeHead(200, { 'content-type': 'application/octet-stream' })
      return response.end(fs.readFileSync(path.join(folder, file)))
    }
    const versions = packages[url.slice(1)]
    if (!versions) return json(404, { error: 'not found' })
    const time = { created: '2026-01-01T00:00:00.000Z', modified: '2026-01-01T00:00:00.000Z' }
    const packument = { name: url.slice(1), 'dist-tags': {}, versions: {}, time }
    for (const [version, { manifest, file, integrity, shasum }] of Object.entries(versions)) {
      packument.versions[version] = { ...manifest, _id: `${manifest.name}@${version}`, dist: { tarball: `http://127.0.0.1:${port}/-/${file}`, integrity, shasum } }
      packument['dist-tags'].latest = version
      time[version] = time.created
    }
    json(200, packument)
  })
  server.listen(0, '127.0.0.1', () => console.log(`http://127.0.0.1:${server.address().port}/`))
}

/**
 * Fills `folder` for a registry of the release: dist/'s tarballs plus, for each platform of
 * npm/ that release:pack did not build here, a stand-in package (its npm/<platform>/package.json
 * and an empty binary), so that npm sees all seven optional dependencies as on the real registry
 * (a lockfile written without some of them would not do for `npm ci`). Returns `folder`.
 */
function releaseRegistryFolder(dist, folder) {
  const { execFileSync } = require('node:child_process')
  const root = path.join(__dirname, '..')
  const { name, version } = require('../package.json')
  for (const file of fs.readdirSync(dist).filter((entry) => entry.endsWith('.tgz'))) fs.copyFileSync(path.join(dist, file), path.join(folder, file))
  for (const key of fs.readdirSync(path.join(root, 'npm'))) {
    if (fs.existsSync(path.join(folder, `${name}-${key}-${version}.tgz`))) continue
    const stage = fs.mkdtempSync(path.join(folder, `stand-in-${key}-`))
    const manifest = { ...JSON.parse(fs.readFileSync(path.join(root, 'npm', key, 'package.json'), 'utf8')), version }
    fs.writeFileSync(path.join(stage, 'package.json'), JSON.stringify(manifest))
    fs.writeFileSync(path.join(stage, manifest.main), '')
    execFileSync('tar', ['-czf', path.join(folder, `${name}-${key}-${version}.tgz`), '--transform', 's,^\\.,package,', '.'], { cwd: stage })
    fs.rmSync(stage, { recursive: true })
  }
  return folder
}

/**
 * Starts this script in a child process serving `folder`; resolves to `{url, stop}`. A child, so
 * that a test's execFileSync of npm does not block the registry npm is talking to.
 */
function startLocalRegistry(folder) {
  const { spawn } = require('node:child_process')
  const registry = spawn(process.execPath, [__filename, folder], { stdio: ['ignore', 'pipe', 'inherit'] })
  const stop = () => registry.kill()
  return new Promise((resolve, reject) => {
    registry.once('error', reject)
    registry.once('exit', (code) => reject(new Error(`the local registry exited (${code})`)))
    registry.stdout.setEncoding('utf8').once('data', (line) => resolve({ url: line.trim(), stop }))
  })
}

if (require.main === module) serve(path.resolve(process.argv[2] ?? 'dist'))

module.exports = { manifestOf, startLocalRegistry, releaseRegistryFolder }
