//! A pool's part in its JS environment's teardown (a worker thread ending, the process exiting):
//! its workers go with it, and its libuv handles close before the loop does.
//!
//! Raw N-API on purpose: napi-rs's own cleanup hook is removed as soon as its callback returns,
//! which is too early here. Node must wait until libuv has closed every handle of the pool, so
//! the hook is removed only when the last of them is (`TeardownDone` dropped).

use std::cell::Cell;
use std::ffi::c_void;
use std::rc::{Rc, Weak};

use napi::sys;

use crate::driver::PoolDriver;

/// What the environment's teardown hook needs: the pool, if it still exists.
pub struct Teardown {
  driver: Weak<PoolDriver>,
  fired: Cell<bool>,
  hook: Cell<sys::napi_async_cleanup_hook_handle>,
}

impl Teardown {
  /// Registers the hook. It holds one strong count of the returned `Rc`, given back when it
  /// fires or when `cancel` removes it.
  pub fn register(env: &napi::Env, driver: &Rc<PoolDriver>) -> Result<Rc<Teardown>, String> {
    let teardown = Rc::new(Teardown {
      driver: Rc::downgrade(driver),
      fired: Cell::new(false),
      hook: Cell::new(std::ptr::null_mut()),
    });
    let arg = Rc::into_raw(teardown.clone()).cast_mut().cast::<c_void>();
    let mut hook = std::ptr::null_mut();
    // SAFETY: on the JS thread; `arg` stays valid until the hook runs or is removed (`cancel`).
    let status = unsafe { sys::napi_add_async_cleanup_hook(env.raw(), Some(on_teardown), arg, &mut hook) };
    if status != sys::Status::napi_ok {
      // SAFETY: not registered, so the count `into_raw` kept is ours to give back.
      unsafe { Rc::decrement_strong_count(arg as *const Teardown) };
      return Err("could not register the pool's cleanup".into());
    }
    teardown.hook.set(hook);
    Ok(teardown)
  }

  /// The pool is finalized first: the hook will not be needed.
  pub fn cancel(self: &Rc<Self>) {
    if self.fired.get() {
      return;
    }
    // SAFETY: the hook has not run, so it is still registered, with a count of `self`.
    let status = unsafe { sys::napi_remove_async_cleanup_hook(self.hook.get()) };
    // A hook that could not be removed may still fire and use its count: then it is kept.
    if status == sys::Status::napi_ok {
      // SAFETY: the removed hook's count, given back once.
      unsafe { Rc::decrement_strong_count(Rc::as_ptr(self)) };
    }
  }
}

/// Dropped once every libuv handle of a torn-down pool is closed: only then may Node close the loop.
struct TeardownDone(sys::napi_async_cleanup_hook_handle);

impl Drop for TeardownDone {
  fn drop(&mut self) {
    // SAFETY: the handle of a hook that fired and was not removed yet. Node cannot go on with
    // its teardown until this succeeds, and nothing here could make a failure succeed.
    let _status = unsafe { sys::napi_remove_async_cleanup_hook(self.0) };
  }
}

unsafe extern "C" fn on_teardown(hook: sys::napi_async_cleanup_hook_handle, arg: *mut c_void) {
  // SAFETY: `arg` is the `Rc::into_raw` of `register`, and this hook fires at most once; once it
  // has, `cancel` no longer gives that count back, so it is taken back here exactly once.
  let teardown = unsafe { Rc::from_raw(arg as *const Teardown) };
  teardown.fired.set(true);
  let done = Rc::new(TeardownDone(hook));
  if let Some(driver) = teardown.driver.upgrade() {
    driver.tear_down(done);
  }
}
