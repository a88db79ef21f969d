//! Inlining of small wasm functions into their callers, with Cranelift's inliner (`Context::inline`).
//!
//! Cranelift decides nothing itself: [`Inliner`] chooses the calls, and this module keeps what Cranelift's inliner
//! drops, the source location of each inlined instruction, so that traps and backtraces in inlined code still name
//! every wasm frame with its own function and offset.
//!
//! **Heuristic.** A direct `call` (not `return_call`, not a call inside a `try_table`) to another function defined
//! by the module is inlined when the callee's translated body has at most [`TINY`] Cranelift instructions (a
//! getter, a wrapper, an arithmetic helper), and the caller has not yet grown by [`CALLER_BUDGET`] instructions
//! through inlining. Callees that make tail calls or catch exceptions are never inlined (their control flow does
//! not map onto a call site one to one), nor is a function into itself. Only one level is inlined: calls inside an
//! inlined body stay calls. Sizes count Cranelift instructions because that is what code size and compile time
//! follow. A second tier, larger callees (up to 40 or 60 instructions) with one or two call sites in the module,
//! was measured and dropped: on `../shared/bench` it gained nothing and made large callers' register allocation
//! worse (sieve 1.06x to 1.49x native, tokenize 1.14x to 1.30x; docs/benchmarks.md).
//!
//! **Source locations.** Cranelift's inliner creates the inlined instructions in a fixed order (the callee's blocks
//! in depth-first pre-order from its entry, each block's instructions in order), one per callee instruction, and
//! rewrites each `return` into a `jump` in place. [`Inliner`] notes the caller's instruction count before each
//! inlining, so afterwards the new instructions of each site are known; they are paired with the callee's in that
//! order, each pair checked to be the same operation, and given an inline-site location (see
//! [`weft_environ::InlineSite`]). Should the pairing ever fail (a Cranelift change), the function is compiled again
//! without inlining: exact backtraces matter more than the speed-up.

use cranelift_codegen::inline::{Inline, InlineCommand};
use cranelift_codegen::ir::{self, ExternalName, Opcode, SourceLoc};
use cranelift_codegen::traversals::Dfs;
use std::borrow::Cow;
use std::collections::HashMap;
use weft_environ::{DefinedFuncIndex, FuncIndex, INLINE_SITE_BIT, InlineSite, Module};

/// Callees of at most this many instructions are inlined.
pub const TINY: usize = 12;
/// Function bodies longer than this many bytes are not translated in advance as possible candidates: a body of
/// [`TINY`] Cranelift instructions takes far fewer bytes (most wasm operators become one instruction or none, and
/// take one to a few bytes), so no candidate is missed in practice, and missing one only costs a call.
pub const MAX_CANDIDATE_BODY_BYTES: u64 = 64;
/// How many instructions inlining may add to one caller.
pub const CALLER_BUDGET: usize = 600;

/// The functions of a module that may be inlined, with their translated bodies.
pub(crate) struct Candidates {
    /// By defined function index: the body of each function that may be inlined somewhere (a map, not a vector:
    /// few functions qualify, and a lazily compiled function builds one for its own callees).
    bodies: std::collections::HashMap<DefinedFuncIndex, (ir::Function, usize)>,
}

/// The instructions of `func` in its layout.
fn instruction_count(func: &ir::Function) -> usize {
    func.layout.blocks().map(|b| func.layout.block_insts(b).count()).sum()
}

/// The module function a direct call in `func` calls, if it calls one.
fn direct_callee(func: &ir::Function, func_ref: ir::FuncRef) -> Option<FuncIndex> {
    match func.dfg.ext_funcs[func_ref].name {
        ExternalName::User(name) => {
            let name = &func.params.user_named_funcs()[name];
            (name.namespace == 0).then(|| FuncIndex::from_u32(name.index))
        }
        _ => None,
    }
}

/// The module functions `func` calls directly (`call`), in order of appearance, with repeats.
pub(crate) fn direct_callees(func: &ir::Function) -> Vec<FuncIndex> {
    let mut callees = Vec::new();
    for block in func.layout.blocks() {
        for inst in func.layout.block_insts(block) {
            if let ir::InstructionData::Call { opcode: Opcode::Call, func_ref, .. } = func.dfg.insts[inst]
                && let Some(callee) = direct_callee(func, func_ref)
            {
                callees.push(callee);
            }
        }
    }
    callees
}

impl Candidates {
    /// Chooses the candidates among translated functions of `module` (which defines `count` functions); functions
    /// not given are not candidates.
    pub(crate) fn new<'f>(
        module: &Module,
        functions: impl IntoIterator<Item = (FuncIndex, &'f ir::Function)>,
        count: usize,
    ) -> Self {
        let mut bodies = std::collections::HashMap::new();
        for (index, func) in functions {
            let Some(def) = module.defined_func_index(index) else { continue };
            let size = instruction_count(func);
            let inlinable = size <= TINY
                && !func.layout.blocks().any(|b| {
                    func.layout.block_insts(b).any(|i| {
                        matches!(
                            func.dfg.insts[i].opcode(),
                            Opcode::ReturnCall | Opcode::ReturnCallIndirect | Opcode::TryCall | Opcode::TryCallIndirect
                        )
                    })
                });
            if inlinable && def.index() < count {
                bodies.insert(def, (func.clone(), size));
            }
        }
        Candidates { bodies }
    }

    fn body(&self, def: DefinedFuncIndex) -> Option<&(ir::Function, usize)> {
        self.bodies.get(&def)
    }

    /// Whether `func` calls any candidate (so that inlining can change it).
    pub(crate) fn any_call_in(&self, module: &Module, func: &ir::Function) -> bool {
        func.layout.blocks().any(|b| {
            func.layout.block_insts(b).any(|inst| match func.dfg.insts[inst] {
                ir::InstructionData::Call { opcode: Opcode::Call, func_ref, .. } => direct_callee(func, func_ref)
                    .and_then(|f| module.defined_func_index(f))
                    .is_some_and(|d| self.body(d).is_some()),
                _ => false,
            })
        })
    }
}

/// One inlined call: where its instructions start in the caller, which function, and the call's location.
struct InlinedCall {
    first_inst: usize,
    callee: DefinedFuncIndex,
    call_location: SourceLoc,
}

/// Directs Cranelift's inliner for one caller.
pub(crate) struct Inliner<'a> {
    module: &'a Module,
    candidates: &'a Candidates,
    caller: FuncIndex,
    budget: usize,
    inlined: Vec<InlinedCall>,
}

impl<'a> Inliner<'a> {
    pub(crate) fn new(module: &'a Module, candidates: &'a Candidates, caller: FuncIndex) -> Self {
        Inliner { module, candidates, caller, budget: CALLER_BUDGET, inlined: Vec::new() }
    }

    /// After `Context::inline`: gives every inlined instruction of `func` its inline-site location, and returns the
    /// function's inline sites (address-map values in `func`'s source locations refer to them by index). `None`
    /// when the inlined instructions could not be paired with the callees' (then `func` must not be used).
    pub(crate) fn restore_locations(self, func: &mut ir::Function) -> Option<Vec<InlineSite>> {
        let mut sites: Vec<InlineSite> = Vec::new();
        let mut site_index: HashMap<InlineSite, u32> = HashMap::new();
        let end = func.dfg.num_insts();
        for (k, call) in self.inlined.iter().enumerate() {
            let (callee, _) = self.candidates.body(call.callee)?;
            let callee_index = self.module.func_index(call.callee);
            let call_value = if call.call_location.is_default() { u32::MAX } else { call.call_location.bits() };
            let last = self.inlined.get(k + 1).map_or(end, |next| next.first_inst);
            let mut next_new = call.first_inst;
            let mut dfs = Dfs::new();
            for block in dfs.pre_order_iter(callee) {
                for callee_inst in callee.layout.block_insts(block) {
                    if next_new >= last {
                        return None;
                    }
                    let new_inst = ir::Inst::from_u32(next_new as u32);
                    next_new += 1;
                    let (was, now) = (callee.dfg.insts[callee_inst].opcode(), func.dfg.insts[new_inst].opcode());
                    if was != now && !(was == Opcode::Return && now == Opcode::Jump) {
                        return None;
                    }
                    let loc = callee.srcloc(callee_inst);
                    let value = if loc.is_default() {
                        // Set-up code before the callee's first operator: it belongs to the call.
                        call_value
                    } else {
                        let site = InlineSite { func: callee_index, wasm_offset: loc.bits(), caller: call_value };
                        let next = sites.len() as u32;
                        let index = *site_index.entry(site).or_insert_with(|| {
                            sites.push(site);
                            next
                        });
                        if index >= INLINE_SITE_BIT - 1 {
                            return None;
                        }
                        INLINE_SITE_BIT | index
                    };
                    func.set_srcloc(new_inst, SourceLoc::new(value));
                }
            }
            if next_new != last {
                return None;
            }
        }
        Some(sites)
    }
}

impl Inline for &mut Inliner<'_> {
    fn inline(
        &mut self,
        caller: &ir::Function,
        call_inst: ir::Inst,
        call_opcode: Opcode,
        callee: ir::FuncRef,
        _call_args: &[ir::Value],
    ) -> InlineCommand<'_> {
        if call_opcode != Opcode::Call {
            return InlineCommand::KeepCall;
        }
        let Some(callee) = direct_callee(caller, callee).filter(|&f| f != self.caller) else {
            return InlineCommand::KeepCall;
        };
        let Some(def) = self.module.defined_func_index(callee) else { return InlineCommand::KeepCall };
        let Some((body, size)) = self.candidates.body(def) else { return InlineCommand::KeepCall };
        if *size > self.budget {
            return InlineCommand::KeepCall;
        }
        // A call's own location must be a plain wasm offset: calls inside inlined bodies are never visited.
        let call_location = caller.srcloc(call_inst);
        if !call_location.is_default() && call_location.bits() & INLINE_SITE_BIT != 0 {
            return InlineCommand::KeepCall;
        }
        self.budget -= size;
        self.inlined.push(InlinedCall { first_inst: caller.dfg.num_insts(), callee: def, call_location });
        InlineCommand::Inline { callee: Cow::Borrowed(body), visit_callee: false }
    }
}
