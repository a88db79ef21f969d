//! Functions: calling wasm from the host, and host functions callable from wasm.

use crate::store::{StoreContextMut, StoreId, StoreInner, StoreOpaque};
use crate::trap::unwind_to_error;
use crate::{AsContext, AsContextMut, Extern, FuncType, Result, Val, ValType};
use std::any::Any;
use std::marker::PhantomData;
use std::sync::Arc;
use weft_runtime::{HostFunc, VMContext, VMHostFuncContext, ValRaw};

/// A function: exported by an instance or defined by the host. A handle into its [`crate::Store`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Func {
    pub(crate) store: StoreId,
    pub(crate) index: usize,
}

/// The host function body shared by every `Func` created from one closure.
pub(crate) type HostFn<T> = dyn Fn(Caller<'_, T>, &mut [ValRaw]) -> Result<()> + Send + Sync;

/// The bridge from the runtime's `HostFunc` to a closure over `Caller<T>`.
struct HostFuncState<T: 'static> {
    store: *mut StoreInner<T>,
    func: Arc<HostFn<T>>,
}

// SAFETY: `store` is only dereferenced while a call into this store is running on the current thread, which holds
// the store exclusively; the closure itself is `Send + Sync`.
unsafe impl<T> Send for HostFuncState<T> {}
// SAFETY: as above.
unsafe impl<T> Sync for HostFuncState<T> {}

impl<T: 'static> HostFunc for HostFuncState<T> {
    fn call(&self, caller_vmctx: *mut VMContext, values: &mut [ValRaw]) -> Result<(), Box<dyn Any + Send>> {
        // SAFETY: the host function is owned by the store, which is alive and exclusively borrowed by the
        // `Func::call` that (directly or through wasm) led here; that borrow is not used until this call returns.
        let store = unsafe { &mut *self.store };
        let outcome = (self.func)(Caller { store: &mut *store, caller_vmctx }, values);
        outcome.map_err(|e| match store.opaque.exception_to_throw(&e) {
            // Thrown into the calling wasm, where a `try_table` may catch it.
            Some(exn) => Box::new(exn) as Box<dyn Any + Send>,
            None => Box::new(e) as Box<dyn Any + Send>,
        })
    }
}

/// Adapts a host closure over [`Val`]s to the raw array convention, checking the results' types.
pub(crate) fn val_host_fn<T: 'static>(
    ty: FuncType,
    func: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<()> + Send + Sync + 'static,
) -> Arc<HostFn<T>> {
    Arc::new(move |caller: Caller<'_, T>, raw: &mut [ValRaw]| -> Result<()> {
        let Caller { store, caller_vmctx } = caller;
        let params: Vec<Val> =
            ty.params.iter().enumerate().map(|(i, t)| Val::from_raw(&mut store.opaque, raw[i], *t)).collect();
        let mut results: Vec<Val> = ty.results.iter().map(|t| Val::default_for(*t)).collect();
        func(Caller { store: &mut *store, caller_vmctx }, &params, &mut results)?;
        for (i, (r, t)) in results.iter().zip(ty.results.iter()).enumerate() {
            // Wasm trusts a value of a typed reference type to be of that type, so it is checked here.
            if !r.matches(&store.opaque, *t) {
                anyhow::bail!("host function result {i} has type {}, but its signature says {t}", r.ty());
            }
            raw[i] = r.clone().into_raw(&mut store.opaque)?;
        }
        Ok(())
    })
}

/// The context a host function runs in: the store (with its data) and the calling instance.
pub struct Caller<'a, T> {
    pub(crate) store: &'a mut StoreInner<T>,
    /// The calling instance's context (null when the host called the function directly). Resolved to an instance
    /// only when asked for, so that calls which never look at their caller pay nothing for it.
    caller_vmctx: *mut VMContext,
}

impl<T> Caller<'_, T> {
    /// The store's data.
    pub fn data(&self) -> &T {
        &self.store.data
    }
    /// The store's data, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        &mut self.store.data
    }
    /// The engine.
    pub fn engine(&self) -> &crate::Engine {
        &self.store.opaque.engine
    }
    /// An export of the calling instance (for example its `memory`), if called from wasm.
    pub fn get_export(&mut self, name: &str) -> Option<Extern> {
        let index =
            if self.caller_vmctx.is_null() { None } else { self.store.opaque.instance_of_vmctx(self.caller_vmctx) };
        let instance = crate::Instance { store: self.store.opaque.id, index: index? };
        instance.get_export(StoreContextMut(self.store), name)
    }
}

impl<T> AsContext for Caller<'_, T> {
    type Data = T;
    fn as_context(&self) -> crate::StoreContext<'_, T> {
        crate::StoreContext(self.store)
    }
}
impl<T> AsContextMut for Caller<'_, T> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut(self.store)
    }
}

impl Func {
    /// Defines a host function of type `ty` whose body receives the arguments as [`Val`]s and fills in the results.
    pub fn new<T: 'static>(
        mut store: impl AsContextMut<Data = T>,
        ty: FuncType,
        func: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<()> + Send + Sync + 'static,
    ) -> Func {
        let body = val_host_fn(ty.clone(), func);
        Self::new_host(store.as_context_mut().0, ty, body)
    }

    /// Defines a host function from a Rust closure; its wasm type follows from the closure's types.
    ///
    /// The closure may take a [`Caller`] first, and return a value, a tuple of values, `()`, or a `Result` of those
    /// (an `Err` fails the wasm call with that error).
    ///
    /// ```
    /// # fn main() -> weft::Result<()> {
    /// let engine = weft::Engine::default();
    /// let mut store = weft::Store::new(&engine, 10i32);
    /// let add = weft::Func::wrap(&mut store, |caller: weft::Caller<'_, i32>, x: i32| x + *caller.data());
    /// assert_eq!(add.typed::<i32, i32>(&store)?.call(&mut store, 5)?, 15);
    /// # Ok(()) }
    /// ```
    pub fn wrap<T: 'static, Params, Results>(
        mut store: impl AsContextMut<Data = T>,
        func: impl IntoFunc<T, Params, Results>,
    ) -> Func {
        let (ty, body) = func.into_func();
        Self::new_host(store.as_context_mut().0, ty, body)
    }

    pub(crate) fn new_host<T: 'static>(store: &mut StoreInner<T>, ty: FuncType, body: Arc<HostFn<T>>) -> Func {
        let engine = store.opaque.engine.clone();
        let trampoline = engine
            .host_trampoline(&ty)
            .unwrap_or_else(|e| panic!("weft: cannot compile the host trampoline for {ty}: {e:#}"));
        let type_id = engine.signature_id(&ty);
        let state = HostFuncState { store: store as *mut StoreInner<T>, func: body };
        let ctx = VMHostFuncContext::new(Box::new(state), trampoline.text_start(), type_id);
        let func_ref = std::ptr::NonNull::from(ctx.func_ref());
        store.opaque.host_funcs.push(ctx);
        store.opaque.keep_alive.push(trampoline);
        let index = store.opaque.func_for_ref(func_ref);
        Func { store: store.opaque.id, index }
    }

    pub(crate) fn type_id(&self, store: &StoreOpaque) -> u32 {
        store.check(self.store);
        // SAFETY: function references handed out as `Func`s live as long as their store.
        unsafe { store.funcs[self.index].as_ref().type_id }
    }

    /// The function's type.
    pub fn ty(&self, store: impl AsContext) -> FuncType {
        let store = &store.as_context().0.opaque;
        (*store.engine.signature(self.type_id(store))).clone()
    }

    /// Calls the function with `params`, writing its results into `results` (which must have the right length).
    ///
    /// A trap returns an error whose root cause is a [`crate::Trap`]; a host function's error is returned as is; a
    /// host function's panic resumes here.
    pub fn call(&self, mut store: impl AsContextMut, params: &[Val], results: &mut [Val]) -> Result<()> {
        let cx = store.as_context_mut();
        let opaque = &mut cx.0.opaque;
        let ty = opaque.engine.signature(self.type_id(opaque));
        if params.len() != ty.params.len() {
            anyhow::bail!("wrong number of arguments: the function takes {}, {} given", ty.params.len(), params.len());
        }
        for (i, (p, t)) in params.iter().zip(ty.params.iter()).enumerate() {
            if !p.matches(opaque, *t) {
                anyhow::bail!("argument {i} ({}) is not of the type the function expects, {t}", p.ty());
            }
        }
        if results.len() != ty.results.len() {
            anyhow::bail!(
                "wrong number of results: the function returns {}, room for {} given",
                ty.results.len(),
                results.len()
            );
        }
        with_values(params.len().max(results.len()), |values| {
            for (slot, p) in values.iter_mut().zip(params) {
                *slot = p.clone().into_raw(opaque)?;
            }
            self.call_raw(opaque, values)?;
            for (i, (r, t)) in results.iter_mut().zip(ty.results.iter()).enumerate() {
                *r = Val::from_raw(opaque, values[i], *t);
            }
            Ok(())
        })
    }

    /// Calls with arguments and results already in raw form (types checked by the caller).
    pub(crate) fn call_raw(&self, store: &mut StoreOpaque, values: &mut [ValRaw]) -> Result<()> {
        store.check(self.store);
        let func_ref = store.funcs[self.index].as_ptr();
        let context: *mut weft_runtime::VMStoreContext = &mut *store.vm_store_context;
        let max_stack = store.engine.config().max_wasm_stack;
        // Host functions reached from this call mutate the store through its raw `store_data` pointer. Letting the
        // store's address escape here tells the optimiser that the call may change anything in it, so no value of
        // the store read before the call is reused after it.
        let store_ptr = std::hint::black_box(store as *mut StoreOpaque);
        if store.vm_store_context.stack_limit == usize::MAX
            && let Some(profiler) = &store.guest_profiler
        {
            // Entering wasm from the host with none of it running: the host's time since the last sample was not
            // wasm's, so the first sample must not be weighted with it.
            profiler.entering_wasm(&store.interrupt_flag);
        }
        // SAFETY: the function belongs to this store (checked) and the values were checked against its type.
        let result = unsafe { weft_runtime::call_func_ref(context, func_ref, values, max_stack) };
        // SAFETY: `store_ptr` is the exclusive borrow we were given, re-derived after the call.
        let store = unsafe { &mut *std::hint::black_box(store_ptr) };
        result.map_err(|reason| {
            if let weft_runtime::UnwindReason::Trap(info) = &reason
                && info.trap == crate::Trap::Interrupted
            {
                // The interrupt has been delivered; later calls run normally.
                store.interrupt_flag.take();
            }
            unwind_to_error(store, reason)
        })
    }

    /// A typed view of the function, checked against its actual type.
    pub fn typed<Params: WasmTyList, Results: WasmTyList>(
        &self,
        store: impl AsContext,
    ) -> Result<TypedFunc<Params, Results>> {
        let ty = self.ty(&store);
        let expected = FuncType::new(Params::types(), Results::types());
        if ty != expected {
            anyhow::bail!("type mismatch: the function has type {ty}, but {expected} was requested");
        }
        Ok(TypedFunc { func: *self, _marker: PhantomData })
    }
}

/// Runs `f` on `len` zeroed values for the array calling convention: on the stack for the calls with few values
/// (nearly all), so that they allocate nothing.
fn with_values<R>(len: usize, f: impl FnOnce(&mut [ValRaw]) -> R) -> R {
    const INLINE: usize = 8;
    if len <= INLINE { f(&mut [ValRaw::default(); INLINE][..len]) } else { f(&mut vec![ValRaw::default(); len]) }
}

/// A function whose parameter and result types are known statically; calls skip the dynamic checks.
pub struct TypedFunc<Params, Results> {
    func: Func,
    _marker: PhantomData<fn(Params) -> Results>,
}

impl<P, R> std::fmt::Debug for TypedFunc<P, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TypedFunc").field("func", &self.func).finish()
    }
}

impl<P, R> Clone for TypedFunc<P, R> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<P, R> Copy for TypedFunc<P, R> {}

impl<Params: WasmTyList, Results: WasmTyList> TypedFunc<Params, Results> {
    /// Calls the function.
    pub fn call(&self, mut store: impl AsContextMut, params: Params) -> Result<Results> {
        let cx = store.as_context_mut();
        with_values(Params::LEN.max(Results::LEN), |values| {
            params.store(&mut cx.0.opaque, values)?;
            self.func.call_raw(&mut cx.0.opaque, values)?;
            Ok(Results::load(&mut cx.0.opaque, values))
        })
    }

    /// The untyped function.
    pub fn func(&self) -> &Func {
        &self.func
    }
}

/// A Rust type that is a WebAssembly value type: the numbers, `Option<Rooted<ExternRef>>` (`externref`) and
/// `Option<Func>` (`funcref`).
pub trait WasmTy: Send + Sync + 'static {
    /// The wasm type.
    fn valtype() -> ValType;
    /// To the array calling convention, in `store` (references must belong to it).
    #[doc(hidden)]
    fn to_raw(self, store: &mut StoreOpaque) -> Result<ValRaw>;
    /// From the array calling convention, in `store`.
    #[doc(hidden)]
    fn from_raw(store: &mut StoreOpaque, raw: ValRaw) -> Self;
}

macro_rules! wasm_ty {
    ($($t:ty => $vt:ident, $to:expr, $from:expr;)*) => {$(
        impl WasmTy for $t {
            fn valtype() -> ValType { ValType::$vt }
            fn to_raw(self, _: &mut StoreOpaque) -> Result<ValRaw> { Ok(($to)(self)) }
            fn from_raw(_: &mut StoreOpaque, raw: ValRaw) -> Self { ($from)(raw) }
        }
    )*};
}

impl WasmTy for Option<crate::Rooted<crate::ExternRef>> {
    fn valtype() -> ValType {
        ValType::ExternRef
    }
    fn to_raw(self, store: &mut StoreOpaque) -> Result<ValRaw> {
        Val::ExternRef(self).into_raw(store)
    }
    fn from_raw(store: &mut StoreOpaque, raw: ValRaw) -> Self {
        match Val::from_raw(store, raw, ValType::ExternRef) {
            Val::ExternRef(r) => r,
            _ => unreachable!("an externref raw value reads as an externref"),
        }
    }
}

impl WasmTy for Option<Func> {
    fn valtype() -> ValType {
        ValType::FuncRef
    }
    fn to_raw(self, store: &mut StoreOpaque) -> Result<ValRaw> {
        Val::FuncRef(self).into_raw(store)
    }
    fn from_raw(store: &mut StoreOpaque, raw: ValRaw) -> Self {
        match Val::from_raw(store, raw, ValType::FuncRef) {
            Val::FuncRef(f) => f,
            _ => unreachable!("a funcref raw value reads as a funcref"),
        }
    }
}

wasm_ty! {
    i32 => I32, ValRaw::i32, |r: ValRaw| r.get_i32();
    u32 => I32, |v: u32| ValRaw::i32(v as i32), |r: ValRaw| r.get_i32() as u32;
    i64 => I64, ValRaw::i64, |r: ValRaw| r.get_i64();
    u64 => I64, |v: u64| ValRaw::i64(v as i64), |r: ValRaw| r.get_i64() as u64;
    f32 => F32, |v: f32| ValRaw::f32(v.to_bits()), |r: ValRaw| f32::from_bits(r.get_f32());
    f64 => F64, |v: f64| ValRaw::f64(v.to_bits()), |r: ValRaw| f64::from_bits(r.get_f64());
}

/// A list of wasm values as a Rust type: `()`, a single [`WasmTy`], or a tuple of them.
pub trait WasmTyList: Sized + Send + Sync + 'static {
    /// How many values.
    const LEN: usize;
    /// The types, in order.
    fn types() -> Vec<ValType>;
    /// Writes the values to `raw`.
    #[doc(hidden)]
    fn store(self, store: &mut StoreOpaque, raw: &mut [ValRaw]) -> Result<()>;
    /// Reads the values from `raw`.
    #[doc(hidden)]
    fn load(store: &mut StoreOpaque, raw: &[ValRaw]) -> Self;
}

impl<A: WasmTy> WasmTyList for A {
    const LEN: usize = 1;
    fn types() -> Vec<ValType> {
        vec![A::valtype()]
    }
    fn store(self, store: &mut StoreOpaque, raw: &mut [ValRaw]) -> Result<()> {
        raw[0] = self.to_raw(store)?;
        Ok(())
    }
    fn load(store: &mut StoreOpaque, raw: &[ValRaw]) -> Self {
        A::from_raw(store, raw[0])
    }
}

macro_rules! tuple_list {
    ($($a:ident)*) => {
        #[allow(non_snake_case, unused_mut, unused_variables, unused_assignments, clippy::unused_unit)]
        impl<$($a: WasmTy,)*> WasmTyList for ($($a,)*) {
            const LEN: usize = 0 $(+ { let _ = stringify!($a); 1 })*;
            fn types() -> Vec<ValType> {
                vec![$($a::valtype()),*]
            }
            fn store(self, store: &mut StoreOpaque, raw: &mut [ValRaw]) -> Result<()> {
                let ($($a,)*) = self;
                let mut i = 0;
                $( raw[i] = $a.to_raw(store)?; i += 1; )*
                Ok(())
            }
            fn load(store: &mut StoreOpaque, raw: &[ValRaw]) -> Self {
                let mut i = 0;
                ($( { let v = $a::from_raw(store, raw[i]); i += 1; v }, )*)
            }
        }
    };
}

tuple_list!();
tuple_list!(A1);
tuple_list!(A1 A2);
tuple_list!(A1 A2 A3);
tuple_list!(A1 A2 A3 A4);
tuple_list!(A1 A2 A3 A4 A5);
tuple_list!(A1 A2 A3 A4 A5 A6);
tuple_list!(A1 A2 A3 A4 A5 A6 A7);
tuple_list!(A1 A2 A3 A4 A5 A6 A7 A8);
tuple_list!(A1 A2 A3 A4 A5 A6 A7 A8 A9);
tuple_list!(A1 A2 A3 A4 A5 A6 A7 A8 A9 A10);
tuple_list!(A1 A2 A3 A4 A5 A6 A7 A8 A9 A10 A11);
tuple_list!(A1 A2 A3 A4 A5 A6 A7 A8 A9 A10 A11 A12);
tuple_list!(A1 A2 A3 A4 A5 A6 A7 A8 A9 A10 A11 A12 A13);
tuple_list!(A1 A2 A3 A4 A5 A6 A7 A8 A9 A10 A11 A12 A13 A14);
tuple_list!(A1 A2 A3 A4 A5 A6 A7 A8 A9 A10 A11 A12 A13 A14 A15);
tuple_list!(A1 A2 A3 A4 A5 A6 A7 A8 A9 A10 A11 A12 A13 A14 A15 A16);

/// What a host closure may return: a [`WasmTyList`] or a `Result` of one.
pub trait WasmRet {
    /// The value list type.
    type List: WasmTyList;
    /// Converts to a result.
    fn into_result(self) -> Result<Self::List>;
}

impl<L: WasmTyList> WasmRet for L {
    type List = L;
    fn into_result(self) -> Result<L> {
        Ok(self)
    }
}

impl<L: WasmTyList, E: Into<anyhow::Error>> WasmRet for std::result::Result<L, E> {
    type List = L;
    fn into_result(self) -> Result<L> {
        self.map_err(Into::into)
    }
}

/// A Rust closure that can become a host function. Implemented for `Fn(A1, …, An) -> R` and
/// `Fn(Caller<'_, T>, A1, …, An) -> R` where each `Ai` is a [`WasmTy`] and `R` a [`WasmRet`].
pub trait IntoFunc<T, Params, Results>: Send + Sync + 'static {
    #[doc(hidden)]
    fn into_func(self) -> (FuncType, Arc<HostFn<T>>);
}

#[doc(hidden)]
pub struct WithCaller;

macro_rules! into_func {
    ($($a:ident)*) => {
        #[allow(non_snake_case, unused_mut, unused_variables, unused_assignments)]
        impl<T: 'static, F, R: WasmRet, $($a: WasmTy,)*> IntoFunc<T, ($($a,)*), R> for F
        where
            F: Fn($($a),*) -> R + Send + Sync + 'static,
        {
            fn into_func(self) -> (FuncType, Arc<HostFn<T>>) {
                let ty = FuncType::new(vec![$($a::valtype()),*], R::List::types());
                let body = move |caller: Caller<'_, T>, raw: &mut [ValRaw]| -> Result<()> {
                    let store = &mut caller.store.opaque;
                    let mut i = 0;
                    $( let $a = $a::from_raw(store, raw[i]); i += 1; )*
                    (self)($($a),*).into_result()?.store(store, raw)
                };
                (ty, Arc::new(body))
            }
        }

        #[allow(non_snake_case, unused_mut, unused_variables, unused_assignments)]
        impl<T: 'static, F, R: WasmRet, $($a: WasmTy,)*> IntoFunc<T, (WithCaller, $($a,)*), R> for F
        where
            F: for<'a> Fn(Caller<'a, T>, $($a),*) -> R + Send + Sync + 'static,
        {
            fn into_func(self) -> (FuncType, Arc<HostFn<T>>) {
                let ty = FuncType::new(vec![$($a::valtype()),*], R::List::types());
                let body = move |caller: Caller<'_, T>, raw: &mut [ValRaw]| -> Result<()> {
                    let Caller { store, caller_vmctx } = caller;
                    let mut i = 0;
                    $( let $a = $a::from_raw(&mut store.opaque, raw[i]); i += 1; )*
                    let results = (self)(Caller { store: &mut *store, caller_vmctx }, $($a),*).into_result()?;
                    results.store(&mut store.opaque, raw)
                };
                (ty, Arc::new(body))
            }
        }
    };
}

into_func!();
into_func!(A1);
into_func!(A1 A2);
into_func!(A1 A2 A3);
into_func!(A1 A2 A3 A4);
into_func!(A1 A2 A3 A4 A5);
into_func!(A1 A2 A3 A4 A5 A6);
into_func!(A1 A2 A3 A4 A5 A6 A7);
into_func!(A1 A2 A3 A4 A5 A6 A7 A8);
into_func!(A1 A2 A3 A4 A5 A6 A7 A8 A9);
into_func!(A1 A2 A3 A4 A5 A6 A7 A8 A9 A10);
into_func!(A1 A2 A3 A4 A5 A6 A7 A8 A9 A10 A11);
into_func!(A1 A2 A3 A4 A5 A6 A7 A8 A9 A10 A11 A12);
into_func!(A1 A2 A3 A4 A5 A6 A7 A8 A9 A10 A11 A12 A13);
into_func!(A1 A2 A3 A4 A5 A6 A7 A8 A9 A10 A11 A12 A13 A14);
into_func!(A1 A2 A3 A4 A5 A6 A7 A8 A9 A10 A11 A12 A13 A14 A15);
into_func!(A1 A2 A3 A4 A5 A6 A7 A8 A9 A10 A11 A12 A13 A14 A15 A16);
