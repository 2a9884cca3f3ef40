use std::fmt::Write;

use super::event::ExitStatus;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
  /// A worker died while the call ran on it (surfaces as `invoke.Retry`).
  Retry,
  /// The pool was closed before the call could finish.
  Closed,
  /// No worker could be started.
  StartFailed,
  /// A worker misbehaved or died (reported to `onError`).
  WorkerCrashed,
  /// The call ran longer than its `timeout`.
  TimedOut,
  /// The queue was at `maxQueue`.
  QueueFull,
  /// The call's id names a call or module still live (the caller's bug; refused, not mixed up).
  DuplicateId,
}

/// An error the pool itself produces. It crosses to JS as a small JSON object.
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

  pub fn to_json(&self) -> String {
    let kind = match self.kind {
      FailureKind::Retry => "retry",
      FailureKind::Closed => "closed",
      FailureKind::StartFailed => "start",
      FailureKind::WorkerCrashed => "crash",
      FailureKind::TimedOut => "timeout",
      FailureKind::QueueFull => "queue-full",
      FailureKind::DuplicateId => "duplicate-id",
    };
    serde_json::json!({
      "type": kind,
      "message": self.message,
      "pid": self.pid,
      "exitCode": self.status.and_then(|s| s.code),
      "signal": self.status.and_then(|s| s.signal).map(signal_name),
    })
    .to_string()
  }
}

/// The signal V8 ends a process with when its heap runs out (and on other fatal errors).
pub const SIGABRT: i32 = 6;

pub fn signal_name(signal: i32) -> String {
  let name = match signal {
    1 => "SIGHUP",
    2 => "SIGINT",
    3 => "SIGQUIT",
    4 => "SIGILL",
    6 => "SIGABRT",
    7 => "SIGBUS",
    8 => "SIGFPE",
    9 => "SIGKILL",
    11 => "SIGSEGV",
    13 => "SIGPIPE",
    14 => "SIGALRM",
    15 => "SIGTERM",
    _ => return format!("signal {signal}"),
  };
  name.to_string()
}

/// "worker pid 42 exited with code 1" / "worker pid 42 was killed by SIGKILL".
pub fn describe_exit(pid: Option<u32>, status: ExitStatus) -> String {
  let mut text = String::from("worker");
  if let Some(pid) = pid {
    let _ = write!(text, " pid {pid}");
  }
  match (status.code, status.signal) {
    (_, Some(SIGABRT)) => text.push_str(" was killed by SIGABRT (most likely it ran out of memory)"),
    (_, Some(sig)) => {
      let _ = write!(text, " was killed by {}", signal_name(sig));
    }
    (Some(code), None) => {
      let _ = write!(text, " exited with code {code}");
    }
    (None, None) => text.push_str(" exited"),
  }
  text
}
