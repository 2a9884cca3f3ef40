//! Between fork and exec: every descriptor a worker should not hold is marked close-on-exec, so
//! descriptors the parent has without the flag (a shell's `exec 40<>file`, a library's socket)
//! never reach a worker. Only async-signal-safe system calls, no allocation: this runs in the
//! forked child of a multi-threaded process.

use std::io;

/// Marks every descriptor from `first` up close-on-exec (closing them would also close the pipe
/// the standard library uses to report a failed exec, which is already close-on-exec).
pub fn cloexec_from(first: i32) -> io::Result<()> {
  // SAFETY: close_range takes plain integers; with CLOSE_RANGE_CLOEXEC it closes nothing.
  let rc = unsafe {
    libc::syscall(libc::SYS_close_range, first as libc::c_uint, libc::c_uint::MAX, libc::CLOSE_RANGE_CLOEXEC)
  };
  if rc == 0 {
    return Ok(());
  }
  // Kernels before 5.11: walk the descriptors the process has, else every number it may have.
  match cloexec_listed(first) {
    Ok(()) => Ok(()),
    Err(_) => cloexec_up_to_limit(first),
  }
}

/// Walks /proc/self/fd with getdents64 into a stack buffer (readdir would allocate).
fn cloexec_listed(first: i32) -> io::Result<()> {
  // SAFETY: the path is a NUL-terminated literal.
  let dir = unsafe { libc::open(c"/proc/self/fd".as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC) };
  if dir < 0 {
    return Err(io::Error::last_os_error());
  }
  let mut buffer = [0u64; 512];
  let result = loop {
    // SAFETY: getdents64 writes at most the buffer's length of records into it.
    let n = unsafe { libc::syscall(libc::SYS_getdents64, dir, buffer.as_mut_ptr(), std::mem::size_of_val(&buffer)) };
    if n < 0 {
      break Err(io::Error::last_os_error());
    }
    if n == 0 {
      break Ok(());
    }
    // SAFETY: the kernel filled the first `n` bytes.
    let bytes = unsafe { std::slice::from_raw_parts(buffer.as_ptr().cast::<u8>(), n as usize) };
    let mut at = 0;
    // A linux_dirent64: inode (8 bytes), offset (8), record length (2), type (1), name.
    while at + 19 < bytes.len() {
      let length = u16::from_ne_bytes([bytes[at + 16], bytes[at + 17]]) as usize;
      if length == 0 {
        break;
      }
      if let Some(fd) = descriptor_number(&bytes[at + 19..(at + length).min(bytes.len())]) {
        if fd >= first && fd != dir {
          set_cloexec(fd);
        }
      }
      at += length;
    }
  };
  // SAFETY: `dir` was opened above.
  unsafe { libc::close(dir) };
  result
}

/// The number a /proc/self/fd entry's NUL-terminated name spells ("." and ".." are none).
fn descriptor_number(name: &[u8]) -> Option<i32> {
  let mut value: i32 = 0;
  let mut digits = 0;
  for &byte in name.iter().take_while(|&&b| b != 0) {
    if !byte.is_ascii_digit() {
      return None;
    }
    value = value.checked_mul(10)?.checked_add((byte - b'0') as i32)?;
    digits += 1;
  }
  (digits > 0).then_some(value)
}

fn cloexec_up_to_limit(first: i32) -> io::Result<()> {
  let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
  // SAFETY: `limit` is a valid out-parameter.
  if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } < 0 {
    return Err(io::Error::last_os_error());
  }
  let last = limit.rlim_cur.min(i32::MAX as libc::rlim_t) as i32;
  for fd in first..last {
    set_cloexec(fd);
  }
  Ok(())
}

fn set_cloexec(fd: i32) {
  // SAFETY: fcntl on a descriptor number has no memory-safety requirements; a number that is not
  // open just fails.
  unsafe {
    let flags = libc::fcntl(fd, libc::F_GETFD);
    if flags >= 0 && flags & libc::FD_CLOEXEC == 0 {
      libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC);
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn reads_descriptor_numbers_from_proc_names() {
    assert_eq!(descriptor_number(b"40\0\0"), Some(40));
    assert_eq!(descriptor_number(b"0\0"), Some(0));
    assert_eq!(descriptor_number(b".\0"), None);
    assert_eq!(descriptor_number(b"..\0"), None);
    assert_eq!(descriptor_number(b"99999999999\0"), None);
    assert_eq!(descriptor_number(b"\0"), None);
  }

  /// A descriptor without close-on-exec, numbered at least `min`.
  fn inheritable_fd(min: i32) -> i32 {
    // SAFETY: fcntl on a descriptor number.
    let fd = unsafe { libc::fcntl(0, libc::F_DUPFD, min) };
    assert!(fd >= min);
    fd
  }

  fn is_cloexec(fd: i32) -> bool {
    // SAFETY: as above.
    unsafe { libc::fcntl(fd, libc::F_GETFD) & libc::FD_CLOEXEC != 0 }
  }

  #[test]
  fn every_way_marks_descriptors_from_the_first_up() {
    for (first, way) in
      [(900, cloexec_from as fn(i32) -> io::Result<()>), (920, cloexec_listed), (940, cloexec_up_to_limit)]
    {
      let below = inheritable_fd(first - 5);
      let above = inheritable_fd(first + 3);
      assert!(below < first);
      way(first).unwrap();
      assert!(is_cloexec(above));
      assert!(!is_cloexec(below));
      // SAFETY: both were opened by this test and are closed once.
      unsafe {
        libc::close(below);
        libc::close(above);
      }
    }
  }
}
