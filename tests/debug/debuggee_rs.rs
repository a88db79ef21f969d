//! The Rust program the gdb tests debug (tests/debugger.rs), built with -g by tests/wasi/build.sh. No standard
//! library, so that its debug information is all its own; it talks to WASI directly. The tests find the lines to
//! stop on by the `line:` comments.
#![no_std]
#![no_main]

#[link(wasm_import_module = "wasi_snapshot_preview1")]
unsafe extern "C" {
    fn fd_write(fd: i32, iovs: *const IoVec, iovs_len: i32, written: *mut u32) -> i32;
}

#[repr(C)]
struct IoVec {
    base: *const u8,
    len: u32,
}

pub struct Point {
    pub x: i32,
    pub y: i32,
}

#[inline(never)]
fn area(points: &[Point]) -> i32 {
    let mut total = 0;
    for p in points {
        total += p.x * p.y; // line: rs-area-loop
    }
    total
}

#[inline(never)]
fn scaled(p: &Point, factor: i32) -> Point {
    Point { x: p.x * factor, y: p.y * factor } // line: rs-scaled
}

#[unsafe(no_mangle)]
pub extern "C" fn _start() {
    let points = [Point { x: 1, y: 2 }, Point { x: 3, y: 4 }];
    let big = scaled(&points[1], 10);
    let answer = area(&points) + big.x + big.y;
    let mut text = *b"answer = 000\n";
    text[9] = b'0' + (answer / 100 % 10) as u8;
    text[10] = b'0' + (answer / 10 % 10) as u8;
    text[11] = b'0' + (answer % 10) as u8;
    let iov = IoVec { base: text.as_ptr(), len: text.len() as u32 };
    let mut written = 0;
    // SAFETY: the vector describes `text`, which outlives the call.
    unsafe { fd_write(1, &iov, 1, &mut written) };
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}
