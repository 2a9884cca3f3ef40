//! The messages each way, typed: what a frame means once its header has been read.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use super::header::{CallId, FromWorkerKind, Header, ModuleId, ToWorkerKind, HEADER_LEN, PACE_LEN};

/// Descriptors travelling with a message, as an opaque token: the protocol and the scheduler
/// only carry it (and a retried call carries the same one again); what is inside (file
/// descriptors, on Unix) is the driver's business. Empty for almost every message.
#[derive(Clone, Default)]
pub struct Handles(Option<Arc<dyn Any + Send + Sync>>);

impl Handles {
  pub fn new<T: Any + Send + Sync>(inner: T) -> Self {
    Handles(Some(Arc::new(inner)))
  }

  pub fn is_empty(&self) -> bool {
    self.0.is_none()
  }

  pub fn get<T: Any + Send + Sync>(&self) -> Option<&T> {
    self.0.as_deref()?.downcast_ref()
  }

  /// The inner value, if this is its only holder and it is a `T`.
  pub fn take<T: Any + Send + Sync>(self) -> Option<T> {
    Arc::into_inner(self.0?.downcast::<T>().ok()?)
  }
}

/// Two tokens are equal when they are the same descriptors (or both none).
impl PartialEq for Handles {
  fn eq(&self, other: &Self) -> bool {
    match (&self.0, &other.0) {
      (Some(a), Some(b)) => Arc::ptr_eq(a, b),
      (a, b) => a.is_none() && b.is_none(),
    }
  }
}

impl Eq for Handles {}

impl fmt::Debug for Handles {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str(if self.is_empty() { "Handles(none)" } else { "Handles(attached)" })
  }
}

/// What the parent tells a worker. Payloads are shared so a retried call re-sends them without
/// copying.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ToWorker {
  /// Load the module at `path` under the id `module`. Without a `call`, no reply is wanted: it
  /// precedes a call on a worker that has not loaded the module yet.
  Load { call: Option<CallId>, module: ModuleId, path: Arc<[u8]> },
  /// Invoke a method; the payload is the JS-encoded `[method, args]`.
  Call { call: CallId, module: ModuleId, payload: Arc<[u8]>, handles: Handles },
  /// The call was cancelled: the worker aborts its signal (the call still answers, late).
  Cancel { call: CallId, module: ModuleId },
  /// The parent can take `items` more items of a streamed result.
  Credit { call: CallId, module: ModuleId, items: u32 },
}

/// A message encoded for the wire: the header, and the payload and descriptors to send after it
/// (the descriptors go first, on the handle channel).
#[derive(Debug)]
pub struct Encoded {
  pub header: [u8; HEADER_LEN],
  pub payload: Arc<[u8]>,
  pub handles: Handles,
}

impl ToWorker {
  pub fn kind(&self) -> ToWorkerKind {
    match self {
      ToWorker::Load { .. } => ToWorkerKind::Load,
      ToWorker::Call { .. } => ToWorkerKind::Call,
      ToWorker::Cancel { .. } => ToWorkerKind::Cancel,
      ToWorker::Credit { .. } => ToWorkerKind::Credit,
    }
  }

  pub fn encode(self) -> Encoded {
    let kind = self.kind() as u8;
    let (call, module, payload, handles) = match self {
      ToWorker::Load { call, module, path } => (call.unwrap_or(0), module, path, Handles::default()),
      ToWorker::Call { call, module, payload, handles } => (call, module, payload, handles),
      ToWorker::Cancel { call, module } => (call, module, Arc::from(&[][..]), Handles::default()),
      ToWorker::Credit { call, module, items } => {
        (call, module, Arc::from(&items.to_le_bytes()[..]), Handles::default())
      }
    };
    let header = Header { kind, with_handles: !handles.is_empty(), call, module, payload_len: payload.len() }.encode();
    Encoded { header, payload, handles }
  }
}

/// What a worker tells the parent. `module` on an answer is the module the worker says the call
/// was for (`None`: it does not say); the scheduler checks it against what it asked.
#[derive(Debug, PartialEq, Eq)]
pub enum FromWorker {
  /// The worker has booted and reads its channel.
  Ready,
  /// A call or load settled with a value; the payload is the JS-encoded value. For a streamed
  /// result, this ends the stream. Only this message may carry descriptors.
  Resolved { call: CallId, module: Option<ModuleId>, payload: Vec<u8>, handles: Handles },
  /// A call or load threw; the payload is the JS-encoded error. For a streamed result, this
  /// ends the stream with that error.
  Rejected { call: CallId, module: Option<ModuleId>, payload: Vec<u8> },
  /// The call's result is a stream: items follow, then `Resolved` or `Rejected`.
  StreamStart { call: CallId, module: Option<ModuleId> },
  /// One item of a streamed result; the payload is the JS-encoded value.
  Item { call: CallId, module: Option<ModuleId>, payload: Vec<u8> },
  /// An exception nothing caught (outside any call's own code): the JS-encoded error, and the
  /// call it is attributed to, if any. The worker exits next.
  Fatal { call: Option<CallId>, error: Vec<u8> },
  /// The worker's memory passed the pool's ceiling: finish what it has, then replace it.
  Recycle,
  /// The call's synchronous part has run and it now waits on something (a promise still pending
  /// at the end of the worker's turn): it no longer holds the worker's thread.
  Awaiting { call: CallId, module: Option<ModuleId> },
  /// How busy the worker has been since its previous `Pace` (or its start): microseconds its
  /// event loop ran code, of `elapsed_us` microseconds. Sent with the replies it flushes.
  Pace { busy_us: u32, elapsed_us: u32 },
}

impl FromWorker {
  pub fn kind(&self) -> FromWorkerKind {
    match self {
      FromWorker::Ready => FromWorkerKind::Ready,
      FromWorker::Resolved { .. } => FromWorkerKind::Resolved,
      FromWorker::Rejected { .. } => FromWorkerKind::Rejected,
      FromWorker::StreamStart { .. } => FromWorkerKind::StreamStart,
      FromWorker::Item { .. } => FromWorkerKind::Item,
      FromWorker::Fatal { .. } => FromWorkerKind::Fatal,
      FromWorker::Recycle => FromWorkerKind::Recycle,
      FromWorker::Awaiting { .. } => FromWorkerKind::Awaiting,
      FromWorker::Pace { .. } => FromWorkerKind::Pace,
    }
  }

  /// The call the message answers, for those that answer one.
  pub fn call(&self) -> Option<CallId> {
    match self {
      FromWorker::Resolved { call, .. }
      | FromWorker::Rejected { call, .. }
      | FromWorker::StreamStart { call, .. }
      | FromWorker::Item { call, .. }
      | FromWorker::Awaiting { call, .. } => Some(*call),
      FromWorker::Fatal { call, .. } => *call,
      FromWorker::Ready | FromWorker::Recycle | FromWorker::Pace { .. } => None,
    }
  }

  /// The module an answer says its call was for, if it says.
  pub fn module(&self) -> Option<ModuleId> {
    match self {
      FromWorker::Resolved { module, .. }
      | FromWorker::Rejected { module, .. }
      | FromWorker::StreamStart { module, .. }
      | FromWorker::Item { module, .. }
      | FromWorker::Awaiting { module, .. } => *module,
      FromWorker::Fatal { .. } | FromWorker::Ready | FromWorker::Recycle | FromWorker::Pace { .. } => None,
    }
  }

  /// The message a frame makes, or why it makes none: what a worker may say whatever state it is
  /// in (descriptors only on `Resolved`, no call, module or payload on what is about the worker
  /// itself, none on a stream start). What it may say in its state is the scheduler's to judge.
  pub fn from_frame(kind: FromWorkerKind, header: &Header, payload: Vec<u8>, handles: Handles) -> Result<Self, String> {
    if header.with_handles && kind != FromWorkerKind::Resolved {
      return Err(format!("sent descriptors with a {kind:?} frame"));
    }
    let about_worker =
      matches!(kind, FromWorkerKind::Ready | FromWorkerKind::Recycle | FromWorkerKind::Fatal | FromWorkerKind::Pace);
    if about_worker && header.module != 0 {
      return Err(format!("sent a {kind:?} frame naming module {}", header.module));
    }
    let (call, module) = (header.call, (header.module != 0).then_some(header.module));
    Ok(match kind {
      FromWorkerKind::Ready | FromWorkerKind::Recycle if call != 0 || !payload.is_empty() => {
        return Err(format!("sent a {kind:?} frame with a call id or a payload"));
      }
      FromWorkerKind::Ready => FromWorker::Ready,
      FromWorkerKind::Recycle => FromWorker::Recycle,
      FromWorkerKind::Fatal => FromWorker::Fatal { call: (call != 0).then_some(call), error: payload },
      FromWorkerKind::StreamStart if !payload.is_empty() => {
        return Err(format!("sent a payload with the stream start of call {call}"));
      }
      FromWorkerKind::StreamStart => FromWorker::StreamStart { call, module },
      FromWorkerKind::Awaiting if !payload.is_empty() => {
        return Err(format!("sent a payload with the Awaiting frame of call {call}"));
      }
      FromWorkerKind::Awaiting => FromWorker::Awaiting { call, module },
      FromWorkerKind::Pace if call != 0 => return Err(format!("sent a Pace frame naming call {call}")),
      FromWorkerKind::Pace if payload.len() != PACE_LEN => {
        return Err(format!("sent a Pace frame of {} bytes, not {PACE_LEN}", payload.len()));
      }
      FromWorkerKind::Pace => {
        let word = |at: usize| u32::from_le_bytes(payload[at..at + 4].try_into().expect("four bytes"));
        let (busy_us, elapsed_us) = (word(0), word(4));
        if busy_us > elapsed_us {
          return Err(format!("said it was busy {busy_us} µs of {elapsed_us}"));
        }
        FromWorker::Pace { busy_us, elapsed_us }
      }
      FromWorkerKind::Item => FromWorker::Item { call, module, payload },
      FromWorkerKind::Resolved => FromWorker::Resolved { call, module, payload, handles },
      FromWorkerKind::Rejected => FromWorker::Rejected { call, module, payload },
    })
  }
}
