//! Translation of the fixed-width SIMD proposal.
//!
//! Every `v128` on the operand stack, in locals, globals, block parameters and calls is an `I8X16`. Each operator
//! bitcasts its operands to the lane type it works on and its result back to `I8X16`; Cranelift folds the
//! back-to-back bitcasts this produces.

use super::*;
use wasmparser::MemArg;

impl<'f> FuncTranslator<'_, 'f> {
    /// Reinterprets `v` as a vector of type `ty` (no-op when it already is one).
    fn as_vec(&mut self, v: Value, ty: Type) -> Value {
        if self.b.func.dfg.value_type(v) == ty {
            v
        } else {
            let flags = MemFlagsData::new().with_endianness(ir::Endianness::Little);
            self.b.ins().bitcast(ty, flags, v)
        }
    }

    fn push_vec(&mut self, v: Value) {
        let v = self.as_vec(v, I8X16);
        self.push(v);
    }

    fn pop_vec(&mut self, ty: Type) -> Value {
        let v = self.pop();
        self.as_vec(v, ty)
    }

    fn vunary(&mut self, ty: Type, f: impl FnOnce(&mut FunctionBuilder<'f>, Value) -> Value) {
        let a = self.pop_vec(ty);
        let r = f(&mut self.b, a);
        self.push_vec(r);
    }

    fn vbinary(&mut self, ty: Type, f: impl FnOnce(&mut FunctionBuilder<'f>, Value, Value) -> Value) {
        let b = self.pop_vec(ty);
        let a = self.pop_vec(ty);
        let r = f(&mut self.b, a, b);
        self.push_vec(r);
    }

    fn vicmp(&mut self, ty: Type, cc: IntCC) {
        self.vbinary(ty, |b, x, y| b.ins().icmp(cc, x, y));
    }

    fn vfcmp(&mut self, ty: Type, cc: FloatCC) {
        self.vbinary(ty, |b, x, y| b.ins().fcmp(cc, x, y));
    }

    /// Shifts: the scalar amount is taken modulo the lane width, as both wasm and Cranelift define it.
    fn vshift(&mut self, ty: Type, f: impl FnOnce(&mut FunctionBuilder<'f>, Value, Value) -> Value) {
        let amount = self.pop();
        let a = self.pop_vec(ty);
        let r = f(&mut self.b, a, amount);
        self.push_vec(r);
    }

    fn splat(&mut self, ty: Type) {
        let x = self.pop();
        let lane = ty.lane_type();
        let x = if lane.is_int() && lane.bits() < self.b.func.dfg.value_type(x).bits() {
            self.b.ins().ireduce(lane, x)
        } else {
            x
        };
        let v = self.b.ins().splat(ty, x);
        self.push_vec(v);
    }

    fn extract_lane(&mut self, ty: Type, lane: u8, extend: Option<bool>) {
        let v = self.pop_vec(ty);
        let x = self.b.ins().extractlane(v, lane);
        let x = match extend {
            Some(true) => self.b.ins().sextend(I32, x),
            Some(false) => self.b.ins().uextend(I32, x),
            None => x,
        };
        self.push(x);
    }

    fn replace_lane(&mut self, ty: Type, lane: u8) {
        let x = self.pop();
        let v = self.pop_vec(ty);
        let lane_ty = ty.lane_type();
        let x = if lane_ty.is_int() && lane_ty.bits() < self.b.func.dfg.value_type(x).bits() {
            self.b.ins().ireduce(lane_ty, x)
        } else {
            x
        };
        let r = self.b.ins().insertlane(v, x, lane);
        self.push_vec(r);
    }

    fn vload(
        &mut self,
        memarg: &MemArg,
        size: u64,
        f: impl FnOnce(&mut FunctionBuilder<'f>, MemFlagsData, Value, i32) -> Value,
    ) {
        let (addr, off) = self.heap_addr(memarg, size);
        let v = f(&mut self.b, Self::heap_flags(), addr, off);
        self.push_vec(v);
    }

    fn load_splat(&mut self, memarg: &MemArg, ty: Type) {
        let lane = ty.lane_type();
        let (addr, off) = self.heap_addr(memarg, u64::from(lane.bytes()));
        let x = self.b.ins().load(lane, Self::heap_flags(), addr, off);
        let v = self.b.ins().splat(ty, x);
        self.push_vec(v);
    }

    fn load_zero(&mut self, memarg: &MemArg, ty: Type) {
        let lane = ty.lane_type();
        let (addr, off) = self.heap_addr(memarg, u64::from(lane.bytes()));
        let x = self.b.ins().load(lane, Self::heap_flags(), addr, off);
        let v = self.b.ins().scalar_to_vector(ty, x);
        self.push_vec(v);
    }

    fn load_lane(&mut self, memarg: &MemArg, ty: Type, lane: u8) {
        let v = self.pop_vec(ty);
        let lane_ty = ty.lane_type();
        let (addr, off) = self.heap_addr(memarg, u64::from(lane_ty.bytes()));
        let x = self.b.ins().load(lane_ty, Self::heap_flags(), addr, off);
        let r = self.b.ins().insertlane(v, x, lane);
        self.push_vec(r);
    }

    fn store_lane(&mut self, memarg: &MemArg, ty: Type, lane: u8) {
        let v = self.pop_vec(ty);
        let x = self.b.ins().extractlane(v, lane);
        // `heap_addr` pops the address, which sits under the vector.
        let (addr, off) = self.heap_addr(memarg, u64::from(ty.lane_type().bytes()));
        self.b.ins().store(Self::heap_flags(), x, addr, off);
    }

    fn vconst(&mut self, bytes: [u8; 16]) -> Value {
        let c = self.b.func.dfg.constants.insert(bytes.to_vec().into());
        self.b.ins().vconst(I8X16, c)
    }

    fn bool_result(&mut self, f: impl FnOnce(&mut FunctionBuilder<'f>, Value) -> Value, ty: Type) {
        let v = self.pop_vec(ty);
        let c = f(&mut self.b, v);
        let r = self.b.ins().uextend(I32, c);
        self.push(r);
    }

    /// Translates `op` if it is a SIMD operator; returns `false` otherwise.
    pub(super) fn translate_simd(&mut self, op: &Operator<'_>) -> bool {
        use Operator as O;
        match *op {
            O::V128Load { memarg } => self.vload(&memarg, 16, |b, f, a, o| b.ins().load(I8X16, f, a, o)),
            O::V128Load8x8S { memarg } => self.vload(&memarg, 8, |b, f, a, o| b.ins().sload8x8(f, a, o)),
            O::V128Load8x8U { memarg } => self.vload(&memarg, 8, |b, f, a, o| b.ins().uload8x8(f, a, o)),
            O::V128Load16x4S { memarg } => self.vload(&memarg, 8, |b, f, a, o| b.ins().sload16x4(f, a, o)),
            O::V128Load16x4U { memarg } => self.vload(&memarg, 8, |b, f, a, o| b.ins().uload16x4(f, a, o)),
            O::V128Load32x2S { memarg } => self.vload(&memarg, 8, |b, f, a, o| b.ins().sload32x2(f, a, o)),
            O::V128Load32x2U { memarg } => self.vload(&memarg, 8, |b, f, a, o| b.ins().uload32x2(f, a, o)),
            O::V128Load8Splat { memarg } => self.load_splat(&memarg, I8X16),
            O::V128Load16Splat { memarg } => self.load_splat(&memarg, I16X8),
            O::V128Load32Splat { memarg } => self.load_splat(&memarg, I32X4),
            O::V128Load64Splat { memarg } => self.load_splat(&memarg, I64X2),
            O::V128Load32Zero { memarg } => self.load_zero(&memarg, I32X4),
            O::V128Load64Zero { memarg } => self.load_zero(&memarg, I64X2),
            O::V128Store { memarg } => {
                let v = self.pop_vec(I8X16);
                let (addr, off) = self.heap_addr(&memarg, 16);
                self.b.ins().store(Self::heap_flags(), v, addr, off);
            }
            O::V128Load8Lane { memarg, lane } => self.load_lane(&memarg, I8X16, lane),
            O::V128Load16Lane { memarg, lane } => self.load_lane(&memarg, I16X8, lane),
            O::V128Load32Lane { memarg, lane } => self.load_lane(&memarg, I32X4, lane),
            O::V128Load64Lane { memarg, lane } => self.load_lane(&memarg, I64X2, lane),
            O::V128Store8Lane { memarg, lane } => self.store_lane(&memarg, I8X16, lane),
            O::V128Store16Lane { memarg, lane } => self.store_lane(&memarg, I16X8, lane),
            O::V128Store32Lane { memarg, lane } => self.store_lane(&memarg, I32X4, lane),
            O::V128Store64Lane { memarg, lane } => self.store_lane(&memarg, I64X2, lane),
            O::V128Const { value } => {
                let v = self.vconst(*value.bytes());
                self.push(v);
            }
            O::I8x16Shuffle { lanes } => {
                let b = self.pop_vec(I8X16);
                let a = self.pop_vec(I8X16);
                let mask = self.b.func.dfg.immediates.push(lanes.to_vec().into());
                let r = self.b.ins().shuffle(a, b, mask);
                self.push_vec(r);
            }
            O::I8x16ExtractLaneS { lane } => self.extract_lane(I8X16, lane, Some(true)),
            O::I8x16ExtractLaneU { lane } => self.extract_lane(I8X16, lane, Some(false)),
            O::I16x8ExtractLaneS { lane } => self.extract_lane(I16X8, lane, Some(true)),
            O::I16x8ExtractLaneU { lane } => self.extract_lane(I16X8, lane, Some(false)),
            O::I32x4ExtractLane { lane } => self.extract_lane(I32X4, lane, None),
            O::I64x2ExtractLane { lane } => self.extract_lane(I64X2, lane, None),
            O::F32x4ExtractLane { lane } => self.extract_lane(F32X4, lane, None),
            O::F64x2ExtractLane { lane } => self.extract_lane(F64X2, lane, None),
            O::I8x16ReplaceLane { lane } => self.replace_lane(I8X16, lane),
            O::I16x8ReplaceLane { lane } => self.replace_lane(I16X8, lane),
            O::I32x4ReplaceLane { lane } => self.replace_lane(I32X4, lane),
            O::I64x2ReplaceLane { lane } => self.replace_lane(I64X2, lane),
            O::F32x4ReplaceLane { lane } => self.replace_lane(F32X4, lane),
            O::F64x2ReplaceLane { lane } => self.replace_lane(F64X2, lane),
            O::I8x16Swizzle => self.vbinary(I8X16, |b, x, y| b.ins().swizzle(x, y)),
            O::I8x16Splat => self.splat(I8X16),
            O::I16x8Splat => self.splat(I16X8),
            O::I32x4Splat => self.splat(I32X4),
            O::I64x2Splat => self.splat(I64X2),
            O::F32x4Splat => self.splat(F32X4),
            O::F64x2Splat => self.splat(F64X2),

            O::I8x16Eq => self.vicmp(I8X16, IntCC::Equal),
            O::I8x16Ne => self.vicmp(I8X16, IntCC::NotEqual),
            O::I8x16LtS => self.vicmp(I8X16, IntCC::SignedLessThan),
            O::I8x16LtU => self.vicmp(I8X16, IntCC::UnsignedLessThan),
            O::I8x16GtS => self.vicmp(I8X16, IntCC::SignedGreaterThan),
            O::I8x16GtU => self.vicmp(I8X16, IntCC::UnsignedGreaterThan),
            O::I8x16LeS => self.vicmp(I8X16, IntCC::SignedLessThanOrEqual),
            O::I8x16LeU => self.vicmp(I8X16, IntCC::UnsignedLessThanOrEqual),
            O::I8x16GeS => self.vicmp(I8X16, IntCC::SignedGreaterThanOrEqual),
            O::I8x16GeU => self.vicmp(I8X16, IntCC::UnsignedGreaterThanOrEqual),
            O::I16x8Eq => self.vicmp(I16X8, IntCC::Equal),
            O::I16x8Ne => self.vicmp(I16X8, IntCC::NotEqual),
            O::I16x8LtS => self.vicmp(I16X8, IntCC::SignedLessThan),
            O::I16x8LtU => self.vicmp(I16X8, IntCC::UnsignedLessThan),
            O::I16x8GtS => self.vicmp(I16X8, IntCC::SignedGreaterThan),
            O::I16x8GtU => self.vicmp(I16X8, IntCC::UnsignedGreaterThan),
            O::I16x8LeS => self.vicmp(I16X8, IntCC::SignedLessThanOrEqual),
            O::I16x8LeU => self.vicmp(I16X8, IntCC::UnsignedLessThanOrEqual),
            O::I16x8GeS => self.vicmp(I16X8, IntCC::SignedGreaterThanOrEqual),
            O::I16x8GeU => self.vicmp(I16X8, IntCC::UnsignedGreaterThanOrEqual),
            O::I32x4Eq => self.vicmp(I32X4, IntCC::Equal),
            O::I32x4Ne => self.vicmp(I32X4, IntCC::NotEqual),
            O::I32x4LtS => self.vicmp(I32X4, IntCC::SignedLessThan),
            O::I32x4LtU => self.vicmp(I32X4, IntCC::UnsignedLessThan),
            O::I32x4GtS => self.vicmp(I32X4, IntCC::SignedGreaterThan),
            O::I32x4GtU => self.vicmp(I32X4, IntCC::UnsignedGreaterThan),
            O::I32x4LeS => self.vicmp(I32X4, IntCC::SignedLessThanOrEqual),
            O::I32x4LeU => self.vicmp(I32X4, IntCC::UnsignedLessThanOrEqual),
            O::I32x4GeS => self.vicmp(I32X4, IntCC::SignedGreaterThanOrEqual),
            O::I32x4GeU => self.vicmp(I32X4, IntCC::UnsignedGreaterThanOrEqual),
            O::I64x2Eq => self.vicmp(I64X2, IntCC::Equal),
            O::I64x2Ne => self.vicmp(I64X2, IntCC::NotEqual),
            O::I64x2LtS => self.vicmp(I64X2, IntCC::SignedLessThan),
            O::I64x2GtS => self.vicmp(I64X2, IntCC::SignedGreaterThan),
            O::I64x2LeS => self.vicmp(I64X2, IntCC::SignedLessThanOrEqual),
            O::I64x2GeS => self.vicmp(I64X2, IntCC::SignedGreaterThanOrEqual),
            O::F32x4Eq => self.vfcmp(F32X4, FloatCC::Equal),
            O::F32x4Ne => self.vfcmp(F32X4, FloatCC::NotEqual),
            O::F32x4Lt => self.vfcmp(F32X4, FloatCC::LessThan),
            O::F32x4Gt => self.vfcmp(F32X4, FloatCC::GreaterThan),
            O::F32x4Le => self.vfcmp(F32X4, FloatCC::LessThanOrEqual),
            O::F32x4Ge => self.vfcmp(F32X4, FloatCC::GreaterThanOrEqual),
            O::F64x2Eq => self.vfcmp(F64X2, FloatCC::Equal),
            O::F64x2Ne => self.vfcmp(F64X2, FloatCC::NotEqual),
            O::F64x2Lt => self.vfcmp(F64X2, FloatCC::LessThan),
            O::F64x2Gt => self.vfcmp(F64X2, FloatCC::GreaterThan),
            O::F64x2Le => self.vfcmp(F64X2, FloatCC::LessThanOrEqual),
            O::F64x2Ge => self.vfcmp(F64X2, FloatCC::GreaterThanOrEqual),

            O::V128Not => self.vunary(I8X16, |b, a| b.ins().bnot(a)),
            O::V128And => self.vbinary(I8X16, |b, x, y| b.ins().band(x, y)),
            O::V128AndNot => self.vbinary(I8X16, |b, x, y| b.ins().band_not(x, y)),
            O::V128Or => self.vbinary(I8X16, |b, x, y| b.ins().bor(x, y)),
            O::V128Xor => self.vbinary(I8X16, |b, x, y| b.ins().bxor(x, y)),
            O::V128Bitselect => {
                let c = self.pop_vec(I8X16);
                let y = self.pop_vec(I8X16);
                let x = self.pop_vec(I8X16);
                let r = self.b.ins().bitselect(c, x, y);
                self.push_vec(r);
            }
            O::V128AnyTrue => self.bool_result(|b, v| b.ins().vany_true(v), I8X16),
            O::I8x16AllTrue => self.bool_result(|b, v| b.ins().vall_true(v), I8X16),
            O::I16x8AllTrue => self.bool_result(|b, v| b.ins().vall_true(v), I16X8),
            O::I32x4AllTrue => self.bool_result(|b, v| b.ins().vall_true(v), I32X4),
            O::I64x2AllTrue => self.bool_result(|b, v| b.ins().vall_true(v), I64X2),
            O::I8x16Bitmask => self.bitmask(I8X16),
            O::I16x8Bitmask => self.bitmask(I16X8),
            O::I32x4Bitmask => self.bitmask(I32X4),
            O::I64x2Bitmask => self.bitmask(I64X2),

            O::I8x16Abs => self.vunary(I8X16, |b, a| b.ins().iabs(a)),
            O::I16x8Abs => self.vunary(I16X8, |b, a| b.ins().iabs(a)),
            O::I32x4Abs => self.vunary(I32X4, |b, a| b.ins().iabs(a)),
            O::I64x2Abs => self.vunary(I64X2, |b, a| b.ins().iabs(a)),
            O::I8x16Neg => self.vunary(I8X16, |b, a| b.ins().ineg(a)),
            O::I16x8Neg => self.vunary(I16X8, |b, a| b.ins().ineg(a)),
            O::I32x4Neg => self.vunary(I32X4, |b, a| b.ins().ineg(a)),
            O::I64x2Neg => self.vunary(I64X2, |b, a| b.ins().ineg(a)),
            O::I8x16Popcnt => self.vunary(I8X16, |b, a| b.ins().popcnt(a)),
            O::I8x16NarrowI16x8S => self.vbinary(I16X8, |b, x, y| b.ins().snarrow(x, y)),
            O::I8x16NarrowI16x8U => self.vbinary(I16X8, |b, x, y| b.ins().unarrow(x, y)),
            O::I16x8NarrowI32x4S => self.vbinary(I32X4, |b, x, y| b.ins().snarrow(x, y)),
            O::I16x8NarrowI32x4U => self.vbinary(I32X4, |b, x, y| b.ins().unarrow(x, y)),

            O::I8x16Shl => self.vshift(I8X16, |b, x, y| b.ins().ishl(x, y)),
            O::I8x16ShrS => self.vshift(I8X16, |b, x, y| b.ins().sshr(x, y)),
            O::I8x16ShrU => self.vshift(I8X16, |b, x, y| b.ins().ushr(x, y)),
            O::I16x8Shl => self.vshift(I16X8, |b, x, y| b.ins().ishl(x, y)),
            O::I16x8ShrS => self.vshift(I16X8, |b, x, y| b.ins().sshr(x, y)),
            O::I16x8ShrU => self.vshift(I16X8, |b, x, y| b.ins().ushr(x, y)),
            O::I32x4Shl => self.vshift(I32X4, |b, x, y| b.ins().ishl(x, y)),
            O::I32x4ShrS => self.vshift(I32X4, |b, x, y| b.ins().sshr(x, y)),
            O::I32x4ShrU => self.vshift(I32X4, |b, x, y| b.ins().ushr(x, y)),
            O::I64x2Shl => self.vshift(I64X2, |b, x, y| b.ins().ishl(x, y)),
            O::I64x2ShrS => self.vshift(I64X2, |b, x, y| b.ins().sshr(x, y)),
            O::I64x2ShrU => self.vshift(I64X2, |b, x, y| b.ins().ushr(x, y)),

            O::I8x16Add => self.vbinary(I8X16, |b, x, y| b.ins().iadd(x, y)),
            O::I16x8Add => self.vbinary(I16X8, |b, x, y| b.ins().iadd(x, y)),
            O::I32x4Add => self.vbinary(I32X4, |b, x, y| b.ins().iadd(x, y)),
            O::I64x2Add => self.vbinary(I64X2, |b, x, y| b.ins().iadd(x, y)),
            O::I8x16Sub => self.vbinary(I8X16, |b, x, y| b.ins().isub(x, y)),
            O::I16x8Sub => self.vbinary(I16X8, |b, x, y| b.ins().isub(x, y)),
            O::I32x4Sub => self.vbinary(I32X4, |b, x, y| b.ins().isub(x, y)),
            O::I64x2Sub => self.vbinary(I64X2, |b, x, y| b.ins().isub(x, y)),
            O::I16x8Mul => self.vbinary(I16X8, |b, x, y| b.ins().imul(x, y)),
            O::I32x4Mul => self.vbinary(I32X4, |b, x, y| b.ins().imul(x, y)),
            O::I64x2Mul => self.vbinary(I64X2, |b, x, y| b.ins().imul(x, y)),
            O::I8x16AddSatS => self.vbinary(I8X16, |b, x, y| b.ins().sadd_sat(x, y)),
            O::I8x16AddSatU => self.vbinary(I8X16, |b, x, y| b.ins().uadd_sat(x, y)),
            O::I8x16SubSatS => self.vbinary(I8X16, |b, x, y| b.ins().ssub_sat(x, y)),
            O::I8x16SubSatU => self.vbinary(I8X16, |b, x, y| b.ins().usub_sat(x, y)),
            O::I16x8AddSatS => self.vbinary(I16X8, |b, x, y| b.ins().sadd_sat(x, y)),
            O::I16x8AddSatU => self.vbinary(I16X8, |b, x, y| b.ins().uadd_sat(x, y)),
            O::I16x8SubSatS => self.vbinary(I16X8, |b, x, y| b.ins().ssub_sat(x, y)),
            O::I16x8SubSatU => self.vbinary(I16X8, |b, x, y| b.ins().usub_sat(x, y)),
            O::I8x16MinS => self.vbinary(I8X16, |b, x, y| b.ins().smin(x, y)),
            O::I8x16MinU => self.vbinary(I8X16, |b, x, y| b.ins().umin(x, y)),
            O::I8x16MaxS => self.vbinary(I8X16, |b, x, y| b.ins().smax(x, y)),
            O::I8x16MaxU => self.vbinary(I8X16, |b, x, y| b.ins().umax(x, y)),
            O::I16x8MinS => self.vbinary(I16X8, |b, x, y| b.ins().smin(x, y)),
            O::I16x8MinU => self.vbinary(I16X8, |b, x, y| b.ins().umin(x, y)),
            O::I16x8MaxS => self.vbinary(I16X8, |b, x, y| b.ins().smax(x, y)),
            O::I16x8MaxU => self.vbinary(I16X8, |b, x, y| b.ins().umax(x, y)),
            O::I32x4MinS => self.vbinary(I32X4, |b, x, y| b.ins().smin(x, y)),
            O::I32x4MinU => self.vbinary(I32X4, |b, x, y| b.ins().umin(x, y)),
            O::I32x4MaxS => self.vbinary(I32X4, |b, x, y| b.ins().smax(x, y)),
            O::I32x4MaxU => self.vbinary(I32X4, |b, x, y| b.ins().umax(x, y)),
            O::I8x16AvgrU => self.vbinary(I8X16, |b, x, y| b.ins().avg_round(x, y)),
            O::I16x8AvgrU => self.vbinary(I16X8, |b, x, y| b.ins().avg_round(x, y)),
            O::I16x8Q15MulrSatS => self.vbinary(I16X8, |b, x, y| b.ins().sqmul_round_sat(x, y)),

            O::I16x8ExtAddPairwiseI8x16S => self.vunary(I8X16, |b, a| {
                let (lo, hi) = (b.ins().swiden_low(a), b.ins().swiden_high(a));
                b.ins().iadd_pairwise(lo, hi)
            }),
            O::I16x8ExtAddPairwiseI8x16U => self.vunary(I8X16, |b, a| {
                let (lo, hi) = (b.ins().uwiden_low(a), b.ins().uwiden_high(a));
                b.ins().iadd_pairwise(lo, hi)
            }),
            O::I32x4ExtAddPairwiseI16x8S => self.vunary(I16X8, |b, a| {
                let (lo, hi) = (b.ins().swiden_low(a), b.ins().swiden_high(a));
                b.ins().iadd_pairwise(lo, hi)
            }),
            O::I32x4ExtAddPairwiseI16x8U => self.vunary(I16X8, |b, a| {
                let (lo, hi) = (b.ins().uwiden_low(a), b.ins().uwiden_high(a));
                b.ins().iadd_pairwise(lo, hi)
            }),
            O::I16x8ExtendLowI8x16S => self.vunary(I8X16, |b, a| b.ins().swiden_low(a)),
            O::I16x8ExtendHighI8x16S => self.vunary(I8X16, |b, a| b.ins().swiden_high(a)),
            O::I16x8ExtendLowI8x16U => self.vunary(I8X16, |b, a| b.ins().uwiden_low(a)),
            O::I16x8ExtendHighI8x16U => self.vunary(I8X16, |b, a| b.ins().uwiden_high(a)),
            O::I32x4ExtendLowI16x8S => self.vunary(I16X8, |b, a| b.ins().swiden_low(a)),
            O::I32x4ExtendHighI16x8S => self.vunary(I16X8, |b, a| b.ins().swiden_high(a)),
            O::I32x4ExtendLowI16x8U => self.vunary(I16X8, |b, a| b.ins().uwiden_low(a)),
            O::I32x4ExtendHighI16x8U => self.vunary(I16X8, |b, a| b.ins().uwiden_high(a)),
            O::I64x2ExtendLowI32x4S => self.vunary(I32X4, |b, a| b.ins().swiden_low(a)),
            O::I64x2ExtendHighI32x4S => self.vunary(I32X4, |b, a| b.ins().swiden_high(a)),
            O::I64x2ExtendLowI32x4U => self.vunary(I32X4, |b, a| b.ins().uwiden_low(a)),
            O::I64x2ExtendHighI32x4U => self.vunary(I32X4, |b, a| b.ins().uwiden_high(a)),
            O::I16x8ExtMulLowI8x16S => self.extmul(I8X16, true, true),
            O::I16x8ExtMulHighI8x16S => self.extmul(I8X16, false, true),
            O::I16x8ExtMulLowI8x16U => self.extmul(I8X16, true, false),
            O::I16x8ExtMulHighI8x16U => self.extmul(I8X16, false, false),
            O::I32x4ExtMulLowI16x8S => self.extmul(I16X8, true, true),
            O::I32x4ExtMulHighI16x8S => self.extmul(I16X8, false, true),
            O::I32x4ExtMulLowI16x8U => self.extmul(I16X8, true, false),
            O::I32x4ExtMulHighI16x8U => self.extmul(I16X8, false, false),
            O::I64x2ExtMulLowI32x4S => self.extmul(I32X4, true, true),
            O::I64x2ExtMulHighI32x4S => self.extmul(I32X4, false, true),
            O::I64x2ExtMulLowI32x4U => self.extmul(I32X4, true, false),
            O::I64x2ExtMulHighI32x4U => self.extmul(I32X4, false, false),
            O::I32x4DotI16x8S => self.vbinary(I16X8, |b, x, y| {
                let (xl, yl) = (b.ins().swiden_low(x), b.ins().swiden_low(y));
                let (xh, yh) = (b.ins().swiden_high(x), b.ins().swiden_high(y));
                let (lo, hi) = (b.ins().imul(xl, yl), b.ins().imul(xh, yh));
                b.ins().iadd_pairwise(lo, hi)
            }),

            O::F32x4Ceil => self.vunary(F32X4, |b, a| b.ins().ceil(a)),
            O::F32x4Floor => self.vunary(F32X4, |b, a| b.ins().floor(a)),
            O::F32x4Trunc => self.vunary(F32X4, |b, a| b.ins().trunc(a)),
            O::F32x4Nearest => self.vunary(F32X4, |b, a| b.ins().nearest(a)),
            O::F32x4Abs => self.vunary(F32X4, |b, a| b.ins().fabs(a)),
            O::F32x4Neg => self.vunary(F32X4, |b, a| b.ins().fneg(a)),
            O::F32x4Sqrt => self.vunary(F32X4, |b, a| b.ins().sqrt(a)),
            O::F32x4Add => self.vbinary(F32X4, |b, x, y| b.ins().fadd(x, y)),
            O::F32x4Sub => self.vbinary(F32X4, |b, x, y| b.ins().fsub(x, y)),
            O::F32x4Mul => self.vbinary(F32X4, |b, x, y| b.ins().fmul(x, y)),
            O::F32x4Div => self.vbinary(F32X4, |b, x, y| b.ins().fdiv(x, y)),
            O::F32x4Min => self.vbinary(F32X4, |b, x, y| b.ins().fmin(x, y)),
            O::F32x4Max => self.vbinary(F32X4, |b, x, y| b.ins().fmax(x, y)),
            O::F32x4PMin => self.pminmax(F32X4, true),
            O::F32x4PMax => self.pminmax(F32X4, false),
            O::F64x2Ceil => self.vunary(F64X2, |b, a| b.ins().ceil(a)),
            O::F64x2Floor => self.vunary(F64X2, |b, a| b.ins().floor(a)),
            O::F64x2Trunc => self.vunary(F64X2, |b, a| b.ins().trunc(a)),
            O::F64x2Nearest => self.vunary(F64X2, |b, a| b.ins().nearest(a)),
            O::F64x2Abs => self.vunary(F64X2, |b, a| b.ins().fabs(a)),
            O::F64x2Neg => self.vunary(F64X2, |b, a| b.ins().fneg(a)),
            O::F64x2Sqrt => self.vunary(F64X2, |b, a| b.ins().sqrt(a)),
            O::F64x2Add => self.vbinary(F64X2, |b, x, y| b.ins().fadd(x, y)),
            O::F64x2Sub => self.vbinary(F64X2, |b, x, y| b.ins().fsub(x, y)),
            O::F64x2Mul => self.vbinary(F64X2, |b, x, y| b.ins().fmul(x, y)),
            O::F64x2Div => self.vbinary(F64X2, |b, x, y| b.ins().fdiv(x, y)),
            O::F64x2Min => self.vbinary(F64X2, |b, x, y| b.ins().fmin(x, y)),
            O::F64x2Max => self.vbinary(F64X2, |b, x, y| b.ins().fmax(x, y)),
            O::F64x2PMin => self.pminmax(F64X2, true),
            O::F64x2PMax => self.pminmax(F64X2, false),

            O::I32x4TruncSatF32x4S => self.vunary(F32X4, |b, a| b.ins().fcvt_to_sint_sat(I32X4, a)),
            O::I32x4TruncSatF32x4U => self.vunary(F32X4, |b, a| b.ins().fcvt_to_uint_sat(I32X4, a)),
            O::F32x4ConvertI32x4S => self.vunary(I32X4, |b, a| b.ins().fcvt_from_sint(F32X4, a)),
            O::F32x4ConvertI32x4U => self.vunary(I32X4, |b, a| b.ins().fcvt_from_uint(F32X4, a)),
            O::I32x4TruncSatF64x2SZero => self.trunc_f64x2_zero(true, false),
            O::I32x4TruncSatF64x2UZero => self.trunc_f64x2_zero(false, false),
            O::F64x2ConvertLowI32x4S => self.vunary(I32X4, |b, a| {
                let wide = b.ins().swiden_low(a);
                b.ins().fcvt_from_sint(F64X2, wide)
            }),
            O::F64x2ConvertLowI32x4U => self.vunary(I32X4, |b, a| {
                let wide = b.ins().uwiden_low(a);
                b.ins().fcvt_from_uint(F64X2, wide)
            }),
            O::F32x4DemoteF64x2Zero => self.vunary(F64X2, |b, a| b.ins().fvdemote(a)),
            O::F64x2PromoteLowF32x4 => self.vunary(F32X4, |b, a| b.ins().fvpromote_low(a)),
            _ => return self.translate_relaxed(op),
        }
        true
    }

    /// The relaxed-SIMD operators. Each may give any of a small set of results; by default the translation picks
    /// the host's fastest instruction (x86's own shuffle, blend, truncation, multiply-add and rounding multiply,
    /// whose out-of-range behaviour is one of the allowed results), and with `relaxed_simd_deterministic` the one
    /// result every host gives: that of the non-relaxed counterpart, and a fused multiply-add.
    fn translate_relaxed(&mut self, op: &Operator<'_>) -> bool {
        use Operator as O;
        // x86's instructions are the only native lowerings Cranelift offers; elsewhere the deterministic ones are it.
        let native = !self.env.tunables.relaxed_simd_deterministic && self.isa.name() == "x64";
        match *op {
            O::I8x16RelaxedSwizzle => {
                let pshufb = native && self.isa.has_x86_pshufb_lowering();
                self.vbinary(I8X16, |b, x, y| if pshufb { b.ins().x86_pshufb(x, y) } else { b.ins().swizzle(x, y) })
            }
            O::I32x4RelaxedTruncF32x4S => self.vunary(F32X4, |b, a| {
                if native { b.ins().x86_cvtt2dq(I32X4, a) } else { b.ins().fcvt_to_sint_sat(I32X4, a) }
            }),
            O::I32x4RelaxedTruncF32x4U => self.vunary(F32X4, |b, a| b.ins().fcvt_to_uint_sat(I32X4, a)),
            O::I32x4RelaxedTruncF64x2SZero => self.trunc_f64x2_zero(true, native),
            O::I32x4RelaxedTruncF64x2UZero => self.trunc_f64x2_zero(false, false),
            O::F32x4RelaxedMadd => self.relaxed_madd(F32X4, false, native),
            O::F32x4RelaxedNmadd => self.relaxed_madd(F32X4, true, native),
            O::F64x2RelaxedMadd => self.relaxed_madd(F64X2, false, native),
            O::F64x2RelaxedNmadd => self.relaxed_madd(F64X2, true, native),
            O::I8x16RelaxedLaneselect => self.relaxed_laneselect(I8X16, native),
            O::I16x8RelaxedLaneselect => self.relaxed_laneselect(I16X8, native),
            O::I32x4RelaxedLaneselect => self.relaxed_laneselect(I32X4, native),
            O::I64x2RelaxedLaneselect => self.relaxed_laneselect(I64X2, native),
            // Natively the `pmin`/`pmax` pattern, which x86 lowers to one `minps`/`maxps`; they differ from `fmin`
            // and `fmax` only for NaNs and zeros of different signs, where relaxed results may differ.
            O::F32x4RelaxedMin if native => self.pminmax(F32X4, true),
            O::F32x4RelaxedMax if native => self.pminmax(F32X4, false),
            O::F64x2RelaxedMin if native => self.pminmax(F64X2, true),
            O::F64x2RelaxedMax if native => self.pminmax(F64X2, false),
            O::F32x4RelaxedMin => self.vbinary(F32X4, |b, x, y| b.ins().fmin(x, y)),
            O::F32x4RelaxedMax => self.vbinary(F32X4, |b, x, y| b.ins().fmax(x, y)),
            O::F64x2RelaxedMin => self.vbinary(F64X2, |b, x, y| b.ins().fmin(x, y)),
            O::F64x2RelaxedMax => self.vbinary(F64X2, |b, x, y| b.ins().fmax(x, y)),
            O::I16x8RelaxedQ15mulrS => {
                let pmulhrsw = native && self.isa.has_x86_pmulhrsw_lowering();
                self.vbinary(
                    I16X8,
                    |b, x, y| {
                        if pmulhrsw { b.ins().x86_pmulhrsw(x, y) } else { b.ins().sqmul_round_sat(x, y) }
                    },
                )
            }
            O::I16x8RelaxedDotI8x16I7x16S => {
                let (y, x) = (self.pop_vec(I8X16), self.pop_vec(I8X16));
                let dot = self.relaxed_dot_i16(x, y, native);
                self.push_vec(dot);
            }
            O::I32x4RelaxedDotI8x16I7x16AddS => {
                let acc = self.pop_vec(I32X4);
                let (y, x) = (self.pop_vec(I8X16), self.pop_vec(I8X16));
                let pmaddubsw = native && self.isa.has_x86_pmaddubsw_lowering();
                let sums = if pmaddubsw {
                    // Pairs of products already summed (with saturation, which the relaxed rules allow) into i16.
                    let dot = self.b.ins().x86_pmaddubsw(x, y);
                    let (lo, hi) = (self.b.ins().swiden_low(dot), self.b.ins().swiden_high(dot));
                    self.b.ins().iadd_pairwise(lo, hi)
                } else {
                    // Exactly: each i32 lane is the sum of its four signed i8 x i8 products.
                    let (lo, hi) = self.signed_products(x, y);
                    let (lo_lo, lo_hi) = (self.b.ins().swiden_low(lo), self.b.ins().swiden_high(lo));
                    let (hi_lo, hi_hi) = (self.b.ins().swiden_low(hi), self.b.ins().swiden_high(hi));
                    let s_lo = self.b.ins().iadd_pairwise(lo_lo, lo_hi);
                    let s_hi = self.b.ins().iadd_pairwise(hi_lo, hi_hi);
                    self.b.ins().iadd_pairwise(s_lo, s_hi)
                };
                let r = self.b.ins().iadd(sums, acc);
                self.push_vec(r);
            }
            _ => return false,
        }
        true
    }

    /// `i32x4.trunc_sat_f64x2_{s,u}_zero` and their relaxed forms: the two lanes converted with saturation into the
    /// low half, zeros in the high half. `native` (signed only) uses x86's `cvttpd2dq`, whose out-of-range result is
    /// one the relaxed operator allows. x64 lowers the narrow only as the fused convert + zero-vector pattern.
    fn trunc_f64x2_zero(&mut self, signed: bool, native: bool) {
        let a = self.pop_vec(F64X2);
        let wide = match (signed, native) {
            (true, true) => self.b.ins().x86_cvtt2dq(I64X2, a),
            (true, false) => self.b.ins().fcvt_to_sint_sat(I64X2, a),
            (false, _) => self.b.ins().fcvt_to_uint_sat(I64X2, a),
        };
        let c = self.b.func.dfg.constants.insert(vec![0u8; 16].into());
        let zero = self.b.ins().vconst(I64X2, c);
        let r = if signed { self.b.ins().snarrow(wide, zero) } else { self.b.ins().uunarrow(wide, zero) };
        self.push_vec(r);
    }

    /// `relaxed_madd(a, b, c) = a * b + c`, `relaxed_nmadd = -(a * b) + c`: fused where the host has a fused
    /// multiply-add (always when deterministic, through a libcall if need be), else a multiply and an add.
    fn relaxed_madd(&mut self, ty: Type, negate: bool, native: bool) {
        let c = self.pop_vec(ty);
        let b = self.pop_vec(ty);
        let a = self.pop_vec(ty);
        let a = if negate { self.b.ins().fneg(a) } else { a };
        let r = if !native || self.isa.has_native_fma() {
            self.b.ins().fma(a, b, c)
        } else {
            let product = self.b.ins().fmul(a, b);
            self.b.ins().fadd(product, c)
        };
        self.push_vec(r);
    }

    /// `relaxed_laneselect(a, b, mask)`: bits of `a` where the mask is set, of `b` elsewhere; natively x86's
    /// `blendv`, which looks only at each lane's top bit (allowed when the mask lanes are not all-ones or zero).
    fn relaxed_laneselect(&mut self, ty: Type, native: bool) {
        let mask = self.pop_vec(ty);
        let b = self.pop_vec(ty);
        let a = self.pop_vec(ty);
        let r = if native && self.isa.has_blendv_lowering(ty) {
            self.b.ins().blendv(mask, a, b)
        } else {
            self.b.ins().bitselect(mask, a, b)
        };
        self.push_vec(r);
    }

    /// The signed i8 x i8 products of `x` and `y`'s low and high halves, as two i16x8 vectors.
    fn signed_products(&mut self, x: Value, y: Value) -> (Value, Value) {
        let (xl, yl) = (self.b.ins().swiden_low(x), self.b.ins().swiden_low(y));
        let (xh, yh) = (self.b.ins().swiden_high(x), self.b.ins().swiden_high(y));
        (self.b.ins().imul(xl, yl), self.b.ins().imul(xh, yh))
    }

    /// `i16x8.relaxed_dot_i8x16_i7x16_s`: adjacent products summed into i16 lanes. Natively x86's `pmaddubsw`
    /// (signed `x` times unsigned `y`, saturating: the signed result while `y`'s lanes are 7-bit, which is all the
    /// operator promises), else signed x signed with wrapping sums.
    fn relaxed_dot_i16(&mut self, x: Value, y: Value, native: bool) -> Value {
        if native && self.isa.has_x86_pmaddubsw_lowering() {
            return self.b.ins().x86_pmaddubsw(x, y);
        }
        let (lo, hi) = self.signed_products(x, y);
        self.b.ins().iadd_pairwise(lo, hi)
    }

    fn bitmask(&mut self, ty: Type) {
        let v = self.pop_vec(ty);
        let r = self.b.ins().vhigh_bits(I32, v);
        self.push(r);
    }

    /// `extmul_{low,high}`: widen both operands' lower or upper halves, then multiply.
    fn extmul(&mut self, ty: Type, low: bool, signed: bool) {
        self.vbinary(ty, |b, x, y| {
            let widen = |b: &mut FunctionBuilder<'f>, v| match (low, signed) {
                (true, true) => b.ins().swiden_low(v),
                (false, true) => b.ins().swiden_high(v),
                (true, false) => b.ins().uwiden_low(v),
                (false, false) => b.ins().uwiden_high(v),
            };
            let (wx, wy) = (widen(b, x), widen(b, y));
            b.ins().imul(wx, wy)
        });
    }

    /// `pmin(a, b) = b < a ? b : a` and `pmax(a, b) = a < b ? b : a`, lane-wise, with no NaN special-casing.
    fn pminmax(&mut self, ty: Type, min: bool) {
        self.vbinary(ty, |b, x, y| {
            let mask = if min { b.ins().fcmp(FloatCC::LessThan, y, x) } else { b.ins().fcmp(FloatCC::LessThan, x, y) };
            let flags = MemFlagsData::new().with_endianness(ir::Endianness::Little);
            let mask = b.ins().bitcast(ty, flags, mask);
            b.ins().bitselect(mask, y, x)
        });
    }
}
