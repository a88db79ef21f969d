//! Wasmtime's names that Weft provides beside its own, so that code written for Wasmtime compiles after renaming
//! the crate (issue 22, in progress: docs/migrating-from-wasmtime.md lists what exists and what differs).

use weft::*;

fn sixteen_params() -> String {
    let params = "i32 ".repeat(16);
    format!(r#"(module (func (export "last") (param {params}) (result i32) (local.get 15)))"#)
}

#[test]
fn wasmtime_names_compile_and_mean_the_same() -> Result<()> {
    let mut store: Store<()> = Store::default();
    store.epoch_deadline_trap();
    let engine = store.engine().clone();
    let artifact = engine.precompile_module(sixteen_params().as_bytes())?;
    let module = Module::deserialize(&engine, &artifact)?;
    let instance = Instance::new(&mut store, &module, &[])?;
    type Sixteen = (i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32);
    let last = instance.get_typed_func::<Sixteen, i32>(&mut store, "last")?;
    assert_eq!(last.call(&mut store, (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16))?, 16);
    // A host function of 16 parameters too.
    let host = Func::wrap(
        &mut store,
        |a: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         p: i32| a + p,
    );
    assert_eq!(host.ty(&store).params.len(), 16);
    // Trap names: the same values as Weft's, usable in patterns.
    assert_eq!(Trap::Interrupt, Trap::Interrupted);
    assert!(matches!(Some(Trap::UninitializedElement), Some(Trap::IndirectCallToNull)));
    // anyhow's macros through weft.
    let error: Error = format_err!("formatted {}", 1);
    assert_eq!(error.to_string(), "formatted 1");
    let checked = || -> Result<()> {
        ensure!(1 + 1 == 3, "ensure failed");
        bail!("unreachable")
    };
    assert_eq!(checked().unwrap_err().to_string(), "ensure failed");
    assert_eq!(anyhow!("plain").to_string(), "plain");
    // Config names: the same code as Weft's own settings.
    let mut config = Config::new();
    config.cranelift_opt_level(OptLevel::None).parallel_compilation(false);
    let engine = Engine::new(&config)?;
    let module = Module::new(&engine, sixteen_params())?;
    let mut store = Store::new(&engine, ());
    let last = Instance::new(&mut store, &module, &[])?.get_typed_func::<Sixteen, i32>(&mut store, "last")?;
    assert_eq!(last.call(&mut store, (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7))?, 7);
    Ok(())
}
