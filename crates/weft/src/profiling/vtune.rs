//! The VTune agent: Intel's ITT JIT profiling API (`jitprofiling.h`, built by the `ittapi-sys` crate).
//!
//! The API is a small C library linked into Weft. On its first call it loads the collector library named by
//! `INTEL_JIT_PROFILER64` (VTune sets it in the processes it profiles) and calls the collector's `Initialize`; each
//! `iJIT_NotifyEvent` then goes to the collector's `NotifyEvent`. Without the variable nothing is loaded, once and for
//! all, and the agent stays idle. Each function is one `iJVM_EVENT_TYPE_METHOD_LOAD_FINISHED` event: its name,
//! address and size, the module's name as the "class file", and, when the module has DWARF line tables, the source
//! file and a line-number table. The C library keeps unlocked global state (the collector's handle, a method id
//! counter), so every call into it is made under the agent's lock; the event's strings and table need only live
//! for the call, as the collector copies what it keeps.

use super::{CodeView, ProfilingAgent, Symbol, line_changes};
use crate::Result;
use std::sync::Mutex;
use weft_environ::{CompiledCode, FunctionLoc, LineTable};

/// The process's VTune agent (one per process, like the API's state).
pub(crate) struct VTune {
    itt: Mutex<itt::Itt>,
}

impl VTune {
    /// Loads VTune's collector if the process runs under VTune. Fails where the API is not available (not x86-64).
    pub(crate) fn new() -> Result<VTune> {
        Ok(VTune { itt: Mutex::new(itt::Itt::start()?) })
    }
}

impl ProfilingAgent for VTune {
    fn register_view(&self, code: &CodeView<'_>, symbols: &[Symbol]) {
        let mut itt = self.itt.lock().unwrap_or_else(|e| e.into_inner());
        if !itt.active() {
            return;
        }
        for symbol in symbols {
            itt.load_method(&method_load(code, symbol));
        }
    }
}

/// What VTune hears about one function: the fields of an `iJIT_Method_Load`.
#[derive(Debug)]
#[cfg_attr(
    not(target_arch = "x86_64"),
    allow(dead_code, reason = "only the x86-64 library reads the fields; elsewhere the agent is never created")
)]
struct MethodLoad {
    name: String,
    address: usize,
    size: u32,
    /// The module's name (its name section's, or its file's), shown by VTune as the class.
    class_file: Option<String>,
    source_file: Option<String>,
    /// `(offset, line)` entries, offsets from the function's start, as the API defines them: each entry covers the
    /// code from the previous entry's offset (0 for the first) up to its own; the last ends at `size`.
    lines: Vec<(u32, u32)>,
}

fn method_load(code: &CodeView<'_>, symbol: &Symbol) -> MethodLoad {
    let module = code.module;
    let lines = module.and_then(|m| m.line_table.as_ref()).and_then(|lines| source_lines(lines, code.info, symbol.loc));
    let (source_file, lines) = lines.map_or((None, Vec::new()), |(file, lines)| (Some(file), lines));
    MethodLoad {
        name: symbol.name.clone(),
        address: code.base + symbol.loc.start as usize,
        size: symbol.loc.length,
        class_file: module.and_then(|m| m.name.clone()),
        source_file,
        lines,
    }
}

/// The source file and line-number table of the function at `loc`, from the same line changes the jitdump agent
/// writes; `None` for code without lines. The API takes one file per function: that of the function's first line.
/// Code inlined from another file counts to the line before it (usually the call's).
fn source_lines(lines: &LineTable, code: &CompiledCode, loc: FunctionLoc) -> Option<(String, Vec<(u32, u32)>)> {
    let changes = line_changes(lines, code, loc);
    let first = changes.first()?.1;
    let mut starts: Vec<(u32, u32)> = Vec::new();
    for (offset, row) in changes.into_iter().filter(|(_, row)| row.file == first.file) {
        if starts.last().is_none_or(|&(_, line)| line != row.line) {
            starts.push((offset - loc.start, row.line));
        }
    }
    let ends = starts.iter().skip(1).map(|&(start, _)| start).chain([loc.length]);
    let table = ends.zip(starts.iter().map(|&(_, line)| line)).collect();
    Some((lines.file_name(first).to_string(), table))
}

/// The API itself, where it exists: ittapi builds it for x86-64, the only architecture VTune profiles.
#[cfg(target_arch = "x86_64")]
mod itt {
    use super::MethodLoad;
    use crate::Result;
    use ittapi_sys as sys;
    use std::ffi::{CString, c_void};

    pub(super) struct Itt {
        active: bool,
    }

    impl Itt {
        pub(super) fn start() -> Result<Itt> {
            // SAFETY: the API's first call loads the collector (if `INTEL_JIT_PROFILER64` names one) into its global
            // state; it runs here, in the one agent's constructor, under `agent()`'s lock, and later calls under
            // the agent's lock, so no two threads are ever inside the API at once.
            let mode = unsafe { sys::iJIT_IsProfilingActive() };
            Ok(Itt { active: mode != sys::_iJIT_IsProfilingActiveFlags_iJIT_NOTHING_RUNNING })
        }

        /// Whether a collector is listening; if not, events would be dropped anyway.
        pub(super) fn active(&self) -> bool {
            self.active
        }

        /// Reports one function. Best effort, like the other agents: the API's result for this event is undefined.
        pub(super) fn load_method(&mut self, method: &MethodLoad) {
            // The API takes C strings: a NUL inside a name (possible in a name section) becomes a space.
            let c_string = |s: &str| CString::new(s.replace('\0', " ")).unwrap_or_default();
            let name = c_string(&method.name);
            let class_file = method.class_file.as_deref().map(c_string);
            let source_file = method.source_file.as_deref().map(c_string);
            let mut table: Vec<sys::LineNumberInfo> = method
                .lines
                .iter()
                .map(|&(offset, line)| sys::LineNumberInfo { Offset: offset, LineNumber: line })
                .collect();
            // SAFETY: a counter in the API's global state; `&mut self` is held under the agent's lock.
            let method_id = unsafe { sys::iJIT_GetNewMethodID() };
            if method_id == 0 {
                return; // the 2^32 - 1 ids are used up: the API refuses id 0
            }
            let optional = |s: &Option<CString>| s.as_ref().map_or(std::ptr::null_mut(), |s| s.as_ptr().cast_mut());
            let mut event = sys::iJIT_Method_Load {
                method_id,
                method_name: name.as_ptr().cast_mut(),
                method_load_address: method.address as *mut c_void,
                method_size: method.size,
                line_number_size: table.len() as u32,
                line_number_table: if table.is_empty() { std::ptr::null_mut() } else { table.as_mut_ptr() },
                class_id: 0, // obsolete
                class_file_name: optional(&class_file),
                source_file_name: optional(&source_file),
            };
            // SAFETY: the event is a valid `iJIT_Method_Load` whose pointers (strings, table) live until the call
            // returns and are not written through; the collector copies what it keeps. The code it describes stays
            // mapped while its module is loaded. Calls are serialized by the agent's lock (see `start`).
            unsafe {
                sys::iJIT_NotifyEvent(
                    sys::iJIT_jvm_event_iJVM_EVENT_TYPE_METHOD_LOAD_FINISHED,
                    (&raw mut event).cast::<c_void>(),
                )
            };
        }
    }
}

/// No API elsewhere: asking for the agent is an error, so a user is not left with an empty profile.
#[cfg(not(target_arch = "x86_64"))]
mod itt {
    use super::MethodLoad;
    use crate::Result;

    pub(super) struct Itt(std::convert::Infallible);

    impl Itt {
        pub(super) fn start() -> Result<Itt> {
            anyhow::bail!("VTune profiling is available on x86-64 only")
        }

        pub(super) fn active(&self) -> bool {
            match self.0 {}
        }

        pub(super) fn load_method(&mut self, _method: &MethodLoad) {
            match self.0 {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profiling::module_symbols;
    use crate::{Config, Engine, Instance, Module, ProfilingStrategy, Store};

    /// Line tables as VTune wants them, from the hand-made DWARF of the jitdump tests (`n`th operator of `$sum` on
    /// line `100 + n` of `/src/calc.c`): offsets where ranges end, the last at the function's end.
    #[test]
    fn vtune_line_tables_end_each_range_where_the_next_line_begins() {
        // Eagerly, whatever `WEFT_COMPILATION` says: the module's own text then holds its functions.
        let mut config = Config::new();
        config.compilation(crate::Compilation::Eager);
        let module = Module::new(&Engine::new(&config).unwrap(), crate::profiling::tests::module_with_dwarf()).unwrap();
        let code = &module.inner.code;
        let symbols = module_symbols(&module.inner.module, code.info());
        let view = CodeView::of(code);
        let sum = method_load(&view, &symbols[0]);
        assert_eq!(sum.name, "calc::sum");
        assert_eq!(sum.address, code.text_start() as usize + code.info().functions[0].start as usize);
        assert_eq!(sum.size, code.info().functions[0].length);
        assert_eq!(sum.class_file.as_deref(), Some("calc"));
        assert_eq!(sum.source_file.as_deref(), Some("/src/calc.c"));
        let lines = &sum.lines;
        assert!(lines.len() >= 3, "{lines:?}");
        assert!(lines.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 != w[1].1), "{lines:?}");
        assert_eq!(lines.last().unwrap().0, sum.size, "the last range ends with the function: {lines:?}");
        assert!(lines.iter().all(|&(_, line)| (100..=105).contains(&line)), "{lines:?}");
        // Each range ends where the jitdump agent's next line starts (the first starts with the function).
        let table = module.inner.module.line_table.as_ref().unwrap();
        let loc = code.info().functions[0];
        let changes = line_changes(table, code.info(), loc);
        let starts: Vec<(u32, u32)> = changes.iter().map(|(offset, row)| (offset - loc.start, row.line)).collect();
        assert_eq!(starts[0].0, 0);
        let expected: Vec<(u32, u32)> =
            starts.iter().skip(1).map(|s| s.0).chain([sum.size]).zip(starts.iter().map(|s| s.1)).collect();
        assert_eq!(*lines, expected);
        // Trampolines have no lines.
        let trampoline = symbols.iter().find(|s| s.name.contains("trampoline")).unwrap();
        let trampoline = method_load(&view, trampoline);
        assert_eq!((trampoline.source_file, trampoline.lines), (None, Vec::new()));
    }

    /// Without VTune (no collector named in the environment) the agent is idle and code runs as usual; where the
    /// API does not exist, the engine refuses the strategy.
    #[test]
    fn vtune_without_vtune_is_idle_and_elsewhere_refused() {
        let mut config = Config::new();
        config.profiler(ProfilingStrategy::VTune);
        let engine = Engine::new(&config);
        if cfg!(not(target_arch = "x86_64")) {
            let Err(err) = engine else { panic!("no VTune API here") };
            let err = format!("{err:#}");
            assert!(err.contains("x86-64"), "{err}");
            return;
        }
        let engine = engine.unwrap();
        let module = Module::new(&engine, r#"(module (func (export "f") (result i32) i32.const 7))"#).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let f = instance.get_typed_func::<(), i32>(&mut store, "f").unwrap();
        assert_eq!(f.call(&mut store, ()).unwrap(), 7);
    }

    /// Through a stand-in for VTune's collector, where the API exists.
    #[cfg(target_arch = "x86_64")]
    mod collector {
        use super::*;
        use crate::Func;

        /// A module with named, unnamed, called and never-called functions, and a host import (for a wasm-to-host
        /// trampoline).
        const PROGRAM: &str = r#"(module $m
            (import "host" "tick" (func $tick))
            (func $hot (export "hot") (param i32) (result i32)
                call $tick
                (i32.add (i32.mul (local.get 0) (local.get 0)) (i32.const 1)))
            (func $cold (export "cold") (param i64) (result i64) (i64.sub (local.get 0) (i64.const 1)))
            (func (export "anonymous") (result i32) i32.const 42))"#;

        /// One method-load line of the test collector's log (`tests/vtune/collector.c`).
        #[derive(Debug)]
        struct Logged {
            id: u32,
            address: usize,
            size: u32,
            name: String,
            class_file: String,
            source_file: String,
            lines: Vec<(u32, u32)>,
            code: Vec<u8>,
        }

        fn parse_log(log: &str) -> (usize, Vec<Logged>) {
            let initializations = log.lines().filter(|l| *l == "initialize").count();
            let loads = log
                .lines()
                .filter_map(|line| line.strip_prefix("load\t"))
                .map(|line| {
                    let f: Vec<&str> = line.split('\t').collect();
                    assert_eq!(f.len(), 8, "{line}");
                    let lines = match f[6] {
                        "-" => Vec::new(),
                        table => table
                            .split(',')
                            .map(|e| e.split_once(':').map(|(o, l)| (o.parse().unwrap(), l.parse().unwrap())).unwrap())
                            .collect(),
                    };
                    let code = (0..f[7].len()).step_by(2).map(|i| u8::from_str_radix(&f[7][i..i + 2], 16).unwrap());
                    Logged {
                        id: f[0].parse().unwrap(),
                        address: usize::from_str_radix(f[1], 16).unwrap(),
                        size: f[2].parse().unwrap(),
                        name: f[3].to_string(),
                        class_file: f[4].to_string(),
                        source_file: f[5].to_string(),
                        lines,
                        code: code.collect(),
                    }
                })
                .collect();
            (initializations, loads)
        }

        /// Checks each reported function against the engine's own registry of loaded code (the one backtraces use):
        /// the address is where a function or trampoline of the registered code starts, the size its length, and the
        /// name the one that code's module gives it; the reports are distinct and do not overlap.
        fn check_against_loaded_code(loads: &[Logged]) {
            let mut ids: Vec<u32> = loads.iter().map(|l| l.id).collect();
            ids.sort();
            ids.dedup();
            assert!(ids.len() == loads.len() && ids[0] > 0, "method ids are unique and not 0: {loads:#?}");
            let mut ranges: Vec<(usize, usize)> =
                loads.iter().map(|l| (l.address, l.address + l.size as usize)).collect();
            ranges.sort();
            assert!(ranges.windows(2).all(|w| w[0].1 <= w[1].0), "reported functions overlap: {ranges:x?}");
            for load in loads {
                assert!(load.size > 0 && load.code.len() == load.size as usize, "{load:?}");
                let found =
                    weft_runtime::lookup_code(load.address).unwrap_or_else(|| panic!("not loaded code: {load:?}"));
                let start = found.offset;
                let expected = match &found.module {
                    Some(module) => module_symbols(module, &found.code),
                    // A wasm-to-host trampoline: one function, named by its type.
                    None => vec![Symbol { name: String::new(), loc: found.code.functions[0] }],
                };
                let symbol = expected.iter().find(|s| s.loc.start == start).unwrap_or_else(|| {
                    panic!("{} is reported at offset {start:#x}, where no function starts", load.name)
                });
                assert_eq!(load.size, symbol.loc.length, "{}", load.name);
                // Lazily compiled quick code is marked in its name.
                match &found.module {
                    Some(module) => {
                        let name = load.name.strip_suffix(" [quick]").unwrap_or(&load.name);
                        assert_eq!(name, symbol.name);
                        assert_eq!(load.class_file, module.name.as_deref().unwrap_or("-"), "{}", load.name);
                    }
                    None => assert!(load.name.starts_with("wasm-to-host trampoline (func"), "{}", load.name),
                }
            }
        }

        /// The test collector, compiled into `dir`.
        fn build_collector(dir: &std::path::Path) -> std::path::PathBuf {
            let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/vtune/collector.c");
            let library = dir.join("libweft-test-collector.so");
            let out = std::process::Command::new("cc")
                .args(["-shared", "-fPIC", "-O1", "-o"])
                .arg(&library)
                .arg(&source)
                .output()
                .unwrap_or_else(|e| {
                    panic!("the VTune tests need a C compiler, `cc`, to build {}: {e}", source.display())
                });
            assert!(
                out.status.success(),
                "cc failed on {}: {}",
                source.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            library
        }

        /// Runs `vtune_in_a_child_process` alone in a child process that loads the test collector (the API reads
        /// `INTEL_JIT_PROFILER64` once per process), in compilation mode `mode`; returns the collector's log.
        fn run_child(mode: &str) -> String {
            let dir = std::env::temp_dir().join(format!("weft-vtune-{mode}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let library = build_collector(&dir);
            let log = dir.join("events.log");
            let _ = std::fs::remove_file(&log);
            let out = std::process::Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "profiling::vtune::tests::collector::vtune_in_a_child_process", "--include-ignored"])
                .args(["--nocapture", "--test-threads=1"])
                .env("INTEL_JIT_PROFILER64", &library)
                .env("WEFT_TEST_VTUNE_LOG", &log)
                .env("WEFT_TEST_VTUNE_MODE", mode)
                .output()
                .unwrap();
            let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            assert!(out.status.success(), "the child failed:\n{stdout}\n{stderr}");
            assert!(stdout.contains("1 passed"), "the child ran no test:\n{stdout}\n{stderr}");
            let log = std::fs::read_to_string(&log).expect("the collector wrote its log");
            std::fs::remove_dir_all(&dir).unwrap();
            log
        }

        /// The child's side of the tests below: profiles `PROGRAM` (and, eagerly, two modules with DWARF) under the
        /// test collector, then checks what the collector logged against the loaded code.
        #[test]
        #[ignore = "run in a child process by the vtune_collector_* tests"]
        fn vtune_in_a_child_process() {
            let Ok(mode) = std::env::var("WEFT_TEST_VTUNE_MODE") else { return };
            let log_path = std::env::var("WEFT_TEST_VTUNE_LOG").unwrap();
            let mut config = Config::new();
            config.profiler(ProfilingStrategy::VTune).cache_dir(None::<std::path::PathBuf>);
            config.compilation(match mode.as_str() {
                "eager" => crate::Compilation::Eager,
                "lazy" => crate::Compilation::Lazy,
                _ => unreachable!("{mode}"),
            });
            let engine = Engine::new(&config).unwrap();
            let module = Module::new(&engine, PROGRAM).unwrap();
            let mut store = Store::new(&engine, ());
            let tick = Func::wrap(&mut store, || {});
            let instance = Instance::new(&mut store, &module, &[tick.into()]).unwrap();
            let hot = instance.get_typed_func::<i32, i32>(&mut store, "hot").unwrap();
            assert_eq!(hot.call(&mut store, 6).unwrap(), 37);
            let dwarf = (mode == "eager").then(|| {
                let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/debug");
                let debuggee = Module::from_file(&engine, root.join("debuggee-O0.wasm")).unwrap();
                let calc = Module::new(&engine, crate::profiling::tests::module_with_dwarf()).unwrap();
                (debuggee, calc)
            });

            let (initializations, loads) = parse_log(&std::fs::read_to_string(&log_path).unwrap());
            assert_eq!(initializations, 1, "the collector is loaded once");
            assert!(!loads.is_empty(), "the collector heard of no code");
            check_against_loaded_code(&loads);
            let names: Vec<&str> = loads.iter().map(|l| l.name.as_str()).collect();
            assert!(names.iter().any(|n| n.starts_with("wasm-to-host trampoline (func")), "{names:?}");
            assert!(names.contains(&"m::hot"), "{names:?}");
            // Eagerly, everything is compiled (and reported) when the module loads; lazily, what runs as it first runs.
            assert_eq!(names.contains(&"m::cold"), mode == "eager", "{names:?}");
            assert_eq!(names.contains(&"m::wasm-function[3]"), mode == "eager", "{names:?}");
            let Some((debuggee, calc)) = dwarf else { return };

            // Eagerly, exactly the module's functions and entry trampolines, where the module's code has them.
            for module in [&module, &debuggee, &calc] {
                let code = &module.inner.code;
                for symbol in module_symbols(&module.inner.module, code.info()) {
                    let reports: Vec<&Logged> = loads.iter().filter(|l| l.name == symbol.name).collect();
                    assert_eq!(reports.len(), 1, "{} is reported once: {names:?}", symbol.name);
                    let report = reports[0];
                    assert_eq!(
                        report.address,
                        code.text_start() as usize + symbol.loc.start as usize,
                        "{}",
                        symbol.name
                    );
                    assert_eq!(report.size, symbol.loc.length, "{}", symbol.name);
                    let bytes = &code.text()[symbol.loc.start as usize..][..symbol.loc.length as usize];
                    assert_eq!(report.code, bytes, "{}: the code at the reported address", symbol.name);
                    if symbol.name.contains("trampoline") {
                        assert_eq!((report.source_file.as_str(), report.lines.len()), ("-", 0), "{}", symbol.name);
                    }
                }
            }
            let no_dwarf: Vec<&Logged> = loads.iter().filter(|l| l.name.starts_with("m::")).collect();
            assert!(no_dwarf.iter().all(|l| l.source_file == "-" && l.lines.is_empty()), "{no_dwarf:#?}");

            // The hand-made DWARF: `calc::sum`'s lines, each range ended by the next.
            let sum = loads.iter().find(|l| l.name == "calc::sum").unwrap();
            assert_eq!(sum.source_file, "/src/calc.c");
            assert!(sum.lines.len() >= 3, "{sum:?}");
            assert!(sum.lines.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 != w[1].1), "{sum:?}");
            assert_eq!(sum.lines.last().unwrap().0, sum.size, "{sum:?}");
            assert!(sum.lines.iter().all(|&(_, line)| (100..=105).contains(&line)), "{sum:?}");

            // clang's DWARF (`tests/debug/debuggee.c` at -O0): `fib` in debuggee.c, its return statement among its lines.
            let source = std::fs::read_to_string(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/debug/debuggee.c"),
            )
            .unwrap();
            let fib_return = source.lines().position(|l| l.contains("line: fib-return ")).unwrap() as u32 + 1;
            let fib = loads.iter().find(|l| l.name == "fib" || l.name.ends_with("::fib"));
            let fib = fib.unwrap_or_else(|| panic!("fib: {names:?}"));
            assert!(fib.source_file.ends_with("debuggee.c"), "{fib:?}");
            assert!(fib.lines.iter().any(|&(_, line)| line == fib_return), "line {fib_return}: {fib:?}");
            assert_eq!(fib.lines.last().unwrap().0, fib.size, "{fib:?}");
            assert!(fib.lines.windows(2).all(|w| w[0].0 < w[1].0), "{fib:?}");
            let with_lines = loads.iter().filter(|l| l.source_file.ends_with("debuggee.c") && !l.lines.is_empty());
            assert!(with_lines.count() >= 3, "the program's functions have lines");
        }

        /// Every function and trampoline, with its name, address, size, code and (with DWARF) source lines, reaches a
        /// collector loaded as VTune's would be.
        #[test]
        fn vtune_collector_hears_every_eagerly_compiled_function() {
            let (_, loads) = parse_log(&run_child("eager"));
            // The child checked the details; here, that it checked something.
            assert!(loads.iter().any(|l| l.name == "m::cold") && loads.iter().any(|l| l.name == "calc::sum"));
        }

        /// Lazily compiled functions reach the collector as they are compiled.
        #[test]
        fn vtune_collector_hears_lazily_compiled_functions_as_they_compile() {
            let (_, loads) = parse_log(&run_child("lazy"));
            assert!(loads.iter().any(|l| l.name == "m::hot") && !loads.iter().any(|l| l.name == "m::cold"));
        }
    }
}
