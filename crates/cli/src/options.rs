//! Options shared by the commands that compile: how code is generated, where it is cached, who profiles it.

use anyhow::{Context as _, Result};
use clap::Args;
use std::path::PathBuf;
use weft::{ArtifactError, Config, Engine, Module, ProfilingStrategy};

/// Code-generation options of `weft run` and `weft compile`. A precompiled module runs only with the options it
/// was compiled with.
#[derive(Args)]
pub struct CodegenOptions {
    /// Optimisation and memory settings, Wasmtime's `-O` group: a level alone (0 none, 1 or 2 speed, the
    /// default, s speed and size), or KEY=VALUE,... with opt-level=LEVEL, memory-reservation=BYTES (below 4 GiB,
    /// 32-bit memories are bounds-checked explicitly), memory-guard-size=BYTES, signals-based-traps=y|n (n: bounds
    /// checks instead of guard pages).
    ///
    /// Example: weft run -O 0 app.wasm; weft run -O opt-level=2,memory-reservation=1048576 app.wasm
    #[arg(short = 'O', long = "opt-level", value_name = "LEVEL|KEY=VALUE,...", value_parser = parse_optimize)]
    optimize: Vec<Vec<Optimize>>,
    /// Code generation settings, Wasmtime's `-C` group, KEY=VALUE,...: cache=y|n, cache-config=PATH (Wasmtime's
    /// cache configuration file), parallel-compilation=y|n, inlining=y|n (inline small functions into their
    /// callers when optimising; default y), compiler=cranelift|winch (Weft has one compiler;
    /// winch, Wasmtime's fast-compiling one, selects unoptimised code), cranelift-NAME=VALUE (a Cranelift setting:
    /// a CPU feature of this host, or enable_nan_canonicalization, enable_alias_analysis, regalloc_algorithm).
    ///
    /// Example: weft run -C cache=n app.wasm
    #[arg(short = 'C', value_name = "KEY=VALUE,...", value_parser = parse_codegen)]
    codegen: Vec<Vec<Codegen>>,
    /// Compile in the epoch checks that `weft run --timeout` needs (implied by --timeout).
    #[arg(long)]
    epoch_interruption: bool,
    /// Compile in the fuel accounting that `weft run --fuel` needs (implied by --fuel).
    #[arg(long)]
    consume_fuel: bool,
    /// Check every memory access explicitly instead of relying on guard pages (slower; for hosts short of
    /// address space).
    #[arg(long)]
    explicit_bounds_checks: bool,
    /// Profile the program. `guest[,PATH][,INTERVAL]` samples the wasm stack every INTERVAL (default 10ms, as Wasmtime's) and
    /// writes PATH (default weft-guest.json; open it at https://profiler.firefox.com) and a flame graph beside it
    /// (PATH with .svg), with no system tool needed. The others tell a system profiler about the compiled code:
    /// `jitdump` writes ./jit-<pid>.dump for `perf record -k mono` and `perf inject --jit`; `perfmap` writes
    /// /tmp/perf-<pid>.map, which `perf report` reads directly; `vtune` reports to Intel VTune (x86-64).
    ///
    /// Example: weft run --profile=guest app.wasm
    /// Example: perf record -k mono weft run --profile=jitdump app.wasm
    #[arg(long, value_name = "PROFILER", value_parser = parse_profiler)]
    profile: Option<Profiler>,
    /// Keep compiled code in this directory and reuse it (default $WEFT_CACHE_DIR, else $XDG_CACHE_HOME/weft, else
    /// ~/.cache/weft).
    #[arg(long, value_name = "DIR", env = "WEFT_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
    /// Compile every time: neither read nor write the compilation cache.
    #[arg(long)]
    no_cache: bool,
    #[command(flatten)]
    pub wasm: WasmOptions,
    /// Describe the compiled code to gdb with the module's DWARF (built with `-g`), so that `gdb --args weft run -g
    /// app.wasm` stops on source lines and shows wasm frames by source function and line (Wasmtime's `-D
    /// debug-info`, also accepted). Nothing is inlined with it on. See docs/debugging.md.
    ///
    /// Example: gdb -ex 'break app.c:12' -ex run --args weft run -g app.wasm
    #[arg(short = 'g')]
    pub debug_info: bool,
}

/// WebAssembly proposals switched on or off with `-W`, as `wasmtime` names them.
#[derive(Args, Default)]
pub struct WasmOptions {
    /// Switch WebAssembly proposals on or off: NAME, NAME=y or NAME=n, comma-separated or repeated. Names:
    /// multi-value, mutable-global, sign-extension, saturating-float-to-int, bulk-memory, reference-types, simd,
    /// tail-call, extended-const, relaxed-simd, multi-memory, memory64, function-references, exceptions. A module using a
    /// switched-off proposal is refused. With `weft run`, also limits: max-memory-size=BYTES (each memory), max-table-elements=N (each
    /// table), max-instances=N; growing past them fails (memory.grow returns -1), instantiating past them is an
    /// error.
    ///
    /// Example: weft run -W tail-call=n,max-memory-size=67108864 app.wasm
    #[arg(short = 'W', value_name = "NAME[=VALUE],...", value_parser = parse_wasm_switches)]
    wasm: Vec<Vec<WasmSwitch>>,
}

/// One `-W` setting.
#[derive(Copy, Clone, Debug)]
pub enum WasmSwitch {
    /// A proposal on or off.
    Proposal(WasmProposal, bool),
    /// The most bytes any memory may have.
    MaxMemorySize(usize),
    /// The most elements any table may have.
    MaxTableElements(usize),
    /// The most instances.
    MaxInstances(usize),
}

/// A proposal `-W` can switch.
#[derive(Copy, Clone, Debug)]
pub enum WasmProposal {
    MultiValue,
    MutableGlobal,
    SignExtension,
    SaturatingFloatToInt,
    BulkMemory,
    ReferenceTypes,
    Simd,
    TailCall,
    ExtendedConst,
    RelaxedSimd,
    MultiMemory,
    Memory64,
    FunctionReferences,
    Exceptions,
}

const PROPOSALS: &[(&str, WasmProposal)] = &[
    ("multi-value", WasmProposal::MultiValue),
    ("mutable-global", WasmProposal::MutableGlobal),
    ("sign-extension", WasmProposal::SignExtension),
    ("saturating-float-to-int", WasmProposal::SaturatingFloatToInt),
    ("nontrapping-float-to-int", WasmProposal::SaturatingFloatToInt),
    ("bulk-memory", WasmProposal::BulkMemory),
    ("reference-types", WasmProposal::ReferenceTypes),
    ("simd", WasmProposal::Simd),
    ("tail-call", WasmProposal::TailCall),
    ("extended-const", WasmProposal::ExtendedConst),
    ("relaxed-simd", WasmProposal::RelaxedSimd),
    ("multi-memory", WasmProposal::MultiMemory),
    ("memory64", WasmProposal::Memory64),
    ("function-references", WasmProposal::FunctionReferences),
    ("exceptions", WasmProposal::Exceptions),
];

fn parse_wasm_switches(text: &str) -> Result<Vec<WasmSwitch>, String> {
    text.split(',')
        .map(|item| {
            let (name, value) = item.split_once('=').unwrap_or((item, "y"));
            let limit = |make: fn(usize) -> WasmSwitch| {
                value.parse::<usize>().map(make).map_err(|_| format!("`{item}`: {name} takes a whole number"))
            };
            match name {
                "max-memory-size" => return limit(WasmSwitch::MaxMemorySize),
                "max-table-elements" => return limit(WasmSwitch::MaxTableElements),
                "max-instances" => return limit(WasmSwitch::MaxInstances),
                _ => {}
            }
            let on = match value {
                "y" | "yes" | "true" => true,
                "n" | "no" | "false" => false,
                _ => return Err(format!("`{item}`: the value of {name} must be y or n")),
            };
            let proposal = PROPOSALS.iter().find(|(n, _)| *n == name).map(|(_, p)| *p).ok_or_else(|| {
                let names: Vec<&str> = PROPOSALS.iter().map(|(n, _)| *n).collect();
                format!(
                    "`{name}` is not a WebAssembly proposal or limit weft knows; known: {}, max-memory-size, \
                     max-table-elements, max-instances",
                    names.join(", ")
                )
            })?;
            Ok(WasmSwitch::Proposal(proposal, on))
        })
        .collect()
}

impl WasmOptions {
    /// Applies the switches to `config`, in the order given (a later switch of the same proposal wins).
    pub fn apply(&self, config: &mut Config) {
        for switch in self.wasm.iter().flatten() {
            let WasmSwitch::Proposal(proposal, on) = switch else { continue };
            match proposal {
                WasmProposal::MultiValue => config.wasm_multi_value(*on),
                WasmProposal::MutableGlobal => config.wasm_mutable_global(*on),
                WasmProposal::SignExtension => config.wasm_sign_extension(*on),
                WasmProposal::SaturatingFloatToInt => config.wasm_saturating_float_to_int(*on),
                WasmProposal::BulkMemory => config.wasm_bulk_memory(*on),
                WasmProposal::ReferenceTypes => config.wasm_reference_types(*on),
                WasmProposal::Simd => config.wasm_simd(*on),
                WasmProposal::TailCall => config.wasm_tail_call(*on),
                WasmProposal::ExtendedConst => config.wasm_extended_const(*on),
                WasmProposal::RelaxedSimd => config.wasm_relaxed_simd(*on),
                WasmProposal::MultiMemory => config.wasm_multi_memory(*on),
                WasmProposal::Memory64 => config.wasm_memory64(*on),
                WasmProposal::FunctionReferences => config.wasm_function_references(*on),
                WasmProposal::Exceptions => config.wasm_exceptions(*on),
            };
        }
    }
}

impl WasmOptions {
    /// The store limits the `-W max-*` settings ask for, if any.
    pub fn limits(&self) -> Option<weft::StoreLimits> {
        let mut builder = weft::StoreLimitsBuilder::new();
        let mut any = false;
        for switch in self.wasm.iter().flatten() {
            builder = match *switch {
                WasmSwitch::Proposal(..) => continue,
                WasmSwitch::MaxMemorySize(n) => builder.memory_size(n),
                WasmSwitch::MaxTableElements(n) => builder.table_elements(n),
                WasmSwitch::MaxInstances(n) => builder.instances(n),
            };
            any = true;
        }
        any.then(|| builder.build())
    }

    /// Fails if limits were given to a command that runs no program of the user's.
    pub fn no_limits(&self, command: &str) -> anyhow::Result<()> {
        if self.limits().is_some() {
            anyhow::bail!(
                "-W max-memory-size, max-table-elements and max-instances apply to `weft run`, not `{command}`"
            );
        }
        Ok(())
    }
}

/// A profiler to write for.
#[derive(Clone, Debug, PartialEq)]
pub enum Profiler {
    /// perf's jitdump format (function names and machine code).
    Jitdump,
    /// perf's map file (function names).
    Perfmap,
    /// Intel VTune, through the ITT JIT profiling API.
    Vtune,
    /// Weft's own sampling profiler: where to write the profile, and how often to sample.
    Guest { path: PathBuf, interval: std::time::Duration },
}

/// The default file of `--profile=guest`.
const GUEST_PROFILE_PATH: &str = "weft-guest.json";

/// `jitdump`, `perfmap`, `vtune`, or `guest[,PATH][,INTERVAL]` (an item that parses as a duration is the interval).
fn parse_profiler(text: &str) -> Result<Profiler, String> {
    let mut items = text.split(',');
    let kind = items.next().unwrap_or_default();
    let rest: Vec<&str> = items.collect();
    if kind != "guest" && !rest.is_empty() {
        return Err(format!("`{kind}` takes no options (only `guest` does: guest[,PATH][,INTERVAL])"));
    }
    Ok(match kind {
        "jitdump" => Profiler::Jitdump,
        "perfmap" => Profiler::Perfmap,
        "vtune" => Profiler::Vtune,
        "guest" => {
            let mut path = None;
            let mut interval = None;
            for item in rest {
                // An item starting with a digit is the interval (a path that does can be written ./NAME).
                if item.starts_with(|c: char| c.is_ascii_digit()) {
                    let d = crate::run::parse_duration(item)?;
                    if d.is_zero() {
                        return Err(format!("the guest profiler's interval must be above zero, not `{item}`"));
                    }
                    if interval.replace(d).is_some() {
                        return Err(format!("`{text}` gives two intervals"));
                    }
                } else if item.is_empty() {
                    return Err(format!("`{text}` has an empty item: guest[,PATH][,INTERVAL]"));
                } else if path.replace(PathBuf::from(item)).is_some() {
                    return Err(format!("`{text}` gives two paths (an interval needs a unit, e.g. 10ms)"));
                }
            }
            Profiler::Guest {
                path: path.unwrap_or_else(|| PathBuf::from(GUEST_PROFILE_PATH)),
                interval: interval.unwrap_or(weft::DEFAULT_GUEST_PROFILE_INTERVAL),
            }
        }
        other => return Err(format!("unknown profiler `{other}`: use guest, jitdump, perfmap or vtune")),
    })
}

impl CodegenOptions {
    /// Where `--profile=guest` writes, and how often it samples.
    pub fn guest_profile(&self) -> Option<(&std::path::Path, std::time::Duration)> {
        match &self.profile {
            Some(Profiler::Guest { path, interval }) => Some((path, *interval)),
            _ => None,
        }
    }

    /// The configuration these options describe; `epoch`/`fuel` add what the run's own flags need. Fails only on
    /// a cache configuration file that cannot be read.
    pub fn config(&self, epoch: bool, fuel: bool) -> Result<Config> {
        let mut config = Config::new();
        config
            .epoch_interruption(self.epoch_interruption || epoch)
            .consume_fuel(self.consume_fuel || fuel)
            .explicit_bounds_checks(self.explicit_bounds_checks)
            .debug_info(self.debug_info);
        for setting in self.optimize.iter().flatten() {
            match *setting {
                Optimize::Level(level) => config.opt_level(level),
                Optimize::MemoryReservation(bytes) => config.memory_reservation(bytes),
                Optimize::MemoryGuardSize(bytes) => config.memory_guard_size(bytes),
                Optimize::SignalsBasedTraps(on) => config.signals_based_traps(on),
            };
        }
        self.wasm.apply(&mut config);
        config.profiler(match self.profile {
            None | Some(Profiler::Guest { .. }) => ProfilingStrategy::None,
            Some(Profiler::Jitdump) => ProfilingStrategy::JitDump,
            Some(Profiler::Perfmap) => ProfilingStrategy::PerfMap,
            Some(Profiler::Vtune) => ProfilingStrategy::VTune,
        });
        if matches!(self.profile, Some(Profiler::Guest { .. })) {
            config.guest_profiling(true);
        }
        let mut cache = !self.no_cache;
        let mut cache_config = None;
        for setting in self.codegen.iter().flatten() {
            match setting {
                Codegen::Cache(on) => cache = *on,
                Codegen::CacheConfig(path) => cache_config = Some(path.clone()),
                Codegen::ParallelCompilation(on) => {
                    config.parallel_compilation(*on);
                }
                Codegen::Inlining(on) => {
                    config.inlining(*on);
                }
                Codegen::Compile(mode) => {
                    config.compilation(*mode);
                }
                Codegen::CompileThreads(threads) => {
                    config.compile_threads(*threads);
                }
                Codegen::Compiler(strategy) => {
                    config.strategy(*strategy);
                }
                Codegen::Cranelift(name, value) => {
                    config.cranelift_flag_set(name, value);
                }
            }
        }
        if cache {
            match cache_config {
                Some(path) => {
                    let settings = weft::Cache::from_file(Some(&path))?;
                    config.cache(Some(settings));
                }
                None => {
                    config.cache_dir(self.cache_dir.clone().or_else(weft::default_cache_dir));
                }
            }
        }
        Ok(config)
    }
}

/// Whether the file at `path` is a precompiled artifact rather than WebAssembly.
pub fn is_precompiled(path: &std::path::Path) -> Result<bool> {
    use std::io::Read as _;
    let mut magic = [0u8; 8];
    let mut file = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let n = file.read(&mut magic).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(weft::is_precompiled(&magic[..n]))
}

/// Loads a module file: WebAssembly (binary or text) is compiled, a precompiled artifact loaded if allowed.
pub fn load_module(engine: &Engine, path: &std::path::Path, allow_precompiled: bool) -> Result<Module> {
    if !is_precompiled(path)? {
        return Module::from_file(engine, path);
    }
    if !allow_precompiled {
        anyhow::bail!(
            "{} is a precompiled module: it is native code, so it runs only with --allow-precompiled, which trusts \
             it as much as weft itself",
            path.display()
        );
    }
    Module::deserialize_file(engine, path).map_err(|e| match e.downcast_ref::<ArtifactError>() {
        Some(
            ArtifactError::OtherSettings(_) | ArtifactError::OtherTarget { .. } | ArtifactError::OtherBuild { .. },
        ) => anyhow::anyhow!(
            "{e:#}\n(a precompiled module runs only with the weft build, CPU and code-generation flags it was \
             compiled with: -O, -W, --epoch-interruption or --timeout, --consume-fuel or --fuel, \
             --explicit-bounds-checks, -g; compile it again with `weft compile`)"
        ),
        _ => e,
    })
}

/// One `-O` setting.
#[derive(Copy, Clone, Debug)]
pub enum Optimize {
    Level(weft::OptLevel),
    MemoryReservation(u64),
    MemoryGuardSize(u64),
    SignalsBasedTraps(bool),
}

fn parse_optimize(text: &str) -> Result<Vec<Optimize>, String> {
    if !text.contains('=') {
        return Ok(vec![Optimize::Level(parse_opt_level(text)?)]);
    }
    key_values(text)?
        .into_iter()
        .map(|(key, value)| {
            Ok(match key {
                "opt-level" => Optimize::Level(parse_opt_level(value)?),
                "memory-reservation" => Optimize::MemoryReservation(parse_bytes(key, value)?),
                "memory-guard-size" => Optimize::MemoryGuardSize(parse_bytes(key, value)?),
                "signals-based-traps" => Optimize::SignalsBasedTraps(parse_yes_no(key, value)?),
                _ => {
                    return Err(format!(
                        "`{key}` is not an -O setting weft knows; known: opt-level, memory-reservation, \
                         memory-guard-size, signals-based-traps"
                    ));
                }
            })
        })
        .collect()
}

/// One `-C` setting.
#[derive(Clone, Debug)]
pub enum Codegen {
    Cache(bool),
    CacheConfig(PathBuf),
    ParallelCompilation(bool),
    Inlining(bool),
    Compile(weft::Compilation),
    CompileThreads(usize),
    Compiler(weft::Strategy),
    Cranelift(String, String),
}

fn parse_codegen(text: &str) -> Result<Vec<Codegen>, String> {
    key_values(text)?
        .into_iter()
        .map(|(key, value)| {
            Ok(match key {
                "cache" => Codegen::Cache(parse_yes_no(key, value)?),
                "cache-config" => Codegen::CacheConfig(PathBuf::from(value)),
                "parallel-compilation" => Codegen::ParallelCompilation(parse_yes_no(key, value)?),
                "inlining" => Codegen::Inlining(parse_yes_no(key, value)?),
                "compile" => Codegen::Compile(match value {
                    "auto" => weft::Compilation::Auto,
                    "eager" => weft::Compilation::Eager,
                    "lazy" => weft::Compilation::Lazy,
                    "tiered" => weft::Compilation::Tiered,
                    _ => return Err(format!("`compile={value}`: use auto, eager, lazy or tiered")),
                }),
                "compile-threads" => Codegen::CompileThreads(
                    value.parse().map_err(|_| format!("`compile-threads={value}`: expected a number of threads"))?,
                ),
                "compiler" => Codegen::Compiler(match value {
                    "cranelift" => weft::Strategy::Cranelift,
                    "winch" => weft::Strategy::Winch,
                    "auto" => weft::Strategy::Auto,
                    _ => return Err(format!("`compiler={value}`: use cranelift, winch or auto")),
                }),
                _ => match key.strip_prefix("cranelift-") {
                    Some(name) => Codegen::Cranelift(name.replace('-', "_"), value.to_string()),
                    None => {
                        return Err(format!(
                            "`{key}` is not a -C setting weft knows; known: cache, cache-config, \
                             parallel-compilation, inlining, compile, compile-threads, compiler, cranelift-NAME"
                        ));
                    }
                },
            })
        })
        .collect()
}

/// `KEY[=VALUE],...` as pairs; a key alone means `KEY=y`.
pub fn key_values(text: &str) -> Result<Vec<(&str, &str)>, String> {
    text.split(',')
        .map(|item| {
            let (key, value) = item.split_once('=').unwrap_or((item, "y"));
            if key.is_empty() {
                return Err(format!("`{text}`: expected KEY=VALUE,..."));
            }
            Ok((key, value))
        })
        .collect()
}

/// y/yes/true or n/no/false.
pub fn parse_yes_no(key: &str, value: &str) -> Result<bool, String> {
    match value {
        "y" | "yes" | "true" => Ok(true),
        "n" | "no" | "false" => Ok(false),
        _ => Err(format!("`{key}={value}`: the value must be y or n")),
    }
}

fn parse_bytes(key: &str, value: &str) -> Result<u64, String> {
    let value = value.replace('_', "");
    let parsed = match value.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => value.parse().ok(),
    };
    parsed.ok_or_else(|| format!("`{key}={value}`: expected a number of bytes"))
}

fn parse_opt_level(text: &str) -> Result<weft::OptLevel, String> {
    match text {
        "0" => Ok(weft::OptLevel::None),
        "1" | "2" => Ok(weft::OptLevel::Speed),
        "s" => Ok(weft::OptLevel::SpeedAndSize),
        _ => Err(format!("`{text}` is not an optimisation level: use 0, 1, 2 or s")),
    }
}
