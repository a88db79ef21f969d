//! A generator of valid modules built around typed function references, which wasm-smith produces only together
//! with GC types (which Weft does not implement yet): `(ref $t)` and `(ref null $t)` values in parameters, results,
//! locals (non-nullable ones with their initialisation rule), globals and tables (with initialiser expressions);
//! `call_ref`, `return_call_ref`, `ref.as_non_null`, `br_on_null`, `br_on_non_null`, typed `select`; and type
//! canonicalisation: the function types form one recursion group, and half the modules declare an identical copy
//! of it, whose types are the same types, so `call_indirect`, `call_ref` and reference values mix the two spellings.
//!
//! The modules have no imports and export a wrapper for every function a caller can reach with numeric and null
//! arguments, plus every global and table. Every function spends one unit of a global fuel counter (the exported
//! wrappers refill it) and traps with `unreachable` when it is gone, and loops run a bounded count, so every call
//! ends. Float values are passed around but never computed with, so NaN bit patterns cannot differ between code
//! variants that are all correct.

use arbitrary::{Result, Unstructured};
use std::fmt::Write;

/// A value type the generator uses.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum ValType {
    I32,
    I64,
    F32,
    F64,
    Ref { nullable: bool, heap: Heap },
}

/// The heap type of a reference: any function, or the function type with this index in the recursion group.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Heap {
    Func,
    Type(usize),
}

impl ValType {
    fn is_subtype_of(self, other: ValType) -> bool {
        match (self, other) {
            (ValType::Ref { nullable: n1, heap: h1 }, ValType::Ref { nullable: n2, heap: h2 }) => {
                (!n1 || n2) && (h1 == h2 || h2 == Heap::Func)
            }
            (a, b) => a == b,
        }
    }

    fn is_non_nullable_ref(self) -> bool {
        matches!(self, ValType::Ref { nullable: false, .. })
    }
}

#[derive(Clone, Debug)]
struct FuncType {
    params: Vec<ValType>,
    results: Vec<ValType>,
}

#[derive(Clone, Debug)]
struct Table {
    elem: ValType,
    size: u32,
}

/// Where a function body is being generated: its locals, which non-nullable ones are set in the current block, and
/// its results (for `return_call_ref`).
struct Body {
    locals: Vec<ValType>,
    initialized: Vec<bool>,
    results: Vec<ValType>,
    /// Locals counting loop iterations, never touched by anything else.
    counters: Vec<usize>,
}

struct Generator<'a, 'b> {
    u: &'a mut Unstructured<'b>,
    types: Vec<FuncType>,
    /// Whether the identical second recursion group exists (its types are spelled `$b0`, `$b1`, ...).
    mirror: bool,
    /// The type index of each defined function, `$f0`, `$f1`, ...
    funcs: Vec<usize>,
    /// Globals `$g0`, ...: type and mutability.
    globals: Vec<(ValType, bool)>,
    tables: Vec<Table>,
    /// Expression nodes still allowed in the current function, so bodies stay small.
    budget: u32,
    labels: u32,
}

/// The fuel global's name; every generated function spends one unit.
const FUEL: &str = "$fuel";
/// What an exported wrapper sets the fuel to before calling its function.
const FUEL_PER_CALL: u32 = 400;

/// A module (WebAssembly text) from `u`'s bytes; see the module documentation for what it contains.
pub fn typed_refs_module(u: &mut Unstructured<'_>) -> Result<String> {
    let mut g = Generator {
        u,
        types: Vec::new(),
        mirror: false,
        funcs: Vec::new(),
        globals: Vec::new(),
        tables: Vec::new(),
        budget: 0,
        labels: 0,
    };
    g.module()
}

/// [`typed_refs_module`] as binary, or `None` if `data` does not make one.
pub fn typed_refs_wasm(data: &[u8]) -> Option<Vec<u8>> {
    let text = typed_refs_module(&mut Unstructured::new(data)).ok()?;
    // The generator only writes valid text; a parse failure is a generator bug worth failing loudly on.
    Some(wat::parse_str(&text).unwrap_or_else(|e| panic!("generated text does not parse: {e}\n{text}")))
}

impl Generator<'_, '_> {
    fn module(&mut self) -> Result<String> {
        let type_count = self.u.int_in_range(1..=5)?;
        for _ in 0..type_count {
            let params = self.value_types(type_count, 3)?;
            let results = self.value_types(type_count, 2)?;
            self.types.push(FuncType { params, results });
        }
        self.mirror = self.u.arbitrary()?;
        // Every type has a function, so every reference type has a non-null value to make.
        self.funcs = (0..type_count).collect();
        for _ in 0..self.u.int_in_range(0..=8)? {
            let ty = self.u.choose_index(type_count)?;
            self.funcs.push(ty);
        }
        for _ in 0..self.u.int_in_range(0..=4)? {
            let ty = self.ref_type()?;
            let mutable = !ty.is_non_nullable_ref() || self.u.arbitrary()?;
            self.globals.push((ty, mutable));
        }
        for _ in 0..self.u.int_in_range(0..=3)? {
            let elem = self.ref_type()?;
            let size = self.u.int_in_range(0..=6)?;
            self.tables.push(Table { elem, size });
        }
        // One funcref table for `call_indirect`, always there.
        self.tables.push(Table { elem: ValType::Ref { nullable: true, heap: Heap::Func }, size: 8 });

        let mut out = String::from("(module\n");
        for group in ["a", "b"].iter().take(if self.mirror { 2 } else { 1 }) {
            out.push_str("  (rec\n");
            for (i, ty) in self.types.iter().enumerate() {
                write!(out, "    (type ${group}{i} (func").unwrap();
                for p in &ty.params {
                    write!(out, " (param {})", spell(*p, group)).unwrap();
                }
                for r in &ty.results {
                    write!(out, " (result {})", spell(*r, group)).unwrap();
                }
                out.push_str("))\n");
            }
            out.push_str("  )\n");
        }
        writeln!(out, "  (global {FUEL} (mut i32) (i32.const {FUEL_PER_CALL}))").unwrap();
        for i in 0..self.globals.len() {
            let (ty, mutable) = self.globals[i];
            let init = self.const_expr(ty, i)?;
            let ty_text = self.spell(ty)?;
            let ty_text = if mutable { format!("(mut {ty_text})") } else { ty_text };
            writeln!(out, "  (global $g{i} (export \"g{i}\") {ty_text} {init})").unwrap();
        }
        for i in 0..self.tables.len() {
            let Table { elem, size } = self.tables[i].clone();
            let elem_text = self.spell(elem)?;
            // A non-nullable table needs an initialiser; a nullable one may have one. (The table section precedes
            // the global section, so it cannot read defined globals.)
            let init = if elem.is_non_nullable_ref() || self.u.arbitrary()? {
                format!(" {}", self.const_expr(elem, 0)?)
            } else {
                String::new()
            };
            writeln!(out, "  (table $t{i} (export \"t{i}\") {size} {} {elem_text}{init})", size + 4).unwrap();
            // Some entries set by an active segment, the rest left to the initialiser.
            if size > 0 && self.u.arbitrary()? {
                let count = self.u.int_in_range(1..=size)?;
                let offset = self.u.int_in_range(0..=size - count)?;
                write!(out, "  (elem (table $t{i}) (i32.const {offset}) {elem_text}").unwrap();
                for _ in 0..count {
                    let item = self.const_expr(elem, self.globals.len())?;
                    write!(out, " (item {item})").unwrap();
                }
                out.push_str(")\n");
            }
        }
        out.push_str("  (elem declare func");
        for f in 0..self.funcs.len() {
            write!(out, " $f{f}").unwrap();
        }
        out.push_str(")\n");
        for f in 0..self.funcs.len() {
            let text = self.function(f)?;
            out.push_str(&text);
        }
        for f in 0..self.funcs.len() {
            let ty = self.types[self.funcs[f]].clone();
            // Callers outside pass numbers and nulls only.
            if ty.params.iter().any(|p| p.is_non_nullable_ref()) {
                continue;
            }
            let group = self.group()?;
            write!(
                out,
                "  (func (export \"f{f}\") (type ${group}{}) (global.set {FUEL} (i32.const {FUEL_PER_CALL}))",
                self.funcs[f]
            )
            .unwrap();
            write!(out, " (call $f{f}").unwrap();
            for p in 0..ty.params.len() {
                write!(out, " (local.get {p})").unwrap();
            }
            out.push_str("))\n");
        }
        out.push_str(")\n");
        Ok(out)
    }

    /// Up to `max` value types, references among them to the first `type_count` types.
    fn value_types(&mut self, type_count: usize, max: usize) -> Result<Vec<ValType>> {
        let count = self.u.int_in_range(0..=max)?;
        (0..count)
            .map(|_| {
                Ok(match self.u.int_in_range(0..=9)? {
                    0 => ValType::I32,
                    1 => ValType::I64,
                    2 => ValType::F32,
                    3 => ValType::F64,
                    4 | 5 => ValType::I32,
                    _ => {
                        let heap =
                            if self.u.ratio(1, 5)? { Heap::Func } else { Heap::Type(self.u.choose_index(type_count)?) };
                        ValType::Ref { nullable: self.u.arbitrary()?, heap }
                    }
                })
            })
            .collect()
    }

    fn ref_type(&mut self) -> Result<ValType> {
        let heap = if self.u.ratio(1, 4)? { Heap::Func } else { Heap::Type(self.u.choose_index(self.types.len())?) };
        Ok(ValType::Ref { nullable: self.u.arbitrary()?, heap })
    }

    /// Which spelling of the types to use at one place: the first group's, or its identical copy's.
    fn group(&mut self) -> Result<&'static str> {
        Ok(if self.mirror && self.u.arbitrary()? { "b" } else { "a" })
    }

    fn spell(&mut self, ty: ValType) -> Result<String> {
        let group = self.group()?;
        Ok(spell(ty, group))
    }

    fn spell_type_use(&mut self, index: usize) -> Result<String> {
        Ok(format!("${}{index}", self.group()?))
    }

    /// A constant expression of type `ty` for a global or table, which may read the first `globals` globals.
    fn const_expr(&mut self, ty: ValType, globals: usize) -> Result<String> {
        let readable: Vec<usize> =
            (0..globals).filter(|&g| !self.globals[g].1 && self.globals[g].0.is_subtype_of(ty)).collect();
        if !readable.is_empty() && self.u.ratio(1, 3)? {
            let g = *self.u.choose(&readable)?;
            return Ok(format!("(global.get $g{g})"));
        }
        match ty {
            ValType::Ref { nullable, heap } => {
                if nullable && self.u.ratio(1, 3)? {
                    return self.null(heap);
                }
                let f = self.func_of(heap)?;
                Ok(format!("(ref.func $f{f})"))
            }
            _ => unreachable!("globals and tables hold references"),
        }
    }

    fn null(&mut self, heap: Heap) -> Result<String> {
        Ok(match heap {
            Heap::Func => "(ref.null func)".to_string(),
            Heap::Type(t) => format!("(ref.null {})", self.spell_type_use(t)?),
        })
    }

    /// A function whose reference has heap type `heap`.
    fn func_of(&mut self, heap: Heap) -> Result<usize> {
        let candidates: Vec<usize> = (0..self.funcs.len())
            .filter(|&f| match heap {
                Heap::Func => true,
                Heap::Type(t) => self.funcs[f] == t,
            })
            .collect();
        Ok(*self.u.choose(&candidates)?)
    }

    fn function(&mut self, f: usize) -> Result<String> {
        let ty = self.types[self.funcs[f]].clone();
        let mut body = Body {
            locals: ty.params.clone(),
            initialized: vec![true; ty.params.len()],
            results: ty.results.clone(),
            counters: Vec::new(),
        };
        for _ in 0..self.u.int_in_range(0..=5)? {
            let local = self.value_types(self.types.len(), 1)?;
            if let Some(&local) = local.first() {
                body.locals.push(local);
                body.initialized.push(!local.is_non_nullable_ref());
            }
        }
        self.budget = self.u.int_in_range(10..=120)?;
        let mut code = Vec::new();
        code.push(format!("(if (i32.eqz (global.get {FUEL})) (then unreachable))"));
        code.push(format!("(global.set {FUEL} (i32.sub (global.get {FUEL}) (i32.const 1)))"));
        let statements = self.u.int_in_range(0..=8)?;
        self.statements(&mut body, &mut code, statements, 2)?;
        code.push(self.tail(&mut body)?);

        let group = self.group()?;
        let mut out = format!("  (func $f{f} (type ${group}{})", self.funcs[f]);
        for local in &body.locals[ty.params.len()..] {
            write!(out, " (local {})", spell(*local, group)).unwrap();
        }
        out.push('\n');
        for line in code {
            writeln!(out, "    {line}").unwrap();
        }
        out.push_str("  )\n");
        Ok(out)
    }

    /// The end of a function: its results, or a tail call with the same results.
    fn tail(&mut self, body: &mut Body) -> Result<String> {
        if self.u.ratio(1, 4)? {
            let callees: Vec<usize> = (0..self.types.len())
                .filter(|&t| {
                    let results = &self.types[t].results;
                    results.len() == body.results.len()
                        && results.iter().zip(&body.results).all(|(r, want)| r.is_subtype_of(*want))
                })
                .collect();
            if let Ok(&t) = self.u.choose(&callees) {
                let call = self.call(body, t, 2, true)?;
                return Ok(call);
            }
        }
        let results = body.results.clone();
        let mut values = Vec::new();
        for r in results {
            values.push(self.expr(body, r, 3)?);
        }
        Ok(values.join(" "))
    }

    /// `count` statements into `code`, nesting blocks at most `depth` deep.
    fn statements(&mut self, body: &mut Body, code: &mut Vec<String>, count: usize, depth: u32) -> Result<()> {
        for _ in 0..count {
            if self.budget == 0 {
                break;
            }
            let statement = self.statement(body, depth)?;
            code.push(statement);
        }
        Ok(())
    }

    fn statement(&mut self, body: &mut Body, depth: u32) -> Result<String> {
        Ok(match self.u.int_in_range(0..=9)? {
            0 | 1 if body.locals.len() > body.counters.len() => {
                // Never a loop counter: overwriting one could make its loop run forever.
                let settable: Vec<usize> = (0..body.locals.len()).filter(|l| !body.counters.contains(l)).collect();
                let local = *self.u.choose(&settable)?;
                let value = self.expr(body, body.locals[local], 3)?;
                body.initialized[local] = true;
                format!("(local.set {local} {value})")
            }
            2 => {
                let t = self.u.choose_index(self.types.len())?;
                let call = self.call(body, t, 2, false)?;
                let drops = self.types[t].results.len();
                format!("{call}{}", " (drop)".repeat(drops))
            }
            3 if !self.tables.is_empty() => {
                let t = self.u.choose_index(self.tables.len())?;
                let elem = self.tables[t].elem;
                let index = self.index(body, self.tables[t].size)?;
                let value = self.expr(body, elem, 2)?;
                if self.u.ratio(1, 4)? {
                    format!("(drop (table.grow $t{t} {value} (i32.const {})))", self.u.int_in_range(0..=3)?)
                } else {
                    format!("(table.set $t{t} {index} {value})")
                }
            }
            4 => {
                let mutable: Vec<usize> = (0..self.globals.len()).filter(|&g| self.globals[g].1).collect();
                if let Ok(&g) = self.u.choose(&mutable) {
                    let value = self.expr(body, self.globals[g].0, 2)?;
                    format!("(global.set $g{g} {value})")
                } else {
                    let ty = self.any_type()?;
                    format!("(drop {})", self.expr(body, ty, 3)?)
                }
            }
            5 if depth > 0 => {
                let condition = self.expr(body, ValType::I32, 2)?;
                let then = self.block(body, depth - 1)?;
                let otherwise = self.block(body, depth - 1)?;
                format!("(if {condition} (then {then}) (else {otherwise}))")
            }
            6 if depth > 0 => {
                // A bounded loop: its counter local is used by nothing else.
                let counter = body.locals.len();
                body.locals.push(ValType::I32);
                body.initialized.push(true);
                body.counters.push(counter);
                let label = self.label();
                let inner = self.block(body, depth - 1)?;
                let times = self.u.int_in_range(1..=4)?;
                format!(
                    "(local.set {counter} (i32.const 0)) (loop {label} {inner} (br_if {label} (i32.lt_u (local.tee {counter} (i32.add (local.get {counter}) (i32.const 1))) (i32.const {times}))))"
                )
            }
            7 if depth > 0 => {
                let inner = self.block(body, depth - 1)?;
                format!("(block {inner})")
            }
            _ => {
                let ty = self.any_type()?;
                format!("(drop {})", self.expr(body, ty, 3)?)
            }
        })
    }

    /// Statements inside a nested block: what they initialise stays initialised only inside it.
    fn block(&mut self, body: &mut Body, depth: u32) -> Result<String> {
        let saved = body.initialized.clone();
        let mut code = Vec::new();
        let count = self.u.int_in_range(0..=3)?;
        self.statements(body, &mut code, count, depth)?;
        // Loop counters added inside stay declared (locals are per function) and initialised (they are i32).
        body.initialized.truncate(saved.len());
        for (now, before) in body.initialized.iter_mut().zip(&saved) {
            *now = *before;
        }
        body.initialized.resize(body.locals.len(), true);
        Ok(code.join(" "))
    }

    fn label(&mut self) -> String {
        self.labels += 1;
        format!("$l{}", self.labels)
    }

    fn any_type(&mut self) -> Result<ValType> {
        Ok(match self.u.int_in_range(0..=5)? {
            0 => ValType::I32,
            1 => ValType::I64,
            2 => ValType::F32,
            3 => ValType::F64,
            _ => self.ref_type()?,
        })
    }

    /// A table index: mostly in bounds, sometimes not (a trap both variants must agree on).
    fn index(&mut self, body: &mut Body, size: u32) -> Result<String> {
        Ok(match self.u.int_in_range(0..=5)? {
            0 => self.expr(body, ValType::I32, 1)?,
            1 => format!("(i32.const {})", size + self.u.int_in_range(0..=5)?),
            _ => format!("(i32.const {})", self.u.int_in_range(0..=size.saturating_sub(1))?),
        })
    }

    /// A call to a function of type `t`: `call_ref` through a reference expression, `call` of a function of that
    /// type, or `call_indirect` through the funcref table (which traps on a null or mismatched entry). As a tail
    /// call if `tail`.
    fn call(&mut self, body: &mut Body, t: usize, depth: u32, tail: bool) -> Result<String> {
        let params = self.types[t].params.clone();
        let mut args = String::new();
        for p in params {
            write!(args, " {}", self.expr(body, p, depth)?).unwrap();
        }
        let ret = if tail { "return_" } else { "" };
        Ok(match self.u.int_in_range(0..=5)? {
            0 => {
                let f = self.func_of(Heap::Type(t))?;
                format!("({ret}call $f{f}{args})")
            }
            1 => {
                let table = self.tables.len() - 1;
                let index = self.index(body, 8)?;
                let ty = self.spell_type_use(t)?;
                format!("({ret}call_indirect $t{table} (type {ty}){args} {index})")
            }
            _ => {
                let callee = self.expr(body, ValType::Ref { nullable: true, heap: Heap::Type(t) }, depth)?;
                let ty = self.spell_type_use(t)?;
                format!("({ret}call_ref {ty}{args} {callee})")
            }
        })
    }

    /// An expression of a subtype of `ty`, nesting at most `depth` deep.
    fn expr(&mut self, body: &mut Body, ty: ValType, depth: u32) -> Result<String> {
        self.budget = self.budget.saturating_sub(1);
        let depth = if self.budget == 0 { 0 } else { depth };
        // A readable local or global of a fitting type, now and then.
        if self.u.ratio(1, 4)? {
            let locals: Vec<usize> = (0..body.locals.len())
                .filter(|&l| body.initialized[l] && body.locals[l].is_subtype_of(ty) && !body.counters.contains(&l))
                .collect();
            let globals: Vec<usize> =
                (0..self.globals.len()).filter(|&g| self.globals[g].0.is_subtype_of(ty)).collect();
            if !locals.is_empty() && (globals.is_empty() || self.u.arbitrary()?) {
                return Ok(format!("(local.get {})", self.u.choose(&locals)?));
            }
            if !globals.is_empty() {
                return Ok(format!("(global.get $g{})", self.u.choose(&globals)?));
            }
        }
        // A call returning exactly one value of a fitting type.
        if depth > 0 && self.u.ratio(1, 5)? {
            let callees: Vec<usize> = (0..self.types.len())
                .filter(|&t| matches!(self.types[t].results.as_slice(), [r] if r.is_subtype_of(ty)))
                .collect();
            if let Ok(&t) = self.u.choose(&callees) {
                return self.call(body, t, depth - 1, false);
            }
        }
        // Choices common to every type.
        if depth > 0 && self.u.ratio(1, 8)? {
            let condition = self.expr(body, ValType::I32, depth - 1)?;
            let a = self.expr(body, ty, depth - 1)?;
            let b = self.expr(body, ty, depth - 1)?;
            let spelled = self.spell(ty)?;
            return Ok(if self.u.arbitrary()? {
                format!("(select (result {spelled}) {a} {b} {condition})")
            } else {
                format!("(if (result {spelled}) {condition} (then {a}) (else {b}))")
            });
        }
        match ty {
            ValType::I32 => self.i32_expr(body, depth),
            ValType::I64 => Ok(match self.u.int_in_range(0..=3)? {
                0 if depth > 0 => format!("(i64.extend_i32_s {})", self.expr(body, ValType::I32, depth - 1)?),
                1 if depth > 0 => {
                    let op = *self.u.choose(&["add", "sub", "mul", "xor"])?;
                    let a = self.expr(body, ValType::I64, depth - 1)?;
                    let b = self.expr(body, ValType::I64, depth - 1)?;
                    format!("(i64.{op} {a} {b})")
                }
                _ => format!("(i64.const {})", self.u.arbitrary::<i64>()?),
            }),
            // Floats are passed around, never computed with (see the module documentation).
            ValType::F32 => Ok(if depth > 0 && self.u.arbitrary()? {
                format!("(f32.convert_i32_s {})", self.expr(body, ValType::I32, depth - 1)?)
            } else {
                format!("(f32.const {})", self.u.int_in_range(-1000..=1000)?)
            }),
            ValType::F64 => Ok(if depth > 0 && self.u.arbitrary()? {
                format!("(f64.convert_i32_s {})", self.expr(body, ValType::I32, depth - 1)?)
            } else {
                format!("(f64.const {})", self.u.int_in_range(-1000..=1000)?)
            }),
            ValType::Ref { nullable, heap } => self.ref_expr(body, nullable, heap, depth),
        }
    }

    fn i32_expr(&mut self, body: &mut Body, depth: u32) -> Result<String> {
        if depth == 0 {
            return Ok(format!("(i32.const {})", self.u.int_in_range(-5..=20)?));
        }
        let d = depth - 1;
        Ok(match self.u.int_in_range(0..=7)? {
            0 | 1 => {
                let op = *self.u.choose(&["add", "sub", "mul", "xor", "and", "or", "shl", "rotl"])?;
                let a = self.expr(body, ValType::I32, d)?;
                let b = self.expr(body, ValType::I32, d)?;
                format!("(i32.{op} {a} {b})")
            }
            2 => {
                let ty = self.ref_type()?;
                format!("(ref.is_null {})", self.expr(body, ty, d)?)
            }
            3 => format!("(i32.eqz {})", self.expr(body, ValType::I32, d)?),
            4 => {
                // Both outcomes of `br_on_null` give different values: the branch carries the value below the
                // reference; falling through drops the reference and adds one.
                let label = self.label();
                let below = self.expr(body, ValType::I32, d)?;
                let heap = self.heap()?;
                let reference = self.expr(body, ValType::Ref { nullable: true, heap }, d)?;
                format!(
                    "(block {label} (result i32) {below} {reference} (br_on_null {label}) (drop) (i32.const 1) (i32.add))"
                )
            }
            5 if !self.tables.is_empty() => {
                let t = self.u.choose_index(self.tables.len())?;
                format!("(table.size $t{t})")
            }
            _ => format!("(i32.const {})", self.u.int_in_range(-5..=20)?),
        })
    }

    fn heap(&mut self) -> Result<Heap> {
        Ok(if self.u.ratio(1, 4)? { Heap::Func } else { Heap::Type(self.u.choose_index(self.types.len())?) })
    }

    /// A reference expression of a subtype of `(ref null? heap)`.
    fn ref_expr(&mut self, body: &mut Body, nullable: bool, heap: Heap, depth: u32) -> Result<String> {
        // A function type's references are also `func` references.
        let heap = match heap {
            Heap::Func if self.u.ratio(1, 2)? => Heap::Type(self.u.choose_index(self.types.len())?),
            heap => heap,
        };
        if depth == 0 {
            return if nullable && self.u.ratio(1, 4)? {
                self.null(heap)
            } else {
                Ok(format!("(ref.func $f{})", self.func_of(heap)?))
            };
        }
        let d = depth - 1;
        let non_null = ValType::Ref { nullable: false, heap };
        let maybe_null = ValType::Ref { nullable: true, heap };
        Ok(match self.u.int_in_range(0..=7)? {
            0 if nullable => self.null(heap)?,
            1 => format!("(ref.as_non_null {})", self.expr(body, maybe_null, d)?),
            2 => {
                // `br_on_non_null` carries the reference out; a null falls through to the other value.
                let label = self.label();
                let spelled = self.spell(non_null)?;
                let reference = self.expr(body, maybe_null, d)?;
                let fallback = self.expr(body, non_null, d)?;
                format!("(block {label} (result {spelled}) (br_on_non_null {label} {reference}) {fallback})")
            }
            3 => {
                // `br_on_null` leaves the non-null reference for the rest of the block.
                let (outer, inner) = (self.label(), self.label());
                let spelled = self.spell(non_null)?;
                let reference = self.expr(body, maybe_null, d)?;
                let fallback = self.expr(body, non_null, d)?;
                format!(
                    "(block {outer} (result {spelled}) (block {inner} (br_on_null {inner} {reference}) (br {outer})) {fallback})"
                )
            }
            4 => {
                let tables: Vec<usize> = (0..self.tables.len())
                    .filter(|&t| self.tables[t].elem.is_subtype_of(if nullable { maybe_null } else { non_null }))
                    .collect();
                if let Ok(&t) = self.u.choose(&tables) {
                    let index = self.index(body, self.tables[t].size)?;
                    format!("(table.get $t{t} {index})")
                } else {
                    format!("(ref.func $f{})", self.func_of(heap)?)
                }
            }
            _ => format!("(ref.func $f{})", self.func_of(heap)?),
        })
    }
}

fn spell(ty: ValType, group: &str) -> String {
    match ty {
        ValType::I32 => "i32".into(),
        ValType::I64 => "i64".into(),
        ValType::F32 => "f32".into(),
        ValType::F64 => "f64".into(),
        ValType::Ref { nullable, heap } => {
            let null = if nullable { "null " } else { "" };
            match heap {
                Heap::Func => format!("(ref {null}func)"),
                Heap::Type(t) => format!("(ref {null}${group}{t})"),
            }
        }
    }
}
