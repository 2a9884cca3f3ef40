use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};

use super::child_fds::cloexec_from;

/// How to start a worker process.
#[derive(Clone, Debug)]
pub struct SpawnConfig {
  pub exec_path: String,
  pub args: Vec<String>,
  pub cwd: String,
  pub env: Vec<(String, String)>,
  /// Pipe the workers' stdout and stderr to the parent instead of sharing the parent's.
  pub capture_output: bool,
  /// Largest frame body accepted from a worker; a larger one breaks the protocol.
  pub max_message_size: usize,
}

/// The fd number the worker finds its frame channel on.
pub const CHANNEL_FD: i32 = crate::protocol::CHANNEL_FD;
/// The fd number the worker finds its handle channel on (descriptors passed with frames).
pub const HANDLE_CHANNEL_FD: i32 = crate::protocol::HANDLE_FD;

/// Bytes of socket buffer asked for each way (the kernel caps it at net.core.wmem_max/rmem_max).
const SOCKET_BUFFER: libc::c_int = 4 << 20;

/// The parent's ends of a worker's two channels.
pub struct WorkerChannels {
  pub frames: OwnedFd,
  pub handles: OwnedFd,
}

/// Starts a worker with fresh socketpairs as its fds 3 (frames, a stream) and 4 (handles,
/// datagrams, so each message of descriptors stays whole); returns the parent's ends.
pub fn spawn_worker(config: &SpawnConfig) -> io::Result<(Child, WorkerChannels)> {
  let (frames, child_frames) = socketpair(libc::SOCK_STREAM)?;
  // Room for a large payload in flight, so a 1 MiB call is not a dozen wake-ups each way.
  for end in [&frames, &child_frames] {
    set_buffer_size(end, libc::SO_SNDBUF, SOCKET_BUFFER);
    set_buffer_size(end, libc::SO_RCVBUF, SOCKET_BUFFER);
  }
  let (handles, child_handles) = socketpair(libc::SOCK_DGRAM)?;
  let child_fds = [child_frames.as_raw_fd(), child_handles.as_raw_fd()];
  let parent_pid = std::process::id() as libc::pid_t;
  let mut cmd = Command::new(&config.exec_path);
  cmd
    .args(&config.args)
    .current_dir(&config.cwd)
    .env_clear()
    .envs(config.env.iter().map(|(k, v)| (k, v)))
    .stdin(Stdio::null())
    // A group of its own: a terminal's Ctrl-C (SIGINT to the foreground group) is the parent's to
    // handle, and the pool can signal the worker with the processes it started.
    .process_group(0);
  if config.capture_output {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
  } else {
    cmd.stdout(Stdio::inherit()).stderr(Stdio::inherit());
  }
  // SAFETY: only async-signal-safe calls (fcntl, dup2, close_range, getdents64, prctl, getppid)
  // and no allocation between fork and exec.
  unsafe {
    cmd.pre_exec(move || {
      // Move both ends out of the way first, so neither dup2 can clobber the other.
      let high = [move_above(child_fds[0], 10)?, move_above(child_fds[1], 10)?];
      for (from, to) in high.into_iter().zip([CHANNEL_FD, HANDLE_CHANNEL_FD]) {
        if libc::dup2(from, to) < 0 {
          return Err(io::Error::last_os_error());
        }
      }
      // Node marks its stdio close-on-exec; without this the worker's console output is lost.
      let _ = clear_cloexec(1);
      let _ = clear_cloexec(2);
      // A worker holds its stdio and its two channels, nothing the parent happened to inherit.
      cloexec_from(HANDLE_CHANNEL_FD + 1)?;
      libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
      if libc::getppid() != parent_pid {
        return Err(io::Error::other("parent exited during spawn"));
      }
      Ok(())
    });
  }
  let child = cmd.spawn()?;
  drop((child_frames, child_handles));
  Ok((child, WorkerChannels { frames, handles }))
}

/// A close-on-exec copy of `fd` numbered at least `min`.
fn move_above(fd: i32, min: i32) -> io::Result<i32> {
  // SAFETY: fcntl on a descriptor number has no memory-safety requirements.
  let copy = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, min) };
  if copy < 0 {
    return Err(io::Error::last_os_error());
  }
  Ok(copy)
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
  if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC) } < 0 {
    return Err(io::Error::last_os_error());
  }
  Ok(())
}
