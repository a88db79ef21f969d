//! WebAssembly 3.0 proposals through the embedding API: tail calls, extended constant expressions, relaxed SIMD,
//! 64-bit memories and tables.

use crate::instantiate;
use weft::*;

/// Two functions that tail-call each other 10^8 times, with a small wasm stack: a call that kept its caller's
/// frame would overflow it after a few thousand iterations.
#[test]
fn mutual_tail_recursion_runs_in_constant_stack() -> Result<()> {
    let mut config = Config::new();
    config.max_wasm_stack(64 * 1024);
    let engine = Engine::new(&config)?;
    let module = Module::new(
        &engine,
        r#"(module
             (func $even (export "even") (param i64) (result i32)
               (if (result i32) (i64.eqz (local.get 0))
                 (then (i32.const 1))
                 (else (return_call $odd (i64.sub (local.get 0) (i64.const 1))))))
             (func $odd (param i64) (result i32)
               (if (result i32) (i64.eqz (local.get 0))
                 (then (i32.const 0))
                 (else (return_call $even (i64.sub (local.get 0) (i64.const 1))))))
             (func $plain_even (export "plain_even") (param i64) (result i32)
               (if (result i32) (i64.eqz (local.get 0))
                 (then (i32.const 1))
                 (else (i32.eqz (call $plain_even (i64.sub (local.get 0) (i64.const 1))))))))"#,
    )?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let even = instance.get_typed_func::<i64, i32>(&mut store, "even")?;
    assert_eq!(even.call(&mut store, 100_000_000)?, 1);
    assert_eq!(even.call(&mut store, 100_000_001)?, 0);
    // The same depth with ordinary calls does overflow: the stack really is small.
    let plain = instance.get_typed_func::<i64, i32>(&mut store, "plain_even")?;
    let err = plain.call(&mut store, 100_000).unwrap_err();
    assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::StackOverflow));
    Ok(())
}

/// `return_call_indirect` through a table, including a signature mismatch, and a tail call whose results travel
/// through a return area (more results than registers).
#[test]
fn tail_calls_through_tables_and_return_areas() -> Result<()> {
    let (mut store, instance) = instantiate(
        r#"(module
             (type $count (func (param i32 i32) (result i32)))
             (type $other (func (param i32) (result i32)))
             (table funcref (elem $down $wrong))
             (func $down (type $count)
               (if (result i32) (i32.eqz (local.get 0))
                 (then (local.get 1))
                 (else (return_call_indirect (type $count)
                         (i32.sub (local.get 0) (i32.const 1)) (i32.add (local.get 1) (i32.const 2))
                         (i32.const 0)))))
             (func $wrong (type $other) (local.get 0))
             (func (export "count") (param i32) (result i32)
               (return_call_indirect (type $count) (local.get 0) (i32.const 0) (i32.const 0)))
             (func (export "mismatch") (result i32)
               (return_call_indirect (type $count) (i32.const 1) (i32.const 0) (i32.const 1)))
             (func $many (param i64) (result i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
               (local.get 0) (i64.const 1) (i64.const 2) (i64.const 3) (i64.const 4)
               (i64.const 5) (i64.const 6) (i64.const 7) (i64.const 8) (i64.const 9))
             (func (export "many") (param i64) (result i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
               (return_call $many (i64.add (local.get 0) (i64.const 1)))))"#,
    );
    let count = instance.get_typed_func::<i32, i32>(&mut store, "count")?;
    assert_eq!(count.call(&mut store, 1_000_000)?, 2_000_000);
    let mismatch = instance.get_typed_func::<(), i32>(&mut store, "mismatch")?;
    let err = mismatch.call(&mut store, ()).unwrap_err();
    assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::BadSignature));
    let many = instance.get_func(&mut store, "many").unwrap();
    let mut results = vec![Val::I64(0); 10];
    many.call(&mut store, &[Val::I64(41)], &mut results)?;
    let values: Vec<i64> = results.iter().map(|v| v.i64().unwrap()).collect();
    assert_eq!(values, [42, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    Ok(())
}

/// A tail call to an imported host function returns the host's result to the wasm caller's caller, and one to a
/// function of another instance runs in that instance.
#[test]
fn tail_calls_to_host_functions_and_other_instances() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, 0u32);
    let mut linker = Linker::new(&engine);
    linker.func_wrap("host", "twice", |mut caller: Caller<'_, u32>, x: i32| {
        *caller.data_mut() += 1;
        x * 2
    })?;
    let callee = Module::new(
        &engine,
        r#"(module
             (global $calls (mut i32) (i32.const 0))
             (func (export "add_calls") (param i32) (result i32)
               (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
               (i32.add (local.get 0) (global.get $calls))))"#,
    )?;
    let callee = linker.instantiate(&mut store, &callee)?;
    linker.instance(&mut store, "callee", callee)?;
    let caller = Module::new(
        &engine,
        r#"(module
             (import "host" "twice" (func $twice (param i32) (result i32)))
             (import "callee" "add_calls" (func $add_calls (param i32) (result i32)))
             (func (export "to_host") (param i32) (result i32)
               (return_call $twice (i32.add (local.get 0) (i32.const 1))))
             (func (export "to_other") (param i32) (result i32)
               (return_call $add_calls (local.get 0))))"#,
    )?;
    let caller = linker.instantiate(&mut store, &caller)?;
    let to_host = caller.get_typed_func::<i32, i32>(&mut store, "to_host")?;
    assert_eq!(to_host.call(&mut store, 20)?, 42);
    assert_eq!(to_host.call(&mut store, 1)?, 4);
    assert_eq!(*store.data(), 2, "the host function ran once per call");
    let to_other = caller.get_typed_func::<i32, i32>(&mut store, "to_other")?;
    assert_eq!(to_other.call(&mut store, 10)?, 11);
    assert_eq!(to_other.call(&mut store, 10)?, 12, "the callee's own global counts its calls");
    Ok(())
}

/// Extended constant expressions in global initialisers and segment offsets, with wrapping arithmetic.
#[test]
fn extended_constant_expressions() -> Result<()> {
    let (mut store, instance) = instantiate(
        r#"(module
             (memory 1)
             (global $base i32 (i32.const 16))
             (global (export "wrapped") i64 (i64.mul (i64.const 0x4000000000000000) (i64.const 4)))
             (global (export "sum") i32 (i32.sub (i32.add (i32.const 40) (i32.const 5)) (i32.const 3)))
             (data (i32.add (i32.const 100) (i32.mul (i32.const 2) (i32.const 3))) "\2a")
             (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0))))"#,
    );
    let sum = instance.get_global(&mut store, "sum").unwrap();
    assert_eq!(sum.get(&mut store).i32(), Some(42));
    let wrapped = instance.get_global(&mut store, "wrapped").unwrap();
    assert_eq!(wrapped.get(&mut store).i64(), Some(0));
    let load = instance.get_typed_func::<i32, i32>(&mut store, "load")?;
    assert_eq!(load.call(&mut store, 106)?, 42);
    assert_eq!(load.call(&mut store, 105)?, 0);
    Ok(())
}

/// Each proposal can be switched off, and a module using it is then refused with the proposal's name.
#[test]
fn proposals_can_be_switched_off() {
    let mut config = Config::new();
    config.wasm_tail_call(false).wasm_extended_const(false);
    let engine = Engine::new(&config).unwrap();
    let err = Module::new(&engine, "(module (func $f (return_call $f)))").unwrap_err();
    assert!(format!("{err:#}").contains("tail-call"), "{err:#}");
    let err = Module::new(&engine, "(module (global i32 (i32.add (i32.const 1) (i32.const 2))))").unwrap_err();
    assert!(format!("{err:#}").contains("extended-const"), "{err:#}");
}

/// Relaxed SIMD in deterministic mode gives exactly the non-relaxed counterparts' results (and a fused
/// multiply-add), also for the inputs where hosts may differ: NaNs, signed zeros, out-of-range swizzle indices and
/// truncations, mask lanes that are neither all ones nor zero. Natively, those inputs give one of the allowed
/// results.
#[test]
fn relaxed_simd_deterministic_and_native() -> Result<()> {
    let wat = r#"(module
      (func (export "swizzle") (param v128 v128) (result v128) (i8x16.relaxed_swizzle (local.get 0) (local.get 1)))
      (func (export "swizzle_ref") (param v128 v128) (result v128) (i8x16.swizzle (local.get 0) (local.get 1)))
      (func (export "trunc") (param v128) (result v128) (i32x4.relaxed_trunc_f32x4_s (local.get 0)))
      (func (export "trunc_ref") (param v128) (result v128) (i32x4.trunc_sat_f32x4_s (local.get 0)))
      (func (export "trunc64") (param v128) (result v128) (i32x4.relaxed_trunc_f64x2_s_zero (local.get 0)))
      (func (export "trunc64_ref") (param v128) (result v128) (i32x4.trunc_sat_f64x2_s_zero (local.get 0)))
      (func (export "min") (param v128 v128) (result v128) (f32x4.relaxed_min (local.get 0) (local.get 1)))
      (func (export "min_ref") (param v128 v128) (result v128) (f32x4.min (local.get 0) (local.get 1)))
      (func (export "max") (param v128 v128) (result v128) (f64x2.relaxed_max (local.get 0) (local.get 1)))
      (func (export "max_ref") (param v128 v128) (result v128) (f64x2.max (local.get 0) (local.get 1)))
      (func (export "select") (param v128 v128 v128) (result v128)
        (i8x16.relaxed_laneselect (local.get 0) (local.get 1) (local.get 2)))
      (func (export "select_ref") (param v128 v128 v128) (result v128)
        (v128.bitselect (local.get 0) (local.get 1) (local.get 2)))
      (func (export "q15") (param v128 v128) (result v128) (i16x8.relaxed_q15mulr_s (local.get 0) (local.get 1)))
      (func (export "q15_ref") (param v128 v128) (result v128) (i16x8.q15mulr_sat_s (local.get 0) (local.get 1)))
      (func (export "madd") (param v128 v128 v128) (result v128)
        (f32x4.relaxed_madd (local.get 0) (local.get 1) (local.get 2)))
      (func (export "nmadd") (param v128 v128 v128) (result v128)
        (f64x2.relaxed_nmadd (local.get 0) (local.get 1) (local.get 2)))
      (func (export "dot") (param v128 v128) (result v128)
        (i16x8.relaxed_dot_i8x16_i7x16_s (local.get 0) (local.get 1)))
      (func (export "dot_add") (param v128 v128 v128) (result v128)
        (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get 0) (local.get 1) (local.get 2))))"#;
    let f32x4 = |l: [f32; 4]| u128::from_le_bytes(std::array::from_fn(|i| l[i / 4].to_le_bytes()[i % 4]));
    let f64x2 = |l: [f64; 2]| u128::from_le_bytes(std::array::from_fn(|i| l[i / 8].to_le_bytes()[i % 8]));
    let i8x16 = |l: [i8; 16]| u128::from_le_bytes(l.map(|x| x as u8));
    let lanes_f32 = |v: u128| -> [f32; 4] { std::array::from_fn(|i| f32::from_bits((v >> (32 * i)) as u32)) };
    let lanes_f64 = |v: u128| -> [f64; 2] { std::array::from_fn(|i| f64::from_bits((v >> (64 * i)) as u64)) };
    let lanes_i16 = |v: u128| -> [i16; 8] { std::array::from_fn(|i| (v >> (16 * i)) as u16 as i16) };
    let lanes_i32 = |v: u128| -> [i32; 4] { std::array::from_fn(|i| (v >> (32 * i)) as u32 as i32) };

    // Inputs where relaxed results may vary: indices past 15 (with and without the top bit), NaN and
    // out-of-range truncations, min/max of NaN and of zeros of both signs, a mask that is neither 0 nor -1 per
    // lane, the q15 overflow case, a multiply-add whose rounding shows fusion, and a dot product with a
    // negative first operand.
    let table = i8x16(std::array::from_fn(|i| i as i8 * 3));
    let indices = i8x16([0, 15, 16, 17, 31, 100, 127, -128, -1, 3, 2, 1, 0, 64, 32, 5]);
    let floats = f32x4([f32::NAN, 3e9, -3e9, -2.5]);
    let doubles = f64x2([f64::NAN, -1e12]);
    let zeros = f32x4([0.0, -0.0, f32::NAN, 1.0]);
    let zeros_other = f32x4([-0.0, 0.0, 2.0, f32::NAN]);
    let dzeros = f64x2([0.0, f64::NAN]);
    let dzeros_other = f64x2([-0.0, 1.0]);
    let ones = u128::MAX;
    let mask = i8x16([0x0f, -1, 0, 0x70, -128, 1, 0x55, -86, 0, 0, 0, 0, -1, -1, 0, 0]);
    let q = u128::from_le_bytes(std::array::from_fn(|i| if i % 2 == 0 { 0x00 } else { 0x80 }));
    let (a, b, c) = (1.0f32 + f32::EPSILON, 1.0f32 - f32::EPSILON, -1.0f32);
    let dot_x = i8x16(std::array::from_fn(|i| if i % 3 == 0 { -100 } else { 90 + i as i8 }));
    let dot_y = i8x16(std::array::from_fn(|i| (i as i8 * 7) % 64));

    for deterministic in [true, false] {
        let mut config = Config::new();
        config.relaxed_simd_deterministic(deterministic);
        let engine = Engine::new(&config)?;
        let module = Module::new(&engine, wat)?;
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[])?;
        let mut call = |name: &str, args: &[u128]| -> Result<u128> {
            let f = instance.get_func(&mut store, name).unwrap();
            let args: Vec<Val> = args.iter().map(|a| Val::V128(*a)).collect();
            let mut out = [Val::V128(0)];
            f.call(&mut store, &args, &mut out)?;
            Ok(out[0].v128().unwrap())
        };
        let pairs: [(&str, Vec<u128>); 6] = [
            ("swizzle", vec![table, indices]),
            ("trunc", vec![floats]),
            ("trunc64", vec![doubles]),
            ("min", vec![zeros, zeros_other]),
            ("max", vec![dzeros, dzeros_other]),
            ("q15", vec![q, q]),
        ];
        for (name, args) in &pairs {
            let (relaxed, reference) = (call(name, args)?, call(&format!("{name}_ref"), args)?);
            if deterministic {
                assert_eq!(relaxed, reference, "{name} (deterministic)");
            } else if *name == "swizzle" {
                // Out-of-range indices give 0 or the lane the index selects modulo 16.
                for (i, idx) in indices.to_le_bytes().iter().enumerate() {
                    let got = relaxed.to_le_bytes()[i];
                    let ok = if *idx < 16 {
                        got == table.to_le_bytes()[*idx as usize]
                    } else {
                        got == 0 || got == table.to_le_bytes()[(*idx % 16) as usize]
                    };
                    assert!(ok, "swizzle lane {i}: index {idx} gave {got}");
                }
            }
        }
        let select = call("select", &[ones, 0, mask])?;
        let select_ref = call("select_ref", &[ones, 0, mask])?;
        if deterministic {
            assert_eq!(select, select_ref);
        } else {
            // Natively each byte is the bitwise select or, for a lane with its top bit decided, the whole lane.
            for i in 0..16 {
                let (got, m) = (select.to_le_bytes()[i], mask.to_le_bytes()[i]);
                assert!(got == m || got == if m & 0x80 != 0 { 0xff } else { 0 }, "laneselect byte {i}");
            }
        }
        let madd = lanes_f32(call("madd", &[f32x4([a; 4]), f32x4([b; 4]), f32x4([c; 4])])?);
        let (fused, unfused) = (a.mul_add(b, c), a * b + c);
        assert_ne!(fused, unfused, "the inputs tell fused from unfused");
        if deterministic {
            assert_eq!(madd, [fused; 4]);
        } else {
            assert!(madd.iter().all(|x| *x == fused || *x == unfused), "{madd:?}");
        }
        let nmadd = lanes_f64(call("nmadd", &[f64x2([2.0, 3.0]), f64x2([5.0, 7.0]), f64x2([1.0, 100.0])])?);
        assert_eq!(nmadd, [-9.0, 79.0]);
        // With 7-bit second operands both lowerings agree with the signed product sum.
        let dot = lanes_i16(call("dot", &[dot_x, dot_y])?);
        let (xs, ys) = (dot_x.to_le_bytes().map(|b| b as i8 as i32), dot_y.to_le_bytes().map(|b| b as i8 as i32));
        let expected: [i16; 8] =
            std::array::from_fn(|i| (xs[2 * i] * ys[2 * i] + xs[2 * i + 1] * ys[2 * i + 1]) as i16);
        assert_eq!(dot, expected, "dot (deterministic: {deterministic})");
        let acc = u128::from_le_bytes(std::array::from_fn(|i| if i % 4 == 0 { 10 } else { 0 }));
        let dot_add = lanes_i32(call("dot_add", &[dot_x, dot_y, acc])?);
        let expected: [i32; 4] =
            std::array::from_fn(|i| 10 + (0..4).map(|k| xs[4 * i + k] * ys[4 * i + k]).sum::<i32>());
        assert_eq!(dot_add, expected);
    }
    Ok(())
}

/// A 64-bit memory grows past 4 GiB and is addressed with `i64` (offsets beyond 4 GiB too); every access past its
/// end traps, including addresses whose sum with the offset overflows 64 bits. A 64-bit table takes `i64`
/// indices, and `memory.copy` works between a 32-bit and a 64-bit memory.
#[test]
fn memory64_past_4_gib_and_table64() -> Result<()> {
    let (mut store, instance) = instantiate(
        r#"(module
             (memory $wide (export "wide") i64 1)
             (memory $narrow 1)
             (table $t i64 2 funcref)
             (elem (table $t) (i64.const 1) func $seven)
             (type $ret (func (result i32)))
             (func $seven (type $ret) (i32.const 7))
             (func (export "grow") (param i64) (result i64) (memory.grow $wide (local.get 0)))
             (func (export "size") (result i64) (memory.size $wide))
             (func (export "store") (param i64 i32) (i32.store8 $wide (local.get 0) (local.get 1)))
             (func (export "load") (param i64) (result i32) (i32.load8_u $wide (local.get 0)))
             (func (export "load_far") (param i64) (result i32) (i32.load8_u $wide offset=0x100000000 (local.get 0)))
             (func (export "copy_to_narrow") (param i64 i32)
               (memory.copy $narrow $wide (local.get 1) (local.get 0) (i32.const 1)))
             (func (export "load_narrow") (param i32) (result i32) (i32.load8_u $narrow (local.get 0)))
             (func (export "table_size") (result i64) (table.size $t))
             (func (export "call") (param i64) (result i32) (call_indirect $t (type $ret) (local.get 0))))"#,
    );
    let grow = instance.get_typed_func::<i64, i64>(&mut store, "grow")?;
    let size = instance.get_typed_func::<(), i64>(&mut store, "size")?;
    let store8 = instance.get_typed_func::<(i64, i32), ()>(&mut store, "store")?;
    let load = instance.get_typed_func::<i64, i32>(&mut store, "load")?;
    let load_far = instance.get_typed_func::<i64, i32>(&mut store, "load_far")?;
    const FIVE_GIB_PAGES: i64 = 5 * 16384;
    assert_eq!(grow.call(&mut store, FIVE_GIB_PAGES)?, 1);
    assert_eq!(size.call(&mut store, ())?, FIVE_GIB_PAGES + 1);
    let wide = instance.get_memory(&mut store, "wide").unwrap();
    assert_eq!(wide.size(&store), (FIVE_GIB_PAGES + 1) as u64);
    assert!(wide.ty(&store).memory64);
    let far = 0x1_2000_0000i64; // 4.5 GiB
    store8.call(&mut store, (far, 42))?;
    assert_eq!(load.call(&mut store, far)?, 42);
    assert_eq!(load_far.call(&mut store, far - 0x1_0000_0000)?, 42, "an offset above 4 GiB");
    let end = (FIVE_GIB_PAGES + 1) * 65536;
    assert_eq!(load.call(&mut store, end - 1)?, 0);
    for (what, result) in [
        ("just past the end", load.call(&mut store, end)),
        ("the largest address", load.call(&mut store, -1)),
        ("address plus offset overflowing", load_far.call(&mut store, -2)),
    ] {
        let err = result.unwrap_err();
        assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::MemoryOutOfBounds), "{what}");
    }
    assert_eq!(grow.call(&mut store, 1 << 40)?, -1, "more than the host can give fails without trapping");
    let copy = instance.get_typed_func::<(i64, i32), ()>(&mut store, "copy_to_narrow")?;
    copy.call(&mut store, (far, 100))?;
    let load_narrow = instance.get_typed_func::<i32, i32>(&mut store, "load_narrow")?;
    assert_eq!(load_narrow.call(&mut store, 100)?, 42);
    assert_eq!(instance.get_typed_func::<(), i64>(&mut store, "table_size")?.call(&mut store, ())?, 2);
    let call = instance.get_typed_func::<i64, i32>(&mut store, "call")?;
    assert_eq!(call.call(&mut store, 1)?, 7);
    let err = call.call(&mut store, 1 << 33).unwrap_err();
    assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::UndefinedElement), "an index above 2^32 is not wrapped");
    Ok(())
}

/// Typed function references: `call_ref` and `return_call_ref`, the null checks, `br_on_null`/`br_on_non_null`,
/// and a table whose elements start as a function.
#[test]
fn typed_function_references_run() -> Result<()> {
    let (mut store, instance) = instantiate(
        r#"(module
             (type $unop (func (param i32) (result i32)))
             (func $double (type $unop) (i32.mul (local.get 0) (i32.const 2)))
             (elem declare func $double)
             (table $t 2 (ref null $unop) (ref.func $double))
             (func $maybe (param i32) (result (ref null $unop))
               (if (result (ref null $unop)) (local.get 0) (then (ref.func $double)) (else (ref.null $unop))))
             (func (export "call") (param i32) (result i32) (call_ref $unop (local.get 0) (ref.func $double)))
             (func (export "tail") (param i32) (result i32)
               (return_call_ref $unop (local.get 0) (table.get $t (i32.const 1))))
             (func (export "call_null") (result i32) (call_ref $unop (i32.const 1) (ref.null $unop)))
             (func (export "as_non_null") (param i32) (result i32)
               (ref.is_null (ref.as_non_null (call $maybe (local.get 0)))))
             (func (export "on_null") (param i32) (result i32)
               (block $null
                 (return (call_ref $unop (i32.const 21) (br_on_null $null (call $maybe (local.get 0))))))
               (i32.const -1))
             (func (export "on_non_null") (param i32) (result i32) (local $f (ref null $unop))
               (local.set $f
                 (block $some (result (ref $unop))
                   (br_on_non_null $some (call $maybe (local.get 0)))
                   (return (i32.const -1))))
               (call_ref $unop (i32.const 50) (local.get $f))))"#,
    );
    let call = instance.get_typed_func::<i32, i32>(&mut store, "call")?;
    assert_eq!(call.call(&mut store, 21)?, 42);
    let tail = instance.get_typed_func::<i32, i32>(&mut store, "tail")?;
    assert_eq!(tail.call(&mut store, 4)?, 8, "the table starts with every element set to its initialiser");
    let err = instance.get_typed_func::<(), i32>(&mut store, "call_null")?.call(&mut store, ()).unwrap_err();
    assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::NullFunctionReference));
    let as_non_null = instance.get_typed_func::<i32, i32>(&mut store, "as_non_null")?;
    assert_eq!(as_non_null.call(&mut store, 1)?, 0);
    let err = as_non_null.call(&mut store, 0).unwrap_err();
    assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::NullReference));
    let on_null = instance.get_typed_func::<i32, i32>(&mut store, "on_null")?;
    assert_eq!((on_null.call(&mut store, 1)?, on_null.call(&mut store, 0)?), (42, -1));
    let on_non_null = instance.get_typed_func::<i32, i32>(&mut store, "on_non_null")?;
    assert_eq!((on_non_null.call(&mut store, 1)?, on_non_null.call(&mut store, 0)?), (100, -1));
    Ok(())
}

/// Types are compared by what they are, across modules: a function taking `(ref $t)` links where another module's
/// own `$t` is the same type (at another index), and not where the same index names a different type; the same
/// holds for `call_indirect`. Values crossing the API are checked against typed references, so wasm never
/// receives a null or a function of another type where its type promises otherwise.
#[test]
fn typed_references_are_compared_by_type_across_modules_and_the_api() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    let exporter = Module::new(
        &engine,
        r#"(module
             (type $i (func (param i32) (result i32)))
             (func $inc (export "inc") (type $i) (i32.add (local.get 0) (i32.const 1)))
             (func (export "apply") (param (ref $i)) (param i32) (result i32)
               (call_ref $i (local.get 1) (local.get 0)))
             (global (export "g") (mut (ref null $i)) (ref.null $i))
             (elem declare func $inc))"#,
    )?;
    let exporter = linker.instantiate(&mut store, &exporter)?;
    linker.instance(&mut store, "m", exporter)?;
    // Same type at another index: links, and calls through it work.
    let same = Module::new(
        &engine,
        r#"(module
             (type $other (func))
             (type $i (func (param i32) (result i32)))
             (import "m" "apply" (func $apply (param (ref $i)) (param i32) (result i32)))
             (import "m" "inc" (func $inc (type $i)))
             (func (export "go") (result i32) (call $apply (ref.func $inc) (i32.const 41)))
             (elem declare func $inc))"#,
    )?;
    let same = linker.instantiate(&mut store, &same)?;
    assert_eq!(same.get_typed_func::<(), i32>(&mut store, "go")?.call(&mut store, ())?, 42);
    // The same index naming a different type: refused.
    let different = Module::new(
        &engine,
        r#"(module
             (type $i (func (param f64) (result f64)))
             (import "m" "apply" (func (param (ref $i)) (param i32) (result i32))))"#,
    )?;
    let err = linker.instantiate(&mut store, &different).unwrap_err();
    assert!(format!("{err:#}").contains("m::apply"), "{err:#}");

    // Through the API: a null or a function of another type for `(ref $i)` is refused before wasm sees it.
    let apply = exporter.get_func(&mut store, "apply").unwrap();
    let inc = exporter.get_func(&mut store, "inc").unwrap();
    let mut out = [Val::I32(0)];
    apply.call(&mut store, &[Val::FuncRef(Some(inc)), Val::I32(1)], &mut out)?;
    assert_eq!(out[0].i32(), Some(2));
    let err = apply.call(&mut store, &[Val::FuncRef(None), Val::I32(1)], &mut out).unwrap_err();
    assert!(format!("{err:#}").contains("not of the type"), "{err:#}");
    let wrong = Func::wrap(&mut store, |x: f64| x);
    assert!(apply.call(&mut store, &[Val::FuncRef(Some(wrong)), Val::I32(1)], &mut out).is_err());
    let g = exporter.get_global(&mut store, "g").unwrap();
    g.set(&mut store, Val::FuncRef(Some(inc)))?;
    assert!(g.set(&mut store, Val::FuncRef(Some(wrong))).is_err(), "a global of (ref null $i) refuses another type");
    g.set(&mut store, Val::FuncRef(None))?;

    // A host function declaring a typed-reference result must return a value of that type.
    let ty = apply.ty(&store);
    let returns_ref = FuncType::new([], [ty.params[0]]);
    let liar = Func::new(&mut store, returns_ref, |_, _, results| {
        results[0] = Val::FuncRef(None);
        Ok(())
    });
    let mut out = [Val::FuncRef(None)];
    let err = liar.call(&mut store, &[], &mut out).unwrap_err();
    assert!(format!("{err:#}").contains("host function result 0"), "{err:#}");
    Ok(())
}
