//! `wasi.h`: configuring what a WASI program sees (arguments, environment, standard streams, directories), then
//! giving it to a store with `weft_store_set_wasi`.

use crate::weft::{c_str, error};
use crate::{wasm_byte_vec_t, wasm_store_t, weft_error_t};
use std::ffi::c_char;
use std::fs::File;
use weft_wasi::{DirPerms, WasiCtxBuilder};

/// Where a standard stream goes.
enum Stdio {
    /// Nothing (empty input, discarded output): the default.
    Closed,
    Inherit,
    File(File),
    Bytes(Vec<u8>),
}

/// What a WASI program will see. Nothing is granted unless set.
pub struct wasi_config_t {
    argv: Vec<String>,
    inherit_argv: bool,
    env: Vec<(String, String)>,
    inherit_env: bool,
    stdin: Stdio,
    stdout: Stdio,
    stderr: Stdio,
    /// Checked to be a directory when set; opened when the context is built.
    preopens: Vec<(std::path::PathBuf, String, DirPerms)>,
}

/// A configuration granting nothing.
#[unsafe(no_mangle)]
pub extern "C" fn wasi_config_new() -> *mut wasi_config_t {
    crate::object::into_c(wasi_config_t {
        argv: Vec::new(),
        inherit_argv: false,
        env: Vec::new(),
        inherit_env: false,
        stdin: Stdio::Closed,
        stdout: Stdio::Closed,
        stderr: Stdio::Closed,
        preopens: Vec::new(),
    })
}

/// Frees a configuration.
///
/// # Safety
/// `config` must be owned (or NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasi_config_delete(config: *mut wasi_config_t) {
    if !config.is_null() {
        // SAFETY: the caller's guarantee.
        drop(unsafe { Box::from_raw(config) });
    }
}

/// Reads `n` C strings.
///
/// # Safety
/// `strings` must point to `n` NUL-terminated strings (or `n` be 0).
unsafe fn strings(n: usize, strings: *const *const c_char, what: &str) -> Option<Vec<String>> {
    // SAFETY: the caller's guarantee.
    let pointers = unsafe { crate::vec::as_slice(n, strings) };
    // SAFETY: as above.
    pointers.iter().map(|&p| unsafe { c_str(p, what) }.ok().map(str::to_string)).collect()
}

/// The program's arguments (`argv[0]` conventionally its name), replacing any set before; false (nothing changed)
/// if one is NULL or not UTF-8.
///
/// # Safety
/// `config` must be live; `argv` must point to `argc` NUL-terminated strings.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasi_config_set_argv(
    config: *mut wasi_config_t,
    argc: usize,
    argv: *const *const c_char,
) -> bool {
    // SAFETY: the caller's guarantee.
    let (Some(config), Some(args)) = (unsafe { config.as_mut() }, unsafe { strings(argc, argv, "an argument") }) else {
        return false;
    };
    config.argv = args;
    config.inherit_argv = false;
    true
}

/// The host process's own arguments.
///
/// # Safety
/// `config` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasi_config_inherit_argv(config: *mut wasi_config_t) {
    // SAFETY: the caller's guarantee.
    if let Some(config) = unsafe { config.as_mut() } {
        config.argv.clear();
        config.inherit_argv = true;
    }
}

/// The environment: `names[i]=values[i]`, replacing any set before; false (nothing changed) if a string is NULL or
/// not UTF-8.
///
/// # Safety
/// `config` must be live; `names` and `values` must each point to `envc` NUL-terminated strings.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasi_config_set_env(
    config: *mut wasi_config_t,
    envc: usize,
    names: *const *const c_char,
    values: *const *const c_char,
) -> bool {
    // SAFETY: the caller's guarantee.
    let (Some(config), Some(names), Some(values)) =
        (unsafe { config.as_mut() }, unsafe { strings(envc, names, "") }, unsafe { strings(envc, values, "") })
    else {
        return false;
    };
    config.env = names.into_iter().zip(values).collect();
    config.inherit_env = false;
    true
}

/// The host process's own environment.
///
/// # Safety
/// `config` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasi_config_inherit_env(config: *mut wasi_config_t) {
    // SAFETY: the caller's guarantee.
    if let Some(config) = unsafe { config.as_mut() } {
        config.env.clear();
        config.inherit_env = true;
    }
}

/// Opens `path` for a standard stream; false if it cannot be opened.
///
/// # Safety
/// `config` must be live; `path` a NUL-terminated string.
unsafe fn set_file(
    config: *mut wasi_config_t,
    path: *const c_char,
    open: impl FnOnce(&str) -> std::io::Result<File>,
    slot: impl FnOnce(&mut wasi_config_t) -> &mut Stdio,
) -> bool {
    // SAFETY: the caller's guarantee.
    let (Some(config), Ok(path)) = (unsafe { config.as_mut() }, unsafe { c_str(path, "the path") }) else {
        return false;
    };
    match open(path) {
        Ok(file) => {
            *slot(config) = Stdio::File(file);
            true
        }
        Err(_) => false,
    }
}

/// Standard input read from the file at `path`; false if it cannot be opened.
///
/// # Safety
/// `config` must be live; `path` a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasi_config_set_stdin_file(config: *mut wasi_config_t, path: *const c_char) -> bool {
    // SAFETY: the caller's guarantee.
    unsafe { set_file(config, path, |p| File::open(p), |c| &mut c.stdin) }
}

/// Standard input read from `bytes` (taken: the vector is left empty).
///
/// # Safety
/// `config` must be live; `bytes` a valid vector.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasi_config_set_stdin_bytes(config: *mut wasi_config_t, bytes: *mut wasm_byte_vec_t) {
    // SAFETY: the caller's guarantee.
    if let (Some(config), Some(bytes)) = (unsafe { config.as_mut() }, unsafe { bytes.as_mut() }) {
        // SAFETY: a vector this library made (the caller's guarantee).
        config.stdin = Stdio::Bytes(unsafe { bytes.take() });
    }
}

/// Standard output written to the file at `path` (created or truncated); false if it cannot be opened.
///
/// # Safety
/// `config` must be live; `path` a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasi_config_set_stdout_file(config: *mut wasi_config_t, path: *const c_char) -> bool {
    // SAFETY: the caller's guarantee.
    unsafe { set_file(config, path, |p| File::create(p), |c| &mut c.stdout) }
}

/// Standard error written to the file at `path` (created or truncated); false if it cannot be opened.
///
/// # Safety
/// `config` must be live; `path` a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasi_config_set_stderr_file(config: *mut wasi_config_t, path: *const c_char) -> bool {
    // SAFETY: the caller's guarantee.
    unsafe { set_file(config, path, |p| File::create(p), |c| &mut c.stderr) }
}

/// Defines `wasi_config_inherit_std*`: the host process's own stream.
macro_rules! inherit_stdio {
    ($name:ident, $field:ident) => {
        /// The host process's own stream.
        ///
        /// # Safety
        /// `config` must be live.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(config: *mut wasi_config_t) {
            // SAFETY: the caller's guarantee.
            if let Some(config) = unsafe { config.as_mut() } {
                config.$field = Stdio::Inherit;
            }
        }
    };
}
inherit_stdio!(wasi_config_inherit_stdin, stdin);
inherit_stdio!(wasi_config_inherit_stdout, stdout);
inherit_stdio!(wasi_config_inherit_stderr, stderr);

/// Lets the program use the host directory `host_path` as `guest_path`: read-only, or also writable (create,
/// write, rename, remove) when `writable`. Paths the program opens stay inside it. False if the directory cannot be
/// opened.
///
/// # Safety
/// `config` must be live; both paths NUL-terminated strings.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasi_config_preopen_dir(
    config: *mut wasi_config_t,
    host_path: *const c_char,
    guest_path: *const c_char,
    writable: bool,
) -> bool {
    // SAFETY: the caller's guarantee.
    let (Some(config), Ok(host), Ok(guest)) =
        (unsafe { config.as_mut() }, unsafe { c_str(host_path, "") }, unsafe { c_str(guest_path, "") })
    else {
        return false;
    };
    if !std::path::Path::new(host).is_dir() {
        return false;
    }
    let perms = if writable { DirPerms::ReadWrite } else { DirPerms::ReadOnly };
    config.preopens.push((host.into(), guest.to_string(), perms));
    true
}

impl wasi_config_t {
    fn build(self) -> anyhow::Result<weft_wasi::WasiCtx> {
        let mut builder = WasiCtxBuilder::new();
        if self.inherit_argv {
            builder.inherit_args();
        } else {
            builder.args(&self.argv);
        }
        if self.inherit_env {
            builder.inherit_env();
        } else {
            for (name, value) in &self.env {
                builder.env(name, value);
            }
        }
        match self.stdin {
            Stdio::Closed => {}
            Stdio::Inherit => {
                builder.inherit_stdin();
            }
            Stdio::File(file) => {
                builder.stdin_reader(file);
            }
            Stdio::Bytes(bytes) => {
                builder.stdin_bytes(bytes);
            }
        }
        for (stream, is_stdout) in [(self.stdout, true), (self.stderr, false)] {
            match (stream, is_stdout) {
                (Stdio::Inherit, true) => builder.inherit_stdout(),
                (Stdio::Inherit, false) => builder.inherit_stderr(),
                (Stdio::File(file), true) => builder.stdout_writer(file),
                (Stdio::File(file), false) => builder.stderr_writer(file),
                _ => &mut builder,
            };
        }
        for (dir, guest, perms) in self.preopens {
            builder.preopened_dir(&dir, guest, perms)?;
        }
        Ok(builder.build())
    }
}

/// Gives `store` the WASI context `config` describes (taken, even on failure), replacing any it had. NULL, or an
/// error (a preopened directory that can no longer be opened; the store running wasm) the caller deletes.
///
/// # Safety
/// `store` must be live; `config` owned (or NULL: nothing granted).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn weft_store_set_wasi(
    store: *mut wasm_store_t,
    config: *mut wasi_config_t,
) -> *mut weft_error_t {
    let config = if config.is_null() {
        // SAFETY: `wasi_config_new` returns a live, owned configuration.
        unsafe { Box::from_raw(wasi_config_new()) }
    } else {
        // SAFETY: the caller's guarantee.
        unsafe { Box::from_raw(config) }
    };
    let wasi = match config.build() {
        Ok(wasi) => wasi,
        Err(e) => return error(e),
    };
    // SAFETY: the caller's guarantee.
    let Some(store) = (unsafe { store.as_ref() }) else { return error(anyhow::anyhow!("the store is NULL")) };
    match crate::engine::with_whole_store(&store.cell, |s| s.data_mut().set_wasi(wasi)) {
        Ok(()) => std::ptr::null_mut(),
        Err(e) => error(e),
    }
}
