//! How a worker process ended, as the scheduler sees it: signals by what they mean here, not by
//! number (the numbers differ between systems; the driver maps them).

use std::borrow::Cow;
use std::fmt::Write;

/// The signal that ended a process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExitSignal {
  /// SIGABRT: what V8 ends a process with when its heap runs out (and on other fatal errors),
  /// so a call running alone on it is to blame.
  Abort,
  /// Any other, by its name for people ("SIGKILL", or "signal 37" for one without a name).
  Other(Cow<'static, str>),
}

impl ExitSignal {
  pub fn name(&self) -> &str {
    match self {
      ExitSignal::Abort => "SIGABRT",
      ExitSignal::Other(name) => name,
    }
  }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExitStatus {
  pub code: Option<i32>,
  pub signal: Option<ExitSignal>,
}

/// "worker pid 42 exited with code 1" / "worker pid 42 was killed by SIGKILL".
pub fn describe_exit(pid: Option<u32>, status: &ExitStatus) -> String {
  let mut text = String::from("worker");
  if let Some(pid) = pid {
    let _ = write!(text, " pid {pid}");
  }
  match (status.code, &status.signal) {
    (_, Some(ExitSignal::Abort)) => text.push_str(" was killed by SIGABRT (most likely it ran out of memory)"),
    (_, Some(signal)) => {
      let _ = write!(text, " was killed by {}", signal.name());
    }
    (Some(code), None) => {
      let _ = write!(text, " exited with code {code}");
    }
    (None, None) => text.push_str(" exited"),
  }
  text
}
