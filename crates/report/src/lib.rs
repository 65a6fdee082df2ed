//! # kpledger-report
//!
//! Regulator reports from signed events: KP (Annex III) statistics, statistical red flags
//! (docs/RULES.md: ST-1..ST-5, SW-1), provenance graphs (DOT and SVG) and one
//! self-contained HTML report.
//!
//! **Boundary:** like `kpledger-verify`, this crate reads no file, database, clock or
//! network: the CLI hands it events (from a ledger or a bundle), the verification report
//! and the stored checkpoints, and gets values and strings back. "Now" is the time of the
//! latest event. Weights are points (0.01 ct) and money is US cents, as integers; floats
//! appear only in `charts`, to place shapes on a canvas.
//!
//! - [`Book`] reads the events once: parcels with their composition by origin and mine
//!   site, extractions, handovers, certificates, imports, and the steps of every parcel.
//! - [`red_flags`] raises the warnings, with thresholds and benchmarks from the
//!   countries' signed policies.
//! - [`Stats::compute`] gives the statistics of a [`Period`] (table, JSON, CSV).
//! - [`graph_dot`] / [`graph_svg`] draw a certificate's or parcel's provenance.
//! - [`render_html`] assembles the report.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod book;
mod charts;
mod flags;
mod fmt;
mod graph;
mod html;
mod period;
mod stats;

pub use book::Book;
pub use flags::{Flag, red_flags};
pub use fmt::{text_table, text_table_of};
pub use graph::{Target, graph_dot, graph_svg};
pub use html::{CheckpointStatus, HtmlInput, checkpoint_status, render_html};
pub use period::Period;
pub use stats::{STATS_FORMAT, Stats};

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// A period could not be read.
    #[error("{0}")]
    Period(String),
    /// The certificate or parcel is not in the events.
    #[error("{0} is not in this ledger or bundle")]
    NotFound(String),
    /// The graph could not be laid out.
    #[error("cannot lay out the provenance graph: {0}")]
    Graph(String),
    /// A chart could not be drawn.
    #[error("cannot draw a chart: {0}")]
    Chart(String),
    /// A stored checkpoint could not be read.
    #[error("cannot read a stored checkpoint: {0}")]
    Checkpoint(String),
    /// CSV output failed.
    #[error("cannot write CSV: {0}")]
    Csv(String),
}

impl From<csv::Error> for ReportError {
    fn from(e: csv::Error) -> Self {
        ReportError::Csv(e.to_string())
    }
}
