//! What only Linux has: pidfds, PR_SET_PDEATHSIG, close_range, and flags that make a descriptor
//! close-on-exec (or a send SIGPIPE-free) in the call that makes it.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::Command;

use super::unix::dup_cloexec;

/// Whether this OS has the Linux driver (the default where it does).
pub const HAS_LINUX_DRIVER: bool = true;

mod child_fds;
mod exit_watch;
mod spawn;

use exit_watch::ExitWatch;
pub use spawn::{spawn_worker, WorkerCommand, WorkerProcess};

use child_fds::cloexec_from;

/// Bytes of socket buffer asked for each way (the kernel caps it at net.core.wmem_max/rmem_max).
const SOCKET_BUFFER: libc::c_int = 4 << 20;
/// Where the child's ends are moved before they are put in place, out of the way of both.
const MOVED_ABOVE: RawFd = 10;

/// A worker's two channels: frames (a stream) and handles (datagrams, so each message of
/// descriptors stays whole).
pub(in crate::sys) struct WorkerSockets {
  pub frames: OwnedFd,
  pub handles: OwnedFd,
  /// The worker's ends, to drop once it is started.
  pub child_ends: [OwnedFd; 2],
}

pub(in crate::sys) fn worker_sockets() -> io::Result<WorkerSockets> {
  let (frames, child_frames) = socketpair(libc::SOCK_STREAM)?;
  // Room for a large payload in flight, so a 1 MiB call is not a dozen wake-ups each way.
  for end in [&frames, &child_frames] {
    set_buffer_size(end, libc::SO_SNDBUF, SOCKET_BUFFER);
    set_buffer_size(end, libc::SO_RCVBUF, SOCKET_BUFFER);
  }
  let (handles, child_handles) = socketpair(libc::SOCK_DGRAM)?;
  Ok(WorkerSockets { frames, handles, child_ends: [child_frames, child_handles] })
}

/// Prepares `cmd` to start a worker: a process group of its own, `sockets`' child ends at the
/// numbers `at`, nothing else inherited but stdio, and death with the parent.
fn start_in_own_group(cmd: &mut Command, sockets: &WorkerSockets, at: [RawFd; 2]) {
  let child_fds = [sockets.child_ends[0].as_raw_fd(), sockets.child_ends[1].as_raw_fd()];
  let parent_pid = std::process::id() as libc::pid_t;
  // A terminal's Ctrl-C (SIGINT to the foreground group) is the parent's to handle, and the
  // pool can signal the worker with the processes it started.
  cmd.process_group(0);
  let setup = move || {
    // Move both ends out of the way first, so neither dup2 can clobber the other. The copies
    // are close-on-exec and die with the exec, so they are not closed here (no drop at all
    // between fork and exec).
    let high = [move_above(child_fds[0])?, move_above(child_fds[1])?];
    for (from, to) in high.into_iter().zip(at) {
      // SAFETY: dup2 on descriptor numbers has no memory-safety requirements.
      if unsafe { libc::dup2(from, to) } < 0 {
        return Err(io::Error::last_os_error());
      }
    }
    // Node marks its stdio close-on-exec; without this the worker's console output is lost.
    let _ = clear_cloexec(1);
    let _ = clear_cloexec(2);
    // A worker holds its stdio and its two channels, nothing the parent happened to inherit.
    cloexec_from(at[0].max(at[1]) + 1)?;
    // SAFETY: prctl with integer arguments; getppid has no requirements.
    unsafe {
      libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
      if libc::getppid() != parent_pid {
        return Err(io::Error::other("parent exited during spawn"));
      }
    }
    Ok(())
  };
  // SAFETY: `setup` makes only async-signal-safe calls (fcntl, dup2, close_range, getdents64,
  // prctl, getppid) and allocates nothing, as code between fork and exec in a multi-threaded
  // process must.
  unsafe { cmd.pre_exec(setup) };
}

/// A close-on-exec copy of `fd` above `MOVED_ABOVE`, left open.
fn move_above(fd: RawFd) -> io::Result<RawFd> {
  dup_cloexec(fd, MOVED_ABOVE).map(std::os::fd::IntoRawFd::into_raw_fd)
}

fn socketpair(kind: i32) -> io::Result<(OwnedFd, OwnedFd)> {
  let mut fds = [0; 2];
  // SAFETY: `fds` has room for the two descriptors socketpair writes.
  let rc = unsafe { libc::socketpair(libc::AF_UNIX, kind | libc::SOCK_CLOEXEC, 0, fds.as_mut_ptr()) };
  if rc < 0 {
    return Err(io::Error::last_os_error());
  }
  // SAFETY: both descriptors were just created and are owned by nobody else.
  Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

fn set_buffer_size(socket: &OwnedFd, option: libc::c_int, bytes: libc::c_int) {
  // SAFETY: setsockopt reads `bytes` for the given length; failure just leaves the default.
  unsafe {
    libc::setsockopt(
      socket.as_raw_fd(),
      libc::SOL_SOCKET,
      option,
      (&bytes as *const libc::c_int).cast(),
      std::mem::size_of::<libc::c_int>() as libc::socklen_t,
    );
  }
}

fn clear_cloexec(fd: i32) -> io::Result<()> {
  // SAFETY: fcntl on a descriptor number has no memory-safety requirements.
  let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
  // SAFETY: as above.
  if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC) } < 0 {
    return Err(io::Error::last_os_error());
  }
  Ok(())
}

/// A parent's channel and the worker's ends of it, for tests that play the worker.
#[cfg(test)]
pub fn test_channel() -> (super::Channel, [OwnedFd; 2]) {
  let WorkerSockets { frames, handles, child_ends } = worker_sockets().unwrap();
  (super::Channel { frames, handles }, child_ends)
}
