//! Handing a batch of settlements to JS from a libuv callback, where no JS is on the stack: the
//! call goes through `napi_make_callback`, so promise reactions (the caller's `await`s) and
//! `process.nextTick`s run right after it, as they do after any of Node's own I/O callbacks.

use std::os::fd::IntoRawFd;
use std::ptr;

use napi::bindgen_prelude::{Buffer, Either4, Function, ToNapiValue, Unknown};
use napi::JsValue;
use napi::sys;

use super::settle::Settled;
use crate::core::{Outcome, Piece};

/// One entry of a settlement batch, flattened into the JS array as `id, kind, payload`.
pub type BatchItem = Either4<u32, Buffer, String, Vec<i32>>;

/// Binary payloads from this size on get a Buffer of their own in a batch (see `to_batch`).
const OWN_BUFFER: usize = 64 * 1024;

/// Batch kinds, mirrored in `lib/native.js`.
const RESOLVED: u32 = 0;
const REJECTED: u32 = 1;
const FAILED: u32 = 2;
const REPORT: u32 = 3;
const CLOSED: u32 = 4;
/// A resolved value that carries descriptors: an extra entry, their fd numbers, follows.
const RESOLVED_WITH_HANDLES: u32 = 5;
/// A line of captured worker output; the id is the worker's pid.
const STDOUT_LINE: u32 = 6;
const STDERR_LINE: u32 = 7;
/// The call's result is a stream (no payload); items follow as STREAM_ITEM entries.
const STREAM_START: u32 = 8;
const STREAM_ITEM: u32 = 9;
/// A report with the worker's thrown error: an extra entry, the encoded error, follows.
const REPORT_WITH_ERROR: u32 = 10;
/// The queue has room again after refusing a call.
const ROOM: u32 = 11;

/// The pool's `onBatch` function, held for calls from the event loop.
pub struct JsCallback {
  env: sys::napi_env,
  function: sys::napi_ref,
  context: sys::napi_async_context,
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
    Ok(JsCallback { env, function: reference, context })
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
    // SAFETY: converting owned Rust values on the JS thread.
    let batch = unsafe { Vec::<BatchItem>::to_napi_value(env, to_batch(items))? };
    let mut result = ptr::null_mut();
    // SAFETY: every value belongs to the open handle scope.
    let status = unsafe { sys::napi_make_callback(env, self.context, global, function, 1, &batch, &mut result) };
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
      sys::napi_async_destroy(self.env, self.context);
    }
  }
}

/// A batch as `[bytes, id, kind, x, id, kind, x, ...]`. `bytes` is one Buffer holding the batch's
/// small binary payloads back to back; for those, `x` is the payload's end offset in it (each
/// starts where the previous one ended). A large binary payload is a Buffer of its own; other
/// payloads are strings. One Buffer for the many small payloads keeps the garbage collector out of
/// the hot path.
fn to_batch(items: Vec<Settled>) -> Vec<BatchItem> {
  let mut bytes: Vec<u8> = Vec::new();
  let mut batch = Vec::with_capacity(1 + items.len() * 3);
  batch.push(Either4::A(0));
  let mut binary = |payload: Vec<u8>| {
    if payload.len() >= OWN_BUFFER {
      // A large payload becomes a Buffer of its own, without a copy.
      return Either4::B(payload.into());
    }
    bytes.extend_from_slice(&payload);
    Either4::A(bytes.len() as u32)
  };
  for item in items {
    let text = Either4::C;
    // `extra` is a fourth entry that only these kinds have.
    let (id, kind, payload, extra) = match item {
      Settled::Call(id, Outcome::Resolved(payload, handles)) if !handles.0.is_empty() => {
        // The descriptors now belong to JS, which wraps each in a net.Socket or net.Server.
        let fds = handles.0.into_iter().map(IntoRawFd::into_raw_fd).collect();
        (id, RESOLVED_WITH_HANDLES, binary(payload), Some(Either4::D(fds)))
      }
      Settled::Call(id, Outcome::Resolved(payload, _)) => (id, RESOLVED, binary(payload), None),
      Settled::Call(id, Outcome::Rejected(payload)) => (id, REJECTED, binary(payload), None),
      Settled::Call(id, Outcome::Failed(failure)) => (id, FAILED, text(failure.to_json()), None),
      Settled::Report(mut failure) => match failure.error.take() {
        Some(error) => (0, REPORT_WITH_ERROR, text(failure.to_json()), Some(binary(error))),
        None => (0, REPORT, text(failure.to_json()), None),
      },
      Settled::Room => (0, ROOM, text(String::new()), None),
      Settled::Closed => (0, CLOSED, text(String::new()), None),
      Settled::Piece(id, Piece::Started) => (id, STREAM_START, text(String::new()), None),
      Settled::Piece(id, Piece::Item(payload)) => (id, STREAM_ITEM, binary(payload), None),
      Settled::Output { pid, stderr, line } => (pid, if stderr { STDERR_LINE } else { STDOUT_LINE }, text(line), None),
    };
    batch.push(Either4::A(id));
    batch.push(Either4::A(kind));
    batch.push(payload);
    batch.extend(extra);
  }
  batch[0] = Either4::B(bytes.into());
  batch
}
