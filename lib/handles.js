'use strict'
// Sockets and servers travel with calls: among a call's arguments, or as a worker's result, each
// becomes a placeholder in the encoded value while its descriptor goes over the handle channel.

// Through builtin(): `invoke-parallel/worker` loads this file, and worker modules bundle it.
const { builtin } = require('./builtin')
const fs = builtin('node:fs')
const net = builtin('node:net')
const { makeError } = require('./errors')
const { MAX_HANDLES } = require('./protocol')

const PLACEHOLDER = '\u0000invoke-parallel:handle'
// Unix: descriptors travel over a Unix socket (SCM_RIGHTS). Windows: a socket shows JS no
// descriptor, so the addon finds it among the loop's TCP handles by its addresses, duplicates it
// for the receiving process, and JS there opens a TCP handle on it (Node's tcp_wrap binding).
const onWindows = () => process.platform === 'win32'
/** Read per call: Windows needs the tcp_wrap binding to make a socket from a SOCKET. */
const CAN_PASS_HANDLES = () => !onWindows() || tcpWrap() !== null
// Registered, so `set()` from another copy of this package still counts.
const kTransfer = Symbol.for('invoke-parallel.transfer')

/** Worker side: `return invoke.set(socket, {keepOpen})` to choose whether the worker keeps a copy. */
function set(handle, options) {
  if (!isHandle(handle)) throw makeError('ERR_INVALID_ARG_TYPE', 'invoke.set', 'the handle must be a net.Socket or net.Server')
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw makeError('ERR_INVALID_ARG_TYPE', 'invoke.set', 'options must be an object')
  }
  for (const key of Object.keys(options ?? {})) {
    if (key !== 'keepOpen') throw makeError('ERR_INVALID_ARG_VALUE', 'invoke.set', `unknown option "${key}"`)
  }
  const keepOpen = options?.keepOpen ?? false
  if (typeof keepOpen !== 'boolean') throw makeError('ERR_INVALID_ARG_TYPE', 'invoke.set', 'keepOpen must be a boolean')
  return { [kTransfer]: true, handle, keepOpen }
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
    if (!CAN_PASS_HANDLES()) throw makeError('ERR_INVOKE_HANDLES_UNSUPPORTED')
    taken ??= { values: values.slice(), fds: [], release: [] }
    if (taken.fds.length === MAX_HANDLES) {
      throw makeError('ERR_INVALID_ARG_VALUE', 'invoke-parallel', `a call carries at most ${MAX_HANDLES} sockets and servers`)
    }
    const { type, fd, head } = describe(value)
    taken.values[i] = { [PLACEHOLDER]: type, slot: taken.fds.length, head }
    taken.fds.push(fd)
    if (!keep) taken.release.push(value)
    else if (value instanceof net.Socket) stopReading(value, fd)
  }
  return taken
}

/**
 * A kept socket stops reading, so incoming bytes go to the side that received it rather than to
 * whichever process reads first. Reading again (`resume()`, a 'data' listener) restarts it.
 * Windows: libuv's readStop leaves its pending zero-byte read in place, and under wine the first
 * read waiting on a socket is the only one woken, so the receiver's copy could wait for ever
 * behind it (seen: a worker's kept, returned socket whose echo never reached the parent); the
 * addon cancels that read (`fd`: the SOCKET descriptorOf found).
 */
function stopReading(socket, fd) {
  socket.pause()
  if (socket._handle?.reading) {
    socket._handle.reading = false
    socket._handle.readStop()
    if (onWindows()) addon().cancelPendingRead(fd)
  }
}

function describe(handle) {
  // Windows finds a handle's socket among the loop's TCP handles: a pipe's is not one of them.
  if (onWindows() && handle._handle && !(handle._handle instanceof tcpWrap().TCP)) {
    throw makeError('ERR_INVOKE_HANDLES_UNSUPPORTED', `a named pipe's ${handle instanceof net.Server ? 'server' : 'socket'}`)
  }
  if (handle instanceof net.Server) {
    const fd = handle.listening ? descriptorOf(handle) : undefined
    if (typeof fd !== 'number' || fd < 0) {
      throw makeError('ERR_INVALID_ARG_VALUE', 'invoke-parallel', 'a net.Server can be sent only while it is listening')
    }
    return { type: 'server', fd, head: undefined }
  }
  if (handle.destroyed) throw makeError('ERR_INVALID_ARG_VALUE', 'invoke-parallel', 'cannot send a socket that has been destroyed')
  const fd = handle.connecting ? undefined : descriptorOf(handle)
  if (typeof fd !== 'number' || fd < 0) {
    throw makeError('ERR_INVALID_ARG_VALUE', 'invoke-parallel', 'cannot send a socket that is not connected yet')
  }
  // Bytes this process already read (a server without pauseOnConnect starts reading at once)
  // travel along and are put back in front of the stream on the other side.
  const chunks = []
  for (let chunk = handle.read(); chunk !== null; chunk = handle.read()) {
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)
  }
  return { type: 'socket', fd, head: chunks.length === 0 ? undefined : Buffer.concat(chunks) }
}

/**
 * The descriptor (Unix) or SOCKET (Windows) of a handle, or undefined. Windows: the one TCP handle
 * of this thread's loop with the handle's local and remote addresses (a server: its local one).
 */
function descriptorOf(handle) {
  if (!onWindows()) return handle._handle?.fd
  const local = handle instanceof net.Server ? handle.address() : { address: handle.localAddress, port: handle.localPort }
  const remote = handle instanceof net.Server ? {} : { address: handle.remoteAddress, port: handle.remotePort }
  if (typeof local?.address !== 'string' || typeof local.port !== 'number') return undefined
  if (!(handle instanceof net.Server) && (typeof remote.address !== 'string' || typeof remote.port !== 'number')) return undefined
  let found = addon().findSocket(local.address, local.port, remote.address, remote.port)
  if (found === -2) found = ownAmongSame(handle, [local.address, local.port, remote.address, remote.port])
  if (found === -2) {
    throw makeError('ERR_INVALID_ARG_VALUE', 'invoke-parallel', `more than one socket of this process has the addresses of this ${handle instanceof net.Server ? 'server' : 'socket'}: send the one this process holds alone`)
  }
  return found < 0 ? undefined : found
}

/**
 * Several TCP handles of this loop share `handle`'s addresses (one connection held twice here: a
 * socket kept with keepOpen that a worker sent back). Its own is the one whose reference to the
 * loop follows `handle._handle`'s: turned on, then off, between two looks (then put back). -2 if
 * that does not single one out.
 */
function ownAmongSame(handle, addresses) {
  const wrap = handle._handle
  if (typeof wrap?.hasRef !== 'function') return -2
  const had = wrap.hasRef()
  let on, off
  try {
    wrap.ref()
    on = addon().findReferencedSockets(...addresses)
    wrap.unref()
    off = new Set(addon().findReferencedSockets(...addresses))
  } finally {
    if (had) wrap.ref()
    else wrap.unref()
  }
  const own = on.filter((socket) => !off.has(socket))
  return own.length === 1 ? own[0] : -2
}

function addon() {
  return require('./native').processWide
}

let tcpWrapBinding
/** Node's tcp_wrap binding (Windows only), or null where this Node does not offer it. */
function tcpWrap() {
  if (tcpWrapBinding === undefined) {
    try {
      tcpWrapBinding = process.binding('tcp_wrap')
    } catch {
      tcpWrapBinding = null
    }
  }
  return tcpWrapBinding
}

/** Closes this process's copies once the descriptors are on their way (the connection lives on). */
function releaseHandles(taken) {
  for (const handle of taken.release) {
    if (handle instanceof net.Server) handle.close()
    else handle.destroy()
  }
}

/**
 * Replaces the placeholders among `values` with live handles made from `fds`. Every descriptor
 * ends up in exactly one handle or closed: if any placeholder or descriptor is bad (a worker is
 * not trusted to send good ones), the handles made so far are destroyed, the rest closed, and
 * it throws.
 */
function restoreHandles(values, fds) {
  const used = new Set()
  const revived = []
  try {
    for (let i = 0; i < values.length; i++) {
      const placeholder = values[i]
      if (placeholder === null || typeof placeholder !== 'object' || !(PLACEHOLDER in placeholder)) continue
      const { slot } = placeholder
      const fd = fds[slot]
      if (!Number.isInteger(slot) || fd === undefined || used.has(slot)) {
        throw makeError('ERR_INVOKE_BAD_HANDLE', 'a handle went missing in transfer')
      }
      const handle = revive(placeholder[PLACEHOLDER], fd, placeholder.head)
      used.add(slot)
      revived.push(handle)
      values[i] = handle
      // A socket that failed as it was made (its first read refused) would report it as an
      // 'error' event before its receiver could listen, ending this process: refuse it instead.
      if (handle.errored) {
        handle.on('error', () => {})
        throw makeError('ERR_INVOKE_BAD_HANDLE', `a socket handle arrived that cannot be read (${handle.errored.code ?? handle.errored.message})`)
      }
    }
  } catch (err) {
    for (const handle of revived) discard(handle)
    closeUnused(fds, used)
    throw err
  }
  closeUnused(fds, used)
  return values
}

function closeUnused(fds, used) {
  fds.forEach((fd, slot) => {
    if (used.has(slot)) return
    try {
      // A SOCKET is no C runtime descriptor: the addon closes it.
      if (onWindows()) addon().closeDescriptor(fd)
      else fs.closeSync(fd)
    } catch {}
  })
}

function discard(handle) {
  if (handle instanceof net.Server) handle.close()
  else handle.destroy()
}

function revive(type, fd, head) {
  if (type === 'server') {
    // Listening on a descriptor that is not a listening socket fails later, as an 'error' event
    // with nobody there to handle it: refuse it now instead.
    if (!require('./native').isListeningSocket(fd)) {
      throw makeError('ERR_INVOKE_BAD_HANDLE', 'a server handle arrived that is not a listening socket')
    }
    const server = net.createServer()
    server.listen(onWindows() ? openTcp('SERVER', fd) : { fd })
    return server
  }
  // Named only if it is text: a received object's toString can take minutes (a sparse array's).
  if (type !== 'socket') {
    throw makeError('ERR_INVOKE_BAD_HANDLE', `a handle of unknown type ${typeof type === 'string' ? type : `(a ${typeof type})`} arrived`)
  }
  // A listening socket is no connection (only a forged answer names one as a socket): Windows
  // fails the first read of a socket made on it at once, Unix when a client connects.
  if (require('./native').isListeningSocket(fd)) {
    throw makeError('ERR_INVOKE_BAD_HANDLE', 'a socket handle arrived that is a listening server')
  }
  // Checked before the descriptor is taken over: until then the caller still closes it.
  if (head !== undefined && !Buffer.isBuffer(head) && !(head instanceof Uint8Array)) {
    throw makeError('ERR_INVOKE_BAD_HANDLE', 'a socket handle arrived with bytes that are not a buffer')
  }
  // Throws for a descriptor that cannot be a stream (a regular file, say) before taking it over.
  const socket = onWindows() ? new net.Socket({ handle: openTcp('SOCKET', fd), readable: true, writable: true }) : new net.Socket({ fd, readable: true, writable: true })
  if (head !== undefined) socket.unshift(head)
  return socket
}

/**
 * Windows: a TCP handle on the SOCKET `fd` (`new net.Socket({fd})` takes a C runtime descriptor,
 * and guesses its type from it). Throws, leaving the socket to the caller, if libuv refuses it.
 */
function openTcp(kind, fd) {
  const { TCP, constants } = tcpWrap()
  const handle = new TCP(constants[kind])
  const status = handle.open(fd)
  if (status !== 0) {
    handle.close()
    throw makeError('ERR_INVOKE_BAD_HANDLE', `a ${kind === 'SERVER' ? 'server' : 'socket'} handle arrived that libuv cannot open (${status})`)
  }
  return handle
}

module.exports = { set, isHandle, takeHandles, releaseHandles, restoreHandles, kTransfer }
