//! What profiling agents need from the operating system: the jitdump marker mapping and the clock perf uses.

use crate::mmap::Mmap;

/// An executable mapping of a jitdump file, kept for as long as the file is written. `perf record` logs the
/// mapping of every executable file; `perf inject --jit` finds the jitdump file through that record.
pub struct JitDumpMarker {
    _mmap: Mmap,
}

impl JitDumpMarker {
    /// Maps the first page of `file` read+execute.
    pub fn new(file: &std::fs::File) -> std::io::Result<JitDumpMarker> {
        Ok(JitDumpMarker { _mmap: Mmap::file_exec_marker(file, crate::mmap::page_size())? })
    }
}

/// Nanoseconds of `CLOCK_MONOTONIC`, the clock `perf record -k mono` timestamps its samples with.
pub fn monotonic_ns() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    (t.tv_sec as u64).wrapping_mul(1_000_000_000).wrapping_add(t.tv_nsec as u64)
}
