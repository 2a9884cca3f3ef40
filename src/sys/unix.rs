//! What POSIX systems share: descriptors, sockets, signals, the dynamic linker, C memory.

use std::ffi::{c_void, CStr};
use std::io::{self, IoSlice};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use tokio::io::AsyncRead;

use super::linux::MSG_NO_SIGPIPE;
use crate::core::Signal;

mod exit_signal;
mod fdpass;

pub use exit_signal::exit_signal;
pub use fdpass::{recv_fds, send_fds, MAX_HANDLES};

/// A close-on-exec copy of `fd`, numbered at least `min`; the original is untouched.
pub fn dup_cloexec(fd: RawFd, min: RawFd) -> io::Result<OwnedFd> {
  // SAFETY: fcntl on a descriptor number has no memory-safety requirements; F_DUPFD_CLOEXEC
  // creates a new descriptor or fails.
  let copy = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, min) };
  if copy < 0 {
    return Err(io::Error::last_os_error());
  }
  // SAFETY: `copy` was just created and is owned by nobody else.
  Ok(unsafe { OwnedFd::from_raw_fd(copy) })
}

pub fn set_nonblocking(fd: &impl AsRawFd) -> io::Result<()> {
  let fd = fd.as_raw_fd();
  // SAFETY: fcntl on a descriptor number has no memory-safety requirements.
  let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
  // SAFETY: as above.
  if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
    return Err(io::Error::last_os_error());
  }
  Ok(())
}

/// One `read` into `buf`'s spare capacity, which grows by what was read: `Ok(0)` at end of file.
pub fn read_into(fd: &impl AsRawFd, buf: &mut Vec<u8>) -> io::Result<usize> {
  let spare = buf.spare_capacity_mut();
  // SAFETY: the kernel writes at most `spare.len()` bytes into the spare capacity.
  let n = unsafe { libc::read(fd.as_raw_fd(), spare.as_mut_ptr().cast(), spare.len()) };
  if n < 0 {
    return Err(io::Error::last_os_error());
  }
  // SAFETY: the kernel initialized `n` more bytes.
  unsafe { buf.set_len(buf.len() + n as usize) };
  Ok(n as usize)
}

/// One gathered write of `parts` on a stream socket, without blocking (`WouldBlock` when it is
/// full) and without SIGPIPE if the other end is gone (EPIPE is an error like any other).
pub fn send_gathered(fd: &impl AsRawFd, parts: &[IoSlice<'_>]) -> io::Result<usize> {
  // SAFETY: an all-zero msghdr is empty.
  let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
  // IoSlice is ABI-compatible with iovec on Unix; sendmsg only reads through the pointer.
  msg.msg_iov = parts.as_ptr().cast_mut().cast();
  msg.msg_iovlen = parts.len() as _;
  // SAFETY: the iovecs point into `parts`' slices, which outlive the call.
  let n = unsafe { libc::sendmsg(fd.as_raw_fd(), &msg, MSG_NO_SIGPIPE | libc::MSG_DONTWAIT) };
  if n < 0 {
    return Err(io::Error::last_os_error());
  }
  Ok(n as usize)
}

/// Closes our write side of a socket; the other end reads EOF.
pub fn shutdown_write(fd: &impl AsRawFd) {
  // SAFETY: shutdown on a descriptor number has no memory-safety requirements.
  unsafe { libc::shutdown(fd.as_raw_fd(), libc::SHUT_WR) };
}

/// Signals the process group `pid` leads. SIGCONT follows SIGTERM, which a stopped process would
/// otherwise leave pending. The caller must not have reaped `pid`: until then its pid (the
/// group's id) cannot be reused.
pub fn kill_group(pid: u32, signal: Signal) {
  let group = -(pid as libc::pid_t);
  let number = match signal {
    Signal::Term => libc::SIGTERM,
    Signal::Kill => libc::SIGKILL,
  };
  // SAFETY: kill has no memory-safety requirements.
  unsafe {
    libc::kill(group, number);
    if signal == Signal::Term {
      libc::kill(group, libc::SIGCONT);
    }
  }
}

/// Whether `fd` is a socket listening for connections.
pub fn is_listening_socket(fd: RawFd) -> bool {
  let mut accepting: libc::c_int = 0;
  let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
  // SAFETY: getsockopt writes at most `len` bytes into the int it is given.
  let status = unsafe {
    libc::getsockopt(fd, libc::SOL_SOCKET, libc::SO_ACCEPTCONN, (&mut accepting as *mut libc::c_int).cast(), &mut len)
  };
  status == 0 && accepting != 0
}

/// A reader of a pipe's read end (a worker's captured stdout or stderr), on the current tokio
/// runtime.
pub fn pipe_reader(fd: OwnedFd) -> io::Result<impl AsyncRead + Unpin> {
  tokio::net::unix::pipe::Receiver::from_owned_fd(fd)
}

/// Bytes waiting to be read from a pipe (0 if that cannot be told: the caller only waits on more).
pub fn unread_bytes(fd: RawFd) -> usize {
  let mut count: libc::c_int = 0;
  // SAFETY: FIONREAD writes one int through the pointer, which outlives the call.
  let result = unsafe { libc::ioctl(fd, libc::FIONREAD, &mut count) };
  if result == 0 {
    count.max(0) as usize
  } else {
    0
  }
}

/// The address of a symbol the process exports globally (Node exports libuv's), or null.
pub fn find_symbol(name: &CStr) -> *mut c_void {
  // SAFETY: dlsym only reads the NUL-terminated name.
  unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) }
}

/// `size` zeroed bytes of C memory (null if out of memory), for `free`.
pub fn alloc_zeroed(size: usize) -> *mut c_void {
  // SAFETY: calloc has no preconditions.
  unsafe { libc::calloc(1, size) }
}

/// # Safety
/// `memory` must come from `alloc_zeroed` and not be used again.
pub unsafe fn free(memory: *mut c_void) {
  // SAFETY: the caller's contract.
  unsafe { libc::free(memory) }
}
