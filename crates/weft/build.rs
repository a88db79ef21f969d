//! Computes `WEFT_BUILD_ID`: a hash of everything that shapes the code Weft generates and the runtime that runs
//! it, so that precompiled artifacts and cache entries from any other build are refused. The crate version alone
//! is not enough: between releases the code generator, the `VMContext` layout or the artifact format change
//! without it changing.

use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let mut inputs: Vec<PathBuf> = Vec::new();
    for dir in ["src", "../environ/src", "../cranelift/src", "../runtime/src"] {
        let dir = manifest.join(dir);
        if dir.is_dir() {
            println!("cargo:rerun-if-changed={}", dir.display());
            collect(&dir, &mut inputs);
        }
    }
    // The lock file pins Cranelift's exact version (absent when built as a dependency from a registry, where the
    // versions of Weft's own crates pin it instead).
    for file in ["../../Cargo.lock", "../../Cargo.toml"] {
        let file = manifest.join(file);
        if file.is_file() {
            println!("cargo:rerun-if-changed={}", file.display());
            inputs.push(file);
        }
    }
    inputs.sort();
    let mut hash = Fnv::default();
    for path in &inputs {
        hash.write(path.strip_prefix(&manifest).unwrap_or(path).to_string_lossy().as_bytes());
        hash.write(&std::fs::read(path).unwrap_or_default());
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    if let Ok(out) = std::process::Command::new(rustc).arg("-V").output() {
        hash.write(&out.stdout);
    }
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    println!("cargo:rustc-env=WEFT_BUILD_ID={version}-{:016x}", hash.0);
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// 64-bit FNV-1a: enough to tell builds apart (this is an identity check, not a security boundary).
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        // Separate consecutive inputs so that ("ab", "c") and ("a", "bc") differ.
        self.0 = (self.0 ^ 0xff).wrapping_mul(0x0100_0000_01b3);
    }
}
