//! WASI error numbers and the mapping from host errors.

use std::io;

/// A WASI errno (`wasi_snapshot_preview1` numbering).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(u16)]
#[allow(missing_docs, reason = "the names are the WASI specification's errno names")]
pub enum Errno {
    Success = 0,
    TooBig = 1,
    Acces = 2,
    Addrinuse = 3,
    Addrnotavail = 4,
    Again = 6,
    Already = 7,
    Badf = 8,
    Busy = 10,
    Connaborted = 13,
    Connrefused = 14,
    Connreset = 15,
    Exist = 20,
    Fault = 21,
    Fbig = 22,
    Ilseq = 25,
    Intr = 27,
    Inval = 28,
    Io = 29,
    Isdir = 31,
    Loop = 32,
    Mfile = 33,
    Mlink = 34,
    Nametoolong = 37,
    Noent = 44,
    Nomem = 48,
    Nospc = 51,
    Nosys = 52,
    Notconn = 53,
    Notdir = 54,
    Notempty = 55,
    Notsock = 57,
    Notsup = 58,
    Overflow = 61,
    Perm = 63,
    Pipe = 64,
    Rofs = 69,
    Spipe = 70,
    Timedout = 73,
    Xdev = 75,
    Notcapable = 76,
}

impl From<io::Error> for Errno {
    fn from(e: io::Error) -> Errno {
        if let Some(code) = e.raw_os_error() {
            return from_os(code);
        }
        match e.kind() {
            // cap-std reports a path that would leave the sandbox (`..`, an absolute path, a symlink pointing out)
            // as PermissionDenied without an OS code: the guest lacks the capability.
            io::ErrorKind::PermissionDenied => Errno::Notcapable,
            io::ErrorKind::NotFound => Errno::Noent,
            io::ErrorKind::AlreadyExists => Errno::Exist,
            io::ErrorKind::InvalidInput => Errno::Inval,
            io::ErrorKind::WouldBlock => Errno::Again,
            io::ErrorKind::Interrupted => Errno::Intr,
            io::ErrorKind::BrokenPipe => Errno::Pipe,
            io::ErrorKind::Unsupported => Errno::Notsup,
            io::ErrorKind::NotADirectory => Errno::Notdir,
            io::ErrorKind::IsADirectory => Errno::Isdir,
            io::ErrorKind::DirectoryNotEmpty => Errno::Notempty,
            io::ErrorKind::OutOfMemory => Errno::Nomem,
            _ => Errno::Io,
        }
    }
}

fn from_os(code: i32) -> Errno {
    match code {
        libc::E2BIG => Errno::TooBig,
        libc::EACCES => Errno::Acces,
        libc::EADDRINUSE => Errno::Addrinuse,
        libc::EADDRNOTAVAIL => Errno::Addrnotavail,
        libc::EAGAIN => Errno::Again,
        libc::EALREADY => Errno::Already,
        libc::EBADF => Errno::Badf,
        libc::EBUSY => Errno::Busy,
        libc::ECONNABORTED => Errno::Connaborted,
        libc::ECONNREFUSED => Errno::Connrefused,
        libc::ECONNRESET => Errno::Connreset,
        libc::EEXIST => Errno::Exist,
        libc::EFAULT => Errno::Fault,
        libc::EFBIG => Errno::Fbig,
        libc::EILSEQ => Errno::Ilseq,
        libc::EINTR => Errno::Intr,
        libc::EINVAL => Errno::Inval,
        libc::EIO => Errno::Io,
        libc::EISDIR => Errno::Isdir,
        libc::ELOOP => Errno::Loop,
        libc::EMFILE => Errno::Mfile,
        libc::EMLINK => Errno::Mlink,
        libc::ENAMETOOLONG => Errno::Nametoolong,
        libc::ENOENT => Errno::Noent,
        libc::ENOMEM => Errno::Nomem,
        libc::ENOSPC => Errno::Nospc,
        libc::ENOSYS => Errno::Nosys,
        libc::ENOTCONN => Errno::Notconn,
        libc::ENOTDIR => Errno::Notdir,
        libc::ENOTEMPTY => Errno::Notempty,
        libc::ENOTSOCK => Errno::Notsock,
        libc::EOPNOTSUPP => Errno::Notsup,
        libc::EOVERFLOW => Errno::Overflow,
        libc::EPERM => Errno::Perm,
        libc::EPIPE => Errno::Pipe,
        libc::EROFS => Errno::Rofs,
        libc::ESPIPE => Errno::Spipe,
        libc::ETIMEDOUT => Errno::Timedout,
        libc::EXDEV => Errno::Xdev,
        _ => Errno::Io,
    }
}

/// The result of a WASI call: `Err` carries the errno the guest sees.
pub(crate) type WasiResult<T> = Result<T, Errno>;
