//! Passing file descriptors over a Unix socket with SCM_RIGHTS. Each message carries the
//! descriptors of exactly one frame, so sender and receiver stay in step by counting frames.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use super::{MSG_NO_SIGPIPE, MSG_RECV_CLOEXEC};

/// Most descriptors one frame may carry.
pub const MAX_HANDLES: usize = 64;

/// Sends `fds` as one message on `socket` without blocking (`WouldBlock` when the receiver's
/// queue is full). The receiver gets its own copies; ours stay open.
pub fn send_fds(socket: RawFd, fds: &[RawFd]) -> io::Result<()> {
  if fds.is_empty() || fds.len() > MAX_HANDLES {
    return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("a frame carries 1 to {MAX_HANDLES} handles")));
  }
  let mut byte = [0u8; 1];
  let mut iov = libc::iovec { iov_base: byte.as_mut_ptr().cast(), iov_len: 1 };
  let payload_len = std::mem::size_of_val(fds) as u32;
  // SAFETY: CMSG_SPACE only computes a size.
  let space = unsafe { libc::CMSG_SPACE(payload_len) } as usize;
  let mut control = vec![0u8; space];
  let msg = message(&mut iov, &mut control);
  // SAFETY: every pointer handed to sendmsg points into live buffers sized as the header says.
  unsafe {
    let cmsg = libc::CMSG_FIRSTHDR(&msg);
    (*cmsg).cmsg_level = libc::SOL_SOCKET;
    (*cmsg).cmsg_type = libc::SCM_RIGHTS;
    (*cmsg).cmsg_len = libc::CMSG_LEN(payload_len) as _;
    std::ptr::copy_nonoverlapping(fds.as_ptr(), libc::CMSG_DATA(cmsg).cast::<RawFd>(), fds.len());
    loop {
      if libc::sendmsg(socket, &msg, MSG_NO_SIGPIPE | libc::MSG_DONTWAIT) >= 0 {
        return Ok(());
      }
      let err = io::Error::last_os_error();
      if err.kind() != io::ErrorKind::Interrupted {
        return Err(err);
      }
    }
  }
}

/// Receives one message's descriptors (close-on-exec). Unless `wait`, `WouldBlock` when nothing
/// is queued.
pub fn recv_fds(socket: RawFd, wait: bool) -> io::Result<Vec<OwnedFd>> {
  let flags = MSG_RECV_CLOEXEC | if wait { 0 } else { libc::MSG_DONTWAIT };
  let mut byte = [0u8; 1];
  let mut iov = libc::iovec { iov_base: byte.as_mut_ptr().cast(), iov_len: 1 };
  // SAFETY: CMSG_SPACE only computes a size.
  let space = unsafe { libc::CMSG_SPACE((MAX_HANDLES * std::mem::size_of::<RawFd>()) as u32) } as usize;
  let mut control = vec![0u8; space];
  let mut msg = message(&mut iov, &mut control);
  // SAFETY: as in `send_fds`; descriptors the kernel installed are owned here exactly once.
  unsafe {
    let received = loop {
      let n = libc::recvmsg(socket, &mut msg, flags);
      if n >= 0 {
        break n;
      }
      let err = io::Error::last_os_error();
      if err.kind() != io::ErrorKind::Interrupted {
        return Err(err);
      }
    };
    if received == 0 {
      return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the handle channel is closed"));
    }
    let mut fds = Vec::new();
    let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
    while !cmsg.is_null() {
      if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
        let data_len = (*cmsg).cmsg_len as usize - libc::CMSG_LEN(0) as usize;
        let data = libc::CMSG_DATA(cmsg).cast::<RawFd>();
        for i in 0..data_len / std::mem::size_of::<RawFd>() {
          let fd = data.add(i).read_unaligned();
          if MSG_RECV_CLOEXEC == 0 {
            libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
          }
          fds.push(OwnedFd::from_raw_fd(fd));
        }
      }
      cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
    }
    if msg.msg_flags & libc::MSG_CTRUNC != 0 {
      return Err(io::Error::new(io::ErrorKind::InvalidData, "too many handles in one message"));
    }
    if fds.is_empty() {
      return Err(io::Error::new(io::ErrorKind::InvalidData, "a handle message carried no handles"));
    }
    Ok(fds)
  }
}

/// A message of the one byte in `iov`, with `control` as room for ancillary data.
fn message(iov: &mut libc::iovec, control: &mut [u8]) -> libc::msghdr {
  // SAFETY: an all-zero msghdr is valid (null pointers, zero lengths); the fields set below point
  // into buffers the caller keeps alive for as long as it uses the header.
  let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
  msg.msg_iov = iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.as_mut_ptr().cast();
  msg.msg_controllen = control.len() as _;
  msg
}

#[cfg(test)]
mod tests {
  use super::*;
  use std::io::{Read, Write};
  use std::os::fd::{AsRawFd, IntoRawFd};
  use std::os::unix::net::UnixDatagram;

  #[test]
  fn descriptors_arrive_usable_and_in_order() {
    let (a, b) = UnixDatagram::pair().unwrap();
    let (mut p1, q1) = std::os::unix::net::UnixStream::pair().unwrap();
    let (mut p2, q2) = std::os::unix::net::UnixStream::pair().unwrap();
    send_fds(a.as_raw_fd(), &[q1.as_raw_fd()]).unwrap();
    send_fds(a.as_raw_fd(), &[q2.as_raw_fd(), q1.as_raw_fd()]).unwrap();
    drop((q1, q2));
    let first = recv_fds(b.as_raw_fd(), true).unwrap();
    let second = recv_fds(b.as_raw_fd(), false).unwrap();
    assert_eq!((first.len(), second.len()), (1, 2));
    // SAFETY: each descriptor was just received and is owned by nothing else.
    let mut got1 =
      unsafe { std::os::unix::net::UnixStream::from_raw_fd(first.into_iter().next().unwrap().into_raw_fd()) };
    // SAFETY: as above.
    let mut got2 =
      unsafe { std::os::unix::net::UnixStream::from_raw_fd(second.into_iter().next().unwrap().into_raw_fd()) };
    p1.write_all(b"one").unwrap();
    p2.write_all(b"two").unwrap();
    let mut buf = [0u8; 3];
    got1.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"one");
    got2.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"two");
  }

  #[test]
  fn empty_queue_would_block_and_bad_counts_are_refused() {
    let (a, b) = UnixDatagram::pair().unwrap();
    assert_eq!(recv_fds(b.as_raw_fd(), false).unwrap_err().kind(), io::ErrorKind::WouldBlock);
    assert!(send_fds(a.as_raw_fd(), &[]).is_err());
  }
}
