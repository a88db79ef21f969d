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

    /// Moves the pages of this mapping's first `len` bytes (page-aligned, accessible) to the start of `dest`, which
    /// must be at least `len` bytes long: contents and protection go with them and nothing is copied, so pages never
    /// touched stay unbacked. Afterwards `self` is only what was not moved: the vacated range is no longer ours (any
    /// thread's next `mmap` may be placed there), so dropping `self` must not unmap it.
    ///
    /// # Safety
    /// No reference may point into either range; raw pointers into the moved range must be re-derived from `dest`.
    pub(crate) unsafe fn move_pages_to(&mut self, len: usize, dest: &Mmap) -> std::io::Result<()> {
        assert!(len <= self.len && len <= dest.len && len.is_multiple_of(page_size()));
        if len == 0 {
            return Ok(());
        }
        // SAFETY: both ranges lie inside mappings we own (asserted above); MREMAP_FIXED replaces the start of `dest`
        // (a mapping of ours, not referenced per the caller) with the moved pages.
        unsafe {
            rustix::mm::mremap_fixed(
                self.ptr.as_ptr().cast(),
                len,
                len,
                rustix::mm::MremapFlags::MAYMOVE,
                dest.ptr.as_ptr().cast(),
            )?;
        }
        // Unmapping the whole original range later would unmap whatever another thread has mapped into the hole
        // since (seen as code memory vanishing under a running test: ENOMEM from mprotect, then a crash).
        let rest = if len == self.len {
            Mmap::empty()
        } else {
            // SAFETY: `len < self.len`, so the address stays inside the original mapping, which is not at null.
            Mmap { ptr: unsafe { NonNull::new_unchecked(self.ptr.as_ptr().add(len)) }, len: self.len - len }
        };
        // The old value must not be dropped: that would unmap the vacated range.
        std::mem::forget(std::mem::replace(self, rest));
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
