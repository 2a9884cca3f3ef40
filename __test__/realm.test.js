'use strict'
// lib/realm.js: an error another realm made (a jest test file's vm context) moved onto this
// realm's class, its cause and errors too; what is not a native error (or this package's Cancel,
// Timeout, Retry by their code), or cannot be changed, is left as it is.

const test = require('ava')
const vm = require('node:vm')
const { ownRealm } = require('../lib/realm')
const invoke = require('..')

const other = () =>
  vm.runInNewContext(`({
    typeError: new TypeError('t', { cause: new RangeError('c') }),
    aggregate: new AggregateError([new URIError('u')], 'a'),
    frozen: Object.freeze(new TypeError('f')),
    lookalike: (() => { class TypeError extends Error {}; return new TypeError('not native') })(),
    cancel: (() => { class Cancel extends Error {}; const e = new Cancel('c'); e.code = 'ERR_INVOKE_CANCELLED'; return e })(),
    cancelWithoutCode: (() => { class Cancel extends Error {}; return new Cancel('c') })(),
  })`)

test('native errors of another realm, with their cause and errors, get this realm\'s classes', (t) => {
  const { typeError, aggregate } = other()
  t.true(ownRealm(typeError) instanceof TypeError)
  t.true(typeError.cause instanceof RangeError)
  t.true(ownRealm(aggregate) instanceof AggregateError)
  t.true(aggregate.errors[0] instanceof URIError)
})

test("another copy's Cancel is this copy's by its code; a lookalike class, a frozen error and a revoked Proxy stay as they are", (t) => {
  const { cancel, cancelWithoutCode, lookalike, frozen } = other()
  t.true(ownRealm(cancel) instanceof invoke.Cancel)
  t.false(ownRealm(cancelWithoutCode) instanceof invoke.Cancel)
  t.false(ownRealm(lookalike) instanceof TypeError)
  t.false(ownRealm(frozen) instanceof TypeError)
  const { proxy, revoke } = Proxy.revocable(other().typeError, {})
  revoke()
  t.is(ownRealm(proxy), proxy)
  for (const value of [undefined, null, 1, 'x', {}, []]) t.is(ownRealm(value), value)
})
