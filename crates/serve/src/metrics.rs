//! Counters for `GET /metrics` (Prometheus text format 0.0.4). Integers only: latencies are
//! counted in microsecond buckets and printed in seconds as fixed decimal strings.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Submission outcomes, in the order of [`Metrics::outcomes`].
pub(crate) const OUTCOMES: [&str; 8] =
    ["created", "duplicate", "refused", "malformed", "too_large", "rate_limited", "busy", "error"];

/// Upper bounds of the latency buckets, microseconds, and the same in seconds as printed.
const BUCKETS: [(u64, &str); 10] = [
    (1_000, "0.001"),
    (2_500, "0.0025"),
    (5_000, "0.005"),
    (10_000, "0.01"),
    (25_000, "0.025"),
    (50_000, "0.05"),
    (100_000, "0.1"),
    (250_000, "0.25"),
    (1_000_000, "1"),
    (5_000_000, "5"),
];

#[derive(Debug, Default)]
pub(crate) struct Metrics {
    outcomes: [AtomicU64; 8],
    reads_refused: AtomicU64,
    buckets: [AtomicU64; 10],
    latency_count: AtomicU64,
    latency_sum_us: AtomicU64,
    connections_refused: AtomicU64,
    groups: AtomicU64,
    grouped: AtomicU64,
    checkpoints: AtomicU64,
    checkpoint_failures: AtomicU64,
    witnessed: AtomicU64,
    witnessing_failures: AtomicU64,
    limited_ip: AtomicU64,
    limited_key: AtomicU64,
}

impl Metrics {
    pub(crate) fn outcome(&self, name: &str) {
        if let Some(i) = OUTCOMES.iter().position(|o| *o == name) {
            self.outcomes[i].fetch_add(1, Relaxed);
        }
    }

    pub(crate) fn latency(&self, micros: u64) {
        self.latency_count.fetch_add(1, Relaxed);
        self.latency_sum_us.fetch_add(micros, Relaxed);
        for (i, (bound, _)) in BUCKETS.iter().enumerate() {
            if micros <= *bound {
                self.buckets[i].fetch_add(1, Relaxed);
            }
        }
    }

    pub(crate) fn read_refused(&self) {
        self.reads_refused.fetch_add(1, Relaxed);
    }

    /// A request over its rate: by an actor's key, or by a client address.
    pub(crate) fn rate_limited(&self, by_key: bool) {
        if by_key { &self.limited_key } else { &self.limited_ip }.fetch_add(1, Relaxed);
    }

    pub(crate) fn connection_refused(&self) {
        self.connections_refused.fetch_add(1, Relaxed);
    }

    pub(crate) fn group(&self, submissions: usize) {
        self.groups.fetch_add(1, Relaxed);
        self.grouped.fetch_add(submissions as u64, Relaxed);
    }

    pub(crate) fn checkpoint_published(&self) {
        self.checkpoints.fetch_add(1, Relaxed);
    }

    /// A witnessing round: it left the newest checkpoint cosigned by the quorum, or not.
    pub(crate) fn witnessing(&self, quorum_met: bool) {
        if quorum_met {
            self.witnessed.fetch_add(1, Relaxed);
        } else {
            self.witnessing_failures.fetch_add(1, Relaxed);
        }
    }

    pub(crate) fn checkpoint_failed(&self) {
        self.checkpoint_failures.fetch_add(1, Relaxed);
    }

    /// The text exposition, with the log's size and newest checkpoint's size.
    pub(crate) fn render(&self, log_size: u64, checkpoint_size: Option<u64>) -> String {
        let n = |a: &AtomicU64| a.load(Relaxed);
        let mut s = String::new();
        let outcomes: Vec<(String, u64)> = OUTCOMES
            .iter()
            .zip(&self.outcomes)
            .map(|(o, c)| (format!("{{outcome=\"{o}\"}}"), n(c)))
            .collect();
        family(&mut s, "kpledger_submissions_total", "counter", "Event submissions by outcome.", &outcomes);
        s.push_str("# HELP kpledger_submission_seconds Time from a submission's arrival to its answer.\n");
        s.push_str("# TYPE kpledger_submission_seconds histogram\n");
        for (i, (_, label)) in BUCKETS.iter().enumerate() {
            s.push_str(&format!(
                "kpledger_submission_seconds_bucket{{le=\"{label}\"}} {}\n",
                self.buckets[i].load(Relaxed)
            ));
        }
        let count = self.latency_count.load(Relaxed);
        let sum = self.latency_sum_us.load(Relaxed);
        s.push_str(&format!("kpledger_submission_seconds_bucket{{le=\"+Inf\"}} {count}\n"));
        s.push_str(&format!("kpledger_submission_seconds_sum {}.{:06}\n", sum / 1_000_000, sum % 1_000_000));
        s.push_str(&format!("kpledger_submission_seconds_count {count}\n"));
        let one = |v: u64| vec![(String::new(), v)];
        let by = |label: &str, pairs: [(&str, u64); 2]| -> Vec<(String, u64)> {
            pairs.iter().map(|(k, v)| (format!("{{{label}=\"{k}\"}}"), *v)).collect()
        };
        let counter = |name, help, samples| -> Family<'_> { (name, "counter", help, samples) };
        let gauge = |name, help, v| -> Family<'_> { (name, "gauge", help, one(v)) };
        let families: [Family<'_>; 10] = [
            counter(
                "kpledger_commit_groups_total",
                "Transactions of the writer (group commits).",
                one(n(&self.groups)),
            ),
            counter(
                "kpledger_commit_grouped_submissions_total",
                "Submissions recorded by those transactions.",
                one(n(&self.grouped)),
            ),
            counter(
                "kpledger_connections_refused_total",
                "Connections refused at the connection limit.",
                one(n(&self.connections_refused)),
            ),
            counter(
                "kpledger_rate_limited_total",
                "Requests answered 429, by the limit they met.",
                by("by", [("ip", n(&self.limited_ip)), ("key", n(&self.limited_key))]),
            ),
            counter(
                "kpledger_reads_refused_total",
                "Signed reads refused as unauthenticated (401).",
                one(n(&self.reads_refused)),
            ),
            counter(
                "kpledger_checkpoints_published_total",
                "Checkpoints this service published (--checkpoint-key).",
                one(n(&self.checkpoints)),
            ),
            counter(
                "kpledger_checkpoint_failures_total",
                "Checkpoints this service failed to publish.",
                one(n(&self.checkpoint_failures)),
            ),
            gauge("kpledger_log_size", "Events in the log.", log_size),
            counter(
                "kpledger_witnessing_rounds_total",
                "Witnessing rounds (--witness-policy) by outcome.",
                by("outcome", [("quorum", n(&self.witnessed)), ("short", n(&self.witnessing_failures))]),
            ),
            gauge(
                "kpledger_checkpoint_size",
                "Size of the newest published checkpoint (0: none).",
                checkpoint_size.unwrap_or(0),
            ),
        ];
        for (name, kind, help, samples) in &families {
            family(&mut s, name, kind, help, samples);
        }
        s
    }
}

/// A metric family: name, type, help, and its samples (labels, value).
type Family<'a> = (&'a str, &'a str, &'a str, Vec<(String, u64)>);

/// One metric family: its HELP and TYPE lines, then a line per sample (`labels` as written
/// after the name, e.g. `{outcome="created"}`, or empty).
fn family(s: &mut String, name: &str, kind: &str, help: &str, samples: &[(String, u64)]) {
    s.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
    for (labels, value) in samples {
        s.push_str(&format!("{name}{labels} {value}\n"));
    }
}
