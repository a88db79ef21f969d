//! Precompiled artifacts (`Module::serialize`/`deserialize`/`deserialize_file`) and the compilation cache.

use std::path::PathBuf;
use weft::*;

const APP: &str = r#"(module $app
    (import "host" "add1" (func $add1 (param i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 16) "weft")
    (global $counter (mut i32) (i32.const 40))
    (table 2 funcref)
    (elem (i32.const 0) $twice $crash)
    (func $twice (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
    (func $crash (param i32) (result i32) (unreachable))
    (func (export "run") (param i32) (result i32)
        (global.set $counter (i32.add (global.get $counter) (i32.const 1)))
        (i32.add
            (call $add1 (call_indirect (param i32) (result i32) (local.get 0) (i32.const 0)))
            (i32.add (global.get $counter) (i32.load8_u (i32.const 16)))))
    (func (export "crash") (param i32) (result i32)
        (call_indirect (param i32) (result i32) (local.get 0) (i32.const 1)))
    (func (export "ceil") (param f64) (result f64) (f64.ceil (local.get 0))))"#;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("weft-artifacts-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Instantiates `module` and checks that it computes, traps and names its frames as the text above says.
fn exercise(module: &Module) {
    let engine = module.engine();
    let mut linker = Linker::new(engine);
    linker.func_wrap("host", "add1", |x: i32| x + 1).unwrap();
    let mut store = Store::new(engine, ());
    let instance = linker.instantiate(&mut store, module).unwrap();
    let run = instance.get_typed_func::<i32, i32>(&mut store, "run").unwrap();
    // 5*2 + 1 + 41 + 'w' (119)
    assert_eq!(run.call(&mut store, 5).unwrap(), 171);
    assert_eq!(run.call(&mut store, 5).unwrap(), 172, "the global persists");
    let ceil = instance.get_typed_func::<f64, f64>(&mut store, "ceil").unwrap();
    assert_eq!(ceil.call(&mut store, 1.25).unwrap(), 2.0);
    let crash = instance.get_typed_func::<i32, i32>(&mut store, "crash").unwrap();
    let error = crash.call(&mut store, 0).unwrap_err();
    assert_eq!(error.downcast_ref::<Trap>(), Some(&Trap::UnreachableCodeReached));
    let trace = error.downcast_ref::<WasmBacktrace>().expect("a backtrace");
    assert_eq!(trace.frames().len(), 2, "{trace}");
    assert_eq!(trace.frames()[0].func_name(), Some("crash"));
    assert_eq!(trace.frames()[0].module_name(), Some("app"));
    assert!(trace.frames()[0].wasm_offset().is_some(), "offsets survive serialization");
}

#[test]
fn a_deserialized_module_behaves_like_the_compiled_one() {
    let engine = Engine::default();
    let compiled = Module::new(&engine, APP).unwrap();
    exercise(&compiled);
    let bytes = compiled.serialize().unwrap();
    assert!(is_precompiled(&bytes));
    let loaded = Module::deserialize(&engine, &bytes).unwrap();
    exercise(&loaded);
    assert_eq!(loaded.name(), Some("app"));
    let imports: Vec<_> = loaded.imports().map(|i| format!("{}.{} {:?}", i.module(), i.name(), i.ty())).collect();
    let expected: Vec<_> = compiled.imports().map(|i| format!("{}.{} {:?}", i.module(), i.name(), i.ty())).collect();
    assert_eq!(imports, expected);
    assert_eq!(loaded.exports().len(), compiled.exports().len());
    // A second engine with the same settings (in the same process) accepts it too.
    let other = Engine::default();
    exercise(&Module::deserialize(&other, &bytes).unwrap());
}

#[test]
fn a_mapped_artifact_file_runs_and_outlives_its_name() {
    let dir = temp_dir("mapped");
    let path = dir.join("app.cwasm");
    let engine = Engine::default();
    std::fs::write(&path, Module::new(&engine, APP).unwrap().serialize().unwrap()).unwrap();
    let module = Module::deserialize_file(&engine, &path).unwrap();
    // Replacing the file by rename (as the cache and `weft compile` do) leaves the mapped code intact.
    std::fs::write(dir.join("new"), b"not an artifact").unwrap();
    std::fs::rename(dir.join("new"), &path).unwrap();
    exercise(&module);
    let error = Module::deserialize_file(&engine, &path).unwrap_err();
    assert_eq!(error.downcast_ref::<ArtifactError>(), Some(&ArtifactError::NotAnArtifact));
    assert!(format!("{error:#}").contains("app.cwasm"), "{error:#}");
}

#[test]
fn artifacts_from_other_settings_are_refused_naming_the_setting() {
    let engine = Engine::default();
    let bytes = Module::new(&engine, APP).unwrap().serialize().unwrap();
    let mut config = Config::new();
    config.consume_fuel(true);
    let fuel_engine = Engine::new(&config).unwrap();
    let error = Module::deserialize(&fuel_engine, &bytes).unwrap_err();
    match error.downcast_ref::<ArtifactError>() {
        Some(ArtifactError::OtherSettings(what)) => {
            assert!(what.contains("consume_fuel: artifact false, engine true"), "{what}")
        }
        other => panic!("expected OtherSettings, got {other:?}"),
    }
    let mut config = Config::new();
    config.wasm_simd(false);
    let error = Module::deserialize(&Engine::new(&config).unwrap(), &bytes).unwrap_err();
    assert!(format!("{error}").contains("proposal simd: artifact on, engine off"), "{error}");
}

/// The architecture this test does not run on.
fn other_arch() -> &'static str {
    if cfg!(target_arch = "x86_64") { "aarch64-unknown-linux-gnu" } else { "x86_64-unknown-linux-gnu" }
}

#[test]
fn a_cross_compiling_engine_precompiles_for_the_other_architecture_and_runs_nothing() {
    let mut config = Config::new();
    config.target(other_arch()).unwrap();
    let cross = Engine::new(&config).unwrap();
    assert!(cross.target().starts_with(other_arch()), "{}", cross.target());
    let artifact = cross.precompile_module(APP.as_bytes()).unwrap();
    // The same engine refuses to run anything, naming what to do instead.
    let text = format!("{:#}", Module::new(&cross, APP).unwrap_err());
    assert!(text.contains(other_arch()) && text.contains("precompile"), "{text}");
    let text = format!("{:#}", Module::deserialize(&cross, &artifact).unwrap_err());
    assert!(text.contains("runs nothing"), "{text}");
    // A host engine refuses the artifact, naming both architectures and nothing else.
    let host = Engine::default();
    let text = format!("{:#}", Module::deserialize(&host, &artifact).unwrap_err());
    assert!(
        text.contains(&format!(
            "compiled for {}, but this engine compiles for {}",
            other_arch(),
            std::env::consts::ARCH
        )),
        "{text}"
    );
    assert!(!text.contains("regalloc"), "the refusal lists only what differs: {text}");
    // Naming the host's own architecture is the same as not naming one; anything else is refused.
    let mut config = Config::new();
    config.target(std::env::consts::ARCH).unwrap();
    let same = Engine::new(&config).unwrap();
    assert_eq!(same.target(), host.target());
    for bad in ["riscv64gc-unknown-linux-gnu", "aarch64-apple-darwin", "wasm32-wasip1"] {
        let text = format!("{:#}", Config::new().target(bad).unwrap_err());
        assert!(text.contains(bad), "{text}");
    }
}

#[test]
fn damaged_artifacts_are_refused_with_a_clear_error() {
    let engine = Engine::default();
    let bytes = Module::new(&engine, APP).unwrap().serialize().unwrap();
    let mut flipped = bytes.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    let error = Module::deserialize(&engine, &flipped).unwrap_err();
    assert!(matches!(error.downcast_ref::<ArtifactError>(), Some(ArtifactError::Corrupt(_))), "{error}");
    assert!(format!("{error}").contains("checksum"), "{error}");
    let error = Module::deserialize(&engine, &bytes[..bytes.len() / 2]).unwrap_err();
    assert!(matches!(error.downcast_ref::<ArtifactError>(), Some(ArtifactError::Corrupt(_))), "{error}");
    let mut version = bytes.clone();
    version[8] = 99;
    let error = Module::deserialize(&engine, &version).unwrap_err();
    assert!(format!("{error}").contains("format version 99"), "{error}");
    let wasm = wat::parse_str(APP).unwrap();
    let error = Module::deserialize(&engine, &wasm).unwrap_err();
    assert_eq!(error.downcast_ref::<ArtifactError>(), Some(&ArtifactError::NotAnArtifact));
    // And the other way round: compiling refuses to take an artifact for WebAssembly.
    let error = Module::new(&engine, &bytes).unwrap_err();
    assert!(format!("{error}").contains("precompiled"), "{error}");
}

fn cache_entries(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "cwasm")).collect())
        .unwrap_or_default();
    entries.sort();
    entries
}

fn cached_engine(dir: &std::path::Path) -> Engine {
    let mut config = Config::new();
    config.cache_dir(Some(dir));
    Engine::new(&config).unwrap()
}

#[test]
fn the_cache_is_read_on_the_second_compile() {
    let dir = temp_dir("cache-hit");
    let engine = cached_engine(&dir);
    let app = wat::parse_str(APP).unwrap();
    exercise(&Module::new(&engine, &app).unwrap());
    let entries = cache_entries(&dir);
    assert_eq!(entries.len(), 1, "one entry after one compile");
    // Prove that the next compile reads the entry: swap in (valid) code of another module under the same key.
    let other = Module::new(&Engine::default(), r#"(module (func (export "marker") (result i32) i32.const 99))"#)
        .unwrap()
        .serialize()
        .unwrap();
    std::fs::write(&entries[0], &other).unwrap();
    let module = Module::new(&engine, &app).unwrap();
    assert!(module.exports().any(|e| e.name() == "marker"), "the cache entry was not used");
}

#[test]
fn damaged_cache_entries_are_misses_and_are_replaced() {
    let dir = temp_dir("cache-damaged");
    let engine = cached_engine(&dir);
    let app = wat::parse_str(APP).unwrap();
    Module::new(&engine, &app).unwrap();
    let entry = cache_entries(&dir).pop().unwrap();
    let good = std::fs::read(&entry).unwrap();
    for damage in [good[..good.len() / 3].to_vec(), Vec::new(), {
        let mut b = good.clone();
        b[good.len() / 2] ^= 0xff;
        b
    }] {
        std::fs::write(&entry, &damage).unwrap();
        exercise(&Module::new(&engine, &app).unwrap());
        let rewritten = std::fs::read(&entry).unwrap();
        assert_eq!(rewritten.len(), good.len(), "the damaged entry was replaced");
        Module::deserialize(&engine, &rewritten).expect("the replacement is a good artifact");
    }
}

#[test]
fn the_cache_stays_within_its_bound_by_evicting_the_oldest() {
    let dir = temp_dir("cache-evict");
    let probe = Module::new(&Engine::default(), APP).unwrap().serialize().unwrap().len() as u64;
    let mut config = Config::new();
    config.cache_dir(Some(&dir)).cache_max_bytes(probe * 3);
    let engine = Engine::new(&config).unwrap();
    for i in 0..8 {
        // Same size, other bytes: a different constant.
        let wat = APP.replace("(i32.const 40)", &format!("(i32.const {})", 100 + i));
        Module::new(&engine, wat).unwrap();
        let total: u64 = cache_entries(&dir).iter().map(|p| std::fs::metadata(p).unwrap().len()).sum();
        assert!(total <= probe * 3, "cache holds {total} bytes, bound {}", probe * 3);
    }
    let latest = APP.replace("(i32.const 40)", "(i32.const 107)");
    let key_count = cache_entries(&dir).len();
    assert!((1..=3).contains(&key_count), "{key_count} entries");
    // The most recent module is still cached: compiling it again adds nothing.
    Module::new(&engine, &latest).unwrap();
    assert_eq!(cache_entries(&dir).len(), key_count);
}

#[test]
fn threads_compiling_the_same_module_share_one_good_entry() {
    let dir = temp_dir("cache-threads");
    let engine = cached_engine(&dir);
    let app = wat::parse_str(APP).unwrap();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..5 {
                    exercise(&Module::new(&engine, &app).unwrap());
                }
            });
        }
    });
    let entries = cache_entries(&dir);
    assert_eq!(entries.len(), 1);
    Module::deserialize(&engine, std::fs::read(&entries[0]).unwrap()).unwrap();
    let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().filter(|e| e.path() != entries[0]).collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}
