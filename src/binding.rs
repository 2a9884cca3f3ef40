//! The N-API surface: one `NativePool` per JS pool. It is deliberately small — ids in, batches of
//! settlements out — so that all policy stays in the scheduler and all values stay in JS.

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::call_function;
use crate::core::{CallOptions, Event, Job, PoolConfig};
use crate::driver::{call_options, to_ms, DriverKind, JsCallback, PoolDriver, SpawnConfig, UvLoop};
use crate::teardown::Teardown;

/// Pools this process has made, on any thread: the next one's `poolId` is one more.
static POOLS: AtomicU32 = AtomicU32::new(0);

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
  /// Milliseconds a module load may take on a worker; absent means no limit.
  pub load_timeout: Option<f64>,
  /// Milliseconds a stream may wait on its reader while the pool closes gracefully; absent means
  /// no limit.
  pub close_read_grace: Option<f64>,
  /// Hand workers calls as they have room for them (`dispatch: 'adaptive'`), not all at once.
  pub adaptive: bool,
  /// `'portable'` (libuv's processes and streams, every OS) or `'linux'` (Linux's own calls);
  /// absent: the platform's default (`INVOKE_PARALLEL_DRIVER`, read by lib/pool.js).
  pub driver: Option<String>,
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
  /// Answered method calls' times from submission to dispatch and from dispatch to answer.
  pub wait_time: TimeSummary,
  pub run_time: TimeSummary,
  /// Worker busy time over what `limit` workers could have spent since the pool started.
  pub utilization: f64,
}

/// A distribution of durations, in milliseconds (from microseconds).
#[napi(object)]
pub struct TimeSummary {
  pub count: f64,
  pub mean: f64,
  pub min: f64,
  pub max: f64,
  pub p50: f64,
  pub p90: f64,
  pub p99: f64,
}

impl From<crate::core::Summary> for TimeSummary {
  fn from(s: crate::core::Summary) -> Self {
    let ms = |us: u64| us as f64 / 1000.0;
    TimeSummary {
      count: s.count as f64,
      mean: ms(s.mean),
      min: ms(s.min),
      max: ms(s.max),
      p50: ms(s.p50),
      p90: ms(s.p90),
      p99: ms(s.p99),
    }
  }
}

#[napi(custom_finalize)]
pub struct NativePool {
  driver: Rc<PoolDriver>,
  teardown: Rc<Teardown>,
}

impl ObjectFinalize for NativePool {
  fn finalize(self, _env: Env) -> Result<()> {
    self.teardown.cancel();
    Ok(())
  }
}

#[napi]
impl NativePool {
  /// `onBatch(bytes, index, count, extras)` receives the settlements (see `driver::js_callback`);
  /// `resource` is the async resource its calls run in (kept alive by the caller).
  #[napi(constructor)]
  pub fn new(
    env: Env,
    options: NativePoolOptions,
    on_batch: Function<'_, Unknown<'_>, Unknown<'_>>,
    resource: Option<Object<'_>>,
  ) -> Result<Self> {
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
      load_timeout_ms: options.load_timeout.and_then(to_ms),
      close_read_grace_ms: options.close_read_grace.and_then(to_ms),
      adaptive: options.adaptive,
      ..PoolConfig::default()
    };
    let spawn = SpawnConfig {
      exec_path: options.exec_path,
      args: options.args,
      cwd: options.cwd,
      env: options.env.into_iter().collect(),
      capture_output: options.capture_output,
      max_message_size: options.max_message_size as usize,
      pool_id: POOLS.fetch_add(1, Ordering::Relaxed) + 1,
    };
    let kind = match options.driver.as_deref() {
      None if crate::sys::HAS_LINUX_DRIVER => DriverKind::Linux,
      None | Some("portable") => DriverKind::Portable,
      Some("linux") if crate::sys::HAS_LINUX_DRIVER => DriverKind::Linux,
      Some("linux") => return Err(Error::from_reason("the linux driver runs on Linux only: use 'portable'")),
      Some(other) => return Err(Error::from_reason(format!("no driver named {other:?}: 'linux' or 'portable'"))),
    };
    let uv_loop = env.get_uv_event_loop().map_err(|_| Error::from_reason("could not reach the event loop"))?;
    let js = JsCallback::new(&env, &on_batch, resource.as_ref())?;
    let driver = PoolDriver::start(uv_loop as *mut UvLoop, config, spawn, kind, js)
      .map_err(|e| Error::from_reason(format!("could not start the pool: {e}")))?;
    let teardown = Teardown::register(&env, &driver).map_err(Error::from_reason)?;
    Ok(NativePool { driver, teardown })
  }

  /// `'linux'` or `'portable'`: how this pool starts its workers and moves their bytes.
  #[napi]
  pub fn driver(&self) -> String {
    self.driver.kind().name().to_string()
  }

  /// Loads a module as call `id` (ids come from JS); the id is also the module's id for later calls.
  #[napi]
  pub fn load(&self, id: u32, path: String, no_retry: bool) {
    let job = Job::Load { path: Arc::from(path.into_bytes()) };
    let options = CallOptions { no_retry, ..Default::default() };
    self.submit(Event::Submit { call: id, module: id, job, options });
  }

  /// `timeout` is in milliseconds from dispatch; absent means none. `handles` are descriptors
  /// (of sockets) to hand to the worker: they are duplicated here, so the caller may close its own.
  /// `priority` orders it in the queue (absent: 0). `method` is the caller's number for the
  /// method's name, which adaptive dispatch costs calls by (absent: 0). `traced` (absent: false)
  /// asks for a CallTrace entry before its settlement. The arguments are `callText`'s, in its
  /// order: one call site in lib/pool.js passes either, and no options object is built per call.
  #[napi]
  #[allow(clippy::too_many_arguments)]
  pub fn call(
    &self,
    id: u32,
    module: u32,
    payload: &[u8],
    no_retry: bool,
    timeout: Option<f64>,
    handles: Option<Vec<i32>>,
    priority: Option<f64>,
    method: Option<u32>,
    traced: Option<bool>,
  ) -> Result<()> {
    let options = call_options(no_retry, timeout, priority, traced.unwrap_or_default());
    let fds = handles.unwrap_or_default();
    self
      .driver
      .submit_call(id, module, Arc::from(payload), options, &fds, method.unwrap_or_default())
      .map_err(Error::from_reason)
  }

  /// `call` with a payload that is JSON text (no Buffer per call), as a plain function bound to
  /// this pool: see `call_function`.
  #[napi(
    ts_return_type = "(id: number, module: number, payload: string, noRetry: boolean, timeout?: number, fds?: number[], priority?: number, method?: number, traced?: boolean) => void"
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
      wait_time: s.wait.into(),
      run_time: s.run.into(),
      utilization: if s.capacity_us == 0 { 0.0 } else { (s.busy_us as f64 / s.capacity_us as f64).min(1.0) },
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
