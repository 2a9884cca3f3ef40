//! Windows, for the portable driver: libuv does the processes and pipes; what is left here is
//! finding libuv in node.exe, C memory, libuv's buffer layout, sockets for calls (`winsock.rs`
//! moves them, `handle_pipes.rs` carries them), and saying what Windows lacks.

use std::ffi::{c_char, c_void, CStr};
use std::io::{self, IoSlice};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::OnceLock;

#[path = "windows/handle_pipes.rs"]
mod handle_pipes;
#[path = "windows/winsock.rs"]
mod winsock;

pub use handle_pipes::{descriptor_socket, DescriptorSocket, InheritedEnd};
use winsock::Socket;

use crate::core::{ExitSignal, Signal};

/// Most sockets one frame may carry.
pub const MAX_HANDLES: usize = 64;
/// No process groups: a forced close ends the worker itself (and libuv's job object ends the
/// workers, not what they started, when the parent goes).
pub const WORKERS_LEAD_GROUPS: bool = false;

/// The exit code of a Node that aborted: Node on Windows aborts with `_exit(134)` (128 + SIGABRT,
/// as a shell reports an abort), V8 out of heap among its reasons; there is no signal to see.
pub const ABORT_EXIT_CODE: Option<i64> = Some(134);

#[link(name = "kernel32")]
extern "system" {
  fn GetModuleHandleW(name: *const u16) -> *mut c_void;
  fn GetProcAddress(module: *mut c_void, name: *const c_char) -> *mut c_void;
}

/// A function node.exe exports (it exports libuv's), or null.
pub fn find_symbol(name: &CStr) -> *mut c_void {
  // SAFETY: a null name is the executable's own module handle, which needs no release;
  // GetProcAddress only reads the NUL-terminated name.
  unsafe { GetProcAddress(GetModuleHandleW(std::ptr::null()), name.as_ptr()) }
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

/// libuv's `uv_buf_t` on Windows: `{ ULONG len, char* base }` (WSABUF's layout).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct UvBuf {
  len: u32,
  base: *mut u8,
}

impl UvBuf {
  pub fn new(base: *const u8, len: usize) -> UvBuf {
    UvBuf { len: len.min(u32::MAX as usize) as u32, base: base.cast_mut() }
  }

  pub fn base(&self) -> *mut u8 {
    self.base
  }

  pub fn len(&self) -> usize {
    self.len as usize
  }

  pub fn is_empty(&self) -> bool {
    self.len == 0
  }
}

/// libuv takes these numbers on Windows too (both end the process with TerminateProcess).
pub fn signal_number(signal: Signal) -> i32 {
  match signal {
    Signal::Term => 15,
    Signal::Kill => 9,
  }
}

/// The signal libuv reports for a process it terminated (none otherwise: exit codes only).
/// A `sockaddr` libuv wrote (Windows' layout: AF_INET 2, AF_INET6 23), as an address.
pub fn socket_address(raw: &[u8]) -> Option<SocketAddr> {
  let family = u16::from_le_bytes([*raw.first()?, *raw.get(1)?]);
  let port = u16::from_be_bytes([*raw.get(2)?, *raw.get(3)?]);
  match family {
    2 => Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(raw.get(4..8)?).ok()?)), port)),
    23 => Some(SocketAddr::new(IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(raw.get(8..24)?).ok()?)), port)),
    _ => None,
  }
}

/// The socket behind a TCP handle's `uv_fileno`, as JS knows it.
pub fn socket_number(fd: UvOsFd) -> Option<i32> {
  i32::try_from(fd as usize).ok()
}

pub fn exit_signal(signal: i32) -> ExitSignal {
  let name = match signal {
    15 => "SIGTERM",
    9 => "SIGKILL",
    _ => return ExitSignal::Other(format!("signal {signal}").into()),
  };
  ExitSignal::Other(name.into())
}

/// No process groups to signal: the worker itself is signalled through libuv.
pub fn kill_group(_pid: u32, _signal: Signal) {}

/// No zombies: a process's handle, closed with its libuv handle, is all there is to release.
pub fn reap_in_background(_pids: Vec<u32>) {}

/// Nothing to lead (see `WORKERS_LEAD_GROUPS`).
pub fn lead_own_group() {}

/// libuv's job object ends the workers with the parent; the channel's EOF does too. The parent
/// is remembered: a worker's sockets are duplicated for it.
pub fn die_with_parent(parent: u32) -> bool {
  let _ = PARENT.set(parent);
  true
}

/// libuv passes a child only the handles it is given.
pub fn close_inherited(_first: i32) -> io::Result<usize> {
  Ok(0)
}

pub fn widen_socket(_fd: i32, _bytes: i32) {}

/// Whether the socket JS knows by `fd` is listening for connections.
pub fn is_listening_socket(fd: i32) -> bool {
  winsock::is_listening(fd as Socket)
}

/// Where a `uv_tcp_t`'s read request sits (libuv 1.x's ABI on 64-bit Windows, stable across
/// 1.x): 96 bytes of handle fields, write_queue_size, alloc_cb, read_cb, reqs_pending and
/// activecnt bring `read_req` to 128; its `type` is at +8 and its OVERLAPPED at +64.
const READ_REQ_TYPE_AT: usize = 128 + 8;
const READ_OVERLAPPED_AT: usize = 128 + 64;
/// `UV_READ` in `uv_req_type`: the 11 public types (UV_RANDOM the last), then UV_ACCEPT,
/// UV_FS_EVENT_REQ, UV_POLL_REQ, UV_PROCESS_EXIT.
const UV_READ: i32 = 15;

#[link(name = "kernel32")]
extern "system" {
  fn CancelIoEx(file: *mut c_void, overlapped: *mut c_void) -> i32;
}

/// Cancels the zero-byte read libuv keeps pending on a TCP connection it read from, after JS
/// stopped reading it (`uv_read_stop` on Windows leaves that read in place). A socket kept by a
/// process that sent a copy away must have none: the copies share one socket, and wine wakes only
/// the first read waiting on it (its server's `async_wake_up`), so the receiver's read could wait
/// for ever behind a read nobody will take. libuv ignores a cancelled zero-byte read it no
/// longer reads for; only that request is cancelled, never a pending write.
///
/// False if the handle's read request is not where libuv 1.x keeps it (then nothing is touched).
///
/// # Safety
/// `tcp` is a live, connected `uv_tcp_t` of this thread's loop whose socket is `socket`.
pub unsafe fn cancel_pending_read(tcp: *mut c_void, socket: i32) -> bool {
  let base = tcp as *mut u8;
  // SAFETY (caller): a uv_tcp_t is larger than these offsets. Its read request's type says
  // whether the layout is the one assumed; if not, nothing is touched.
  unsafe {
    if std::ptr::read_unaligned(base.add(READ_REQ_TYPE_AT) as *const i32) != UV_READ {
      return false;
    }
    // ERROR_NOT_FOUND when no read is pending: nothing to do.
    CancelIoEx(socket as usize as *mut c_void, base.add(READ_OVERLAPPED_AT).cast());
  }
  true
}

/// Closes a socket JS was handed and will not use.
pub fn close_descriptor(fd: i32) {
  winsock::close(fd as Socket);
}

/// The parent a worker's sockets are duplicated for: named by `die_with_parent` (its guard).
static PARENT: OnceLock<u32> = OnceLock::new();

/// Worker side: the sockets of the next handle message from the parent (JS owns them).
pub fn worker_receive_handles(channel: i32) -> io::Result<Vec<i32>> {
  handle_pipes::worker_receive(channel)?.into_iter().map(js_number).collect()
}

/// Worker side: sends the sockets JS knows by `numbers` to the parent as one handle message.
pub fn worker_send_handles(channel: i32, numbers: &[i32]) -> io::Result<()> {
  let Some(&parent) = PARENT.get() else {
    return Err(io::Error::new(
      io::ErrorKind::Unsupported,
      "this worker does not know its parent (no INVOKE_PARALLEL_PARENT)",
    ));
  };
  let sockets: Vec<Socket> = numbers.iter().map(|&n| n as Socket).collect();
  handle_pipes::worker_send(channel, &sockets, parent)
}

/// A `SOCKET` as the number JS knows it by: handle values are small, but a number that would not
/// survive the trip is refused (and closed) rather than cut short.
fn js_number(socket: Socket) -> io::Result<i32> {
  i32::try_from(socket).map_err(|_| {
    winsock::close(socket);
    io::Error::other(format!("socket handle {socket} is too large to hand to JS"))
  })
}

/// A socket this process owns: our own copy of one a call carries (closed when dropped), or one
/// a worker sent.
#[derive(Debug)]
pub struct Descriptor(Socket);

/// The sockets live `Descriptor`s own: a record a worker sends must not name one of them.
static DESCRIPTORS: std::sync::Mutex<Vec<Socket>> = std::sync::Mutex::new(Vec::new());

fn descriptors() -> std::sync::MutexGuard<'static, Vec<Socket>> {
  DESCRIPTORS.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Whether a live `Descriptor` owns `socket`.
fn descriptor_held(socket: Socket) -> bool {
  descriptors().contains(&socket)
}

impl Descriptor {
  fn owning(socket: Socket) -> Descriptor {
    descriptors().push(socket);
    Descriptor(socket)
  }

  /// No longer ours (closed, or JS's).
  fn release(&self) {
    let mut held = descriptors();
    if let Some(at) = held.iter().position(|&s| s == self.0) {
      held.swap_remove(at);
    }
  }
}

impl Descriptor {
  /// Our own copy of the socket JS knows by `number` (the caller's stays the caller's).
  pub fn copy_of(number: i32) -> io::Result<Descriptor> {
    if number < 0 {
      return Err(io::Error::new(io::ErrorKind::InvalidInput, "no socket"));
    }
    winsock::copy(number as Socket).map(Descriptor::owning)
  }

  pub(crate) fn own(socket: Socket) -> Descriptor {
    Descriptor::owning(socket)
  }

  pub(crate) fn socket(&self) -> Socket {
    self.0
  }

  /// Hands the socket to JS, which owns it from now on.
  pub fn into_js(self) -> i32 {
    let socket = self.0;
    self.release();
    std::mem::forget(self);
    js_number(socket).unwrap_or(-1)
  }

  pub fn number(&self) -> i32 {
    self.0 as i32
  }
}

impl Drop for Descriptor {
  fn drop(&mut self) {
    self.release();
    winsock::close(self.0);
  }
}

/// The Linux driver's channel: never made here.
pub enum Channel {}

impl Channel {
  pub fn set_nonblocking(&self) -> io::Result<()> {
    match *self {}
  }
  pub fn poll_source(&self) -> i32 {
    match *self {}
  }
  pub fn read_into(&self, _buf: &mut Vec<u8>) -> io::Result<usize> {
    match *self {}
  }
  pub fn write_gathered(&self, _parts: &[IoSlice<'_>]) -> io::Result<usize> {
    match *self {}
  }
  pub fn send_descriptors(&self, _descriptors: &[Descriptor]) -> io::Result<()> {
    match *self {}
  }
  pub fn receive_descriptors(&self) -> io::Result<Vec<Descriptor>> {
    match *self {}
  }
  pub fn shutdown_write(&self) {
    match *self {}
  }
}

/// The Linux driver's captured output: never made here.
pub type OutputPipe = tokio::io::Empty;

/// How much a captured output pipe holds unread: not asked on Windows (0: the caller only waits
/// on what it has seen read).
#[derive(Clone, Copy)]
pub struct PipeGauge;

/// A handle as libuv's `uv_fileno` gives it (`uv_os_fd_t`).
pub type UvOsFd = *mut c_void;

impl PipeGauge {
  pub fn of(_pipe: &OutputPipe) -> Self {
    PipeGauge
  }

  pub fn of_uv(_fd: UvOsFd) -> Self {
    PipeGauge
  }

  pub fn unread(&self) -> usize {
    0
  }
}
