//! What a worker started by libuv does for itself, since `uv_spawn` has no hook between fork
//! and exec: die with its parent, and let go of descriptors it inherited by accident.

use std::io;

/// Makes the worker a process group of its own in its parent's session, so that a forced close
/// reaches what it starts and a terminal's Ctrl-C is the parent's to handle (the Linux driver
/// does this before exec; UV_PROCESS_DETACHED would make a session, and a scheduler autogroup).
pub fn lead_own_group() {
  // SAFETY: setpgid with plain integers.
  unsafe { libc::setpgid(0, 0) };
}

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
  // The descriptors the process holds, listed (Linux, macOS), else every number it may hold.
  let listed: Option<Vec<i32>> = ["/proc/self/fd", "/dev/fd"].iter().find_map(|dir| {
    let entries = std::fs::read_dir(dir).ok()?;
    Some(entries.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect())
  });
  let candidates = listed.unwrap_or_else(|| {
    // SAFETY: sysconf has no requirements.
    let limit = unsafe { libc::sysconf(libc::_SC_OPEN_MAX) };
    (0..if limit <= 0 { 1024 } else { limit.min(1 << 16) as i32 }).collect()
  });
  let mut closed = 0;
  for fd in candidates.into_iter().filter(|&fd| fd >= first) {
    // SAFETY: fcntl and close on descriptor numbers have no memory-safety requirements; only
    // descriptors the process holds without FD_CLOEXEC are closed, none owned by Rust code (the
    // listing's own descriptor is close-on-exec, and closed by now).
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

/// Asks for `bytes` of socket buffer each way on the worker's own end of its channel (libuv
/// made the pair with the system's default, a fraction of what a large payload wants).
pub fn widen_socket(fd: i32, bytes: i32) {
  for option in [libc::SO_SNDBUF, libc::SO_RCVBUF] {
    // SAFETY: setsockopt reads the int for the given length; failure leaves the default.
    unsafe {
      libc::setsockopt(
        fd,
        libc::SOL_SOCKET,
        option,
        (&bytes as *const i32).cast(),
        std::mem::size_of::<i32>() as libc::socklen_t,
      );
    }
  }
}
