//! The explorer page in a real browser: headless Chromium, driven over the DevTools protocol on a pipe, loads a page,
//! which must render without console errors or exceptions; clicking a wasm instruction must highlight the machine
//! instructions that came from it (and clicking one of those its wasm instruction); the screenshot must not be blank.
//!
//! Chromium is Debian's package; the test installs it (scripts/ensure-chromium.sh) when /usr/bin/chromium is missing.

use serde_json::{Value, json};
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
/// How long any one step may take (the first start of Chromium on a cold machine is the slowest).
const TIMEOUT: Duration = Duration::from_secs(60);

const MODULE: &str = r#"
(module $demo
  (memory 1)
  (func $add (export "add") (param i32 i32) (result i32)
    local.get 0 local.get 1 i32.add)
  (func $sum_to (export "sum_to") (param $n i32) (result i32) (local $acc i32)
    (block $done
      (loop $top
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $acc (i32.add (local.get $acc) (i32.mul (local.get $n) (local.get $n))))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $top)))
    (local.get $acc))
  (func $fill (param $p i32) (param $len i32)
    (loop $l
      (if (local.get $len) (then
        (i32.store (local.get $p) (i32.mul (local.get $len) (i32.const 3)))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (local.set $len (i32.sub (local.get $len) (i32.const 1)))
        (br $l)))))
  ;; A name that would inject markup if it were not escaped.
  (func $"</script><img src=x onerror=alert(1)>" (export "h") (result i32) (i32.const 7))
)
"#;

/// A running Chromium and the DevTools session of one page; killed when dropped, also when the test fails.
struct Browser {
    child: Child,
    to_browser: ChildStdin,
    from_browser: Receiver<Value>,
    /// Events received while waiting for something else.
    events: Vec<Value>,
    next_id: u64,
    session: Option<String>,
    profile: PathBuf,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

impl Browser {
    fn start(profile: PathBuf) -> Browser {
        std::fs::create_dir_all(&profile).unwrap();
        // `--remote-debugging-pipe`: Chromium reads NUL-terminated JSON messages on fd 3 and writes them on fd 4;
        // the shell gives it the child's stdin and stdout as those.
        let command = format!(
            "exec {CHROMIUM} --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
             --disable-background-networking --disable-component-update --disable-sync --disable-dev-shm-usage \
             --hide-scrollbars --user-data-dir='{}' --remote-debugging-pipe about:blank 3<&0 4>&1 0</dev/null 1>/dev/null",
            profile.display()
        );
        let mut child = Command::new("bash")
            .arg("-c")
            .arg(command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start chromium");
        let to_browser = child.stdin.take().unwrap();
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let (send, from_browser) = channel();
        std::thread::spawn(move || {
            let mut message = Vec::new();
            while reader.read_until(0, &mut message).is_ok_and(|n| n > 0) {
                if message.last() == Some(&0) {
                    message.pop();
                }
                let Ok(value) = serde_json::from_slice::<Value>(&message) else { return };
                if send.send(value).is_err() {
                    return;
                }
                message.clear();
            }
        });
        Browser { child, to_browser, from_browser, events: Vec::new(), next_id: 1, session: None, profile }
    }

    fn receive(&mut self, deadline: Instant, what: &str) -> Value {
        match self.from_browser.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(message) => message,
            Err(RecvTimeoutError::Timeout) => panic!("timed out waiting for {what}"),
            Err(RecvTimeoutError::Disconnected) => panic!("chromium closed the pipe while we waited for {what}"),
        }
    }

    /// Sends a command (to the page's session once attached) and returns its result.
    fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = &self.session {
            message["sessionId"] = json!(session);
        }
        let mut bytes = serde_json::to_vec(&message).unwrap();
        bytes.push(0);
        self.to_browser.write_all(&bytes).and_then(|()| self.to_browser.flush()).expect("cannot write to chromium");
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let message = self.receive(deadline, method);
            if message["id"] == json!(id) {
                if let Some(error) = message.get("error") {
                    panic!("{method} failed: {error}");
                }
                return message["result"].clone();
            }
            self.events.push(message);
        }
    }

    fn wait_for_event(&mut self, method: &str) -> Value {
        if let Some(i) = self.events.iter().position(|e| e["method"] == method) {
            return self.events.remove(i);
        }
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let message = self.receive(deadline, method);
            if message["method"] == method {
                return message;
            }
            self.events.push(message);
        }
    }

    /// Evaluates `expression` in the page and returns its value (JSON-serialisable values only).
    fn eval(&mut self, expression: &str) -> Value {
        let result = self
            .call("Runtime.evaluate", json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }));
        if let Some(exception) = result.get("exceptionDetails") {
            panic!("evaluating {expression} threw: {exception}");
        }
        result["result"]["value"].clone()
    }

    fn click(&mut self, x: f64, y: f64) {
        self.call("Input.dispatchMouseEvent", json!({ "type": "mouseMoved", "x": x, "y": y }));
        for kind in ["mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({ "type": kind, "x": x, "y": y, "button": "left", "clickCount": 1 }),
            );
        }
    }

    /// Errors the page has reported so far: exceptions, `console.error` calls, error log entries.
    fn errors(&mut self) -> Vec<Value> {
        // A round trip, so that events sent before it have arrived.
        self.eval("1");
        self.events
            .iter()
            .filter(|e| {
                e["method"] == "Runtime.exceptionThrown"
                    || (e["method"] == "Runtime.consoleAPICalled" && e["params"]["type"] == "error")
                    || (e["method"] == "Log.entryAdded" && e["params"]["entry"]["level"] == "error")
            })
            .cloned()
            .collect()
    }
}

fn ensure_chromium() {
    if Path::new(CHROMIUM).exists() {
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/ensure-chromium.sh");
    let status = Command::new("bash").arg(&script).status().expect("cannot run scripts/ensure-chromium.sh");
    assert!(status.success() && Path::new(CHROMIUM).exists(), "cannot install chromium ({status})");
}

/// A scratch directory, removed when dropped (also when the test fails).
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The page loads, renders the function the URL names, highlights across the panes, and is not blank.
#[test]
fn page_renders_and_highlights_in_chromium() {
    ensure_chromium();
    let page = weft_explorer::explore(MODULE.as_bytes()).unwrap();
    let dir = Scratch(std::env::temp_dir().join(format!("weft-explorer-browser-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let html = dir.0.join("explore.html");
    std::fs::write(&html, &page).unwrap();

    let mut browser = Browser::start(dir.0.join("profile"));
    let target = browser.call("Target.createTarget", json!({ "url": "about:blank" }));
    let attached =
        browser.call("Target.attachToTarget", json!({ "targetId": target["targetId"].clone(), "flatten": true }));
    browser.session = Some(attached["sessionId"].as_str().expect("a session id").to_string());
    for domain in ["Runtime.enable", "Page.enable", "Log.enable"] {
        browser.call(domain, json!({}));
    }
    browser.call(
        "Emulation.setDeviceMetricsOverride",
        json!({ "width": 1200, "height": 700, "deviceScaleFactor": 1, "mobile": false }),
    );
    // Function 1 is $sum_to.
    browser.call("Page.navigate", json!({ "url": format!("file://{}#f=1", html.display()) }));
    browser.wait_for_event("Page.loadEventFired");

    let title = browser.eval("document.getElementById('title').textContent");
    assert!(title.as_str().unwrap().contains("sum_to"), "the URL's function is shown: {title}");
    let rows = browser.eval("[...document.querySelectorAll('#rows .fn')].map(e => e.textContent)");
    let rows: Vec<&str> = rows.as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert!(rows[3].contains("</script><img src=x onerror=alert(1)>"), "the hostile name is text: {rows:?}");
    assert_eq!(browser.eval("document.querySelectorAll('img').length"), json!(0), "no markup was injected");

    // Click the first wasm instruction that has machine code.
    let target = browser.eval(
        "(() => { const el = [...document.querySelectorAll('#wasm .l')].find(el => Number(el.dataset.o) >= 0 && \
         document.querySelector('#asm .l[data-o=\"' + el.dataset.o + '\"]')); el.scrollIntoView({block: 'center'}); \
         const r = el.getBoundingClientRect(); return {x: r.left + 40, y: r.top + r.height / 2, o: el.dataset.o, \
         text: el.textContent}; })()",
    );
    browser.click(target["x"].as_f64().unwrap(), target["y"].as_f64().unwrap());
    let o = target["o"].as_str().unwrap().to_string();
    let state = browser.eval(&format!(
        "({{ wasm: document.querySelectorAll('#wasm .l.hl').length, \
            hl: document.querySelectorAll('#asm .l.hl').length, \
            wrong: document.querySelectorAll('#asm .l.hl:not([data-o=\"{o}\"])').length, \
            missed: document.querySelectorAll('#asm .l[data-o=\"{o}\"]:not(.hl)').length }})"
    ));
    assert_eq!(state["wasm"], json!(1), "the clicked line {target} is highlighted: {state}");
    assert!(state["hl"].as_u64().unwrap() > 0, "its machine code is highlighted: {state}");
    assert_eq!(state["wrong"], json!(0), "only its machine code: {state}");
    assert_eq!(state["missed"], json!(0), "all of its machine code: {state}");

    // And the other way: a machine instruction highlights the wasm instruction it came from.
    let target = browser.eval(
        "(() => { const els = [...document.querySelectorAll('#asm .l')].filter(el => Number(el.dataset.o) >= 0); \
         const el = els[els.length - 1]; el.scrollIntoView({block: 'center'}); const r = el.getBoundingClientRect(); \
         return {x: r.left + 40, y: r.top + r.height / 2, o: el.dataset.o}; })()",
    );
    browser.click(target["x"].as_f64().unwrap(), target["y"].as_f64().unwrap());
    let o = target["o"].as_str().unwrap().to_string();
    let state = browser.eval(&format!(
        "({{ wasm: [...document.querySelectorAll('#wasm .l.hl')].map(e => e.dataset.o), \
            asm: document.querySelectorAll('#asm .l.hl:not([data-o=\"{o}\"])').length }})"
    ));
    assert_eq!(state["wasm"], json!([o]), "{state}");
    assert_eq!(state["asm"], json!(0), "{state}");

    // Search filters the list, and choosing a function shows it.
    let found = browser.eval(
        "new Promise(done => { const s = document.getElementById('search'); s.value = 'FILL'; \
         s.dispatchEvent(new Event('input')); setTimeout(() => { \
         document.querySelector('#rows .fn').click(); \
         done([document.querySelectorAll('#rows .fn').length, location.hash, \
               document.getElementById('title').textContent]); }, 50); })",
    );
    assert_eq!(found[0], json!(1), "{found}");
    assert_eq!(found[1], json!("#f=2"), "{found}");
    assert!(found[2].as_str().unwrap().contains("fill"), "{found}");

    // `#f=N&o=HEX` highlights the wasm instruction at module offset HEX (as the margin shows it).
    let state = browser.eval(
        "new Promise(done => { const el = [...document.querySelectorAll('#wasm .l')].find(el => \
         Number(el.dataset.o) >= 0 && document.querySelector('#asm .l[data-o=\"' + el.dataset.o + '\"]')); \
         location.hash = '#f=2&o=' + el.querySelector('.o').textContent; setTimeout(() => done({ o: el.dataset.o, \
         wasm: [...document.querySelectorAll('#wasm .l.hl')].map(e => e.dataset.o), \
         asm: [...document.querySelectorAll('#asm .l.hl')].map(e => e.dataset.o) }), 50); })",
    );
    assert_eq!(state["wasm"], json!([state["o"]]), "{state}");
    let asm = state["asm"].as_array().unwrap();
    assert!(!asm.is_empty() && asm.iter().all(|o| *o == state["o"]), "{state}");

    let screenshot = browser.call("Page.captureScreenshot", json!({ "format": "png" }));
    use base64::Engine as _;
    let png = base64::engine::general_purpose::STANDARD.decode(screenshot["data"].as_str().unwrap()).unwrap();
    let colours = distinct_colours(&png);
    assert!(colours >= 16, "the screenshot is blank or nearly: {colours} distinct colours");

    let errors = browser.errors();
    assert!(errors.is_empty(), "the page reported errors: {errors:#?}");
}

/// How many distinct pixel values the PNG image has.
fn distinct_colours(png: &[u8]) -> usize {
    let decoder = png::Decoder::new(std::io::Cursor::new(png));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    let bytes_per_pixel = info.line_size / info.width as usize;
    let mut colours = std::collections::HashSet::new();
    for pixel in pixels[..info.buffer_size()].chunks_exact(bytes_per_pixel) {
        colours.insert(pixel.to_vec());
    }
    assert!(info.width >= 1000 && info.height >= 600, "{}x{}", info.width, info.height);
    colours.len()
}
