//! Memory mappings: reserve address space, then make parts of it accessible or executable; map files privately.

use std::ptr::NonNull;

/// An owned anonymous mapping, unmapped on drop.
#[derive(Debug)]
pub(crate) struct Mmap {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is plain memory owned by this value; access to it is synchronised by its owners.
unsafe impl Send for Mmap {}
// SAFETY: as above; `Mmap` itself offers no interior mutation through `&self` except via raw pointers.
unsafe impl Sync for Mmap {}

pub(crate) fn page_size() -> usize {
    rustix::param::page_size()
}

impl Mmap {
    /// A mapping of no bytes.
    pub(crate) fn empty() -> Mmap {
        Mmap { ptr: NonNull::dangling(), len: 0 }
    }

    /// Reserves `len` bytes of inaccessible address space (`len` may be 0).
    pub(crate) fn reserve(len: usize) -> std::io::Result<Mmap> {
        if len == 0 {
            return Ok(Mmap { ptr: NonNull::dangling(), len: 0 });
        }
        // SAFETY: a fresh anonymous private mapping at an address of the kernel's choosing aliases nothing.
        let ptr = unsafe {
            rustix::mm::mmap_anonymous(
                std::ptr::null_mut(),
                len,
                rustix::mm::ProtFlags::empty(),
                rustix::mm::MapFlags::PRIVATE | rustix::mm::MapFlags::NORESERVE,
            )?
        };
        Ok(Mmap { ptr: NonNull::new(ptr.cast()).expect("mmap never returns null on success"), len })
    }

    /// Reserves `len` bytes and makes them all readable and writable.
    pub(crate) fn accessible(len: usize) -> std::io::Result<Mmap> {
        let m = Mmap::reserve(len)?;
        m.make_accessible(0, len)?;
        Ok(m)
    }

    /// Maps the first `len` bytes of `file` privately (copy-on-write), readable and writable: writes change only
    /// this process's copy, never the file. `len` must not exceed the file's length.
    pub(crate) fn file_private(file: &std::fs::File, len: usize) -> std::io::Result<Mmap> {
        if len == 0 {
            return Ok(Mmap { ptr: NonNull::dangling(), len: 0 });
        }
        // SAFETY: a fresh private file mapping at an address of the kernel's choosing aliases no Rust memory. Writes
        // go to private copies of the pages, so the file is never changed through it.
        let ptr = unsafe {
            rustix::mm::mmap(
                std::ptr::null_mut(),
                len,
                rustix::mm::ProtFlags::READ | rustix::mm::ProtFlags::WRITE,
                rustix::mm::MapFlags::PRIVATE,
                file,
                0,
            )?
        };
        Ok(Mmap { ptr: NonNull::new(ptr.cast()).expect("mmap never returns null on success"), len })
    }

    /// Maps the first `len` bytes of `file` readable and executable, shared: what is written to the file (with
    /// `pwrite`, never through a mapping) is what runs. For run-time code (`lazy::CodeArena`).
    pub(crate) fn file_shared_executable(file: &std::fs::File, len: usize) -> std::io::Result<Mmap> {
        // SAFETY: a fresh shared mapping of the caller's file at an address of the kernel's choosing aliases no Rust
        // memory, and it is not writable.
        let ptr = unsafe {
            rustix::mm::mmap(
                std::ptr::null_mut(),
                len.max(1),
                rustix::mm::ProtFlags::READ | rustix::mm::ProtFlags::EXEC,
                rustix::mm::MapFlags::SHARED,
                file,
                0,
            )?
        };
        Ok(Mmap { ptr: NonNull::new(ptr.cast()).expect("mmap never returns null on success"), len: len.max(1) })
    }

    /// Maps the first `len` bytes of `file` readable and executable, privately: the mapping is never used, only
    /// seen. `perf record` notes every executable file mapping, which is how it finds a jitdump file.
    pub(crate) fn file_exec_marker(file: &std::fs::File, len: usize) -> std::io::Result<Mmap> {
        // SAFETY: as in `file_private`; nothing reads or executes the mapping.
        let ptr = unsafe {
            rustix::mm::mmap(
                std::ptr::null_mut(),
                len.max(1),
                rustix::mm::ProtFlags::READ | rustix::mm::ProtFlags::EXEC,
                rustix::mm::MapFlags::PRIVATE,
                file,
                0,
            )?
        };
        Ok(Mmap { ptr: NonNull::new(ptr.cast()).expect("mmap never returns null on success"), len: len.max(1) })
    }

    /// Maps the first `len` bytes of `file` privately (copy-on-write) over `[start, start+len)`, readable and
    /// writable, replacing what was there. Both must be page-aligned, inside the mapping, and within the file.
    pub(crate) fn map_file_over(&self, start: usize, len: usize, file: &std::fs::File) -> std::io::Result<()> {
        assert!(start.checked_add(len).is_some_and(|end| end <= self.len));
        if len == 0 {
            return Ok(());
        }
        // SAFETY: MAP_FIXED replaces only pages inside our own mapping (asserted above), whose old contents the
        // caller no longer needs; writes go to private copies, never to the file.
        unsafe {
            rustix::mm::mmap(
                self.ptr.as_ptr().add(start).cast(),
                len,
                rustix::mm::ProtFlags::READ | rustix::mm::ProtFlags::WRITE,
                rustix::mm::MapFlags::PRIVATE | rustix::mm::MapFlags::FIXED,
                file,
                0,
            )?;
        }
        Ok(())
    }

    /// Replaces `[start, start+len)` with fresh anonymous pages, readable and writable and zero (undoing
    /// [`Mmap::map_file_over`]). Both must be page-aligned and inside the mapping.
    pub(crate) fn reset_anonymous(&self, start: usize, len: usize) -> std::io::Result<()> {
        assert!(start.checked_add(len).is_some_and(|end| end <= self.len));
        if len == 0 {
            return Ok(());
        }
        // SAFETY: as for `map_file_over`: only pages of our own mapping are replaced.
        unsafe {
            rustix::mm::mmap_anonymous(
                self.ptr.as_ptr().add(start).cast(),
                len,
                rustix::mm::ProtFlags::READ | rustix::mm::ProtFlags::WRITE,
                rustix::mm::MapFlags::PRIVATE | rustix::mm::MapFlags::FIXED | rustix::mm::MapFlags::NORESERVE,
            )?;
        }
        Ok(())
    }

    pub(crate) fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Makes `[start, start+len)` readable and writable. Both must be page-aligned and inside the mapping.
    pub(crate) fn make_accessible(&self, start: usize, len: usize) -> std::io::Result<()> {
        assert!(start.checked_add(len).is_some_and(|end| end <= self.len));
        if len == 0 {
            return Ok(());
        }
        // SAFETY: the range lies inside our own mapping (asserted above); changing its protection affects only memory
        // this value owns.
        unsafe {
            rustix::mm::mprotect(
                self.ptr.as_ptr().add(start).cast(),
                len,
                rustix::mm::MprotectFlags::READ | rustix::mm::MprotectFlags::WRITE,
            )?;
        }
        Ok(())
    }

    /// Drops the pages of `[start, start+len)`: they read as zero from now on, and use no memory until written.
    /// Both must be page-aligned and inside the mapping.
    pub(crate) fn discard(&self, start: usize, len: usize) -> std::io::Result<()> {
        assert!(start.checked_add(len).is_some_and(|end| end <= self.len));
        if len == 0 {
            return Ok(());
        }
        // SAFETY: the range lies inside our own mapping (asserted above) and the caller no longer needs its contents;
        // dropping the pages of a private anonymous mapping makes them zero-filled on the next access.
        unsafe { rustix::mm::madvise(self.ptr.as_ptr().add(start).cast(), len, rustix::mm::Advice::LinuxDontNeed)? };
        Ok(())
    }

    /// Makes `[start, start+len)` inaccessible. Both must be page-aligned and inside the mapping.
    pub(crate) fn make_inaccessible(&self, start: usize, len: usize) -> std::io::Result<()> {
        assert!(start.checked_add(len).is_some_and(|end| end <= self.len));
        if len == 0 {
            return Ok(());
        }
        // SAFETY: the range lies inside our own mapping (asserted above); removing access only makes accesses fault.
        unsafe { rustix::mm::mprotect(self.ptr.as_ptr().add(start).cast(), len, rustix::mm::MprotectFlags::empty())? };
        Ok(())
    }

    /// Grows the mapping to `new_len` bytes, where it is or by moving it (its pages move, their bytes are not
    /// copied); the new part has the protection of the mapping's last page. On failure the mapping is unchanged.
    /// The whole of `self` must be one mapping of one protection: the kernel moves nothing else in one call.
    ///
    /// # Safety
    /// No reference may point into the mapping; raw pointers into it must be re-derived from [`Mmap::as_ptr`].
    pub(crate) unsafe fn resize(&mut self, new_len: usize) -> std::io::Result<()> {
        assert!(new_len >= self.len);
        if self.len == 0 {
            return Err(std::io::Error::other("an empty mapping has nothing to resize"));
        }
        // SAFETY: the range is exactly a mapping we own; without MREMAP_FIXED the kernel picks any new place and
        // unmaps nothing else, and on failure leaves the mapping as it was.
        let ptr = unsafe {
            rustix::mm::mremap(self.ptr.as_ptr().cast(), self.len, new_len, rustix::mm::MremapFlags::MAYMOVE)?
        };
        self.ptr = NonNull::new(ptr.cast()).expect("mremap never returns null on success");
        self.len = new_len;
        Ok(())
    }

    /// Makes `[start, start+len)` readable and executable (and no longer writable). `start` must be page-aligned;
    /// the range must lie inside the mapping.
    pub(crate) fn make_executable(&self, start: usize, len: usize) -> std::io::Result<()> {
        assert!(start.checked_add(len).is_some_and(|end| end <= self.len));
        if len == 0 {
            return Ok(());
        }
        // SAFETY: the range lies inside our own mapping (asserted above).
        unsafe {
            rustix::mm::mprotect(
                self.ptr.as_ptr().add(start).cast(),
                len,
                rustix::mm::MprotectFlags::READ | rustix::mm::MprotectFlags::EXEC,
            )?;
        }
        Ok(())
    }
}

impl Drop for Mmap {
    fn drop(&mut self) {
        if self.len == 0 {
            return;
        }
        // SAFETY: we own the mapping and nothing refers to it once its owner is dropped.
        unsafe {
            rustix::mm::munmap(self.ptr.as_ptr().cast(), self.len).expect("munmap of an owned mapping");
        }
    }
}
