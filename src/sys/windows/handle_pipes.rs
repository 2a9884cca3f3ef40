//! A worker's handle channel on Windows: two anonymous pipes beside the frames' pipe, one each
//! way, that carry each frame's sockets as `WSAPROTOCOL_INFOW` records made for the receiving
//! process (`winsock.rs`). The worker inherits its read end at the handle number (4) and its
//! write end at the next (5). A message is a little-endian u32 count, then that many records;
//! it goes before the frame it belongs to, as descriptors do on Unix.
//!
//! The parent never blocks its loop on these pipes: it writes through a thread of its own (a
//! worker busy in synchronous code may leave a full pipe unread), and reads a worker's message
//! only once the pipe holds all of it (`PeekNamedPipe`), so a worker that announces sockets it
//! never sends makes its frame fail instead of the parent wait.

use std::cell::{Cell, OnceCell};
use std::ffi::{c_int, c_void, CStr};
use std::io;
use std::sync::mpsc::{channel, Sender};

use super::winsock::{self, ProtocolInfo, Socket, PROTOCOL_INFO_LEN};
use super::{find_symbol, Descriptor, MAX_HANDLES};

type Handle = *mut c_void;

/// Bytes each pipe is asked to hold: every socket of many frames in flight.
const PIPE_BUFFER: u32 = 1 << 20;

#[link(name = "kernel32")]
extern "system" {
  fn CreatePipe(read: *mut Handle, write: *mut Handle, attributes: *const c_void, size: u32) -> i32;
  fn ReadFile(file: Handle, buffer: *mut u8, len: u32, read: *mut u32, overlapped: *mut c_void) -> i32;
  fn WriteFile(file: Handle, buffer: *const u8, len: u32, written: *mut u32, overlapped: *mut c_void) -> i32;
  fn PeekNamedPipe(pipe: Handle, buffer: *mut u8, len: u32, read: *mut u32, available: *mut u32, left: *mut u32)
    -> i32;
  fn CloseHandle(handle: Handle) -> i32;
}

/// An OS handle this process owns.
struct Owned(Handle);
// SAFETY: a kernel handle may be used and closed from any thread.
unsafe impl Send for Owned {}

impl Drop for Owned {
  fn drop(&mut self) {
    // SAFETY: owned, closed once.
    unsafe { CloseHandle(self.0) };
  }
}

fn pipe() -> io::Result<(Owned, Owned)> {
  let (mut read, mut write) = (std::ptr::null_mut(), std::ptr::null_mut());
  // SAFETY: CreatePipe writes the two handles; no attributes: neither is inheritable.
  if unsafe { CreatePipe(&mut read, &mut write, std::ptr::null(), PIPE_BUFFER) } == 0 {
    return Err(io::Error::last_os_error());
  }
  Ok((Owned(read), Owned(write)))
}

fn write_all(handle: Handle, mut bytes: &[u8]) -> io::Result<()> {
  while !bytes.is_empty() {
    let mut written = 0;
    // SAFETY: writes from a live slice; a synchronous handle (no overlapped structure).
    if unsafe {
      WriteFile(handle, bytes.as_ptr(), bytes.len().min(u32::MAX as usize) as u32, &mut written, std::ptr::null_mut())
    } == 0
    {
      return Err(io::Error::last_os_error());
    }
    bytes = &bytes[written as usize..];
  }
  Ok(())
}

fn read_exact(handle: Handle, buf: &mut [u8]) -> io::Result<()> {
  let mut at = 0;
  while at < buf.len() {
    let mut read = 0;
    // SAFETY: reads into the live rest of `buf`; a synchronous handle.
    if unsafe { ReadFile(handle, buf[at..].as_mut_ptr(), (buf.len() - at) as u32, &mut read, std::ptr::null_mut()) }
      == 0
    {
      return Err(io::Error::last_os_error());
    }
    if read == 0 {
      return Err(io::ErrorKind::UnexpectedEof.into());
    }
    at += read as usize;
  }
  Ok(())
}

/// Bytes the pipe holds unread.
fn available(handle: Handle) -> io::Result<usize> {
  let mut available = 0;
  // SAFETY: only the count is asked for.
  let ok = unsafe {
    PeekNamedPipe(handle, std::ptr::null_mut(), 0, std::ptr::null_mut(), &mut available, std::ptr::null_mut())
  };
  if ok == 0 {
    return Err(io::Error::last_os_error());
  }
  Ok(available as usize)
}

/// One message: the count, then the records.
fn message(records: &[ProtocolInfo]) -> Vec<u8> {
  let mut bytes = Vec::with_capacity(4 + records.len() * PROTOCOL_INFO_LEN);
  bytes.extend_from_slice(&(records.len() as u32).to_le_bytes());
  for record in records {
    bytes.extend_from_slice(&record.0);
  }
  bytes
}

/// The sockets the records in `body` open; all or none. Every record is opened, one by one: a bad
/// one does not keep the good ones after it open (they were duplicated into this process).
/// `held` says which sockets this process already holds (see `winsock::open`); a record naming
/// one opened earlier in the same message counts too.
fn open_all(body: &[u8], held: &dyn Fn(Socket) -> bool) -> io::Result<Vec<Socket>> {
  let mut sockets = Vec::new();
  let mut refused = None;
  for record in records(body) {
    match winsock::open(&record, &|socket| sockets.contains(&socket) || held(socket)) {
      Ok(socket) => sockets.push(socket),
      Err(e) => refused = refused.or(Some(e)),
    }
  }
  match refused {
    None => Ok(sockets),
    Some(e) => {
      sockets.into_iter().for_each(winsock::close);
      Err(e)
    }
  }
}

/// The records of a message's body.
fn records(body: &[u8]) -> impl Iterator<Item = ProtocolInfo> + '_ {
  body.chunks_exact(PROTOCOL_INFO_LEN).map(|chunk| {
    let mut record = ProtocolInfo([0; PROTOCOL_INFO_LEN]);
    record.0.copy_from_slice(chunk);
    record
  })
}

fn bad(text: &str) -> io::Error {
  io::Error::new(io::ErrorKind::InvalidData, text.to_string())
}

fn check_count(count: usize) -> io::Result<usize> {
  if count > MAX_HANDLES {
    return Err(bad("a handle message announces more sockets than a frame may carry"));
  }
  Ok(count * PROTOCOL_INFO_LEN)
}

/// The parent's ends of one worker's handle pipes.
pub struct DescriptorSocket {
  /// The worker's pid, which each record is made for (known once it started).
  peer: Cell<u32>,
  /// The write end, until the writer thread takes it.
  to_worker: Cell<Option<Owned>>,
  writer: OnceCell<Sender<Vec<u8>>>,
  from_worker: Owned,
  /// Whether a socket is one the parent's event loop holds (`guard_with`).
  loop_holds: OnceCell<Box<dyn Fn(i32) -> bool>>,
}

/// The worker's ends as descriptor numbers of Node's C runtime (what `uv_spawn` inherits from),
/// closed once the worker has its copies.
pub struct InheritedEnd([c_int; 2]);

pub fn descriptor_socket() -> io::Result<(DescriptorSocket, InheritedEnd)> {
  let (worker_reads, to_worker) = pipe()?;
  let (from_worker, worker_writes) = pipe()?;
  let read = crt::open(worker_reads)?;
  let write = match crt::open(worker_writes) {
    Ok(fd) => fd,
    Err(e) => {
      crt::close(read);
      return Err(e);
    }
  };
  let ours = DescriptorSocket {
    peer: Cell::new(0),
    to_worker: Cell::new(Some(to_worker)),
    writer: OnceCell::new(),
    from_worker,
    loop_holds: OnceCell::new(),
  };
  Ok((ours, InheritedEnd([read, write])))
}

impl InheritedEnd {
  /// The numbers to hand `uv_spawn`, at the worker's handle number and the next.
  pub fn numbers(&self) -> Vec<i32> {
    self.0.to_vec()
  }
}

impl Drop for InheritedEnd {
  fn drop(&mut self) {
    self.0.iter().for_each(|&fd| crt::close(fd));
  }
}

impl DescriptorSocket {
  pub fn set_peer(&self, pid: u32) {
    self.peer.set(pid);
  }

  /// `loop_holds` tells the sockets of the parent's event loop (by the number JS knows them by):
  /// a record the worker sends naming one of them is refused, never taken or closed.
  pub fn guard_with(&self, loop_holds: Box<dyn Fn(i32) -> bool>) {
    let _ = self.loop_holds.set(loop_holds);
  }

  /// Whether this process already holds `socket`: the event loop's handles, or a socket the
  /// addon owns (`Descriptor`).
  fn holds(&self, socket: Socket) -> bool {
    super::descriptor_held(socket)
      || i32::try_from(socket).is_ok_and(|number| self.loop_holds.get().is_some_and(|holds| holds(number)))
  }

  /// As `Channel::send_descriptors`: records for the worker go to the writer thread (started on
  /// the first message), which writes them in order. An error: the worker is gone.
  pub fn send_descriptors(&self, descriptors: &[Descriptor]) -> io::Result<()> {
    let records = descriptors
      .iter()
      .map(|d| winsock::duplicate_for(d.socket(), self.peer.get()))
      .collect::<io::Result<Vec<_>>>()?;
    let writer = self.writer.get_or_init(|| {
      let (send, receive) = channel::<Vec<u8>>();
      let pipe = self.to_worker.take();
      std::thread::spawn(move || {
        let Some(pipe) = pipe else { return };
        // Ends when the channel is dropped (the worker's channel closed) or the worker is gone.
        while let Ok(bytes) = receive.recv() {
          if write_all(pipe.0, &bytes).is_err() {
            return;
          }
        }
      });
      send
    });
    writer.send(message(&records)).map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))
  }

  /// As `Channel::receive_descriptors`: the message the worker wrote before the frame at hand,
  /// which must be in the pipe whole already.
  pub fn receive_descriptors(&self) -> io::Result<Vec<Descriptor>> {
    let pipe = self.from_worker.0;
    let missing = || bad("a frame announced sockets the worker did not send");
    if available(pipe)? < 4 {
      return Err(missing());
    }
    let mut count = [0; 4];
    read_exact(pipe, &mut count)?;
    let len = check_count(u32::from_le_bytes(count) as usize)?;
    if available(pipe)? < len {
      return Err(missing());
    }
    let mut body = vec![0; len];
    read_exact(pipe, &mut body)?;
    Ok(open_all(&body, &|socket| self.holds(socket))?.into_iter().map(Descriptor::own).collect())
  }
}

impl Drop for DescriptorSocket {
  /// A record made for this process already holds a handle here (the sender duplicated it into
  /// us): messages nobody read (a worker that died between a message and its frame) are opened
  /// and closed, or their connections would stay open for as long as the parent lives.
  fn drop(&mut self) {
    let pipe = self.from_worker.0;
    let mut count = [0; 4];
    while available(pipe).unwrap_or(0) >= 4 && read_exact(pipe, &mut count).is_ok() {
      let Ok(len) = check_count(u32::from_le_bytes(count) as usize) else { return };
      let mut body = vec![0; len];
      if available(pipe).unwrap_or(0) < len || read_exact(pipe, &mut body).is_err() {
        return;
      }
      // One by one: a bad record does not keep the good ones after it open; a record naming a
      // socket the parent holds is left alone.
      let _ = open_all(&body, &|socket| self.holds(socket)).map(|sockets| sockets.into_iter().for_each(winsock::close));
    }
  }
}

/// Worker side: the sockets of the next message from the parent, waiting for it; JS owns them.
pub fn worker_receive(channel: i32) -> io::Result<Vec<Socket>> {
  let pipe = crt::os_handle(channel)?;
  let mut count = [0; 4];
  read_exact(pipe, &mut count)?;
  let mut body = vec![0; check_count(u32::from_le_bytes(count) as usize)?];
  read_exact(pipe, &mut body)?;
  // The parent, which made these records, is trusted.
  open_all(&body, &|_| false)
}

/// Worker side: records of `sockets` for `parent`, as one message ahead of their frame.
pub fn worker_send(channel: i32, sockets: &[Socket], parent: u32) -> io::Result<()> {
  let records = sockets.iter().map(|&s| winsock::duplicate_for(s, parent)).collect::<io::Result<Vec<_>>>()?;
  write_all(crt::os_handle(channel + 1)?, &message(&records))
}

/// Node's C runtime, through the libuv functions node.exe exports: its descriptor numbers are
/// what `uv_spawn` passes on, and this addon's own runtime has another table of them.
mod crt {
  use super::*;

  fn symbol(name: &CStr) -> io::Result<*mut c_void> {
    let found = find_symbol(name);
    if found.is_null() {
      return Err(io::Error::new(
        io::ErrorKind::Unsupported,
        format!("node.exe exports no {}", name.to_string_lossy()),
      ));
    }
    Ok(found)
  }

  /// A descriptor number that now owns `handle`.
  pub(super) fn open(handle: Owned) -> io::Result<c_int> {
    // SAFETY: uv_open_osfhandle's signature.
    let open: unsafe extern "C" fn(Handle) -> c_int = unsafe { std::mem::transmute(symbol(c"uv_open_osfhandle")?) };
    // SAFETY: a live handle; the runtime owns it from here (closed with its number).
    let fd = unsafe { open(handle.0) };
    if fd < 0 {
      return Err(io::Error::other("could not give a pipe a descriptor number"));
    }
    std::mem::forget(handle);
    Ok(fd)
  }

  /// The handle behind descriptor `fd` (still the runtime's).
  pub(super) fn os_handle(fd: c_int) -> io::Result<Handle> {
    // SAFETY: uv_get_osfhandle's signature.
    let get: unsafe extern "C" fn(c_int) -> Handle = unsafe { std::mem::transmute(symbol(c"uv_get_osfhandle")?) };
    // SAFETY: only looks the number up.
    let handle = unsafe { get(fd) };
    if handle.is_null() || handle as isize == -1 {
      return Err(io::Error::new(io::ErrorKind::NotFound, format!("descriptor {fd} is not open")));
    }
    Ok(handle)
  }

  /// Closes descriptor `fd` (and its handle): `uv_fs_close` without a callback runs at once.
  pub(super) fn close(fd: c_int) {
    let (Ok(req_size), Ok(close), Ok(cleanup), Ok(default_loop)) =
      (symbol(c"uv_req_size"), symbol(c"uv_fs_close"), symbol(c"uv_fs_req_cleanup"), symbol(c"uv_default_loop"))
    else {
      return;
    };
    // SAFETY: the signatures of these libuv functions; UV_FS is request type 6.
    unsafe {
      let req_size: unsafe extern "C" fn(c_int) -> usize = std::mem::transmute(req_size);
      let close: unsafe extern "C" fn(*mut c_void, *mut c_void, c_int, *const c_void) -> c_int =
        std::mem::transmute(close);
      let cleanup: unsafe extern "C" fn(*mut c_void) = std::mem::transmute(cleanup);
      let default_loop: unsafe extern "C" fn() -> *mut c_void = std::mem::transmute(default_loop);
      let req = super::super::alloc_zeroed(req_size(6));
      if req.is_null() {
        return;
      }
      close(default_loop(), req, fd, std::ptr::null());
      cleanup(req);
      super::super::free(req);
    }
  }
}
