//! Handing a batch of settlements to JS from a libuv callback, where no JS is on the stack: the
//! call goes through `napi_make_callback`, so promise reactions (the caller's `await`s) and
//! `process.nextTick`s run right after it, as they do after any of Node's own I/O callbacks.

use std::os::fd::IntoRawFd;
use std::ptr;

use napi::bindgen_prelude::{Buffer, Either, Function, ToNapiValue, Unknown};
use napi::sys;
use napi::JsValue;

use super::descriptors;
use super::failure_json::failure_json;
use super::settle::Settled;
use crate::core::{Outcome, Piece};

/// A batch entry's out-of-line part: a large payload, or descriptors.
type Extra = Either<Buffer, Vec<i32>>;

/// Binary payloads from this size on get a Buffer of their own in a batch (see `to_batch`).
const OWN_BUFFER: usize = 64 * 1024;

/// Batch kinds, as `lib/protocol.js` names them (checked by a test below).
const RESOLVED: u32 = 0;
const REJECTED: u32 = 1;
const FAILED: u32 = 2;
const REPORT: u32 = 3;
const CLOSED: u32 = 4;
/// A resolved value that carries descriptors: the entry's extra is their fd numbers.
const RESOLVED_WITH_HANDLES: u32 = 5;
/// A line of captured worker output; the id is the worker's pid.
const STDOUT_LINE: u32 = 6;
const STDERR_LINE: u32 = 7;
/// The call's result is a stream (no payload); items follow as STREAM_ITEM entries.
const STREAM_START: u32 = 8;
const STREAM_ITEM: u32 = 9;
/// A report with the worker's thrown error: the entry's extra is the encoded error.
const REPORT_WITH_ERROR: u32 = 10;
/// A method call would be accepted again (asked for by `wantRoom`).
const ROOM: u32 = 11;

/// The pool's `onBatch` function, held for calls from the event loop.
pub struct JsCallback {
  env: sys::napi_env,
  function: sys::napi_ref,
  context: sys::napi_async_context,
  /// A Buffer and a Uint32Array that every batch that fits is written into: a fresh pair per
  /// batch cost two allocations with finalizers, which showed in sequential latency.
  bytes: Reused,
  index: Reused,
}

/// Room in the reused Buffer and Uint32Array (bytes): most batches are a few small replies.
const REUSED_BYTES: usize = 64 * 1024;
const REUSED_INDEX: usize = 16 * 1024;

/// A JS value held across batches, with its memory.
struct Reused {
  value: sys::napi_ref,
  data: *mut u8,
  len: usize,
}

macro_rules! napi_try {
  ($call:expr) => {
    // SAFETY: a plain N-API call on the JS thread, with out-pointers to locals.
    if unsafe { $call } != sys::Status::napi_ok {
      return Err(napi::Error::from_reason(concat!("N-API call failed: ", stringify!($call))));
    }
  };
}

impl JsCallback {
  /// On the JS thread, inside a call from JS (the pool's constructor).
  pub fn new(env: &napi::Env, function: &Function<'_, Unknown<'_>, Unknown<'_>>) -> napi::Result<JsCallback> {
    let (env, function) = (env.raw(), function.raw());
    let mut reference = ptr::null_mut();
    napi_try!(sys::napi_create_reference(env, function, 1, &mut reference));
    let name = "invoke-parallel";
    let mut resource_name = ptr::null_mut();
    napi_try!(sys::napi_create_string_utf8(env, name.as_ptr().cast(), name.len() as isize, &mut resource_name));
    let mut context = ptr::null_mut();
    napi_try!(sys::napi_async_init(env, ptr::null_mut(), resource_name, &mut context));
    let (bytes, index) = (new_bytes(env, REUSED_BYTES)?, new_index(env, REUSED_INDEX / 4)?);
    let bytes = Reused { value: hold(env, bytes.0)?, data: bytes.1, len: REUSED_BYTES };
    let index = Reused { value: hold(env, index.0)?, data: index.1, len: REUSED_INDEX };
    Ok(JsCallback { env, function: reference, context, bytes, index })
  }

  /// Calls the function with `items` as one batch. From a libuv callback on the JS thread only.
  pub fn deliver(&self, items: Vec<Settled>) {
    let env = self.env;
    let mut scope = ptr::null_mut();
    // SAFETY: on the JS thread with no JS running; the scope is closed below.
    if unsafe { sys::napi_open_handle_scope(env, &mut scope) } != sys::Status::napi_ok {
      return;
    }
    let _ = self.call(items);
    // SAFETY: the scope opened above.
    unsafe { sys::napi_close_handle_scope(env, scope) };
  }

  fn call(&self, items: Vec<Settled>) -> napi::Result<()> {
    let env = self.env;
    let mut function = ptr::null_mut();
    napi_try!(sys::napi_get_reference_value(env, self.function, &mut function));
    let mut global = ptr::null_mut();
    napi_try!(sys::napi_get_global(env, &mut global));
    let batch = Batch::of(items);
    let words = batch.index.len();
    let index_bytes = words * 4;
    let bytes = if batch.bytes.len() <= self.bytes.len {
      // SAFETY: the reused Buffer has room; JS reads it only during this call.
      unsafe { ptr::copy_nonoverlapping(batch.bytes.as_ptr(), self.bytes.data, batch.bytes.len()) };
      value_of(env, self.bytes.value)?
    } else {
      let (value, data) = new_bytes(env, batch.bytes.len())?;
      // SAFETY: `data` was just allocated with that length.
      unsafe { ptr::copy_nonoverlapping(batch.bytes.as_ptr(), data, batch.bytes.len()) };
      value
    };
    let index = if index_bytes <= self.index.len {
      // SAFETY: as for the bytes.
      unsafe { ptr::copy_nonoverlapping(batch.index.as_ptr().cast(), self.index.data, index_bytes) };
      value_of(env, self.index.value)?
    } else {
      let (value, data) = new_index(env, words)?;
      // SAFETY: as for the bytes.
      unsafe { ptr::copy_nonoverlapping(batch.index.as_ptr().cast(), data, index_bytes) };
      value
    };
    let mut count = ptr::null_mut();
    napi_try!(sys::napi_create_uint32(env, words as u32, &mut count));
    let extras = if batch.extras.is_empty() {
      let mut undefined = ptr::null_mut();
      napi_try!(sys::napi_get_undefined(env, &mut undefined));
      undefined
    } else {
      // SAFETY: converting owned Rust values on the JS thread.
      unsafe { Vec::<Extra>::to_napi_value(env, batch.extras)? }
    };
    let args = [bytes, index, count, extras];
    let mut result = ptr::null_mut();
    // SAFETY: every value belongs to the open handle scope.
    let status =
      unsafe { sys::napi_make_callback(env, self.context, global, function, args.len(), args.as_ptr(), &mut result) };
    if status == sys::Status::napi_pending_exception {
      // Nothing of ours can handle it: it is the process's uncaught exception, as it would be
      // from any other I/O callback.
      let mut error = ptr::null_mut();
      napi_try!(sys::napi_get_and_clear_last_exception(env, &mut error));
      napi_try!(sys::napi_fatal_exception(env, error));
    }
    Ok(())
  }

  /// Releases the function. Not at environment teardown, when N-API may no longer be called.
  pub fn release(&self) {
    // SAFETY: on the JS thread while the environment is alive; each is released once.
    unsafe {
      sys::napi_delete_reference(self.env, self.function);
      sys::napi_delete_reference(self.env, self.bytes.value);
      sys::napi_delete_reference(self.env, self.index.value);
      sys::napi_async_destroy(self.env, self.context);
    }
  }
}

fn hold(env: sys::napi_env, value: sys::napi_value) -> napi::Result<sys::napi_ref> {
  let mut reference = ptr::null_mut();
  napi_try!(sys::napi_create_reference(env, value, 1, &mut reference));
  Ok(reference)
}

fn value_of(env: sys::napi_env, reference: sys::napi_ref) -> napi::Result<sys::napi_value> {
  let mut value = ptr::null_mut();
  napi_try!(sys::napi_get_reference_value(env, reference, &mut value));
  Ok(value)
}

/// A new Buffer of `len` bytes, and its memory.
fn new_bytes(env: sys::napi_env, len: usize) -> napi::Result<(sys::napi_value, *mut u8)> {
  let (mut value, mut data) = (ptr::null_mut(), ptr::null_mut());
  napi_try!(sys::napi_create_buffer(env, len, &mut data, &mut value));
  Ok((value, data.cast()))
}

/// A new Uint32Array of `words` elements, and its memory.
fn new_index(env: sys::napi_env, words: usize) -> napi::Result<(sys::napi_value, *mut u8)> {
  let (mut buffer, mut data, mut array) = (ptr::null_mut(), ptr::null_mut(), ptr::null_mut());
  napi_try!(sys::napi_create_arraybuffer(env, words * 4, &mut data, &mut buffer));
  napi_try!(sys::napi_create_typedarray(env, sys::TypedarrayType::uint32_array, words, buffer, 0, &mut array));
  Ok((array, data.cast()))
}

/// Words per entry in a batch's index.
const WORDS: usize = 5;

/// A batch as JS reads it (`lib/batch.js`): few, flat values, because each value crossing N-API
/// costs more than the settling it carries. `index` holds five words per entry: id, kind, end,
/// payload, extra. The entry's inline payload is `bytes` from the previous entry's end to its
/// own (binary for values, UTF-8 for texts); `payload`, when not 0, is 1 + the index in `extras`
/// of a large binary payload that has a Buffer of its own (no copy); `extra`, when not 0, is
/// 1 + the index in `extras` of the kind's second part.
struct Batch {
  bytes: Vec<u8>,
  index: Vec<u32>,
  extras: Vec<Extra>,
}

impl Batch {
  fn of(items: Vec<Settled>) -> Batch {
    let mut batch = Batch { bytes: Vec::new(), index: Vec::with_capacity(items.len() * WORDS), extras: Vec::new() };
    for item in items {
      match item {
        Settled::Call(id, Outcome::Resolved(payload, handles)) if !handles.is_empty() => {
          // The descriptors now belong to JS, which wraps each in a net.Socket or net.Server.
          let fds = descriptors::take(handles).into_iter().map(IntoRawFd::into_raw_fd).collect();
          batch.push(id, RESOLVED_WITH_HANDLES, payload, Some(Either::B(fds)));
        }
        Settled::Call(id, Outcome::Resolved(payload, _)) => batch.push(id, RESOLVED, payload, None),
        Settled::Call(id, Outcome::Rejected(payload)) => batch.push(id, REJECTED, payload, None),
        Settled::Call(id, Outcome::Failed(failure)) => batch.push(id, FAILED, failure_json(&failure).into(), None),
        Settled::Report(mut failure) => match failure.error.take() {
          Some(error) => batch.push(0, REPORT_WITH_ERROR, failure_json(&failure).into(), Some(Either::A(error.into()))),
          None => batch.push(0, REPORT, failure_json(&failure).into(), None),
        },
        Settled::Room => batch.push(0, ROOM, Vec::new(), None),
        Settled::Closed => batch.push(0, CLOSED, Vec::new(), None),
        Settled::Piece(id, Piece::Started) => batch.push(id, STREAM_START, Vec::new(), None),
        Settled::Piece(id, Piece::Item(payload)) => batch.push(id, STREAM_ITEM, payload, None),
        Settled::Output { pid, stderr, line } => {
          batch.push(pid, if stderr { STDERR_LINE } else { STDOUT_LINE }, line.into(), None)
        }
      }
    }
    batch
  }

  fn push(&mut self, id: u32, kind: u32, payload: Vec<u8>, extra: Option<Extra>) {
    let own = if payload.len() >= OWN_BUFFER {
      self.extras.push(Either::A(payload.into()));
      self.extras.len() as u32
    } else {
      self.bytes.extend_from_slice(&payload);
      0
    };
    let extra = extra.map_or(0, |extra| {
      self.extras.push(extra);
      self.extras.len() as u32
    });
    self.index.extend_from_slice(&[id, kind, self.bytes.len() as u32, own, extra]);
  }
}

#[cfg(test)]
mod batch_kinds_match_js {
  use super::*;
  use invoke_parallel_js_constants::{number, object, protocol_js};

  /// `lib/protocol.js` reads batches with the kinds they are written with here.
  #[test]
  fn the_batch_kinds_are_the_ones_lib_protocol_js_names() {
    let js: Vec<(String, u32)> = object(&protocol_js(), "BatchKind")
      .into_iter()
      .map(|(name, value)| (name, u32::try_from(number(&value)).expect("a batch kind")))
      .collect();
    let mut rust = vec![
      ("Resolved", RESOLVED),
      ("Rejected", REJECTED),
      ("Failed", FAILED),
      ("Report", REPORT),
      ("Closed", CLOSED),
      ("ResolvedWithHandles", RESOLVED_WITH_HANDLES),
      ("StdoutLine", STDOUT_LINE),
      ("StderrLine", STDERR_LINE),
      ("StreamStart", STREAM_START),
      ("StreamItem", STREAM_ITEM),
      ("ReportWithError", REPORT_WITH_ERROR),
      ("Room", ROOM),
    ];
    rust.sort();
    let rust: Vec<(String, u32)> = rust.into_iter().map(|(name, kind)| (name.to_string(), kind)).collect();
    assert_eq!(js, rust);
  }
}
