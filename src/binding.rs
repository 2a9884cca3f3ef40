//! The N-API surface: one `NativePool` per JS pool. It is deliberately small — ids in, batches of
//! settlements out — so that all policy stays in the scheduler and all values stay in JS.

use std::collections::HashMap;
use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use tokio::sync::mpsc::UnboundedSender;

use std::os::fd::{FromRawFd, IntoRawFd, OwnedFd};

use std::sync::Mutex;

use crate::core::{CallOptions, Event, Job, Outcome, Piece, PoolConfig, Stats};
use crate::driver::{start_pool, SettleQueue, Settled, SpawnConfig};
use crate::fdpass::{recv_fds, send_fds, MAX_HANDLES};
use crate::protocol::SharedHandles;

/// One entry of a settlement batch, flattened into the JS array as `id, kind, payload`.
type BatchItem = Either4<u32, Buffer, String, Vec<i32>>;

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

type BatchFn = ThreadsafeFunction<(), Unknown<'static>, Vec<BatchItem>, Status, false, true>;

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
  inbox: UnboundedSender<Event>,
  stats: Arc<Mutex<Stats>>,
  batches: Arc<BatchFn>,
  /// Removed when the pool is collected, so making many pools does not pile up hooks.
  cleanup: Option<napi::CleanupEnvHook<()>>,
}

impl ObjectFinalize for NativePool {
  fn finalize(mut self, env: Env) -> Result<()> {
    if let Some(hook) = self.cleanup.take() {
      env.remove_env_cleanup_hook(hook)?;
    }
    Ok(())
  }
}

#[napi]
impl NativePool {
  /// `onBatch` receives `[id, kind, payload, id, kind, payload, ...]` on the JS thread.
  #[napi(constructor)]
  pub fn new(
    env: Env,
    options: NativePoolOptions,
    on_batch: Function<'_, Vec<BatchItem>, Unknown<'static>>,
  ) -> Result<Self> {
    let queue_slot: Arc<std::sync::OnceLock<Arc<SettleQueue>>> = Arc::new(std::sync::OnceLock::new());
    let reader = queue_slot.clone();
    let batches: Arc<BatchFn> = Arc::new(
      on_batch
        .build_threadsafe_function::<()>()
        .callee_handled::<false>()
        .weak::<true>()
        .build_callback(move |_ctx| Ok(reader.get().map(|q| to_batch(q)).unwrap_or_default()))?,
    );
    let waker = batches.clone();
    let queue = Arc::new(SettleQueue::new(Box::new(move || {
      waker.call((), ThreadsafeFunctionCallMode::NonBlocking);
    })));
    let _ = queue_slot.set(queue.clone());

    let config = PoolConfig {
      limit: options.limit.max(1),
      minimum: options.minimum.min(options.limit.max(1)),
      max_per_child: options.max_per_child,
      idle_timeout_ms: options.idle_timeout.and_then(to_ms),
      retries: options.retries,
      cancel_grace_ms: to_ms(options.cancel_grace).unwrap_or(u64::MAX),
      max_queue: options.max_queue.map(|n| n as usize),
      recycle_after: options.recycle_after.map(u64::from),
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
    let stats = Arc::new(Mutex::new(Stats::default()));
    let inbox = start_pool(config, spawn, queue, stats.clone());

    // When this JS environment goes away (a worker thread ending, the process exiting), its
    // workers go with it.
    let cleanup_inbox = inbox.downgrade();
    let cleanup = env.add_env_cleanup_hook((), move |_| {
      if let Some(inbox) = cleanup_inbox.upgrade() {
        let _ = inbox.send(Event::Close { force: true });
      }
    })?;
    Ok(NativePool { inbox, stats, batches, cleanup: Some(cleanup) })
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
    let handles = SharedHandles::new(duplicate(handles.as_deref().unwrap_or_default())?);
    let job = Job::Invoke { payload: Arc::from(payload), handles };
    let options = CallOptions { no_retry, timeout_ms: timeout.and_then(to_ms) };
    self.submit(Event::Submit { call: id, module, job, options });
    Ok(())
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

  /// A snapshot, as of the pool's last batch of events.
  #[napi]
  pub fn stats(&self) -> PoolStats {
    let s = self.stats.lock().map(|s| *s).unwrap_or_default();
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

  /// Holds the event loop open while the JS side waits on this pool (and only then).
  #[napi]
  pub fn keep_alive(&self, env: Env, on: bool) -> Result<()> {
    let raw = self.batches.raw();
    // SAFETY: called on the JS thread that owns the threadsafe function.
    let status = unsafe {
      if on {
        napi::sys::napi_ref_threadsafe_function(env.raw(), raw)
      } else {
        napi::sys::napi_unref_threadsafe_function(env.raw(), raw)
      }
    };
    if status != napi::sys::Status::napi_ok {
      return Err(Error::from_reason("could not change the pool's hold on the event loop"));
    }
    Ok(())
  }
}

impl NativePool {
  fn submit(&self, event: Event) {
    // The actor outlives every NativePool unless the pool is closed, where the scheduler already
    // answers every call itself.
    let _ = self.inbox.send(event);
  }
}

/// Finite, non-negative milliseconds; `None` for infinity.
fn to_ms(ms: f64) -> Option<u64> {
  ms.is_finite().then(|| ms.max(0.0) as u64)
}

/// The JS-thread half of settling: everything queued, as `[bytes, id, kind, x, id, kind, x, ...]`.
/// `bytes` is one Buffer holding the batch's small binary payloads back to back; for those, `x`
/// is the payload's end offset in it (each starts where the previous one ended). A large binary
/// payload is a Buffer of its own; other payloads are strings. One Buffer for the many small
/// payloads keeps the garbage collector out of the hot path.
fn to_batch(queue: &SettleQueue) -> Vec<BatchItem> {
  let mut bytes: Vec<u8> = Vec::new();
  let mut batch = vec![Either4::A(0)];
  let mut binary = |payload: Vec<u8>| {
    if payload.len() >= OWN_BUFFER {
      // A large payload becomes a Buffer of its own, without a copy.
      return Either4::B(payload.into());
    }
    bytes.extend_from_slice(&payload);
    Either4::A(bytes.len() as u32)
  };
  for item in queue.drain() {
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
