'use strict'
// The ids of a queue's event stream, which anyone who can write to the queue's Redis can exhaust:
// one entry (or an XSETID) at the end of the id space, 18446744073709551615-18446744073709551615,
// and every `XADD *` after it fails ("The stream has exhausted the last possible ID"). BullMQ's
// scripts that add, start or finish a job end with such an XADD, so the whole queue stops. No clock
// writes an id whose time part is the last one (2^64-1 ms is 585 million years from 1970): such
// entries are forged, or were made after a forged one. They are deleted to give the ids back,
// with every entry ahead of Redis's clock (one just below the end would take them again).

/** Time part of the ids at the end of the id space. */
const LAST_MS = '18446744073709551615'
/** The largest id below the end of the id space (where a reader that skips it starts). */
const BELOW_END = `${BigInt(LAST_MS) - 1n}-${LAST_MS}`

/**
 * If the last id of stream KEYS[1] is at the end of the id space: deletes its entries ahead of
 * Redis's clock (those at the end among them), then sets its last id back to its last entry left
 * (or deletes the stream if none is left), so that `XADD *` works again. Atomic. Returns the
 * number of entries deleted.
 */
const REPAIR = `
if redis.call('TYPE', KEYS[1]).ok ~= 'stream' then return 0 end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local lastId = ''
for i = 1, #info, 2 do
  if info[i] == 'last-generated-id' then lastId = info[i + 1] end
end
if string.sub(lastId, 1, ${LAST_MS.length + 1}) ~= '${LAST_MS}-' then return 0 end
local now = redis.call('TIME')
local from = string.format('%.0f', tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) + 1) .. '-0'
local deleted = 0
while true do
  local ahead = redis.call('XRANGE', KEYS[1], from, '+', 'COUNT', 100)
  if #ahead == 0 then break end
  for _, entry in ipairs(ahead) do deleted = deleted + redis.call('XDEL', KEYS[1], entry[1]) end
end
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]
if last then redis.call('XSETID', KEYS[1], last[1]) else redis.call('DEL', KEYS[1]) end
return deleted
`

/** Whether stream entry id `id` is at the end of the id space (no clock writes it). */
function atEndOfIds(id) {
  return typeof id === 'string' && id.startsWith(`${LAST_MS}-`)
}

/** Ms ahead of this machine's clock past which an entry's id is far ahead (forged, or a clock gone wrong). */
const AHEAD_MS = 24 * 3600 * 1000

/** Whether stream entry id `id` is far ahead of the clock. */
function farAhead(id) {
  const ms = typeof id === 'string' ? id.split('-')[0] : ''
  return /^[0-9]+$/.test(ms) && BigInt(ms) > BigInt(Date.now() + AHEAD_MS)
}

/** Whether `err` is Redis refusing an XADD because the stream's ids are used up. */
function isExhausted(err) {
  return /exhausted the last possible ID/i.test(String(err?.message ?? err))
}

/** Gives the stream `key` its ids back (see REPAIR); resolves to the number of entries deleted. */
function repairStream(client, key) {
  return client.eval(REPAIR, 1, key)
}

/** The id of the last entry of stream `key` below the end of the id space, or '0-0': where a reader starts. */
async function lastId(client, key) {
  const [last] = await client.xrevrange(key, BELOW_END, '-', 'COUNT', 1)
  return last ? last[0] : '0-0'
}

module.exports = { atEndOfIds, farAhead, isExhausted, repairStream, lastId }
