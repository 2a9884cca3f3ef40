//! The libuv calls of the portable driver: worker processes started with `uv_spawn`, and pipes
//! read and written as libuv streams. Looked up at run time like the rest (uv.rs); requests,
//! like handles, are allocated at libuv's size for them.

use std::ffi::{c_char, c_int, c_void, CString};
use std::io;
use std::ptr;

use super::uv::{api, Handle, Kind, RawHandle, UvLoop};
use crate::sys::{self, UvBuf};

/// Any `uv_*_t` request. Its first field is libuv's public `void* data`.
pub type RawReq = *mut c_void;
pub type AllocCb = unsafe extern "C" fn(RawHandle, usize, *mut UvBuf);
pub type ReadCb = unsafe extern "C" fn(RawHandle, isize, *const UvBuf);
pub type WriteCb = unsafe extern "C" fn(RawReq, c_int);
pub type ExitCb = unsafe extern "C" fn(RawHandle, i64, c_int);

/// `uv_pipe_t`: a pipe (a socketpair on Unix, a named pipe on Windows) as a stream.
pub struct Pipe;
/// `uv_process_t`: a child started by `uv_spawn`; its exit callback reaps it.
pub struct Process;

impl Kind for Pipe {
  const TYPE: c_int = 7;
}
impl Kind for Process {
  const TYPE: c_int = 10;
}

/// `uv_req_type` values (stable across libuv 1.x).
const WRITE_REQ: c_int = 3;
const SHUTDOWN_REQ: c_int = 4;

/// `uv_stdio_flags`.
const STDIO_IGNORE: c_int = 0x00;
const STDIO_CREATE_PIPE: c_int = 0x01;
const STDIO_INHERIT_FD: c_int = 0x02;
const STDIO_READABLE_PIPE: c_int = 0x10;
const STDIO_WRITABLE_PIPE: c_int = 0x20;
/// The child's end is overlapped on Windows (a synchronous pipe serializes the worker's pending
/// read with its writes), non-blocking on Unix (as the worker sets it anyway).
const STDIO_OVERLAPPED_PIPE: c_int = 0x40;
/// `uv_process_flags`.
const PROCESS_DETACHED: u32 = 1 << 3;
const PROCESS_WINDOWS_HIDE: u32 = 1 << 4;

/// `uv_stdio_container_t`: the flags, then a union of a stream pointer and a descriptor number.
#[repr(C)]
struct StdioContainer {
  flags: c_int,
  data: *mut c_void,
}

/// `uv_process_options_t`. `uid` and `gid` are never read without the SETUID/SETGID flags,
/// which are not set: their width (smaller on Windows) does not matter past the end.
#[repr(C)]
pub struct SpawnOptions {
  exit_cb: Option<ExitCb>,
  file: *const c_char,
  args: *mut *mut c_char,
  env: *mut *mut c_char,
  cwd: *const c_char,
  flags: u32,
  stdio_count: c_int,
  stdio: *mut StdioContainer,
  uid: u32,
  gid: u32,
}

/// What one of the worker's descriptor numbers (0, 1, 2, ...) is.
pub enum Stdio<'a> {
  Ignore,
  /// A copy of the parent's descriptor with this number.
  Inherit(i32),
  /// A new pipe; the parent's end is `pipe` (initialized, not yet open).
  Pipe {
    pipe: &'a Handle<Pipe>,
    child_reads: bool,
    child_writes: bool,
  },
}

/// A program to start and how.
pub struct Command<'a> {
  pub program: &'a str,
  pub args: &'a [String],
  pub env: &'a [(String, String)],
  pub cwd: &'a str,
  /// Unix: a session and process group of its own (`setsid`).
  pub own_group: bool,
  pub stdio: &'a [Stdio<'a>],
}

fn c_string(text: &str) -> io::Result<CString> {
  CString::new(text).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL character in a spawn argument"))
}

/// Starts `command`; `exit` is called with the process handle (data: `data`) once it has
/// exited and been reaped. The handle comes back even when the start failed: it must be closed
/// either way (libuv initializes it before anything can fail).
pub fn spawn(
  uv_loop: *mut UvLoop,
  data: *mut c_void,
  command: &Command<'_>,
  exit: ExitCb,
) -> io::Result<(Handle<Process>, io::Result<u32>)> {
  let file = c_string(command.program)?;
  let args: Vec<CString> =
    std::iter::once(Ok(file.clone())).chain(command.args.iter().map(|a| c_string(a))).collect::<io::Result<_>>()?;
  let env: Vec<CString> = command.env.iter().map(|(k, v)| c_string(&format!("{k}={v}"))).collect::<io::Result<_>>()?;
  let cwd = c_string(command.cwd)?;
  let mut arg_ptrs: Vec<*mut c_char> = args.iter().map(|a| a.as_ptr().cast_mut()).chain([ptr::null_mut()]).collect();
  let mut env_ptrs: Vec<*mut c_char> = env.iter().map(|e| e.as_ptr().cast_mut()).chain([ptr::null_mut()]).collect();
  let mut stdio: Vec<StdioContainer> = command
    .stdio
    .iter()
    .map(|s| match s {
      Stdio::Ignore => StdioContainer { flags: STDIO_IGNORE, data: ptr::null_mut() },
      // The union's int member: the low bytes of the pointer-sized field (little-endian targets).
      Stdio::Inherit(fd) => StdioContainer { flags: STDIO_INHERIT_FD, data: *fd as isize as *mut c_void },
      Stdio::Pipe { pipe, child_reads, child_writes } => {
        let mut flags = STDIO_CREATE_PIPE | STDIO_OVERLAPPED_PIPE;
        if *child_reads {
          flags |= STDIO_READABLE_PIPE;
        }
        if *child_writes {
          flags |= STDIO_WRITABLE_PIPE;
        }
        StdioContainer { flags, data: pipe.raw() }
      }
    })
    .collect();
  let options = SpawnOptions {
    exit_cb: Some(exit),
    file: file.as_ptr(),
    args: arg_ptrs.as_mut_ptr(),
    env: env_ptrs.as_mut_ptr(),
    cwd: cwd.as_ptr(),
    flags: PROCESS_WINDOWS_HIDE | if command.own_group { PROCESS_DETACHED } else { 0 },
    stdio_count: stdio.len() as c_int,
    stdio: stdio.as_mut_ptr(),
    uid: 0,
    gid: 0,
  };
  let raw = Handle::<Process>::allocate(data);
  // SAFETY: every pointer in `options` points into the vectors and strings above, alive for
  // the call (libuv copies what it keeps); `raw` is fresh memory of the handle's size.
  let rc = unsafe { (api().spawn)(uv_loop, raw, &options) };
  let process = Handle::adopt(raw);
  if rc != 0 {
    return Ok((process, Err(uv_error(rc))));
  }
  // SAFETY: a process handle uv_spawn started.
  let pid = unsafe { (api().process_get_pid)(raw) };
  Ok((process, Ok(pid as u32)))
}

/// An error code libuv returned, as an io::Error saying what libuv says of it ("no such file or
/// directory (ENOENT)"). Not `from_raw_os_error(-rc)`: that holds on Unix only, where libuv's
/// codes are negated errnos; on Windows they are libuv's own (UV_ENOENT is -4058), which Windows
/// would describe as an unknown error.
pub fn uv_error(rc: c_int) -> io::Error {
  let text = |describe: unsafe extern "C" fn(c_int) -> *const std::ffi::c_char| {
    // SAFETY: libuv returns a NUL-terminated string for any code (a static one for its own).
    let text = unsafe { describe(rc) };
    if text.is_null() {
      return String::from("?");
    }
    // SAFETY: non-null, NUL-terminated, alive for the process.
    unsafe { std::ffi::CStr::from_ptr(text) }.to_string_lossy().into_owned()
  };
  io::Error::other(format!("{} ({})", text(api().strerror), text(api().err_name)))
}

impl Handle<Process> {
  /// Signals the process itself (libuv maps SIGTERM and SIGKILL to TerminateProcess on Windows).
  pub fn kill(&self, signal: c_int) {
    // SAFETY: a live process handle; an exited one answers ESRCH.
    unsafe { (api().process_kill)(self.raw(), signal) };
  }
}

impl Handle<Pipe> {
  /// A pipe handle for `uv_spawn` to open (not an IPC pipe: descriptors travel apart).
  pub fn pipe(uv_loop: *mut UvLoop, data: *mut c_void) -> io::Result<Self> {
    // SAFETY: a fresh handle, initialized once on the loop's thread.
    Self::init(data, |raw| unsafe { (api().pipe_init)(uv_loop, raw, 0) })
  }

  pub fn read_start(&self, alloc: AllocCb, read: ReadCb) -> io::Result<()> {
    // SAFETY: a live, open pipe.
    match unsafe { (api().read_start)(self.raw(), alloc, read) } {
      0 => Ok(()),
      rc => Err(uv_error(rc)),
    }
  }

  pub fn read_stop(&self) {
    // SAFETY: a live pipe.
    unsafe { (api().read_stop)(self.raw()) };
  }

  /// Writes what it can of `bufs` at once: the bytes written, or an error (EAGAIN when the
  /// pipe is full or writes are queued).
  pub fn try_write(&self, bufs: &[UvBuf]) -> Result<usize, c_int> {
    // SAFETY: a live, open pipe; the buffers point at memory alive for the call.
    let rc = unsafe { (api().try_write)(self.raw(), bufs.as_ptr(), bufs.len() as u32) };
    if rc < 0 {
      Err(rc)
    } else {
      Ok(rc as usize)
    }
  }

  /// Queues `bufs`; `done` gets the request (whose data is `data`) once they are written or
  /// failed, and must free it with `free_req`.
  ///
  /// # Safety
  /// The buffers' memory must stay alive and unchanged until `done` runs.
  pub unsafe fn write(&self, bufs: &[UvBuf], data: *mut c_void, done: WriteCb) -> io::Result<()> {
    let req = new_req(WRITE_REQ, data);
    // SAFETY: the caller's contract for the buffers; `req` is fresh memory of a write
    // request's size, which libuv owns until the callback.
    let rc = unsafe { (api().write)(req, self.raw(), bufs.as_ptr(), bufs.len() as u32, done) };
    if rc != 0 {
      // SAFETY: libuv refused it, so it holds no pointer to the request.
      unsafe { free_req(req) };
      return Err(uv_error(rc));
    }
    Ok(())
  }

  /// Closes the write side once queued writes are done; the other end reads end of file.
  pub fn shutdown(&self, data: *mut c_void, done: WriteCb) {
    let req = new_req(SHUTDOWN_REQ, data);
    // SAFETY: a live pipe and a fresh request, libuv's until the callback.
    if unsafe { (api().shutdown)(req, self.raw(), done) } != 0 {
      // SAFETY: refused, so libuv holds no pointer to it.
      unsafe { free_req(req) };
    }
  }

  /// What tells how much the pipe holds unread, while it is open (none before libuv opened it).
  pub fn gauge(&self) -> Option<sys::PipeGauge> {
    let mut fd = std::mem::MaybeUninit::<sys::UvOsFd>::zeroed();
    // SAFETY: a live pipe; libuv writes the descriptor through the pointer, alive for the call.
    let rc = unsafe { (api().fileno)(self.raw(), fd.as_mut_ptr()) };
    // SAFETY: written when libuv answered 0.
    (rc == 0).then(|| sys::PipeGauge::of_uv(unsafe { fd.assume_init() }))
  }

  /// Asks for `bytes` of socket buffer each way (Unix; a no-op on Windows pipes).
  pub fn set_buffer_sizes(&self, bytes: c_int) {
    let (mut send, mut receive) = (bytes, bytes);
    // SAFETY: a live, open pipe; the ints are read (non-zero: set).
    unsafe {
      (api().send_buffer_size)(self.raw(), &mut send);
      (api().recv_buffer_size)(self.raw(), &mut receive);
    }
  }
}

fn new_req(kind: c_int, data: *mut c_void) -> RawReq {
  // SAFETY: uv_req_size only reads its argument, a request type libuv knows.
  let req = sys::alloc_zeroed(unsafe { (api().req_size)(kind) });
  assert!(!req.is_null(), "out of memory allocating a libuv request");
  // SAFETY: zeroed memory of the request's size; `data` is its first field.
  unsafe { *(req as *mut *mut c_void) = data };
  req
}

/// The `data` a request was made with.
///
/// # Safety
/// `req` must be a request made here and not yet freed.
pub unsafe fn req_data(req: RawReq) -> *mut c_void {
  // SAFETY: the caller's contract; `data` is a request's first field.
  unsafe { *(req as *mut *mut c_void) }
}

/// # Safety
/// `req` must be a request made here, which libuv is done with.
pub unsafe fn free_req(req: RawReq) {
  // SAFETY: the caller's contract.
  unsafe { sys::free(req) }
}
