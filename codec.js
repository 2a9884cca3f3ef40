'use strict'
// For adapters that carry calls elsewhere (invoke-parallel-bullmq), `require('invoke-parallel/codec')`:
// the value codec the pool itself uses between parent and worker, so that values and thrown errors
// cross a queue exactly as they cross a worker's channel.
// - `encode(value, what)`: bytes; a function or symbol in it throws a TypeError
//   (ERR_INVOKE_UNSERIALIZABLE) that says where in `what` ("arguments", "result") it sits.
// - `decode(bytes)`: the value.
// - `encodeThrown(thrown)`: bytes describing a thrown value; never throws.
// - `decodeThrown(bytes)`: the thrown value rebuilt (native error class, code, cause, fields).

const { encode, decode, encodeThrown, decodeThrown } = require('./lib/wire')

// Plain names, so that Node's ES module loader sees them as named exports.
module.exports = { encode, decode, encodeThrown, decodeThrown }
