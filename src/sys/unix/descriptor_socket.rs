//! A worker's handle channel on its own, for the portable driver: libuv makes the frames' pipe,
//! and the worker inherits this socket's other end at its handle descriptor number.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use super::{fdpass, Descriptor};

/// The parent's end: datagrams, each carrying one frame's descriptors.
pub struct DescriptorSocket(OwnedFd);

/// The worker's end, until the worker has been started with a copy of it.
pub struct InheritedEnd(OwnedFd);

impl InheritedEnd {
  /// The number to hand `uv_spawn` (it puts a copy at the worker's own number).
  pub fn number(&self) -> i32 {
    self.0.as_raw_fd()
  }

  /// The numbers to hand `uv_spawn`, from the worker's handle number on: this one only.
  pub fn numbers(&self) -> Vec<i32> {
    vec![self.number()]
  }
}

/// A new pair, both ends close-on-exec (libuv's copy in the worker is not).
pub fn descriptor_socket() -> io::Result<(DescriptorSocket, InheritedEnd)> {
  let mut fds = [0; 2];
  // SAFETY: `fds` has room for the two descriptors socketpair writes.
  let rc = unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_DGRAM | CLOEXEC_AT_CREATION, 0, fds.as_mut_ptr()) };
  if rc < 0 {
    return Err(io::Error::last_os_error());
  }
  // SAFETY: both were just made and are owned by nobody else.
  let (ours, theirs) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
  if CLOEXEC_AT_CREATION == 0 {
    for end in [&ours, &theirs] {
      // SAFETY: fcntl on a descriptor number has no memory-safety requirements.
      unsafe { libc::fcntl(end.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) };
    }
  }
  Ok((DescriptorSocket(ours), InheritedEnd(theirs)))
}

/// The socket type flag that makes both ends close-on-exec as they are made, so a process another
/// thread spawns meanwhile (a pool or `child_process` in a worker thread, the Linux driver's
/// spawns) cannot inherit them: a stranger holding a worker's end would keep its handle channel
/// open after the worker died.
#[cfg(not(target_vendor = "apple"))]
const CLOEXEC_AT_CREATION: libc::c_int = libc::SOCK_CLOEXEC;
/// macOS has no `SOCK_CLOEXEC` (nor `socketpair` flags of any kind): the flag is set right after,
/// and a process another thread spawns in between may inherit the pair. No portable fix exists
/// short of one lock that every spawn in the process takes.
#[cfg(target_vendor = "apple")]
const CLOEXEC_AT_CREATION: libc::c_int = 0;

impl DescriptorSocket {
  /// Descriptors need no recipient named here: the socket pair reaches the one worker.
  pub fn set_peer(&self, _pid: u32) {}

  /// The kernel gives a receiver new descriptors of its own: none can name one the parent holds.
  pub fn guard_with(&self, _loop_holds: Box<dyn Fn(i32) -> bool>) {}

  /// As `Channel::send_descriptors`.
  pub fn send_descriptors(&self, descriptors: &[Descriptor]) -> io::Result<()> {
    let raw: Vec<i32> = descriptors.iter().map(Descriptor::raw).collect();
    fdpass::send_fds(self.0.as_raw_fd(), &raw)
  }

  /// As `Channel::receive_descriptors`.
  pub fn receive_descriptors(&self) -> io::Result<Vec<Descriptor>> {
    Ok(fdpass::recv_fds(self.0.as_raw_fd(), false)?.into_iter().map(Descriptor).collect())
  }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
  use std::collections::HashSet;
  use std::os::fd::AsFd;
  use std::sync::atomic::{AtomicBool, Ordering};
  use std::sync::Mutex;

  use super::*;

  fn inode(fd: impl AsFd) -> u64 {
    let mut stat = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstat writes a whole `stat` into the buffer it is given, or fails.
    let rc = unsafe { libc::fstat(fd.as_fd().as_raw_fd(), stat.as_mut_ptr()) };
    assert_eq!(rc, 0, "fstat: {}", io::Error::last_os_error());
    // SAFETY: fstat succeeded, so it filled `stat`.
    unsafe { stat.assume_init() }.st_ino
  }

  /// The sockets a process holds, by inode, as its `/proc/self/fd` shows them (`socket:[123]`).
  fn sockets_of_a_new_process() -> HashSet<u64> {
    let out = std::process::Command::new("ls").args(["-l", "/proc/self/fd"]).output().expect("ls runs");
    let text = String::from_utf8_lossy(&out.stdout);
    text.split("socket:[").skip(1).filter_map(|rest| rest.split(']').next()?.parse().ok()).collect()
  }

  /// One thread makes pairs as fast as it can while this one spawns processes: none of them holds
  /// any end of a pair. (With the flag set after the socket is made, a pair lives without it for
  /// a large share of the maker's loop, and a few hundred spawns see one; with it set at
  /// creation there is no such moment, so this passes every time.)
  #[test]
  fn a_process_spawned_while_pairs_are_made_inherits_none_of_them() {
    let done = AtomicBool::new(false);
    let made = Mutex::new(HashSet::new());
    let leaked = std::thread::scope(|scope| {
      scope.spawn(|| {
        while !done.load(Ordering::Relaxed) {
          let (ours, theirs) = descriptor_socket().expect("a pair");
          let mut made = made.lock().unwrap();
          made.insert(inode(&ours.0));
          made.insert(inode(&theirs.0));
        }
      });
      let mut leaked = HashSet::new();
      for _ in 0..400 {
        let held = sockets_of_a_new_process();
        leaked.extend(held.intersection(&made.lock().unwrap()).copied());
        if !leaked.is_empty() {
          break;
        }
      }
      done.store(true, Ordering::Relaxed);
      leaked
    });
    assert!(leaked.is_empty(), "processes spawned meanwhile inherited the pairs' sockets {leaked:?}");
  }
}
