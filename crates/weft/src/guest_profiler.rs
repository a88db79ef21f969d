//! The guest profiler: samples the wasm stack of a store at a fixed interval and writes what it saw as a profile
//! for the Firefox Profiler and as a flame graph.
//!
//! **How samples are taken.** An engine with [`crate::Config::guest_profiling`] on compiles a *probe* into every
//! function entry and loop header: a one-byte load from a page of the store's. A timer thread requests a sample
//! every interval by making that page unreadable, so the next probe faults; the runtime's fault handler makes it
//! readable again and sends the thread, as if the probe had called it, into a routine that saves every register,
//! walks the wasm stack from the probe's frame with the frame-pointer walk trap backtraces use, hands the PCs to
//! the profiler and returns to the probe, which loads and goes on. So a sample lands at the next function entry or
//! loop header after the tick, within a few instructions of it in any code that runs long, and always at a point
//! the compiler chose: no asynchronous signal stops wasm at an arbitrary instruction. No `perf`, root or kernel
//! setting is needed, and it works the same on every platform Weft supports.
//!
//! **What it costs.** Between samples, one load per probe (no test or branch): 4% by medians, 0% by minimums
//! (geomean) on the team's benchmarks at the default interval, most of it in call-heavy code (docs/benchmarks.md,
//! "Guest profiler overhead"). Each sample costs a fault, two `mprotect` calls and a stack
//! walk, and looks up each PC once (later samples hit a cache). Time spent where no probe runs (a host call, a long
//! loop-free stretch) is charged to the next sample as its weight, in intervals, so the profile's totals still add
//! up to the time wasm held the thread. Time with no wasm of the store on the stack (compiling, instantiating, the
//! host between calls) is not counted.

use crate::trap::{FrameInfo, frames_at};
use crate::{Result, Store};
use anyhow::Context as _;
use fxprof_processed_profile as fxprof;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write;
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant, SystemTime};
use weft_environ::vmstore::SAMPLE_REQUESTED;

/// The default sampling interval of `weft run --profile=guest`: Wasmtime's, so its users' habits carry over. Each
/// sample costs about 20 µs of the wasm thread's time (a fault, two `mprotect` calls, the stack walk), about 2% at
/// 1 ms and too little to measure at 10 ms (docs/benchmarks.md).
pub const DEFAULT_GUEST_PROFILE_INTERVAL: Duration = Duration::from_millis(10);

/// Samples the wasm stack of the store it is given to (see [`Store::set_guest_profiler`]) at a fixed interval, across
/// every module of that store, and writes the result as a Firefox Profiler profile ([`GuestProfiler::finish`]) or a
/// flame graph ([`GuestProfiler::write_flame_graph`]).
///
/// ```
/// # fn main() -> weft::Result<()> {
/// use std::time::Duration;
/// use weft::{Config, Engine, GuestProfiler, Instance, Module, Store};
/// let mut config = Config::new();
/// config.guest_profiling(true); // compiles in the checks samples are taken at
/// let engine = Engine::new(&config)?;
/// let module = Module::new(&engine, r#"(module (func (export "spin") (param i32)
///     (loop (br_if 0 (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))))"#)?;
/// let mut store = Store::new(&engine, ());
/// store.set_guest_profiler(GuestProfiler::new("spin", Duration::from_micros(200)))?;
/// let instance = Instance::new(&mut store, &module, &[])?;
/// instance.get_typed_func::<i32, ()>(&mut store, "spin")?.call(&mut store, 10_000_000)?;
/// let profiler = store.take_guest_profiler().expect("set above");
/// let mut json = Vec::new();
/// profiler.finish(&mut json)?; // open it at https://profiler.firefox.com
/// # Ok(())
/// # }
/// ```
pub struct GuestProfiler {
    recorder: Arc<Recorder>,
    interval: Duration,
}

impl std::fmt::Debug for GuestProfiler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuestProfiler").field("interval", &self.interval).finish_non_exhaustive()
    }
}

impl GuestProfiler {
    /// A profiler named `name` (the profile's product name) that samples every `interval` (at least 100 µs: a
    /// sample takes about 20 µs, and wasm must get on between samples).
    pub fn new(name: &str, interval: Duration) -> GuestProfiler {
        let interval = interval.max(Duration::from_micros(100));
        let now = Instant::now();
        GuestProfiler {
            recorder: Arc::new(Recorder {
                name: name.to_string(),
                start: now,
                start_wall: SystemTime::now(),
                state: Mutex::new(Recording { last_sample: Some(now), interval, ..Recording::default() }),
            }),
            interval,
        }
    }

    /// The sampling interval.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// How many samples were taken, and their total weight in intervals.
    pub fn sample_count(&self) -> (usize, u64) {
        let state = self.recorder.lock();
        (state.samples.len(), state.samples.iter().map(|s| u64::from(s.weight)).sum())
    }

    /// The weight (in intervals) of the samples whose innermost wasm frame was each function, heaviest first: where
    /// the time went, by function ("self time"). Functions are named as in backtraces.
    pub fn self_time(&self) -> Vec<(String, u64)> {
        let state = self.recorder.lock();
        let mut by_name: HashMap<&str, u64> = HashMap::new();
        for sample in &state.samples {
            let name = match sample.stack {
                Some(stack) => state.frames[state.stacks[stack as usize].frame as usize].name.as_str(),
                None => UNKNOWN_FRAME,
            };
            *by_name.entry(name).or_default() += u64::from(sample.weight);
        }
        let mut list: Vec<(String, u64)> = by_name.into_iter().map(|(n, w)| (n.to_string(), w)).collect();
        list.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        list
    }

    /// The distinct stacks sampled, outermost frame first, each with its total weight in intervals: the input of a
    /// flame graph (see [`render_flame_graph`]).
    pub fn stacks(&self) -> Vec<(Vec<String>, u64)> {
        let state = self.recorder.lock();
        let mut weights: HashMap<Option<u32>, u64> = HashMap::new();
        for sample in &state.samples {
            *weights.entry(sample.stack).or_default() += u64::from(sample.weight);
        }
        let mut stacks: Vec<(Vec<String>, u64)> = weights
            .into_iter()
            .map(|(stack, weight)| {
                let mut names = Vec::new();
                let mut at = stack;
                while let Some(index) = at {
                    let node = &state.stacks[index as usize];
                    names.push(state.frames[node.frame as usize].name.clone());
                    at = node.parent;
                }
                if names.is_empty() {
                    names.push(UNKNOWN_FRAME.to_string());
                }
                names.reverse();
                (names, weight)
            })
            .collect();
        stacks.sort();
        stacks
    }

    /// Writes the profile in the Firefox Profiler's processed format (JSON): open it at https://profiler.firefox.com
    /// ("Load a profile from file"), which shows the call tree, a flame graph and the samples over time. Frames are
    /// named after their functions, with the source file and line when the module has DWARF line tables.
    pub fn finish(&self, out: impl Write) -> Result<()> {
        let state = self.recorder.lock();
        let reference = fxprof::ReferenceTimestamp::from_system_time(self.recorder.start_wall);
        let interval = fxprof::SamplingInterval::from_nanos(self.interval.as_nanos().max(1) as u64);
        let mut profile = fxprof::Profile::new(&self.recorder.name, reference, interval);
        let zero = fxprof::Timestamp::from_nanos_since_reference(0);
        let process = profile.add_process(&self.recorder.name, std::process::id(), zero);
        let thread = profile.add_thread(process, std::process::id(), zero, true);
        profile.set_thread_name(thread, "wasm");
        let category = profile.add_category("Wasm", fxprof::CategoryColor::Blue).into();
        let frames: Vec<fxprof::FrameHandle> = state
            .frames
            .iter()
            .map(|frame| {
                let label = match &frame.source {
                    Some((file, line)) => format!("{} ({file}:{line})", frame.name),
                    None => frame.name.clone(),
                };
                let label = profile.intern_string(&label);
                profile.intern_frame(
                    thread,
                    fxprof::FrameInfo {
                        frame: fxprof::Frame::Label(label),
                        category_pair: category,
                        flags: fxprof::FrameFlags::empty(),
                    },
                )
            })
            .collect();
        // Parents precede their children in `stacks`, so one pass interns them all.
        let mut stacks: Vec<fxprof::StackHandle> = Vec::with_capacity(state.stacks.len());
        for node in &state.stacks {
            let parent = node.parent.map(|p| stacks[p as usize]);
            stacks.push(profile.intern_stack(thread, parent, frames[node.frame as usize]));
        }
        for sample in &state.samples {
            let at = fxprof::Timestamp::from_nanos_since_reference(sample.at.as_nanos() as u64);
            let cpu = fxprof::CpuDelta::from_micros(sample.elapsed.as_micros() as u64);
            let stack = sample.stack.map(|s| stacks[s as usize]);
            profile.add_sample(thread, at, stack, cpu, sample.weight.min(i32::MAX as u32) as i32);
        }
        let mut out = std::io::BufWriter::new(out);
        serde_json::to_writer(&mut out, &profile).context("writing the guest profile")?;
        out.flush().context("writing the guest profile")?;
        Ok(())
    }

    /// Writes a flame graph of the samples as a standalone SVG (no scripts, no external resources).
    pub fn write_flame_graph(&self, mut out: impl Write) -> Result<()> {
        let title = format!("Guest profile of {}, {} interval", self.recorder.name, format_duration(self.interval));
        out.write_all(render_flame_graph(&title, &self.stacks()).as_bytes()).context("writing the flame graph")
    }
}

/// What a sample with no wasm frame is called (the stack walk found none: should not happen).
const UNKNOWN_FRAME: &str = "[unknown]";

/// The profiler's side that the runtime calls with each sample.
struct Recorder {
    name: String,
    start: Instant,
    start_wall: SystemTime,
    state: Mutex<Recording>,
}

#[derive(Default)]
struct Recording {
    interval: Duration,
    last_sample: Option<Instant>,
    /// Interned frames (function, and source line when known).
    frames: Vec<Frame>,
    frame_ids: HashMap<Frame, u32>,
    /// The frames at each PC, innermost first (code never moves while its store is alive, so this never goes
    /// stale for the one store a profiler samples).
    frames_at_pc: HashMap<usize, Vec<u32>>,
    /// Interned stacks: a tree of (parent, frame) nodes; every parent precedes its children.
    stacks: Vec<StackNode>,
    stack_ids: HashMap<(Option<u32>, u32), u32>,
    samples: Vec<Sample>,
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct Frame {
    name: String,
    source: Option<(String, u32)>,
}

struct StackNode {
    parent: Option<u32>,
    frame: u32,
}

struct Sample {
    /// Since the profiler was created.
    at: Duration,
    /// Since the previous sample.
    elapsed: Duration,
    /// That time in intervals (at least 1).
    weight: u32,
    stack: Option<u32>,
}

impl Recorder {
    fn lock(&self) -> std::sync::MutexGuard<'_, Recording> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuestProfiler").field("name", &self.name).finish_non_exhaustive()
    }
}

impl weft_runtime::StackSampler for Recorder {
    fn sample(&self, pcs: &[usize]) {
        let now = Instant::now();
        let mut state = self.lock();
        let state = &mut *state;
        let elapsed = now.duration_since(state.last_sample.unwrap_or(self.start));
        state.last_sample = Some(now);
        let weight = (elapsed.as_nanos() / state.interval.as_nanos().max(1)).clamp(1, u128::from(u32::MAX)) as u32;
        // Outermost first, for the stack tree.
        let mut stack = None;
        for &pc in pcs.iter().rev() {
            let frames = state.frames_at_pc.entry(pc).or_insert_with(|| {
                frames_at(pc).iter().map(|info| intern_frame(&mut state.frames, &mut state.frame_ids, info)).collect()
            });
            for &frame in frames.iter().rev() {
                let next = state.stacks.len() as u32;
                let id = *state.stack_ids.entry((stack, frame)).or_insert(next);
                if id == next {
                    state.stacks.push(StackNode { parent: stack, frame });
                }
                stack = Some(id);
            }
        }
        state.samples.push(Sample { at: now.duration_since(self.start), elapsed, weight, stack });
    }
}

fn intern_frame(frames: &mut Vec<Frame>, ids: &mut HashMap<Frame, u32>, info: &FrameInfo) -> u32 {
    let name = match info.func_name() {
        Some(name) => name.to_string(),
        None => format!("wasm-function[{}]", info.func_index()),
    };
    let name = match info.module_name() {
        Some(module) => format!("{module}::{name}"),
        None => name,
    };
    let frame = Frame { name, source: info.source_location().map(|(file, line)| (file.to_string(), line)) };
    let next = frames.len() as u32;
    let id = *ids.entry(frame.clone()).or_insert(next);
    if id == next {
        frames.push(frame);
    }
    id
}

/// A profiler at work in a store: its timer thread, which stops when this is dropped.
pub(crate) struct ActiveProfiler {
    profiler: Option<GuestProfiler>,
    stop: Option<mpsc::Sender<()>>,
    timer: Option<std::thread::JoinHandle<()>>,
}

impl ActiveProfiler {
    fn start(profiler: GuestProfiler, flag: Arc<weft_runtime::InterruptFlag>) -> Result<ActiveProfiler> {
        let (stop, stopped) = mpsc::channel::<()>();
        let interval = profiler.interval;
        let timer = std::thread::Builder::new()
            .name("weft-guest-profiler".into())
            .spawn(move || {
                // The next tick is scheduled from the previous one, not from when this thread woke, so late wake-ups
                // do not stretch the interval.
                let mut next = Instant::now() + interval;
                loop {
                    match stopped.recv_timeout(next.saturating_duration_since(Instant::now())) {
                        Err(mpsc::RecvTimeoutError::Timeout) => {
                            flag.request(SAMPLE_REQUESTED);
                            next += interval;
                            let now = Instant::now();
                            if next < now {
                                next = now + interval;
                            }
                        }
                        _ => return,
                    }
                }
            })
            .context("starting the guest profiler's timer thread")?;
        Ok(ActiveProfiler { profiler: Some(profiler), stop: Some(stop), timer: Some(timer) })
    }

    /// Wasm is about to run with none of it on the stack: samples count time from now on, and a request the timer
    /// made while only the host ran is dropped.
    pub(crate) fn entering_wasm(&self, flag: &weft_runtime::InterruptFlag) {
        if let Some(profiler) = &self.profiler {
            flag.clear(SAMPLE_REQUESTED);
            profiler.recorder.lock().last_sample = Some(Instant::now());
        }
    }

    fn stop(mut self) -> GuestProfiler {
        self.halt();
        self.profiler.take().expect("a running profiler has its profiler")
    }

    fn halt(&mut self) {
        drop(self.stop.take());
        if let Some(timer) = self.timer.take() {
            let _ = timer.join();
        }
    }
}

impl Drop for ActiveProfiler {
    fn drop(&mut self) {
        self.halt();
    }
}

impl<T> Store<T> {
    /// Starts sampling this store's wasm stack with `profiler`, replacing any profiler set before (which is
    /// stopped and dropped). Needs an engine with [`crate::Config::guest_profiling`] on: samples are taken at the
    /// checks it compiles in.
    pub fn set_guest_profiler(&mut self, profiler: GuestProfiler) -> Result<()> {
        if !self.inner.opaque.engine.config().code.tunables.guest_profiling {
            anyhow::bail!(
                "the guest profiler needs its checks compiled in: enable them with Config::guest_profiling(true)"
            );
        }
        drop(self.take_guest_profiler());
        let recorder: Arc<dyn weft_runtime::StackSampler> = profiler.recorder.clone();
        let active = ActiveProfiler::start(profiler, self.inner.opaque.interrupt_flag.clone())?;
        self.inner.opaque.vm_store_context.sampler = Some(recorder);
        self.inner.opaque.guest_profiler = Some(active);
        Ok(())
    }

    /// Stops the store's guest profiler and hands it back with its samples (`None` if none was set).
    pub fn take_guest_profiler(&mut self) -> Option<GuestProfiler> {
        let active = self.inner.opaque.guest_profiler.take()?;
        self.inner.opaque.vm_store_context.sampler = None;
        let profiler = active.stop();
        // The timer has stopped; its last request, if no probe took it, would cost the store's wasm one fault.
        self.inner.opaque.interrupt_flag.clear(SAMPLE_REQUESTED);
        Some(profiler)
    }
}

fn format_duration(d: Duration) -> String {
    if d.as_micros() % 1000 == 0 { format!("{} ms", d.as_millis()) } else { format!("{} µs", d.as_micros()) }
}

/// Renders stacks (outermost frame first, each with a weight) as a flame graph: a standalone SVG in which each
/// frame is a box as wide as the share of the weight whose stacks pass through it, callers below callees. Each box's
/// tooltip gives its name, weight and share. Frames of one name under one caller are merged. When every frame is
/// of one module (`module::function`), boxes are labelled by function alone and the module is named in the title.
pub fn render_flame_graph(title: &str, stacks: &[(Vec<String>, u64)]) -> String {
    // One module's frames all start with `module::`: that goes in the title, and the boxes' labels leave it out.
    let mut names = stacks.iter().flat_map(|(frames, _)| frames);
    let module = names.next().and_then(|first| first.split_once("::")).map(|(m, _)| format!("{m}::"));
    let module = module.filter(|m| stacks.iter().flat_map(|(f, _)| f).all(|name| name.starts_with(m.as_str())));
    let prefix_len = module.as_ref().map_or(0, String::len);
    let title = match &module {
        Some(prefix) => format!("{title}, module {}", &prefix[..prefix.len() - 2]),
        None => title.to_string(),
    };
    let title = title.as_str();
    struct Node {
        name: String,
        total: u64,
        children: Vec<usize>,
    }
    let mut nodes = vec![Node { name: "all".to_string(), total: 0, children: Vec::new() }];
    let mut child_of: HashMap<(usize, String), usize> = HashMap::new();
    for (frames, weight) in stacks {
        let mut at = 0;
        nodes[0].total += weight;
        for name in frames {
            let next = nodes.len();
            let id = *child_of.entry((at, name.clone())).or_insert(next);
            if id == next {
                nodes.push(Node { name: name.clone(), total: 0, children: Vec::new() });
                nodes[at].children.push(id);
            }
            nodes[id].total += weight;
            at = id;
        }
    }
    const WIDTH: f64 = 1200.0;
    const ROW: f64 = 17.0;
    const TOP: f64 = 40.0;
    const CHAR_WIDTH: f64 = 7.0;
    // Lay out depth-first: each node's children sit left to right above it, heaviest first.
    let mut boxes: Vec<(usize, usize, f64, f64)> = Vec::new(); // node, depth, x, width
    let total = nodes[0].total.max(1) as f64;
    let mut pending = vec![(0usize, 0usize, 0.0f64)];
    let mut depth_max = 0;
    while let Some((id, depth, x)) = pending.pop() {
        let width = nodes[id].total as f64 / total * WIDTH;
        if width < 0.3 {
            continue;
        }
        depth_max = depth_max.max(depth);
        boxes.push((id, depth, x, width));
        let mut children = nodes[id].children.clone();
        children
            .sort_by(|a, b| nodes[*b].total.cmp(&nodes[*a].total).then_with(|| nodes[*a].name.cmp(&nodes[*b].name)));
        let mut cx = x;
        for child in children {
            pending.push((child, depth + 1, cx));
            cx += nodes[child].total as f64 / total * WIDTH;
        }
    }
    let height = TOP + (depth_max as f64 + 1.0) * ROW + 10.0;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r##"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="monospace" font-size="12">
<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#fdfdf6"/>
<text x="{}" y="20" text-anchor="middle" font-size="15">{}</text>
<text x="{}" y="34" text-anchor="middle" fill="#555">{} sampling intervals; hover a box for its share</text>"##,
        WIDTH / 2.0,
        xml_escape(title),
        WIDTH / 2.0,
        nodes[0].total,
    );
    for (id, depth, x, width) in boxes {
        let node = &nodes[id];
        let y = height - 10.0 - (depth as f64 + 1.0) * ROW;
        let share = node.total as f64 / total * 100.0;
        let _ = write!(
            svg,
            r#"<g><title>{} ({} intervals, {share:.2}%)</title><rect x="{x:.2}" y="{y:.1}" width="{:.2}" height="{}" rx="2" fill="{}"/>"#,
            xml_escape(&node.name),
            node.total,
            (width - 0.5).max(0.1),
            ROW - 1.0,
            flame_colour(&node.name),
        );
        let fits = ((width - 6.0) / CHAR_WIDTH).floor() as usize;
        if fits >= 3 {
            let name = if id == 0 { "all" } else { &node.name[prefix_len..] };
            let label: String = if name.chars().count() > fits {
                name.chars().take(fits - 2).chain("..".chars()).collect()
            } else {
                name.to_string()
            };
            let _ = write!(svg, r#"<text x="{:.2}" y="{:.1}">{}</text>"#, x + 3.0, y + ROW - 5.0, xml_escape(&label));
        }
        svg.push_str("</g>\n");
    }
    svg.push_str("</svg>\n");
    svg
}

/// A warm colour derived from the name, so one function has one colour everywhere in the graph.
fn flame_colour(name: &str) -> String {
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    let red = 205 + (hash % 50);
    let green = 80 + ((hash >> 8) % 130);
    let blue = (hash >> 16) % 55;
    format!("rgb({red},{green},{blue})")
}

fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c as u32) < 0x20 && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flame_graph_widths_follow_the_weights_and_names_are_escaped() {
        let stacks = vec![
            (vec!["main".to_string(), "hot<T>".to_string()], 90),
            (vec!["main".to_string(), "cold & rare".to_string()], 10),
        ];
        let svg = render_flame_graph("t", &stacks);
        assert!(svg.contains("<title>main (100 intervals, 100.00%)</title>"), "{svg}");
        assert!(svg.contains("<title>hot&lt;T&gt; (90 intervals, 90.00%)</title>"), "{svg}");
        assert!(svg.contains("<title>cold &amp; rare (10 intervals, 10.00%)</title>"), "{svg}");
        assert!(!svg.contains("hot<T>"));
        // hot's box is 90% of the 1200-pixel width (less the half-pixel gap).
        assert!(svg.contains(r#"width="1079.50""#), "{svg}");
    }
}
