//! Arguments: service.

use std::path::PathBuf;

use clap::Args;
use kpledger_model::ActorId;

use super::{CaArgs, value};

/// Serve the ledger over HTTP: signed submissions, signed reads, the log as tlog-tiles
///
/// The national authority's service. The trade posts signed events (made with --out) to
/// POST /v1/events; they are judged by the same rules as `kpledger ingest` and recorded in
/// groups, each acknowledged only once its transaction is on disk. Reads of trade data need
/// an RFC 9421 signature by an enrolled actor; the log (/checkpoint, /tile/…) is public.
/// The API is described in schemas/openapi.json (also served at /openapi.json). The first
/// line printed is `listening on http://ADDRESS` (https:// with --tls-cert); port 0 picks a
/// free port. HTTPS with --tls-cert and --tls-key, or plain HTTP behind a TLS reverse proxy
/// (README) whose address is given with --public-url.
///
/// Example: kpledger serve --ledger sl.kpl --listen 127.0.0.1:8080   (runs until stopped)
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The ledger file (made with `kpledger init`)
    #[arg(long, env = "KPLEDGER_LEDGER")]
    pub(crate) ledger: PathBuf,
    /// Address and port to listen on (port 0: any free port)
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub(crate) listen: std::net::SocketAddr,
    #[command(flatten)]
    pub(crate) limits: LimitArgs,
    /// Seconds a signed read's `created` may differ from the server's clock
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub(crate) replay_window: u64,
    #[command(flatten)]
    pub(crate) checkpoints: CheckpointArgs,
    /// Seconds a posted handover offer waits for its buyer
    #[arg(long, default_value_t = 7 * 24 * 3600, value_name = "SECONDS")]
    pub(crate) offer_ttl: u64,
    /// Most handover offers waiting at once
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    pub(crate) max_offers: usize,
    /// The scheme and host clients use (signed reads cover the full URI), e.g.
    /// https://ledger.nma.gov.sl behind a reverse proxy; default http:// and the Host header
    #[arg(long, value_name = "URL")]
    pub(crate) public_url: Option<String>,
    #[command(flatten)]
    pub(crate) rates: RateArgs,
    /// Serve HTTPS (TLS 1.2 and 1.3) with this certificate chain, PEM, leaf first
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub(crate) tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert, PEM (PKCS#8, PKCS#1 or SEC1)
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub(crate) tls_key: Option<PathBuf>,
    /// Publish the log (C2SP tlog-tiles) and each certificate's evidence bundle to this
    /// bucket (s3://BUCKET/PREFIX) or directory whenever a newer checkpoint is stored, as
    /// `kpledger log tiles --bundles` does: immutable objects first, the checkpoint last
    #[arg(long, value_name = "OUT")]
    pub(crate) publish: Option<String>,
    /// Seconds between looks for a newer checkpoint to publish with --publish
    #[arg(long, default_value_t = 10, value_name = "SECONDS", requires = "publish")]
    pub(crate) publish_every: u64,
    /// The S3-compatible endpoint of --publish (default: AWS, or AWS_ENDPOINT_URL)
    #[arg(long, value_name = "URL", requires = "publish")]
    pub(crate) s3_endpoint: Option<String>,
}

/// What the service takes from one connection and one request, and how much work waits for
/// its writer.
#[derive(Debug, Args)]
pub(crate) struct LimitArgs {
    /// Largest request body, bytes (413 beyond)
    #[arg(long, default_value_t = 4 << 20, value_name = "BYTES")]
    pub(crate) max_body: usize,
    /// Most events in one submission (413 beyond)
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub(crate) max_events: usize,
    /// Most connections open at once (a connection beyond is answered 503 and closed)
    #[arg(long, default_value_t = 256, value_name = "N")]
    pub(crate) max_connections: usize,
    /// Seconds a client has to send a request's headers before the connection is closed
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    pub(crate) header_timeout: u64,
    /// Seconds a whole request may take, body included (408 after)
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub(crate) request_timeout: u64,
    /// Submissions waiting for the writer before new ones get 503 with Retry-After
    #[arg(long, default_value_t = 1024, value_name = "N")]
    pub(crate) queue: usize,
    /// Most submissions recorded in one transaction (group commit)
    #[arg(long, default_value_t = 256, value_name = "N")]
    pub(crate) group: usize,
    /// Milliseconds the writer waits, after a group's first submission, for submissions still
    /// being checked, so that they share one commit (never when none is on its way; 0: never)
    #[arg(long, default_value_t = 2, value_name = "MS")]
    pub(crate) group_wait: u64,
}

/// The checkpoints the service publishes itself, and the witnesses it asks to cosign them.
#[derive(Debug, Args)]
pub(crate) struct CheckpointArgs {
    /// The root authority's private key: the service then publishes a checkpoint every
    /// --checkpoint-every seconds when the log has grown (without it, publish with
    /// `kpledger log publish`)
    #[arg(long, value_name = "KEY")]
    pub(crate) checkpoint_key: Option<PathBuf>,
    /// Seconds between checkpoints published with --checkpoint-key
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    pub(crate) checkpoint_every: u64,
    /// A C2SP tlog-policy whose `witness` lines give URLs: every --checkpoint-every seconds,
    /// the newest checkpoint not yet cosigned by all of them is sent to each (C2SP
    /// tlog-witness) and the cosignatures that verify are stored, as `kpledger log witness`
    /// does; a checkpoint counts as published for bundles once the quorum has cosigned it
    #[arg(long, value_name = "POLICY")]
    pub(crate) witness_policy: Option<PathBuf>,
}

/// How many requests a client address and an enrolled actor may make.
#[derive(Debug, Args)]
pub(crate) struct RateArgs {
    /// Requests a second from one client address (IPv6: its /64), any route; 429 with
    /// Retry-After beyond (0: no limit)
    #[arg(long, default_value_t = 200, value_name = "N")]
    pub(crate) rate_ip: u32,
    /// Requests one client address may send at once after a quiet spell
    #[arg(long, default_value_t = 400, value_name = "N")]
    pub(crate) burst_ip: u32,
    /// Requests a second signed by one enrolled actor (reads, submissions, offers), counted
    /// once the signature verified; 429 with Retry-After beyond (0: no limit)
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub(crate) rate_key: u32,
    /// Requests one actor may sign at once after a quiet spell
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub(crate) burst_key: u32,
    /// Most clients (and most actors) whose rates are remembered; when full, the least
    /// recently seen half is forgotten
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    pub(crate) rate_buckets: usize,
    /// A reverse proxy whose X-Forwarded-For is believed for --rate-ip (repeat for several);
    /// from other addresses the header is ignored
    #[arg(long, value_name = "IP")]
    pub(crate) trusted_proxy: Vec<std::net::IpAddr>,
}

/// Post signed event files (made with --out) and handover offers to a kpledger server
///
/// Each FILE is one submission: one signed event (JSON) or several, one per line (.jsonl),
/// recorded all or none. A handover offer (`kpledger handover offer --out`) is posted to
/// /v1/offers, where its buyer fetches it (`kpledger get … /v1/offers`). Prints each event's position in the log; an event already recorded
/// is reported, not recorded twice, so a retry is safe. A busy server (503) or a rate limit
/// (429) is retried after the delay it gives, five times at most. Exit 1 when the ledger's rules refuse a
/// submission (the findings are printed), 2 when it cannot be sent.
///
/// Example: kpledger submit --server http://127.0.0.1:8080 handover.json   (needs a running kpledger serve)
#[derive(Debug, Args)]
pub(crate) struct SubmitArgs {
    /// The server's base URL
    #[arg(long, env = "KPLEDGER_SERVER")]
    pub(crate) server: String,
    #[command(flatten)]
    pub(crate) ca: CaArgs,
    /// Signed event files (.json: one event; .jsonl: one per line)
    #[arg(required = true)]
    pub(crate) files: Vec<PathBuf>,
    /// Print the server's answers as JSON, one line per file
    #[arg(long)]
    pub(crate) json: bool,
}

/// Read from a kpledger server as an enrolled actor (an RFC 9421 signed GET)
///
/// PATH is the API path: /v1/parcels/ID (state and head hash), /v1/parcels/ID/history,
/// /v1/events/HASH, /v1/events?after=SEQ&limit=N, /v1/certificates/NUMBER,
/// /v1/certificates/NUMBER/bundle, /v1/actors (schemas/openapi.json). The request is signed
/// with KEY as actor --as; the server answers 401 to an unsigned, stale or replayed
/// request and 403 when the actor may not read it. Prints the body, or writes it to --out.
///
/// Example: kpledger get --server http://127.0.0.1:8080 --key gems.pem --as sl.exporter.kono-gems
///   /v1/certificates/SL-2026-004312/bundle --out SL-2026-004312.json   (needs a running kpledger serve)
///
/// Over HTTPS, from a server whose certificate the authority's private CA issued (--ca-cert,
/// on every command that takes --server):
///
/// Example: kpledger get --server https://ledger.nma.gov.sl --ca-cert nma-ca.pem --key gems.pem
///   --as sl.exporter.kono-gems /v1/actors   (needs a running kpledger serve with a certificate from that CA)
#[derive(Debug, Args)]
pub(crate) struct GetArgs {
    /// The server's base URL
    #[arg(long, env = "KPLEDGER_SERVER")]
    pub(crate) server: String,
    #[command(flatten)]
    pub(crate) ca: CaArgs,
    /// The actor's private key (PKCS#8 PEM)
    #[arg(long)]
    pub(crate) key: PathBuf,
    /// The actor id enrolled with this key
    #[arg(long = "as", value_name = "ACTOR", value_parser = value::actor)]
    pub(crate) as_actor: ActorId,
    /// The API path, starting with /
    pub(crate) path: String,
    /// Write the body to this new file instead of printing it
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
}

/// Measure ingest and verification against the raw cost of the cryptography
///
/// Builds a synthetic national ledger (the demo's actors, its trade repeated, one KP
/// certificate per export lot) and ingests it into a new ledger. Then, in turn, for each
/// of --rounds rounds: the raw bounds on the ledger's own signatures and bytes
/// (verify_strict on one core and on all cores, batch verification, SHA-256, SQLite
/// inserts), and the whole ledger verified strictly and in batches; each figure keeps its
/// best round. Last, one certificate's bundle of about 1,000 events and the peak memory
/// of `verify --ledger` in a child process. Prints each figure and the ratios the
/// performance targets are stated in. Absolute figures vary with the machine and its
/// load; the ratios are what to compare.
///
/// The default runs for about a minute and a half. Examples:
///   kpledger bench   (runs for about a minute and a half)
///   kpledger bench --parcels 435000 --json   (runs for about 15 minutes: 10^6 events)
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct BenchArgs {
    /// Parcels to mine (about 2.3 events each)
    #[arg(long, default_value_t = 30_000)]
    pub(crate) parcels: u64,
    /// Parcels per export lot (each lot's bundle holds about 2.3 events per parcel + 40)
    #[arg(long, default_value_t = 420)]
    pub(crate) lot_parcels: u32,
    /// Directory for the generated ledger and bundle (new or empty; default: a temporary
    /// directory, removed afterwards)
    #[arg(long)]
    pub(crate) dir: Option<PathBuf>,
    /// Rounds of the raw bounds and of both verifications, interleaved; each figure is
    /// its best round (a transient slowdown of a shared machine then spoils neither side
    /// of a ratio)
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=10))]
    pub(crate) rounds: u32,
    /// Print the figures as JSON
    #[arg(long)]
    pub(crate) json: bool,
    /// Also measure ingest and verification on this empty PostgreSQL database
    /// (postgres://USER:PASSWORD@HOST/DB), beside SQLite, on the same events
    #[arg(long, value_name = "URL")]
    pub(crate) ledger: Option<String>,
}
