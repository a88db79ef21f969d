//! Copy-on-write images of linear memories' initial contents.
//!
//! Copying a module's data segments into every new instance costs time in proportion to their size (a 10 MB data
//! section is a 10 MB copy and 2,500 page faults per instance). Instead, a module's memories' initial contents are
//! laid out once, when the module is loaded, in an in-memory file (`memfd`), and each instance maps that file
//! privately over the start of its memory: pages are shared until written, and an instance that touches little of
//! its data pays for little. This applies to a memory with guard pages (whose base never moves) of a module whose
//! every active segment is known at load time to fit: offsets are constants, no segment can trap, so applying the
//! image at creation is indistinguishable from applying the segments in order. Any other module keeps copying
//! segments at instantiation, exactly as the specification orders them.

use std::os::unix::fs::FileExt;
use std::sync::Arc;
use weft_environ::{ConstExpr, ConstOp, DefinedMemoryIndex, Module, SegmentMode, Tunables};

/// The initial contents of one memory, as a file: bytes `offset..offset+len` of the memory (both page-aligned; the
/// memory is zero outside them). Only pages holding data are written, so the file is sparse: a C program's 16 MiB
/// stack below its data costs neither file pages nor copy-on-write faults.
#[derive(Debug)]
pub struct MemoryImage {
    pub(crate) file: std::fs::File,
    pub(crate) offset: usize,
    pub(crate) len: usize,
}

/// The images of a module's defined memories (`None` for a memory no data segment writes to).
#[derive(Debug)]
pub struct MemoryImages {
    pub(crate) memories: Vec<Option<Arc<MemoryImage>>>,
}

impl MemoryImages {
    /// Lays out the memory images of `module`, or `None` if its segments must be applied at instantiation (no
    /// active data segment; a memory without guard pages, or imported; an offset not known before
    /// instantiation; or a segment that may trap).
    pub fn new(module: &Module, tunables: &Tunables) -> std::io::Result<Option<MemoryImages>> {
        if !module.data.iter().any(|d| matches!(d.mode, SegmentMode::Active { .. })) {
            return Ok(None);
        }
        // An element segment that traps stops instantiation before any data segment is applied.
        for seg in &module.elements {
            if let SegmentMode::Active { target, offset } = &seg.mode {
                let Some(defined) = module.defined_table_index(*target) else { return Ok(None) };
                let min = module.tables[module.num_imported_tables as usize + defined.index()].limits.min;
                let fits =
                    constant(offset).and_then(|o| o.checked_add(seg.items.len() as u64)).is_some_and(|end| end <= min);
                if !fits {
                    return Ok(None);
                }
            }
        }
        let page = crate::mmap::page_size() as u64;
        // Per defined memory: the page-aligned start of its first segment, and its contents from there.
        let mut contents: Vec<(u64, Vec<u8>)> =
            vec![(u64::MAX, Vec::new()); module.memories.len() - module.num_imported_memories as usize];
        for seg in &module.data {
            if let SegmentMode::Active { target, offset } = &seg.mode
                && let (Some(defined), Some(start)) = (module.defined_memory_index(*target), constant(offset))
                && !seg.data.is_empty()
            {
                let first = &mut contents[defined.index()].0;
                *first = (*first).min(start / page * page);
            }
        }
        for seg in &module.data {
            let SegmentMode::Active { target, offset } = &seg.mode else { continue };
            let Some(defined) = module.defined_memory_index(*target) else { return Ok(None) };
            let ty = &module.memories[target.index()];
            if ty.memory64 || !tunables.guard_pages(ty) {
                return Ok(None);
            }
            let min_bytes = ty.limits.min.saturating_mul(crate::WASM_PAGE_SIZE);
            let Some(start) = constant(offset) else { return Ok(None) };
            let Some(end) = start.checked_add(seg.data.len() as u64).filter(|end| *end <= min_bytes) else {
                return Ok(None);
            };
            if seg.data.is_empty() {
                continue;
            }
            let (base, image) = &mut contents[defined.index()];
            let (from, to) = ((start - *base) as usize, (end - *base) as usize);
            if image.len() < to {
                image.resize(to, 0);
            }
            image[from..to].copy_from_slice(&seg.data);
        }
        let mut memories = Vec::with_capacity(contents.len());
        for (i, (base, bytes)) in contents.into_iter().enumerate() {
            if bytes.is_empty() {
                memories.push(None);
                continue;
            }
            let len = (bytes.len() as u64).next_multiple_of(page) as usize;
            let fd = rustix::fs::memfd_create(
                format!("weft-memory-image-{}", DefinedMemoryIndex::from_u32(i as u32).as_u32()),
                rustix::fs::MemfdFlags::CLOEXEC,
            )?;
            let file = std::fs::File::from(fd);
            file.set_len(len as u64)?;
            // Only pages with a non-zero byte are written: the others stay holes, which read as zero.
            for (n, chunk) in bytes.chunks(page as usize).enumerate() {
                if chunk.iter().any(|b| *b != 0) {
                    file.write_all_at(chunk, n as u64 * page)?;
                }
            }
            memories.push(Some(Arc::new(MemoryImage { file, offset: base as usize, len })));
        }
        Ok(Some(MemoryImages { memories }))
    }

    /// The image of defined memory `m`, if it has one.
    pub(crate) fn get(&self, m: DefinedMemoryIndex) -> Option<&Arc<MemoryImage>> {
        self.memories.get(m.index()).and_then(Option::as_ref)
    }
}

/// The value of a segment offset made only of constants (32- or 64-bit, with extended-constant arithmetic), as an
/// unsigned offset; `None` if it reads a global or does not evaluate.
fn constant(expr: &ConstExpr) -> Option<u64> {
    let mut stack: Vec<i64> = Vec::new();
    let mut wide = false;
    for op in expr.ops.iter() {
        let v = match *op {
            ConstOp::I32(v) => i64::from(v),
            ConstOp::I64(v) => {
                wide = true;
                v
            }
            ConstOp::I32Add
            | ConstOp::I32Sub
            | ConstOp::I32Mul
            | ConstOp::I64Add
            | ConstOp::I64Sub
            | ConstOp::I64Mul => {
                let (b, a) = (stack.pop()?, stack.pop()?);
                let r = match op {
                    ConstOp::I32Add | ConstOp::I64Add => a.wrapping_add(b),
                    ConstOp::I32Sub | ConstOp::I64Sub => a.wrapping_sub(b),
                    _ => a.wrapping_mul(b),
                };
                if matches!(op, ConstOp::I32Add | ConstOp::I32Sub | ConstOp::I32Mul) { i64::from(r as i32) } else { r }
            }
            _ => return None,
        };
        stack.push(v);
    }
    let v = stack.pop()?;
    Some(if wide { v as u64 } else { u64::from(v as u32) })
}
