//! What POSIX systems share: descriptors, sockets, signals, the dynamic linker, C memory.

use std::ffi::{c_void, CStr};
use std::io::{self, IoSlice};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use crate::core::Signal;

mod channel;
mod descriptor;
mod descriptor_socket;
mod exit_signal;
mod fdpass;
mod worker_guard;

pub use channel::Channel;
pub use descriptor::Descriptor;
pub use descriptor_socket::{descriptor_socket, DescriptorSocket, InheritedEnd};
pub use exit_signal::exit_signal;
pub use fdpass::MAX_HANDLES;
pub use worker_guard::{close_inherited, die_with_parent, lead_own_group, widen_socket};

/// A worker's captured stdout or stderr, read on the I/O thread's tokio runtime.
pub type OutputPipe = tokio::net::unix::pipe::Receiver;

/// Send flag: a peer that is gone is EPIPE, not SIGPIPE. macOS has no such flag: Node ignores
/// SIGPIPE there as everywhere, so the write fails with EPIPE all the same.
#[cfg(target_os = "linux")]
pub const MSG_NO_SIGPIPE: libc::c_int = libc::MSG_NOSIGNAL;
#[cfg(not(target_os = "linux"))]
pub const MSG_NO_SIGPIPE: libc::c_int = 0;
/// Receive flag: descriptors arrive close-on-exec (elsewhere `recv_fds` sets the flag after).
#[cfg(target_os = "linux")]
pub const MSG_RECV_CLOEXEC: libc::c_int = libc::MSG_CMSG_CLOEXEC;
#[cfg(not(target_os = "linux"))]
pub const MSG_RECV_CLOEXEC: libc::c_int = 0;

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

/// Whether a worker started by libuv leads a process group (it makes itself one), so that
/// `kill_group` reaches what it started.
pub const WORKERS_LEAD_GROUPS: bool = true;

/// None: an aborting Node raises SIGABRT here, which the exit status shows as that signal.
pub const ABORT_EXIT_CODE: Option<i64> = None;

/// The number libuv takes for `signal` (libuv maps both to TerminateProcess on Windows).
pub fn signal_number(signal: Signal) -> i32 {
  match signal {
    Signal::Term => libc::SIGTERM,
    Signal::Kill => libc::SIGKILL,
  }
}

/// Signals the process group `pid` leads. SIGCONT follows SIGTERM, which a stopped process would
/// otherwise leave pending. Until `pid` is reaped, its pid (the group's id) cannot be reused; after,
/// not while the group has members either (a process it started holding its pipes), so the
/// drivers signal a worker's group until its exit is reported, soon after it was reaped.
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

/// Reaps, on a thread of their own, children no libuv loop waits for any more (their process
/// handles closed with a loop that went away, a worker thread's): each was sent SIGKILL, so the
/// waits are short, and none of them is left a zombie for as long as the process lives.
pub fn reap_in_background(pids: Vec<u32>) {
  if pids.is_empty() {
    return;
  }
  let reap = move || {
    for pid in pids {
      let mut status = 0;
      // SAFETY: waits for a child of this process that nothing else waits for.
      while unsafe { libc::waitpid(pid as libc::pid_t, &mut status, 0) } == -1
        && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted
      {}
    }
  };
  // A thread that cannot be made leaves the zombies, as before: nothing else is at stake.
  let _ = std::thread::Builder::new().name("invoke-parallel-reaper".into()).spawn(reap);
}

/// Worker side: the descriptors of the next handle message on the handle channel JS knows by
/// `channel` (the worker's fd 4), waiting for one; JS owns them from now on.
pub fn worker_receive_handles(channel: i32) -> io::Result<Vec<i32>> {
  Ok(fdpass::recv_fds(channel, true)?.into_iter().map(std::os::fd::IntoRawFd::into_raw_fd).collect())
}

/// Worker side: sends the descriptors JS knows by `numbers` as one handle message on `channel`
/// (`WouldBlock` when the parent's queue is full).
pub fn worker_send_handles(channel: i32, numbers: &[i32]) -> io::Result<()> {
  fdpass::send_fds(channel, numbers)
}

/// Whether the descriptor JS knows by `fd` is a socket listening for connections.
pub fn is_listening_socket(fd: RawFd) -> bool {
  let mut accepting: libc::c_int = 0;
  let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
  // SAFETY: getsockopt writes at most `len` bytes into the int it is given.
  let status = unsafe {
    libc::getsockopt(fd, libc::SOL_SOCKET, libc::SO_ACCEPTCONN, (&mut accepting as *mut libc::c_int).cast(), &mut len)
  };
  status == 0 && accepting != 0
}

/// Nothing to cancel: libuv on Unix reads only while JS reads (`uv_read_stop` stops polling).
///
/// # Safety
/// None needed here; the Windows version reads the handle.
pub unsafe fn cancel_pending_read(_tcp: *mut std::ffi::c_void, _socket: i32) -> bool {
  true
}

/// Closes a descriptor JS was handed and will not use.
pub fn close_descriptor(fd: RawFd) {
  // SAFETY: JS owned the descriptor and gives it up here.
  unsafe { libc::close(fd) };
}

/// A `sockaddr` libuv wrote, as an address (IPv4 or IPv6; nothing else is TCP).
pub fn socket_address(raw: &[u8]) -> Option<std::net::SocketAddr> {
  use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
  if raw.len() < std::mem::size_of::<libc::sockaddr_in6>() {
    return None;
  }
  // SAFETY: at least a sockaddr_in6's bytes, read unaligned as the family's struct.
  unsafe {
    match (*(raw.as_ptr() as *const libc::sockaddr)).sa_family as libc::c_int {
      libc::AF_INET => {
        let v4 = std::ptr::read_unaligned(raw.as_ptr() as *const libc::sockaddr_in);
        Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::from(u32::from_be(v4.sin_addr.s_addr))), u16::from_be(v4.sin_port)))
      }
      libc::AF_INET6 => {
        let v6 = std::ptr::read_unaligned(raw.as_ptr() as *const libc::sockaddr_in6);
        Some(SocketAddr::new(IpAddr::V6(Ipv6Addr::from(v6.sin6_addr.s6_addr)), u16::from_be(v6.sin6_port)))
      }
      _ => None,
    }
  }
}

/// The descriptor behind a TCP handle's `uv_fileno`, as JS knows it.
pub fn socket_number(fd: UvOsFd) -> Option<i32> {
  Some(fd)
}

/// How much a captured output pipe holds unread, asked from the JS thread while the I/O thread
/// reads the pipe. It names the pipe's descriptor without owning it: its holder drops it before
/// the pipe is closed, so a number reused for another descriptor is never asked.
#[derive(Clone, Copy)]
pub struct PipeGauge(RawFd);

/// A descriptor as libuv's `uv_fileno` gives it (`uv_os_fd_t`).
pub type UvOsFd = RawFd;

impl PipeGauge {
  pub fn of(pipe: &OutputPipe) -> Self {
    PipeGauge(pipe.as_raw_fd())
  }

  /// Of a pipe libuv reads (`uv_fileno` of its handle).
  pub fn of_uv(fd: UvOsFd) -> Self {
    PipeGauge(fd)
  }

  /// Bytes waiting to be read (0 if that cannot be told: the caller only waits on more).
  pub fn unread(&self) -> usize {
    let mut count: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int through the pointer, which outlives the call.
    let result = unsafe { libc::ioctl(self.0, libc::FIONREAD, &mut count) };
    if result == 0 {
      count.max(0) as usize
    } else {
      0
    }
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

/// libuv's `uv_buf_t`, whose layout is the OS's: `{ base, len }` on Unix (Windows has
/// `{ ULONG len, base }`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct UvBuf {
  base: *mut u8,
  len: usize,
}

impl UvBuf {
  pub fn new(base: *const u8, len: usize) -> UvBuf {
    UvBuf { base: base.cast_mut(), len }
  }

  pub fn base(&self) -> *mut u8 {
    self.base
  }

  pub fn len(&self) -> usize {
    self.len
  }

  pub fn is_empty(&self) -> bool {
    self.len == 0
  }
}
