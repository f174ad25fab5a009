//! Metrics in the Prometheus text format (`GET /metrics`) and the access
//! log.
//!
//! Each [`App`](crate::app::App) owns one [`Observer`]: a recorder of the
//! `metrics` crate (rendered by `metrics-exporter-prometheus`), used
//! through `metrics::with_local_recorder` at each (synchronous) recording
//! point, so that several servers in one process (the tests) keep their
//! own numbers. Nothing here queries the database: the outbox gauges are
//! set by a periodic task (`startup::observe_outbox`), and a scrape only
//! renders what is recorded plus the process's own figures.

use axum::http::Method;
use metrics::{describe_counter, describe_gauge, describe_histogram, Counter, Histogram, Unit};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
use std::collections::HashMap;
use std::sync::RwLock;
use std::time::Duration;

/// Histogram buckets, in seconds: from 100 µs (a check answered from
/// memory) to 10 s (a slow request).
const BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// One server's metrics.
pub struct Observer {
    recorder: Option<PrometheusRecorder>,
    handle: Option<PrometheusHandle>,
    process: metrics_process::Collector,
    /// The request series already registered, by matched route, then
    /// method and status: a request records into two atomics instead of
    /// building its labels and looking the series up in the registry.
    http: RwLock<HashMap<Box<str>, Vec<HttpSeries>>>,
    checks: CheckSeries,
}

/// One (method, route, status) series of the request metrics.
struct HttpSeries {
    method: Method,
    status: u16,
    count: Counter,
    duration: Histogram,
}

impl HttpSeries {
    fn is(&self, method: &Method, status: u16) -> bool {
        self.status == status && self.method == method
    }
}

/// The check API's series (their labels are a fixed set).
pub struct CheckSeries {
    pub allowed: Counter,
    pub denied: Counter,
    pub error: Counter,
    pub single: Histogram,
    pub batch: Histogram,
}

impl CheckSeries {
    fn noop() -> CheckSeries {
        CheckSeries {
            allowed: Counter::noop(),
            denied: Counter::noop(),
            error: Counter::noop(),
            single: Histogram::noop(),
            batch: Histogram::noop(),
        }
    }

    fn register() -> CheckSeries {
        CheckSeries {
            allowed: metrics::counter!("roster_checks_total", "decision" => "allowed"),
            denied: metrics::counter!("roster_checks_total", "decision" => "denied"),
            error: metrics::counter!("roster_checks_total", "decision" => "error"),
            single: metrics::histogram!("roster_check_duration_seconds", "kind" => "single"),
            batch: metrics::histogram!("roster_check_duration_seconds", "kind" => "batch"),
        }
    }
}

impl Observer {
    /// A recorder with every metric described; `enabled: false` records
    /// nothing and has no `/metrics`.
    pub fn new(enabled: bool) -> Observer {
        let process = metrics_process::Collector::default();
        if !enabled {
            return Observer {
                recorder: None,
                handle: None,
                process,
                http: RwLock::default(),
                checks: CheckSeries::noop(),
            };
        }
        let builder = PrometheusBuilder::new();
        // The buckets are a constant, non-empty list.
        let builder = match builder.set_buckets(BUCKETS) {
            Ok(b) => b,
            Err(_) => PrometheusBuilder::new(),
        };
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        let checks = metrics::with_local_recorder(&recorder, CheckSeries::register);
        let observer = Observer {
            recorder: Some(recorder),
            handle: Some(handle),
            process,
            http: RwLock::default(),
            checks,
        };
        observer.record(|| {
            describe_counter!(
                "roster_http_requests_total",
                "HTTP requests answered, by method, matched route and status."
            );
            describe_histogram!(
                "roster_http_request_duration_seconds",
                Unit::Seconds,
                "Time to answer an HTTP request, by method, matched route and status."
            );
            describe_counter!(
                "roster_checks_total",
                "Authorization checks answered, by decision (allowed, denied, error)."
            );
            describe_histogram!(
                "roster_check_duration_seconds",
                Unit::Seconds,
                "Time to decide the checks of one request (one check, or a batch)."
            );
            describe_counter!(
                "roster_sign_ins_total",
                "Sign-ins, by method (password, passkey, magic_link) and outcome (success, invalid_credentials, mfa_required, throttled, error)."
            );
            describe_gauge!(
                "roster_outbox_waiting",
                "Undelivered messages still being tried (refreshed every 5 s)."
            );
            describe_gauge!(
                "roster_outbox_undeliverable",
                "Messages given up after the last attempt (refreshed every 5 s)."
            );
            describe_gauge!(
                "roster_outbox_oldest_waiting_age_seconds",
                Unit::Seconds,
                "Age of the oldest message still being tried, 0 when none (refreshed every 5 s)."
            );
            describe_counter!(
                "roster_outbox_sent_total",
                "Messages delivered by this process."
            );
            describe_counter!(
                "roster_outbox_failed_attempts_total",
                "Failed delivery attempts by this process."
            );
            describe_counter!(
                "roster_outbox_given_up_total",
                "Messages this process gave up delivering."
            );
            describe_gauge!(
                "roster_revision_watch_last_success_timestamp_seconds",
                Unit::Seconds,
                "When this replica last compared its cached orgs with the database (Unix time); time() minus it is how far behind other replicas' changes it may be."
            );
            describe_gauge!(
                "roster_build_info",
                "The running build: its version as a label, value 1."
            );
            metrics::gauge!("roster_build_info", "version" => env!("CARGO_PKG_VERSION"))
                .set(1.0);
        });
        observer.record(|| observer.process.describe());
        observer
    }

    /// Whether metrics are recorded (`ROSTER_METRICS`, on by default).
    pub fn enabled(&self) -> bool {
        self.recorder.is_some()
    }

    /// Runs `f`, whose `metrics::counter!`/`histogram!`/`gauge!` calls go to
    /// this server's recorder. Does nothing when metrics are off.
    pub fn record(&self, f: impl FnOnce()) {
        if let Some(recorder) = &self.recorder {
            metrics::with_local_recorder(recorder, f);
        }
    }

    /// The check API's series (no-ops when metrics are off).
    pub fn checks(&self) -> &CheckSeries {
        &self.checks
    }

    /// Records one answered request. A series is registered the first
    /// time its (method, route, status) is seen; the number of series is
    /// bounded by the routes (an unknown path is the one route
    /// `unmatched`).
    pub fn http_request(&self, method: &Method, route: &str, status: u16, elapsed: Duration) {
        let Some(recorder) = &self.recorder else {
            return;
        };
        let seconds = elapsed.as_secs_f64();
        {
            let known = self.http.read().unwrap_or_else(|e| e.into_inner());
            if let Some(s) = known
                .get(route)
                .and_then(|list| list.iter().find(|s| s.is(method, status)))
            {
                s.count.increment(1);
                s.duration.record(seconds);
                return;
            }
        }
        let mut known = self.http.write().unwrap_or_else(|e| e.into_inner());
        let list = known.entry(route.into()).or_default();
        let i = match list.iter().position(|s| s.is(method, status)) {
            Some(i) => i,
            None => {
                let labels = [
                    ("method", method.as_str().to_owned()),
                    ("route", route.to_owned()),
                    ("status", status.to_string()),
                ];
                list.push(metrics::with_local_recorder(recorder, || HttpSeries {
                    method: method.clone(),
                    status,
                    count: metrics::counter!("roster_http_requests_total", &labels),
                    duration: metrics::histogram!("roster_http_request_duration_seconds", &labels),
                }));
                list.len() - 1
            }
        };
        list[i].count.increment(1);
        list[i].duration.record(seconds);
    }

    /// The text exposition of every metric, with the process's figures
    /// read now (from /proc, not the database).
    pub fn render(&self) -> Option<String> {
        let handle = self.handle.as_ref()?;
        self.record(|| self.process.collect());
        Some(handle.render())
    }

    /// Drains histogram data; run periodically.
    pub fn upkeep(&self) {
        if let Some(handle) = &self.handle {
            handle.run_upkeep();
        }
    }
}

/// Seconds as Prometheus wants them.
pub fn seconds(d: Duration) -> f64 {
    d.as_secs_f64()
}
