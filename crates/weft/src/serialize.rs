//! Precompiled artifacts: a compiled module written out as bytes, and loaded back without compiling.
//!
//! Layout (integers little-endian):
//!
//! ```text
//! 0    magic "\0weftaot"
//! 8    format version: u32
//! 12   SHA-256 of every byte from offset 44 to the end
//! 44   build id length: u16, then the build id (which Weft build wrote it)
//!      header length: u32, then the header (postcard): target, code settings, metadata length, text range
//!      metadata (postcard): the module description and the compiled code's tables
//!      zero padding to a page boundary
//!      text section (machine code; libcall address fields zeroed)
//! ```
//!
//! The checks run in that order, so each refusal names the first thing that is wrong: not an artifact, another
//! format, damaged bytes, another Weft build, another target CPU, other settings. The text starts on a page boundary
//! so that `Module::deserialize_file` can map it straight from the file.

use crate::config::CodeSettings;
use crate::{Engine, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::ops::Range;
use weft_environ::{CompiledCode, Module};

/// The first bytes of every artifact.
pub(crate) const MAGIC: [u8; 8] = *b"\0weftaot";
/// Bumped whenever the layout above or the metadata's encoding changes.
const FORMAT_VERSION: u32 = 1;
/// Which Weft build wrote an artifact: its version plus a hash of the sources that shape generated code.
pub(crate) const BUILD_ID: &str = env!("WEFT_BUILD_ID");
/// Alignment of the text section within the artifact (the host page size).
const TEXT_ALIGN: usize = 4096;
const CHECKSUM_RANGE_START: usize = 44;

/// Why a precompiled artifact was refused.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ArtifactError {
    /// The bytes do not start with the artifact header.
    #[error("not a Weft precompiled module (the file does not start with Weft's artifact header)")]
    NotAnArtifact,
    /// The artifact uses another version of the format.
    #[error("artifact format version {found}, but this Weft reads version {expected}")]
    FormatVersion {
        /// The artifact's version.
        found: u32,
        /// The version this build reads.
        expected: u32,
    },
    /// The bytes were damaged or cut short after they were written.
    #[error("the artifact is corrupt: its checksum does not match its contents ({0} bytes)")]
    Corrupt(usize),
    /// Another build of Weft wrote it.
    #[error("the artifact was compiled by Weft build {found}, but this is build {expected}; compile it again")]
    OtherBuild {
        /// The writer's build.
        found: String,
        /// This build.
        expected: String,
    },
    /// It was compiled for another target or CPU feature set.
    #[error("the artifact was compiled for {found}, but this engine compiles for {expected}")]
    OtherTarget {
        /// The artifact's target and CPU flags.
        found: String,
        /// The engine's.
        expected: String,
    },
    /// It was compiled with settings that change generated code and differ from the engine's.
    #[error("the artifact was compiled with other settings than this engine's: {0}")]
    OtherSettings(String),
    /// The header is intact but its contents do not describe a usable module.
    #[error("the artifact is malformed: {0}")]
    Malformed(String),
}

#[derive(Serialize, Deserialize)]
struct Header {
    target: String,
    settings: CodeSettings,
    metadata_len: u64,
    text_offset: u64,
    text_len: u64,
}

#[derive(Serialize)]
struct MetadataRef<'a> {
    module: &'a Module,
    code: &'a CompiledCode,
}

#[derive(Deserialize)]
struct Metadata {
    module: Module,
    code: CompiledCode,
}

/// A checked artifact: its module description, its code tables, and where its text lies in the bytes.
pub(crate) struct Artifact {
    pub(crate) module: Module,
    pub(crate) code: CompiledCode,
    pub(crate) text: Range<usize>,
}

/// Writes a module description, its code tables and its text as an artifact for `engine`.
pub(crate) fn write(engine: &Engine, module: &Module, code: &CompiledCode, text: &[u8]) -> Result<Vec<u8>> {
    let metadata = postcard::to_stdvec(&MetadataRef { module, code }).map_err(encode_error)?;
    let mut text = text.to_vec();
    for reloc in &code.libcall_relocations {
        // Addresses of this process's libcalls mean nothing elsewhere; the loader writes them again.
        text[reloc.offset as usize..reloc.offset as usize + 8].fill(0);
    }
    let mut header = Header {
        target: engine.target().to_string(),
        settings: portable_settings(engine),
        metadata_len: metadata.len() as u64,
        text_offset: 0,
        text_len: text.len() as u64,
    };
    let prefix_len = |header: &Header| -> Result<usize> {
        let encoded = postcard::to_stdvec(header).map_err(encode_error)?;
        Ok(CHECKSUM_RANGE_START + 2 + BUILD_ID.len() + 4 + encoded.len())
    };
    // The header's own length depends on the text offset it records (varints); settle on a fixed point.
    loop {
        let offset = (prefix_len(&header)? + metadata.len()).next_multiple_of(TEXT_ALIGN) as u64;
        if offset == header.text_offset {
            break;
        }
        header.text_offset = offset;
    }
    let encoded_header = postcard::to_stdvec(&header).map_err(encode_error)?;
    let mut out = Vec::with_capacity(header.text_offset as usize + text.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&[0; 32]);
    out.extend_from_slice(&(BUILD_ID.len() as u16).to_le_bytes());
    out.extend_from_slice(BUILD_ID.as_bytes());
    out.extend_from_slice(&(encoded_header.len() as u32).to_le_bytes());
    out.extend_from_slice(&encoded_header);
    out.extend_from_slice(&metadata);
    out.resize(header.text_offset as usize, 0);
    out.extend_from_slice(&text);
    let checksum = Sha256::digest(&out[CHECKSUM_RANGE_START..]);
    out[12..CHECKSUM_RANGE_START].copy_from_slice(&checksum);
    Ok(out)
}

fn encode_error(e: postcard::Error) -> anyhow::Error {
    anyhow::anyhow!("cannot encode the compiled module: {e}")
}

/// Whether `bytes` start like a precompiled artifact (written by [`crate::Module::serialize`] or `weft compile`)
/// rather than WebAssembly. Only the first 8 bytes are looked at.
pub fn is_precompiled(bytes: &[u8]) -> bool {
    bytes.starts_with(&MAGIC)
}

/// Checks an artifact against `engine` and decodes its metadata.
pub(crate) fn read(engine: &Engine, bytes: &[u8]) -> Result<Artifact, ArtifactError> {
    if !is_precompiled(bytes) {
        return Err(ArtifactError::NotAnArtifact);
    }
    let mut reader = Reader { bytes, at: MAGIC.len() };
    let corrupt = ArtifactError::Corrupt(bytes.len());
    let version = u32::from_le_bytes(reader.take(4).ok_or(corrupt.clone())?.try_into().expect("4 bytes"));
    if version != FORMAT_VERSION {
        return Err(ArtifactError::FormatVersion { found: version, expected: FORMAT_VERSION });
    }
    let checksum = reader.take(32).ok_or(corrupt.clone())?;
    if Sha256::digest(&bytes[CHECKSUM_RANGE_START..]).as_slice() != checksum {
        return Err(corrupt);
    }
    let build_len = u16::from_le_bytes(reader.take(2).ok_or(corrupt.clone())?.try_into().expect("2 bytes"));
    let build = reader.take(build_len.into()).ok_or(corrupt.clone())?;
    if build != BUILD_ID.as_bytes() {
        return Err(ArtifactError::OtherBuild {
            found: String::from_utf8_lossy(build).into_owned(),
            expected: BUILD_ID.to_string(),
        });
    }
    let malformed = |what: &str| ArtifactError::Malformed(what.to_string());
    let header_len = u32::from_le_bytes(reader.take(4).ok_or(malformed("no header"))?.try_into().expect("4 bytes"));
    let header: Header = postcard::from_bytes(reader.take(header_len as usize).ok_or(malformed("short header"))?)
        .map_err(|e| ArtifactError::Malformed(format!("header: {e}")))?;
    if !target_runs_on(&header.target, engine.target()) {
        let (found, expected) = target_difference(&header.target, engine.target());
        return Err(ArtifactError::OtherTarget { found, expected });
    }
    let settings = portable_settings(engine);
    if header.settings != settings {
        return Err(ArtifactError::OtherSettings(settings_difference(&header.settings, &settings)));
    }
    let metadata_len = usize::try_from(header.metadata_len).map_err(|_| malformed("metadata length"))?;
    let metadata = reader.take(metadata_len).ok_or(malformed("metadata runs past the end"))?;
    let Metadata { module, code } =
        postcard::from_bytes(metadata).map_err(|e| ArtifactError::Malformed(format!("metadata: {e}")))?;
    let text = usize::try_from(header.text_offset)
        .ok()
        .zip(usize::try_from(header.text_len).ok())
        .and_then(|(start, len)| Some(start..start.checked_add(len)?))
        .filter(|text| text.start >= reader.at && text.end <= bytes.len() && text.start.is_multiple_of(TEXT_ALIGN))
        .ok_or(malformed("text section outside the artifact"))?;
    check_consistency(&module, &code, text.len()).map_err(ArtifactError::Malformed)?;
    Ok(Artifact { module, code, text })
}

/// The engine's code settings as an artifact records them: without the cross-compilation target, which the
/// header's target already says (so an artifact compiled for aarch64 on x86-64 matches an aarch64 engine's).
pub(crate) fn portable_settings(engine: &Engine) -> CodeSettings {
    let mut settings = engine.config().code.clone();
    settings.compiler.target = None;
    settings.eager()
}

/// Whether code compiled for target `artifact` (a `Compiler::fingerprint`) runs on an engine for `engine`: the
/// same triple and shared code generator flags, and no CPU feature (`has_*`) the engine's CPU lacks. An artifact
/// cross-compiled for an architecture's baseline therefore loads on any machine of it.
fn target_runs_on(artifact: &str, engine: &str) -> bool {
    let parts = |t: &str| -> Vec<String> { t.split(' ').map(str::to_string).collect() };
    let (a, e) = (parts(artifact), parts(engine));
    if a.len() != 3 || e.len() != 3 {
        return artifact == engine;
    }
    if a[0] != e[0] || a[1] != e[1] {
        return false;
    }
    let flags = |f: &str| -> Vec<(String, String)> {
        f.split(',').filter_map(|w| w.split_once('=')).map(|(n, v)| (n.to_string(), v.to_string())).collect()
    };
    let (a_flags, e_flags) = (flags(&a[2]), flags(&e[2]));
    let enabled = |v: &str| !matches!(v, "0" | "false");
    a_flags.len() == e_flags.len()
        && a_flags.iter().all(|(name, value)| {
            let Some((_, host)) = e_flags.iter().find(|(n, _)| n == name) else { return false };
            value == host || (name.starts_with("has_") && !enabled(value))
        })
}

/// What differs between two targets, shortly: the triples when they differ (another architecture), else the
/// code generator flags and CPU features that differ (a `name=value` word each).
fn target_difference(found: &str, expected: &str) -> (String, String) {
    let triple = |t: &str| t.split_whitespace().next().unwrap_or_default().to_string();
    if triple(found) != triple(expected) {
        return (triple(found), triple(expected));
    }
    let words = |t: &str| -> Vec<String> {
        t.split(|c: char| c.is_whitespace() || c == ',').filter(|w| w.contains('=')).map(str::to_string).collect()
    };
    let (found_words, expected_words) = (words(found), words(expected));
    let only = |a: &[String], b: &[String]| a.iter().filter(|w| !b.contains(w)).cloned().collect::<Vec<_>>().join(", ");
    let (found_only, expected_only) = (only(&found_words, &expected_words), only(&expected_words, &found_words));
    if found_only.is_empty() && expected_only.is_empty() {
        return (found.to_string(), expected.to_string());
    }
    (format!("{} with {found_only}", triple(found)), format!("{} with {expected_only}", triple(expected)))
}

/// The cheap checks that keep a well-formed but inconsistent artifact from making the loader index out of bounds.
/// (Artifacts are trusted code: this is not a verifier of what the code does.)
fn check_consistency(module: &Module, code: &CompiledCode, text_len: usize) -> Result<(), String> {
    if code.functions.len() != module.num_defined_funcs() as usize {
        return Err(format!("{} compiled functions for {} defined", code.functions.len(), module.num_defined_funcs()));
    }
    if code.array_to_wasm_trampolines.len() != module.types.len() {
        return Err(format!("{} trampolines for {} types", code.array_to_wasm_trampolines.len(), module.types.len()));
    }
    if module.functions.iter().any(|t| t.index() >= module.types.len()) {
        return Err("a function's type index is out of range".into());
    }
    let in_text = |start: u32, len: u32| (start as usize).checked_add(len as usize).is_some_and(|end| end <= text_len);
    let locs = code.functions.iter().chain(&code.array_to_wasm_trampolines);
    if let Some(loc) = locs.clone().find(|l| !in_text(l.start, l.length)) {
        return Err(format!("code at {:#x}+{:#x} lies outside the text section", loc.start, loc.length));
    }
    if code.libcall_relocations.iter().any(|r| !in_text(r.offset, 8)) {
        return Err("a libcall relocation lies outside the text section".into());
    }
    if code.eh_frame_relocations.iter().any(|&r| (r as usize).checked_add(8).is_none_or(|e| e > code.eh_frame.len())) {
        return Err("an unwind relocation lies outside .eh_frame".into());
    }
    Ok(())
}

/// Names the settings that differ between an artifact and an engine, e.g. `consume_fuel: artifact true, engine
/// false`.
fn settings_difference(artifact: &CodeSettings, engine: &CodeSettings) -> String {
    let mut out = Vec::new();
    let changed = artifact.features.symmetric_difference(engine.features);
    for (name, flag) in changed.iter_names() {
        let on = |f: weft_environ::wasmparser::WasmFeatures| if f.contains(flag) { "on" } else { "off" };
        let name = name.to_ascii_lowercase().replace('_', "-");
        out.push(format!("proposal {name}: artifact {}, engine {}", on(artifact.features), on(engine.features)));
    }
    // Both structs are flat: their pretty `Debug` forms have one `name: value,` line per field.
    let fields = |debug: String| -> Vec<(String, String)> {
        debug
            .lines()
            .filter_map(|l| l.trim().strip_suffix(',')?.split_once(": "))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let pairs = [
        (format!("{:#?}", artifact.compiler), format!("{:#?}", engine.compiler)),
        (format!("{:#?}", artifact.tunables), format!("{:#?}", engine.tunables)),
    ];
    for (a, e) in pairs {
        for ((name, a), (_, e)) in fields(a).into_iter().zip(fields(e)) {
            if a != e {
                out.push(format!("{name}: artifact {a}, engine {e}"));
            }
        }
    }
    if out.is_empty() { "(the settings differ)".to_string() } else { out.join("; ") }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let slice = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Config, Module};

    const WAT: &str =
        r#"(module (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))"#;

    #[test]
    fn artifacts_for_fewer_cpu_features_run_on_more() {
        let host = "aarch64-unknown-linux-gnu opt_level=speed,unwind_info=1 has_lse=1,has_fp16=1,use_bti=0";
        let baseline = "aarch64-unknown-linux-gnu opt_level=speed,unwind_info=1 has_lse=0,has_fp16=0,use_bti=0";
        assert!(target_runs_on(baseline, host));
        assert!(target_runs_on(host, host));
        assert!(!target_runs_on(host, baseline), "code using LSE must not load where the CPU lacks it");
        let other_abi = "aarch64-unknown-linux-gnu opt_level=speed,unwind_info=1 has_lse=0,has_fp16=0,use_bti=1";
        assert!(!target_runs_on(other_abi, host), "non-feature flags must match");
        let other_opt = "aarch64-unknown-linux-gnu opt_level=none,unwind_info=1 has_lse=0,has_fp16=0,use_bti=0";
        assert!(!target_runs_on(other_opt, host));
        let x86 = "x86_64-unknown-linux-gnu opt_level=speed,unwind_info=1 has_lse=0,has_fp16=0,use_bti=0";
        assert!(!target_runs_on(x86, host));
        assert_eq!(
            target_difference(x86, host),
            ("x86_64-unknown-linux-gnu".into(), "aarch64-unknown-linux-gnu".into())
        );
    }

    #[test]
    fn settings_difference_names_each_changed_setting() {
        let mut a = Config::new();
        a.consume_fuel(true).wasm_simd(false);
        let mut b = Config::new();
        b.opt_level(crate::OptLevel::None);
        let text = settings_difference(&a.code, &b.code);
        assert!(text.contains("proposal simd: artifact off, engine on"), "{text}");
        assert!(text.contains("opt_level: artifact Speed, engine None"), "{text}");
        assert!(text.contains("consume_fuel: artifact true, engine false"), "{text}");
        assert!(!text.contains("explicit_bounds_checks"), "{text}");
    }

    #[test]
    fn every_truncation_and_every_flipped_byte_is_refused() {
        let engine = Engine::default();
        let bytes = Module::new(&engine, WAT).unwrap().serialize().unwrap();
        for len in (0..bytes.len()).step_by(97) {
            assert!(read(&engine, &bytes[..len]).is_err(), "accepted a truncation to {len} bytes");
        }
        for at in (0..bytes.len()).step_by(13) {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x20;
            assert!(read(&engine, &damaged).is_err(), "accepted a flipped bit at {at}");
        }
    }
}
