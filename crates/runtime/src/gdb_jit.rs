//! gdb's JIT interface: how a process tells a debugger about code it generated.
//!
//! gdb (and lldb) put a breakpoint on `__jit_debug_register_code` and, when it is hit, read
//! `__jit_debug_descriptor`: a linked list of in-memory object files, each describing generated code (symbols,
//! DWARF, unwind tables) at the addresses where it runs. The relevant entry and the action say what changed. The
//! protocol is gdb's ("JIT Compilation Interface" in its manual); the names and layouts below are fixed by it.
//!
//! The list is process-wide and changed under one lock; each [`GdbJitImage`] stays in it for as long as it lives.

use std::sync::Mutex;

/// `jit_actions_t`.
const JIT_NOACTION: u32 = 0;
const JIT_REGISTER_FN: u32 = 1;
const JIT_UNREGISTER_FN: u32 = 2;

/// `struct jit_code_entry`.
#[repr(C)]
struct JitCodeEntry {
    next_entry: *mut JitCodeEntry,
    prev_entry: *mut JitCodeEntry,
    symfile_addr: *const u8,
    symfile_size: u64,
}

/// `struct jit_descriptor`.
#[repr(C)]
pub struct JitDescriptor {
    version: u32,
    action_flag: u32,
    relevant_entry: *mut JitCodeEntry,
    first_entry: *mut JitCodeEntry,
}

/// The descriptor the debugger reads. Only `register`/`unregister` change it, under `LOCK`.
// `no_mangle` is sound here: gdb's protocol fixes these two names, and nothing else in a process may define them
// (a second JIT in the same process would be a link error, not a silent clash).
#[unsafe(no_mangle)]
#[used]
pub static mut __jit_debug_descriptor: JitDescriptor = JitDescriptor {
    version: 1,
    action_flag: JIT_NOACTION,
    relevant_entry: std::ptr::null_mut(),
    first_entry: std::ptr::null_mut(),
};

/// The function the debugger breaks on; it is called after each change of the descriptor. It must not be inlined
/// or merged away, hence the side effect the optimiser cannot see through.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn __jit_debug_register_code() {
    // Taking the descriptor's address has no effect; `black_box` keeps the function and its call.
    std::hint::black_box(std::ptr::addr_of!(__jit_debug_descriptor));
}

static LOCK: Mutex<()> = Mutex::new(());

/// An object file describing generated code, listed for debuggers while this value lives.
pub struct GdbJitImage {
    /// The object file's bytes; the entry points into them, so they never move or change (kept only for that).
    _image: Box<[u8]>,
    entry: Box<JitCodeEntry>,
}

// SAFETY: the raw pointers in `entry` are only followed by the debugger and, under `LOCK`, by `register` and
// `Drop`; the image is immutable.
unsafe impl Send for GdbJitImage {}
// SAFETY: as above; `&GdbJitImage` gives access to nothing.
unsafe impl Sync for GdbJitImage {}

impl GdbJitImage {
    /// Lists `image` (an ELF object whose addresses are those of loaded code) for debuggers.
    pub fn register(image: Vec<u8>) -> GdbJitImage {
        let image = image.into_boxed_slice();
        let mut entry = Box::new(JitCodeEntry {
            next_entry: std::ptr::null_mut(),
            prev_entry: std::ptr::null_mut(),
            symfile_addr: image.as_ptr(),
            symfile_size: image.len() as u64,
        });
        let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let entry_ptr: *mut JitCodeEntry = &mut *entry;
        // SAFETY: the descriptor and every listed entry are only changed under `LOCK`, which is held; listed
        // entries are alive (each is unlisted before it is freed).
        unsafe {
            let descriptor = &mut *std::ptr::addr_of_mut!(__jit_debug_descriptor);
            (*entry_ptr).next_entry = descriptor.first_entry;
            if !descriptor.first_entry.is_null() {
                (*descriptor.first_entry).prev_entry = entry_ptr;
            }
            descriptor.first_entry = entry_ptr;
            descriptor.relevant_entry = entry_ptr;
            descriptor.action_flag = JIT_REGISTER_FN;
        }
        __jit_debug_register_code();
        GdbJitImage { _image: image, entry }
    }
}

impl Drop for GdbJitImage {
    fn drop(&mut self) {
        let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let entry_ptr: *mut JitCodeEntry = &mut *self.entry;
        // SAFETY: under `LOCK`; the entry is listed (it was in `register`) and its neighbours are alive.
        unsafe {
            let descriptor = &mut *std::ptr::addr_of_mut!(__jit_debug_descriptor);
            let (prev, next) = ((*entry_ptr).prev_entry, (*entry_ptr).next_entry);
            if prev.is_null() {
                descriptor.first_entry = next;
            } else {
                (*prev).next_entry = next;
            }
            if !next.is_null() {
                (*next).prev_entry = prev;
            }
            descriptor.relevant_entry = entry_ptr;
            descriptor.action_flag = JIT_UNREGISTER_FN;
        }
        __jit_debug_register_code();
        // SAFETY: under `LOCK`, as above.
        unsafe {
            let descriptor = &mut *std::ptr::addr_of_mut!(__jit_debug_descriptor);
            descriptor.relevant_entry = std::ptr::null_mut();
            descriptor.action_flag = JIT_NOACTION;
        }
    }
}
