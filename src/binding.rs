//! The N-API surface: one `NativePool` per JS pool. It is deliberately small — ids in, batches of
//! settlements out — so that all policy stays in the scheduler and all values stay in JS.

use std::cell::Cell;
use std::collections::HashMap;
use std::ffi::c_void;
use std::os::fd::{FromRawFd, IntoRawFd, OwnedFd};
use std::rc::{Rc, Weak};
use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi::sys;
use napi_derive::napi;

use crate::call_function;
use crate::core::{CallOptions, Event, Job, PoolConfig};
use crate::driver::{JsCallback, PoolDriver, SpawnConfig, UvLoop};
use crate::fdpass::{recv_fds, send_fds, MAX_HANDLES};

#[napi(object)]
pub struct NativePoolOptions {
  pub exec_path: String,
  pub args: Vec<String>,
  pub cwd: String,
  pub env: HashMap<String, String>,
  pub limit: u32,
  pub minimum: u32,
  pub max_per_child: u32,
  /// Milliseconds; absent means never.
  pub idle_timeout: Option<f64>,
  pub retries: u32,
  /// Milliseconds a cancelled call may keep running before its worker is killed.
  pub cancel_grace: f64,
  /// Deliver the workers' output lines to JS instead of sharing the parent's stdout and stderr.
  pub capture_output: bool,
  /// Most calls waiting for a worker; absent: no limit.
  pub max_queue: Option<u32>,
  /// Replace a worker after this many calls; absent: never.
  pub recycle_after: Option<u32>,
  /// Largest frame body accepted from a worker, in bytes.
  pub max_message_size: u32,
  /// Milliseconds a starting worker may take to become ready; absent means no limit.
  pub start_timeout: Option<f64>,
}

/// `pool.stats()`: see `core::Stats`.
#[napi(object)]
pub struct PoolStats {
  pub workers: u32,
  pub busy: u32,
  pub idle: u32,
  pub queued: u32,
  pub running: u32,
  pub completed: f64,
  pub failed: f64,
  pub retried: f64,
}

#[napi(custom_finalize)]
pub struct NativePool {
  driver: Rc<PoolDriver>,
  teardown: Rc<Teardown>,
}

/// What the environment's teardown hook needs: the pool, if it still exists.
struct Teardown {
  driver: Weak<PoolDriver>,
  fired: Cell<bool>,
  hook: Cell<sys::napi_async_cleanup_hook_handle>,
}

/// Dropped once every libuv handle of a torn-down pool is closed: only then may Node close the loop.
struct TeardownDone(sys::napi_async_cleanup_hook_handle);

impl Drop for TeardownDone {
  fn drop(&mut self) {
    // SAFETY: the handle of a hook that fired and was not removed yet.
    unsafe { sys::napi_remove_async_cleanup_hook(self.0) };
  }
}

/// When the JS environment goes away (a worker thread ending, the process exiting), its workers
/// go with it, and the pool's libuv handles close before the loop does.
unsafe extern "C" fn on_teardown(hook: sys::napi_async_cleanup_hook_handle, arg: *mut c_void) {
  let teardown = Rc::from_raw(arg as *const Teardown);
  teardown.fired.set(true);
  let done = Rc::new(TeardownDone(hook));
  if let Some(driver) = teardown.driver.upgrade() {
    driver.tear_down(done);
  }
}

impl ObjectFinalize for NativePool {
  fn finalize(self, _env: Env) -> Result<()> {
    if !self.teardown.fired.get() {
      // SAFETY: the hook has not run, so it is still registered with the pointer it was given.
      unsafe {
        sys::napi_remove_async_cleanup_hook(self.teardown.hook.get());
        Rc::decrement_strong_count(Rc::as_ptr(&self.teardown));
      }
    }
    Ok(())
  }
}

#[napi]
impl NativePool {
  /// `onBatch(bytes, index, count, extras)` receives the settlements (see `driver::js_callback`).
  #[napi(constructor)]
  pub fn new(env: Env, options: NativePoolOptions, on_batch: Function<'_, Unknown<'_>, Unknown<'_>>) -> Result<Self> {
    let config = PoolConfig {
      limit: options.limit.max(1),
      minimum: options.minimum.min(options.limit.max(1)),
      max_per_child: options.max_per_child,
      idle_timeout_ms: options.idle_timeout.and_then(to_ms),
      retries: options.retries,
      cancel_grace_ms: to_ms(options.cancel_grace).unwrap_or(u64::MAX),
      max_queue: options.max_queue.map(|n| n as usize),
      recycle_after: options.recycle_after.map(u64::from),
      start_timeout_ms: options.start_timeout.and_then(to_ms),
      ..PoolConfig::default()
    };
    let spawn = SpawnConfig {
      exec_path: options.exec_path,
      args: options.args,
      cwd: options.cwd,
      env: options.env.into_iter().collect(),
      capture_output: options.capture_output,
      max_message_size: options.max_message_size as usize,
    };
    let mut uv_loop = std::ptr::null_mut();
    // SAFETY: on the JS thread, with an out-pointer to a local.
    if unsafe { sys::napi_get_uv_event_loop(env.raw(), &mut uv_loop) } != sys::Status::napi_ok {
      return Err(Error::from_reason("could not reach the event loop"));
    }
    let js = JsCallback::new(&env, &on_batch)?;
    let driver = PoolDriver::start(uv_loop as *mut UvLoop, config, spawn, js)
      .map_err(|e| Error::from_reason(format!("could not start the pool: {e}")))?;
    let teardown = Rc::new(Teardown {
      driver: Rc::downgrade(&driver),
      fired: Cell::new(false),
      hook: Cell::new(std::ptr::null_mut()),
    });
    let arg = Rc::into_raw(teardown.clone()).cast_mut().cast::<c_void>();
    let mut hook = std::ptr::null_mut();
    // SAFETY: `arg` stays valid until the hook runs or is removed (see `finalize`).
    if unsafe { sys::napi_add_async_cleanup_hook(env.raw(), Some(on_teardown), arg, &mut hook) } != sys::Status::napi_ok
    {
      // SAFETY: not registered, so ours to release.
      unsafe { Rc::decrement_strong_count(arg as *const Teardown) };
      return Err(Error::from_reason("could not register the pool's cleanup"));
    }
    teardown.hook.set(hook);
    Ok(NativePool { driver, teardown })
  }

  /// Loads a module as call `id` (ids come from JS); the id is also the module's id for later calls.
  #[napi]
  pub fn load(&self, id: u32, path: String, no_retry: bool) {
    let job = Job::Load { path: Arc::from(path.into_bytes()) };
    let options = CallOptions { no_retry, timeout_ms: None };
    self.submit(Event::Submit { call: id, module: id, job, options });
  }

  /// `timeout` is in milliseconds from dispatch; absent means none. `handles` are descriptors
  /// (of sockets) to hand to the worker: they are duplicated here, so the caller may close its own.
  #[napi]
  pub fn call(
    &self,
    id: u32,
    module: u32,
    payload: &[u8],
    no_retry: bool,
    timeout: Option<f64>,
    handles: Option<Vec<i32>>,
  ) -> Result<()> {
    submit_call(&self.driver, id, module, Arc::from(payload), no_retry, timeout, handles)
  }

  /// `call` with a payload that is JSON text (no Buffer per call), as a plain function bound to
  /// this pool: see `call_function`.
  #[napi(
    ts_return_type = "(id: number, module: number, payload: string, noRetry: boolean, timeout?: number, fds?: number[]) => void"
  )]
  pub fn call_text_function(&self, env: Env) -> Result<Unknown<'_>> {
    let function = call_function::create(env.raw(), self.driver.clone())?;
    // SAFETY: a function value just created in this environment.
    Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), function) })
  }

  /// The caller consumed `items` more items of the call's streamed result.
  #[napi]
  pub fn credit(&self, call: u32, items: u32) {
    self.submit(Event::Credit { call, items });
  }

  /// The JS side has settled the call as cancelled; the pool stops it.
  #[napi]
  pub fn cancel(&self, call: u32) {
    self.submit(Event::Cancel { call });
  }

  #[napi]
  pub fn close(&self, force: bool) {
    self.submit(Event::Close { force });
  }

  /// The scheduler's counts right now.
  #[napi]
  pub fn stats(&self) -> PoolStats {
    let s = self.driver.stats();
    PoolStats {
      workers: s.workers,
      busy: s.busy,
      idle: s.idle,
      queued: s.queued,
      running: s.running,
      completed: s.completed as f64,
      failed: s.failed as f64,
      retried: s.retried as f64,
    }
  }

  /// True when a method call made now would be accepted (not refused for `maxQueue`), counting
  /// `coming` calls JS is about to submit; otherwise a Room entry in a later batch says when one
  /// would be.
  #[napi]
  pub fn want_room(&self, coming: u32) -> bool {
    self.driver.want_room(coming as usize)
  }

  /// Whether `id` is still taken by a call (cancelled ones still running included) or a module.
  #[napi]
  pub fn id_in_use(&self, id: u32) -> bool {
    self.driver.id_in_use(id)
  }

  /// Holds the event loop open while the JS side waits on this pool (and only then).
  #[napi]
  pub fn keep_alive(&self, on: bool) {
    self.driver.keep_alive(on);
  }
}

impl NativePool {
  fn submit(&self, event: Event) {
    self.driver.submit(event);
  }
}

/// Submits a call to invoke a method; shared by `call` and the plain `callText` function.
pub fn submit_call(
  driver: &PoolDriver,
  id: u32,
  module: u32,
  payload: Arc<[u8]>,
  no_retry: bool,
  timeout: Option<f64>,
  handles: Option<Vec<i32>>,
) -> Result<()> {
  let handles = crate::driver::attach_descriptors(duplicate(handles.as_deref().unwrap_or_default())?);
  let job = Job::Invoke { payload, handles };
  let options = CallOptions { no_retry, timeout_ms: timeout.and_then(to_ms) };
  driver.submit(Event::Submit { call: id, module, job, options });
  Ok(())
}

/// Finite, non-negative milliseconds; `None` for infinity.
fn to_ms(ms: f64) -> Option<u64> {
  ms.is_finite().then(|| ms.max(0.0) as u64)
}

/// Our own copies of the caller's descriptors (close-on-exec), or an error naming the bad one.
fn duplicate(fds: &[i32]) -> Result<Vec<OwnedFd>> {
  if fds.len() > MAX_HANDLES {
    return Err(Error::from_reason(format!("a call can carry at most {MAX_HANDLES} handles")));
  }
  fds
    .iter()
    .map(|&fd| {
      // SAFETY: F_DUPFD_CLOEXEC creates a new descriptor or fails; the original is untouched.
      let copy = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
      if copy < 0 {
        return Err(Error::from_reason(format!("descriptor {fd} cannot be sent: {}", std::io::Error::last_os_error())));
      }
      // SAFETY: `copy` was just created and is owned by nobody else.
      Ok(unsafe { OwnedFd::from_raw_fd(copy) })
    })
    .collect()
}

/// Worker side: the descriptors of the next handle message on `channel` (the worker's fd 4).
/// The caller owns the returned descriptors.
#[cfg_attr(test, allow(dead_code))]
#[napi]
pub fn receive_handles(channel: i32) -> Result<Vec<i32>> {
  let fds = recv_fds(channel, true).map_err(|e| Error::from_reason(format!("could not receive handles: {e}")))?;
  Ok(fds.into_iter().map(IntoRawFd::into_raw_fd).collect())
}

/// Worker side: sends `fds` as one handle message on `channel`, ahead of the frame they belong to.
#[cfg_attr(test, allow(dead_code))]
#[napi]
pub fn send_handles(channel: i32, fds: Vec<i32>) -> Result<()> {
  loop {
    match send_fds(channel, &fds) {
      // The parent is behind on reading handle messages; it will catch up.
      Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::sleep(std::time::Duration::from_millis(1)),
      other => return other.map_err(|e| Error::from_reason(format!("could not send handles: {e}"))),
    }
  }
}

/// Parent side: whether `fd` is a socket listening for connections, checked before a worker's
/// returned server is listened on (listening on anything else fails later, as an 'error' event
/// nobody would be there to handle).
#[cfg_attr(test, allow(dead_code))]
#[napi]
pub fn is_listening_socket(fd: i32) -> bool {
  let mut accepting: libc::c_int = 0;
  let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
  // SAFETY: getsockopt writes at most `len` bytes into the int it is given.
  let status = unsafe {
    libc::getsockopt(fd, libc::SOL_SOCKET, libc::SO_ACCEPTCONN, (&mut accepting as *mut libc::c_int).cast(), &mut len)
  };
  status == 0 && accepting != 0
}
