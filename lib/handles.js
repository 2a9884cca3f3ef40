'use strict'
// Sockets and servers travel with calls: among a call's arguments, or as a worker's result, each
// becomes a placeholder in the encoded value while its descriptor goes over the handle channel.

const fs = require('node:fs')
const net = require('node:net')

const PLACEHOLDER = '\u0000invoke-parallel:handle'
const kTransfer = Symbol('invoke-parallel.transfer')

/** Worker side: `return invoke.set(socket, {keepOpen})` to choose whether the worker keeps a copy. */
function set(handle, { keepOpen = false } = {}) {
  if (!isHandle(handle)) throw new TypeError('invoke.set: expected a net.Socket or net.Server')
  return { [kTransfer]: true, handle, keepOpen: keepOpen === true }
}

function isHandle(value) {
  return value instanceof net.Socket || value instanceof net.Server
}

/**
 * Finds the handles among `values` (an argument list) and replaces them with placeholders.
 * `keepOpen` is true, false, or the handles to keep. Returns null when there are none; throws a
 * TypeError for a handle that cannot travel.
 */
function takeHandles(values, keepOpen) {
  let taken = null
  for (let i = 0; i < values.length; i++) {
    let value = values[i]
    let keep = keepOpen === true || (Array.isArray(keepOpen) && keepOpen.includes(value))
    if (value !== null && typeof value === 'object' && value[kTransfer] === true) {
      keep = value.keepOpen
      value = value.handle
    }
    if (!isHandle(value)) continue
    taken ??= { values: values.slice(), fds: [], release: [] }
    const { type, fd, head } = describe(value)
    taken.values[i] = { [PLACEHOLDER]: type, slot: taken.fds.length, head }
    taken.fds.push(fd)
    if (!keep) taken.release.push(value)
    else if (value instanceof net.Socket) stopReading(value)
  }
  return taken
}

/**
 * A kept socket stops reading, so incoming bytes go to the side that received it rather than to
 * whichever process reads first. Reading again (`resume()`, a 'data' listener) restarts it.
 */
function stopReading(socket) {
  socket.pause()
  if (socket._handle?.reading) {
    socket._handle.reading = false
    socket._handle.readStop()
  }
}

function describe(handle) {
  if (handle instanceof net.Server) {
    const fd = handle._handle?.fd
    if (!handle.listening || typeof fd !== 'number' || fd < 0) {
      throw new TypeError('invoke-parallel: a net.Server can be sent only while it is listening')
    }
    return { type: 'server', fd, head: undefined }
  }
  if (handle.destroyed) throw new TypeError('invoke-parallel: cannot send a socket that has been destroyed')
  const fd = handle._handle?.fd
  if (handle.connecting || typeof fd !== 'number' || fd < 0) {
    throw new TypeError('invoke-parallel: cannot send a socket that is not connected yet')
  }
  // Bytes this process already read (a server without pauseOnConnect starts reading at once)
  // travel along and are put back in front of the stream on the other side.
  const chunks = []
  for (let chunk = handle.read(); chunk !== null; chunk = handle.read()) {
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)
  }
  return { type: 'socket', fd, head: chunks.length === 0 ? undefined : Buffer.concat(chunks) }
}

/** Closes this process's copies once the descriptors are on their way (the connection lives on). */
function releaseHandles(taken) {
  for (const handle of taken.release) {
    if (handle instanceof net.Server) handle.close()
    else handle.destroy()
  }
}

/** Replaces the placeholders among `values` with live handles made from `fds`. */
function restoreHandles(values, fds) {
  const used = new Set()
  for (let i = 0; i < values.length; i++) {
    const placeholder = values[i]
    if (placeholder === null || typeof placeholder !== 'object' || !(PLACEHOLDER in placeholder)) continue
    const fd = fds[placeholder.slot]
    if (fd === undefined || used.has(placeholder.slot)) throw new Error('invoke-parallel: a handle went missing in transfer')
    used.add(placeholder.slot)
    values[i] = revive(placeholder[PLACEHOLDER], fd, placeholder.head)
  }
  fds.forEach((fd, slot) => used.has(slot) || fs.closeSync(fd))
  return values
}

function revive(type, fd, head) {
  if (type === 'server') {
    const server = net.createServer()
    server.listen({ fd })
    return server
  }
  const socket = new net.Socket({ fd, readable: true, writable: true })
  if (head !== undefined) socket.unshift(head)
  return socket
}

module.exports = { set, isHandle, takeHandles, releaseHandles, restoreHandles, kTransfer }
