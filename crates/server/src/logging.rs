//! The process's log: lines are formatted on the thread that logs, appended
//! to one shared buffer, and written to stderr by a thread of its own in
//! batches; and the access log's line, formatted without going through the
//! generic event formatter.
//!
//! Why not `tracing-appender` (which this replaced): its non-blocking writer
//! sends every line through a channel to its worker, and under load the
//! worker's wake-ups and the senders' wake calls were about a sixth of the
//! server's CPU samples on a 2-core machine (docs/benchmarks.md, "Metrics and
//! the access log"). Here a logger only appends to a buffer under a mutex
//! and wakes the writer when the buffer was empty (once per batch, not per
//! line); the writer takes the whole buffer in one swap and writes it
//! outside the lock, so no logger ever waits for a write to stderr unless
//! the writer is 16 MiB behind (then loggers wait: a line is never dropped).
//! docs/decisions.md has the measurements.

use crate::config::LogFormat;
use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

/// How long the writer lets lines gather after the first one of a batch.
const BATCH_WINDOW: Duration = Duration::from_millis(20);
/// A buffer this full is written at once, before the window ends.
const HIGH_WATER: usize = 1 << 20;
/// A buffer this full makes loggers wait for the writer.
const HARD_CAP: usize = 16 << 20;

#[derive(Default)]
struct State {
    buf: Vec<u8>,
    /// The writer is waiting on `wake` and must be notified.
    parked: bool,
    /// Loggers waiting on `drained` for room.
    blocked: usize,
    /// The guard was dropped: lines go straight to stderr.
    closed: bool,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    drained: Condvar,
    /// [`HIGH_WATER`] and [`HARD_CAP`], smaller in tests.
    high_water: usize,
    hard_cap: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A logger that panicked mid-append leaves whole bytes behind: the
        // buffer is still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn append(&self, line: &[u8]) {
        let mut st = self.lock();
        while st.buf.len() >= self.hard_cap && !st.closed {
            st.blocked += 1;
            st = self.drained.wait(st).unwrap_or_else(|e| e.into_inner());
            st.blocked -= 1;
        }
        if st.closed {
            // The writer may be gone: write this line ourselves.
            drop(st);
            let _ = std::io::stderr().write_all(line);
            return;
        }
        let before = st.buf.len();
        st.buf.extend_from_slice(line);
        let high = self.high_water;
        let wake = st.parked && (before == 0 || (before < high && st.buf.len() >= high));
        if wake {
            st.parked = false;
        }
        drop(st);
        if wake {
            self.wake.notify_one();
        }
    }

    /// The writer thread: waits for a first line, lets a batch gather,
    /// swaps the buffer out and writes it; on close, writes what is left.
    fn run(&self, mut sink: Box<dyn Write + Send>) {
        let high = self.high_water;
        let mut out = Vec::new();
        loop {
            let mut st = self.lock();
            while st.buf.is_empty() && !st.closed {
                st.parked = true;
                st = self.wake.wait(st).unwrap_or_else(|e| e.into_inner());
            }
            if !st.closed && st.buf.len() < high {
                st.parked = true;
                st = self
                    .wake
                    .wait_timeout_while(st, BATCH_WINDOW, |s| s.buf.len() < high && !s.closed)
                    .map(|(st, _)| st)
                    .unwrap_or_else(|e| e.into_inner().0);
                st.parked = false;
            }
            std::mem::swap(&mut st.buf, &mut out);
            let closed = st.closed;
            let blocked = st.blocked > 0;
            drop(st);
            if blocked {
                self.drained.notify_all();
            }
            if !out.is_empty() {
                // Nothing to do about a failed write to stderr but go on.
                let _ = sink.write_all(&out);
                let _ = sink.flush();
                out.clear();
                // Keep the capacity of an ordinary batch, not of a burst.
                out.shrink_to(high);
            }
            if closed && self.lock().buf.is_empty() {
                return;
            }
        }
    }
}

/// A handle to the log buffer; `tracing`'s formatter writes through it.
#[derive(Clone)]
pub struct LogWriter(Arc<Shared>);

impl LogWriter {
    /// Starts the writer thread. Dropping the guard writes what is left.
    pub fn start() -> std::io::Result<(LogWriter, LogGuard)> {
        Self::start_to(Box::new(std::io::stderr()), HIGH_WATER, HARD_CAP)
    }

    fn start_to(
        sink: Box<dyn Write + Send>,
        high_water: usize,
        hard_cap: usize,
    ) -> std::io::Result<(LogWriter, LogGuard)> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            drained: Condvar::new(),
            high_water,
            hard_cap,
        });
        let worker = shared.clone();
        let thread = std::thread::Builder::new()
            .name("roster-log".into())
            .spawn(move || worker.run(sink))?;
        Ok((
            LogWriter(shared.clone()),
            LogGuard {
                shared,
                thread: Some(thread),
            },
        ))
    }

    /// Appends whole lines (each ending in `\n`).
    pub fn append(&self, lines: &[u8]) {
        self.0.append(lines);
    }
}

/// One event's writer: `tracing`'s formatter writes a whole line at once.
pub struct EventWriter<'a>(&'a LogWriter);

impl std::io::Write for EventWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.append(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = EventWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        EventWriter(self)
    }
}

/// Writes the log's buffered lines and stops its thread when dropped: keep
/// it for the life of the process.
#[must_use = "the log is flushed when the guard is dropped: keep it"]
pub struct LogGuard {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        let mut st = self.shared.lock();
        st.closed = true;
        drop(st);
        self.shared.wake.notify_one();
        self.shared.drained.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The access log (target `roster::access`, level `info`): one line per
/// request, formatted here rather than by `tracing`'s generic formatter
/// (which visits each field through `Debug` and repeats the request span's
/// fields as a prefix), in the same shapes: text like
/// `2026-12-02T11:20:00.123456Z  INFO roster::access: request method=GET
/// route=/api/v1/orgs/{org}/check status=200 duration_ms=0.412
/// request_id=…`, or a JSON object with the keys `tracing`'s JSON
/// formatter gives such an event (`timestamp`, `level`, `fields`,
/// `target`; without the span list, whose fields the line already has).
/// Whether it is written still follows `RUST_LOG`
/// (`roster::access=off` turns it off).
pub struct AccessLog {
    writer: LogWriter,
    format: LogFormat,
}

static ACCESS: OnceLock<AccessLog> = OnceLock::new();

/// Installs the access log's writer; `init_tracing` calls it once.
pub(crate) fn install_access_log(writer: LogWriter, format: LogFormat) {
    let _ = ACCESS.set(AccessLog { writer, format });
}

/// The access log, when `init_tracing` installed it (the server binary).
/// Without it (a test that builds the router in-process), the access line
/// is an ordinary `tracing` event.
pub fn access_log() -> Option<&'static AccessLog> {
    ACCESS.get()
}

/// One request as the access log records it.
pub struct AccessLine<'a> {
    pub method: &'a str,
    pub route: &'a str,
    pub status: u16,
    pub elapsed: Duration,
    pub request_id: &'a str,
}

impl AccessLog {
    /// Whether `RUST_LOG` lets the access log through.
    pub fn enabled(&self) -> bool {
        tracing::enabled!(target: "roster::access", tracing::Level::INFO)
    }

    pub fn record(&self, line: &AccessLine<'_>) {
        thread_local! {
            static BUF: std::cell::RefCell<(Vec<u8>, i64, [u8; 19])> =
                const { std::cell::RefCell::new((Vec::new(), i64::MIN, [0; 19])) };
        }
        BUF.with(|cell| {
            let Ok(mut cell) = cell.try_borrow_mut() else {
                return;
            };
            let (buf, second, prefix) = &mut *cell;
            buf.clear();
            format_line(buf, (second, prefix), self.format, line);
            self.writer.append(buf);
        });
    }
}

/// Formats `line` into `buf`; `clock` caches the date and time of the last
/// whole second seen on this thread (`YYYY-MM-DDTHH:MM:SS`).
fn format_line(
    buf: &mut Vec<u8>,
    clock: (&mut i64, &mut [u8; 19]),
    format: LogFormat,
    line: &AccessLine<'_>,
) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let (second, prefix) = clock;
    let secs = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    if *second != secs {
        let t = time::OffsetDateTime::from_unix_timestamp(secs)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        let mut p = Vec::with_capacity(19);
        let _ = write!(
            p,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        );
        if let Ok(p) = <[u8; 19]>::try_from(p.as_slice()) {
            *prefix = p;
            *second = secs;
        }
    }
    let micros = now.subsec_micros();
    let took = line.elapsed.as_micros();
    let (ms, frac) = (took / 1000, took % 1000);
    match format {
        LogFormat::Text => {
            buf.extend_from_slice(prefix);
            let _ = writeln!(
                buf,
                ".{micros:06}Z  INFO roster::access: request method={} route={} status={} duration_ms={ms}.{frac:03} request_id={}",
                line.method, line.route, line.status, line.request_id
            );
        }
        LogFormat::Json => {
            buf.extend_from_slice(b"{\"timestamp\":\"");
            buf.extend_from_slice(prefix);
            let _ = write!(
                buf,
                ".{micros:06}Z\",\"level\":\"INFO\",\"fields\":{{\"message\":\"request\",\"method\":"
            );
            let _ = serde_json::to_writer(&mut *buf, line.method);
            buf.extend_from_slice(b",\"route\":");
            let _ = serde_json::to_writer(&mut *buf, line.route);
            let _ = write!(
                buf,
                ",\"status\":{},\"duration_ms\":{ms}.{frac:03},\"request_id\":",
                line.status
            );
            let _ = serde_json::to_writer(&mut *buf, line.request_id);
            buf.extend_from_slice(b"},\"target\":\"roster::access\"}\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line() -> AccessLine<'static> {
        AccessLine {
            method: "GET",
            route: "/api/v1/orgs/{org}/check",
            status: 200,
            elapsed: Duration::from_micros(1_412),
            request_id: "id \"quoted\"",
        }
    }

    #[test]
    fn the_text_line_has_the_fields_of_the_generic_formatter() {
        let mut buf = Vec::new();
        let (mut second, mut prefix) = (i64::MIN, [0; 19]);
        format_line(
            &mut buf,
            (&mut second, &mut prefix),
            LogFormat::Text,
            &line(),
        );
        let text = String::from_utf8(buf).unwrap();
        let (stamp, rest) = text.split_once("  ").unwrap();
        assert!(
            time::OffsetDateTime::parse(stamp, &time::format_description::well_known::Rfc3339)
                .is_ok(),
            "{stamp}"
        );
        assert_eq!(
            rest,
            "INFO roster::access: request method=GET route=/api/v1/orgs/{org}/check status=200 duration_ms=1.412 request_id=id \"quoted\"\n"
        );
    }

    #[test]
    fn the_json_line_is_one_object_with_escaped_fields() {
        let mut buf = Vec::new();
        let (mut second, mut prefix) = (i64::MIN, [0; 19]);
        format_line(
            &mut buf,
            (&mut second, &mut prefix),
            LogFormat::Json,
            &line(),
        );
        assert_eq!(buf.last(), Some(&b'\n'));
        let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
        assert_eq!(v["level"], "INFO");
        assert_eq!(v["target"], "roster::access");
        assert_eq!(v["fields"]["route"], "/api/v1/orgs/{org}/check");
        assert_eq!(v["fields"]["status"], 200);
        assert_eq!(v["fields"]["duration_ms"], 1.412);
        assert_eq!(v["fields"]["request_id"], "id \"quoted\"");
        let stamp = v["timestamp"].as_str().unwrap();
        assert!(
            time::OffsetDateTime::parse(stamp, &time::format_description::well_known::Rfc3339)
                .is_ok(),
            "{stamp}"
        );
    }

    /// A sink that is slow to write, so that loggers outrun it.
    #[derive(Clone, Default)]
    struct SlowSink(Arc<Mutex<Vec<u8>>>);

    impl Write for SlowSink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            std::thread::sleep(Duration::from_millis(2));
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn check_every_line_once_in_order(high_water: usize, hard_cap: usize) {
        let sink = SlowSink::default();
        let (writer, guard) =
            LogWriter::start_to(Box::new(sink.clone()), high_water, hard_cap).unwrap();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let w = writer.clone();
                std::thread::spawn(move || {
                    for i in 0..2000 {
                        w.append(format!("t{t} line {i}\n").as_bytes());
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        drop(guard);
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 8000);
        for t in 0..4 {
            let prefix = format!("t{t} ");
            let own: Vec<&str> = lines
                .iter()
                .copied()
                .filter(|l| l.starts_with(&prefix))
                .collect();
            let expected: Vec<String> = (0..2000).map(|i| format!("t{t} line {i}")).collect();
            assert_eq!(own, expected);
        }
    }

    #[test]
    fn every_line_reaches_the_sink_once_in_order_and_the_guard_flushes_the_rest() {
        check_every_line_once_in_order(HIGH_WATER, HARD_CAP);
    }

    #[test]
    fn loggers_wait_for_a_slow_writer_rather_than_drop_lines() {
        // A cap of a few lines: loggers block on every batch, nothing is lost.
        check_every_line_once_in_order(64, 256);
    }
}
