//! `weft run`: instantiate a module and call its entry point.

use anyhow::{Context as _, Result, bail};
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use weft::{Config, Engine, Linker, Module, Store, Val, ValType};

/// Options of `weft run`.
#[derive(Parser)]
pub struct RunCommand {
    /// Call this exported function instead of `_start`; the trailing arguments are its parameters.
    ///
    /// Example: weft run --invoke add add.wat 2 3
    #[arg(long, value_name = "NAME")]
    invoke: Option<String>,
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
    /// The module to run (.wasm binary or .wat text).
    #[arg(value_name = "FILE")]
    module: PathBuf,
    /// Arguments for the invoked function (after the module).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "ARGS")]
    args: Vec<String>,
}

impl RunCommand {
    pub fn execute(self) -> Result<ExitCode> {
        let mut config = Config::new();
        config.epoch_interruption(self.timeout.is_some()).consume_fuel(self.fuel.is_some());
        let engine = Engine::new(&config)?;
        let module = Module::from_file(&engine, &self.module)?;
        let mut store = Store::new(&engine, ());
        if let Some(fuel) = self.fuel {
            store.set_fuel(fuel)?;
        }
        if let Some(timeout) = self.timeout {
            store.set_epoch_deadline(1);
            let engine = engine.clone();
            // A detached timer: when it fires, the engine's epoch passes the store's deadline and wasm traps.
            std::thread::spawn(move || {
                std::thread::sleep(timeout);
                engine.increment_epoch();
            });
        }
        let mut linker: Linker<()> = Linker::new();
        define_host_imports(&mut linker)?;
        let instance = linker
            .instantiate(&mut store, &module)
            .with_context(|| format!("cannot instantiate {}", self.module.display()))?;
        let name = self.invoke.as_deref().unwrap_or("_start");
        let func = instance
            .get_func(&mut store, name)
            .with_context(|| format!("{} exports no function called `{name}`", self.module.display()))?;
        let ty = func.ty(&store);
        if ty.params.len() != self.args.len() {
            bail!("`{name}` takes {} arguments ({}), but {} were given", ty.params.len(), ty, self.args.len());
        }
        let params = ty
            .params
            .iter()
            .zip(&self.args)
            .enumerate()
            .map(|(i, (t, a))| parse_arg(*t, a).with_context(|| format!("argument {} of `{name}`", i + 1)))
            .collect::<Result<Vec<_>>>()?;
        let mut results = vec![Val::I32(0); ty.results.len()];
        if let Err(e) = func.call(&mut store, &params, &mut results) {
            if let Some(ProcExit(code)) = e.downcast_ref::<ProcExit>() {
                return Ok(ExitCode::from((*code).clamp(0, 255) as u8));
            }
            if let Some(trap @ (weft::Trap::Interrupted | weft::Trap::OutOfFuel)) = e.downcast_ref::<weft::Trap>() {
                let why = match (trap, self.timeout) {
                    (weft::Trap::OutOfFuel, _) => "ran out of fuel".to_string(),
                    (_, Some(t)) => format!("was interrupted after the {} timeout", humantime(t)),
                    _ => "was interrupted".to_string(),
                };
                eprintln!("error: {} {why}: {e:#}", self.module.display());
                return Ok(ExitCode::from(EXIT_INTERRUPTED));
            }
            if e.downcast_ref::<weft::Trap>().is_some() {
                eprintln!("error: wasm trap in `{name}` of {}: {e:#}", self.module.display());
                // 128 + SIGABRT, as a native program that aborts would report.
                return Ok(ExitCode::from(134));
            }
            return Err(e.context(format!("calling `{name}` failed")));
        }
        for r in &results {
            println!("{}", format_val(r));
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// Exit status of a program stopped by `--timeout` or `--fuel` (the convention of the `timeout` utility).
const EXIT_INTERRUPTED: u8 = 124;

/// Parses a human-readable duration: a number followed by `ms`, `s`, `m` or `h` (`500ms`, `2s`, `1.5m`).
fn parse_duration(text: &str) -> Result<Duration, String> {
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().map_err(|_| format!("`{text}` is not a duration such as 500ms, 2s or 1m"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        "" => return Err(format!("`{text}` needs a unit: ms, s, m or h (e.g. 2s)")),
        other => return Err(format!("unknown unit `{other}` in `{text}`: use ms, s, m or h")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("`{text}` is not a valid duration"))
}

fn humantime(d: Duration) -> String {
    if d.subsec_millis() == 0 { format!("{}s", d.as_secs()) } else { format!("{}ms", d.as_millis()) }
}

/// `proc_exit(code)`: ends the run with `code` as the exit status.
#[derive(Debug)]
struct ProcExit(i32);

impl std::fmt::Display for ProcExit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit with status {}", self.0)
    }
}

impl std::error::Error for ProcExit {}

const WASI_ERRNO_SUCCESS: i32 = 0;
const WASI_ERRNO_BADF: i32 = 8;
const WASI_ERRNO_FAULT: i32 = 21;
const WASI_ERRNO_IO: i32 = 29;

/// Host functions for modules run from the command line.
///
/// * `weft::print_*`: print a number or a string from memory, with a newline after numbers.
/// * `wasi_snapshot_preview1::fd_write` (to stdout and stderr only) and `proc_exit`: the part of WASI a "hello
///   world" needs, until the WASI crate lands with the full preview1 interface and its sandbox.
fn define_host_imports(linker: &mut Linker<()>) -> Result<()> {
    linker
        .func_wrap("wasi_snapshot_preview1", "proc_exit", |code: i32| -> Result<()> { Err(ProcExit(code).into()) })?;
    linker.func_wrap(
        "wasi_snapshot_preview1",
        "fd_write",
        |mut caller: weft::Caller<'_, ()>, fd: i32, iovs: i32, iovs_len: i32, nwritten: i32| -> Result<i32> {
            use std::io::Write;
            let Some(memory) = caller.get_export("memory").and_then(|e| e.into_memory()) else {
                return Ok(WASI_ERRNO_FAULT);
            };
            let mut out: Box<dyn Write> = match fd {
                1 => Box::new(std::io::stdout().lock()),
                2 => Box::new(std::io::stderr().lock()),
                _ => return Ok(WASI_ERRNO_BADF),
            };
            let data = memory.data(&caller);
            let read_u32 = |at: usize| -> Option<u32> {
                Some(u32::from_le_bytes(data.get(at..at.checked_add(4)?)?.try_into().ok()?))
            };
            let mut total: u32 = 0;
            for i in 0..iovs_len as u32 as usize {
                let entry = (iovs as u32 as usize).saturating_add(i.saturating_mul(8));
                let (Some(ptr), Some(len)) = (read_u32(entry), read_u32(entry.saturating_add(4))) else {
                    return Ok(WASI_ERRNO_FAULT);
                };
                let Some(bytes) = data.get(ptr as usize..(ptr as usize).saturating_add(len as usize)) else {
                    return Ok(WASI_ERRNO_FAULT);
                };
                if out.write_all(bytes).is_err() {
                    return Ok(WASI_ERRNO_IO);
                }
                total = total.wrapping_add(len);
            }
            let _ = out.flush();
            drop(out);
            if memory.write(&mut caller, nwritten as u32 as usize, &total.to_le_bytes()).is_err() {
                return Ok(WASI_ERRNO_FAULT);
            }
            Ok(WASI_ERRNO_SUCCESS)
        },
    )?;
    linker.func_wrap("weft", "print_i32", |v: i32| println!("{v}"))?;
    linker.func_wrap("weft", "print_i64", |v: i64| println!("{v}"))?;
    linker.func_wrap("weft", "print_f32", |v: f32| println!("{v}"))?;
    linker.func_wrap("weft", "print_f64", |v: f64| println!("{v}"))?;
    linker.func_wrap("weft", "print_str", |mut caller: weft::Caller<'_, ()>, ptr: i32, len: i32| -> Result<()> {
        let memory = caller
            .get_export("memory")
            .and_then(|e| e.into_memory())
            .context("print_str needs the module to export its memory as `memory`")?;
        let mut buf = vec![0u8; len as u32 as usize];
        memory.read(&caller, ptr as u32 as usize, &mut buf).context("print_str: string out of bounds")?;
        print!("{}", String::from_utf8_lossy(&buf));
        Ok(())
    })?;
    Ok(())
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
    }
}
