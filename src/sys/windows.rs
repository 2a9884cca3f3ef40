//! Windows, for the portable driver: libuv does the processes and pipes; what is left here is
//! finding libuv in node.exe, C memory, libuv's buffer layout, and saying what Windows lacks.
//! Descriptors for calls (sockets) do not travel yet: a call that carries one is refused.

use std::ffi::{c_char, c_void, CStr};
use std::io::{self, IoSlice};

use crate::core::{ExitSignal, Signal};

/// Most descriptors one frame may carry (none travel here, but the limit is checked first).
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

/// libuv's job object ends the workers with the parent; the channel's EOF does too.
pub fn die_with_parent(_parent: u32) -> bool {
  true
}

/// libuv passes a child only the handles it is given.
pub fn close_inherited(_first: i32) -> io::Result<usize> {
  Ok(0)
}

pub fn widen_socket(_fd: i32, _bytes: i32) {}

pub fn is_listening_socket(_fd: i32) -> bool {
  false
}

fn no_descriptors() -> io::Error {
  io::Error::new(io::ErrorKind::Unsupported, "sockets cannot be passed to workers on Windows yet")
}

pub fn worker_receive_handles(_channel: i32) -> io::Result<Vec<i32>> {
  Err(no_descriptors())
}

pub fn worker_send_handles(_channel: i32, _numbers: &[i32]) -> io::Result<()> {
  Err(no_descriptors())
}

/// A socket handed to a worker: refused here, so none is ever made.
#[derive(Debug)]
pub enum Descriptor {}

impl Descriptor {
  pub fn copy_of(_number: i32) -> io::Result<Descriptor> {
    Err(no_descriptors())
  }

  pub fn into_js(self) -> i32 {
    match self {}
  }

  pub fn number(&self) -> i32 {
    match *self {}
  }
}

/// No handle channel on Windows.
pub enum DescriptorSocket {}
pub enum InheritedEnd {}

pub fn descriptor_socket() -> io::Result<(DescriptorSocket, InheritedEnd)> {
  Err(no_descriptors())
}

impl DescriptorSocket {
  pub fn send_descriptors(&self, _descriptors: &[Descriptor]) -> io::Result<()> {
    match *self {}
  }

  pub fn receive_descriptors(&self) -> io::Result<Vec<Descriptor>> {
    match *self {}
  }
}

impl InheritedEnd {
  pub fn number(&self) -> i32 {
    match *self {}
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
