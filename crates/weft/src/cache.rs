//! The compilation cache: compiled modules kept as artifact files, keyed by everything that shapes their code.
//!
//! An entry is `<dir>/<key>.cwasm`, an ordinary artifact (see `serialize`), so every check that protects
//! [`Module::deserialize`] protects cache hits too: a damaged, truncated or foreign entry is refused, and then
//! treated as a miss (recompiled and replaced), never as an error. Writers write a temporary file in the same
//! directory and rename it over the entry, so concurrent writers (threads or processes) never expose a half-written
//! entry: a reader sees the old file, the new one, or none. Hits are loaded by mapping the file; a later rename or
//! eviction unlinks the name, not the mapped inode.

use crate::serialize::BUILD_ID;
use crate::{Engine, Module, Result};
use sha2::{Digest, Sha256};
use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

/// Temporary files older than this were left by a writer that died; eviction removes them.
const STALE_TEMP: Duration = Duration::from_secs(3600);
const ENTRY_EXTENSION: &str = "cwasm";

/// The cache key of `wasm` compiled by `engine`: a SHA-256 over the Weft build, the target with its CPU features,
/// the whole [`crate::config::CodeSettings`] the compiler is given, and the module's bytes.
pub(crate) fn key(engine: &Engine, wasm: &[u8]) -> String {
    let settings = postcard::to_stdvec(&engine.config().code).expect("code settings always encode");
    let mut hash = Sha256::new();
    hash.update(b"weft compilation cache key v1\0");
    for part in [BUILD_ID.as_bytes(), engine.target().as_bytes(), &settings, wasm] {
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part);
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Loads `wasm`'s compiled code from the cache in `dir`, or compiles it and stores the result (keeping `dir` within
/// `max_bytes`).
pub(crate) fn load_or_compile(engine: &Engine, dir: &Path, max_bytes: u64, wasm: &[u8]) -> Result<Module> {
    let path = dir.join(format!("{}.{ENTRY_EXTENSION}", key(engine, wasm)));
    if let Ok(file) = fs::File::open(&path) {
        match Module::deserialize_open_file(engine, &file) {
            Ok(module) => {
                // Eviction removes the least recently used entries first; a hit counts as a use.
                let _ = file.set_modified(SystemTime::now());
                return Ok(module);
            }
            // A damaged or foreign entry: compile again and replace it.
            Err(_) => drop(fs::remove_file(&path)),
        }
    }
    let module = Module::compile(engine, wasm)?;
    // A cache that cannot be written (full disk, read-only directory) costs time, not correctness.
    let _ = module.serialize().and_then(|bytes| Ok(store(dir, max_bytes, &path, &bytes)?));
    Ok(module)
}

/// Writes an entry atomically (temporary file, then rename), then keeps the directory within its size bound.
fn store(dir: &Path, max_bytes: u64, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    fs::create_dir_all(dir)?;
    let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_nanos();
    let temp = dir.join(format!(".tmp-{}-{nanos}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed)));
    let written = fs::write(&temp, bytes).and_then(|()| fs::rename(&temp, path));
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    written?;
    evict(dir, max_bytes)
}

/// Removes least recently used entries until the cache holds at most three quarters of its bound (so that not
/// every write has to evict), and temporary files left behind by writers that died.
fn evict(dir: &Path, max_bytes: u64) -> std::io::Result<()> {
    let now = SystemTime::now();
    let mut entries = Vec::new();
    let mut total = 0u64;
    for entry in fs::read_dir(dir)?.flatten() {
        let Ok(meta) = entry.metadata() else { continue };
        let modified = meta.modified().unwrap_or(now);
        let path = entry.path();
        let is_temp = entry.file_name().to_string_lossy().starts_with(".tmp-");
        if is_temp && now.duration_since(modified).is_ok_and(|age| age > STALE_TEMP) {
            let _ = fs::remove_file(&path);
        } else if meta.is_file() && path.extension().is_some_and(|e| e == ENTRY_EXTENSION) {
            total += meta.len();
            entries.push((modified, meta.len(), path));
        }
    }
    if total <= max_bytes {
        return Ok(());
    }
    entries.sort();
    let target = max_bytes / 4 * 3;
    for (_, len, path) in entries {
        if total <= target {
            break;
        }
        if fs::remove_file(&path).is_ok() {
            total -= len;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Config, OptLevel};

    const WASM: &str = r#"(module (func (export "f") (result i32) i32.const 7))"#;

    fn key_with(change: impl FnOnce(&mut Config)) -> String {
        let mut config = Config::new();
        change(&mut config);
        key(&Engine::new(&config).unwrap(), &wat::parse_str(WASM).unwrap())
    }

    #[test]
    fn every_code_setting_changes_the_key() {
        let base = key_with(|_| {});
        assert_eq!(base, key_with(|_| {}), "the same inputs give the same key");
        type Change = Box<dyn FnOnce(&mut Config)>;
        let changes: Vec<(&str, Change)> = vec![
            (
                "opt_level none",
                Box::new(|c| {
                    c.opt_level(OptLevel::None);
                }),
            ),
            (
                "opt_level speed_and_size",
                Box::new(|c| {
                    c.opt_level(OptLevel::SpeedAndSize);
                }),
            ),
            (
                "verifier",
                Box::new(|c| {
                    c.cranelift_verifier(!cfg!(debug_assertions));
                }),
            ),
            (
                "explicit_bounds_checks",
                Box::new(|c| {
                    c.explicit_bounds_checks(true);
                }),
            ),
            (
                "interruptible",
                Box::new(|c| {
                    c.interruptible(true);
                }),
            ),
            (
                "epoch_interruption",
                Box::new(|c| {
                    c.epoch_interruption(true);
                }),
            ),
            (
                "consume_fuel",
                Box::new(|c| {
                    c.consume_fuel(true);
                }),
            ),
            (
                "multi_value",
                Box::new(|c| {
                    c.wasm_multi_value(false);
                }),
            ),
            (
                "mutable_global",
                Box::new(|c| {
                    c.wasm_mutable_global(false);
                }),
            ),
            (
                "sign_extension",
                Box::new(|c| {
                    c.wasm_sign_extension(false);
                }),
            ),
            (
                "saturating_float_to_int",
                Box::new(|c| {
                    c.wasm_saturating_float_to_int(false);
                }),
            ),
            (
                "bulk_memory",
                Box::new(|c| {
                    c.wasm_bulk_memory(false);
                }),
            ),
            (
                "reference_types",
                Box::new(|c| {
                    c.wasm_reference_types(false);
                }),
            ),
            (
                "simd",
                Box::new(|c| {
                    c.wasm_simd(false);
                }),
            ),
            ("static_memory_reservation", Box::new(|c| c.code.tunables.static_memory_reservation *= 2)),
            ("static_memory_guard", Box::new(|c| c.code.tunables.static_memory_guard /= 2)),
        ];
        let mut seen = std::collections::HashSet::from([base.clone()]);
        for (name, change) in changes {
            let changed = key_with(change);
            assert!(seen.insert(changed), "changing {name} gave a key seen before");
        }
        // Settings that do not change code keep the key.
        assert_eq!(
            base,
            key_with(|c| {
                c.max_wasm_stack(1 << 20);
            })
        );
        let other = key(
            &Engine::default(),
            &wat::parse_str(r#"(module (func (export "f") (result i32) i32.const 8))"#).unwrap(),
        );
        assert_ne!(base, other, "other bytes, other key");
    }
}
