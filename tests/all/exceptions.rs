//! Exception handling through the embedding API: exceptions thrown and caught across wasm frames of every kind
//! (direct, indirect, `call_ref`, other instances, host functions), exceptions leaving wasm and entering it from
//! the host, and the rules that keep traps and backtraces apart from exceptions.

use crate::instantiate;
use weft::*;

fn i32_tag_type() -> TagType {
    TagType::new(FuncType::new([ValType::I32], []))
}

/// The exception an error carries, if it is one.
fn exception(error: &Error) -> Option<ExnRef> {
    error.downcast_ref::<Exception>().map(|e| e.exn())
}

/// An exception thrown 10 frames down (through direct calls, `call_indirect` and `call_ref`) is caught with its
/// payload, repeatedly: a handler that left the stack or frame pointer wrong would fail long before the last round.
#[test]
fn thrown_through_frames_of_every_kind_and_caught() -> Result<()> {
    let (mut store, instance) = instantiate(
        r#"(module
             (type $f (func (param i32)))
             (tag $e (param i32 i64 f64))
             (table funcref (elem $via_table))
             (elem declare func $via_ref)
             (func $thrower (param i32)
               (throw $e (local.get 0) (i64.const -2) (f64.const 2.5)))
             (func $via_ref (type $f) (call $thrower (local.get 0)))
             (func $via_table (type $f) (call_ref $f (local.get 0) (ref.func $via_ref)))
             (func $down (param i32 i32)
               (if (i32.eqz (local.get 1))
                 (then (call_indirect (type $f) (local.get 0) (i32.const 0)))
                 (else (call $down (local.get 0) (i32.sub (local.get 1) (i32.const 1))))))
             (func (export "catch") (param i32) (result i32 i64 f64)
               (block $h (result i32 i64 f64)
                 (try_table (catch $e $h)
                   (call $down (local.get 0) (i32.const 7)))
                 (unreachable))))"#,
    );
    let catch = instance.get_typed_func::<i32, (i32, i64, f64)>(&mut store, "catch")?;
    for i in 0..10_000 {
        assert_eq!(catch.call(&mut store, i)?, (i, -2, 2.5));
    }
    Ok(())
}

/// An exception no `try_table` catches leaves wasm as an [`Exception`] error whose tag is the exported tag and whose
/// payload is readable; the store stays usable.
#[test]
fn uncaught_exception_reaches_the_embedder() -> Result<()> {
    let (mut store, instance) = instantiate(
        r#"(module
             (tag $e (export "e") (param i32 v128))
             (tag $other (export "other") (param i32 v128))
             (func $deep (param i32) (throw $e (local.get 0) (v128.const i64x2 7 8)))
             (func (export "throw") (param i32) (result i32)
               ;; A try_table that catches only another tag lets it pass.
               (block $h (result i32 v128)
                 (try_table (result i32) (catch $other $h)
                   (call $deep (local.get 0))
                   (i32.const 0))
                 (return))
               (drop)))"#,
    );
    let throw = instance.get_typed_func::<i32, i32>(&mut store, "throw")?;
    let error = throw.call(&mut store, 42).unwrap_err();
    let exn = exception(&error).expect("an exception");
    assert!(error.downcast_ref::<Trap>().is_none());
    let tag = instance.get_export(&mut store, "e").and_then(Extern::into_tag).expect("tag export");
    let other = instance.get_export(&mut store, "other").and_then(Extern::into_tag).expect("tag export");
    assert!(Tag::eq(&exn.tag(&store), &tag, &store));
    assert!(!Tag::eq(&exn.tag(&store), &other, &store));
    let payload = exn.payload(&mut store);
    assert_eq!(payload[0].i32(), Some(42));
    assert_eq!(payload[1].v128(), Some(7 | (8 << 64)));
    assert_eq!(tag.ty(&store), TagType::new(FuncType::new([ValType::I32, ValType::V128], [])));
    assert_eq!(throw.call(&mut store, 1).unwrap_err().to_string(), "uncaught wasm exception");
    Ok(())
}

/// A host function throws a wasm exception (with a host-created tag the module imports), and wasm catches it with
/// its payload; the same exception thrown by the host outside any `try_table` reaches the embedder unchanged.
#[test]
fn host_function_throws_into_wasm() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let tag = Tag::new(&mut store, &i32_tag_type())?;
    let host_throw = Func::wrap(&mut store, move |mut caller: Caller<'_, ()>, x: i32| -> Result<()> {
        let exn = ExnRef::new(&mut caller, &tag, &[Val::I32(x * 10)])?;
        Err(Exception::from(exn).into())
    });
    let module = Module::new(
        &engine,
        r#"(module
             (import "host" "tag" (tag $e (param i32)))
             (import "host" "throw" (func $throw (param i32)))
             (func (export "catch") (param i32) (result i32)
               (block $h (result i32)
                 (try_table (catch $e $h) (call $throw (local.get 0)))
                 (i32.const -1)))
             (func (export "pass") (param i32) (call $throw (local.get 0))))"#,
    )?;
    let instance = Instance::new(&mut store, &module, &[tag.into(), host_throw.into()])?;
    let catch = instance.get_typed_func::<i32, i32>(&mut store, "catch")?;
    assert_eq!(catch.call(&mut store, 4)?, 40);
    let pass = instance.get_typed_func::<i32, ()>(&mut store, "pass")?;
    let error = pass.call(&mut store, 5).unwrap_err();
    let exn = exception(&error).expect("an exception");
    assert!(Tag::eq(&exn.tag(&store), &tag, &store));
    assert_eq!(exn.payload(&mut store)[0].i32(), Some(50));
    // Called directly from the host, the host function's exception is returned as one too.
    let error = host_throw.call(&mut store, &[Val::I32(6)], &mut []).unwrap_err();
    assert_eq!(exception(&error).expect("an exception").payload(&mut store)[0].i32(), Some(60));
    Ok(())
}

/// wasm → host → wasm (throws, uncaught there) → the host passes the error on → the outer wasm catches it; then a
/// host error from the same depth still gets the right wasm backtrace (the exit frame was restored on the jump).
#[test]
fn exception_crosses_a_host_function_and_backtraces_stay_right() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let module = Module::new(
        &engine,
        r#"(module
             (import "host" "reenter" (func $reenter (param i32)))
             (import "host" "fail" (func $fail))
             (tag $e (export "e") (param i32))
             (func (export "inner") (param i32) (throw $e (i32.add (local.get 0) (i32.const 1))))
             (func $outer (export "outer") (param i32) (result i32)
               (block $h (result i32)
                 (try_table (catch $e $h) (call $reenter (local.get 0)))
                 (i32.const -1)))
             (func $then_fail (export "then_fail") (result i32)
               (drop (call $outer (i32.const 1)))
               (call $fail)
               (i32.const 0)))"#,
    )?;
    let mut linker = Linker::new(&engine);
    linker.func_wrap("host", "reenter", |mut caller: Caller<'_, ()>, x: i32| -> Result<()> {
        let inner = caller.get_export("inner").and_then(Extern::into_func).expect("inner");
        inner.call(&mut caller, &[Val::I32(x)], &mut [])
    })?;
    linker.func_wrap("host", "fail", || -> Result<()> { Err(anyhow::anyhow!("host failure")) })?;
    let instance = linker.instantiate(&mut store, &module)?;
    let outer = instance.get_typed_func::<i32, i32>(&mut store, "outer")?;
    assert_eq!(outer.call(&mut store, 41)?, 42);
    let then_fail = instance.get_typed_func::<(), i32>(&mut store, "then_fail")?;
    let error = then_fail.call(&mut store, ()).unwrap_err();
    assert_eq!(error.root_cause().to_string(), "host failure");
    let backtrace = error.downcast_ref::<WasmBacktrace>().expect("a backtrace");
    let names: Vec<_> = backtrace.frames().iter().map(|f| f.func_name().unwrap_or("?")).collect();
    assert_eq!(names, ["then_fail"]);
    Ok(())
}

/// Tags are per instance: two instances of one module throw different exceptions, and one catches the other's
/// only through an imported tag or `catch_all`.
#[test]
fn tags_are_per_instance_and_shared_by_import() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let thrower = Module::new(
        &engine,
        r#"(module
             (tag $e (export "e") (param i32))
             (func (export "throw") (param i32) (throw $e (local.get 0))))"#,
    )?;
    let catcher = Module::new(
        &engine,
        r#"(module
             (import "m" "e" (tag $e (param i32)))
             (import "m" "throw" (func $throw (param i32)))
             (func (export "catch") (param i32) (result i32)
               (block $all
                 (block $h (result i32)
                   (try_table (catch $e $h) (catch_all $all) (call $throw (local.get 0)))
                   (return (i32.const -1)))
                 (return))
               (i32.const -2)))"#,
    )?;
    let a = Instance::new(&mut store, &thrower, &[])?;
    let b = Instance::new(&mut store, &thrower, &[])?;
    let tag_a = a.get_export(&mut store, "e").expect("e");
    let throw_a = a.get_export(&mut store, "throw").expect("throw");
    let throw_b = b.get_export(&mut store, "throw").expect("throw");
    let same = Instance::new(&mut store, &catcher, &[tag_a, throw_a])?;
    let mixed = Instance::new(&mut store, &catcher, &[tag_a, throw_b])?;
    assert_eq!(same.get_typed_func::<i32, i32>(&mut store, "catch")?.call(&mut store, 9)?, 9);
    assert_eq!(mixed.get_typed_func::<i32, i32>(&mut store, "catch")?.call(&mut store, 9)?, -2);
    Ok(())
}

/// A trap inside a `try_table` with `catch_all` is not caught; `catch_ref` and `throw_ref` rethrow the very same
/// exception, which reaches the host as the same reference.
#[test]
fn traps_are_not_caught_and_rethrow_keeps_identity() -> Result<()> {
    let (mut store, instance) = instantiate(
        r#"(module
             (tag $e (param i32))
             (global $saved (mut exnref) (ref.null exn))
             (func $trap (unreachable))
             (func (export "trap_in_try") (result i32)
               (block $all
                 (try_table (catch_all $all) (call $trap))
                 (return (i32.const 0)))
               (i32.const 1))
             (func (export "rethrow") (result exnref)
               (block $h (result i32 exnref)
                 (try_table (catch_ref $e $h) (throw $e (i32.const 3)))
                 (unreachable))
               (global.set $saved)
               (drop)
               (throw_ref (global.get $saved)))
             (func (export "saved") (result exnref) (global.get $saved))
             (func (export "throw_null") (throw_ref (ref.null exn))))"#,
    );
    let trap_in_try = instance.get_typed_func::<(), i32>(&mut store, "trap_in_try")?;
    let error = trap_in_try.call(&mut store, ()).unwrap_err();
    assert_eq!(error.downcast_ref::<Trap>(), Some(&Trap::UnreachableCodeReached));
    let rethrow = instance.get_func(&mut store, "rethrow").expect("rethrow");
    let error = rethrow.call(&mut store, &[], &mut [Val::ExnRef(None)]).unwrap_err();
    let thrown = exception(&error).expect("an exception");
    let mut saved = [Val::ExnRef(None)];
    instance.get_func(&mut store, "saved").expect("saved").call(&mut store, &[], &mut saved)?;
    let Val::ExnRef(Some(saved)) = &saved[0] else { panic!("the global holds the caught exception") };
    assert!(ExnRef::ptr_eq(saved, &thrown));
    let throw_null = instance.get_typed_func::<(), ()>(&mut store, "throw_null")?;
    assert_eq!(throw_null.call(&mut store, ()).unwrap_err().downcast_ref::<Trap>(), Some(&Trap::NullReference));
    Ok(())
}

/// A `return_call` inside a `try_table` leaves it: the callee's exception is not caught by the caller's handler.
#[test]
fn tail_call_leaves_the_handler() -> Result<()> {
    let (mut store, instance) = instantiate(
        r#"(module
             (tag $e)
             (func $throw (result i32) (throw $e))
             (func $tail (result i32)
               (block $h
                 (try_table (catch $e $h) (return_call $throw)))
               (i32.const 1))
             (func (export "run") (result i32)
               (block $h
                 (try_table (catch $e $h) (return (call $tail))))
               (i32.const 2)))"#,
    );
    assert_eq!(instance.get_typed_func::<(), i32>(&mut store, "run")?.call(&mut store, ())?, 2);
    Ok(())
}

/// Exceptions in a deep recursion are caught at the bottom, many times over: the wasm stack limit would be hit if a
/// catch failed to restore the stack pointer.
#[test]
fn deep_recursion_unwinds_completely() -> Result<()> {
    let (mut store, instance) = instantiate(
        r#"(module
             (tag $e (param i64))
             (func $rec (param i32) (param i64)
               (if (i32.eqz (local.get 0)) (then (throw $e (local.get 1))))
               (call $rec (i32.sub (local.get 0) (i32.const 1)) (i64.add (local.get 1) (i64.const 1))))
             (func (export "run") (param i32) (result i64)
               (block $h (result i64)
                 (try_table (catch $e $h) (call $rec (local.get 0) (i64.const 0)))
                 (i64.const -1))))"#,
    );
    let run = instance.get_typed_func::<i32, i64>(&mut store, "run")?;
    for _ in 0..2_000 {
        assert_eq!(run.call(&mut store, 1_000)?, 1_000);
    }
    Ok(())
}

/// Imports are checked: a tag of another type is a link error naming the import; a module using exceptions is
/// refused when the proposal is switched off.
#[test]
fn tag_imports_are_checked_and_the_proposal_can_be_switched_off() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let tag = Tag::new(&mut store, &TagType::new(FuncType::new([ValType::I64], [])))?;
    let module = Module::new(&engine, r#"(module (import "m" "t" (tag (param i32))))"#)?;
    let error = Instance::new(&mut store, &module, &[tag.into()]).unwrap_err();
    assert!(format!("{error:#}").contains("m::t"), "{error:#}");
    assert!(Tag::new(&mut store, &TagType::new(FuncType::new([], [ValType::I32]))).is_err());
    let mut config = Config::new();
    config.wasm_exceptions(false);
    let engine = Engine::new(&config)?;
    let error = Module::new(&engine, r#"(module (tag) (func (try_table)))"#).unwrap_err();
    assert!(format!("{error:#}").contains("exceptions"), "{error:#}");
    Ok(())
}

/// Exceptions caught by tag (or `catch_all`) are freed at the catch; those a reference escaped for are kept until
/// the store goes, since a global or table may hold them.
#[test]
fn caught_exceptions_are_freed_unless_referenced() -> Result<()> {
    let (mut store, instance) = instantiate(
        r#"(module
             (tag $e (param i32))
             (global $keep (mut exnref) (ref.null exn))
             (func $throw (param i32) (throw $e (local.get 0)))
             (func (export "by_tag") (param i32) (result i32)
               (block $h (result i32)
                 (try_table (catch $e $h) (call $throw (local.get 0)))
                 (i32.const -1)))
             (func (export "by_all") (param i32)
               (block $h
                 (try_table (catch_all $h) (call $throw (local.get 0)))))
             (func (export "by_ref") (param i32) (result i32)
               (block $h (result i32 exnref)
                 (try_table (catch_ref $e $h) (call $throw (local.get 0)))
                 (unreachable))
               (global.set $keep)))"#,
    );
    let by_tag = instance.get_typed_func::<i32, i32>(&mut store, "by_tag")?;
    let by_all = instance.get_typed_func::<i32, ()>(&mut store, "by_all")?;
    let by_ref = instance.get_typed_func::<i32, i32>(&mut store, "by_ref")?;
    for i in 0..100_000 {
        assert_eq!(by_tag.call(&mut store, i)?, i);
        by_all.call(&mut store, i)?;
    }
    assert_eq!(store.exceptions_alive(), 0);
    for i in 0..10 {
        assert_eq!(by_ref.call(&mut store, i)?, i);
    }
    assert_eq!(store.exceptions_alive(), 10);
    Ok(())
}
