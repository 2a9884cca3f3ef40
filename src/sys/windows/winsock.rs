//! Moving a socket between Windows processes: `WSADuplicateSocketW` writes, for one target
//! process, a `WSAPROTOCOL_INFOW` record that `WSASocketW(FROM_PROTOCOL_INFO)` there turns into
//! a `SOCKET` of its own (libuv's `uv_write2` does the same for a TCP handle on an IPC pipe).

use std::ffi::c_char;
use std::io;

/// A `SOCKET`: a kernel handle value (JS knows it as a number, as it knows a descriptor).
pub type Socket = usize;
const INVALID_SOCKET: Socket = !0;

/// `sizeof(WSAPROTOCOL_INFOW)`: 4 service flags, provider flags, a GUID, catalog id, a protocol
/// chain (1 + 7 DWORDs), 9 ints, message size, provider reserved, 256 UTF-16 units.
pub const PROTOCOL_INFO_LEN: usize = 628;

/// The record, as opaque bytes with the struct's (DWORD) alignment.
#[repr(C, align(4))]
#[derive(Clone, Copy)]
pub struct ProtocolInfo(pub [u8; PROTOCOL_INFO_LEN]);

const FROM_PROTOCOL_INFO: i32 = -1;
const WSA_FLAG_OVERLAPPED: u32 = 0x01;
/// Not inherited by the processes this one starts (libuv starts them inheriting handles).
const WSA_FLAG_NO_HANDLE_INHERIT: u32 = 0x80;
const SOL_SOCKET: i32 = 0xffff;
const SO_ACCEPTCONN: i32 = 0x0002;
const SO_TYPE: i32 = 0x1008;
const SOCK_STREAM: i32 = 1;

#[link(name = "ws2_32")]
extern "system" {
  fn WSADuplicateSocketW(socket: Socket, process: u32, info: *mut ProtocolInfo) -> i32;
  fn WSASocketW(af: i32, kind: i32, protocol: i32, info: *const ProtocolInfo, group: u32, flags: u32) -> Socket;
  fn closesocket(socket: Socket) -> i32;
  fn getsockopt(socket: Socket, level: i32, name: i32, value: *mut c_char, len: *mut i32) -> i32;
  fn WSAGetLastError() -> i32;
}

#[link(name = "kernel32")]
extern "system" {
  fn GetCurrentProcessId() -> u32;
}

fn last_error() -> io::Error {
  // SAFETY: no arguments; reads this thread's last Winsock error.
  io::Error::from_raw_os_error(unsafe { WSAGetLastError() })
}

/// The record that lets process `pid` open its own copy of `socket` (which stays ours).
pub fn duplicate_for(socket: Socket, pid: u32) -> io::Result<ProtocolInfo> {
  let mut info = ProtocolInfo([0; PROTOCOL_INFO_LEN]);
  // SAFETY: `info` is a whole WSAPROTOCOL_INFOW-sized, aligned buffer WSADuplicateSocketW fills.
  if unsafe { WSADuplicateSocketW(socket, pid, &mut info) } != 0 {
    return Err(last_error());
  }
  Ok(info)
}

/// This process's own `SOCKET` from a record made for it. The record came from another process
/// (a worker is not trusted), and it names a handle value in this process (the sender duplicated
/// its socket into us): a forged one can name any handle this process already holds - a server
/// or connection of its own (`held` says so), its output, one of libuv's own handles. So what it
/// opens is taken only if it is a stream socket nobody here holds; anything else is refused and
/// left open, as it may be ours (a forged record costs at most a handle, never one of ours).
pub fn open(info: &ProtocolInfo, held: &dyn Fn(Socket) -> bool) -> io::Result<Socket> {
  let socket = open_raw(info)?;
  if held(socket) {
    return Err(io::Error::new(io::ErrorKind::InvalidData, "the record names a socket this process already holds"));
  }
  if option(socket, SO_TYPE) != Some(SOCK_STREAM) {
    return Err(io::Error::new(io::ErrorKind::InvalidData, "the record names no stream socket"));
  }
  Ok(socket)
}

fn open_raw(info: &ProtocolInfo) -> io::Result<Socket> {
  let flags = WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT;
  // SAFETY: `info` is a whole record; WSASocketW only reads it.
  let socket = unsafe { WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, info, 0, flags) };
  if socket == INVALID_SOCKET {
    return Err(last_error());
  }
  Ok(socket)
}

/// A copy of `socket` owned by this process (the original stays its holder's). A record made
/// here for here names a new handle, ours to close if it is no stream socket.
pub fn copy(socket: Socket) -> io::Result<Socket> {
  // SAFETY: no arguments.
  let copy = open_raw(&duplicate_for(socket, unsafe { GetCurrentProcessId() })?)?;
  if option(copy, SO_TYPE) != Some(SOCK_STREAM) {
    close(copy);
    return Err(io::Error::new(io::ErrorKind::InvalidInput, "not a stream socket"));
  }
  Ok(copy)
}

pub fn close(socket: Socket) {
  // SAFETY: closes a socket this process owns, once (its owner's contract).
  unsafe { closesocket(socket) };
}

fn option(socket: Socket, name: i32) -> Option<i32> {
  let mut value: i32 = 0;
  let mut len = std::mem::size_of::<i32>() as i32;
  // SAFETY: getsockopt writes at most `len` bytes into the int it is given.
  let status = unsafe { getsockopt(socket, SOL_SOCKET, name, (&mut value as *mut i32).cast(), &mut len) };
  (status == 0).then_some(value)
}

pub fn is_listening(socket: Socket) -> bool {
  option(socket, SO_ACCEPTCONN).is_some_and(|on| on != 0)
}
