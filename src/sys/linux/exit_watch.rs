use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::Child;
use std::time::Duration;

use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use crate::core::ExitStatus;
use crate::sys::unix::exit_signal;

/// Waits for one child to exit and reaps exactly that pid (never `waitpid(-1)`, which would steal
/// the exit statuses of Node's own children).
pub struct ExitWatch {
  child: Child,
  pidfd: Option<AsyncFd<OwnedFd>>,
}

impl ExitWatch {
  pub fn new(child: Child) -> Self {
    let pidfd = open_pidfd(child.id()).ok().and_then(|fd| {
      // SAFETY: the pidfd is owned by the AsyncFd and deregistered before it is closed.
      unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }.ok()
    });
    ExitWatch { child, pidfd }
  }

  pub fn pid(&self) -> u32 {
    self.child.id()
  }

  /// Resolves once the process has exited (without reaping it).
  pub async fn exited(&self) {
    match &self.pidfd {
      Some(fd) => {
        let _ = fd.readable().await;
      }
      // Kernels without pidfd: poll for the zombie.
      None => loop {
        if has_exited(self.child.id()) {
          return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
      },
    }
  }

  pub fn reap(mut self) -> ExitStatus {
    let status = match self.child.try_wait() {
      Ok(Some(status)) => Ok(status),
      _ => self.child.wait(),
    };
    match status {
      Ok(status) => ExitStatus { code: status.code(), signal: status.signal().map(exit_signal) },
      Err(_) => ExitStatus { code: None, signal: None },
    }
  }
}

fn open_pidfd(pid: u32) -> io::Result<OwnedFd> {
  // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
  let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
  if fd < 0 {
    return Err(io::Error::last_os_error());
  }
  // SAFETY: the descriptor was just created and is owned by nobody else.
  Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

fn has_exited(pid: u32) -> bool {
  // SAFETY: an all-zero siginfo_t is valid (waitid leaves it so when no child has exited).
  let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
  // SAFETY: WNOWAIT leaves the zombie for `reap`; `info` is a valid out-parameter.
  let rc = unsafe { libc::waitid(libc::P_PID, pid, &mut info, libc::WEXITED | libc::WNOHANG | libc::WNOWAIT) };
  // SAFETY: waitid with WEXITED fills in the SIGCHLD fields that si_pid reads.
  rc == 0 && unsafe { info.si_pid() } != 0
}
