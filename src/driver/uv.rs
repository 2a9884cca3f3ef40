//! The few libuv calls that let a pool run on Node's own event loop. Node exports libuv's
//! symbols; they are looked up at run time (like napi's own) so the crate links without Node,
//! for `cargo test` included. Handles are allocated at libuv's size for them, never ours.

use std::ffi::{c_int, c_void, CStr};
use std::ptr;
use std::sync::OnceLock;

/// A `uv_loop_t`, only ever behind a pointer.
#[repr(C)]
pub struct UvLoop {
  _opaque: [u8; 0],
}

/// Any `uv_*_t` handle. Its first field is libuv's public `void* data`.
pub type RawHandle = *mut c_void;

pub const READABLE: c_int = 1;
pub const WRITABLE: c_int = 2;

/// `uv_handle_type` values (stable across libuv 1.x).
#[derive(Clone, Copy)]
#[repr(i32)]
pub enum HandleType {
  Async = 1,
  Check = 2,
  Idle = 6,
  Poll = 8,
  Timer = 13,
}

pub type HandleCb = unsafe extern "C" fn(RawHandle);
pub type PollCb = unsafe extern "C" fn(RawHandle, c_int, c_int);

struct Api {
  handle_size: unsafe extern "C" fn(c_int) -> usize,
  close: unsafe extern "C" fn(RawHandle, Option<HandleCb>),
  ref_: unsafe extern "C" fn(RawHandle),
  unref: unsafe extern "C" fn(RawHandle),
  now: unsafe extern "C" fn(*mut UvLoop) -> u64,
  update_time: unsafe extern "C" fn(*mut UvLoop),
  poll_init: unsafe extern "C" fn(*mut UvLoop, RawHandle, c_int) -> c_int,
  poll_start: unsafe extern "C" fn(RawHandle, c_int, PollCb) -> c_int,
  poll_stop: unsafe extern "C" fn(RawHandle) -> c_int,
  timer_init: unsafe extern "C" fn(*mut UvLoop, RawHandle) -> c_int,
  timer_start: unsafe extern "C" fn(RawHandle, HandleCb, u64, u64) -> c_int,
  timer_stop: unsafe extern "C" fn(RawHandle) -> c_int,
  async_init: unsafe extern "C" fn(*mut UvLoop, RawHandle, HandleCb) -> c_int,
  async_send: unsafe extern "C" fn(RawHandle) -> c_int,
  check_init: unsafe extern "C" fn(*mut UvLoop, RawHandle) -> c_int,
  check_start: unsafe extern "C" fn(RawHandle, HandleCb) -> c_int,
  check_stop: unsafe extern "C" fn(RawHandle) -> c_int,
  idle_init: unsafe extern "C" fn(*mut UvLoop, RawHandle) -> c_int,
  idle_start: unsafe extern "C" fn(RawHandle, HandleCb) -> c_int,
  idle_stop: unsafe extern "C" fn(RawHandle) -> c_int,
}

fn api() -> &'static Api {
  static API: OnceLock<Api> = OnceLock::new();
  API.get_or_init(|| {
    fn find<T: Copy>(name: &CStr) -> T {
      // SAFETY: dlsym only reads the name; the process (Node) exports libuv globally.
      let symbol = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
      assert!(!symbol.is_null(), "libuv symbol {name:?} not found: invoke-parallel must run inside Node.js");
      // SAFETY: T is the C signature of that libuv function (a function pointer, pointer-sized).
      unsafe { std::mem::transmute_copy(&symbol) }
    }
    Api {
      handle_size: find(c"uv_handle_size"),
      close: find(c"uv_close"),
      ref_: find(c"uv_ref"),
      unref: find(c"uv_unref"),
      now: find(c"uv_now"),
      update_time: find(c"uv_update_time"),
      poll_init: find(c"uv_poll_init"),
      poll_start: find(c"uv_poll_start"),
      poll_stop: find(c"uv_poll_stop"),
      timer_init: find(c"uv_timer_init"),
      timer_start: find(c"uv_timer_start"),
      timer_stop: find(c"uv_timer_stop"),
      async_init: find(c"uv_async_init"),
      async_send: find(c"uv_async_send"),
      check_init: find(c"uv_check_init"),
      check_start: find(c"uv_check_start"),
      check_stop: find(c"uv_check_stop"),
      idle_init: find(c"uv_idle_init"),
      idle_start: find(c"uv_idle_start"),
      idle_stop: find(c"uv_idle_stop"),
    }
  })
}

/// An initialized handle on the loop, owned until `close`. All calls on the loop's thread.
pub struct Handle {
  raw: RawHandle,
}

impl Handle {
  fn allocate(kind: HandleType, data: *mut c_void) -> RawHandle {
    // SAFETY: calloc returns zeroed memory of libuv's size for this handle type (or null).
    let raw = unsafe { libc::calloc(1, (api().handle_size)(kind as c_int)) };
    assert!(!raw.is_null(), "out of memory allocating a libuv handle");
    // SAFETY: `data` is the handle's first field.
    unsafe { *(raw as *mut *mut c_void) = data };
    raw
  }

  fn init(kind: HandleType, data: *mut c_void, init: impl FnOnce(RawHandle) -> c_int) -> std::io::Result<Handle> {
    let raw = Self::allocate(kind, data);
    let rc = init(raw);
    if rc != 0 {
      // SAFETY: a handle whose init failed was never registered with the loop.
      unsafe { libc::free(raw) };
      return Err(std::io::Error::from_raw_os_error(-rc));
    }
    Ok(Handle { raw })
  }

  /// A poll on `fd`, not started. `data` comes back to its callback.
  pub fn poll(uv_loop: *mut UvLoop, fd: c_int, data: *mut c_void) -> std::io::Result<Handle> {
    // SAFETY: a fresh handle, initialized once on the loop's thread.
    Self::init(HandleType::Poll, data, |raw| unsafe { (api().poll_init)(uv_loop, raw, fd) })
  }

  pub fn timer(uv_loop: *mut UvLoop, data: *mut c_void) -> std::io::Result<Handle> {
    // SAFETY: as in `poll`.
    Self::init(HandleType::Timer, data, |raw| unsafe { (api().timer_init)(uv_loop, raw) })
  }

  /// An async handle is active from the start: unless unref'd, it holds the loop open.
  pub fn wake_up(uv_loop: *mut UvLoop, data: *mut c_void, cb: HandleCb) -> std::io::Result<Handle> {
    // SAFETY: as in `poll`.
    Self::init(HandleType::Async, data, |raw| unsafe { (api().async_init)(uv_loop, raw, cb) })
  }

  pub fn check(uv_loop: *mut UvLoop, data: *mut c_void) -> std::io::Result<Handle> {
    // SAFETY: as in `poll`.
    Self::init(HandleType::Check, data, |raw| unsafe { (api().check_init)(uv_loop, raw) })
  }

  pub fn idle(uv_loop: *mut UvLoop, data: *mut c_void) -> std::io::Result<Handle> {
    // SAFETY: as in `poll`.
    Self::init(HandleType::Idle, data, |raw| unsafe { (api().idle_init)(uv_loop, raw) })
  }

  pub fn raw(&self) -> RawHandle {
    self.raw
  }

  /// The `data` a callback got its handle with.
  ///
  /// # Safety
  /// `raw` must be a live handle made by this module.
  pub unsafe fn data_of(raw: RawHandle) -> *mut c_void {
    *(raw as *mut *mut c_void)
  }

  pub fn set_ref(&self, on: bool) {
    // SAFETY: a live handle.
    unsafe {
      if on {
        (api().ref_)(self.raw)
      } else {
        (api().unref)(self.raw)
      }
    }
  }

  pub fn poll_start(&self, events: c_int, cb: PollCb) {
    // SAFETY: a live poll handle. Starting can only fail for a bad fd, which then reads as EOF.
    unsafe { (api().poll_start)(self.raw, events, cb) };
  }

  pub fn poll_stop(&self) {
    // SAFETY: a live poll handle.
    unsafe { (api().poll_stop)(self.raw) };
  }

  pub fn timer_start(&self, cb: HandleCb, after_ms: u64) {
    // SAFETY: a live timer handle.
    unsafe { (api().timer_start)(self.raw, cb, after_ms, 0) };
  }

  pub fn timer_stop(&self) {
    // SAFETY: a live timer handle.
    unsafe { (api().timer_stop)(self.raw) };
  }

  pub fn check_start(&self, cb: HandleCb) {
    // SAFETY: a live check handle.
    unsafe { (api().check_start)(self.raw, cb) };
  }

  pub fn check_stop(&self) {
    // SAFETY: a live check handle.
    unsafe { (api().check_stop)(self.raw) };
  }

  pub fn idle_start(&self, cb: HandleCb) {
    // SAFETY: a live idle handle.
    unsafe { (api().idle_start)(self.raw, cb) };
  }

  pub fn idle_stop(&self) {
    // SAFETY: a live idle handle.
    unsafe { (api().idle_stop)(self.raw) };
  }

  /// Closes the handle: no callback of it runs from now on. Its memory is freed once libuv is
  /// done with it, and `keep` (dropped then) can tell whoever waits for every handle to close.
  pub fn close<T: 'static>(self, keep: T) {
    let ticket = Box::into_raw(Box::new(keep));
    unsafe extern "C" fn closed<T>(raw: RawHandle) {
      // SAFETY: `data` was set to the boxed ticket just before uv_close.
      drop(Box::from_raw(Handle::data_of(raw) as *mut T));
      libc::free(raw);
    }
    // SAFETY: the handle is live and closed exactly once (this consumes it).
    unsafe {
      *(self.raw as *mut *mut c_void) = ticket.cast();
      (api().close)(self.raw, Some(closed::<T>));
    }
  }
}

/// Wakes the loop from any thread; the handle's callback then runs on the loop's thread.
///
/// # Safety
/// `raw` must be an async handle that is not closed yet.
pub unsafe fn send_wake_up(raw: RawHandle) {
  (api().async_send)(raw);
}

/// The loop's clock in milliseconds, brought up to date first if `fresh`.
pub fn now(uv_loop: *mut UvLoop, fresh: bool) -> u64 {
  // SAFETY: the loop is alive while any pool on it is.
  unsafe {
    if fresh {
      (api().update_time)(uv_loop);
    }
    (api().now)(uv_loop)
  }
}

pub fn null_data() -> *mut c_void {
  ptr::null_mut()
}
