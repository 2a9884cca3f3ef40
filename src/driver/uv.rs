//! The few libuv calls that let a pool run on Node's own event loop. Node exports libuv's
//! symbols; they are looked up at run time (like napi's own) so the crate links without Node,
//! for `cargo test` included. Handles are allocated at libuv's size for them, never ours.

use std::ffi::{c_int, c_void, CStr};
use std::marker::PhantomData;
use std::ptr;
use std::sync::OnceLock;

use crate::sys;

/// A `uv_loop_t`, only ever behind a pointer.
#[repr(C)]
pub struct UvLoop {
  _opaque: [u8; 0],
}

/// Any `uv_*_t` handle. Its first field is libuv's public `void* data`.
pub type RawHandle = *mut c_void;

pub const READABLE: c_int = 1;
pub const WRITABLE: c_int = 2;

/// What kind of libuv handle a `Handle` is: its `uv_handle_type` value (stable across libuv 1.x).
pub trait Kind {
  const TYPE: c_int;
}

/// `uv_poll_t`: readiness of a descriptor.
pub struct Poll;
/// `uv_timer_t`.
pub struct Timer;
/// `uv_async_t`: a wake-up any thread may send.
pub struct WakeUp;
/// `uv_check_t`: runs after the loop has polled for I/O.
pub struct Check;
/// `uv_idle_t`: while started, the loop polls without blocking.
pub struct Idle;

impl Kind for WakeUp {
  const TYPE: c_int = 1;
}
impl Kind for Check {
  const TYPE: c_int = 2;
}
impl Kind for Idle {
  const TYPE: c_int = 6;
}
impl Kind for Poll {
  const TYPE: c_int = 8;
}
impl Kind for Timer {
  const TYPE: c_int = 13;
}

pub type HandleCb = unsafe extern "C" fn(RawHandle);
use super::uv_stream::{AllocCb, RawReq, ReadCb, SpawnOptions, WriteCb};
use crate::sys::{UvBuf, UvOsFd};
pub type PollCb = unsafe extern "C" fn(RawHandle, c_int, c_int);
pub type WalkCb = unsafe extern "C" fn(RawHandle, *mut c_void);

/// Declares the libuv functions used, each by its field and C name, once: `Api::load` finds them
/// all or names every one that is missing.
macro_rules! libuv_api {
  ($($field:ident: $name:literal => $ty:ty,)*) => {
    pub(super) struct Api { $(pub(super) $field: $ty,)* }

    impl Api {
      fn load() -> Result<Api, Vec<&'static str>> {
        let mut missing = Vec::new();
        $(
          // SAFETY: the C name is that libuv function's, and `$ty` its C signature.
          let $field: Option<$ty> = unsafe { find(concat!($name, "\0"), &mut missing) };
        )*
        match ($($field,)*) {
          ($(Some($field),)*) => Ok(Api { $($field,)* }),
          _ => Err(missing),
        }
      }
    }
  };
}

/// # Safety
/// `T` must be the C signature of the function `name` names (a function pointer, pointer-sized).
unsafe fn find<T: Copy>(name: &'static str, missing: &mut Vec<&'static str>) -> Option<T> {
  let c_name = CStr::from_bytes_with_nul(name.as_bytes()).expect("a NUL-terminated name");
  // The process (Node) exports libuv globally; the lookup calls nothing.
  let symbol = sys::find_symbol(c_name);
  if symbol.is_null() {
    missing.push(&name[..name.len() - 1]);
    return None;
  }
  // SAFETY: the caller's contract.
  Some(unsafe { std::mem::transmute_copy(&symbol) })
}

libuv_api! {
  handle_size: "uv_handle_size" => unsafe extern "C" fn(c_int) -> usize,
  close: "uv_close" => unsafe extern "C" fn(RawHandle, Option<HandleCb>),
  ref_: "uv_ref" => unsafe extern "C" fn(RawHandle),
  unref: "uv_unref" => unsafe extern "C" fn(RawHandle),
  now: "uv_now" => unsafe extern "C" fn(*mut UvLoop) -> u64,
  update_time: "uv_update_time" => unsafe extern "C" fn(*mut UvLoop),
  poll_init: "uv_poll_init" => unsafe extern "C" fn(*mut UvLoop, RawHandle, c_int) -> c_int,
  poll_start: "uv_poll_start" => unsafe extern "C" fn(RawHandle, c_int, PollCb) -> c_int,
  poll_stop: "uv_poll_stop" => unsafe extern "C" fn(RawHandle) -> c_int,
  timer_init: "uv_timer_init" => unsafe extern "C" fn(*mut UvLoop, RawHandle) -> c_int,
  timer_start: "uv_timer_start" => unsafe extern "C" fn(RawHandle, HandleCb, u64, u64) -> c_int,
  timer_stop: "uv_timer_stop" => unsafe extern "C" fn(RawHandle) -> c_int,
  async_init: "uv_async_init" => unsafe extern "C" fn(*mut UvLoop, RawHandle, HandleCb) -> c_int,
  async_send: "uv_async_send" => unsafe extern "C" fn(RawHandle) -> c_int,
  check_init: "uv_check_init" => unsafe extern "C" fn(*mut UvLoop, RawHandle) -> c_int,
  check_start: "uv_check_start" => unsafe extern "C" fn(RawHandle, HandleCb) -> c_int,
  check_stop: "uv_check_stop" => unsafe extern "C" fn(RawHandle) -> c_int,
  idle_init: "uv_idle_init" => unsafe extern "C" fn(*mut UvLoop, RawHandle) -> c_int,
  idle_start: "uv_idle_start" => unsafe extern "C" fn(RawHandle, HandleCb) -> c_int,
  idle_stop: "uv_idle_stop" => unsafe extern "C" fn(RawHandle) -> c_int,
  // The portable driver's: processes, pipes and stream I/O (see uv_stream.rs).
  req_size: "uv_req_size" => unsafe extern "C" fn(c_int) -> usize,
  spawn: "uv_spawn" => unsafe extern "C" fn(*mut UvLoop, RawHandle, *const SpawnOptions) -> c_int,
  process_get_pid: "uv_process_get_pid" => unsafe extern "C" fn(RawHandle) -> c_int,
  process_kill: "uv_process_kill" => unsafe extern "C" fn(RawHandle, c_int) -> c_int,
  pipe_init: "uv_pipe_init" => unsafe extern "C" fn(*mut UvLoop, RawHandle, c_int) -> c_int,
  read_start: "uv_read_start" => unsafe extern "C" fn(RawHandle, AllocCb, ReadCb) -> c_int,
  read_stop: "uv_read_stop" => unsafe extern "C" fn(RawHandle) -> c_int,
  try_write: "uv_try_write" => unsafe extern "C" fn(RawHandle, *const UvBuf, u32) -> c_int,
  write: "uv_write" => unsafe extern "C" fn(RawReq, RawHandle, *const UvBuf, u32, WriteCb) -> c_int,
  shutdown: "uv_shutdown" => unsafe extern "C" fn(RawReq, RawHandle, WriteCb) -> c_int,
  send_buffer_size: "uv_send_buffer_size" => unsafe extern "C" fn(RawHandle, *mut c_int) -> c_int,
  recv_buffer_size: "uv_recv_buffer_size" => unsafe extern "C" fn(RawHandle, *mut c_int) -> c_int,
  fileno: "uv_fileno" => unsafe extern "C" fn(RawHandle, *mut UvOsFd) -> c_int,
  // Finding a net.Socket's own TCP handle among the loop's (tcp_lookup.rs).
  walk: "uv_walk" => unsafe extern "C" fn(*mut UvLoop, WalkCb, *mut c_void),
  handle_get_type: "uv_handle_get_type" => unsafe extern "C" fn(RawHandle) -> c_int,
  has_ref: "uv_has_ref" => unsafe extern "C" fn(RawHandle) -> c_int,
  tcp_getsockname: "uv_tcp_getsockname" => unsafe extern "C" fn(RawHandle, *mut u8, *mut c_int) -> c_int,
  tcp_getpeername: "uv_tcp_getpeername" => unsafe extern "C" fn(RawHandle, *mut u8, *mut c_int) -> c_int,
  // An error code's text and name (uv_stream::uv_error).
  strerror: "uv_strerror" => unsafe extern "C" fn(c_int) -> *const std::ffi::c_char,
  err_name: "uv_err_name" => unsafe extern "C" fn(c_int) -> *const std::ffi::c_char,
}

fn loaded() -> &'static Result<Api, Vec<&'static str>> {
  static API: OnceLock<Result<Api, Vec<&'static str>>> = OnceLock::new();
  API.get_or_init(Api::load)
}

/// The libuv functions this process lacks (none inside Node): a host that is not Node must be
/// refused before any handle is made, since a pool cannot run without all of them.
pub fn missing_functions() -> &'static [&'static str] {
  match loaded() {
    Ok(_) => &[],
    Err(missing) => missing,
  }
}

/// The functions, once `missing_functions` said none is missing (every pool checks first).
pub(super) fn api() -> &'static Api {
  match loaded() {
    Ok(api) => api,
    Err(missing) => unreachable!("libuv functions {missing:?} used after the runtime check"),
  }
}

/// An initialized handle of kind `K` on the loop, owned until `close`. All calls on the loop's
/// thread.
pub struct Handle<K: Kind> {
  raw: RawHandle,
  kind: PhantomData<K>,
}

impl<K: Kind> Handle<K> {
  pub(super) fn allocate(data: *mut c_void) -> RawHandle {
    // SAFETY: uv_handle_size only reads its argument, a handle type libuv knows.
    let raw = sys::alloc_zeroed(unsafe { (api().handle_size)(K::TYPE) });
    assert!(!raw.is_null(), "out of memory allocating a libuv handle");
    // SAFETY: zeroed memory of the handle's size; `data` is its first field.
    unsafe { *(raw as *mut *mut c_void) = data };
    raw
  }

  pub(super) fn init(data: *mut c_void, init: impl FnOnce(RawHandle) -> c_int) -> std::io::Result<Handle<K>> {
    let raw = Self::allocate(data);
    let rc = init(raw);
    if rc != 0 {
      // SAFETY: a handle whose init failed was never registered with the loop.
      unsafe { sys::free(raw) };
      return Err(super::uv_stream::uv_error(rc));
    }
    Ok(Handle { raw, kind: PhantomData })
  }

  /// A handle some libuv call initialized in memory from `allocate` (uv_spawn does so even when
  /// it fails).
  pub(super) fn adopt(raw: RawHandle) -> Handle<K> {
    Handle { raw, kind: PhantomData }
  }

  pub fn raw(&self) -> RawHandle {
    self.raw
  }

  /// Points the handle's `data` (what its callbacks get back through `data_of`) at `data`.
  pub fn set_data(&self, data: *mut c_void) {
    // SAFETY: a live handle; `data` is its first field.
    unsafe { *(self.raw as *mut *mut c_void) = data };
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

  /// Closes the handle: no callback of it runs from now on. Its memory is freed once libuv is
  /// done with it, and `keep` (dropped then) can tell whoever waits for every handle to close.
  pub fn close<T: 'static>(self, keep: T) {
    let ticket = Box::into_raw(Box::new(keep));
    unsafe extern "C" fn closed<T>(raw: RawHandle) {
      // SAFETY: libuv passes the handle being closed, whose `data` was set to the boxed ticket
      // just before uv_close; after this callback libuv no longer touches its memory.
      unsafe {
        drop(Box::from_raw(data_of(raw) as *mut T));
        sys::free(raw);
      }
    }
    // SAFETY: the handle is live and closed exactly once (this consumes it).
    unsafe {
      *(self.raw as *mut *mut c_void) = ticket.cast();
      (api().close)(self.raw, Some(closed::<T>));
    }
  }
}

impl Handle<Poll> {
  /// A poll on `fd`, not started. `data` comes back to its callback.
  pub fn poll(uv_loop: *mut UvLoop, fd: c_int, data: *mut c_void) -> std::io::Result<Self> {
    // SAFETY: a fresh handle, initialized once on the loop's thread.
    Self::init(data, |raw| unsafe { (api().poll_init)(uv_loop, raw, fd) })
  }

  pub fn poll_start(&self, events: c_int, cb: PollCb) {
    // SAFETY: a live poll handle. Starting can only fail for a bad fd, which then reads as EOF.
    unsafe { (api().poll_start)(self.raw, events, cb) };
  }

  pub fn poll_stop(&self) {
    // SAFETY: a live poll handle.
    unsafe { (api().poll_stop)(self.raw) };
  }
}

impl Handle<Timer> {
  pub fn timer(uv_loop: *mut UvLoop, data: *mut c_void) -> std::io::Result<Self> {
    // SAFETY: as in `poll`.
    Self::init(data, |raw| unsafe { (api().timer_init)(uv_loop, raw) })
  }

  pub fn timer_start(&self, cb: HandleCb, after_ms: u64) {
    // SAFETY: a live timer handle.
    unsafe { (api().timer_start)(self.raw, cb, after_ms, 0) };
  }

  pub fn timer_stop(&self) {
    // SAFETY: a live timer handle.
    unsafe { (api().timer_stop)(self.raw) };
  }
}

impl Handle<WakeUp> {
  /// An async handle is active from the start: unless unref'd, it holds the loop open.
  pub fn wake_up(uv_loop: *mut UvLoop, data: *mut c_void, cb: HandleCb) -> std::io::Result<Self> {
    // SAFETY: as in `poll`.
    Self::init(data, |raw| unsafe { (api().async_init)(uv_loop, raw, cb) })
  }
}

impl Handle<Check> {
  pub fn check(uv_loop: *mut UvLoop, data: *mut c_void) -> std::io::Result<Self> {
    // SAFETY: as in `poll`.
    Self::init(data, |raw| unsafe { (api().check_init)(uv_loop, raw) })
  }

  pub fn check_start(&self, cb: HandleCb) {
    // SAFETY: a live check handle.
    unsafe { (api().check_start)(self.raw, cb) };
  }

  pub fn check_stop(&self) {
    // SAFETY: a live check handle.
    unsafe { (api().check_stop)(self.raw) };
  }
}

impl Handle<Idle> {
  pub fn idle(uv_loop: *mut UvLoop, data: *mut c_void) -> std::io::Result<Self> {
    // SAFETY: as in `poll`.
    Self::init(data, |raw| unsafe { (api().idle_init)(uv_loop, raw) })
  }

  pub fn idle_start(&self, cb: HandleCb) {
    // SAFETY: a live idle handle.
    unsafe { (api().idle_start)(self.raw, cb) };
  }

  pub fn idle_stop(&self) {
    // SAFETY: a live idle handle.
    unsafe { (api().idle_stop)(self.raw) };
  }
}

/// The `data` a callback got its handle with.
///
/// # Safety
/// `raw` must be a live handle made by this module.
pub unsafe fn data_of(raw: RawHandle) -> *mut c_void {
  // SAFETY: the caller's contract; `data` is a handle's first field.
  unsafe { *(raw as *mut *mut c_void) }
}

/// Wakes the loop from any thread; the handle's callback then runs on the loop's thread.
///
/// # Safety
/// `raw` must be an async handle that is not closed yet.
pub unsafe fn send_wake_up(raw: RawHandle) {
  // SAFETY: the caller's contract; libuv allows uv_async_send from any thread.
  unsafe { (api().async_send)(raw) };
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
