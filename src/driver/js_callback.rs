//! Handing a batch of settlements to JS from a libuv callback, where no JS is on the stack: the
//! call goes through `napi_make_callback`, so promise reactions (the caller's `await`s) and
//! `process.nextTick`s run right after it, as they do after any of Node's own I/O callbacks.

use std::cell::Cell;
use std::ptr;

use napi::bindgen_prelude::{Function, Object, ToNapiValue, Unknown};
use napi::sys;
use napi::JsValue;

use super::batch::{Batch, Extra};
use super::to_js::ToJs;

/// The pool's `onBatch` function, held for calls from the event loop.
pub struct JsCallback {
  env: sys::napi_env,
  function: sys::napi_ref,
  context: sys::napi_async_context,
  /// A Buffer and a Uint32Array that every batch that fits is written into: a fresh pair per
  /// batch cost two allocations with finalizers, which showed in sequential latency.
  bytes: Reused,
  index: Reused,
  /// Workers counted in V8's external memory (see `WORKER_MEMORY`).
  counted_workers: Cell<i64>,
}

/// What each live worker is reported to V8 as (`napi_adjust_external_memory`): about a Node
/// process's resident memory at start. The pool object is small, but what it holds is not; told
/// so, the garbage collector runs as workers add up, so pools dropped without `close()` are
/// collected (and their workers told to exit) rather than piling up until the heap itself grows.
const WORKER_MEMORY: i64 = 32 * 1024 * 1024;

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
  /// On the JS thread, inside a call from JS (the pool's constructor). `resource` is what
  /// async_hooks report for the pool's callbacks (the caller keeps it alive: N-API holds it
  /// weakly); its `hasRef()` tells tools such as `jest --detectOpenHandles` whether the pool holds
  /// the process open, which a closed or idle pool does not.
  pub fn new(
    env: &napi::Env,
    function: &Function<'_, Unknown<'_>, Unknown<'_>>,
    resource: Option<&Object<'_>>,
  ) -> napi::Result<JsCallback> {
    let (env, function) = (env.raw(), function.raw());
    let resource = resource.map_or(ptr::null_mut(), |object| object.raw());
    let mut reference = ptr::null_mut();
    napi_try!(sys::napi_create_reference(env, function, 1, &mut reference));
    let name = "invoke-parallel";
    let mut resource_name = ptr::null_mut();
    napi_try!(sys::napi_create_string_utf8(env, name.as_ptr().cast(), name.len() as isize, &mut resource_name));
    let mut context = ptr::null_mut();
    napi_try!(sys::napi_async_init(env, resource, resource_name, &mut context));
    let (bytes, index) = (new_bytes(env, REUSED_BYTES)?, new_index(env, REUSED_INDEX / 4)?);
    let bytes = Reused { value: hold(env, bytes.0)?, data: bytes.1, len: REUSED_BYTES };
    let index = Reused { value: hold(env, index.0)?, data: index.1, len: REUSED_INDEX };
    Ok(JsCallback { env, function: reference, context, bytes, index, counted_workers: Cell::new(0) })
  }

  /// Calls the function with `items` as one batch. From a libuv callback on the JS thread only.
  pub fn deliver(&self, items: Vec<ToJs>) {
    let env = self.env;
    self.count_workers(&items);
    let mut scope = ptr::null_mut();
    // SAFETY: on the JS thread with no JS running; the scope is closed below.
    if unsafe { sys::napi_open_handle_scope(env, &mut scope) } != sys::Status::napi_ok {
      return;
    }
    // A failed N-API call leaves no JS to tell (an exception the batch itself threw is handled
    // inside `call`).
    let _ = self.call(items);
    // SAFETY: the scope opened above. Closing it fails only for a scope not innermost, which
    // `call` cannot leave behind.
    let status = unsafe { sys::napi_close_handle_scope(env, scope) };
    debug_assert_eq!(status, sys::Status::napi_ok);
  }

  fn call(&self, items: Vec<ToJs>) -> napi::Result<()> {
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

  /// Workers that started or exited in this batch change what the pool is counted for.
  fn count_workers(&self, items: &[ToJs]) {
    let change = items.iter().fold(0i64, |sum, item| match item {
      ToJs::WorkerSpawned { .. } => sum + 1,
      ToJs::WorkerExited { .. } => sum - 1,
      _ => sum,
    });
    self.set_counted(self.counted_workers.get() + change);
  }

  fn set_counted(&self, workers: i64) {
    let workers = workers.max(0);
    let change = (workers - self.counted_workers.get()) * WORKER_MEMORY;
    if change == 0 {
      return;
    }
    let mut total = 0;
    // SAFETY: on the JS thread while the environment is alive. V8 may collect garbage in it.
    if unsafe { sys::napi_adjust_external_memory(self.env, change, &mut total) } == sys::Status::napi_ok {
      self.counted_workers.set(workers);
    }
  }

  /// Releases the function. Not at environment teardown, when N-API may no longer be called.
  pub fn release(&self) {
    // Its workers exit without telling JS any more: they are no longer counted.
    self.set_counted(0);
    // SAFETY: on the JS thread while the environment is alive; each is released once.
    let statuses = unsafe {
      [
        sys::napi_delete_reference(self.env, self.function),
        sys::napi_delete_reference(self.env, self.bytes.value),
        sys::napi_delete_reference(self.env, self.index.value),
        sys::napi_async_destroy(self.env, self.context),
      ]
    };
    // One that fails is leaked, the only safe outcome: nothing else refers to it.
    debug_assert!(statuses.iter().all(|&status| status == sys::Status::napi_ok), "{statuses:?}");
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
