//! The `wasi_snapshot_preview1` functions.

use crate::ctx::{Descriptor, HostStream, Kind, WasiCtx, rights};
use crate::errno::{Errno, WasiResult};
use crate::guest::GuestMemory;
use cap_fs_ext::{DirExt, OpenOptionsFollowExt};
use cap_std::fs::{FileTypeExt, MetadataExt};
use std::io::{IoSlice, Read, Seek, SeekFrom, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::time::{Duration, SystemTime};
use weft::{Caller, Linker};

/// `proc_exit(code)`: the error a WASI call fails with to end the program; the embedder reads the status from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct I32Exit(pub i32);

impl std::fmt::Display for I32Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit with status {}", self.0)
    }
}

impl std::error::Error for I32Exit {}

mod filetype {
    pub const UNKNOWN: u8 = 0;
    pub const BLOCK_DEVICE: u8 = 1;
    pub const CHARACTER_DEVICE: u8 = 2;
    pub const DIRECTORY: u8 = 3;
    pub const REGULAR_FILE: u8 = 4;
    pub const SOCKET_STREAM: u8 = 6;
    pub const SYMBOLIC_LINK: u8 = 7;
}

const FDFLAGS_APPEND: u16 = 1;
const FDFLAGS_NONBLOCK: u16 = 4;
/// `dsync`, `rsync` and `sync`.
const FDFLAGS_SYNC_ANY: u16 = 2 | 8 | 16;
const FDFLAGS_APPEND_NONBLOCK: u16 = FDFLAGS_APPEND | FDFLAGS_NONBLOCK;
const OFLAGS_CREAT: u16 = 1;
const OFLAGS_DIRECTORY: u16 = 2;
const OFLAGS_EXCL: u16 = 4;
const OFLAGS_TRUNC: u16 = 8;
const LOOKUP_SYMLINK_FOLLOW: u32 = 1;
const FSTFLAGS_ATIM: u16 = 1;
const FSTFLAGS_ATIM_NOW: u16 = 2;
const FSTFLAGS_MTIM: u16 = 4;
const FSTFLAGS_MTIM_NOW: u16 = 8;

/// Defines every `wasi_snapshot_preview1` function in `linker`. `get` finds the [`WasiCtx`] in the store's data.
///
/// Functions that take pointers need the module to export its memory as `memory` (as every WASI module does).
pub fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    get: impl Fn(&mut T) -> &mut WasiCtx + Copy + Send + Sync + 'static,
) -> anyhow::Result<()> {
    macro_rules! define {
        ($name:literal, |$ctx:ident, $mem:ident $(, $arg:ident : $ty:ty)*| $body:expr) => {
            linker.func_wrap(
                "wasi_snapshot_preview1",
                $name,
                move |mut caller: Caller<'_, T>, $($arg: $ty),*| -> anyhow::Result<i32> {
                    let Some(memory) = caller.get_export("memory").and_then(|e| e.into_memory()) else {
                        anyhow::bail!("WASI function `{}` needs the module to export its memory as `memory`", $name);
                    };
                    let (bytes, data) = memory.data_and_store_mut(&mut caller);
                    #[allow(unused_variables, unused_mut)]
                    let $ctx: &mut WasiCtx = get(data);
                    #[allow(unused_variables, unused_mut)]
                    let mut $mem = GuestMemory::new(bytes);
                    #[allow(clippy::redundant_closure_call, reason = "the closure gives each body its own `?` scope")]
                    let result: WasiResult<()> = (|| $body)();
                    Ok(match result {
                        Ok(()) => 0,
                        Err(e) => e as i32,
                    })
                },
            )?;
        };
    }

    define!("args_get", |ctx, mem, argv: i32, buf: i32| write_strings(&mut mem, &ctx.args, argv as u32, buf as u32));
    define!("args_sizes_get", |ctx, mem, count: i32, size: i32| write_sizes(
        &mut mem,
        &ctx.args,
        count as u32,
        size as u32
    ));
    define!("environ_get", |ctx, mem, env: i32, buf: i32| write_strings(&mut mem, &ctx.env, env as u32, buf as u32));
    define!("environ_sizes_get", |ctx, mem, count: i32, size: i32| write_sizes(
        &mut mem,
        &ctx.env,
        count as u32,
        size as u32
    ));
    define!("clock_res_get", |ctx, mem, id: i32, out: i32| {
        let ts = rustix::time::clock_getres(clock_id(id as u32)?);
        mem.write_u64(out as u32, timespec_ns(ts))
    });
    define!("clock_time_get", |ctx, mem, id: i32, _precision: i64, out: i32| {
        let ts = rustix::time::clock_gettime(clock_id(id as u32)?);
        mem.write_u64(out as u32, timespec_ns(ts))
    });
    define!("fd_advise", |ctx, mem, fd: i32, offset: i64, len: i64, advice: i32| {
        let d = ctx.get(fd as u32)?;
        d.check(rights::FD_ADVISE)?;
        let advice = match advice {
            0 => rustix::fs::Advice::Normal,
            1 => rustix::fs::Advice::Sequential,
            2 => rustix::fs::Advice::Random,
            3 => rustix::fs::Advice::WillNeed,
            4 => rustix::fs::Advice::DontNeed,
            5 => rustix::fs::Advice::NoReuse,
            _ => return Err(Errno::Inval),
        };
        let file = file(d)?;
        let len = std::num::NonZeroU64::new(len as u64);
        rustix::fs::fadvise(file, offset as u64, len, advice).map_err(|e| Errno::from(std::io::Error::from(e)))
    });
    define!("fd_allocate", |ctx, mem, fd: i32, offset: i64, len: i64| {
        let d = ctx.get(fd as u32)?;
        d.check(rights::FD_ALLOCATE)?;
        let f = file(d)?;
        let end = (offset as u64).checked_add(len as u64).ok_or(Errno::Fbig)?;
        if f.metadata()?.len() < end {
            f.set_len(end)?;
        }
        Ok(())
    });
    define!("fd_close", |ctx, mem, fd: i32| ctx.fds.remove(&(fd as u32)).map(drop).ok_or(Errno::Badf));
    define!("fd_datasync", |ctx, mem, fd: i32| {
        let d = ctx.get(fd as u32)?;
        d.check(rights::FD_DATASYNC)?;
        Ok(file(d)?.sync_data()?)
    });
    define!("fd_sync", |ctx, mem, fd: i32| {
        let d = ctx.get(fd as u32)?;
        d.check(rights::FD_SYNC)?;
        match &d.kind {
            Kind::File(f) => Ok(f.sync_all()?),
            Kind::Dir(_) => Ok(()),
            _ => Err(Errno::Inval),
        }
    });
    define!("fd_fdstat_get", |ctx, mem, fd: i32, out: i32| {
        let d = ctx.get(fd as u32)?;
        let ty = descriptor_filetype(d);
        let (flags, base, inheriting) = (d.fdflags, d.rights_base, d.rights_inheriting);
        let out = out as u32;
        mem.slice_mut(out, 24)?.fill(0);
        mem.write_u8(out, ty)?;
        mem.write_u16(out + 2, flags)?;
        mem.write_u64(out + 8, base)?;
        mem.write_u64(out + 16, inheriting)
    });
    define!("fd_fdstat_set_flags", |ctx, mem, fd: i32, flags: i32| {
        let d = ctx.get(fd as u32)?;
        d.check(rights::FD_FDSTAT_SET_FLAGS)?;
        let flags = flags as u16;
        if flags & FDFLAGS_SYNC_ANY != 0 {
            // Linux cannot switch an open file to synchronous writes.
            return Err(Errno::Inval);
        }
        // The host's own standard streams (`Kind::Host`) keep their flags: a guest asking for non-blocking output
        // must not leave the user's terminal non-blocking after it exits.
        let nonblocking = flags & FDFLAGS_NONBLOCK != 0;
        match &d.kind {
            Kind::File(f) => {
                let mut oflags = rustix::fs::fcntl_getfl(f).map_err(errno)?;
                oflags.set(rustix::fs::OFlags::APPEND, flags & FDFLAGS_APPEND != 0);
                oflags.set(rustix::fs::OFlags::NONBLOCK, nonblocking);
                rustix::fs::fcntl_setfl(f, oflags).map_err(errno)?;
            }
            Kind::Stream(s) => s.set_nonblocking(nonblocking)?,
            Kind::Listener(l) => l.set_nonblocking(nonblocking)?,
            Kind::Host(_) | Kind::Dir(_) | Kind::Reader(_) | Kind::Writer(_) => {}
        }
        d.fdflags = flags;
        Ok(())
    });
    define!("fd_fdstat_set_rights", |ctx, mem, fd: i32, base: i64, inheriting: i64| {
        let d = ctx.get(fd as u32)?;
        let (base, inheriting) = (base as u64, inheriting as u64);
        // Rights can only be dropped, never gained.
        if base & !d.rights_base != 0 || inheriting & !d.rights_inheriting != 0 {
            return Err(Errno::Notcapable);
        }
        d.rights_base = base;
        d.rights_inheriting = inheriting;
        Ok(())
    });
    define!("fd_filestat_get", |ctx, mem, fd: i32, out: i32| {
        let d = ctx.get(fd as u32)?;
        d.check(rights::FD_FILESTAT_GET)?;
        let stat = match host_fd(d) {
            Some(fd) => Filestat::from_stat(&rustix::fs::fstat(fd).map_err(errno)?),
            None => Filestat { filetype: descriptor_filetype(d), ..Filestat::default() },
        };
        stat.write(&mut mem, out as u32)
    });
    define!("fd_filestat_set_size", |ctx, mem, fd: i32, size: i64| {
        let d = ctx.get(fd as u32)?;
        d.check(rights::FD_FILESTAT_SET_SIZE)?;
        Ok(file(d)?.set_len(size as u64)?)
    });
    define!("fd_filestat_set_times", |ctx, mem, fd: i32, atim: i64, mtim: i64, flags: i32| {
        let d = ctx.get(fd as u32)?;
        d.check(rights::FD_FILESTAT_SET_TIMES)?;
        let (atime, mtime) = time_specs(atim as u64, mtim as u64, flags as u16)?;
        match &d.kind {
            Kind::File(f) => {
                let mut times = std::fs::FileTimes::new();
                if let Some(a) = atime {
                    times = times.set_accessed(a);
                }
                if let Some(m) = mtime {
                    times = times.set_modified(m);
                }
                Ok(f.set_times(times)?)
            }
            Kind::Dir(dir) => Ok(dir.set_times(".", atime.map(cap_time), mtime.map(cap_time))?),
            _ => Err(Errno::Badf),
        }
    });
    define!("fd_pread", |ctx, mem, fd: i32, iovs: i32, count: i32, offset: i64, out: i32| {
        let d = ctx.get(fd as u32)?;
        let f = positioned(d, rights::FD_READ | rights::FD_SEEK)?;
        let mut total = 0u64;
        for (ptr, len) in mem.iovecs(iovs as u32, count as u32)? {
            let buf = mem.slice_mut(ptr, len)?;
            let n = rustix::io::pread(f, buf, offset as u64 + total).map_err(errno)?;
            total += n as u64;
            if n < len as usize {
                break;
            }
        }
        mem.write_u32(out as u32, total as u32)
    });
    define!("fd_pwrite", |ctx, mem, fd: i32, iovs: i32, count: i32, offset: i64, out: i32| {
        let d = ctx.get(fd as u32)?;
        let f = positioned(d, rights::FD_WRITE | rights::FD_SEEK)?;
        let mut total = 0u64;
        for (ptr, len) in mem.iovecs(iovs as u32, count as u32)? {
            let n = rustix::io::pwrite(f, mem.slice(ptr, len)?, offset as u64 + total).map_err(errno)?;
            total += n as u64;
            if n < len as usize {
                break;
            }
        }
        mem.write_u32(out as u32, total as u32)
    });
    define!("fd_prestat_get", |ctx, mem, fd: i32, out: i32| {
        let d = ctx.get(fd as u32)?;
        let name = d.preopen.as_ref().ok_or(Errno::Badf)?;
        let len = name.len() as u32;
        mem.write_u32(out as u32, 0)?; // tag 0: a directory
        mem.write_u32(out as u32 + 4, len)
    });
    define!("fd_prestat_dir_name", |ctx, mem, fd: i32, path: i32, len: i32| {
        let d = ctx.get(fd as u32)?;
        let name = d.preopen.as_ref().ok_or(Errno::Badf)?;
        if (len as u32 as usize) < name.len() {
            return Err(Errno::Nametoolong);
        }
        let name = name.clone();
        mem.write(path as u32, name.as_bytes())
    });
    define!("fd_read", |ctx, mem, fd: i32, iovs: i32, count: i32, out: i32| {
        let d = ctx.get(fd as u32)?;
        d.check(rights::FD_READ)?;
        let iovs = mem.iovecs(iovs as u32, count as u32)?;
        let total = read_vectored(d, &mut mem, &iovs)?;
        mem.write_u32(out as u32, total)
    });
    define!("fd_write", |ctx, mem, fd: i32, iovs: i32, count: i32, out: i32| {
        let d = ctx.get(fd as u32)?;
        d.check(rights::FD_WRITE)?;
        let iovs = mem.iovecs(iovs as u32, count as u32)?;
        let slices = iovs.iter().map(|(p, l)| mem.slice(*p, *l).map(IoSlice::new)).collect::<WasiResult<Vec<_>>>()?;
        let total = match &mut d.kind {
            Kind::Writer(w) => write_host(w, &slices)?,
            Kind::Host(HostStream::Stdout(s)) => write_host(&mut s.lock(), &slices)?,
            Kind::Host(HostStream::Stderr(s)) => write_host(&mut s.lock(), &slices)?,
            Kind::File(f) => f.write_vectored(&slices)?,
            Kind::Stream(s) => s.write_vectored(&slices)?,
            Kind::Dir(_) => return Err(Errno::Isdir),
            _ => return Err(Errno::Badf),
        };
        mem.write_u32(out as u32, total as u32)
    });
    define!("fd_readdir", |ctx, mem, fd: i32, buf: i32, buf_len: i32, cookie: i64, out: i32| {
        let d = ctx.get(fd as u32)?;
        d.check(rights::FD_READDIR)?;
        let Kind::Dir(dir) = &d.kind else { return Err(Errno::Notdir) };
        let mut entries = vec![
            (b".".to_vec(), dir.dir_metadata()?.ino(), filetype::DIRECTORY),
            (b"..".to_vec(), 0, filetype::DIRECTORY),
        ];
        for entry in dir.entries()? {
            let entry = entry?;
            let ty = entry.file_type().map(|t| cap_filetype(&t)).unwrap_or(filetype::UNKNOWN);
            let ino = entry.metadata().map(|m| m.ino()).unwrap_or(0);
            entries.push((entry.file_name().into_encoded_bytes(), ino, ty));
        }
        let (start, capacity) = (buf as u32, buf_len as u32);
        let mut used = 0u32;
        for (i, (name, ino, ty)) in entries.iter().enumerate().skip(cookie as u64 as usize) {
            let mut record = Vec::with_capacity(24 + name.len());
            record.extend_from_slice(&(i as u64 + 1).to_le_bytes());
            record.extend_from_slice(&ino.to_le_bytes());
            record.extend_from_slice(&(name.len() as u32).to_le_bytes());
            record.extend_from_slice(&[*ty, 0, 0, 0]);
            record.extend_from_slice(name);
            // A record that does not fit is written partially: a full buffer tells the guest to read again.
            let n = record.len().min((capacity - used) as usize);
            mem.write(start + used, &record[..n])?;
            used += n as u32;
            if used == capacity {
                break;
            }
        }
        mem.write_u32(out as u32, used)
    });
    define!("fd_renumber", |ctx, mem, from: i32, to: i32| {
        // `to` is closed first when open. It must be open, as the WASI test suite requires (and Wasmtime does),
        // except for the standard stream numbers: a program that closed stdout can install a file as its new
        // stdout, as it would with dup2.
        let (from, to) = (from as u32, to as u32);
        if !ctx.fds.contains_key(&from) || (to > 2 && !ctx.fds.contains_key(&to)) {
            return Err(Errno::Badf);
        }
        let d = ctx.fds.remove(&from).ok_or(Errno::Badf)?;
        ctx.fds.insert(to, d);
        Ok(())
    });
    define!("fd_seek", |ctx, mem, fd: i32, offset: i64, whence: i32, out: i32| {
        let d = ctx.get(fd as u32)?;
        d.check(if offset == 0 && whence == 1 { rights::FD_TELL } else { rights::FD_SEEK })?;
        let pos = match whence {
            0 => SeekFrom::Start(u64::try_from(offset).map_err(|_| Errno::Inval)?),
            1 => SeekFrom::Current(offset),
            2 => SeekFrom::End(offset),
            _ => return Err(Errno::Inval),
        };
        let new = match &mut d.kind {
            Kind::File(f) => f.seek(pos)?,
            Kind::Host(h) => rustix::fs::seek(&*h, rustix_seek(pos)).map_err(errno)?,
            Kind::Dir(_) => return Err(Errno::Isdir),
            _ => return Err(Errno::Spipe),
        };
        mem.write_u64(out as u32, new)
    });
    define!("fd_tell", |ctx, mem, fd: i32, out: i32| {
        let d = ctx.get(fd as u32)?;
        d.check(rights::FD_TELL)?;
        let pos = match &mut d.kind {
            Kind::File(f) => f.stream_position()?,
            Kind::Host(h) => rustix::fs::seek(&*h, rustix::fs::SeekFrom::Current(0)).map_err(errno)?,
            Kind::Dir(_) => return Err(Errno::Isdir),
            _ => return Err(Errno::Spipe),
        };
        mem.write_u64(out as u32, pos)
    });
    define!("path_create_directory", |ctx, mem, fd: i32, path: i32, len: i32| {
        let (dir, path) = dir_and_path(ctx, &mem, fd, path, len, rights::PATH_CREATE_DIRECTORY)?;
        Ok(dir.create_dir(path)?)
    });
    define!("path_remove_directory", |ctx, mem, fd: i32, path: i32, len: i32| {
        let (dir, path) = dir_and_path(ctx, &mem, fd, path, len, rights::PATH_REMOVE_DIRECTORY)?;
        Ok(dir.remove_dir(path)?)
    });
    define!("path_unlink_file", |ctx, mem, fd: i32, path: i32, len: i32| {
        let (dir, path) = dir_and_path(ctx, &mem, fd, path, len, rights::PATH_UNLINK_FILE)?;
        Ok(dir.remove_file_or_symlink(path)?)
    });
    define!("path_filestat_get", |ctx, mem, fd: i32, flags: i32, path: i32, len: i32, out: i32| {
        let (dir, path) = dir_and_path(ctx, &mem, fd, path, len, rights::PATH_FILESTAT_GET)?;
        let meta =
            if flags as u32 & LOOKUP_SYMLINK_FOLLOW != 0 { dir.metadata(path)? } else { dir.symlink_metadata(path)? };
        Filestat::from_cap(&meta).write(&mut mem, out as u32)
    });
    define!("path_filestat_set_times", |ctx,
                                        mem,
                                        fd: i32,
                                        flags: i32,
                                        path: i32,
                                        len: i32,
                                        atim: i64,
                                        mtim: i64,
                                        fst: i32| {
        let (dir, path) = dir_and_path(ctx, &mem, fd, path, len, rights::PATH_FILESTAT_SET_TIMES)?;
        let (atime, mtime) = time_specs(atim as u64, mtim as u64, fst as u16)?;
        let (atime, mtime) = (atime.map(cap_time), mtime.map(cap_time));
        if flags as u32 & LOOKUP_SYMLINK_FOLLOW != 0 {
            Ok(dir.set_times(path, atime, mtime)?)
        } else {
            Ok(dir.set_symlink_times(path, atime, mtime)?)
        }
    });
    define!("path_readlink", |ctx, mem, fd: i32, path: i32, len: i32, buf: i32, buf_len: i32, out: i32| {
        let (dir, path) = dir_and_path(ctx, &mem, fd, path, len, rights::PATH_READLINK)?;
        let target = dir.read_link_contents(path)?.into_os_string().into_encoded_bytes();
        let n = target.len().min(buf_len as u32 as usize);
        mem.write(buf as u32, &target[..n])?;
        mem.write_u32(out as u32, n as u32)
    });
    define!("path_symlink", |ctx, mem, old: i32, old_len: i32, fd: i32, new: i32, new_len: i32| {
        let target = mem.str(old as u32, old_len as u32)?.to_string();
        let (dir, link) = dir_and_path(ctx, &mem, fd, new, new_len, rights::PATH_SYMLINK)?;
        // Following a link is confined to the sandbox anyway; a link to an absolute path, which could only ever
        // fail, is refused when made, as on Wasmtime.
        Ok(dir.symlink(target, link)?)
    });
    define!("path_link", |ctx,
                          mem,
                          old_fd: i32,
                          flags: i32,
                          old: i32,
                          old_len: i32,
                          new_fd: i32,
                          new: i32,
                          new_len: i32| {
        let old_path = mem.str(old as u32, old_len as u32)?;
        let new_path = mem.str(new as u32, new_len as u32)?;
        let from = dir_of(ctx.fds.get(&(old_fd as u32)).ok_or(Errno::Badf)?, rights::PATH_LINK_SOURCE)?;
        let to = dir_of(ctx.fds.get(&(new_fd as u32)).ok_or(Errno::Badf)?, rights::PATH_LINK_TARGET)?;
        if flags as u32 & LOOKUP_SYMLINK_FOLLOW != 0 {
            // Linking what a symlink points to would need the link resolved inside the sandbox first, which
            // cap-std does not offer; the suite and Wasmtime refuse it too.
            return Err(Errno::Inval);
        }
        Ok(from.hard_link(old_path, to, new_path)?)
    });
    define!("path_rename", |ctx, mem, old_fd: i32, old: i32, old_len: i32, new_fd: i32, new: i32, new_len: i32| {
        let old_path = mem.str(old as u32, old_len as u32)?;
        let new_path = mem.str(new as u32, new_len as u32)?;
        let from = dir_of(ctx.fds.get(&(old_fd as u32)).ok_or(Errno::Badf)?, rights::PATH_RENAME_SOURCE)?;
        let to = dir_of(ctx.fds.get(&(new_fd as u32)).ok_or(Errno::Badf)?, rights::PATH_RENAME_TARGET)?;
        // A trailing slash on the new name says "a directory": cap-std drops it before renaming, so a file or a
        // symlink would silently be renamed; the host's rename refuses that with ENOTDIR.
        if new_path.ends_with('/') && !from.symlink_metadata(old_path.trim_end_matches('/'))?.is_dir() {
            return Err(Errno::Notdir);
        }
        Ok(from.rename(old_path, to, new_path)?)
    });
    define!("path_open", |ctx,
                          mem,
                          fd: i32,
                          dirflags: i32,
                          path: i32,
                          len: i32,
                          oflags: i32,
                          base: i64,
                          inheriting: i64,
                          fdflags: i32,
                          out: i32| {
        let new = path_open(
            ctx,
            &mem,
            fd as u32,
            dirflags as u32,
            path as u32,
            len as u32,
            oflags as u16,
            base as u64,
            inheriting as u64,
            fdflags as u16,
        )?;
        let new_fd = ctx.insert(new)?;
        mem.write_u32(out as u32, new_fd)
    });
    define!("poll_oneoff", |ctx, mem, subs: i32, events: i32, count: i32, out: i32| {
        let n = poll_oneoff(ctx, &mut mem, subs as u32, events as u32, count as u32)?;
        mem.write_u32(out as u32, n)
    });
    define!("proc_raise", |ctx, mem, _signal: i32| Err(Errno::Notsup));
    define!("sched_yield", |ctx, mem| {
        std::thread::yield_now();
        Ok(())
    });
    define!("random_get", |ctx, mem, buf: i32, len: i32| {
        use cap_rand::RngCore;
        let bytes = mem.slice_mut(buf as u32, len as u32)?;
        cap_rand::thread_rng(cap_rand::ambient_authority()).fill_bytes(bytes);
        Ok(())
    });
    define!("sock_accept", |ctx, mem, fd: i32, _flags: i32, out: i32| {
        let d = ctx.get(fd as u32)?;
        d.check(rights::SOCK_ACCEPT)?;
        let Kind::Listener(l) = &d.kind else { return Err(Errno::Notsock) };
        let (stream, _) = l.accept()?;
        let new = Descriptor {
            kind: Kind::Stream(stream),
            rights_base: rights::SOCKET & !rights::SOCK_ACCEPT,
            rights_inheriting: 0,
            fdflags: 0,
            preopen: None,
            readonly: false,
        };
        let new_fd = ctx.insert(new)?;
        mem.write_u32(out as u32, new_fd)
    });
    define!("sock_recv", |ctx, mem, fd: i32, iovs: i32, count: i32, flags: i32, out_len: i32, out_flags: i32| {
        let d = ctx.get(fd as u32)?;
        d.check(rights::FD_READ)?;
        let Kind::Stream(s) = &mut d.kind else { return Err(Errno::Notsock) };
        let iovs = mem.iovecs(iovs as u32, count as u32)?;
        let mut total = 0u32;
        for (ptr, len) in iovs {
            let buf = mem.slice_mut(ptr, len)?;
            let n = if flags & 1 != 0 { s.peek(buf)? } else { s.read(buf)? };
            total += n as u32;
            if n < len as usize {
                break;
            }
        }
        mem.write_u32(out_len as u32, total)?;
        mem.write_u16(out_flags as u32, 0)
    });
    define!("sock_send", |ctx, mem, fd: i32, iovs: i32, count: i32, _flags: i32, out: i32| {
        let d = ctx.get(fd as u32)?;
        d.check(rights::FD_WRITE)?;
        let Kind::Stream(s) = &mut d.kind else { return Err(Errno::Notsock) };
        let iovs = mem.iovecs(iovs as u32, count as u32)?;
        let slices = iovs.iter().map(|(p, l)| mem.slice(*p, *l).map(IoSlice::new)).collect::<WasiResult<Vec<_>>>()?;
        let n = s.write_vectored(&slices)?;
        mem.write_u32(out as u32, n as u32)
    });
    define!("sock_shutdown", |ctx, mem, fd: i32, how: i32| {
        let d = ctx.get(fd as u32)?;
        let Kind::Stream(s) = &d.kind else { return Err(Errno::Notsock) };
        d.check(rights::SOCK_SHUTDOWN)?;
        let how = match how {
            1 => std::net::Shutdown::Read,
            2 => std::net::Shutdown::Write,
            3 => std::net::Shutdown::Both,
            _ => return Err(Errno::Inval),
        };
        Ok(s.shutdown(how)?)
    });
    linker.func_wrap("wasi_snapshot_preview1", "proc_exit", |code: i32| -> anyhow::Result<()> {
        Err(I32Exit(code).into())
    })?;
    Ok(())
}

fn write_strings(mem: &mut GuestMemory<'_>, strings: &[Vec<u8>], mut ptrs: u32, mut buf: u32) -> WasiResult<()> {
    for s in strings {
        mem.write_u32(ptrs, buf)?;
        mem.write(buf, s)?;
        mem.write_u8(buf + s.len() as u32, 0)?;
        ptrs = ptrs.checked_add(4).ok_or(Errno::Fault)?;
        buf = buf.checked_add(s.len() as u32 + 1).ok_or(Errno::Fault)?;
    }
    Ok(())
}

fn write_sizes(mem: &mut GuestMemory<'_>, strings: &[Vec<u8>], count: u32, size: u32) -> WasiResult<()> {
    mem.write_u32(count, strings.len() as u32)?;
    mem.write_u32(size, strings.iter().map(|s| s.len() as u32 + 1).sum())
}

fn clock_id(id: u32) -> WasiResult<rustix::time::ClockId> {
    Ok(match id {
        0 => rustix::time::ClockId::Realtime,
        1 => rustix::time::ClockId::Monotonic,
        2 => rustix::time::ClockId::ProcessCPUTime,
        3 => rustix::time::ClockId::ThreadCPUTime,
        _ => return Err(Errno::Inval),
    })
}

fn timespec_ns(ts: rustix::time::Timespec) -> u64 {
    (ts.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add(ts.tv_nsec as u64)
}

fn file(d: &Descriptor) -> WasiResult<&std::fs::File> {
    match &d.kind {
        Kind::File(f) => Ok(f),
        Kind::Dir(_) => Err(Errno::Isdir),
        _ => Err(Errno::Badf),
    }
}

fn dir_of(d: &Descriptor, needed: u64) -> WasiResult<&cap_std::fs::Dir> {
    let Kind::Dir(dir) = &d.kind else { return Err(Errno::Notdir) };
    d.check(needed)?;
    Ok(dir)
}

fn dir_and_path<'a, 'm>(
    ctx: &'a WasiCtx,
    mem: &'m GuestMemory<'_>,
    fd: i32,
    path: i32,
    len: i32,
    needed: u64,
) -> WasiResult<(&'a cap_std::fs::Dir, &'m str)> {
    let d = ctx.fds.get(&(fd as u32)).ok_or(Errno::Badf)?;
    Ok((dir_of(d, needed)?, mem.str(path as u32, len as u32)?))
}

/// The WASI file type of what `d` refers to. An embedder's in-memory stream is a pipe, which WASI has no type for.
fn descriptor_filetype(d: &Descriptor) -> u8 {
    match &d.kind {
        Kind::Reader(_) | Kind::Writer(_) => filetype::UNKNOWN,
        Kind::Dir(_) => filetype::DIRECTORY,
        Kind::Listener(_) | Kind::Stream(_) => filetype::SOCKET_STREAM,
        Kind::File(_) | Kind::Host(_) => host_fd(d)
            .and_then(|fd| rustix::fs::fstat(fd).ok())
            .map_or(filetype::UNKNOWN, |st| mode_filetype(st.st_mode)),
    }
}

/// The host descriptor behind `d`, for what every descriptor supports (`fstat`); `None` for an embedder's stream.
fn host_fd(d: &Descriptor) -> Option<BorrowedFd<'_>> {
    match &d.kind {
        Kind::File(f) => Some(f.as_fd()),
        Kind::Dir(dir) => Some(dir.as_fd()),
        Kind::Host(h) => Some(h.as_fd()),
        Kind::Listener(l) => Some(l.as_fd()),
        Kind::Stream(s) => Some(s.as_fd()),
        Kind::Reader(_) | Kind::Writer(_) => None,
    }
}

/// The host descriptor of a file that can be read or written at an offset (a file, or a host standard stream
/// that is a file), holding the rights `needed`. A stream is ESPIPE whatever its rights (as on the host); a
/// directory lacks the rights as well as the kind, and the rights are what the guest can inspect, so it is
/// ENOTCAPABLE.
fn positioned(d: &Descriptor, needed: u64) -> WasiResult<BorrowedFd<'_>> {
    let fd = match &d.kind {
        Kind::File(f) => f.as_fd(),
        Kind::Host(h) => h.as_fd(),
        Kind::Dir(_) => {
            d.check(needed)?;
            return Err(Errno::Isdir);
        }
        Kind::Reader(_) | Kind::Writer(_) | Kind::Listener(_) | Kind::Stream(_) => return Err(Errno::Spipe),
    };
    d.check(needed)?;
    Ok(fd)
}

fn mode_filetype(mode: u32) -> u8 {
    match rustix::fs::FileType::from_raw_mode(mode) {
        rustix::fs::FileType::RegularFile => filetype::REGULAR_FILE,
        rustix::fs::FileType::Directory => filetype::DIRECTORY,
        rustix::fs::FileType::Symlink => filetype::SYMBOLIC_LINK,
        rustix::fs::FileType::CharacterDevice => filetype::CHARACTER_DEVICE,
        rustix::fs::FileType::BlockDevice => filetype::BLOCK_DEVICE,
        rustix::fs::FileType::Socket => filetype::SOCKET_STREAM,
        rustix::fs::FileType::Fifo | rustix::fs::FileType::Unknown => filetype::UNKNOWN,
    }
}

fn errno(e: rustix::io::Errno) -> Errno {
    Errno::from(std::io::Error::from(e))
}

fn rustix_seek(pos: SeekFrom) -> rustix::fs::SeekFrom {
    match pos {
        SeekFrom::Start(n) => rustix::fs::SeekFrom::Start(n),
        SeekFrom::Current(n) => rustix::fs::SeekFrom::Current(n),
        SeekFrom::End(n) => rustix::fs::SeekFrom::End(n),
    }
}

/// Writes to a host standard stream through its Rust handle, so the host's own buffered output (`println!`)
/// stays in order with the guest's, or to an embedder's stream, and flushes so nothing waits in a buffer.
fn write_host(w: &mut impl Write, slices: &[IoSlice<'_>]) -> std::io::Result<usize> {
    let total = write_each(w, slices)?;
    match w.flush() {
        Err(e) if total == 0 => Err(e),
        _ => Ok(total),
    }
}

fn cap_filetype(t: &cap_std::fs::FileType) -> u8 {
    if t.is_dir() {
        filetype::DIRECTORY
    } else if t.is_file() {
        filetype::REGULAR_FILE
    } else if t.is_symlink() {
        filetype::SYMBOLIC_LINK
    } else if t.is_char_device() {
        filetype::CHARACTER_DEVICE
    } else if t.is_block_device() {
        filetype::BLOCK_DEVICE
    } else if t.is_socket() {
        filetype::SOCKET_STREAM
    } else {
        filetype::UNKNOWN
    }
}

/// A `filestat` record.
#[derive(Default)]
struct Filestat {
    dev: u64,
    ino: u64,
    filetype: u8,
    nlink: u64,
    size: u64,
    atim: u64,
    mtim: u64,
    ctim: u64,
}

fn ns(t: std::io::Result<SystemTime>) -> u64 {
    t.ok().and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos() as u64)
}

fn stat_time(sec: i64, nsec: i64) -> u64 {
    (sec.max(0) as u64).saturating_mul(1_000_000_000).saturating_add(nsec.max(0) as u64)
}

impl Filestat {
    // `st_nlink` is a u64 on x86-64 and a u32 on aarch64.
    #[allow(clippy::useless_conversion)]
    fn from_stat(st: &rustix::fs::Stat) -> Filestat {
        Filestat {
            dev: st.st_dev,
            ino: st.st_ino,
            filetype: mode_filetype(st.st_mode),
            nlink: st.st_nlink.into(),
            size: st.st_size.max(0) as u64,
            atim: stat_time(st.st_atime, st.st_atime_nsec as i64),
            mtim: stat_time(st.st_mtime, st.st_mtime_nsec as i64),
            ctim: stat_time(st.st_ctime, st.st_ctime_nsec as i64),
        }
    }

    fn from_cap(m: &cap_std::fs::Metadata) -> Filestat {
        Filestat {
            dev: m.dev(),
            ino: m.ino(),
            filetype: cap_filetype(&m.file_type()),
            nlink: m.nlink(),
            size: m.len(),
            atim: ns(m.accessed().map(|t| t.into_std())),
            mtim: ns(m.modified().map(|t| t.into_std())),
            ctim: stat_time(m.ctime(), m.ctime_nsec()),
        }
    }

    fn write(&self, mem: &mut GuestMemory<'_>, out: u32) -> WasiResult<()> {
        mem.slice_mut(out, 64)?.fill(0);
        mem.write_u64(out, self.dev)?;
        mem.write_u64(out + 8, self.ino)?;
        mem.write_u8(out + 16, self.filetype)?;
        mem.write_u64(out + 24, self.nlink)?;
        mem.write_u64(out + 32, self.size)?;
        mem.write_u64(out + 40, self.atim)?;
        mem.write_u64(out + 48, self.mtim)?;
        mem.write_u64(out + 56, self.ctim)
    }
}

/// The access and modification times requested by `fstflags` (`None`: leave unchanged).
fn time_specs(atim: u64, mtim: u64, flags: u16) -> WasiResult<(Option<SystemTime>, Option<SystemTime>)> {
    if flags & FSTFLAGS_ATIM != 0 && flags & FSTFLAGS_ATIM_NOW != 0
        || flags & FSTFLAGS_MTIM != 0 && flags & FSTFLAGS_MTIM_NOW != 0
    {
        return Err(Errno::Inval);
    }
    let at = |explicit: bool, now: bool, value: u64| {
        if now {
            Some(SystemTime::now())
        } else if explicit {
            Some(SystemTime::UNIX_EPOCH + Duration::from_nanos(value))
        } else {
            None
        }
    };
    Ok((
        at(flags & FSTFLAGS_ATIM != 0, flags & FSTFLAGS_ATIM_NOW != 0, atim),
        at(flags & FSTFLAGS_MTIM != 0, flags & FSTFLAGS_MTIM_NOW != 0, mtim),
    ))
}

fn cap_time(t: SystemTime) -> cap_fs_ext::SystemTimeSpec {
    cap_fs_ext::SystemTimeSpec::Absolute(cap_std::time::SystemTime::from_std(t))
}

/// Writes each slice in turn. An error after some bytes were written reports those bytes, as a short write:
/// reporting only the error would make the guest write them again.
fn write_each(w: &mut (impl Write + ?Sized), slices: &[IoSlice<'_>]) -> std::io::Result<usize> {
    let mut total = 0usize;
    for s in slices {
        let mut rest: &[u8] = s;
        while !rest.is_empty() && total < MAX_TRANSFER as usize {
            match w.write(rest) {
                Ok(0) => return Ok(total),
                Ok(n) => {
                    total += n;
                    rest = &rest[n..];
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) if total > 0 => return Ok(total),
                Err(e) => return Err(e),
            }
        }
    }
    Ok(total)
}

fn read_vectored(d: &mut Descriptor, mem: &mut GuestMemory<'_>, iovs: &[(u32, u32)]) -> WasiResult<u32> {
    // Only a regular file is read on into the next buffer once one is full: on a pipe, terminal or socket that
    // second read would wait for more input although the guest already has some to work on.
    let regular = match &d.kind {
        Kind::File(f) => f.metadata().is_ok_and(|m| m.is_file()),
        _ => false,
    };
    let mut total = 0u32;
    for &(ptr, len) in iovs {
        if len == 0 {
            continue;
        }
        let buf = mem.slice_mut(ptr, len)?;
        let n = match &mut d.kind {
            Kind::Reader(r) => r.read(buf)?,
            // Unbuffered: a buffer would read ahead of the guest and move a file's offset past what it has read.
            Kind::Host(HostStream::Stdin(s)) => rustix::io::read(&*s, buf).map_err(errno)?,
            Kind::File(f) => f.read(buf)?,
            Kind::Stream(s) => s.read(buf)?,
            Kind::Dir(_) => return Err(Errno::Isdir),
            _ => return Err(Errno::Badf),
        };
        total = total.saturating_add(n as u32);
        if n < len as usize || !regular || total >= MAX_TRANSFER {
            break;
        }
    }
    Ok(total)
}

/// The most bytes one call transfers (Linux's own limit for a read or write), so totals always fit the guest's
/// 32-bit size even when its buffers overlap.
const MAX_TRANSFER: u32 = 0x7fff_f000;

#[allow(clippy::too_many_arguments, reason = "mirrors path_open's WASI signature")]
fn path_open(
    ctx: &mut WasiCtx,
    mem: &GuestMemory<'_>,
    fd: u32,
    dirflags: u32,
    path: u32,
    len: u32,
    oflags: u16,
    base: u64,
    inheriting: u64,
    fdflags: u16,
) -> WasiResult<Descriptor> {
    let parent = ctx.fds.get(&fd).ok_or(Errno::Badf)?;
    let dir = dir_of(parent, rights::PATH_OPEN)?;
    let path = mem.str(path, len)?;
    let follow = dirflags & LOOKUP_SYMLINK_FOLLOW != 0;
    let creat = oflags & OFLAGS_CREAT != 0;
    let excl = oflags & OFLAGS_EXCL != 0;
    let trunc = oflags & OFLAGS_TRUNC != 0;
    let directory = oflags & OFLAGS_DIRECTORY != 0;
    let append = fdflags & FDFLAGS_APPEND != 0;
    if directory && (creat || excl || trunc) {
        return Err(Errno::Inval);
    }
    if fdflags & FDFLAGS_SYNC_ANY != 0 {
        // Synchronous-write modes would need open flags cap-std does not pass through.
        return Err(Errno::Notsup);
    }
    if creat {
        parent.check(rights::PATH_CREATE_FILE)?;
    }
    if trunc {
        parent.check(rights::PATH_FILESTAT_SET_SIZE)?;
    }
    let wants_write = base & rights::WRITE_ACCESS != 0;
    // A read-only directory hands out no way to change anything; the guest's request shows its intent even when
    // the rights it gets would not allow the write.
    if parent.readonly && (wants_write || creat || trunc || append) {
        return Err(Errno::Notcapable);
    }
    // The new descriptor holds what was asked for, within what the directory passes on: asking for more is not an
    // error, the extra rights are simply not granted.
    let allowed = parent.rights_inheriting;
    let readonly = parent.readonly;
    let descriptor = |kind, rights_base: u64| Descriptor {
        kind,
        rights_base: rights_base & allowed,
        rights_inheriting: inheriting & allowed,
        fdflags: fdflags & FDFLAGS_APPEND_NONBLOCK,
        preopen: None,
        readonly,
    };
    if directory {
        let sub = if follow {
            dir.open_dir(path)?
        } else {
            dir.open_dir_nofollow(path).map_err(|e| {
                // A symlink met without following is ELOOP (as O_NOFOLLOW says, and Wasmtime answers), not the
                // ENOTDIR Linux gives when O_DIRECTORY is checked first.
                let is_link = dir.symlink_metadata(path.trim_end_matches('/')).is_ok_and(|m| m.is_symlink());
                if is_link && !path.ends_with('/') { Errno::Loop } else { Errno::from(e) }
            })?
        };
        if wants_write {
            // Checked after opening, so that a file asked for as a directory is still ENOTDIR.
            return Err(Errno::Isdir);
        }
        return Ok(descriptor(Kind::Dir(sub), base & rights::DIR));
    }
    // The host file is opened for writing whenever the guest may create, truncate or write it, and for reading
    // otherwise; what the guest can then do with it is decided by the descriptor's rights, so creating a file never
    // depends on asking for write rights.
    let write = creat || trunc || (wants_write && allowed & rights::WRITE_ACCESS != 0);
    let read = base & (rights::FD_READ | rights::FD_READDIR) != 0 || !write;
    let follow = if follow { cap_fs_ext::FollowSymlinks::Yes } else { cap_fs_ext::FollowSymlinks::No };
    let open = |read: bool, write: bool, creat: bool| {
        let mut options = cap_std::fs::OpenOptions::new();
        options.read(read).write(write).create(creat).create_new(creat && excl).truncate(trunc).follow(follow);
        dir.open_with(path, &options)
    };
    let file = if creat && !excl && !trunc && !wants_write {
        // Creating without asking to write: an existing file is opened only for reading, as natively (it may be
        // read-only on the host, or a FIFO); only a missing one is created, which needs write access.
        match open(true, false, false) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => open(read, true, true)?,
            opened => opened?,
        }
    } else {
        open(read, write, creat)?
    }
    .into_std();
    if file.metadata()?.is_dir() {
        return Ok(descriptor(Kind::Dir(cap_std::fs::Dir::from_std_file(file)), base & rights::DIR));
    }
    if fdflags & (FDFLAGS_APPEND | FDFLAGS_NONBLOCK) != 0 {
        // Set after opening: Rust's and cap-std's `OpenOptions` refuse append together with truncate.
        let mut flags = rustix::fs::fcntl_getfl(&file).map_err(errno)?;
        flags.set(rustix::fs::OFlags::APPEND, append && write);
        flags.set(rustix::fs::OFlags::NONBLOCK, fdflags & FDFLAGS_NONBLOCK != 0);
        rustix::fs::fcntl_setfl(&file, flags).map_err(errno)?;
    }
    Ok(descriptor(Kind::File(file), base & rights::FILE))
}

/// One event `poll_oneoff` reports.
struct Event {
    userdata: u64,
    kind: u8,
    error: Errno,
    nbytes: u64,
    hangup: bool,
}

const EVENTTYPE_CLOCK: u8 = 0;
const EVENTTYPE_FD_READ: u8 = 1;
const EVENTTYPE_FD_WRITE: u8 = 2;

/// `poll_oneoff`: waits until a clock subscription expires or a descriptor is ready. Regular files, directories and
/// the embedder's in-memory streams are always ready; pipes, terminals and sockets are waited for with the host's
/// `poll`, so a program multiplexing stdin and a timeout sleeps instead of spinning.
fn poll_oneoff(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, subs: u32, events: u32, count: u32) -> WasiResult<u32> {
    use rustix::event::{PollFd, PollFlags};
    if count == 0 {
        return Err(Errno::Inval);
    }
    mem.slice(subs, count.checked_mul(48).ok_or(Errno::Fault)?)?;
    mem.slice_mut(events, count.checked_mul(32).ok_or(Errno::Fault)?)?;
    let clock_now = |id| timespec_ns(rustix::time::clock_gettime(id));
    let start = clock_now(rustix::time::ClockId::Monotonic);
    let mut ready: Vec<Event> = Vec::new();
    let mut clocks: Vec<(u64, u64)> = Vec::new(); // (nanoseconds from `start`, userdata)
    let mut waiting: Vec<(u64, u8, BorrowedFd<'_>)> = Vec::new();
    for i in 0..count {
        let sub = subs + i * 48;
        let userdata = mem.read_u64(sub)?;
        match mem.read_u8(sub + 8)? {
            EVENTTYPE_CLOCK => {
                let id = clock_id(mem.read_u32(sub + 16)?)?;
                let timeout = mem.read_u64(sub + 24)?;
                let absolute = mem.read_u16(sub + 40)? & 1 != 0;
                let remaining = match id {
                    rustix::time::ClockId::Realtime | rustix::time::ClockId::Monotonic if absolute => {
                        timeout.saturating_sub(clock_now(id))
                    }
                    // A CPU-time deadline cannot be waited for on the wall clock.
                    _ if absolute => return Err(Errno::Inval),
                    _ => timeout,
                };
                clocks.push((remaining, userdata));
            }
            kind @ (EVENTTYPE_FD_READ | EVENTTYPE_FD_WRITE) => {
                let fd = mem.read_u32(sub + 16)?;
                let error = |error| Event { userdata, kind, error, nbytes: 0, hangup: false };
                let Some(d) = ctx.fds.get(&fd) else {
                    ready.push(error(Errno::Badf));
                    continue;
                };
                let needed = if kind == EVENTTYPE_FD_READ { rights::FD_READ } else { rights::FD_WRITE };
                if let Err(e) = d.check(needed | rights::POLL_FD_READWRITE) {
                    ready.push(error(e));
                    continue;
                }
                match &d.kind {
                    // A regular file never blocks; a FIFO or device opened by path can.
                    Kind::File(f) if f.metadata().is_ok_and(|m| m.is_file()) => {
                        let nbytes = if kind == EVENTTYPE_FD_READ {
                            let len = f.metadata().map(|m| m.len()).unwrap_or(0);
                            len.saturating_sub(rustix::fs::seek(f, rustix::fs::SeekFrom::Current(0)).unwrap_or(len))
                        } else {
                            0
                        };
                        ready.push(Event { nbytes, ..error(Errno::Success) });
                    }
                    Kind::File(_) | Kind::Host(_) | Kind::Stream(_) | Kind::Listener(_) => {
                        let fd = host_fd(d).ok_or(Errno::Badf)?;
                        // A host stream that is a regular file never blocks: `poll` reports it ready at once.
                        waiting.push((userdata, kind, fd));
                    }
                    Kind::Dir(_) | Kind::Reader(_) | Kind::Writer(_) => ready.push(error(Errno::Success)),
                }
            }
            _ => return Err(Errno::Inval),
        }
    }
    let earliest = clocks.iter().map(|(r, _)| *r).min();
    if !waiting.is_empty() {
        let mut pollfds: Vec<PollFd<'_>> = waiting
            .iter()
            .map(|(_, kind, fd)| {
                PollFd::from_borrowed_fd(*fd, if *kind == EVENTTYPE_FD_READ { PollFlags::IN } else { PollFlags::OUT })
            })
            .collect();
        // Wait only when nothing is ready yet; otherwise just collect what is ready now.
        let immediate = !ready.is_empty();
        loop {
            let elapsed = clock_now(rustix::time::ClockId::Monotonic).saturating_sub(start);
            let timeout = match (immediate, earliest) {
                (true, _) => Some(Duration::ZERO),
                (false, Some(ns)) => Some(Duration::from_nanos(ns.saturating_sub(elapsed))),
                (false, None) => None,
            };
            let timeout = timeout.map(|t| rustix::event::Timespec {
                tv_sec: t.as_secs().min(i64::MAX as u64) as i64,
                tv_nsec: i64::from(t.subsec_nanos()),
            });
            match rustix::event::poll(&mut pollfds, timeout.as_ref()) {
                Ok(_) => break,
                // A signal the host process received: wait for what is left of the time.
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(errno(e)),
            }
        }
        for ((userdata, kind, fd), polled) in waiting.iter().zip(&pollfds) {
            let revents = polled.revents();
            if revents.is_empty() {
                continue;
            }
            let error = if revents.contains(PollFlags::NVAL) { Errno::Badf } else { Errno::Success };
            let nbytes = if *kind == EVENTTYPE_FD_READ { rustix::io::ioctl_fionread(fd).unwrap_or(1) } else { 0 };
            let hangup = revents.contains(PollFlags::HUP);
            ready.push(Event { userdata: *userdata, kind: *kind, error, nbytes, hangup });
        }
    } else if ready.is_empty()
        && let Some(ns) = earliest
    {
        std::thread::sleep(Duration::from_nanos(ns));
    }
    // Every clock that has expired by now is reported; when nothing else is, the earliest has.
    let elapsed = clock_now(rustix::time::ClockId::Monotonic).saturating_sub(start);
    for (remaining, userdata) in &clocks {
        if *remaining <= elapsed || (ready.is_empty() && Some(*remaining) == earliest) {
            ready.push(Event {
                userdata: *userdata,
                kind: EVENTTYPE_CLOCK,
                error: Errno::Success,
                nbytes: 0,
                hangup: false,
            });
        }
    }
    for (i, event) in ready.iter().enumerate() {
        let at = events + i as u32 * 32;
        mem.slice_mut(at, 32)?.fill(0);
        mem.write_u64(at, event.userdata)?;
        mem.write_u16(at + 8, event.error as u16)?;
        mem.write_u8(at + 10, event.kind)?;
        mem.write_u64(at + 16, event.nbytes)?;
        mem.write_u16(at + 24, u16::from(event.hangup))?;
    }
    Ok(ready.len() as u32)
}
