//! The one N-API function on every call's path, written against raw N-API: napi-rs's method
//! wrapper (unwrapping `this`, checking its type tag, tracking borrows, a second pass to read a
//! string) cost about as much as scheduling the call.

use std::ffi::{c_char, c_void};
use std::ptr;
use std::rc::Rc;
use std::sync::Arc;

use napi::sys;

use crate::binding::submit_call;
use crate::driver::PoolDriver;

/// JSON text of a typical call fits here, read in one N-API call.
const STACK_TEXT: usize = 512;
/// The most bytes one character takes in UTF-8.
const UTF8_MAX_CHAR: usize = 4;

/// `callText(id, module, payload, noRetry, timeout, fds)`: `NativePool.callText` as a plain
/// function bound to the pool. It keeps the pool alive as long as it exists itself.
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

unsafe extern "C" fn release(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
  Rc::decrement_strong_count(data as *const PoolDriver);
}

unsafe extern "C" fn call_text(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  let mut argc = 6;
  let mut argv = [ptr::null_mut(); 6];
  let mut data = ptr::null_mut();
  if sys::napi_get_cb_info(env, info, &mut argc, argv.as_mut_ptr(), ptr::null_mut(), &mut data) != sys::Status::napi_ok
  {
    return throw(env, c"callText: no arguments");
  }
  let driver = &*(data as *const PoolDriver);
  let (mut id, mut module, mut no_retry) = (0, 0, false);
  if sys::napi_get_value_uint32(env, argv[0], &mut id) != sys::Status::napi_ok
    || sys::napi_get_value_uint32(env, argv[1], &mut module) != sys::Status::napi_ok
    || sys::napi_get_value_bool(env, argv[3], &mut no_retry) != sys::Status::napi_ok
  {
    return throw(env, c"callText: bad id, module or noRetry");
  }
  let Some(payload) = read_text(env, argv[2]) else { return throw(env, c"callText: the payload must be a string") };
  let timeout = match type_of(env, argv[4]) {
    sys::ValueType::napi_number => {
      let mut ms = 0.0;
      sys::napi_get_value_double(env, argv[4], &mut ms);
      Some(ms)
    }
    _ => None,
  };
  let handles = match type_of(env, argv[5]) {
    sys::ValueType::napi_undefined | sys::ValueType::napi_null => None,
    // Rare (sockets): the general conversion is fine here.
    _ => match <Vec<i32> as napi::bindgen_prelude::FromNapiValue>::from_napi_value(env, argv[5]) {
      Ok(fds) => Some(fds),
      Err(_) => return throw(env, c"callText: fds must be an array of descriptors"),
    },
  };
  if let Err(err) = submit_call(driver, id, module, payload, no_retry, timeout, handles) {
    let message = std::ffi::CString::new(err.reason.replace('\0', " ")).unwrap_or_default();
    return throw(env, &message);
  }
  ptr::null_mut()
}

/// A JS string's UTF-8 bytes; `None` if it is not a string.
unsafe fn read_text(env: sys::napi_env, value: sys::napi_value) -> Option<Arc<[u8]>> {
  let mut stack = [0u8; STACK_TEXT];
  let mut len = 0;
  if sys::napi_get_value_string_utf8(env, value, stack.as_mut_ptr().cast::<c_char>(), STACK_TEXT, &mut len)
    != sys::Status::napi_ok
  {
    return None;
  }
  // V8 stops at a character boundary, so a cut text can fall up to 3 bytes short of the
  // buffer's 511: only room for one more 4-byte character proves nothing was cut off.
  if len + UTF8_MAX_CHAR < STACK_TEXT {
    return Some(Arc::from(&stack[..len]));
  }
  sys::napi_get_value_string_utf8(env, value, ptr::null_mut(), 0, &mut len);
  let mut heap = vec![0u8; len + 1];
  sys::napi_get_value_string_utf8(env, value, heap.as_mut_ptr().cast::<c_char>(), len + 1, &mut len);
  Some(Arc::from(&heap[..len]))
}

unsafe fn type_of(env: sys::napi_env, value: sys::napi_value) -> sys::napi_valuetype {
  let mut kind = sys::ValueType::napi_undefined;
  sys::napi_typeof(env, value, &mut kind);
  kind
}

unsafe fn throw(env: sys::napi_env, message: &std::ffi::CStr) -> sys::napi_value {
  sys::napi_throw_error(env, ptr::null(), message.as_ptr());
  ptr::null_mut()
}
