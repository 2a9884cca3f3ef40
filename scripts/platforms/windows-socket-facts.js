'use strict'
// Why sockets do not travel with calls on Windows yet: what a Windows Node shows of a socket to
// an addon. Runs a probe under wine with each Windows node.exe it is given (default: the ones
// scripts/platforms/fetch-node.sh keeps under $TOOLCHAINS/node) and prints, per version, the
// descriptor `_handle.fd` gives for a listening server, an accepted socket and a client socket.
// An addon can pass a TCP handle with uv_write2 only if it can name it (its uv_tcp_t, or the
// SOCKET to open one on); on Windows Node's stream handles report -1 (LibuvStreamWrap::GetFD
// returns fd_, set only for a handle opened from a descriptor).
//
//   node scripts/platforms/windows-socket-facts.js [node.exe ...]

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { wineNode } = require('./wine-node')

const PROBE = `
const net = require('net')
const server = net.createServer((accepted) => {
  console.log(JSON.stringify({
    node: process.version,
    server: server._handle.fd,
    accepted: accepted._handle.fd,
    client: client._handle.fd,
  }))
  accepted.destroy(); client.destroy(); server.close()
})
let client
server.listen(0, '127.0.0.1', () => { client = net.connect(server.address().port, '127.0.0.1') })
`

function defaultNodes() {
  const root = path.join(process.env.TOOLCHAINS || '/work/toolchains', 'node')
  if (!fs.existsSync(root)) return []
  return fs
    .readdirSync(root)
    .filter((name) => name.startsWith('win-x64-'))
    .map((name) => path.join(root, name, 'bin', 'node.exe'))
    .filter((exe) => fs.existsSync(exe))
}

const nodes = process.argv.length > 2 ? process.argv.slice(2) : defaultNodes()
if (nodes.length === 0) {
  console.error('no Windows node.exe given or found under $TOOLCHAINS/node')
  process.exit(1)
}
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'invoke-parallel-winsock-'))
try {
  fs.writeFileSync(path.join(dir, 'probe.js'), PROBE)
  for (const node of nodes) {
    const printed = wineNode(node, ['probe.js'], { cwd: dir })
    const line = printed.split('\n').find((l) => l.startsWith('{'))
    console.log(line ?? `${node}: ${printed.trim()}`)
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true })
}
