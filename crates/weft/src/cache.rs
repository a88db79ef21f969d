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
/// the whole [`crate::config::CodeSettings`] the compiler is given (as for eager compilation: engines of every mode
/// share entries), and the module's bytes.
pub(crate) fn key(engine: &Engine, wasm: &[u8]) -> String {
    let settings = postcard::to_stdvec(&engine.config().code.clone().eager()).expect("code settings always encode");
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
    if let Some(lazy) = module.inner.code.lazy() {
        // A lazy or tiered module: no whole artifact, but the optimised code of earlier runs, if any, and a place
        // to keep this run's (`Module::save_compiled_code`).
        let partial = path.with_extension(PARTIAL_EXTENSION);
        let preloaded = match fs::read(&partial) {
            Ok(bytes) => match read_partial(engine, &module, &bytes) {
                Ok(functions) => {
                    let count = functions.len();
                    for (def, code) in functions {
                        if lazy.preload(def, code).is_err() {
                            break;
                        }
                    }
                    let _ = fs::File::open(&partial).and_then(|f| f.set_modified(SystemTime::now()));
                    count
                }
                Err(_) => {
                    let _ = fs::remove_file(&partial);
                    0
                }
            },
            Err(_) => 0,
        };
        let _ = module.inner.partial_cache.set(PartialCache {
            dir: dir.to_path_buf(),
            max_bytes,
            path: partial,
            saved: std::sync::Mutex::new(preloaded),
        });
        return Ok(module);
    }
    // A cache that cannot be written (full disk, read-only directory) costs time, not correctness.
    let _ = module.serialize().and_then(|bytes| Ok(store(dir, max_bytes, &path, &bytes)?));
    Ok(module)
}

/// Where a lazily compiled module keeps its optimised code between runs: `<key>.fns` beside the (absent) artifact.
pub(crate) struct PartialCache {
    dir: std::path::PathBuf,
    max_bytes: u64,
    path: std::path::PathBuf,
    /// How many functions the file holds.
    saved: std::sync::Mutex<usize>,
}

const PARTIAL_EXTENSION: &str = "fns";
const PARTIAL_MAGIC: &[u8; 8] = b"\0weftfns";

/// The contents of a `.fns` entry, after its magic and checksum.
#[derive(serde::Serialize, serde::Deserialize)]
struct PartialEntry {
    build: String,
    target: String,
    settings: crate::config::CodeSettings,
    functions: Vec<(u32, weft_environ::CompiledCode)>,
}

impl PartialCache {
    /// Writes the module's optimised code to the cache if it has more than the entry holds.
    pub(crate) fn save(&self, engine: &Engine, lazy: &weft_runtime::LazyCode) {
        let mut saved = self.saved.lock().unwrap_or_else(|e| e.into_inner());
        let functions = lazy.optimized_code();
        if functions.len() <= *saved {
            return;
        }
        let entry = PartialEntry {
            build: BUILD_ID.to_string(),
            target: engine.target().to_string(),
            settings: crate::serialize::portable_settings(engine),
            functions: functions.iter().map(|(def, code)| (*def, (**code).clone())).collect(),
        };
        let Ok(body) = postcard::to_stdvec(&entry) else { return };
        let mut bytes = PARTIAL_MAGIC.to_vec();
        bytes.extend_from_slice(&Sha256::digest(&body));
        bytes.extend_from_slice(&body);
        // As for artifacts, a cache that cannot be written costs time, not correctness.
        if store(&self.dir, self.max_bytes, &self.path, &bytes).is_ok() {
            *saved = functions.len();
        }
    }
}

/// The functions of a `.fns` entry, checked: intact, written by this build for this target and these settings, and
/// each a single function of `module`.
fn read_partial(
    engine: &Engine,
    module: &Module,
    bytes: &[u8],
) -> std::result::Result<Vec<(u32, weft_environ::CompiledCode)>, String> {
    let rest = bytes.strip_prefix(PARTIAL_MAGIC.as_slice()).ok_or("not a function cache entry")?;
    let (checksum, body) = rest.split_at_checked(32).ok_or("truncated")?;
    if Sha256::digest(body).as_slice() != checksum {
        return Err("checksum mismatch".into());
    }
    let entry: PartialEntry = postcard::from_bytes(body).map_err(|e| e.to_string())?;
    if entry.build != BUILD_ID
        || entry.target != engine.target()
        || entry.settings != crate::serialize::portable_settings(engine)
    {
        return Err("written by another build, target or settings".into());
    }
    let count = module.inner.module.num_defined_funcs();
    for (def, code) in &entry.functions {
        let fits = |loc: &weft_environ::FunctionLoc| loc.start as usize + loc.length as usize <= code.text.len();
        let calls_fit =
            code.call_relocations.iter().all(|c| c.callee < count && c.offset as usize + 4 <= code.text.len());
        if *def >= count
            || code.first_function != *def
            || code.functions.len() != 1
            || !fits(&code.functions[0])
            || !calls_fit
        {
            return Err(format!("function {def} does not belong to this module"));
        }
    }
    Ok(entry.functions)
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
                "inlining",
                Box::new(|c| {
                    c.inlining(false);
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
                "guest_profiling",
                Box::new(|c| {
                    c.guest_profiling(true);
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

/// The directory the compilation cache uses unless told otherwise: `$XDG_CACHE_HOME/weft`, else
/// `$HOME/.cache/weft` (`None` if neither variable is set).
pub fn default_cache_dir() -> Option<std::path::PathBuf> {
    let non_empty = |name| std::env::var_os(name).filter(|v| !v.is_empty()).map(std::path::PathBuf::from);
    non_empty("XDG_CACHE_HOME").or_else(|| Some(non_empty("HOME")?.join(".cache"))).map(|d| d.join("weft"))
}

/// Compilation cache settings in Wasmtime's shape, for [`crate::Config::cache`]: where entries live and how large
/// the directory may grow. Weft's own way is [`crate::Config::cache_dir`] and [`crate::Config::cache_max_bytes`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cache {
    directory: Option<std::path::PathBuf>,
    max_bytes: u64,
}

/// Keys of Wasmtime's cache configuration file that tune its cache's background worker, which Weft does not have:
/// accepted and ignored, so the same file works for both.
const WASMTIME_WORKER_KEYS: &[&str] = &[
    "cleanup-interval",
    "optimizing-compression-task-timeout",
    "allowed-clock-drift-for-files-from-future",
    "worker-event-queue-size",
    "baseline-compression-level",
    "optimized-compression-level",
    "optimized-compression-usage-counter-threshold",
    "file-count-soft-limit",
    "files-total-size-limit-percent-if-deleting",
    "file-count-limit-percent-if-deleting",
];

impl Cache {
    /// The settings in the TOML file at `path` (Wasmtime's format: a `[cache]` table with `enabled`, `directory` and
    /// `files-total-size-soft-limit`, such as `"512Mi"`; Wasmtime's worker settings are accepted and ignored), or with
    /// `None` the defaults: [`default_cache_dir`] and 1 GiB. Anything else in the file is an error naming its line.
    pub fn from_file(path: Option<&Path>) -> Result<Cache> {
        let mut cache = Cache { directory: default_cache_dir(), max_bytes: crate::config::DEFAULT_CACHE_MAX_BYTES };
        let Some(path) = path else { return Ok(cache) };
        let text = fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read cache configuration {}: {e}", path.display()))?;
        let mut in_cache_table = false;
        for (number, line) in text.lines().enumerate() {
            let at = || format!("{}:{}", path.display(), number + 1);
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            if line.starts_with('[') {
                in_cache_table = line == "[cache]";
                if !in_cache_table {
                    anyhow::bail!("{}: unknown table {line} (expected [cache])", at());
                }
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                anyhow::bail!("{}: expected `key = value`, found `{line}`", at());
            };
            if !in_cache_table {
                anyhow::bail!("{}: `{}` is outside the [cache] table", at(), key.trim());
            }
            let (key, value) = (key.trim(), value.trim());
            let string = || {
                value
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .ok_or_else(|| anyhow::anyhow!("{}: `{key}` must be a quoted string, found {value}", at()))
            };
            match key {
                "enabled" => match value {
                    "true" => {}
                    "false" => cache.directory = None,
                    _ => anyhow::bail!("{}: `enabled` must be true or false, found {value}", at()),
                },
                "directory" => cache.directory = Some(string()?.into()),
                "files-total-size-soft-limit" => {
                    cache.max_bytes = parse_size(string()?)
                        .ok_or_else(|| anyhow::anyhow!("{}: bad size {value} (e.g. \"512Mi\", \"2G\")", at()))?;
                }
                key if WASMTIME_WORKER_KEYS.contains(&key) => {}
                _ => anyhow::bail!("{}: unknown cache setting `{key}`", at()),
            }
        }
        Ok(cache)
    }

    /// The cache directory (`None`: the cache is off).
    pub fn directory(&self) -> Option<&Path> {
        self.directory.as_deref()
    }

    /// The bound on the directory's total size.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }
}

/// A size such as `1024`, `512K`, `512Ki`, `2G`, `2Gi` (Wasmtime's cache configuration units), in bytes.
fn parse_size(text: &str) -> Option<u64> {
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let unit = match unit.trim() {
        "" => 1,
        "K" => 1_000,
        "Ki" => 1 << 10,
        "M" => 1_000_000,
        "Mi" => 1 << 20,
        "G" => 1_000_000_000,
        "Gi" => 1 << 30,
        "T" => 1_000_000_000_000,
        "Ti" => 1 << 40,
        _ => return None,
    };
    digits.parse::<u64>().ok()?.checked_mul(unit)
}
