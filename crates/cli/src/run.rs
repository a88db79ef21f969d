//! `weft run`: instantiate a module and call its entry point.

use crate::options::{CodegenOptions, load_module};
use anyhow::{Context as _, Result, bail};
use clap::Parser;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use weft::{Engine, GuestProfiler, Linker, Store, Val, ValType};
use weft_wasi::{DirPerms, I32Exit, WasiCtx, WasiCtxBuilder};

/// Options of `weft run`.
#[derive(Parser)]
#[command(after_help = "Examples:\n  weft run app.wasm arg1 arg2\n  weft run --dir . --env HOME=/ app.wasm\n  \
weft run --dir /srv/data::/data --timeout 2s app.wasm\n  weft run --invoke add examples/add.wat 2 3")]
pub struct RunCommand {
    /// Call this exported function instead of `_start`; the trailing arguments are its parameters.
    ///
    /// Example: weft run --invoke add add.wat 2 3
    #[arg(long, value_name = "NAME")]
    invoke: Option<String>,
    /// Give the program a host directory, read-write: HOST, or HOST::GUEST to show it under another path
    /// (repeatable). Nothing outside these directories is reachable.
    ///
    /// Example: weft run --dir . --dir /tmp/out::/out app.wasm
    #[arg(long = "dir", value_name = "HOST[::GUEST]")]
    dirs: Vec<String>,
    /// Like --dir, but the program can only read.
    ///
    /// Example: weft run --dir-readonly /etc/app::/config app.wasm
    #[arg(long = "dir-readonly", value_name = "HOST[::GUEST]")]
    readonly_dirs: Vec<String>,
    /// Set an environment variable: NAME=VALUE, or NAME to pass the host's value through (repeatable). The program
    /// sees no other variables.
    ///
    /// Example: weft run --env LANG=C --env HOME app.wasm
    #[arg(long = "env", value_name = "NAME[=VALUE]")]
    envs: Vec<String>,
    /// Stop the program after this much wall-clock time (e.g. 500ms, 2s, 1m); it then exits with status 124.
    ///
    /// Example: weft run --timeout 2s app.wasm
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    timeout: Option<Duration>,
    /// Give the program this much fuel (one unit per executed instruction); running out exits with status 124.
    ///
    /// Example: weft run --fuel 1000000 app.wasm
    #[arg(long, value_name = "N")]
    fuel: Option<u64>,
    /// Instantiate another module first and make its exports importable under NAME (repeatable, in order; each
    /// may import WASI and the modules preloaded before it), as `wasmtime run --preload` does.
    ///
    /// Example: weft run --preload lib=lib.wasm app.wasm
    #[arg(long = "preload", value_name = "NAME=PATH")]
    preloads: Vec<String>,
    /// Run a precompiled module (.cwasm from `weft compile`). Precompiled modules are native code: allow only
    /// those you trust as much as weft itself.
    #[arg(long)]
    allow_precompiled: bool,
    /// WASI settings, Wasmtime's `-S` group, KEY[=VALUE],...: inherit-env (the guest sees this process's whole
    /// environment, before any --env), cli and preview2=n (accepted: Weft's WASI is preview1, always on).
    ///
    /// Example: weft run -S inherit-env app.wasm
    #[arg(short = 'S', value_name = "KEY[=VALUE],...", value_parser = parse_wasi_settings)]
    wasi_settings: Vec<Vec<WasiSetting>>,
    /// Debugging settings, Wasmtime's `-D` group, KEY[=VALUE],...: coredump=PATH (on a trap, write a wasm core
    /// dump of the store there), debug-info[=y|n] (the same as -g: DWARF for gdb).
    ///
    /// Example: weft run -D coredump=crash.coredump app.wasm
    #[arg(short = 'D', value_name = "KEY[=VALUE],...", value_parser = parse_debug)]
    debug: Vec<Vec<Debug>>,
    #[command(flatten)]
    codegen: CodegenOptions,
    /// The module to run (.wasm binary, .wat text, or with --allow-precompiled a .cwasm), then the program's
    /// arguments (its argv after the program name), or with --invoke the function's parameters. Everything after
    /// FILE belongs to the program, flags too (`weft run app.wasm --help` asks the program for its help); weft's
    /// own options go before FILE.
    #[arg(required = true, trailing_var_arg = true, value_name = "FILE [ARGS]")]
    module_and_args: Vec<String>,
}

/// The store data of a program run from the command line.
struct Host {
    wasi: WasiCtx,
    /// The `-W max-*` limits (unlimited when none were given).
    limits: weft::StoreLimits,
}

impl RunCommand {
    /// The module to run.
    fn module(&self) -> &Path {
        Path::new(&self.module_and_args[0])
    }

    /// Where `-D coredump=PATH` asks for a core dump (the last one given).
    fn coredump_path(&self) -> Option<PathBuf> {
        self.debug.iter().flatten().rev().find_map(|d| match d {
            Debug::Coredump(path) => Some(path.clone()),
            Debug::DebugInfo(_) => None,
        })
    }

    /// What follows the module: the program's arguments, or the parameters of the function `--invoke` names.
    fn args(&self) -> &[String] {
        &self.module_and_args[1..]
    }

    fn wasi_ctx(&self) -> Result<WasiCtx> {
        let mut builder = WasiCtxBuilder::new();
        builder.inherit_stdio();
        if self.wasi_settings.iter().flatten().any(|s| matches!(s, WasiSetting::InheritEnv(true))) {
            builder.inherit_env();
        }
        builder.arg(self.module().display().to_string());
        if self.invoke.is_none() {
            builder.args(self.args());
        }
        for spec in &self.envs {
            match spec.split_once('=') {
                Some((name, value)) => builder.env(name, value),
                None => match std::env::var(spec) {
                    Ok(value) => builder.env(spec, value),
                    Err(_) => bail!("--env {spec}: the variable is not set in this environment"),
                },
            };
        }
        for (specs, perms) in [(&self.dirs, DirPerms::ReadWrite), (&self.readonly_dirs, DirPerms::ReadOnly)] {
            for spec in specs {
                let (host, guest) = spec.split_once("::").unwrap_or((spec.as_str(), spec.as_str()));
                builder.preopened_dir(host, guest, perms).with_context(|| format!("--dir {spec}"))?;
            }
        }
        Ok(builder.build())
    }

    pub fn execute(self) -> Result<ExitCode> {
        let mut config = self.codegen.config(self.timeout.is_some(), self.fuel.is_some())?;
        let coredump = self.coredump_path();
        if let Some(on) = self.debug.iter().flatten().rev().find_map(|d| match d {
            Debug::DebugInfo(on) => Some(*on),
            _ => None,
        }) {
            config.debug_info(on || self.codegen.debug_info);
        }
        config.coredump_on_trap(coredump.is_some());
        let engine = Engine::new(&config)?;
        let timing = Timing::from_env();
        let module = load_module(&engine, self.module(), self.allow_precompiled)?;
        timing.mark("compile_ms");
        let limits = self.codegen.wasm.limits();
        let has_limits = limits.is_some();
        let mut store = Store::new(&engine, Host { wasi: self.wasi_ctx()?, limits: limits.unwrap_or_default() });
        if has_limits {
            store.limiter(|host| &mut host.limits);
        }
        if let Some((_, interval)) = self.codegen.guest_profile() {
            store.set_guest_profiler(GuestProfiler::new(&self.module().display().to_string(), interval))?;
        }
        if let Some(fuel) = self.fuel {
            store.set_fuel(fuel)?;
        }
        if let Some(timeout) = self.timeout {
            store.set_epoch_deadline(1);
            let engine = engine.clone();
            let module = self.module().display().to_string();
            // A detached timer: when it fires, the engine's epoch passes the store's deadline and wasm traps at its
            // next check. A program waiting in a host call (reading a pipe that never ends, sleeping in
            // poll_oneoff) reaches no check, so after a grace period the timer ends the process itself: the
            // timeout bounds the whole run, as it promises.
            std::thread::spawn(move || {
                std::thread::sleep(timeout);
                engine.increment_epoch();
                std::thread::sleep(TIMEOUT_GRACE);
                eprintln!(
                    "error: {module} was stopped after the {} timeout while waiting in a host call",
                    humantime(timeout)
                );
                std::process::exit(EXIT_INTERRUPTED.into());
            });
        }
        let mut linker: Linker<Host> = Linker::new(&engine);
        weft_wasi::add_to_linker(&mut linker, |host: &mut Host| &mut host.wasi)?;
        for spec in &self.preloads {
            let Some((name, path)) = spec.split_once('=') else {
                bail!("--preload {spec}: expected NAME=PATH");
            };
            let preloaded = load_module(&engine, Path::new(path), self.allow_precompiled)
                .with_context(|| format!("--preload {spec}"))?;
            let instance = match linker.instantiate(&mut store, &preloaded) {
                Ok(instance) => instance,
                Err(e) => return self.report(&mut store, e.context(format!("--preload {spec}")), "instantiation"),
            };
            linker.instance(&mut store, name, instance)?;
        }
        let instance = match linker.instantiate(&mut store, &module) {
            Ok(instance) => instance,
            Err(e) => return self.report(&mut store, e, "instantiation"),
        };
        timing.mark("inst_ms");
        let name = self.invoke.as_deref().unwrap_or("_start");
        let func = instance.get_func(&mut store, name).with_context(|| {
            if self.invoke.is_some() {
                format!("{} exports no function called `{name}`", self.module().display())
            } else {
                format!(
                    "{} exports no `_start` function: name the function to call with --invoke",
                    self.module().display()
                )
            }
        })?;
        let ty = func.ty(&store);
        let params = if self.invoke.is_some() {
            if ty.params.len() != self.args().len() {
                bail!("`{name}` takes {} arguments ({}), but {} were given", ty.params.len(), ty, self.args().len());
            }
            ty.params
                .iter()
                .zip(self.args())
                .enumerate()
                .map(|(i, (t, a))| parse_arg(*t, a).with_context(|| format!("argument {} of `{name}`", i + 1)))
                .collect::<Result<Vec<_>>>()?
        } else {
            if !ty.params.is_empty() {
                bail!("`_start` has parameters ({ty}); a WASI command takes none: use --invoke to call it");
            }
            Vec::new()
        };
        let mut results = vec![Val::I32(0); ty.results.len()];
        let outcome = func.call(&mut store, &params, &mut results);
        timing.mark("run_ms");
        timing.report();
        // Written whatever the outcome: a profile of a run that trapped or exited is as useful.
        self.write_guest_profile(&mut store)?;
        // A lazily compiled module keeps the optimised code of this run for the next (with the cache on).
        module.save_compiled_code();
        if let Err(e) = outcome {
            return self.report(&mut store, e, name);
        }
        for r in &results {
            println!("{}", format_val(r));
        }
        Ok(ExitCode::SUCCESS)
    }

    /// With `--profile=guest`: the profile (Firefox Profiler JSON) and its flame graph (SVG beside it).
    fn write_guest_profile(&self, store: &mut Store<Host>) -> Result<()> {
        let (Some((path, _)), Some(profiler)) = (self.codegen.guest_profile(), store.take_guest_profiler()) else {
            return Ok(());
        };
        let file = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
        profiler.finish(file).with_context(|| format!("writing {}", path.display()))?;
        let svg = path.with_extension("svg");
        let file = std::fs::File::create(&svg).with_context(|| format!("creating {}", svg.display()))?;
        profiler
            .write_flame_graph(std::io::BufWriter::new(file))
            .with_context(|| format!("writing {}", svg.display()))?;
        let (samples, _) = profiler.sample_count();
        eprintln!(
            "weft: guest profile of {samples} samples in {} (open it at https://profiler.firefox.com), flame graph in {}",
            path.display(),
            svg.display()
        );
        Ok(())
    }

    /// Turns the error a run ended with into the exit status (printing why, unless it is `proc_exit`).
    fn report(&self, store: &mut Store<Host>, e: anyhow::Error, what: &str) -> Result<ExitCode> {
        if let Some(I32Exit(code)) = e.downcast_ref::<I32Exit>() {
            return Ok(ExitCode::from((*code).clamp(0, 255) as u8));
        }
        if let Some(trap @ (weft::Trap::Interrupted | weft::Trap::OutOfFuel)) = e.downcast_ref::<weft::Trap>() {
            let why = match (trap, self.timeout) {
                (weft::Trap::OutOfFuel, _) => "ran out of fuel".to_string(),
                (_, Some(t)) => format!("was interrupted after the {} timeout", humantime(t)),
                _ => "was interrupted".to_string(),
            };
            eprintln!("error: {} {why}: {e:#}", self.module().display());
            return Ok(ExitCode::from(EXIT_INTERRUPTED));
        }
        if e.downcast_ref::<weft::Trap>().is_some() {
            eprintln!("error: wasm trap in `{what}` of {}: {e:#}", self.module().display());
            if let (Some(dump), Some(path)) = (e.downcast_ref::<weft::WasmCoreDump>(), self.coredump_path()) {
                let name = self.module().file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                let bytes = dump.serialize(&mut *store, &name);
                std::fs::write(&path, bytes).with_context(|| format!("writing the core dump to {}", path.display()))?;
                eprintln!("wrote a wasm core dump to {}", path.display());
            }
            // 128 + SIGABRT, as a native program that aborts would report.
            return Ok(ExitCode::from(134));
        }
        Err(e.context(format!("{} failed in `{what}`", self.module().display())))
    }
}

/// With `BENCH_TIMING=1`, the time spent compiling, instantiating and running, printed on stderr as
/// `TIMING compile_ms=.. inst_ms=.. run_ms=..` (the benchmark harness's format).
struct Timing {
    enabled: bool,
    last: std::cell::Cell<std::time::Instant>,
    phases: std::cell::RefCell<Vec<(&'static str, f64)>>,
}

impl Timing {
    fn from_env() -> Timing {
        Timing {
            enabled: std::env::var_os("BENCH_TIMING").is_some_and(|v| v == "1"),
            last: std::cell::Cell::new(std::time::Instant::now()),
            phases: Default::default(),
        }
    }

    fn mark(&self, phase: &'static str) {
        let now = std::time::Instant::now();
        self.phases.borrow_mut().push((phase, (now - self.last.get()).as_secs_f64() * 1000.0));
        self.last.set(now);
    }

    fn report(&self) {
        if self.enabled {
            let fields: Vec<String> = self.phases.borrow().iter().map(|(k, v)| format!("{k}={v:.3}")).collect();
            eprintln!("TIMING {}", fields.join(" "));
        }
    }
}

/// Exit status of a program stopped by `--timeout` or `--fuel` (the convention of the `timeout` utility).
const EXIT_INTERRUPTED: u8 = 124;
/// How long after `--timeout` a program still inside a host call gets before the process ends.
const TIMEOUT_GRACE: Duration = Duration::from_millis(250);

/// Parses a human-readable duration: a number followed by `us`, `ms`, `s`, `m` or `h` (`500ms`, `2s`, `1.5m`).
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().map_err(|_| format!("`{text}` is not a duration such as 500ms, 2s or 1m"))?;
    let seconds = match unit {
        "us" | "µs" => value / 1_000_000.0,
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        "" => return Err(format!("`{text}` needs a unit: us, ms, s, m or h (e.g. 2s)")),
        other => return Err(format!("unknown unit `{other}` in `{text}`: use us, ms, s, m or h")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("`{text}` is not a valid duration"))
}

fn humantime(d: Duration) -> String {
    if d.subsec_millis() == 0 { format!("{}s", d.as_secs()) } else { format!("{}ms", d.as_millis()) }
}

fn parse_arg(ty: ValType, text: &str) -> Result<Val> {
    Ok(match ty {
        ValType::I32 => Val::I32(parse_int(text, 32)? as i32),
        ValType::I64 => Val::I64(parse_int(text, 64)?),
        ValType::F32 => Val::from(text.parse::<f32>().with_context(|| format!("`{text}` is not an f32"))?),
        ValType::F64 => Val::from(text.parse::<f64>().with_context(|| format!("`{text}` is not an f64"))?),
        other => bail!("parameters of type {other} cannot be given on the command line"),
    })
}

/// Parses a `bits`-wide integer: signed or unsigned decimal (`-1`, `4294967295`) or `0x` hex. Values above the
/// signed maximum wrap to their two's-complement meaning, as wasm integers have no sign.
fn parse_int(text: &str, bits: u32) -> Result<i64> {
    let value: i128 = match text.strip_prefix("0x") {
        Some(hex) => i128::from_str_radix(hex, 16),
        None => text.parse::<i128>(),
    }
    .with_context(|| format!("`{text}` is not an integer"))?;
    let min = -(1i128 << (bits - 1));
    let max = (1i128 << bits) - 1;
    if value < min || value > max {
        bail!("`{text}` does not fit in {bits} bits");
    }
    let wrapped = if value > (1i128 << (bits - 1)) - 1 { value - (1i128 << bits) } else { value };
    Ok(wrapped as i64)
}

fn format_val(v: &Val) -> String {
    match v {
        Val::I32(x) => x.to_string(),
        Val::I64(x) => x.to_string(),
        Val::F32(b) => f32::from_bits(*b).to_string(),
        Val::F64(b) => f64::from_bits(*b).to_string(),
        Val::V128(x) => format!("{x:#034x}"),
        Val::ExternRef(r) => {
            if r.is_some() {
                "externref".into()
            } else {
                "null".into()
            }
        }
        Val::FuncRef(f) => {
            if f.is_some() {
                "funcref".into()
            } else {
                "null".into()
            }
        }
        Val::ExnRef(e) => {
            if e.is_some() {
                "exnref".into()
            } else {
                "null".into()
            }
        }
    }
}

/// One `-S` setting.
#[derive(Clone, Debug)]
pub enum WasiSetting {
    InheritEnv(bool),
}

fn parse_wasi_settings(text: &str) -> Result<Vec<WasiSetting>, String> {
    let mut settings = Vec::new();
    for (key, value) in crate::options::key_values(text)? {
        match key {
            "inherit-env" => settings.push(WasiSetting::InheritEnv(crate::options::parse_yes_no(key, value)?)),
            "cli" => {
                if !crate::options::parse_yes_no(key, value)? {
                    return Err("`cli=n`: weft run always provides WASI to the program".into());
                }
            }
            "preview2" => {
                if crate::options::parse_yes_no(key, value)? {
                    return Err("`preview2=y`: Weft implements WASI preview1 only".into());
                }
            }
            _ => return Err(format!("`{key}` is not a -S setting weft knows; known: inherit-env, cli, preview2")),
        }
    }
    Ok(settings)
}

/// One `-D` setting.
#[derive(Clone, Debug)]
pub enum Debug {
    Coredump(PathBuf),
    DebugInfo(bool),
}

fn parse_debug(text: &str) -> Result<Vec<Debug>, String> {
    crate::options::key_values(text)?
        .into_iter()
        .map(|(key, value)| match key {
            "coredump" if value != "y" => Ok(Debug::Coredump(PathBuf::from(value))),
            "coredump" => Err("`coredump` needs a path: -D coredump=PATH".into()),
            "debug-info" => Ok(Debug::DebugInfo(crate::options::parse_yes_no(key, value)?)),
            _ => Err(format!("`{key}` is not a -D setting weft knows; known: coredump=PATH, debug-info")),
        })
        .collect()
}
