//! What a worker started by libuv does for itself, since `uv_spawn` has no hook between fork
//! and exec: die with its parent, and let go of descriptors it inherited by accident.

use std::io;

/// Linux: asks for SIGKILL when the parent goes. Either way, false if the parent is already
/// gone (the worker then exits instead of waiting for an end of file that came before it read).
pub fn die_with_parent(parent: u32) -> bool {
  #[cfg(target_os = "linux")]
  // SAFETY: prctl with integer arguments.
  unsafe {
    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
  }
  // SAFETY: getppid has no requirements.
  (unsafe { libc::getppid() }) as u32 == parent
}

/// Closes every descriptor from `first` up that is not close-on-exec. Node opens its own with
/// that flag, so what is left without it came from the parent's parent (a shell's `exec 40<>f`,
/// a leaked socket): it would keep a port or a pipe open as long as the worker lives.
pub fn close_inherited(first: i32) -> io::Result<usize> {
  // SAFETY: sysconf has no requirements.
  let limit = unsafe { libc::sysconf(libc::_SC_OPEN_MAX) };
  let limit = if limit <= 0 { 1024 } else { limit.min(1 << 16) as i32 };
  let mut closed = 0;
  for fd in first..limit {
    // SAFETY: fcntl and close on descriptor numbers have no memory-safety requirements; only
    // descriptors the process holds without FD_CLOEXEC are closed, none owned by Rust code.
    unsafe {
      let flags = libc::fcntl(fd, libc::F_GETFD);
      if flags >= 0 && flags & libc::FD_CLOEXEC == 0 {
        libc::close(fd);
        closed += 1;
      }
    }
  }
  Ok(closed)
}
