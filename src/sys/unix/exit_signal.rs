//! Signal numbers, which differ between systems, to the scheduler's names for them.

use std::borrow::Cow;

use crate::core::ExitSignal;

pub fn exit_signal(signal: i32) -> ExitSignal {
  let name = match signal {
    libc::SIGABRT => return ExitSignal::Abort,
    libc::SIGHUP => "SIGHUP",
    libc::SIGINT => "SIGINT",
    libc::SIGQUIT => "SIGQUIT",
    libc::SIGILL => "SIGILL",
    libc::SIGBUS => "SIGBUS",
    libc::SIGFPE => "SIGFPE",
    libc::SIGKILL => "SIGKILL",
    libc::SIGSEGV => "SIGSEGV",
    libc::SIGPIPE => "SIGPIPE",
    libc::SIGALRM => "SIGALRM",
    libc::SIGTERM => "SIGTERM",
    _ => return ExitSignal::Other(Cow::Owned(format!("signal {signal}"))),
  };
  ExitSignal::Other(Cow::Borrowed(name))
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn signals_are_named_as_before() {
    assert_eq!(exit_signal(libc::SIGABRT), ExitSignal::Abort);
    assert_eq!(exit_signal(libc::SIGKILL).name(), "SIGKILL");
    assert_eq!(exit_signal(libc::SIGTERM).name(), "SIGTERM");
    assert_eq!(exit_signal(200).name(), "signal 200");
  }
}
