use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};

/// How to start a worker process.
#[derive(Clone, Debug)]
pub struct SpawnConfig {
  pub exec_path: String,
  pub args: Vec<String>,
  pub cwd: String,
  pub env: Vec<(String, String)>,
}

/// The fd number the worker finds its channel on.
pub const CHANNEL_FD: i32 = 3;

/// Starts a worker with one end of a fresh socketpair as its fd 3; returns the other end.
pub fn spawn_worker(config: &SpawnConfig) -> io::Result<(Child, OwnedFd)> {
  let (parent_end, child_end) = socketpair()?;
  let child_fd = child_end.as_raw_fd();
  let parent_pid = std::process::id() as libc::pid_t;
  let mut cmd = Command::new(&config.exec_path);
  cmd
    .args(&config.args)
    .current_dir(&config.cwd)
    .env_clear()
    .envs(config.env.iter().map(|(k, v)| (k, v)))
    .stdin(Stdio::null())
    .stdout(Stdio::inherit())
    .stderr(Stdio::inherit());
  // SAFETY: only async-signal-safe calls (dup2, fcntl, prctl, getppid) between fork and exec.
  unsafe {
    cmd.pre_exec(move || {
      if child_fd == CHANNEL_FD {
        clear_cloexec(CHANNEL_FD)?;
      } else if libc::dup2(child_fd, CHANNEL_FD) < 0 {
        return Err(io::Error::last_os_error());
      }
      // Node marks its stdio close-on-exec; without this the worker's console output is lost.
      let _ = clear_cloexec(1);
      let _ = clear_cloexec(2);
      libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
      if libc::getppid() != parent_pid {
        return Err(io::Error::other("parent exited during spawn"));
      }
      Ok(())
    });
  }
  let child = cmd.spawn()?;
  drop(child_end);
  Ok((child, parent_end))
}

fn socketpair() -> io::Result<(OwnedFd, OwnedFd)> {
  let mut fds = [0; 2];
  // SAFETY: `fds` has room for the two descriptors socketpair writes.
  let rc = unsafe {
    libc::socketpair(
      libc::AF_UNIX,
      libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
      0,
      fds.as_mut_ptr(),
    )
  };
  if rc < 0 {
    return Err(io::Error::last_os_error());
  }
  // SAFETY: both descriptors were just created and are owned by nobody else.
  Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

fn clear_cloexec(fd: i32) -> io::Result<()> {
  // SAFETY: fcntl on a descriptor number has no memory-safety requirements.
  let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
  if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC) } < 0 {
    return Err(io::Error::last_os_error());
  }
  Ok(())
}
