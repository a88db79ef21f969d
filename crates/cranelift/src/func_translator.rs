//! Translation of one WebAssembly function body to Cranelift IR.
//!
//! The translator keeps the wasm operand stack as a stack of SSA values and the wasm control stack as
//! [`ControlFrame`]s; wasm locals become `cranelift-frontend` variables. Each operator is validated by `wasmparser`
//! immediately before it is translated, so the translator may assume well-typed input. Code after an unconditional
//! branch is unreachable and is skipped (only its nesting is tracked).

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::immediates::{Ieee32, Ieee64};
use cranelift_codegen::ir::{
    self, AbiParam, ArgumentPurpose, Block, BlockArg, BlockCall, ExceptionTableData, ExceptionTableItem, ExtFuncData,
    ExternalName, GlobalValueData, InstBuilder, JumpTableData, MemFlagsData, SourceLoc, TrapCode, Type,
    UserExternalName, Value, types::*,
};
use cranelift_codegen::isa::{CallConv, TargetIsa};
use cranelift_frontend::{FunctionBuilder, Variable};
use std::collections::HashMap;
use wasmparser::{BlockType, Catch, FuncValidator, FunctionBody, Operator, OperatorsReader, ValidatorResources};
use weft_environ::*;

mod simd;

/// Maps a Weft trap to the Cranelift trap code compiled code raises for it.
pub(crate) fn trap_code(trap: Trap) -> TrapCode {
    match trap {
        Trap::StackOverflow => TrapCode::STACK_OVERFLOW,
        Trap::MemoryOutOfBounds => TrapCode::HEAP_OUT_OF_BOUNDS,
        Trap::IntegerOverflow => TrapCode::INTEGER_OVERFLOW,
        Trap::IntegerDivisionByZero => TrapCode::INTEGER_DIVISION_BY_ZERO,
        Trap::BadConversionToInteger => TrapCode::BAD_CONVERSION_TO_INTEGER,
        other => TrapCode::unwrap_user(other.code()),
    }
}

/// Maps a Cranelift trap code back to a Weft trap.
pub(crate) fn trap_from_code(code: TrapCode) -> Option<Trap> {
    Some(match code {
        TrapCode::STACK_OVERFLOW => Trap::StackOverflow,
        TrapCode::HEAP_OUT_OF_BOUNDS => Trap::MemoryOutOfBounds,
        TrapCode::INTEGER_OVERFLOW => Trap::IntegerOverflow,
        TrapCode::INTEGER_DIVISION_BY_ZERO => Trap::IntegerDivisionByZero,
        TrapCode::BAD_CONVERSION_TO_INTEGER => Trap::BadConversionToInteger,
        other => return Trap::from_code(other.as_raw().get()),
    })
}

/// The Cranelift type that carries a wasm value (references are pointers).
pub(crate) fn clif_type(t: ValType) -> Type {
    match t {
        ValType::I32 => I32,
        ValType::I64 => I64,
        ValType::F32 => F32,
        ValType::F64 => F64,
        ValType::V128 => I8X16,
        ValType::FuncRef | ValType::ExternRef | ValType::Ref(_) => I64,
    }
}

/// The signature of a wasm function: `(callee_vmctx, caller_vmctx, params...) -> results`, tail calling convention.
///
/// Results that do not all fit in return registers (8 integer and 8 float/vector registers in the tail convention)
/// are instead written by the callee to a *return area*: an extra, last pointer parameter to `results.len()` slots of
/// `VALRAW_SIZE` bytes, the same layout as the array calling convention's values.
pub(crate) fn wasm_signature(isa: &dyn TargetIsa, ty: &FuncType) -> ir::Signature {
    let ptr = isa.pointer_type();
    let mut sig = ir::Signature::new(CallConv::Tail);
    sig.params.push(AbiParam::special(ptr, ArgumentPurpose::VMContext));
    sig.params.push(AbiParam::new(ptr));
    sig.params.extend(ty.params.iter().map(|t| AbiParam::new(clif_type(*t))));
    if uses_return_area(ty) {
        sig.params.push(AbiParam::new(ptr));
    } else {
        sig.returns.extend(ty.results.iter().map(|t| AbiParam::new(clif_type(*t))));
    }
    sig
}

/// Whether functions of type `ty` return their results through a return area (see [`wasm_signature`]).
pub(crate) fn uses_return_area(ty: &FuncType) -> bool {
    let ints = ty.results.iter().filter(|t| clif_type(**t).is_int()).count();
    ints > 8 || ty.results.len() - ints > 8
}

/// Whether a call returns here, or replaces this function's frame (`return_call*`).
#[derive(Copy, Clone, Debug)]
enum CallKind {
    Call,
    Tail,
}

/// What a call jumps to: a function of this module, or a code pointer with a signature.
#[derive(Copy, Clone)]
enum CallTarget {
    Direct(ir::FuncRef),
    Indirect(ir::SigRef, Value),
}

#[derive(Debug)]
enum FrameKind {
    Block,
    Loop {
        header: Block,
    },
    If {
        else_block: Block,
        else_seen: bool,
    },
    /// A `try_table`: calls inside it are `try_call`s whose exceptions land in `pad`, which holds the catch
    /// clauses' dispatch (built at `end`, when every call that can reach it is known).
    TryTable {
        pad: Block,
        catches: Vec<Catch>,
        pad_used: bool,
    },
}

#[derive(Debug)]
struct ControlFrame {
    kind: FrameKind,
    /// The block after `end`; its parameters are the frame's results.
    next: Block,
    num_params: usize,
    num_results: usize,
    /// Operand stack height below the frame's parameters.
    stack_height: usize,
    /// Whether anything reaches `next` (a fallthrough, a branch, or an `if` without `else`).
    next_reachable: bool,
}

impl ControlFrame {
    fn branch_target(&self) -> (Block, usize) {
        match self.kind {
            FrameKind::Loop { header } => (header, self.num_params),
            _ => (self.next, self.num_results),
        }
    }
}

/// A name for each builtin, used to cache its imported signature.
fn builtin_name(offset: u32) -> &'static str {
    match offset {
        builtins::MEMORY_COPY => "memory_copy",
        builtins::MEMORY_FILL => "memory_fill",
        builtins::MEMORY_INIT => "memory_init",
        builtins::TABLE_COPY => "table_copy",
        builtins::TABLE_INIT => "table_init",
        builtins::TABLE_FILL => "table_fill",
        _ => "builtin",
    }
}

/// Shared, per-module inputs of function translation.
pub(crate) struct ModuleEnv<'a> {
    pub module: &'a Module,
    pub offsets: &'a VMOffsets,
    pub tunables: &'a Tunables,
    /// Keep the vmctx and every wasm local in a stack slot of its own for the whole function (for native debug
    /// information, which then finds each at a fixed offset from the frame pointer): see [`DEBUG_SLOT_VMCTX`].
    pub debug_slots: bool,
    /// Count the function's entries and loop iterations in the module's tier counters and ask the runtime for an
    /// optimised compilation at [`weft_environ::TIER_UP_THRESHOLD`] (tiered mode's quick code).
    pub count_runs: bool,
    /// The function belongs to a tiered module: its stack check uses quick code's limit (see
    /// `vmstore::QUICK_STACK_LIMIT`), whichever tier it is, so that optimised frames called from deep quick frames
    /// share their budget.
    pub tiered: bool,
}

/// With [`ModuleEnv::debug_slots`], the key of the stack slot holding the vmctx; wasm local `i`'s slot has key
/// `DEBUG_SLOT_VMCTX + 1 + i`.
pub(crate) const DEBUG_SLOT_VMCTX: u64 = 0;

/// Translates one function body.
/// Gives every interrupt probe of `func` (see [`FuncTranslator::check_interrupts`]) an offset of its own, in layout
/// order. Translation numbers each function's probes from 0, so after inlining a callee's probes would repeat its
/// caller's offsets; two loads of one address with no store between them may be merged, and an inlined loop could
/// lose its probe, and with it its interrupts and samples.
pub(crate) fn renumber_probes(func: &mut ir::Function) {
    let probe = Some(trap_code(Trap::Interrupted));
    let insts: Vec<ir::Inst> = func.layout.blocks().flat_map(|block| func.layout.block_insts(block)).collect();
    let mut next = 0u32;
    for inst in insts {
        if func.dfg.insts[inst].opcode() != ir::Opcode::Load
            || func.dfg.insts[inst].memflags_trap_code(&func.dfg) != probe
        {
            continue;
        }
        if let ir::InstructionData::Load { offset, .. } = &mut func.dfg.insts[inst] {
            *offset = ir::immediates::Offset32::new((next % vmstore::PROBE_BYTES) as i32);
            next += 1;
        }
    }
}

pub(crate) struct FuncTranslator<'a, 'f> {
    env: &'a ModuleEnv<'a>,
    isa: &'a dyn TargetIsa,
    b: FunctionBuilder<'f>,
    ptr: Type,
    vmctx: Value,
    func_index: FuncIndex,
    /// Where this function writes its results, if its type uses a return area.
    return_area: Option<Value>,
    stack: Vec<Value>,
    control: Vec<ControlFrame>,
    locals: Vec<Variable>,
    /// With [`ModuleEnv::debug_slots`], each local's stack slot and machine type: the locals live there, not in
    /// SSA variables.
    local_slots: Vec<(ir::StackSlot, Type)>,
    reachable: bool,
    unreachable_depth: u32,
    /// Operators counted since fuel was last charged.
    fuel_pending: i64,
    sig_refs: HashMap<TypeIndex, ir::SigRef>,
    func_refs: HashMap<FuncIndex, ir::FuncRef>,
    builtin_sigs: HashMap<&'static str, ir::SigRef>,
    /// Interrupt probes emitted so far (see [`Self::check_interrupts`]), which gives each its own offset.
    probe_sites: u32,
}

type TResult<T> = Result<T, crate::CompileError>;

impl<'a, 'f> FuncTranslator<'a, 'f> {
    pub(crate) fn translate(
        env: &'a ModuleEnv<'a>,
        isa: &'a dyn TargetIsa,
        func: &'f mut ir::Function,
        fctx: &'f mut cranelift_frontend::FunctionBuilderContext,
        func_index: FuncIndex,
        validator: &mut FuncValidator<ValidatorResources>,
        body: &FunctionBody<'_>,
    ) -> TResult<()> {
        let ty = env.module.func_type(func_index).clone();
        let b = FunctionBuilder::new(func, fctx);
        let mut t = FuncTranslator {
            env,
            isa,
            b,
            ptr: isa.pointer_type(),
            vmctx: Value::from_u32(0),
            func_index,
            return_area: None,
            stack: Vec::new(),
            control: Vec::new(),
            locals: Vec::new(),
            local_slots: Vec::new(),
            reachable: true,
            unreachable_depth: 0,
            // Entering a function costs one unit, as in Wasmtime (whose fuel figures Weft's match).
            fuel_pending: 1,
            sig_refs: HashMap::new(),
            func_refs: HashMap::new(),
            builtin_sigs: HashMap::new(),
            probe_sites: 0,
        };
        let entry = t.b.create_block();
        t.b.append_block_params_for_function_params(entry);
        t.b.switch_to_block(entry);
        t.b.seal_block(entry);
        let params = t.b.block_params(entry).to_vec();
        t.vmctx = params[0];
        if uses_return_area(&ty) {
            t.return_area = params.last().copied();
        }
        t.install_stack_limit();
        t.check_interrupts();
        t.count_run();

        // Locals: parameters, then the declared locals (zero-initialised, as wasm requires).
        let mut reader = body.get_binary_reader();
        validator.read_locals(&mut reader)?;
        for i in 0..validator.len_locals() {
            let wty = validator.get_local_type(i).ok_or_else(|| crate::CompileError::internal("local type"))?;
            weft_environ::check_local_type(wty).map_err(|e| crate::CompileError::Unsupported(e.to_string()))?;
            // The validator reports typed references by its own type ids, not module indices; the translator needs
            // only the machine type of a local (every reference is a pointer, starting out null).
            let vty = match wty {
                wasmparser::ValType::Ref(_) => ValType::FuncRef,
                other => {
                    weft_environ::convert_valtype(other).map_err(|e| crate::CompileError::Unsupported(e.to_string()))?
                }
            };
            let var = t.b.declare_var(clif_type(vty));
            let init = if (i as usize) < ty.params.len() { params[2 + i as usize] } else { t.zero(vty) };
            if env.debug_slots {
                let slot = t.debug_slot(DEBUG_SLOT_VMCTX + 1 + u64::from(i), clif_type(vty).bytes());
                t.b.ins().stack_store(t.ptr, init, slot, 0);
                t.local_slots.push((slot, clif_type(vty)));
            } else {
                t.b.def_var(var, init);
            }
            t.locals.push(var);
        }
        if env.debug_slots {
            let slot = t.debug_slot(DEBUG_SLOT_VMCTX, t.ptr.bytes());
            t.b.ins().stack_store(t.ptr, t.vmctx, slot, 0);
        }

        // The function body behaves like a block whose results are the function's results.
        let exit = t.b.create_block();
        for r in ty.results.iter() {
            t.b.append_block_param(exit, clif_type(*r));
        }
        t.control.push(ControlFrame {
            kind: FrameKind::Block,
            next: exit,
            num_params: 0,
            num_results: ty.results.len(),
            stack_height: 0,
            next_reachable: false,
        });

        let mut ops = OperatorsReader::new(reader);
        while !ops.eof() {
            let (op, offset) = ops.read_with_offset()?;
            validator.op(offset, &op)?;
            weft_environ::check_operator(&op).map_err(|e| crate::CompileError::Unsupported(e.to_string()))?;
            t.b.set_srcloc(SourceLoc::new(offset as u32));
            t.translate_op(&op)?;
        }
        ops.finish()?;
        // After the final `end`, `exit` is current; return its parameters if anything reaches it.
        if t.reachable {
            t.charge_fuel();
        }
        if t.reachable {
            let rets = t.b.block_params(exit).to_vec();
            t.emit_return(&rets);
        }
        t.b.seal_all_blocks();
        t.b.finalize(isa.frontend_config());
        Ok(())
    }

    /// Function entries and loop headers: trap if the embedder interrupted the store or its epoch deadline passed.
    /// Emits nothing unless the engine enabled these checks.
    fn check_interrupts(&mut self) {
        let tunables = self.env.tunables;
        if !tunables.interruptible && !tunables.guest_profiling && !tunables.epoch_interruption {
            return;
        }
        let ctx = self.vmctx_load(VMOffsets::STORE_CONTEXT);
        let invariant = MemFlagsData::trusted().with_readonly().with_can_move();
        if tunables.guest_profiling {
            // A probe: a byte load that faults while the store has a request pending (its page is made unreadable),
            // and so costs one load when there is none. No test, branch or call, so nothing here keeps the
            // optimiser from reusing values across it. Each probe of the function has an offset of its own:
            // identical loads with no store between them could be merged into one.
            let probe = self.b.ins().load(self.ptr, invariant, ctx, vmstore::INTERRUPT_PROBE as i32);
            let offset = (self.probe_sites % vmstore::PROBE_BYTES) as i32;
            self.probe_sites += 1;
            let faults = MemFlagsData::new().with_aligned().with_trap_code(Some(trap_code(Trap::Interrupted)));
            self.b.ins().load(I8, faults, probe, offset);
        } else if tunables.interruptible {
            let flag_ptr = self.b.ins().load(self.ptr, invariant, ctx, vmstore::INTERRUPT_FLAG as i32);
            // Atomic, so the optimiser never hoists it out of a loop that has no stores of its own.
            let flag = self.b.ins().atomic_load(self.ptr, MemFlagsData::trusted(), flag_ptr);
            self.b.ins().trapnz(flag, trap_code(Trap::Interrupted));
        }
        self.check_epoch(ctx);
    }

    /// The epoch part of [`Self::check_interrupts`]: trap once the engine's epoch reaches the store's deadline.
    fn check_epoch(&mut self, ctx: Value) {
        if self.env.tunables.epoch_interruption {
            let invariant = MemFlagsData::trusted().with_readonly().with_can_move();
            let epoch_ptr = self.b.ins().load(self.ptr, invariant, ctx, vmstore::EPOCH_PTR as i32);
            let epoch = self.b.ins().atomic_load(I64, MemFlagsData::trusted(), epoch_ptr);
            let deadline = self.b.ins().load(I64, MemFlagsData::trusted(), ctx, vmstore::EPOCH_DEADLINE as i32);
            let reached = self.b.ins().icmp(IntCC::UnsignedGreaterThanOrEqual, epoch, deadline);
            self.b.ins().trapnz(reached, trap_code(Trap::Interrupted));
        }
    }

    /// Function entries and loop headers of quick code: counts a run of the function, and asks for its optimised
    /// compilation when the count reaches the threshold (exactly then, so once; the runtime ignores repeats).
    fn count_run(&mut self) {
        if !self.env.count_runs {
            return;
        }
        let Some(def) = self.env.module.defined_func_index(self.func_index) else { return };
        let counters = self.vmctx_load(VMOffsets::TIER_COUNTERS);
        let at = (def.as_u32() * 4) as i32;
        let count = self.b.ins().load(I32, MemFlagsData::trusted(), counters, at);
        let count = self.b.ins().iadd_imm_s(count, 1);
        self.b.ins().store(MemFlagsData::trusted(), count, counters, at);
        let hot = self.b.ins().icmp_imm_s(IntCC::Equal, count, i64::from(self.env.tunables.tier_up_threshold.max(1)));
        let (tier_up, next) = (self.b.create_block(), self.b.create_block());
        self.b.ins().brif(hot, tier_up, &[], next, &[]);
        self.b.set_cold_block(tier_up);
        self.b.switch_to_block(tier_up);
        self.b.seal_block(tier_up);
        let index = self.b.ins().iconst(I32, i64::from(def.as_u32()));
        self.call_builtin("tier_up", builtins::TIER_UP, &[I32], None, &[index]);
        self.b.ins().jump(next, &[]);
        self.b.switch_to_block(next);
        self.b.seal_block(next);
    }

    /// Adds the operators counted so far to the store's fuel consumption, trapping once it exceeds the fuel granted.
    fn charge_fuel(&mut self) {
        if !self.env.tunables.consume_fuel || self.fuel_pending == 0 {
            return;
        }
        let ctx = self.vmctx_load(VMOffsets::STORE_CONTEXT);
        let consumed = self.b.ins().load(I64, MemFlagsData::trusted(), ctx, vmstore::FUEL_CONSUMED as i32);
        let consumed = self.b.ins().iadd_imm_s(consumed, self.fuel_pending);
        self.b.ins().store(MemFlagsData::trusted(), consumed, ctx, vmstore::FUEL_CONSUMED as i32);
        let exhausted = self.b.ins().icmp_imm_s(IntCC::SignedGreaterThan, consumed, 0);
        self.b.ins().trapnz(exhausted, trap_code(Trap::OutOfFuel));
        self.fuel_pending = 0;
    }

    fn set_local(&mut self, local_index: u32, v: Value) {
        match self.local_slots.get(local_index as usize) {
            Some(&(slot, _)) => {
                self.b.ins().stack_store(self.ptr, v, slot, 0);
            }
            None => self.b.def_var(self.locals[local_index as usize], v),
        }
    }

    /// A stack slot of `size` bytes (naturally aligned) that debug information finds by `key`.
    fn debug_slot(&mut self, key: u64, size: u32) -> ir::StackSlot {
        let data = ir::StackSlotData::new_with_key(
            ir::StackSlotKind::ExplicitSlot,
            size,
            size.trailing_zeros() as u8,
            ir::StackSlotKey::new(key),
        );
        self.b.create_sized_stack_slot(data)
    }

    fn install_stack_limit(&mut self) {
        let vm = self.b.create_global_value(GlobalValueData::VMContext);
        let ro = self.b.func.dfg.mem_flags.insert(MemFlagsData::trusted().with_readonly()).expect("flags");
        let store = self.b.create_global_value(GlobalValueData::Load {
            base: vm,
            offset: (VMOffsets::STORE_CONTEXT as i32).into(),
            global_type: self.ptr,
            flags: ro,
        });
        // A tiered module's code (quick code's frames are larger) gets a limit further down (see
        // `vmstore::QUICK_STACK_LIMIT`).
        let field = if self.env.tiered { vmstore::QUICK_STACK_LIMIT } else { vmstore::STACK_LIMIT };
        let limit = self.b.create_global_value(GlobalValueData::Load {
            base: store,
            offset: (field as i32).into(),
            global_type: self.ptr,
            flags: ro,
        });
        self.b.func.stack_limit = Some(limit);
    }

    fn zero(&mut self, t: ValType) -> Value {
        match t {
            ValType::I32 => self.b.ins().iconst(I32, 0),
            // References start out null; a non-nullable local is set before it is read (the validator checks).
            ValType::I64 | ValType::FuncRef | ValType::ExternRef | ValType::Ref(_) => self.b.ins().iconst(I64, 0),
            ValType::F32 => self.b.ins().f32const(Ieee32::with_bits(0)),
            ValType::F64 => self.b.ins().f64const(Ieee64::with_bits(0)),
            ValType::V128 => {
                let c = self.b.func.dfg.constants.insert(vec![0u8; 16].into());
                self.b.ins().vconst(I8X16, c)
            }
        }
    }

    fn pop(&mut self) -> Value {
        self.stack.pop().expect("validated: operand stack underflow")
    }
    fn pop2(&mut self) -> (Value, Value) {
        let b = self.pop();
        let a = self.pop();
        (a, b)
    }
    fn push(&mut self, v: Value) {
        self.stack.push(v);
    }
    fn peekn(&self, n: usize) -> &[Value] {
        &self.stack[self.stack.len() - n..]
    }

    fn block_type(&self, bt: BlockType) -> (Vec<ValType>, Vec<ValType>) {
        match bt {
            BlockType::Empty => (vec![], vec![]),
            // Only the machine type matters here: every reference is a pointer (the validator checked the rest).
            BlockType::Type(wasmparser::ValType::Ref(_)) => (vec![], vec![ValType::FuncRef]),
            BlockType::Type(t) => (vec![], vec![weft_environ::convert_valtype(t).unwrap_or(ValType::I32)]),
            BlockType::FuncType(i) => {
                let ft = &self.env.module.types[i as usize];
                (ft.params.to_vec(), ft.results.to_vec())
            }
        }
    }

    fn block_with_params(&mut self, tys: &[ValType]) -> Block {
        let blk = self.b.create_block();
        for t in tys {
            self.b.append_block_param(blk, clif_type(*t));
        }
        blk
    }

    fn args(vals: &[Value]) -> Vec<BlockArg> {
        vals.iter().map(|v| BlockArg::Value(*v)).collect()
    }

    fn trap(&mut self, trap: Trap) {
        self.b.ins().trap(trap_code(trap));
    }

    /// Emits an unconditional jump to the target of `br relative_depth`.
    fn branch_to(&mut self, relative_depth: u32) {
        let (_, n) = self.control[self.control.len() - 1 - relative_depth as usize].branch_target();
        let values = self.peekn(n).to_vec();
        self.jump_to_label(relative_depth, &values);
    }

    fn translate_op(&mut self, op: &Operator<'_>) -> TResult<()> {
        if !self.reachable {
            match op {
                Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } | Operator::TryTable { .. } => {
                    self.unreachable_depth += 1;
                    return Ok(());
                }
                Operator::Else if self.unreachable_depth == 0 => {}
                Operator::End if self.unreachable_depth == 0 => {}
                Operator::End => {
                    self.unreachable_depth -= 1;
                    return Ok(());
                }
                _ => return Ok(()),
            }
        }
        use Operator as O;
        if self.env.tunables.consume_fuel && self.reachable {
            // Wasmtime's costs: these are free, every other operator costs one unit.
            if !matches!(
                op,
                O::Nop | O::Drop | O::Block { .. } | O::Loop { .. } | O::End | O::Else | O::Return | O::Unreachable
            ) {
                self.fuel_pending += 1;
            }
            // Charge before anything that leaves straight-line code, so a loop pays on every iteration and a
            // callee sees its caller's consumption.
            if matches!(
                op,
                O::Loop { .. }
                    | O::Br { .. }
                    | O::BrIf { .. }
                    | O::BrTable { .. }
                    | O::Return
                    | O::Call { .. }
                    | O::CallIndirect { .. }
                    | O::ReturnCall { .. }
                    | O::ReturnCallIndirect { .. }
                    | O::CallRef { .. }
                    | O::ReturnCallRef { .. }
                    | O::BrOnNull { .. }
                    | O::BrOnNonNull { .. }
                    | O::Unreachable
                    | O::Throw { .. }
                    | O::ThrowRef
                    | O::End
                    | O::Else
                    | O::If { .. }
            ) {
                self.charge_fuel();
            }
        }
        match *op {
            // ---- control ----
            O::Nop => {}
            O::Unreachable => {
                self.trap(Trap::UnreachableCodeReached);
                self.reachable = false;
            }
            O::Block { blockty } => {
                let (params, results) = self.block_type(blockty);
                let next = self.block_with_params(&results);
                self.control.push(ControlFrame {
                    kind: FrameKind::Block,
                    next,
                    num_params: params.len(),
                    num_results: results.len(),
                    stack_height: self.stack.len() - params.len(),
                    next_reachable: false,
                });
            }
            O::TryTable { ref try_table } => {
                let (params, results) = self.block_type(try_table.ty);
                let next = self.block_with_params(&results);
                let pad = self.b.create_block();
                self.b.append_block_param(pad, self.ptr);
                self.control.push(ControlFrame {
                    kind: FrameKind::TryTable { pad, catches: try_table.catches.clone(), pad_used: false },
                    next,
                    num_params: params.len(),
                    num_results: results.len(),
                    stack_height: self.stack.len() - params.len(),
                    next_reachable: false,
                });
            }
            O::Throw { tag_index } => {
                let tag = TagIndex::from_u32(tag_index);
                let n = self.env.module.tag_params(tag).len();
                let values = self.peekn(n).to_vec();
                let len = self.stack.len();
                self.stack.truncate(len - n);
                let size = (n.max(1) as u32) * VALRAW_SIZE;
                let slot =
                    self.b.create_sized_stack_slot(ir::StackSlotData::new(ir::StackSlotKind::ExplicitSlot, size, 4));
                let payload = self.b.ins().stack_addr(self.ptr, slot, 0);
                for (i, v) in values.iter().enumerate() {
                    self.b.ins().store(MemFlagsData::trusted(), *v, payload, (i as u32 * VALRAW_SIZE) as i32);
                }
                let tag = self.b.ins().iconst(I32, i64::from(tag_index));
                self.call_throwing_builtin(builtins::THROW, &[tag, payload]);
                self.reachable = false;
            }
            O::ThrowRef => {
                let exn = self.pop();
                self.b.ins().trapz(exn, trap_code(Trap::NullReference));
                self.call_throwing_builtin(builtins::THROW_REF, &[exn]);
                self.reachable = false;
            }
            O::Loop { blockty } => {
                let (params, results) = self.block_type(blockty);
                let header = self.block_with_params(&params);
                let next = self.block_with_params(&results);
                let args = Self::args(self.peekn(params.len()));
                self.b.ins().jump(header, &args);
                let height = self.stack.len() - params.len();
                self.stack.truncate(height);
                self.b.switch_to_block(header);
                self.check_interrupts();
                self.count_run();
                self.stack.extend_from_slice(self.b.block_params(header));
                self.control.push(ControlFrame {
                    kind: FrameKind::Loop { header },
                    next,
                    num_params: params.len(),
                    num_results: results.len(),
                    stack_height: height,
                    next_reachable: false,
                });
            }
            O::If { blockty } => {
                let cond = self.pop();
                let (params, results) = self.block_type(blockty);
                let then_block = self.b.create_block();
                let else_block = self.block_with_params(&params);
                let next = self.block_with_params(&results);
                let args = Self::args(self.peekn(params.len()));
                self.b.ins().brif(cond, then_block, &[], else_block, &args);
                self.b.seal_block(then_block);
                self.b.seal_block(else_block);
                self.b.switch_to_block(then_block);
                self.control.push(ControlFrame {
                    kind: FrameKind::If { else_block, else_seen: false },
                    next,
                    num_params: params.len(),
                    num_results: results.len(),
                    stack_height: self.stack.len() - params.len(),
                    next_reachable: false,
                });
            }
            O::Else => {
                let frame = self.control.last_mut().expect("validated: else inside if");
                if self.reachable {
                    frame.next_reachable = true;
                    let args = Self::args(&self.stack[self.stack.len() - frame.num_results..]);
                    self.b.ins().jump(frame.next, &args);
                }
                let FrameKind::If { else_block, ref mut else_seen } = frame.kind else {
                    unreachable!("validated: else matches an if")
                };
                *else_seen = true;
                let height = frame.stack_height;
                self.stack.truncate(height);
                self.b.switch_to_block(else_block);
                self.stack.extend_from_slice(self.b.block_params(else_block));
                self.reachable = true;
            }
            O::End => {
                let mut frame = self.control.pop().expect("validated: end matches a frame");
                if self.reachable {
                    frame.next_reachable = true;
                    let args = Self::args(&self.stack[self.stack.len() - frame.num_results..]);
                    self.b.ins().jump(frame.next, &args);
                }
                match frame.kind {
                    FrameKind::If { else_block, else_seen: false } => {
                        // An `if` without `else` passes its parameters through as its results.
                        self.b.switch_to_block(else_block);
                        let params = self.b.block_params(else_block).to_vec();
                        self.b.ins().jump(frame.next, &Self::args(&params));
                        frame.next_reachable = true;
                    }
                    FrameKind::Loop { header } => self.b.seal_block(header),
                    FrameKind::TryTable { pad, ref catches, pad_used: true } => self.catch_dispatch(pad, catches),
                    _ => {}
                }
                self.stack.truncate(frame.stack_height);
                self.b.switch_to_block(frame.next);
                self.b.seal_block(frame.next);
                self.stack.extend_from_slice(self.b.block_params(frame.next));
                self.reachable = frame.next_reachable;
            }
            O::Br { relative_depth } => {
                self.branch_to(relative_depth);
                self.reachable = false;
            }
            O::BrIf { relative_depth } => {
                let cond = self.pop();
                self.branch_if(relative_depth, cond, true);
            }
            O::BrTable { ref targets } => {
                let index = self.pop();
                let mut calls = Vec::with_capacity(targets.len() as usize);
                for depth in targets.targets() {
                    calls.push(self.br_table_target(depth?));
                }
                let default = self.br_table_target(targets.default());
                let jt = self.b.create_jump_table(JumpTableData::new(default, &calls));
                self.b.ins().br_table(index, jt);
                self.reachable = false;
            }
            O::Return => {
                let n = self.control[0].num_results;
                let rets = self.peekn(n).to_vec();
                self.emit_return(&rets);
                self.reachable = false;
            }
            O::Call { function_index } => self.call(FuncIndex::from_u32(function_index), CallKind::Call),
            O::CallIndirect { type_index, table_index } => {
                self.call_indirect(TypeIndex::from_u32(type_index), TableIndex::from_u32(table_index), CallKind::Call)
            }
            O::ReturnCall { function_index } => {
                self.call(FuncIndex::from_u32(function_index), CallKind::Tail);
                self.reachable = false;
            }
            O::ReturnCallIndirect { type_index, table_index } => {
                self.call_indirect(TypeIndex::from_u32(type_index), TableIndex::from_u32(table_index), CallKind::Tail);
                self.reachable = false;
            }
            O::CallRef { type_index } => self.call_ref(TypeIndex::from_u32(type_index), CallKind::Call),
            O::ReturnCallRef { type_index } => {
                self.call_ref(TypeIndex::from_u32(type_index), CallKind::Tail);
                self.reachable = false;
            }
            O::RefAsNonNull => {
                let r = *self.stack.last().expect("validated");
                self.b.ins().trapz(r, trap_code(Trap::NullReference));
            }
            O::BrOnNull { relative_depth } => {
                // Null: drop it and branch with what lies beneath. Otherwise: keep it and fall through.
                let r = self.pop();
                self.branch_if(relative_depth, r, false);
                self.push(r);
            }
            O::BrOnNonNull { relative_depth } => {
                // Non-null: branch with it on top of what lies beneath. Null: drop it and fall through.
                let r = *self.stack.last().expect("validated");
                self.branch_if(relative_depth, r, true);
                self.pop();
            }
            O::Drop => {
                self.pop();
            }
            O::Select | O::TypedSelect { .. } => {
                let cond = self.pop();
                let (a, b) = self.pop2();
                let v = self.b.ins().select(cond, a, b);
                self.push(v);
            }

            // ---- variables ----
            O::LocalGet { local_index } => {
                let v = match self.local_slots.get(local_index as usize) {
                    Some(&(slot, ty)) => self.b.ins().stack_load(self.ptr, ty, slot, 0),
                    None => self.b.use_var(self.locals[local_index as usize]),
                };
                self.push(v);
            }
            O::LocalSet { local_index } => {
                let v = self.pop();
                self.set_local(local_index, v);
            }
            O::LocalTee { local_index } => {
                let v = *self.stack.last().expect("validated");
                self.set_local(local_index, v);
            }
            O::GlobalGet { global_index } => {
                let g = GlobalIndex::from_u32(global_index);
                let global = self.env.module.globals[g.index()];
                // An immutable global keeps its initial value, so its loads may be merged and hoisted.
                let flags = if global.mutable {
                    MemFlagsData::trusted()
                } else {
                    MemFlagsData::trusted().with_readonly().with_can_move()
                };
                let (base, offset) = self.global_location(g);
                let v = self.b.ins().load(clif_type(global.content), flags, base, offset);
                self.push(v);
            }
            O::GlobalSet { global_index } => {
                let g = GlobalIndex::from_u32(global_index);
                let v = self.pop();
                let (base, offset) = self.global_location(g);
                self.b.ins().store(MemFlagsData::trusted(), v, base, offset);
            }

            // ---- memory ----
            O::I32Load { memarg } => self.load(I32, &memarg, 4, |b, f, a, o| b.ins().load(I32, f, a, o)),
            O::I64Load { memarg } => self.load(I64, &memarg, 8, |b, f, a, o| b.ins().load(I64, f, a, o)),
            O::F32Load { memarg } => self.load(F32, &memarg, 4, |b, f, a, o| b.ins().load(F32, f, a, o)),
            O::F64Load { memarg } => self.load(F64, &memarg, 8, |b, f, a, o| b.ins().load(F64, f, a, o)),
            O::I32Load8S { memarg } => self.load(I32, &memarg, 1, |b, f, a, o| b.ins().sload8(I32, f, a, o)),
            O::I32Load8U { memarg } => self.load(I32, &memarg, 1, |b, f, a, o| b.ins().uload8(I32, f, a, o)),
            O::I32Load16S { memarg } => self.load(I32, &memarg, 2, |b, f, a, o| b.ins().sload16(I32, f, a, o)),
            O::I32Load16U { memarg } => self.load(I32, &memarg, 2, |b, f, a, o| b.ins().uload16(I32, f, a, o)),
            O::I64Load8S { memarg } => self.load(I64, &memarg, 1, |b, f, a, o| b.ins().sload8(I64, f, a, o)),
            O::I64Load8U { memarg } => self.load(I64, &memarg, 1, |b, f, a, o| b.ins().uload8(I64, f, a, o)),
            O::I64Load16S { memarg } => self.load(I64, &memarg, 2, |b, f, a, o| b.ins().sload16(I64, f, a, o)),
            O::I64Load16U { memarg } => self.load(I64, &memarg, 2, |b, f, a, o| b.ins().uload16(I64, f, a, o)),
            O::I64Load32S { memarg } => self.load(I64, &memarg, 4, |b, f, a, o| b.ins().sload32(f, a, o)),
            O::I64Load32U { memarg } => self.load(I64, &memarg, 4, |b, f, a, o| b.ins().uload32(f, a, o)),
            O::I32Store { memarg } | O::I64Store { memarg } | O::F32Store { memarg } | O::F64Store { memarg } => {
                let size = match op {
                    O::I32Store { .. } | O::F32Store { .. } => 4,
                    _ => 8,
                };
                self.store(&memarg, size, |b, f, v, a, o| b.ins().store(f, v, a, o));
            }
            O::I32Store8 { memarg } | O::I64Store8 { memarg } => {
                self.store(&memarg, 1, |b, f, v, a, o| b.ins().istore8(f, v, a, o))
            }
            O::I32Store16 { memarg } | O::I64Store16 { memarg } => {
                self.store(&memarg, 2, |b, f, v, a, o| b.ins().istore16(f, v, a, o))
            }
            O::I64Store32 { memarg } => self.store(&memarg, 4, |b, f, v, a, o| b.ins().istore32(f, v, a, o)),
            O::MemorySize { mem } => {
                let def = self.memory_definition(MemoryIndex::from_u32(mem));
                let len = self.b.ins().load(self.ptr, MemFlagsData::trusted(), def, vmmemory::CURRENT_LENGTH as i32);
                let pages = self.b.ins().ushr_imm_u(len, 16);
                let v = self.from_u64(pages, self.memory_is_64(mem));
                self.push(v);
            }
            O::MemoryGrow { mem } => {
                let delta = self.pop();
                let delta = self.to_u64(delta);
                let index = self.b.ins().iconst(I32, i64::from(mem));
                let old =
                    self.call_builtin("memory_grow", builtins::MEMORY_GROW, &[I64, I32], Some(I64), &[delta, index]);
                let v = self.from_u64(old.expect("memory_grow returns a value"), self.memory_is_64(mem));
                self.push(v);
            }

            // ---- constants ----
            O::I32Const { value } => {
                let v = self.b.ins().iconst(I32, i64::from(value));
                self.push(v);
            }
            O::I64Const { value } => {
                let v = self.b.ins().iconst(I64, value);
                self.push(v);
            }
            O::F32Const { value } => {
                let v = self.b.ins().f32const(Ieee32::with_bits(value.bits()));
                self.push(v);
            }
            O::F64Const { value } => {
                let v = self.b.ins().f64const(Ieee64::with_bits(value.bits()));
                self.push(v);
            }

            // ---- integer arithmetic ----
            O::I32Eqz | O::I64Eqz => {
                let a = self.pop();
                let c = self.b.ins().icmp_imm_s(IntCC::Equal, a, 0);
                let v = self.b.ins().uextend(I32, c);
                self.push(v);
            }
            O::I32Eq | O::I64Eq => self.icmp(IntCC::Equal),
            O::I32Ne | O::I64Ne => self.icmp(IntCC::NotEqual),
            O::I32LtS | O::I64LtS => self.icmp(IntCC::SignedLessThan),
            O::I32LtU | O::I64LtU => self.icmp(IntCC::UnsignedLessThan),
            O::I32GtS | O::I64GtS => self.icmp(IntCC::SignedGreaterThan),
            O::I32GtU | O::I64GtU => self.icmp(IntCC::UnsignedGreaterThan),
            O::I32LeS | O::I64LeS => self.icmp(IntCC::SignedLessThanOrEqual),
            O::I32LeU | O::I64LeU => self.icmp(IntCC::UnsignedLessThanOrEqual),
            O::I32GeS | O::I64GeS => self.icmp(IntCC::SignedGreaterThanOrEqual),
            O::I32GeU | O::I64GeU => self.icmp(IntCC::UnsignedGreaterThanOrEqual),
            O::I32Clz | O::I64Clz => self.unary(|b, a| b.ins().clz(a)),
            O::I32Ctz | O::I64Ctz => self.unary(|b, a| b.ins().ctz(a)),
            O::I32Popcnt | O::I64Popcnt => self.unary(|b, a| b.ins().popcnt(a)),
            O::I32Add | O::I64Add => self.binary(|b, x, y| b.ins().iadd(x, y)),
            O::I32Sub | O::I64Sub => self.binary(|b, x, y| b.ins().isub(x, y)),
            O::I32Mul | O::I64Mul => self.binary(|b, x, y| b.ins().imul(x, y)),
            O::I32DivS | O::I64DivS => self.binary(|b, x, y| b.ins().sdiv(x, y)),
            O::I32DivU | O::I64DivU => self.binary(|b, x, y| b.ins().udiv(x, y)),
            O::I32RemS | O::I64RemS => self.binary(|b, x, y| b.ins().srem(x, y)),
            O::I32RemU | O::I64RemU => self.binary(|b, x, y| b.ins().urem(x, y)),
            O::I32And | O::I64And => self.binary(|b, x, y| b.ins().band(x, y)),
            O::I32Or | O::I64Or => self.binary(|b, x, y| b.ins().bor(x, y)),
            O::I32Xor | O::I64Xor => self.binary(|b, x, y| b.ins().bxor(x, y)),
            O::I32Shl | O::I64Shl => self.binary(|b, x, y| b.ins().ishl(x, y)),
            O::I32ShrS | O::I64ShrS => self.binary(|b, x, y| b.ins().sshr(x, y)),
            O::I32ShrU | O::I64ShrU => self.binary(|b, x, y| b.ins().ushr(x, y)),
            O::I32Rotl | O::I64Rotl => self.binary(|b, x, y| b.ins().rotl(x, y)),
            O::I32Rotr | O::I64Rotr => self.binary(|b, x, y| b.ins().rotr(x, y)),

            // ---- float arithmetic ----
            O::F32Eq | O::F64Eq => self.fcmp(FloatCC::Equal),
            O::F32Ne | O::F64Ne => self.fcmp(FloatCC::NotEqual),
            O::F32Lt | O::F64Lt => self.fcmp(FloatCC::LessThan),
            O::F32Gt | O::F64Gt => self.fcmp(FloatCC::GreaterThan),
            O::F32Le | O::F64Le => self.fcmp(FloatCC::LessThanOrEqual),
            O::F32Ge | O::F64Ge => self.fcmp(FloatCC::GreaterThanOrEqual),
            O::F32Abs | O::F64Abs => self.unary(|b, a| b.ins().fabs(a)),
            O::F32Neg | O::F64Neg => self.unary(|b, a| b.ins().fneg(a)),
            O::F32Ceil | O::F64Ceil => self.unary(|b, a| b.ins().ceil(a)),
            O::F32Floor | O::F64Floor => self.unary(|b, a| b.ins().floor(a)),
            O::F32Trunc | O::F64Trunc => self.unary(|b, a| b.ins().trunc(a)),
            O::F32Nearest | O::F64Nearest => self.unary(|b, a| b.ins().nearest(a)),
            O::F32Sqrt | O::F64Sqrt => self.unary(|b, a| b.ins().sqrt(a)),
            O::F32Add | O::F64Add => self.binary(|b, x, y| b.ins().fadd(x, y)),
            O::F32Sub | O::F64Sub => self.binary(|b, x, y| b.ins().fsub(x, y)),
            O::F32Mul | O::F64Mul => self.binary(|b, x, y| b.ins().fmul(x, y)),
            O::F32Div | O::F64Div => self.binary(|b, x, y| b.ins().fdiv(x, y)),
            O::F32Min | O::F64Min => self.binary(|b, x, y| b.ins().fmin(x, y)),
            O::F32Max | O::F64Max => self.binary(|b, x, y| b.ins().fmax(x, y)),
            O::F32Copysign | O::F64Copysign => self.binary(|b, x, y| b.ins().fcopysign(x, y)),

            // ---- conversions ----
            O::I32WrapI64 => self.unary(|b, a| b.ins().ireduce(I32, a)),
            O::I64ExtendI32S => self.unary(|b, a| b.ins().sextend(I64, a)),
            O::I64ExtendI32U => self.unary(|b, a| b.ins().uextend(I64, a)),
            O::I32TruncF32S | O::I32TruncF64S => self.unary(|b, a| b.ins().fcvt_to_sint(I32, a)),
            O::I32TruncF32U | O::I32TruncF64U => self.unary(|b, a| b.ins().fcvt_to_uint(I32, a)),
            O::I64TruncF32S | O::I64TruncF64S => self.unary(|b, a| b.ins().fcvt_to_sint(I64, a)),
            O::I64TruncF32U | O::I64TruncF64U => self.unary(|b, a| b.ins().fcvt_to_uint(I64, a)),
            O::F32ConvertI32S | O::F32ConvertI64S => self.unary(|b, a| b.ins().fcvt_from_sint(F32, a)),
            O::F32ConvertI32U | O::F32ConvertI64U => self.unary(|b, a| b.ins().fcvt_from_uint(F32, a)),
            O::F64ConvertI32S | O::F64ConvertI64S => self.unary(|b, a| b.ins().fcvt_from_sint(F64, a)),
            O::F64ConvertI32U | O::F64ConvertI64U => self.unary(|b, a| b.ins().fcvt_from_uint(F64, a)),
            O::F32DemoteF64 => self.unary(|b, a| b.ins().fdemote(F32, a)),
            O::F64PromoteF32 => self.unary(|b, a| b.ins().fpromote(F64, a)),
            O::I32ReinterpretF32 => self.unary(|b, a| b.ins().bitcast(I32, MemFlagsData::new(), a)),
            O::I64ReinterpretF64 => self.unary(|b, a| b.ins().bitcast(I64, MemFlagsData::new(), a)),
            O::F32ReinterpretI32 => self.unary(|b, a| b.ins().bitcast(F32, MemFlagsData::new(), a)),
            O::F64ReinterpretI64 => self.unary(|b, a| b.ins().bitcast(F64, MemFlagsData::new(), a)),

            // ---- sign extension ----
            O::I32Extend8S => self.unary(|b, a| {
                let n = b.ins().ireduce(I8, a);
                b.ins().sextend(I32, n)
            }),
            O::I32Extend16S => self.unary(|b, a| {
                let n = b.ins().ireduce(I16, a);
                b.ins().sextend(I32, n)
            }),
            O::I64Extend8S => self.unary(|b, a| {
                let n = b.ins().ireduce(I8, a);
                b.ins().sextend(I64, n)
            }),
            O::I64Extend16S => self.unary(|b, a| {
                let n = b.ins().ireduce(I16, a);
                b.ins().sextend(I64, n)
            }),
            O::I64Extend32S => self.unary(|b, a| {
                let n = b.ins().ireduce(I32, a);
                b.ins().sextend(I64, n)
            }),

            // ---- saturating float-to-int ----
            O::I32TruncSatF32S | O::I32TruncSatF64S => self.unary(|b, a| b.ins().fcvt_to_sint_sat(I32, a)),
            O::I32TruncSatF32U | O::I32TruncSatF64U => self.unary(|b, a| b.ins().fcvt_to_uint_sat(I32, a)),
            O::I64TruncSatF32S | O::I64TruncSatF64S => self.unary(|b, a| b.ins().fcvt_to_sint_sat(I64, a)),
            O::I64TruncSatF32U | O::I64TruncSatF64U => self.unary(|b, a| b.ins().fcvt_to_uint_sat(I64, a)),

            // ---- bulk memory ----
            O::MemoryCopy { dst_mem, src_mem } => {
                let len = self.pop_u64();
                let src = self.pop_u64();
                let dst = self.pop_u64();
                let (d, s) =
                    (self.b.ins().iconst(I32, i64::from(dst_mem)), self.b.ins().iconst(I32, i64::from(src_mem)));
                self.call_builtin_checked(builtins::MEMORY_COPY, &[d, dst, s, src, len], Trap::MemoryOutOfBounds);
            }
            O::MemoryFill { mem } => {
                let len = self.pop_u64();
                let value = self.pop();
                let dst = self.pop_u64();
                let m = self.b.ins().iconst(I32, i64::from(mem));
                self.call_builtin_checked(builtins::MEMORY_FILL, &[m, dst, value, len], Trap::MemoryOutOfBounds);
            }
            O::MemoryInit { data_index, mem } => {
                let len = self.pop();
                let src = self.pop();
                let dst = self.pop_u64();
                let (m, d) =
                    (self.b.ins().iconst(I32, i64::from(mem)), self.b.ins().iconst(I32, i64::from(data_index)));
                self.call_builtin_checked(builtins::MEMORY_INIT, &[m, d, dst, src, len], Trap::MemoryOutOfBounds);
            }
            O::DataDrop { data_index } => {
                let d = self.b.ins().iconst(I32, i64::from(data_index));
                self.call_builtin("data_drop", builtins::DATA_DROP, &[I32], None, &[d]);
            }
            O::TableCopy { dst_table, src_table } => {
                let len = self.pop_u64();
                let src = self.pop_u64();
                let dst = self.pop_u64();
                let (d, s) =
                    (self.b.ins().iconst(I32, i64::from(dst_table)), self.b.ins().iconst(I32, i64::from(src_table)));
                self.call_builtin_checked(builtins::TABLE_COPY, &[d, s, dst, src, len], Trap::TableOutOfBounds);
            }
            O::TableInit { elem_index, table } => {
                let len = self.pop();
                let src = self.pop();
                let dst = self.pop_u64();
                let (t, e) =
                    (self.b.ins().iconst(I32, i64::from(table)), self.b.ins().iconst(I32, i64::from(elem_index)));
                self.call_builtin_checked(builtins::TABLE_INIT, &[t, e, dst, src, len], Trap::TableOutOfBounds);
            }
            O::ElemDrop { elem_index } => {
                let e = self.b.ins().iconst(I32, i64::from(elem_index));
                self.call_builtin("elem_drop", builtins::ELEM_DROP, &[I32], None, &[e]);
            }

            // ---- reference types ----
            O::RefNull { .. } => {
                let v = self.b.ins().iconst(I64, 0);
                self.push(v);
            }
            O::RefIsNull => {
                let r = self.pop();
                let c = self.b.ins().icmp_imm_s(IntCC::Equal, r, 0);
                let v = self.b.ins().uextend(I32, c);
                self.push(v);
            }
            O::RefFunc { function_index } => {
                let offset = self.env.offsets.func_ref(FuncIndex::from_u32(function_index));
                let v = self.b.ins().iadd_imm_s(self.vmctx, i64::from(offset));
                self.push(v);
            }
            O::TableGet { table } => {
                let index = self.pop();
                let slot = self.table_slot(TableIndex::from_u32(table), index);
                let v = self.b.ins().load(I64, MemFlagsData::trusted(), slot, 0);
                self.push(v);
            }
            O::TableSet { table } => {
                let value = self.pop();
                let index = self.pop();
                let slot = self.table_slot(TableIndex::from_u32(table), index);
                self.b.ins().store(MemFlagsData::trusted(), value, slot, 0);
            }
            O::TableSize { table } => {
                let def = self.vmctx_load(self.env.offsets.table_pointer(TableIndex::from_u32(table)));
                let len = self.b.ins().load(self.ptr, MemFlagsData::trusted(), def, vmtable::CURRENT_ELEMENTS as i32);
                let v = self.from_u64(len, self.table_is_64(table));
                self.push(v);
            }
            O::TableGrow { table } => {
                let delta = self.pop_u64();
                let init = self.pop();
                let t = self.b.ins().iconst(I32, i64::from(table));
                let old = self.call_builtin(
                    "table_grow",
                    builtins::TABLE_GROW,
                    &[I32, I64, I64],
                    Some(I64),
                    &[t, delta, init],
                );
                let v = self.from_u64(old.expect("table_grow returns a value"), self.table_is_64(table));
                self.push(v);
            }
            O::TableFill { table } => {
                let len = self.pop_u64();
                let value = self.pop();
                let dst = self.pop_u64();
                let t = self.b.ins().iconst(I32, i64::from(table));
                self.call_builtin_checked(builtins::TABLE_FILL, &[t, dst, value, len], Trap::TableOutOfBounds);
            }

            ref other => {
                if self.translate_simd(other) {
                    return Ok(());
                }
                return Err(crate::CompileError::Unsupported(format!("operator {other:?}")));
            }
        }
        Ok(())
    }

    /// Branches to the frame `relative_depth` out, with the values on top of the stack it takes, when `cond` is
    /// non-zero (`when_nonzero`) or zero; otherwise continues in a new block.
    fn branch_if(&mut self, relative_depth: u32, cond: Value, when_nonzero: bool) {
        let i = self.control.len() - 1 - relative_depth as usize;
        let (target, n) = self.control[i].branch_target();
        if !matches!(self.control[i].kind, FrameKind::Loop { .. }) {
            self.control[i].next_reachable = true;
        }
        let args = Self::args(self.peekn(n));
        let fallthrough = self.b.create_block();
        if when_nonzero {
            self.b.ins().brif(cond, target, &args, fallthrough, &[]);
        } else {
            self.b.ins().brif(cond, fallthrough, &[], target, &args);
        }
        self.b.seal_block(fallthrough);
        self.b.switch_to_block(fallthrough);
    }

    fn br_table_target(&mut self, depth: u32) -> ir::BlockCall {
        let i = self.control.len() - 1 - depth as usize;
        let (target, n) = self.control[i].branch_target();
        if !matches!(self.control[i].kind, FrameKind::Loop { .. }) {
            self.control[i].next_reachable = true;
        }
        let args = Self::args(self.peekn(n));
        self.b.func.dfg.block_call(target, &args)
    }

    fn unary(&mut self, f: impl FnOnce(&mut FunctionBuilder<'f>, Value) -> Value) {
        let a = self.pop();
        let v = f(&mut self.b, a);
        self.push(v);
    }
    fn binary(&mut self, f: impl FnOnce(&mut FunctionBuilder<'f>, Value, Value) -> Value) {
        let (a, b) = self.pop2();
        let v = f(&mut self.b, a, b);
        self.push(v);
    }
    fn icmp(&mut self, cc: IntCC) {
        let (a, b) = self.pop2();
        let c = self.b.ins().icmp(cc, a, b);
        let v = self.b.ins().uextend(I32, c);
        self.push(v);
    }
    fn fcmp(&mut self, cc: FloatCC) {
        let (a, b) = self.pop2();
        let c = self.b.ins().fcmp(cc, a, b);
        let v = self.b.ins().uextend(I32, c);
        self.push(v);
    }

    fn vmctx_load(&mut self, offset: u32) -> Value {
        let flags = MemFlagsData::trusted().with_readonly().with_can_move();
        self.b.ins().load(self.ptr, flags, self.vmctx, offset as i32)
    }

    /// Where global `g`'s value is: a defined global's lies in the vmctx itself, an imported one behind a pointer.
    fn global_location(&mut self, g: GlobalIndex) -> (Value, i32) {
        match self.env.module.defined_global_index(g) {
            Some(defined) => (self.vmctx, self.env.offsets.defined_global(defined) as i32),
            None => (self.vmctx_load(self.env.offsets.global_pointer(g)), 0),
        }
    }

    fn memory_definition(&mut self, m: MemoryIndex) -> Value {
        self.vmctx_load(self.env.offsets.memory_pointer(m))
    }

    /// Computes the native address of a memory access, emitting a bounds check unless guard pages cover it.
    /// Returns the address and the static offset to fold into the access.
    fn heap_addr(&mut self, memarg: &wasmparser::MemArg, size: u64) -> (Value, i32) {
        let index = self.pop();
        let mem = match memarg.target {
            wasmparser::MemArgTarget::Memory(m) => MemoryIndex::from_u32(m),
            _ => MemoryIndex::from_u32(0),
        };
        let tunables = self.env.tunables;
        let ty = self.env.module.memories[mem.index()];
        let guarded = tunables.guard_pages(&ty);
        // A guard-page memory never moves: its base is copied into the vmctx, one load that can be hoisted out of
        // loops. A moving memory's base is reloaded from its definition wherever a call may have grown it.
        let base = if guarded {
            self.vmctx_load(self.env.offsets.memory_base(mem))
        } else {
            let def = self.memory_definition(mem);
            self.b.ins().load(self.ptr, MemFlagsData::trusted(), def, vmmemory::BASE as i32)
        };
        // A 64-bit memory's index is already 64 bits; nothing wider holds it with an offset added, so every
        // access to one is checked, with the sum's overflow trapping as out of bounds too.
        let index = self.to_u64(index);
        let needs_check = !guarded || memarg.offset + size > tunables.static_memory_guard;
        if needs_check {
            let def = self.memory_definition(mem);
            let len = self.b.ins().load(self.ptr, MemFlagsData::trusted(), def, vmmemory::CURRENT_LENGTH as i32);
            let end = match memarg.offset.checked_add(size) {
                // A 32-bit index plus an offset below 2^33 cannot overflow 64 bits.
                Some(reach) if !ty.memory64 => self.b.ins().iadd_imm_u(index, reach as i64),
                Some(reach) => {
                    let reach = self.b.ins().iconst(I64, reach as i64);
                    self.b.ins().uadd_overflow_trap(index, reach, TrapCode::HEAP_OUT_OF_BOUNDS)
                }
                None => {
                    // An offset so large that no access through it is ever in bounds.
                    self.b.ins().trap(TrapCode::HEAP_OUT_OF_BOUNDS);
                    let dead = self.b.create_block();
                    self.b.switch_to_block(dead);
                    self.b.seal_block(dead);
                    self.b.ins().iconst(I64, -1)
                }
            };
            let oob = self.b.ins().icmp(IntCC::UnsignedGreaterThan, end, len);
            self.b.ins().trapnz(oob, TrapCode::HEAP_OUT_OF_BOUNDS);
            // The whole address (offset included) goes through the guard, so a mispredicted check reads null.
            let addr = self.b.ins().iadd(base, index);
            let addr = self.b.ins().iadd_imm_u(addr, memarg.offset as i64);
            return (self.spectre_guard(oob, addr), 0);
        }
        let addr = self.b.ins().iadd(base, index);
        match i32::try_from(memarg.offset) {
            Ok(off) => (addr, off),
            Err(_) => (self.b.ins().iadd_imm_u(addr, memarg.offset as i64), 0),
        }
    }

    /// `v` as a 64-bit address, size or count: zero-extended if it is an `i32` (of a 32-bit memory or table).
    fn to_u64(&mut self, v: Value) -> Value {
        if self.b.func.dfg.value_type(v) == I32 { self.b.ins().uextend(I64, v) } else { v }
    }

    fn pop_u64(&mut self) -> Value {
        let v = self.pop();
        self.to_u64(v)
    }

    /// A 64-bit size or count as the `i64` a 64-bit memory or table uses, or the `i32` of a 32-bit one (where
    /// it always fits, and `u64::MAX`, a failed grow, becomes -1).
    fn from_u64(&mut self, v: Value, wide: bool) -> Value {
        if wide { v } else { self.b.ins().ireduce(I32, v) }
    }

    fn memory_is_64(&self, mem: u32) -> bool {
        self.env.module.memories[mem as usize].memory64
    }

    fn table_is_64(&self, table: u32) -> bool {
        self.env.module.tables[table as usize].table64
    }

    fn heap_flags() -> MemFlagsData {
        MemFlagsData::new().with_trap_code(Some(TrapCode::HEAP_OUT_OF_BOUNDS)).with_endianness(ir::Endianness::Little)
    }

    fn load(
        &mut self,
        _ty: Type,
        memarg: &wasmparser::MemArg,
        size: u64,
        f: impl FnOnce(&mut FunctionBuilder<'f>, MemFlagsData, Value, i32) -> Value,
    ) {
        let (addr, off) = self.heap_addr(memarg, size);
        let v = f(&mut self.b, Self::heap_flags(), addr, off);
        self.push(v);
    }

    fn store(
        &mut self,
        memarg: &wasmparser::MemArg,
        size: u64,
        f: impl FnOnce(&mut FunctionBuilder<'f>, MemFlagsData, Value, Value, i32) -> ir::Inst,
    ) {
        let value = self.pop();
        let (addr, off) = self.heap_addr(memarg, size);
        f(&mut self.b, Self::heap_flags(), value, addr, off);
    }

    fn sig_ref(&mut self, ty: TypeIndex) -> ir::SigRef {
        if let Some(s) = self.sig_refs.get(&ty) {
            return *s;
        }
        let sig = wasm_signature(self.isa, &self.env.module.types[ty.index()]);
        let s = self.b.import_signature(sig);
        self.sig_refs.insert(ty, s);
        s
    }

    fn emit_return(&mut self, values: &[Value]) {
        match self.return_area {
            Some(area) => {
                for (i, v) in values.iter().enumerate() {
                    self.b.ins().store(MemFlagsData::trusted(), *v, area, (i as u32 * VALRAW_SIZE) as i32);
                }
                self.b.ins().return_(&[]);
            }
            None => {
                self.b.ins().return_(values);
            }
        }
    }

    /// Pops a call's arguments into `args` (after the two contexts), adding a return area if the callee's type
    /// needs one; returns the area's address. A tail callee has this function's result types, so it uses a return
    /// area exactly when this function does, and writes its results straight into this function's.
    fn call_args(&mut self, ty: TypeIndex, args: &mut Vec<Value>, kind: CallKind) -> Option<Value> {
        let func_ty = &self.env.module.types[ty.index()];
        let (nparams, nresults, area) = (func_ty.params.len(), func_ty.results.len(), uses_return_area(func_ty));
        args.extend_from_slice(self.peekn(nparams));
        let len = self.stack.len();
        self.stack.truncate(len - nparams);
        if !area {
            return None;
        }
        if let CallKind::Tail = kind {
            let own = self.return_area.expect("validated: a tail callee has the caller's results");
            args.push(own);
            return Some(own);
        }
        let size = nresults as u32 * VALRAW_SIZE;
        let slot = self.b.create_sized_stack_slot(ir::StackSlotData::new(ir::StackSlotKind::ExplicitSlot, size, 4));
        let addr = self.b.ins().stack_addr(self.ptr, slot, 0);
        args.push(addr);
        Some(addr)
    }

    fn push_call_results(&mut self, call: ir::Inst, ty: TypeIndex, area: Option<Value>) {
        let results = self.b.inst_results(call).to_vec();
        self.push_results(results, ty, area);
    }

    /// Pushes a call's results: `results` (what it returned in registers), or those it wrote to its return `area`.
    fn push_results(&mut self, results: Vec<Value>, ty: TypeIndex, area: Option<Value>) {
        match area {
            None => {
                self.stack.extend(results);
            }
            Some(area) => {
                let types = self.env.module.types[ty.index()].results.clone();
                for (i, t) in types.iter().enumerate() {
                    let v = self.b.ins().load(
                        clif_type(*t),
                        MemFlagsData::trusted(),
                        area,
                        (i as u32 * VALRAW_SIZE) as i32,
                    );
                    self.stack.push(v);
                }
            }
        }
    }

    /// Emits a call (or, for `CallKind::Tail`, a tail call, which ends the block) of `args` through `target`.
    fn emit_call(&mut self, kind: CallKind, target: CallTarget, args: &[Value], ty: TypeIndex, area: Option<Value>) {
        if let (CallKind::Call, Some(pad)) = (kind, self.exception_handler()) {
            let results = self.emit_try_call(target, args, pad);
            self.push_results(results, ty, area);
            return;
        }
        let call = match (kind, target) {
            (CallKind::Call, CallTarget::Direct(f)) => self.b.ins().call(f, args),
            (CallKind::Call, CallTarget::Indirect(sig, code)) => self.b.ins().call_indirect(sig, code, args),
            (CallKind::Tail, CallTarget::Direct(f)) => {
                self.b.ins().return_call(f, args);
                return;
            }
            (CallKind::Tail, CallTarget::Indirect(sig, code)) => {
                self.b.ins().return_call_indirect(sig, code, args);
                return;
            }
        };
        self.push_call_results(call, ty, area);
    }

    /// The landing pad of the innermost `try_table` around the current instruction (marking it used), if any.
    fn exception_handler(&mut self) -> Option<Block> {
        self.control.iter_mut().rev().find_map(|frame| match &mut frame.kind {
            FrameKind::TryTable { pad, pad_used, .. } => {
                *pad_used = true;
                Some(*pad)
            }
            _ => None,
        })
    }

    /// Emits a `try_call` of `target` whose exceptions land in `pad`, and continues in its normal-return block;
    /// returns the call's results. The callee must use the `tail` convention: on the exceptional edge Cranelift
    /// then assumes no register survived, so the unwinder only has to restore the stack and frame pointers.
    fn emit_try_call(&mut self, target: CallTarget, args: &[Value], pad: Block) -> Vec<Value> {
        let sig = match target {
            CallTarget::Direct(f) => self.b.func.dfg.ext_funcs[f].signature,
            CallTarget::Indirect(sig, _) => sig,
        };
        let returns: Vec<Type> = self.b.func.dfg.signatures[sig].returns.iter().map(|r| r.value_type).collect();
        let cont = self.b.create_block();
        for t in &returns {
            self.b.append_block_param(cont, *t);
        }
        let pool = &mut self.b.func.dfg.value_lists;
        let normal = BlockCall::new(cont, (0..returns.len() as u32).map(BlockArg::TryCallRet), pool);
        let landing = BlockCall::new(pad, [BlockArg::TryCallExn(0)], pool);
        let table = ExceptionTableData::new(sig, normal, [ExceptionTableItem::Default(landing)]);
        let table = self.b.func.dfg.exception_tables.push(table);
        match target {
            CallTarget::Direct(f) => self.b.ins().try_call(f, args, table),
            CallTarget::Indirect(_, code) => self.b.ins().try_call_indirect(code, args, table),
        };
        self.b.switch_to_block(cont);
        self.b.seal_block(cont);
        self.b.block_params(cont).to_vec()
    }

    /// Calls the `throw` or `throw_ref` builtin, which never returns: inside a `try_table` as a `try_call`, so that
    /// an exception thrown and caught in the same function finds its handler like any other.
    fn call_throwing_builtin(&mut self, offset: u32, args: &[Value]) {
        let name = if offset == builtins::THROW { "throw" } else { "throw_ref" };
        let params: Vec<Type> = args.iter().map(|a| self.b.func.dfg.value_type(*a)).collect();
        let (sig, f) = self.builtin(name, offset, CallConv::Tail, &params, None);
        let mut all = vec![self.vmctx];
        all.extend_from_slice(args);
        match self.exception_handler() {
            Some(pad) => {
                self.emit_try_call(CallTarget::Indirect(sig, f), &all, pad);
            }
            None => {
                self.b.ins().call_indirect(sig, f, &all);
            }
        }
        self.trap(Trap::UnreachableCodeReached);
    }

    /// The landing pad of a `try_table`: compares the exception's tag with each `catch` clause's in order and
    /// branches to the first that matches with the payload (and, for the `_ref` forms, the exception itself); an
    /// exception no clause catches is thrown on to the next handler out. Called at the `try_table`'s `end`, after
    /// its frame is popped, so the clauses' labels are relative to the current control stack, as wasm defines them.
    fn catch_dispatch(&mut self, pad: Block, catches: &[Catch]) {
        self.b.switch_to_block(pad);
        self.b.seal_block(pad);
        let exn = self.b.block_params(pad)[0];
        let trusted = MemFlagsData::trusted();
        let thrown_tag = self.b.ins().load(self.ptr, trusted, exn, vmexn::TAG as i32);
        for catch in catches {
            let (tag, label, with_ref) = match *catch {
                Catch::All { label } => {
                    self.release_exception(exn);
                    return self.jump_to_label(label, &[]);
                }
                Catch::AllRef { label } => {
                    self.mark_exception_escaped(exn);
                    return self.jump_to_label(label, &[exn]);
                }
                Catch::One { tag, label } => (TagIndex::from_u32(tag), label, false),
                Catch::OneRef { tag, label } => (TagIndex::from_u32(tag), label, true),
            };
            let expected = self.vmctx_load(self.env.offsets.tag_pointer(tag));
            let matches = self.b.ins().icmp(IntCC::Equal, thrown_tag, expected);
            let (hit, miss) = (self.b.create_block(), self.b.create_block());
            self.b.ins().brif(matches, hit, &[], miss, &[]);
            self.b.seal_block(hit);
            self.b.seal_block(miss);
            self.b.switch_to_block(hit);
            let payload = self.b.ins().load(self.ptr, trusted.with_readonly(), exn, vmexn::PAYLOAD as i32);
            let mut values = Vec::new();
            for (i, t) in self.env.module.tag_params(tag).iter().enumerate() {
                values.push(self.b.ins().load(clif_type(*t), trusted, payload, (i as u32 * VALRAW_SIZE) as i32));
            }
            if with_ref {
                self.mark_exception_escaped(exn);
                values.push(exn);
            } else {
                self.release_exception(exn);
            }
            self.jump_to_label(label, &values);
            self.b.switch_to_block(miss);
        }
        self.call_throwing_builtin(builtins::THROW_REF, &[exn]);
    }

    /// A `_ref` clause hands the exception to wasm, which may keep it anywhere: from now on it lives as long as
    /// its store.
    fn mark_exception_escaped(&mut self, exn: Value) {
        let one = self.b.ins().iconst(I8, 1);
        self.b.ins().store(MemFlagsData::trusted(), one, exn, vmexn::ESCAPED as i32);
    }

    /// A clause without `_ref` has unpacked the exception (its payload is loaded): let the runtime free it if no
    /// reference to it was ever handed out.
    fn release_exception(&mut self, exn: Value) {
        self.call_builtin("exception_release", builtins::EXCEPTION_RELEASE, &[self.ptr], None, &[exn]);
    }

    /// Jumps to the target of `br label` with `values` as its arguments.
    fn jump_to_label(&mut self, relative_depth: u32, values: &[Value]) {
        let i = self.control.len() - 1 - relative_depth as usize;
        let (target, _) = self.control[i].branch_target();
        if !matches!(self.control[i].kind, FrameKind::Loop { .. }) {
            self.control[i].next_reachable = true;
        }
        self.b.ins().jump(target, &Self::args(values));
    }

    fn call(&mut self, callee: FuncIndex, kind: CallKind) {
        let ty = self.env.module.functions[callee.index()];
        let mut args = vec![self.vmctx, self.vmctx];
        let area = self.call_args(ty, &mut args, kind);
        let target = if self.env.module.defined_func_index(callee).is_some() {
            let fref = match self.func_refs.get(&callee) {
                Some(f) => *f,
                None => {
                    let signature = self.sig_ref(ty);
                    let name = self.b.func.declare_imported_user_function(UserExternalName::new(0, callee.as_u32()));
                    let f = self.b.import_function(ExtFuncData {
                        name: ExternalName::user(name),
                        signature,
                        colocated: true,
                        patchable: false,
                    });
                    self.func_refs.insert(callee, f);
                    f
                }
            };
            CallTarget::Direct(fref)
        } else {
            // An import: another instance's wasm function, or a host function behind its wasm-to-host trampoline,
            // which has the wasm calling convention too, so imports can be tail-called like anything else.
            let base = self.env.offsets.func_ref(callee);
            let code = self.vmctx_load(base + vmfuncref::WASM_CALL);
            args[0] = self.vmctx_load(base + vmfuncref::VMCTX);
            CallTarget::Indirect(self.sig_ref(ty), code)
        };
        self.emit_call(kind, target, &args, ty, area);
    }

    fn call_indirect(&mut self, ty: TypeIndex, table: TableIndex, kind: CallKind) {
        let index = self.pop();
        let trusted = MemFlagsData::trusted();
        let slot = self.checked_table_slot(table, index, Trap::UndefinedElement);
        let func_ref = self.b.ins().load(self.ptr, trusted, slot, 0);
        // A null element (an uninitialised one) is caught by the fault of reading its type id through the null
        // pointer: the first page is never mapped, and the load carries the trap code, so the signal handler turns
        // the fault into "uninitialized element" without a compare and branch on every call.
        let null_faults = trusted.with_trap_code(Some(trap_code(Trap::UninitializedElement)));
        let actual = self.b.ins().load(I32, null_faults, func_ref, vmfuncref::TYPE_ID as i32);
        let expected = self.b.ins().load(
            I32,
            trusted.with_readonly().with_can_move(),
            self.vmctx,
            self.env.offsets.type_id(ty) as i32,
        );
        let mismatch = self.b.ins().icmp(IntCC::NotEqual, actual, expected);
        self.b.ins().trapnz(mismatch, trap_code(Trap::BadSignature));
        self.call_through(func_ref, ty, kind);
    }

    /// Calls (or tail-calls) the function behind the non-null `VMFuncRef` pointer `func_ref`, whose type is `ty`.
    fn call_through(&mut self, func_ref: Value, ty: TypeIndex, kind: CallKind) {
        self.call_through_nullable(func_ref, ty, kind, None)
    }

    /// `call_through` for a `func_ref` that may be null, which raises `if_null` (by the fault of the first load
    /// through it: the first page is never mapped).
    fn call_through_nullable(&mut self, func_ref: Value, ty: TypeIndex, kind: CallKind, if_null: Option<Trap>) {
        let trusted = MemFlagsData::trusted();
        let first = trusted.with_trap_code(if_null.map(trap_code));
        let code = self.b.ins().load(self.ptr, first, func_ref, vmfuncref::WASM_CALL as i32);
        let callee_vmctx = self.b.ins().load(self.ptr, trusted, func_ref, vmfuncref::VMCTX as i32);
        let mut args = vec![callee_vmctx, self.vmctx];
        let area = self.call_args(ty, &mut args, kind);
        let sig = self.sig_ref(ty);
        self.emit_call(kind, CallTarget::Indirect(sig, code), &args, ty, area);
    }

    /// `call_ref`/`return_call_ref`: the reference's type is `(ref null $ty)`, checked by the validator, so only
    /// null needs a check at run time ("null function reference"); the callee is called through its `VMFuncRef`
    /// like an indirect call that passed its signature check.
    fn call_ref(&mut self, ty: TypeIndex, kind: CallKind) {
        let func_ref = self.pop();
        // Null faults on the first load through it (`call_through`'s), which carries the trap code.
        self.call_through_nullable(func_ref, ty, kind, Some(Trap::NullFunctionReference));
    }

    /// The address of element `index` of `table`, trapping with "out of bounds table access" past its end.
    fn table_slot(&mut self, table: TableIndex, index: Value) -> Value {
        self.checked_table_slot(table, index, Trap::TableOutOfBounds)
    }

    /// The address of element `index` of `table`, trapping with `trap` past its end.
    ///
    /// A table whose type fixes its size (minimum equal to maximum, as C compilers emit their function-pointer
    /// table) never grows, so its length is a constant and its element array never moves: the bound is an
    /// immediate and the base a load the optimiser may hoist out of loops. An imported table with such a type
    /// has exactly that size too: import matching admits only tables at least as large and with a maximum at
    /// most as large.
    fn checked_table_slot(&mut self, table: TableIndex, index: Value, trap: Trap) -> Value {
        let limits = self.env.module.tables[table.index()].limits;
        let fixed_size = limits.max.filter(|max| *max == limits.min);
        let def = self.vmctx_load(self.env.offsets.table_pointer(table));
        let index = self.to_u64(index);
        let (oob, base) = match fixed_size {
            Some(size) => {
                let oob = self.b.ins().icmp_imm_u(IntCC::UnsignedGreaterThanOrEqual, index, size as i64);
                let never_moves = MemFlagsData::trusted().with_readonly().with_can_move();
                (oob, self.b.ins().load(self.ptr, never_moves, def, vmtable::BASE as i32))
            }
            None => {
                let trusted = MemFlagsData::trusted();
                let len = self.b.ins().load(self.ptr, trusted, def, vmtable::CURRENT_ELEMENTS as i32);
                let oob = self.b.ins().icmp(IntCC::UnsignedGreaterThanOrEqual, index, len);
                (oob, self.b.ins().load(self.ptr, trusted, def, vmtable::BASE as i32))
            }
        };
        self.b.ins().trapnz(oob, trap_code(trap));
        let scaled = self.b.ins().ishl_imm_u(index, 3);
        let slot = self.b.ins().iadd(base, scaled);
        self.spectre_guard(oob, slot)
    }

    /// `address`, or null when `out_of_bounds`, computed without a branch: the bounds check before an access traps
    /// when it fails, but a CPU that mispredicts it would run the access speculatively, and an out-of-bounds
    /// address read that way could leak host memory through the cache (Spectre v1). Null reads nothing.
    fn spectre_guard(&mut self, out_of_bounds: Value, address: Value) -> Value {
        let null = self.b.ins().iconst(self.ptr, 0);
        self.b.ins().select_spectre_guard(out_of_bounds, null, address)
    }

    /// Calls a builtin that returns a status (all its arguments are `i32` except pointers, which are `i64`), and
    /// raises `trap` when the status is non-zero.
    fn call_builtin_checked(&mut self, offset: u32, args: &[Value], trap: Trap) {
        let types: Vec<Type> = args.iter().map(|a| self.b.func.dfg.value_type(*a)).collect();
        let name = builtin_name(offset);
        let status = self.call_builtin(name, offset, &types, Some(I32), args).expect("status");
        self.b.ins().trapnz(status, trap_code(trap));
    }

    /// Calls a runtime builtin through the `VMBuiltinFunctions` table: `fn(vmctx, args...) -> ret`, host ABI.
    fn call_builtin(
        &mut self,
        name: &'static str,
        offset: u32,
        params: &[Type],
        ret: Option<Type>,
        args: &[Value],
    ) -> Option<Value> {
        let (sig, f) = self.builtin(name, offset, CallConv::SystemV, params, ret);
        let mut all = vec![self.vmctx];
        all.extend_from_slice(args);
        let call = self.b.ins().call_indirect(sig, f, &all);
        self.b.inst_results(call).first().copied()
    }

    /// The signature (cached by `name`) and the address (loaded from the `VMBuiltinFunctions` table) of the builtin
    /// at `offset`: `fn(vmctx, params...) -> ret` in calling convention `conv`.
    fn builtin(
        &mut self,
        name: &'static str,
        offset: u32,
        conv: CallConv,
        params: &[Type],
        ret: Option<Type>,
    ) -> (ir::SigRef, Value) {
        let sig = match self.builtin_sigs.get(name) {
            Some(s) => *s,
            None => {
                let mut sig = ir::Signature::new(conv);
                sig.params.push(AbiParam::new(self.ptr));
                sig.params.extend(params.iter().map(|t| AbiParam::new(*t)));
                sig.returns.extend(ret.map(AbiParam::new));
                let s = self.b.import_signature(sig);
                self.builtin_sigs.insert(name, s);
                s
            }
        };
        let table = self.vmctx_load(VMOffsets::BUILTINS);
        let f =
            self.b.ins().load(self.ptr, MemFlagsData::trusted().with_readonly().with_can_move(), table, offset as i32);
        (sig, f)
    }
}
