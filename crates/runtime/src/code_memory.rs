//! Executable memory for compiled code, and the process-wide registry the signal handler consults.

use crate::libcalls;
use crate::mmap::{Mmap, page_size};
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use weft_environ::{CompiledCode, Module, Trap};

/// A module's machine code, mapped read+execute (never writable and executable at once), plus its metadata.
///
/// While a `CodeMemory` is alive its address range is registered, so faults inside it become traps.
pub struct CodeMemory {
    /// The mapping holding the text section at `text_offset` (the whole artifact file when loaded from one).
    mmap: Mmap,
    text_offset: usize,
    text_len: usize,
    info: Arc<CompiledCode>,
    module: Option<Arc<Module>>,
    /// The relocated `.eh_frame`, registered with the system unwinder while this value lives.
    eh_frame: Vec<u8>,
    /// The description of this code listed for debuggers (`Config::debug_info`), unlisted when the code goes.
    debug_image: std::sync::OnceLock<crate::GdbJitImage>,
    /// For a lazily compiled module, its code table and the code compiled while it runs.
    lazy: std::sync::OnceLock<Arc<crate::LazyCode>>,
}

/// A file mapped privately (copy-on-write), so that precompiled code can be loaded from it without copying it.
///
/// The file must not be truncated or changed while it is mapped: reading a page the file no longer has raises
/// `SIGBUS`, and pages not yet copied show the file's new contents.
pub struct MappedFile {
    mmap: Mmap,
}

impl MappedFile {
    /// Maps the whole of `file`.
    pub fn new(file: &std::fs::File) -> std::io::Result<MappedFile> {
        let len = usize::try_from(file.metadata()?.len())
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "file too large to map"))?;
        Ok(MappedFile { mmap: Mmap::file_private(file, len)? })
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        if self.mmap.len() == 0 {
            return &[];
        }
        // SAFETY: the mapping is readable, `len` bytes long and lives as long as `self`; nothing writes to it while
        // it is shared (only `CodeMemory::from_mapped_file`, which takes it by value, writes relocations).
        unsafe { std::slice::from_raw_parts(self.mmap.as_ptr(), self.mmap.len()) }
    }
}

unsafe extern "C" {
    /// libgcc's unwinder: registers a whole `.eh_frame` section (zero-terminated).
    pub(crate) fn __register_frame(eh_frame: *const u8);
    pub(crate) fn __deregister_frame(eh_frame: *const u8);
}

/// Writes the absolute address of each libcall `code` calls into `text`, its text as placed in memory.
pub(crate) fn write_libcall_addresses(text: &mut [u8], code: &CompiledCode) -> std::io::Result<()> {
    for reloc in &code.libcall_relocations {
        let value = (libcalls::address(reloc.libcall) as i64).wrapping_add(reloc.addend) as u64;
        let at = reloc.offset as usize;
        let field = at
            .checked_add(8)
            .and_then(|end| text.get_mut(at..end))
            .ok_or_else(|| invalid(format!("libcall relocation at {at:#x} outside the text section")))?;
        field.copy_from_slice(&value.to_le_bytes());
    }
    Ok(())
}

/// `code`'s `.eh_frame` with its text offsets turned into addresses, for text placed at `start`.
pub(crate) fn relocated_eh_frame(code: &CompiledCode, start: usize) -> std::io::Result<Vec<u8>> {
    let mut eh_frame = code.eh_frame.clone();
    for &at in &code.eh_frame_relocations {
        let field = eh_frame
            .get_mut(at as usize..at as usize + 8)
            .ok_or_else(|| invalid(format!("unwind info relocation at {at:#x} outside .eh_frame")))?;
        let offset = u64::from_le_bytes(field.try_into().expect("8 bytes"));
        field.copy_from_slice(&(start as u64 + offset).to_le_bytes());
    }
    Ok(eh_frame)
}

impl std::fmt::Debug for CodeMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeMemory").field("start", &self.mmap.as_ptr()).field("len", &self.mmap.len()).finish()
    }
}

/// One registered code range.
#[derive(Clone)]
struct Entry {
    start: usize,
    end: usize,
    code: EntryCode,
    module: Option<Arc<Module>>,
}

/// What a registered range holds.
#[derive(Clone)]
enum EntryCode {
    /// One text section described by one `CompiledCode`.
    Whole(Arc<CompiledCode>),
    /// A lazily compiled module's arena: functions added while it runs, each with its own `CompiledCode`.
    Arena(ArenaPtr),
}

/// A registered arena. Valid while registered: the arena removes its entry (and waits out readers) before it is
/// freed.
#[derive(Copy, Clone)]
struct ArenaPtr(*const crate::lazy::CodeArena);

impl ArenaPtr {
    /// The function of the arena holding arena offset `offset`.
    fn function_at(&self, offset: usize) -> Option<&crate::lazy::ArenaFunction> {
        // SAFETY: a registered arena is alive (see the type's comment), and a pointer is only reached through an
        // entry of a live registry snapshot, which outlives this borrow.
        unsafe { &*self.0 }.find(offset)
    }
}
// SAFETY: the arena is `Sync` in all it offers readers (`find` reads published, immutable slots), and it outlives
// its registration.
unsafe impl Send for ArenaPtr {}
// SAFETY: as above.
unsafe impl Sync for ArenaPtr {}

impl Entry {
    /// The code holding `pc` (inside this entry's range) and the address its offsets count from.
    fn resolve(&self, pc: usize) -> Option<(&CompiledCode, usize)> {
        match &self.code {
            EntryCode::Whole(code) => Some((code, self.start)),
            EntryCode::Arena(arena) => {
                let function = arena.function_at(pc - self.start)?;
                Some((&*function.code, self.start + function.start))
            }
        }
    }
}

/// The registration of a lazily compiled module's arena, removed when dropped.
pub(crate) struct ArenaRegistration {
    start: usize,
}

impl ArenaRegistration {
    /// Registers `arena`, which must stay at its address until the registration is dropped.
    pub(crate) fn new(arena: &crate::lazy::CodeArena, module: Option<Arc<Module>>) -> ArenaRegistration {
        let (start, end) = arena.range();
        let entry = Entry { start, end, code: EntryCode::Arena(ArenaPtr(arena)), module };
        update_registry(|entries| entries.push(entry));
        ArenaRegistration { start }
    }
}

impl Drop for ArenaRegistration {
    fn drop(&mut self) {
        let start = self.start;
        update_registry(|entries| entries.retain(|e| e.start != start));
    }
}

/// The registry is an immutable snapshot (entries sorted by start) behind an atomic pointer, so that readers,
/// including the signal handler, never take a lock: a reader counts itself in `READERS` while it looks, and a
/// writer (serialised by `WRITER`) publishes a new snapshot and frees the old one only once no reader is active.
/// The counter is incremented before the pointer is loaded, and the writer stores the pointer before it checks
/// the counter; with sequentially consistent ordering a reader either sees the new snapshot or is seen by the
/// writer, which then waits for it.
static SNAPSHOT: AtomicPtr<Vec<Entry>> = AtomicPtr::new(std::ptr::null_mut());
static READERS: AtomicUsize = AtomicUsize::new(0);
static WRITER: Mutex<()> = Mutex::new(());

/// Runs `f` on the current snapshot. Lock-free and allocation-free: safe in the signal handler.
fn read_registry<R>(f: impl FnOnce(&[Entry]) -> R) -> R {
    READERS.fetch_add(1, SeqCst);
    let snapshot = SNAPSHOT.load(SeqCst);
    // SAFETY: a published snapshot stays alive while `READERS` counts us (writers wait for zero before freeing).
    let entries: &[Entry] = if snapshot.is_null() { &[] } else { unsafe { &*snapshot } };
    let result = f(entries);
    READERS.fetch_sub(1, SeqCst);
    result
}

/// Replaces the snapshot with `f` applied to a copy of it.
fn update_registry(f: impl FnOnce(&mut Vec<Entry>)) {
    let _writer = WRITER.lock().unwrap_or_else(|e| e.into_inner());
    let old = SNAPSHOT.load(SeqCst);
    // SAFETY: only writers replace the snapshot, and we hold the writer lock, so `old` is live.
    let mut entries = if old.is_null() { Vec::new() } else { unsafe { (*old).clone() } };
    f(&mut entries);
    entries.sort_by_key(|e| e.start);
    SNAPSHOT.store(Box::into_raw(Box::new(entries)), SeqCst);
    while READERS.load(SeqCst) != 0 {
        std::hint::spin_loop();
    }
    if !old.is_null() {
        // SAFETY: `old` came from `Box::into_raw`, is no longer published, and no reader can still hold it.
        drop(unsafe { Box::from_raw(old) });
    }
}

fn find(entries: &[Entry], pc: usize) -> Option<&Entry> {
    let i = entries.partition_point(|e| e.start <= pc).checked_sub(1)?;
    let e = &entries[i];
    (pc < e.end).then_some(e)
}

fn invalid(message: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, message)
}

impl CodeMemory {
    /// Copies `code.text` into fresh memory, fills in libcall addresses, makes it executable and registers it (with
    /// `module`, for naming frames in backtraces).
    pub fn new(mut code: CompiledCode, module: Option<Arc<Module>>) -> std::io::Result<Arc<CodeMemory>> {
        let text = std::mem::take(&mut code.text);
        let mmap = Mmap::accessible(text.len().max(1).next_multiple_of(page_size()))?;
        // SAFETY: the mapping is fresh, writable and at least `text.len()` bytes long.
        unsafe { std::ptr::copy_nonoverlapping(text.as_ptr(), mmap.as_ptr(), text.len()) };
        Self::load(mmap, 0, text.len(), code, module)
    }

    /// Uses the bytes `text` of a mapped file as the text section of `code` (whose own `text` is ignored), without
    /// copying them: the pages holding libcall relocations become private copies, the rest stay shared with the
    /// page cache. A `text.start` that is not page-aligned (a host whose pages are larger than the artifact's
    /// alignment) makes it a copy.
    pub fn from_mapped_file(
        file: MappedFile,
        text: std::ops::Range<usize>,
        code: CompiledCode,
        module: Option<Arc<Module>>,
    ) -> std::io::Result<Arc<CodeMemory>> {
        if text.start > text.end || text.end > file.mmap.len() {
            return Err(invalid(format!("text section {text:?} is not a range of the file")));
        }
        if !text.start.is_multiple_of(page_size()) {
            // Artifacts align their text to 4 KiB; on a host with larger pages (16 or 64 KiB on some aarch64
            // kernels) it cannot be mapped in place, so it is copied.
            let mut code = code;
            code.text = file.bytes()[text].to_vec();
            return Self::new(code, module);
        }
        Self::load(file.mmap, text.start, text.len(), code, module)
    }

    /// Applies relocations to the writable text at `mmap[text_offset..][..text_len]`, makes it executable, registers
    /// its unwind info and its range.
    fn load(
        mmap: Mmap,
        text_offset: usize,
        text_len: usize,
        mut code: CompiledCode,
        module: Option<Arc<Module>>,
    ) -> std::io::Result<Arc<CodeMemory>> {
        code.text = Vec::new();
        let start = mmap.as_ptr() as usize + text_offset;
        if text_offset.checked_add(text_len).is_none_or(|end| end > mmap.len()) {
            return Err(invalid(format!("text section of {text_len} bytes outside its mapping")));
        }
        // SAFETY: `[start, start + text_len)` lies in `mmap` (checked above), which is still writable and which
        // nothing else refers to yet.
        let text = unsafe { std::slice::from_raw_parts_mut(start as *mut u8, text_len) };
        write_libcall_addresses(text, &code)?;
        let exec_len = text_len.max(1).next_multiple_of(page_size()).min(mmap.len() - text_offset);
        mmap.make_executable(text_offset, exec_len)?;
        crate::arch::flush_icache(start as *const u8, text_len);
        let eh_frame = relocated_eh_frame(&code, start)?;
        if !eh_frame.is_empty() {
            // SAFETY: `eh_frame` is a complete, zero-terminated section whose FDEs describe code in `mmap`; both live
            // until `Drop` deregisters the section.
            unsafe { __register_frame(eh_frame.as_ptr()) };
        }
        let info = Arc::new(code);
        let entry =
            Entry { start, end: start + text_len.max(1), code: EntryCode::Whole(info.clone()), module: module.clone() };
        update_registry(|entries| entries.push(entry));
        Ok(Arc::new(CodeMemory {
            mmap,
            text_offset,
            text_len,
            info,
            module,
            eh_frame,
            debug_image: Default::default(),
            lazy: Default::default(),
        }))
    }

    /// The text section as it is mapped (with libcall addresses filled in).
    pub fn text(&self) -> &[u8] {
        // SAFETY: the text is readable (read+execute), `text_len` bytes long, never written again, and lives as long
        // as `self`.
        unsafe { std::slice::from_raw_parts(self.text_start(), self.text_len) }
    }

    /// Address of the first byte of the text section.
    pub fn text_start(&self) -> *const u8 {
        self.mmap.as_ptr().wrapping_add(self.text_offset)
    }

    /// The metadata (function locations, traps, address map).
    pub fn info(&self) -> &CompiledCode {
        &self.info
    }

    /// The module the code was compiled from, if any.
    pub fn module(&self) -> Option<&Arc<Module>> {
        self.module.as_ref()
    }

    /// The relocated `.eh_frame` (absolute addresses), as registered with the system unwinder.
    pub fn eh_frame(&self) -> &[u8] {
        &self.eh_frame
    }

    /// Lists `image`, an object file describing this code at its loaded addresses, for debuggers (gdb's JIT
    /// interface) until the code is freed. Only the first image given is listed.
    pub fn register_debug_image(&self, image: Vec<u8>) {
        self.debug_image.get_or_init(|| crate::GdbJitImage::register(image));
    }

    /// Makes this (a lazily compiled module's text of trampolines and stubs) the code of `lazy`'s module.
    pub fn set_lazy(&self, lazy: Arc<crate::LazyCode>) {
        let _ = self.lazy.set(lazy);
    }

    /// For a lazily compiled module, its code table and run-time code.
    pub fn lazy(&self) -> Option<&Arc<crate::LazyCode>> {
        self.lazy.get()
    }

    /// Address of `offset` within the text section.
    pub fn at(&self, offset: u32) -> *const u8 {
        assert!((offset as usize) < self.text_len.max(1));
        self.text_start().wrapping_add(offset as usize)
    }
}

impl Drop for CodeMemory {
    fn drop(&mut self) {
        // Debuggers hear that the code is gone before it is.
        drop(self.debug_image.take());
        if !self.eh_frame.is_empty() {
            // SAFETY: registered in `new` with this exact pointer, which is still alive.
            unsafe { __deregister_frame(self.eh_frame.as_ptr()) };
        }
        let start = self.text_start() as usize;
        update_registry(|entries| entries.retain(|e| e.start != start));
    }
}

/// Where a compiled-code address comes from.
pub struct CodeLookup {
    /// The code's metadata.
    pub code: Arc<CompiledCode>,
    /// The module it was compiled from (`None` for trampolines not tied to a module).
    pub module: Option<Arc<Module>>,
    /// The address's offset in the text section.
    pub offset: u32,
}

/// The registered code containing `pc`.
pub fn lookup_code(pc: usize) -> Option<CodeLookup> {
    read_registry(|entries| {
        let e = find(entries, pc)?;
        let (code, start) = match &e.code {
            EntryCode::Whole(code) => (code.clone(), e.start),
            EntryCode::Arena(arena) => {
                let function = arena.function_at(pc - e.start)?;
                (function.code.clone(), e.start + function.start)
            }
        };
        Some(CodeLookup { code, module: e.module.clone(), offset: (pc - start) as u32 })
    })
}

/// Whether `pc` lies in registered compiled code. Lock-free: called from the signal handler.
pub(crate) fn is_compiled_code(pc: usize) -> bool {
    read_registry(|entries| find(entries, pc).is_some_and(|e| e.resolve(pc).is_some()))
}

/// For a return address: `None` if it is not in compiled code; otherwise the handler of the call returning there,
/// if that call is inside a `try_table` (the handler's address and the calling frame's distance from stack pointer
/// to frame pointer at the call). One registry search answers both. Lock-free.
pub(crate) fn lookup_exception_handler(return_address: usize) -> Option<Option<(usize, usize)>> {
    read_registry(|entries| {
        let e = find(entries, return_address)?;
        let (code, start) = e.resolve(return_address)?;
        let site = code.lookup_exception_handler((return_address - start) as u32);
        Some(site.map(|site| (start + site.handler_offset as usize, site.sp_to_fp as usize)))
    })
}

/// The trap raised by the instruction at `pc`, if `pc` is a trap site in registered code. Lock-free and
/// allocation-free: called from the signal handler.
pub(crate) fn lookup_trap(pc: usize) -> Option<Trap> {
    read_registry(|entries| {
        let e = find(entries, pc)?;
        let (code, start) = e.resolve(pc)?;
        code.lookup_trap((pc - start) as u32)
    })
}
