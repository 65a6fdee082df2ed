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
        let mut s = String::new();
        s.push_str("# HELP kpledger_submissions_total Event submissions by outcome.\n");
        s.push_str("# TYPE kpledger_submissions_total counter\n");
        for (i, o) in OUTCOMES.iter().enumerate() {
            s.push_str(&format!(
                "kpledger_submissions_total{{outcome=\"{o}\"}} {}\n",
                self.outcomes[i].load(Relaxed)
            ));
        }
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
        s.push_str("# HELP kpledger_commit_groups_total Transactions of the writer (group commits).\n");
        s.push_str("# TYPE kpledger_commit_groups_total counter\n");
        s.push_str(&format!("kpledger_commit_groups_total {}\n", self.groups.load(Relaxed)));
        s.push_str(
            "# HELP kpledger_commit_grouped_submissions_total Submissions recorded by those transactions.\n",
        );
        s.push_str("# TYPE kpledger_commit_grouped_submissions_total counter\n");
        s.push_str(&format!("kpledger_commit_grouped_submissions_total {}\n", self.grouped.load(Relaxed)));
        s.push_str(
            "# HELP kpledger_connections_refused_total Connections refused at the connection limit.\n",
        );
        s.push_str("# TYPE kpledger_connections_refused_total counter\n");
        s.push_str(&format!(
            "kpledger_connections_refused_total {}\n",
            self.connections_refused.load(Relaxed)
        ));
        s.push_str("# HELP kpledger_rate_limited_total Requests answered 429, by the limit they met.\n");
        s.push_str("# TYPE kpledger_rate_limited_total counter\n");
        s.push_str(&format!("kpledger_rate_limited_total{{by=\"ip\"}} {}\n", self.limited_ip.load(Relaxed)));
        s.push_str(&format!(
            "kpledger_rate_limited_total{{by=\"key\"}} {}\n",
            self.limited_key.load(Relaxed)
        ));
        s.push_str("# HELP kpledger_checkpoints_published_total Checkpoints this service published (--checkpoint-key).\n");
        s.push_str("# TYPE kpledger_checkpoints_published_total counter\n");
        s.push_str(&format!("kpledger_checkpoints_published_total {}\n", self.checkpoints.load(Relaxed)));
        s.push_str("# HELP kpledger_checkpoint_failures_total Checkpoints this service failed to publish.\n");
        s.push_str("# TYPE kpledger_checkpoint_failures_total counter\n");
        s.push_str(&format!(
            "kpledger_checkpoint_failures_total {}\n",
            self.checkpoint_failures.load(Relaxed)
        ));
        s.push_str("# HELP kpledger_log_size Events in the log.\n");
        s.push_str("# TYPE kpledger_log_size gauge\n");
        s.push_str(&format!("kpledger_log_size {log_size}\n"));
        s.push_str(
            "# HELP kpledger_witnessing_rounds_total Witnessing rounds (--witness-policy) by outcome.\n",
        );
        s.push_str("# TYPE kpledger_witnessing_rounds_total counter\n");
        s.push_str(&format!(
            "kpledger_witnessing_rounds_total{{outcome=\"quorum\"}} {}\n",
            self.witnessed.load(Relaxed)
        ));
        s.push_str(&format!(
            "kpledger_witnessing_rounds_total{{outcome=\"short\"}} {}\n",
            self.witnessing_failures.load(Relaxed)
        ));
        s.push_str("# HELP kpledger_checkpoint_size Size of the newest published checkpoint (0: none).\n");
        s.push_str("# TYPE kpledger_checkpoint_size gauge\n");
        s.push_str(&format!("kpledger_checkpoint_size {}\n", checkpoint_size.unwrap_or(0)));
        s
    }
}
