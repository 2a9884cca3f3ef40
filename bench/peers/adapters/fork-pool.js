'use strict'
// The baseline: a hand-written child_process.fork pool. N children, round robin, one id -> promise
// map, JSON (the default serialization). No handshake: messages sent before a child listens wait
// in the pipe.

const path = require('node:path')
const { fork } = require('node:child_process')

const CHILD = path.join(__dirname, '..', 'workers', 'fork-pool-child.js')

exports.start = async function start(workerFile, { workers }) {
  if (path.resolve(workerFile) !== path.join(__dirname, '..', 'work.js')) {
    throw new Error('fork-pool: its child runs bench/peers/work.js')
  }
  const pending = new Map()
  let nextId = 0
  let turn = 0
  const children = []
  const exits = []
  for (let i = 0; i < workers; i++) {
    const child = fork(CHILD, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] })
    child.on('message', (msg) => {
      const entry = pending.get(msg.id)
      if (entry === undefined) return
      pending.delete(msg.id)
      if ('error' in msg) entry.reject(new Error(msg.error))
      else entry.resolve(msg.value)
    })
    exits.push(
      new Promise((resolve) => child.once('exit', resolve)).then((code) => {
        for (const { reject } of pending.values()) reject(new Error(`fork-pool: a child exited (${code})`))
        pending.clear()
      }),
    )
    children.push(child)
  }
  return {
    call(fn, arg) {
      return new Promise((resolve, reject) => {
        const id = ++nextId
        pending.set(id, { resolve, reject })
        const child = children[turn]
        turn = (turn + 1) % children.length
        child.send({ id, fn, arg })
      })
    },
    async stop() {
      for (const child of children) if (child.connected) child.disconnect()
      await Promise.all(exits)
    },
  }
}
