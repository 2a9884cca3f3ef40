use super::exit::ExitStatus;

/// Declares the failure kinds with the name JS knows each by and its error code, each once.
macro_rules! failure_kinds {
  ($($(#[$meta:meta])* $variant:ident = $name:literal => $code:literal,)*) => {
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum FailureKind {
      $($(#[$meta])* $variant,)*
    }

    impl FailureKind {
      pub const ALL: &'static [FailureKind] = &[$(FailureKind::$variant),*];

      /// The name the JS side knows the kind by (the `type` of the failure it receives).
      pub fn name(self) -> &'static str {
        match self {
          $(FailureKind::$variant => $name,)*
        }
      }

      /// The `code` of the error the caller gets. Codes do not change once published.
      pub fn code(self) -> &'static str {
        match self {
          $(FailureKind::$variant => $code,)*
        }
      }
    }
  };
}

failure_kinds! {
  /// A worker died while the call ran on it, and the call was not (or could no longer be) sent
  /// again (surfaces as `invoke.Retry`).
  WorkerDied = "retry" => "ERR_INVOKE_WORKER_DIED",
  /// The pool was closed before the call could finish.
  Closed = "closed" => "ERR_INVOKE_POOL_CLOSED",
  /// No worker could be started.
  StartFailed = "start" => "ERR_INVOKE_WORKER_START",
  /// A worker misbehaved or died (reported to `onError`).
  WorkerCrashed = "crash" => "ERR_INVOKE_WORKER_CRASHED",
  /// The call ran longer than its `timeout` (surfaces as `invoke.Timeout`).
  TimedOut = "timeout" => "ERR_INVOKE_TIMEOUT",
  /// The queue was at `maxQueue`.
  QueueFull = "queue-full" => "ERR_INVOKE_QUEUE_FULL",
  /// A module took longer than `loadTimeout` to load.
  LoadTimedOut = "load-timeout" => "ERR_INVOKE_LOAD_TIMEOUT",
  /// The call's id names a call or module still live (the caller's bug; refused, not mixed up).
  DuplicateId = "duplicate-id" => "ERR_INVOKE_INTERNAL",
}

/// An error the pool itself produces, for a call or for `onError`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
  pub kind: FailureKind,
  pub message: String,
  pub pid: Option<u32>,
  pub status: Option<ExitStatus>,
  /// The JS-encoded error a worker threw, when there is one (an uncaught exception).
  pub error: Option<Vec<u8>>,
}

impl Failure {
  pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
    Failure { kind, message: message.into(), pid: None, status: None, error: None }
  }

  pub fn with_exit(mut self, pid: Option<u32>, status: Option<ExitStatus>) -> Self {
    self.pid = pid;
    self.status = status;
    self
  }
}
