//! The guest's view of the world: arguments, environment, and its table of file descriptors.

use crate::errno::{Errno, WasiResult};
use cap_std::ambient_authority;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// What a guest may do inside a preopened directory.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum DirPerms {
    /// List, stat and read files.
    ReadOnly,
    /// Also create, write, rename and remove.
    ReadWrite,
}

/// An in-memory output stream (for a guest's stdout or stderr); clone it to read what the guest wrote.
#[derive(Clone, Debug, Default)]
pub struct OutputBuffer(Arc<Mutex<Vec<u8>>>);

impl OutputBuffer {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }
    /// Everything written so far.
    pub fn contents(&self) -> Vec<u8> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Write for OutputBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Rights (`wasi_snapshot_preview1` `rights` bits).
pub(crate) mod rights {
    pub const FD_DATASYNC: u64 = 1 << 0;
    pub const FD_READ: u64 = 1 << 1;
    pub const FD_SEEK: u64 = 1 << 2;
    pub const FD_FDSTAT_SET_FLAGS: u64 = 1 << 3;
    pub const FD_SYNC: u64 = 1 << 4;
    pub const FD_TELL: u64 = 1 << 5;
    pub const FD_WRITE: u64 = 1 << 6;
    pub const FD_ADVISE: u64 = 1 << 7;
    pub const FD_ALLOCATE: u64 = 1 << 8;
    pub const PATH_CREATE_DIRECTORY: u64 = 1 << 9;
    pub const PATH_CREATE_FILE: u64 = 1 << 10;
    pub const PATH_LINK_SOURCE: u64 = 1 << 11;
    pub const PATH_LINK_TARGET: u64 = 1 << 12;
    pub const PATH_OPEN: u64 = 1 << 13;
    pub const FD_READDIR: u64 = 1 << 14;
    pub const PATH_READLINK: u64 = 1 << 15;
    pub const PATH_RENAME_SOURCE: u64 = 1 << 16;
    pub const PATH_RENAME_TARGET: u64 = 1 << 17;
    pub const PATH_FILESTAT_GET: u64 = 1 << 18;
    pub const PATH_FILESTAT_SET_SIZE: u64 = 1 << 19;
    pub const PATH_FILESTAT_SET_TIMES: u64 = 1 << 20;
    pub const FD_FILESTAT_GET: u64 = 1 << 21;
    pub const FD_FILESTAT_SET_SIZE: u64 = 1 << 22;
    pub const FD_FILESTAT_SET_TIMES: u64 = 1 << 23;
    pub const PATH_SYMLINK: u64 = 1 << 24;
    pub const PATH_REMOVE_DIRECTORY: u64 = 1 << 25;
    pub const PATH_UNLINK_FILE: u64 = 1 << 26;
    pub const POLL_FD_READWRITE: u64 = 1 << 27;
    pub const SOCK_SHUTDOWN: u64 = 1 << 28;
    pub const SOCK_ACCEPT: u64 = 1 << 29;

    /// Rights that change the file system.
    pub const MUTATING: u64 = FD_WRITE
        | FD_ALLOCATE
        | FD_FILESTAT_SET_SIZE
        | FD_FILESTAT_SET_TIMES
        | FD_DATASYNC
        | FD_SYNC
        | PATH_CREATE_DIRECTORY
        | PATH_CREATE_FILE
        | PATH_LINK_SOURCE
        | PATH_LINK_TARGET
        | PATH_RENAME_SOURCE
        | PATH_RENAME_TARGET
        | PATH_FILESTAT_SET_SIZE
        | PATH_FILESTAT_SET_TIMES
        | PATH_SYMLINK
        | PATH_REMOVE_DIRECTORY
        | PATH_UNLINK_FILE;
    /// Rights that need the host file opened for writing.
    pub const WRITE_ACCESS: u64 = FD_WRITE | FD_ALLOCATE | FD_FILESTAT_SET_SIZE;
    /// Every right a file may have.
    pub const FILE: u64 = FD_DATASYNC
        | FD_READ
        | FD_SEEK
        | FD_FDSTAT_SET_FLAGS
        | FD_SYNC
        | FD_TELL
        | FD_WRITE
        | FD_ADVISE
        | FD_ALLOCATE
        | FD_FILESTAT_GET
        | FD_FILESTAT_SET_SIZE
        | FD_FILESTAT_SET_TIMES
        | POLL_FD_READWRITE;
    /// Every right a directory may have.
    pub const DIR: u64 = FD_FDSTAT_SET_FLAGS
        | FD_SYNC
        | FD_ADVISE
        | PATH_CREATE_DIRECTORY
        | PATH_CREATE_FILE
        | PATH_LINK_SOURCE
        | PATH_LINK_TARGET
        | PATH_OPEN
        | FD_READDIR
        | PATH_READLINK
        | PATH_RENAME_SOURCE
        | PATH_RENAME_TARGET
        | PATH_FILESTAT_GET
        | PATH_FILESTAT_SET_SIZE
        | PATH_FILESTAT_SET_TIMES
        | FD_FILESTAT_GET
        | FD_FILESTAT_SET_TIMES
        | PATH_SYMLINK
        | PATH_REMOVE_DIRECTORY
        | PATH_UNLINK_FILE;
    /// Rights of a stream (sockets).
    pub const STREAM: u64 = FD_READ | FD_WRITE | FD_FDSTAT_SET_FLAGS | FD_FILESTAT_GET | POLL_FD_READWRITE;
    /// Rights every standard stream has, besides reading (stdin) or writing (stdout, stderr).
    pub const STREAM_BASE: u64 = FD_FDSTAT_SET_FLAGS | FD_FILESTAT_GET | POLL_FD_READWRITE;
    /// Rights of a socket.
    pub const SOCKET: u64 = STREAM | SOCK_SHUTDOWN | SOCK_ACCEPT;
}

/// One of the host process's standard streams, used through its own descriptor (never closed by the guest).
pub(crate) enum HostStream {
    Stdin(std::io::Stdin),
    Stdout(std::io::Stdout),
    Stderr(std::io::Stderr),
}

impl std::os::fd::AsFd for HostStream {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        match self {
            HostStream::Stdin(s) => s.as_fd(),
            HostStream::Stdout(s) => s.as_fd(),
            HostStream::Stderr(s) => s.as_fd(),
        }
    }
}

/// What a descriptor refers to.
pub(crate) enum Kind {
    /// A readable stream of the embedder's (stdin).
    Reader(Box<dyn Read + Send>),
    /// A writable stream of the embedder's (stdout, stderr).
    Writer(Box<dyn Write + Send>),
    /// The host process's standard input, output or error.
    Host(HostStream),
    /// A regular file (or any non-directory) opened through a directory capability.
    File(std::fs::File),
    /// A directory capability.
    Dir(cap_std::fs::Dir),
    /// A listening socket.
    Listener(std::net::TcpListener),
    /// A connected socket.
    Stream(std::net::TcpStream),
}

/// One open descriptor.
pub(crate) struct Descriptor {
    pub kind: Kind,
    pub rights_base: u64,
    pub rights_inheriting: u64,
    pub fdflags: u16,
    /// The guest path of a preopened directory.
    pub preopen: Option<String>,
    /// Opened from (or is) a read-only preopen: nothing that changes the file system is allowed. Enforced here
    /// rather than by withholding rights, because wasi-libc masks the rights it asks for with the directory's
    /// inheriting rights, which would hide a guest's intent to write.
    pub readonly: bool,
}

impl Descriptor {
    pub(crate) fn check(&self, needed: u64) -> WasiResult<()> {
        if self.rights_base & needed != needed || (self.readonly && needed & rights::MUTATING != 0) {
            return Err(Errno::Notcapable);
        }
        Ok(())
    }
}

/// A guest's WASI state: build one with [`WasiCtxBuilder`], keep it in the store's data, and give
/// [`crate::add_to_linker`] a way to reach it.
pub struct WasiCtx {
    pub(crate) args: Vec<Vec<u8>>,
    pub(crate) env: Vec<Vec<u8>>,
    pub(crate) fds: BTreeMap<u32, Descriptor>,
}

impl std::fmt::Debug for WasiCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasiCtx").field("args", &self.args.len()).field("fds", &self.fds.len()).finish()
    }
}

impl WasiCtx {
    /// A builder granting nothing yet (Wasmtime's name for [`WasiCtxBuilder::new`]).
    pub fn builder() -> WasiCtxBuilder {
        WasiCtxBuilder::new()
    }

    pub(crate) fn get(&mut self, fd: u32) -> WasiResult<&mut Descriptor> {
        self.fds.get_mut(&fd).ok_or(Errno::Badf)
    }

    pub(crate) fn insert(&mut self, d: Descriptor) -> WasiResult<u32> {
        let fd = (0..u32::MAX).find(|n| !self.fds.contains_key(n)).ok_or(Errno::Mfile)?;
        self.fds.insert(fd, d);
        Ok(fd)
    }
}

/// One of the guest's standard streams as the builder was told to provide it.
enum StdioSource<S> {
    /// A stream of the embedder's (an in-memory buffer, or nothing).
    Stream(S),
    /// The host process's own descriptor 0, 1 or 2.
    Inherited(i32),
}

/// Builds a [`WasiCtx`]: nothing is granted unless asked for.
#[derive(Default)]
pub struct WasiCtxBuilder {
    args: Vec<Vec<u8>>,
    env: Vec<Vec<u8>>,
    stdin: Option<StdioSource<Box<dyn Read + Send>>>,
    stdout: Option<StdioSource<Box<dyn Write + Send>>>,
    stderr: Option<StdioSource<Box<dyn Write + Send>>>,
    preopens: Vec<(cap_std::fs::Dir, String, DirPerms)>,
    sockets: Vec<std::net::TcpListener>,
}

impl WasiCtxBuilder {
    /// A builder granting nothing: no arguments, no environment, empty stdin, discarded output, no directories.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends an argument (the first is conventionally the program name).
    pub fn arg(&mut self, arg: impl AsRef<str>) -> &mut Self {
        self.args.push(arg.as_ref().as_bytes().to_vec());
        self
    }

    /// Appends arguments.
    pub fn args(&mut self, args: impl IntoIterator<Item = impl AsRef<str>>) -> &mut Self {
        for a in args {
            self.arg(a);
        }
        self
    }

    /// Gives the guest the host process's own arguments, after those already added.
    pub fn inherit_args(&mut self) -> &mut Self {
        use std::os::unix::ffi::OsStrExt;
        self.args.extend(std::env::args_os().map(|a| a.as_bytes().to_vec()));
        self
    }

    /// Gives the guest the host process's whole environment, after the variables already set.
    pub fn inherit_env(&mut self) -> &mut Self {
        use std::os::unix::ffi::OsStrExt;
        for (name, value) in std::env::vars_os() {
            let mut entry = name.as_bytes().to_vec();
            entry.push(b'=');
            entry.extend_from_slice(value.as_bytes());
            self.env.push(entry);
        }
        self
    }

    /// Sets an environment variable.
    pub fn env(&mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> &mut Self {
        self.env.push(format!("{}={}", name.as_ref(), value.as_ref()).into_bytes());
        self
    }

    /// Gives the guest the host process's standard input, output and error.
    ///
    /// The guest sees each as what it is on the host: a terminal is a character device without seek rights (so
    /// `isatty` is true), a regular file is a seekable regular file, a pipe is a stream of unknown type, a socket a
    /// socket stream, `/dev/null` a seekable character device. The guest can change its own view of them (close,
    /// renumber, set non-blocking) but never the host's descriptors or their flags.
    pub fn inherit_stdio(&mut self) -> &mut Self {
        self.inherit_stdin().inherit_stdout().inherit_stderr()
    }

    /// Gives the guest the host process's standard input (see [`WasiCtxBuilder::inherit_stdio`]).
    pub fn inherit_stdin(&mut self) -> &mut Self {
        self.stdin = Some(StdioSource::Inherited(0));
        self
    }

    /// Gives the guest the host process's standard output (see [`WasiCtxBuilder::inherit_stdio`]).
    pub fn inherit_stdout(&mut self) -> &mut Self {
        self.stdout = Some(StdioSource::Inherited(1));
        self
    }

    /// Gives the guest the host process's standard error (see [`WasiCtxBuilder::inherit_stdio`]).
    pub fn inherit_stderr(&mut self) -> &mut Self {
        self.stderr = Some(StdioSource::Inherited(2));
        self
    }

    /// Reads standard input from `bytes`.
    pub fn stdin_bytes(&mut self, bytes: impl Into<Vec<u8>>) -> &mut Self {
        self.stdin = Some(StdioSource::Stream(Box::new(std::io::Cursor::new(bytes.into()))));
        self
    }

    /// Sends standard output to `buffer`.
    pub fn stdout(&mut self, buffer: OutputBuffer) -> &mut Self {
        self.stdout = Some(StdioSource::Stream(Box::new(buffer)));
        self
    }

    /// Reads standard input from `reader` (a file, a pipe, anything readable), which the guest sees as a stream.
    pub fn stdin_reader(&mut self, reader: impl Read + Send + 'static) -> &mut Self {
        self.stdin = Some(StdioSource::Stream(Box::new(reader)));
        self
    }

    /// Sends standard output to `writer` (a file, a pipe, anything writable), which the guest sees as a stream.
    pub fn stdout_writer(&mut self, writer: impl Write + Send + 'static) -> &mut Self {
        self.stdout = Some(StdioSource::Stream(Box::new(writer)));
        self
    }

    /// Sends standard error to `writer` (see [`WasiCtxBuilder::stdout_writer`]).
    pub fn stderr_writer(&mut self, writer: impl Write + Send + 'static) -> &mut Self {
        self.stderr = Some(StdioSource::Stream(Box::new(writer)));
        self
    }

    /// Sends standard error to `buffer`.
    pub fn stderr(&mut self, buffer: OutputBuffer) -> &mut Self {
        self.stderr = Some(StdioSource::Stream(Box::new(buffer)));
        self
    }

    /// Lets the guest use the host directory `host_path` as `guest_path`, with `perms`. Paths the guest opens are
    /// resolved inside it and can never leave it.
    pub fn preopened_dir(
        &mut self,
        host_path: impl AsRef<Path>,
        guest_path: impl AsRef<str>,
        perms: DirPerms,
    ) -> anyhow::Result<&mut Self> {
        let host_path = host_path.as_ref();
        let dir = cap_std::fs::Dir::open_ambient_dir(host_path, ambient_authority())
            .map_err(|e| anyhow::anyhow!("cannot open directory {}: {e}", host_path.display()))?;
        self.preopens.push((dir, guest_path.as_ref().to_string(), perms));
        Ok(self)
    }

    /// Lets the guest accept connections on `listener` (`sock_accept`).
    pub fn preopened_socket(&mut self, listener: std::net::TcpListener) -> &mut Self {
        self.sockets.push(listener);
        self
    }

    /// The context, as Wasmtime names it for preview1 (the same as [`WasiCtxBuilder::build`]: Weft's WASI is
    /// preview1 only).
    pub fn build_p1(&mut self) -> crate::WasiP1Ctx {
        self.build()
    }

    /// The context.
    pub fn build(&mut self) -> WasiCtx {
        let mut fds = BTreeMap::new();
        let stdin = self.stdin.take().unwrap_or_else(|| StdioSource::Stream(Box::new(std::io::empty())));
        let stdout = self.stdout.take().unwrap_or_else(|| StdioSource::Stream(Box::new(std::io::sink())));
        let stderr = self.stderr.take().unwrap_or_else(|| StdioSource::Stream(Box::new(std::io::sink())));
        fds.insert(0, stdio_descriptor(stdin, Kind::Reader, rights::FD_READ));
        fds.insert(1, stdio_descriptor(stdout, Kind::Writer, rights::FD_WRITE));
        fds.insert(2, stdio_descriptor(stderr, Kind::Writer, rights::FD_WRITE));
        let mut next = 3;
        for (dir, guest, perms) in self.preopens.drain(..) {
            fds.insert(
                next,
                Descriptor {
                    kind: Kind::Dir(dir),
                    rights_base: rights::DIR,
                    rights_inheriting: rights::DIR | rights::FILE,
                    fdflags: 0,
                    preopen: Some(guest),
                    readonly: perms == DirPerms::ReadOnly,
                },
            );
            next += 1;
        }
        for listener in self.sockets.drain(..) {
            fds.insert(
                next,
                Descriptor {
                    kind: Kind::Listener(listener),
                    rights_base: rights::SOCKET,
                    rights_inheriting: rights::SOCKET,
                    fdflags: 0,
                    preopen: None,
                    readonly: false,
                },
            );
            next += 1;
        }
        WasiCtx { args: std::mem::take(&mut self.args), env: std::mem::take(&mut self.env), fds }
    }
}

/// The descriptor for a standard stream: an embedder's stream as a pipe-like stream, or the host's own stream
/// presented as what it is (see [`WasiCtxBuilder::inherit_stdio`]).
fn stdio_descriptor<S>(source: StdioSource<S>, stream: impl FnOnce(S) -> Kind, direction: u64) -> Descriptor {
    let (kind, rights_base) = match source {
        StdioSource::Stream(s) => (stream(s), rights::STREAM_BASE | direction),
        StdioSource::Inherited(fd) => {
            let host = match fd {
                0 => HostStream::Stdin(std::io::stdin()),
                1 => HostStream::Stdout(std::io::stdout()),
                _ => HostStream::Stderr(std::io::stderr()),
            };
            // A terminal or pipe cannot seek; a regular file (`< input.txt`) or `/dev/null` can, and a guest's
            // libc decides from these rights whether it talks to a terminal.
            let seekable = rustix::fs::seek(&host, rustix::fs::SeekFrom::Current(0)).is_ok();
            let seek = if seekable { rights::FD_SEEK | rights::FD_TELL } else { 0 };
            (Kind::Host(host), rights::STREAM_BASE | direction | seek)
        }
    };
    Descriptor { kind, rights_base, rights_inheriting: 0, fdflags: 0, preopen: None, readonly: false }
}
