//! Command-line arguments. Help text is written to teach: every command says what it is
//! for in the trade, and shows an example.
//!
//! Every `Example:` (and every line after `Examples:`) runs in tests/e2e/readme.rs, in the
//! directory the README's step-by-step leaves, prepared as that test's `PREPARE_EXAMPLES`
//! says (open parcels with fixed ids, an offer, a later checkpoint): write examples that run
//! there, with real file names and ids, and `--time` for signed events. A trailing remark in
//! parentheses is for the reader; `(exit N)` gives its exit code, `(needs …)`/`(runs …)` marks
//! one the test cannot run.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

mod certificate;
mod epcis;
mod governance;
mod ledger;
mod log;
mod query;
mod trade;
mod witness;

pub(crate) use certificate::*;
pub(crate) use epcis::*;
pub(crate) use governance::*;
pub(crate) use ledger::*;
pub(crate) use log::*;
pub(crate) use query::*;
pub(crate) use trade::*;
pub(crate) use witness::*;

const AFTER_HELP: &str = "\
Exit codes: 0 success (or verified, warnings allowed), 1 verification ran and found an error \
(or the ledger's rules refused an event), 2 could not run (usage, unreadable or invalid input, \
not a ledger, locked, newer schema).

A parcel id or an event hash may be given by a unique prefix of at least 8 hex digits, as tables \
show it (e.g. 019cb030-95a0-72d7); a prefix several ids share is refused with the list of them.

Start with `kpledger demo` to see a whole Mano River Union scenario; `kpledger rules` lists what \
verification checks. The README of the kpledger repository walks through the trade flow step by step.";

/// kpledger: a tamper-evident custody ledger for rough-diamond parcels, from mine site to
/// export, for Kimberley Process authorities and the licensed trade.
#[derive(Debug, Parser)]
#[command(name = "kpledger", version, after_help = AFTER_HELP, propagate_version = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

// Parsed once per run: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Build a realistic Mano River Union ledger, verify it, and print a summary
    ///
    /// Enrols the four national KP authorities, their mine sites and licensed actors, mines
    /// parcels in Sierra Leone, Liberia, Guinea and Cote d'Ivoire, trades them along each
    /// country's legal chain, splits and merges them, values and seals the export lots.
    /// Writes DIR/ledger.kpl, DIR/keys/ (demo keys: public knowledge, never use them for
    /// real), DIR/manifest.json, and the regulator's report DIR/report.html with the KP
    /// statistics DIR/stats.txt, stats.json and stats.csv (see `kpledger report`, `stats`).
    ///
    /// Example: kpledger demo mru --parcels 40
    Demo {
        /// Directory to write into; must be new or empty
        #[arg(default_value = "kpledger-demo")]
        dir: PathBuf,
        /// How many parcels to mine across the four countries (at least 8)
        #[arg(long, default_value_t = 24)]
        parcels: u32,
        /// Print the summary as JSON
        #[arg(long)]
        json: bool,
    },
    /// Verify a whole ledger, or one certificate's evidence bundle offline
    ///
    /// With --ledger: every stored event, signature, chain, weight, licence and stored value.
    /// With BUNDLE: the certificate's whole provenance, replayed through the same rules with
    /// no database, judged against the importer's trust policy (--policy): the log's root key,
    /// the witnesses and their quorum, and the authorities trusted for each issuing country
    /// (docs/SPEC.md §14.5). Nothing in the bundle is trusted on its own.
    ///
    /// Exit 0 when verified (warnings allowed), 1 when an error was found, 2 when it could
    /// not run (a policy line that cannot be read is named).
    ///
    /// Examples:
    ///   kpledger verify --ledger kpledger-demo/ledger.kpl
    ///   kpledger verify kpledger-demo/bundles/SL-2026-004312.json --policy kpledger-demo/trust-policy.txt
    #[command(verbatim_doc_comment)]
    Verify {
        /// An evidence bundle to verify offline (needs --policy)
        #[arg(conflicts_with = "ledger", required_unless_present = "ledger")]
        bundle: Option<PathBuf>,
        /// The ledger file to verify
        #[arg(long)]
        ledger: Option<PathBuf>,
        /// The importing authority's trust policy (C2SP tlog-policy lines plus
        /// `kpledger-issuer` lines; docs/SPEC.md §14.5), for BUNDLE; with --ledger, the
        /// ledger's root authority key must be the log key it pins (LOG-2)
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
        #[command(flatten)]
        removed: RemovedTrustFlags,
        /// Check signatures in batches (about twice as fast). Same verdicts as the default
        /// one-by-one `verify_strict`, except for a signature whose R point carries a
        /// small-order component, which only its key holder can make and which ingest
        /// refuses (SECURITY.md)
        #[arg(long)]
        batch: bool,
        /// Also raise the statistical red flags (ST-1..ST-5, SW-1; `kpledger stats` and
        /// `kpledger report` always show them) as warnings. They keep a summary of the whole
        /// history in memory (about 1.7 GiB for a million events), while the rules alone need
        /// memory only for the open parcels, whatever the ledger's size
        #[arg(long)]
        red_flags: bool,
        /// Print the report as JSON (schemas/report.schema.json)
        #[arg(long)]
        json: bool,
        /// Seconds to wait for another process's lock on the ledger (default 5; with --ledger
        /// only: a bundle file has no lock)
        #[arg(long, value_name = "SECONDS")]
        wait: Option<u64>,
    },
    /// Issue, export, confirm and list KP certificates
    #[command(subcommand)]
    Certificate(CertificateCmd),
    /// A transit country's authority records a certified shipment passing through (TR-1)
    ///
    /// KPCS Section III(d): a Participant through whose territory a shipment transits checks
    /// that it leaves as it entered, unopened, its seals and certificate intact. Sign with the
    /// transit country's authority key: the transit country is the signer's country. What was
    /// found defaults to what the certificate states; give what you actually found. The ledger
    /// refuses (TR-1, exit 1) a container opened in transit, seals on exit other than those on
    /// entry and on the certificate, carats or parcels on exit other than on entry, or not the
    /// certificate's (carats short by at most the issuing country's tolerance), and a shipment
    /// that was not exported or was already received.
    ///
    /// Example, Guinea's shipment to Dubai through Sierra Leone (after `kpledger demo`):
    ///   kpledger transit --ledger kpledger-demo/ledger.kpl --key kpledger-demo/keys/sl.nma.pem \
    ///     --number GN-2026-000117
    #[command(verbatim_doc_comment)]
    Transit {
        #[command(flatten)]
        sign: SignArgs,
        /// The certificate number
        #[arg(long)]
        number: String,
        /// Carats weighed on entry (default: the certificate's)
        #[arg(long)]
        carats_in: Option<String>,
        /// Carats weighed on exit (default: as on entry)
        #[arg(long)]
        carats_out: Option<String>,
        /// Parcels counted on entry (default: the certificate's)
        #[arg(long)]
        parcels_in: Option<u32>,
        /// Parcels counted on exit (default: as on entry)
        #[arg(long)]
        parcels_out: Option<u32>,
        /// A container seal found on entry; repeat for each (default: the certificate's seals)
        #[arg(long = "seal-in", value_name = "SEAL")]
        seals_in: Vec<String>,
        /// A container seal found on exit; repeat for each (default: as on entry)
        #[arg(long = "seal-out", value_name = "SEAL")]
        seals_out: Vec<String>,
        /// The container was opened in transit
        #[arg(long)]
        opened: bool,
    },
    /// The transparency log: publish checkpoints, add witness cosignatures, prove inclusion and consistency
    #[command(subcommand)]
    Log(LogCmd),
    /// Witness another authority's log: cosign a checkpoint only if it extends the last one
    #[command(subcommand)]
    Witness(WitnessCmd),
    /// Write and check an importing authority's trust policy (the file `verify --policy` reads)
    #[command(subcommand)]
    Trust(TrustCmd),
    /// GS1 EPCIS 2.0 interchange: export events as EPCIS, cross-check a partner's EPCIS file
    #[command(subcommand)]
    Epcis(EpcisCmd),
    /// Write a certificate's evidence bundle: one JSON file an importer verifies offline
    ///
    /// Example: kpledger bundle --ledger sl.kpl --certificate SL-2026-004312 --out sl-bundle.json
    Bundle {
        /// The ledger file
        #[arg(long, env = "KPLEDGER_LEDGER")]
        ledger: PathBuf,
        /// The certificate number
        #[arg(long)]
        certificate: String,
        /// Where to write the bundle
        #[arg(long)]
        out: PathBuf,
        /// Take the newest checkpoint cosigned by this trust policy's witness quorum (a
        /// checkpoint counts as published once the quorum cosigned it); default: the newest
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
        #[command(flatten)]
        open: OpenArgs,
    },
    /// Make and inspect Ed25519 keys (PKCS#8 PEM, interchangeable with openssl)
    #[command(subcommand)]
    Key(KeyCmd),
    /// Create a new ledger, signed into being by its root authority
    ///
    /// Example: kpledger init --ledger lr.kpl --origin kpledger.lr/national --id lr.gdo
    ///   --name "Government Diamond Office" --country LR --key lr.pem
    Init {
        /// The ledger file to create (must not exist)
        #[arg(long, env = "KPLEDGER_LEDGER")]
        ledger: PathBuf,
        /// The log origin name, e.g. kpledger.sl/national
        #[arg(long)]
        origin: String,
        /// The root authority's actor id, e.g. sl.nma
        #[arg(long)]
        id: String,
        /// The root authority's name
        #[arg(long)]
        name: String,
        /// The root authority's country (ISO 3166-1 alpha-2)
        #[arg(long)]
        country: String,
        /// The root authority's private key
        #[arg(long)]
        key: PathBuf,
        /// Time of signing (default: now), e.g. 2026-03-01T09:00:00Z
        #[arg(long)]
        time: Option<String>,
    },
    /// Publish a country's policy (the rules' national values) into the ledger
    #[command(subcommand)]
    Policy(PolicyCmd),
    /// Enrol, rotate, revoke and list licensed actors
    #[command(subcommand)]
    Actor(ActorCmd),
    /// Register and list licensed mine sites
    #[command(subcommand)]
    Site(SiteCmd),
    /// A miner registers a new parcel at a licensed mine site
    ///
    /// Example: kpledger extract --ledger sl.kpl --key koroma.pem --site sl.kono.koidu-12
    ///   --weight 12.34 --stones 9 --hs 7102.31 --time 2026-03-20T09:00:00Z
    Extract {
        #[command(flatten)]
        sign: SignArgs,
        /// The mine site
        #[arg(long)]
        site: String,
        /// Weight in carats, at most two decimals (e.g. 12.34)
        #[arg(long)]
        weight: String,
        /// Number of stones
        #[arg(long)]
        stones: u32,
        /// HS code: 7102.10 (unsorted), 7102.21 (industrial) or 7102.31 (gem)
        #[arg(long, default_value = "7102.10")]
        hs: String,
        /// Parcel id to use (default: a new UUID v7)
        #[arg(long)]
        parcel: Option<String>,
    },
    /// Hand a parcel over: the holder offers, the receiver re-weighs and accepts
    #[command(subcommand)]
    Handover(HandoverCmd),
    /// The holder splits a parcel into several (e.g. sorting by size)
    ///
    /// Example: kpledger split --ledger sl.kpl --key kamara.pem --parcel 019d0000-0000-7000-8000-00000000000b
    ///   --into 7.20 --into 5.14 --time 2026-03-20T09:00:00Z
    Split {
        #[command(flatten)]
        sign: SignArgs,
        #[command(flatten)]
        card: CardArgs,
        /// The parcel to split
        #[arg(long)]
        parcel: String,
        /// Weight of each part in carats (give one --into per part)
        #[arg(long = "into", required = true, num_args = 1)]
        into: Vec<String>,
        /// Stones in each part, in the same order (default: shared by weight)
        #[arg(long = "stones", num_args = 1)]
        stones: Vec<u32>,
    },
    /// The holder merges parcels into one (e.g. assembling an export lot)
    ///
    /// Example: kpledger merge --ledger sl.kpl --key kamara.pem --parcel 019d0000-0000-7000-8000-00000000000b
    ///   --parcel 019d0000-0000-7000-8000-00000000000c --time 2026-03-20T09:00:00Z
    Merge {
        #[command(flatten)]
        sign: SignArgs,
        #[command(flatten)]
        card: CardArgs,
        /// The parcels to merge (two or more; with --card, the cards' parcels by default)
        #[arg(long = "parcel", required_unless_present = "card", num_args = 1)]
        parcels: Vec<String>,
        /// Weight of the merged parcel in carats (default: the sum of the inputs)
        #[arg(long)]
        weight: Option<String>,
    },
    /// Government valuer records the official valuation of an export lot
    ///
    /// Example: kpledger value --ledger sl.kpl --key pmt.pem --parcel 019d0000-0000-7000-8000-00000000000f
    ///   --exporter 41000 --government 42640 --independent 41820 --time 2026-03-20T09:00:00Z
    Value {
        #[command(flatten)]
        sign: SignArgs,
        #[command(flatten)]
        card: CardArgs,
        /// The parcel
        #[arg(long)]
        parcel: String,
        /// The exporter's declared value, US$
        #[arg(long)]
        exporter: String,
        /// The government valuer's value, US$
        #[arg(long)]
        government: String,
        /// The independent valuer's value, US$
        #[arg(long)]
        independent: Option<String>,
        /// Final value, US$ (default: by the country's valuation rule)
        #[arg(long = "final")]
        final_value: Option<String>,
        /// Export duty, US$ (default: the country's rate applied to the final value; with
        /// --card, where the ledger's policy is not at hand, give it, with --final: ingest checks
        /// both against the policy in force, EX-2)
        #[arg(long)]
        duty: Option<String>,
        /// Weight found at valuation in carats (default: the parcel's weight)
        #[arg(long)]
        weight: Option<String>,
    },
    /// The authority seals an export lot in a tamper-resistant container
    ///
    /// Example: kpledger seal --ledger sl.kpl --key nma.pem --parcel 019d0000-0000-7000-8000-000000000010
    ///   --seal SL-SEAL-2026-0102 --time 2026-03-20T09:00:00Z
    Seal {
        #[command(flatten)]
        sign: SignArgs,
        #[command(flatten)]
        card: CardArgs,
        /// The parcel
        #[arg(long)]
        parcel: String,
        /// Container seal number, of A-Z, 0-9, '-', '.', '/' (repeat for several)
        #[arg(long = "seal", required = true, num_args = 1)]
        seals: Vec<String>,
    },
    /// Append signed event files (made offline with --out) to the ledger
    ///
    /// Each FILE holds one signed event (JSON) or one per line (.jsonl). All files are
    /// appended in one transaction: all of them, or none.
    ///
    /// Example: kpledger ingest --ledger sl.kpl handover.json
    Ingest {
        /// The ledger file
        #[arg(long, env = "KPLEDGER_LEDGER")]
        ledger: PathBuf,
        /// Signed event files
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Check the events against the ledger without appending them
        #[arg(long)]
        dry_run: bool,
        /// Print the result as JSON
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        open: OpenArgs,
    },
    /// Serve the ledger over HTTP: signed submissions, signed reads, the log as tlog-tiles
    ///
    /// The national authority's service. The trade posts signed events (made with --out) to
    /// POST /v1/events; they are judged by the same rules as `kpledger ingest` and recorded in
    /// groups, each acknowledged only once its transaction is on disk. Reads of trade data need
    /// an RFC 9421 signature by an enrolled actor; the log (/checkpoint, /tile/…) is public.
    /// The API is described in schemas/openapi.json (also served at /openapi.json). The first
    /// line printed is `listening on http://ADDRESS`; port 0 picks a free port. Plain HTTP:
    /// put a TLS reverse proxy in front (README) and give its address with --public-url.
    ///
    /// Example: kpledger serve --ledger sl.kpl --listen 127.0.0.1:8080   (runs until stopped)
    Serve {
        /// The ledger file (made with `kpledger init`)
        #[arg(long, env = "KPLEDGER_LEDGER")]
        ledger: PathBuf,
        /// Address and port to listen on (port 0: any free port)
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// Largest request body, bytes (413 beyond)
        #[arg(long, default_value_t = 4 << 20, value_name = "BYTES")]
        max_body: usize,
        /// Most events in one submission (413 beyond)
        #[arg(long, default_value_t = 1000, value_name = "N")]
        max_events: usize,
        /// Most connections open at once (a connection beyond is answered 503 and closed)
        #[arg(long, default_value_t = 256, value_name = "N")]
        max_connections: usize,
        /// Seconds a client has to send a request's headers before the connection is closed
        #[arg(long, default_value_t = 10, value_name = "SECONDS")]
        header_timeout: u64,
        /// Seconds a whole request may take, body included (408 after)
        #[arg(long, default_value_t = 30, value_name = "SECONDS")]
        request_timeout: u64,
        /// Submissions waiting for the writer before new ones get 503 with Retry-After
        #[arg(long, default_value_t = 1024, value_name = "N")]
        queue: usize,
        /// Most submissions recorded in one transaction (group commit)
        #[arg(long, default_value_t = 256, value_name = "N")]
        group: usize,
        /// Seconds a signed read's `created` may differ from the server's clock
        #[arg(long, default_value_t = 300, value_name = "SECONDS")]
        replay_window: u64,
        /// The root authority's private key: the service then publishes a checkpoint every
        /// --checkpoint-every seconds when the log has grown (without it, publish with
        /// `kpledger log publish`)
        #[arg(long, value_name = "KEY")]
        checkpoint_key: Option<PathBuf>,
        /// Seconds between checkpoints published with --checkpoint-key
        #[arg(long, default_value_t = 10, value_name = "SECONDS")]
        checkpoint_every: u64,
        /// A C2SP tlog-policy whose `witness` lines give URLs: every --checkpoint-every seconds,
        /// the newest checkpoint not yet cosigned by all of them is sent to each (C2SP
        /// tlog-witness) and the cosignatures that verify are stored, as `kpledger log witness`
        /// does; a checkpoint counts as published for bundles once the quorum has cosigned it
        #[arg(long, value_name = "POLICY")]
        witness_policy: Option<PathBuf>,
        /// Seconds a posted handover offer waits for its buyer
        #[arg(long, default_value_t = 7 * 24 * 3600, value_name = "SECONDS")]
        offer_ttl: u64,
        /// Most handover offers waiting at once
        #[arg(long, default_value_t = 100_000, value_name = "N")]
        max_offers: usize,
        /// The scheme and host clients use (signed reads cover the full URI), e.g.
        /// https://ledger.nma.gov.sl behind a reverse proxy; default http:// and the Host header
        #[arg(long, value_name = "URL")]
        public_url: Option<String>,
    },
    /// Post signed event files (made with --out) and handover offers to a kpledger server
    ///
    /// Each FILE is one submission: one signed event (JSON) or several, one per line (.jsonl),
    /// recorded all or none. A handover offer (`kpledger handover offer --out`) is posted to
    /// /v1/offers, where its buyer fetches it (`kpledger get … /v1/offers`). Prints each event's position in the log; an event already recorded
    /// is reported, not recorded twice, so a retry is safe. A busy server (503) is retried
    /// after the delay it gives, five times at most. Exit 1 when the ledger's rules refuse a
    /// submission (the findings are printed), 2 when it cannot be sent.
    ///
    /// Example: kpledger submit --server http://127.0.0.1:8080 handover.json   (needs a running kpledger serve)
    Submit {
        /// The server's base URL
        #[arg(long, env = "KPLEDGER_SERVER")]
        server: String,
        /// Signed event files (.json: one event; .jsonl: one per line)
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Print the server's answers as JSON, one line per file
        #[arg(long)]
        json: bool,
    },
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
    Get {
        /// The server's base URL
        #[arg(long, env = "KPLEDGER_SERVER")]
        server: String,
        /// The actor's private key (PKCS#8 PEM)
        #[arg(long)]
        key: PathBuf,
        /// The actor id enrolled with this key
        #[arg(long = "as", value_name = "ACTOR")]
        as_actor: String,
        /// The API path, starting with /
        path: String,
        /// Write the body to this new file instead of printing it
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Look at parcels: history (provenance back to the mine), state, list
    #[command(subcommand)]
    Parcel(ParcelCmd),
    /// KP statistics (Annex III) of a period: production, exports, imports, red flags
    ///
    /// Production by country of origin, region and mine site (carats, and value at the
    /// miner's first sale); exports and imports by country, HS code, partner and origin, with
    /// carats, US$, US$/ct and the number of certificates. Origin (where the stones were
    /// mined) and provenance (the last exporting country) are kept apart: a cross-border
    /// import counts as an import, never as production, and `EXPORTS by country of origin`
    /// shares mixed-origin lots out by their recorded history. The statistical red flags
    /// (ST-1..ST-5, SW-1, see `kpledger rules`) dated in the period are listed at the end.
    ///
    /// Annex III asks for production every half-year and trade every quarter: use
    /// --period 2026-H1 for production returns and --period 2026-Q3 for trade returns.
    /// Without a period: the whole ledger. Exit 0 (red flags are warnings), 2 on bad input.
    ///
    /// Examples:
    ///   kpledger stats --ledger kpledger-demo/ledger.kpl --period 2026-Q1
    ///   kpledger stats --ledger sl.kpl --from 2026-01-01 --to 2026-02-15 --csv > sl.csv
    ///   kpledger stats --ledger sl.kpl --period 2026-H1 --json   (schemas/stats.schema.json)
    #[command(verbatim_doc_comment)]
    Stats {
        /// The ledger file
        #[arg(long, env = "KPLEDGER_LEDGER")]
        ledger: PathBuf,
        /// A year (2026), half-year (2026-H1, 2026-H2) or quarter (2026-Q1 .. 2026-Q4)
        #[arg(long, conflicts_with_all = ["from", "to"])]
        period: Option<String>,
        /// First day (default: the ledger's first event)
        #[arg(long, value_name = "YYYY-MM-DD")]
        from: Option<String>,
        /// Last day, included (default: the ledger's latest event)
        #[arg(long, value_name = "YYYY-MM-DD")]
        to: Option<String>,
        /// Print JSON (schemas/stats.schema.json)
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        /// Print one CSV table (RFC 4180) with a `section` column
        #[arg(long)]
        csv: bool,
        #[command(flatten)]
        open: OpenArgs,
    },
    /// Write the regulator's HTML report of a ledger or of one evidence bundle
    ///
    /// One self-contained file (no script, font or network): the verdict first, summary
    /// figures, findings and red flags grouped by certificate, charts of production against
    /// exports and of US$/ct against the benchmark band, each certificate's provenance graph
    /// (mine sites → handovers, splits, merges → export lot, carats on every edge), and the
    /// checkpoint and witness status. Verifies first: exit 0 verified (warnings allowed),
    /// 1 an error was found (the report is still written and says so), 2 could not run.
    ///
    /// Examples:
    ///   kpledger report --html mru.html --ledger kpledger-demo/ledger.kpl
    ///   kpledger report --html sl.html --bundle kpledger-demo/bundles/SL-2026-004312.json --policy kpledger-demo/trust-policy.txt
    #[command(verbatim_doc_comment)]
    Report {
        /// Where to write the HTML file (must not exist)
        #[arg(long, value_name = "OUT")]
        html: PathBuf,
        /// The ledger file
        #[arg(long, conflicts_with = "bundle", required_unless_present = "bundle")]
        ledger: Option<PathBuf>,
        /// An evidence bundle (needs --policy)
        #[arg(long)]
        bundle: Option<PathBuf>,
        /// The importing authority's trust policy, for --bundle (as `kpledger verify --policy`)
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
        #[command(flatten)]
        removed: RemovedTrustFlags,
        #[command(flatten)]
        open: OpenArgs,
    },
    /// Draw the provenance graph of a certificate or a parcel, back to the mine sites
    ///
    /// Nodes are mine sites, handovers, splits, merges, valuation, sealing and the export;
    /// every edge carries the parcel's carats. DOT for Graphviz or other tools, or SVG laid
    /// out by kpledger itself.
    ///
    /// Examples:
    ///   kpledger graph SL-2026-004312 --ledger kpledger-demo/ledger.kpl --format svg --out sl-graph.svg
    ///   kpledger graph 019cb030-95a0-72d7 --ledger kpledger-demo/ledger.kpl --format dot | dot -Tpng > parcel.png   (needs Graphviz)
    #[command(verbatim_doc_comment)]
    Graph {
        /// A KP certificate number, or a parcel id (or a unique prefix of at least 8 hex digits)
        #[arg(value_name = "PARCEL_OR_CERT")]
        target: String,
        /// The ledger file
        #[arg(long, env = "KPLEDGER_LEDGER", conflicts_with = "bundle", required_unless_present = "bundle")]
        ledger: Option<PathBuf>,
        /// An evidence bundle instead of a ledger
        #[arg(long)]
        bundle: Option<PathBuf>,
        /// Output format
        #[arg(long, value_enum, default_value_t = GraphFormat::Svg)]
        format: GraphFormat,
        /// Write to this file (must not exist) instead of standard output
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        open: OpenArgs,
    },
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
    #[command(verbatim_doc_comment)]
    Bench {
        /// Parcels to mine (about 2.3 events each)
        #[arg(long, default_value_t = 30_000)]
        parcels: u64,
        /// Parcels per export lot (each lot's bundle holds about 2.3 events per parcel + 40)
        #[arg(long, default_value_t = 420)]
        lot_parcels: u32,
        /// Directory for the generated ledger and bundle (new or empty; default: a temporary
        /// directory, removed afterwards)
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Rounds of the raw bounds and of both verifications, interleaved; each figure is
        /// its best round (a transient slowdown of a shared machine then spoils neither side
        /// of a ratio)
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=10))]
        rounds: u32,
        /// Print the figures as JSON
        #[arg(long)]
        json: bool,
    },
    /// List the rule codes the verifier applies
    Rules {
        /// Print as JSON
        #[arg(long)]
        json: bool,
    },
    /// The ledger's store as a whole: copy a ledger into an empty store
    #[command(subcommand)]
    Ledger(LedgerCmd),
    /// Migrate a ledger written by an older kpledger (0.1.0) into a new file
    ///
    /// Re-records the old ledger's signed events, in order, into a new ledger written by this
    /// build: every event is judged again by this build's rules, every derived row and the
    /// log's tree are written anew, and the stored checkpoints, with their cosignatures, are
    /// carried over as they are (they sign the tree's size and root, which the events decide).
    /// The new ledger is then verified whole. The old file is only read, never changed.
    ///
    /// Exit 0 when the new ledger verifies; 1 when this build's rules refuse an event of the old
    /// ledger (nothing after it is migrated) or the new ledger does not verify (it is kept, to
    /// be looked at); 2 when it could not run (the old file is not a ledger of an older version,
    /// its schema was edited, or the new file exists).
    ///
    /// Example: kpledger migrate --from sl-0.1.0.kpl --to sl-migrated.kpl
    #[command(verbatim_doc_comment)]
    Migrate {
        /// The ledger written by the older kpledger (only read)
        #[arg(long, value_name = "OLD")]
        from: PathBuf,
        /// The new ledger to write (must not exist)
        #[arg(long, value_name = "NEW")]
        to: PathBuf,
        /// Print the outcome as JSON: from, to, from_version, events, checkpoints, report
        #[arg(long)]
        json: bool,
    },
}

/// The provenance graph's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum GraphFormat {
    /// Graphviz DOT text
    Dot,
    /// SVG, laid out by kpledger
    Svg,
}

/// How to open the ledger.
#[derive(Debug, Args)]
pub(crate) struct OpenArgs {
    /// Seconds to wait for another process's lock on the ledger
    #[arg(long, default_value_t = 5, value_name = "SECONDS")]
    pub(crate) wait: u64,
}

/// Who signs, with what, when, and whether to record or write a file.
#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    /// The ledger file (not needed, and not read, when the command signs from a parcel card,
    /// --card)
    #[arg(long, env = "KPLEDGER_LEDGER")]
    pub(crate) ledger: Option<PathBuf>,
    /// The signer's private key (PKCS#8 PEM)
    #[arg(long)]
    pub(crate) key: PathBuf,
    /// The signer's actor id (default: the actor enrolled with this key)
    #[arg(long = "as", value_name = "ACTOR")]
    pub(crate) as_actor: Option<String>,
    /// Time of signing (default: now), e.g. 2026-03-01T09:00:00Z
    #[arg(long)]
    pub(crate) time: Option<String>,
    /// Write the signed event to this file instead of recording it (offline signing; the
    /// ledger is only read). Record it later with `kpledger ingest`.
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
    /// Print the result as JSON
    #[arg(long)]
    pub(crate) json: bool,
    /// Print only the ids of the parcels the event creates, one a line (or the event's hash
    /// when it creates none), for scripts: P=$(kpledger extract … --print-new)
    #[arg(long, conflicts_with_all = ["json", "out"])]
    pub(crate) print_new: bool,
    #[command(flatten)]
    pub(crate) open: OpenArgs,
}

/// Signing from a parcel card instead of the ledger (docs/SPEC.md §14.6).
#[derive(Debug, Args)]
pub(crate) struct CardArgs {
    /// Sign offline from this parcel card (written by the ledger's authority with `kpledger
    /// parcel card`) instead of the ledger; needs --out, and --policy or --log-key to check it
    /// (merge: one --card per parcel)
    #[arg(long, value_name = "CARD.json", num_args = 1)]
    pub(crate) card: Vec<PathBuf>,
    /// The trust policy that pins the ledger's root authority key, to check the card's
    /// checkpoint (docs/SPEC.md §14.5)
    #[arg(long, value_name = "TRUST-POLICY", requires = "card", conflicts_with = "log_key")]
    pub(crate) policy: Option<PathBuf>,
    /// Instead of --policy: the ledger's root authority public key file, to check the card's
    /// checkpoint
    #[arg(long, value_name = "KEYFILE", requires = "card")]
    pub(crate) log_key: Option<PathBuf>,
}

impl CardArgs {
    /// Whether the command signs from cards.
    pub(crate) fn given(&self) -> bool {
        !self.card.is_empty()
    }
}

/// `--trust KEYFILE` (the command line of kpledger 0.1.0, kept) and the removed `--witness` and
/// `--quorum` (still read, hidden, only to say what replaces them).
#[derive(Debug, Args)]
pub(crate) struct RemovedTrustFlags {
    /// Instead of --policy: trust these public keys (PEM), without roles. The bundle's log is
    /// trusted when its root authority's genesis key is one of them; a certificate when the
    /// authority that validated it holds one of them and is not the log's root. No witness is
    /// required, so a verdict says it is not witnessed (LOG-4). A trust policy is stronger: it
    /// also binds each log to its origin and each issuer to its country. With --ledger, the
    /// ledger's root authority (genesis) key must be one of them (LOG-2)
    #[arg(long = "trust", value_name = "KEYFILE", num_args = 1, conflicts_with = "policy")]
    pub(crate) trust: Vec<PathBuf>,
    #[arg(long = "witness", hide = true, num_args = 1)]
    pub(crate) witness: Vec<String>,
    #[arg(long = "quorum", hide = true)]
    pub(crate) quorum: Option<String>,
}

impl RemovedTrustFlags {
    /// An error naming what replaces them, when any was given.
    pub(crate) fn refuse(&self) -> anyhow::Result<()> {
        if self.witness.is_empty() && self.quorum.is_none() {
            return Ok(());
        }
        anyhow::bail!(
            "--witness and --quorum were removed: the witnesses and their quorum are part of the importing \
             authority's trust policy. Write it once (the log's key, the witnesses and their quorum, the authority \
             trusted for each issuing country: `kpledger trust --help`, docs/SPEC.md §14.5) and pass it with \
             --policy FILE"
        )
    }
}
