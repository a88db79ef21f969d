//! Linear memories whose storage the embedder provides (`Config::with_host_memory`): every access goes to the
//! embedder's bytes, growth goes through it (and may be refused), and a memory with an unsound layout is refused.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use weft::*;

/// A mapping made with libc: `reserve` bytes of address space, the first `size` readable and writable; backed by
/// `file` (shared) when given, so the test can see the bytes through the file too.
struct Mapping {
    base: *mut u8,
    size: usize,
    reserve: usize,
    refuse_growth: bool,
}

// SAFETY: the mapping is owned by this value and only used through it.
unsafe impl Send for Mapping {}
// SAFETY: as above.
unsafe impl Sync for Mapping {}

impl Mapping {
    fn new(size: usize, reserve: usize, file: Option<&std::fs::File>, refuse_growth: bool) -> Mapping {
        use std::os::fd::AsRawFd;
        // SAFETY: a fresh mapping at an address of the kernel's choosing; the accessible part is then made
        // read-write (or replaced by a shared mapping of the file).
        unsafe {
            let base = libc::mmap(
                std::ptr::null_mut(),
                reserve,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            );
            assert_ne!(base, libc::MAP_FAILED);
            if size > 0 {
                match file {
                    Some(f) => {
                        let p = libc::mmap(
                            base,
                            size,
                            libc::PROT_READ | libc::PROT_WRITE,
                            libc::MAP_SHARED | libc::MAP_FIXED,
                            f.as_raw_fd(),
                            0,
                        );
                        assert_eq!(p, base);
                    }
                    None => assert_eq!(libc::mprotect(base, size, libc::PROT_READ | libc::PROT_WRITE), 0),
                }
            }
            Mapping { base: base.cast(), size, reserve, refuse_growth }
        }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: the whole reservation is ours.
        unsafe { libc::munmap(self.base.cast(), self.reserve) };
    }
}

// SAFETY: `base` points to `reserve` mapped bytes owned by this value, the first `size` read-write and the rest
// inaccessible; it never moves.
unsafe impl LinearMemory for Mapping {
    fn byte_size(&self) -> usize {
        self.size
    }
    fn byte_capacity(&self) -> usize {
        self.reserve
    }
    fn grow_to(&mut self, new_size: usize) -> Result<()> {
        if self.refuse_growth {
            anyhow::bail!("this memory does not grow");
        }
        anyhow::ensure!(new_size <= self.reserve, "past the reservation");
        // SAFETY: the range lies inside the reservation.
        let ok = unsafe {
            libc::mprotect(self.base.add(self.size).cast(), new_size - self.size, libc::PROT_READ | libc::PROT_WRITE)
        };
        anyhow::ensure!(ok == 0, "mprotect failed");
        self.size = new_size;
        Ok(())
    }
    fn as_ptr(&self) -> *mut u8 {
        self.base
    }
}

/// Counts the memories it creates; `file` backs them with a shared file mapping; `sound: false` makes the whole
/// reservation accessible (no guard pages), which Weft must refuse.
struct Creator {
    created: AtomicUsize,
    last_base: AtomicUsize,
    file: Option<std::fs::File>,
    refuse_growth: bool,
    sound: bool,
}

impl Creator {
    fn new() -> Creator {
        Creator {
            created: AtomicUsize::new(0),
            last_base: AtomicUsize::new(0),
            file: None,
            refuse_growth: false,
            sound: true,
        }
    }
}

// SAFETY: every memory is a `Mapping` of exactly the reserved size plus guard, inaccessible past its size unless
// `sound` is false (which Weft's checks refuse before using the memory).
unsafe impl MemoryCreator for Creator {
    fn new_memory(
        &self,
        _ty: MemoryType,
        minimum: usize,
        maximum: Option<usize>,
        reserved: Option<usize>,
        guard: usize,
    ) -> Result<Box<dyn LinearMemory>, String> {
        let reserve = match reserved {
            Some(r) => r + guard,
            None => maximum.unwrap_or(minimum).max(minimum).max(1 << 16) * 2,
        };
        let accessible = if self.sound { minimum } else { reserve };
        let mut mapping = Mapping::new(accessible, reserve, self.file.as_ref(), self.refuse_growth);
        mapping.size = minimum;
        self.created.fetch_add(1, Ordering::SeqCst);
        self.last_base.store(mapping.base as usize, Ordering::SeqCst);
        Ok(Box::new(mapping))
    }
}

const MODULE: &str = r#"(module
  (memory (export "memory") 1 4)
  (data (i32.const 8) "from the data segment")
  (func (export "store") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
  (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#;

fn engine_with(creator: Arc<Creator>, bounds_checked: bool) -> Engine {
    let mut config = Config::new();
    config.with_host_memory(creator).explicit_bounds_checks(bounds_checked);
    Engine::new(&config).unwrap()
}

#[test]
fn every_access_goes_to_the_embedders_memory() {
    for bounds_checked in [false, true] {
        let creator = Arc::new(Creator::new());
        let engine = engine_with(creator.clone(), bounds_checked);
        let module = Module::new(&engine, MODULE).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        assert_eq!(creator.created.load(Ordering::SeqCst), 1);
        let base = creator.last_base.load(Ordering::SeqCst) as *const u8;
        // SAFETY: the memory is alive (its instance is) and at least a page long.
        let host_view = |i: usize| unsafe { *base.add(i) };
        assert_eq!(host_view(8), b'f', "the data segment was not written into the embedder's memory");
        let store8 = instance.get_typed_func::<(i32, i32), ()>(&mut store, "store").unwrap();
        let load = instance.get_typed_func::<i32, i32>(&mut store, "load").unwrap();
        store8.call(&mut store, (1000, 77)).unwrap();
        assert_eq!(host_view(1000), 77);
        let grow = instance.get_typed_func::<i32, i32>(&mut store, "grow").unwrap();
        assert_eq!(grow.call(&mut store, 2).unwrap(), 1);
        store8.call(&mut store, (2 * 65536 + 5, 9)).unwrap();
        assert_eq!(load.call(&mut store, 2 * 65536 + 5).unwrap(), 9);
        // Past the size, a trap as always.
        let error = load.call(&mut store, 3 * 65536).unwrap_err();
        assert_eq!(error.downcast_ref::<Trap>(), Some(&Trap::MemoryOutOfBounds));
        // Host-created memories come from the creator too.
        Memory::new(&mut store, MemoryType::new(1, None)).unwrap();
        assert_eq!(creator.created.load(Ordering::SeqCst), 2);
    }
}

#[test]
fn a_file_backed_memory_shows_wasm_writes_in_the_file() {
    use std::io::{Read, Seek};
    let path = std::env::temp_dir().join(format!("weft-host-memory-{}", std::process::id()));
    let file = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&path).unwrap();
    file.set_len(65536).unwrap();
    let creator = Arc::new(Creator { file: Some(file.try_clone().unwrap()), ..Creator::new() });
    let engine = engine_with(creator, false);
    let module = Module::new(&engine, MODULE).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let store8 = instance.get_typed_func::<(i32, i32), ()>(&mut store, "store").unwrap();
    store8.call(&mut store, (4096, 42)).unwrap();
    let mut contents = Vec::new();
    let mut file = file;
    file.rewind().unwrap();
    file.read_to_end(&mut contents).unwrap();
    assert_eq!(&contents[8..29], b"from the data segment");
    assert_eq!(contents[4096], 42);
    drop(store);
    let _ = std::fs::remove_file(path);
}

#[test]
fn a_memory_that_refuses_to_grow_gives_minus_one() {
    let creator = Arc::new(Creator { refuse_growth: true, ..Creator::new() });
    let engine = engine_with(creator, false);
    let module = Module::new(&engine, MODULE).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let grow = instance.get_typed_func::<i32, i32>(&mut store, "grow").unwrap();
    assert_eq!(grow.call(&mut store, 1).unwrap(), -1);
    let memory = instance.get_memory(&mut store, "memory").unwrap();
    assert!(memory.grow(&mut store, 1).is_err());
    assert_eq!(memory.size(&store), 1);
}

#[test]
fn an_unsound_memory_is_refused_with_an_error() {
    let creator = Arc::new(Creator { sound: false, ..Creator::new() });
    let engine = engine_with(creator, false);
    let module = Module::new(&engine, MODULE).unwrap();
    let mut store = Store::new(&engine, ());
    let error = Instance::new(&mut store, &module, &[]).unwrap_err();
    let text = format!("{error:#}");
    assert!(text.contains("guard pages must fault"), "{text}");
}
