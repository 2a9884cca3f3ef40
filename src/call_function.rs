//! The one N-API function on every call's path, written against raw N-API: napi-rs's method
//! wrapper (unwrapping `this`, checking its type tag, tracking borrows, a second pass to read a
//! string) cost about as much as scheduling the call.

use std::ffi::{c_char, c_void, CStr};
use std::ptr;
use std::rc::Rc;
use std::sync::Arc;

use napi::sys;

use crate::driver::{call_options, PoolDriver};

/// JSON text of a typical call fits here, read in one N-API call.
const STACK_TEXT: usize = 512;
/// The most bytes one character takes in UTF-8.
const UTF8_MAX_CHAR: usize = 4;

/// `callText(id, module, payload, noRetry, timeout, fds, priority, method, traced)`:
/// `NativePool.callText` as a plain function bound to the pool. It keeps the pool alive as long as
/// it exists itself. `method` is the caller's number for the method's name (adaptive dispatch
/// costs calls per method); `traced` is read only when it is passed (an untraced call passes
/// eight arguments and pays for no ninth).
pub fn create(env: sys::napi_env, driver: Rc<PoolDriver>) -> napi::Result<sys::napi_value> {
  let name = "callText";
  let data = Rc::into_raw(driver).cast_mut().cast::<c_void>();
  let mut function = ptr::null_mut();
  // SAFETY: on the JS thread, with out-pointers to locals.
  let ok = unsafe {
    sys::napi_create_function(env, name.as_ptr().cast(), name.len() as isize, Some(call_text), data, &mut function)
      == sys::Status::napi_ok
      && sys::napi_add_finalizer(env, function, data, Some(release), ptr::null_mut(), ptr::null_mut())
        == sys::Status::napi_ok
  };
  if !ok {
    // SAFETY: the count taken above, not handed to a finalizer.
    unsafe { Rc::decrement_strong_count(data as *const PoolDriver) };
    return Err(napi::Error::from_reason("could not create the pool's call function"));
  }
  Ok(function)
}

/// The finalizer of the function: gives back the count `create` handed to it.
unsafe extern "C" fn release(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
  // SAFETY: `data` is the `Rc::into_raw` of `create`, and N-API runs a finalizer once.
  unsafe { Rc::decrement_strong_count(data as *const PoolDriver) };
}

/// Arguments `callText` takes.
const ARGS: usize = 9;
/// Arguments before `traced`, the optional last one.
const UNTRACED_ARGS: usize = 8;

/// What `call_text` reads from JS before it submits the call.
struct CallArgs {
  id: u32,
  module: u32,
  payload: Arc<[u8]>,
  no_retry: bool,
  timeout: Option<f64>,
  fds: Vec<i32>,
  priority: Option<f64>,
  method: u32,
  traced: bool,
}

unsafe extern "C" fn call_text(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  let mut argc = ARGS;
  let mut argv = [ptr::null_mut(); ARGS];
  let mut data = ptr::null_mut();
  // SAFETY: N-API calls this on the JS thread with a live `info`; the out-pointers are locals
  // and `argv` has room for `argc` values (missing ones are filled with undefined).
  let status = unsafe { sys::napi_get_cb_info(env, info, &mut argc, argv.as_mut_ptr(), ptr::null_mut(), &mut data) };
  if status != sys::Status::napi_ok {
    // SAFETY: N-API's call on the JS thread (the same for every `throw` and `read_args` here).
    return unsafe { throw(env, c"callText: no arguments") };
  }
  // SAFETY: `data` is the driver `create` gave the function, kept alive by the count that the
  // function's finalizer holds until the function itself is collected, which it cannot be while
  // it is being called.
  let driver = unsafe { &*(data as *const PoolDriver) };
  // SAFETY: see the first `throw`.
  let args = match unsafe { read_args(env, &argv, argc) } {
    Ok(args) => args,
    // SAFETY: see the first `throw`.
    Err(message) => return unsafe { throw(env, message) },
  };
  if let Err(err) = driver.submit_call(
    args.id,
    args.module,
    args.payload,
    call_options(args.no_retry, args.timeout, args.priority, args.traced),
    &args.fds,
    args.method,
  ) {
    let message = std::ffi::CString::new(err.replace('\0', " ")).unwrap_or_default();
    // SAFETY: see the first `throw`.
    return unsafe { throw(env, &message) };
  }
  ptr::null_mut()
}

/// The arguments of `callText`, or the message to throw.
///
/// # Safety
/// On the JS thread, inside the call `env` belongs to, with values of that call; `argc` is how many
/// it was given.
unsafe fn read_args(
  env: sys::napi_env,
  argv: &[sys::napi_value; ARGS],
  argc: usize,
) -> Result<CallArgs, &'static CStr> {
  let (mut id, mut module, mut no_retry) = (0, 0, false);
  // SAFETY: the caller's contract; out-pointers to locals.
  if unsafe { sys::napi_get_value_uint32(env, argv[0], &mut id) } != sys::Status::napi_ok
    // SAFETY: as above.
    || unsafe { sys::napi_get_value_uint32(env, argv[1], &mut module) } != sys::Status::napi_ok
    // SAFETY: as above.
    || unsafe { sys::napi_get_value_bool(env, argv[3], &mut no_retry) } != sys::Status::napi_ok
  {
    return Err(c"callText: bad id, module or noRetry");
  }
  // SAFETY: the caller's contract (for each helper below too).
  let payload = unsafe { read_text(env, argv[2]) }.ok_or(c"callText: the payload must be a string")?;
  // SAFETY: as above.
  let timeout = unsafe { read_number(env, argv[4]) }.map_err(|()| c"callText: bad timeout")?;
  // SAFETY: as above.
  let priority = match unsafe { read_number(env, argv[6]) } {
    Ok(priority) => priority,
    Err(()) => return Err(c"callText: bad priority"),
  };
  // SAFETY: as above.
  let fds = match unsafe { type_of(env, argv[5]) } {
    Some(sys::ValueType::napi_undefined | sys::ValueType::napi_null) => Vec::new(),
    // Rare (sockets): the general conversion is fine here.
    // SAFETY: the caller's contract.
    _ => match unsafe { <Vec<i32> as napi::bindgen_prelude::FromNapiValue>::from_napi_value(env, argv[5]) } {
      Ok(fds) => fds,
      Err(_) => return Err(c"callText: fds must be an array of descriptors"),
    },
  };
  // The caller's number for the method (absent: 0, one shared number).
  let mut method = 0;
  // SAFETY: the caller's contract; an out-pointer to a local. Anything but a number leaves it 0.
  let _ = unsafe { sys::napi_get_value_uint32(env, argv[7], &mut method) };
  let mut traced = false;
  if argc > UNTRACED_ARGS {
    // SAFETY: the caller's contract; a value of the call (`argc` says it was passed), an
    // out-pointer to a local.
    let status = unsafe { sys::napi_get_value_bool(env, argv[UNTRACED_ARGS], &mut traced) };
    if status != sys::Status::napi_ok {
      return Err(c"callText: traced must be a boolean");
    }
  }
  Ok(CallArgs { id, module, payload, no_retry, timeout, fds, priority, method, traced })
}

/// A number's value, `None` for anything that is not a number (undefined: the option is not set).
///
/// # Safety
/// On the JS thread, inside the call `env` belongs to, with values of that call.
unsafe fn read_number(env: sys::napi_env, value: sys::napi_value) -> Result<Option<f64>, ()> {
  // SAFETY: the caller's contract.
  if unsafe { type_of(env, value) } != Some(sys::ValueType::napi_number) {
    return Ok(None);
  }
  let mut number = 0.0;
  // SAFETY: the caller's contract; a number, an out-pointer to a local.
  if unsafe { sys::napi_get_value_double(env, value, &mut number) } != sys::Status::napi_ok {
    return Err(());
  }
  Ok(Some(number))
}

/// A JS string's UTF-8 bytes; `None` if it is not a string.
///
/// # Safety
/// On the JS thread, inside the call `env` belongs to, with values of that call.
unsafe fn read_text(env: sys::napi_env, value: sys::napi_value) -> Option<Arc<[u8]>> {
  let mut stack = [0u8; STACK_TEXT];
  let mut len = 0;
  // SAFETY: the caller's contract; V8 writes at most STACK_TEXT bytes (NUL included).
  let status =
    unsafe { sys::napi_get_value_string_utf8(env, value, stack.as_mut_ptr().cast::<c_char>(), STACK_TEXT, &mut len) };
  if status != sys::Status::napi_ok {
    return None;
  }
  // V8 stops at a character boundary, so a cut text can fall up to 3 bytes short of the
  // buffer's 511: only room for one more 4-byte character proves nothing was cut off.
  if len + UTF8_MAX_CHAR < STACK_TEXT {
    return Some(Arc::from(&stack[..len]));
  }
  // SAFETY: a string value (the call above succeeded); with no buffer, V8 only reports the length.
  if unsafe { sys::napi_get_value_string_utf8(env, value, ptr::null_mut(), 0, &mut len) } != sys::Status::napi_ok {
    return None;
  }
  let mut heap = vec![0u8; len + 1];
  // SAFETY: `heap` has room for the text and its NUL.
  let status =
    unsafe { sys::napi_get_value_string_utf8(env, value, heap.as_mut_ptr().cast::<c_char>(), len + 1, &mut len) };
  (status == sys::Status::napi_ok).then(|| Arc::from(&heap[..len]))
}

/// The type of a value; `None` if N-API cannot tell.
///
/// # Safety
/// On the JS thread, inside the call `env` belongs to, with values of that call.
unsafe fn type_of(env: sys::napi_env, value: sys::napi_value) -> Option<sys::napi_valuetype> {
  let mut kind = sys::ValueType::napi_undefined;
  // SAFETY: the caller's contract; an out-pointer to a local.
  (unsafe { sys::napi_typeof(env, value, &mut kind) } == sys::Status::napi_ok).then_some(kind)
}

/// Throws a JS Error with `message`; the caller returns the null this gives.
///
/// # Safety
/// On the JS thread, inside the call `env` belongs to, with values of that call.
unsafe fn throw(env: sys::napi_env, message: &CStr) -> sys::napi_value {
  // SAFETY: the caller's contract; `message` is NUL-terminated. If throwing fails, an exception
  // is already pending, which JS then sees instead.
  let _ = unsafe { sys::napi_throw_error(env, ptr::null(), message.as_ptr()) };
  ptr::null_mut()
}
