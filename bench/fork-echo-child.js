'use strict'
// Baselines c and d: a child_process.fork child that answers each `{id, args}` request over the
// built-in IPC channel (JSON or 'advanced' serialization, as chosen by the parent).

const echo = (value) => value

process.on('message', (msg) => {
  if (msg === 'ping') return process.send('ready')
  process.send({ id: msg.id, value: echo(...msg.args) })
})
// Exit once the parent disconnects (or dies), like invoke-parallel's workers.
process.on('disconnect', () => process.exit(0))
