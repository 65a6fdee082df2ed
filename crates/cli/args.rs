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

#[derive(Debug, Subcommand)]
pub(crate) enum KeyCmd {
    /// Make a new key pair: OUT (private, mode 0600) and OUT.pub (public)
    ///
    /// Keys made by `openssl genpkey -algorithm ed25519 -out k.pem` work as well.
    ///
    /// Example: kpledger key new sesay.pem
    New {
        /// Where to write the private key
        out: PathBuf,
    },
    /// Show a key's public half and fingerprint (private or public key file)
    Show {
        /// The key file
        file: PathBuf,
        /// Print as JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum PolicyCmd {
    /// Write a documented starting policy for any KP Participant (then edit it, and sign it in
    /// with `kpledger policy set`)
    ///
    /// The policy (kpledger/policy/v1, schemas/policy.schema.json) holds the rules' national
    /// values. The starting values, each an assumption to confirm with the country's
    /// authority (all of them listed in the policy's `unconfirmed`, docs/RULES.md):
    ///
    ///   tolerance_pt 1                 MB-1..3, IM-1, TR-1: weighing tolerance, 0.01 ct, once per event
    ///   mining_licence_classes         LC-1: artisanal, small-scale, large-scale
    ///   allowed_transfers              LC-2: miner -> dealer, dealer -> exporter, exporter -> dealer
    ///   exporter_licence_classes       EX-3: exporter
    ///   valuation_rule government      EX-2: the government valuer's value is final
    ///   export_duty_bp 0               EX-2: no export duty
    ///   participants                   KP-6: the KP Participants kpledger lists (policies/*.json)
    ///   suspensions                    KP-6: Cote d'Ivoire 2005-01-01 to 2014-04-29 (UN embargo)
    ///   import_confirmation_days 30    IM-2: receipt confirmed within 30 days
    ///   red_flags                      ST-1..ST-5: value band 33-300%, jump 100% over 100 ct,
    ///                                  look back 365 days, trading hubs AE and BE
    ///
    /// Without --out the policy is written to standard output.
    ///
    /// Example: kpledger policy new --country BE --out BE.json
    #[command(verbatim_doc_comment)]
    New {
        /// The country (ISO 3166-1 alpha-2; lower case is read as upper case), a KP Participant
        #[arg(long)]
        country: String,
        /// Write the policy to this file (never overwritten)
        #[arg(long)]
        out: Option<PathBuf>,
        /// The policy's version (default: today's date, UTC)
        #[arg(long = "policy-version", value_name = "VERSION")]
        policy_version: Option<String>,
    },
    /// Sign a country policy file (see policies/) into the ledger
    ///
    /// Example: kpledger policy set --ledger sl.kpl --key nma.pem SL-2.json --time 2026-03-20T09:00:00Z
    Set {
        #[command(flatten)]
        sign: SignArgs,
        /// The policy file
        file: PathBuf,
    },
    /// Print the repository's policy of a Mano River Union country (policies/CC.json, built
    /// into the binary) to start from
    ///
    /// Example: kpledger policy show SL > SL.json
    Show {
        /// The country: SL, LR, GN or CI
        country: String,
    },
}

// Parsed once per run: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub(crate) enum ActorCmd {
    /// An authority enrols a licensed actor and its public key
    ///
    /// Example: kpledger actor enrol --ledger sl.kpl --key nma.pem --id sl.dealer.bangura
    ///   --name "Bangura Diamonds" --role dealer --country SL --pubkey bangura.pem.pub
    ///   --licence NMA/DL/2026/044 --class dealer --valid-from 2026-01-01 --valid-to 2026-12-31
    ///   --time 2026-03-20T09:00:00Z
    Enrol {
        #[command(flatten)]
        sign: SignArgs,
        /// The new actor's id (a-z, 0-9, '.', '_', '-'), e.g. sl.dealer.kamara
        #[arg(long)]
        id: String,
        /// Legal or trading name
        #[arg(long)]
        name: String,
        /// miner, collector, broker, dealer, exporter, valuer or authority
        #[arg(long)]
        role: String,
        /// Country of licensing (ISO 3166-1 alpha-2)
        #[arg(long)]
        country: String,
        /// The actor's public key file (PEM)
        #[arg(long)]
        pubkey: PathBuf,
        /// Licence number
        #[arg(long, requires_all = ["class", "valid_from", "valid_to"])]
        licence: Option<String>,
        /// Licence class (see the country policy), e.g. artisanal, dealer, exporter
        #[arg(long)]
        class: Option<String>,
        /// Licence valid from (YYYY-MM-DD)
        #[arg(long)]
        valid_from: Option<String>,
        /// Licence valid to, inclusive (YYYY-MM-DD)
        #[arg(long)]
        valid_to: Option<String>,
        /// Mine site covered by the licence (repeat for several; miners only)
        #[arg(long = "site", num_args = 1)]
        sites: Vec<String>,
        /// Registered address; an exporter's certificates must print exactly this address
        /// (without one, the address on its certificates is reported as unchecked)
        #[arg(long)]
        address: Option<String>,
    },
    /// Replaces an actor's key from now on: signed with the actor's own current key, an
    /// ordinary rotation; signed by an authority (a lost or compromised key), an imposed key,
    /// which is a GV-4 red flag on every event signed under it
    ///
    /// Example: kpledger actor rotate --ledger sl.kpl --key kamara.pem --actor sl.dealer.kamara
    ///   --pubkey kamara-2027.pem.pub --time 2026-03-20T09:00:00Z
    Rotate {
        #[command(flatten)]
        sign: SignArgs,
        /// The actor
        #[arg(long)]
        actor: String,
        /// The new public key file
        #[arg(long)]
        pubkey: PathBuf,
    },
    /// An authority revokes an actor from now on
    Revoke {
        #[command(flatten)]
        sign: SignArgs,
        /// The actor
        #[arg(long)]
        actor: String,
        /// Why
        #[arg(long)]
        reason: String,
    },
    /// List enrolled actors
    List {
        /// The ledger file
        #[arg(long, env = "KPLEDGER_LEDGER")]
        ledger: PathBuf,
        /// Print as JSON
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        open: OpenArgs,
    },
}

#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub(crate) enum SiteCmd {
    /// An authority registers a licensed mine site
    ///
    /// Example: kpledger site add --ledger sl.kpl --key nma.pem --id sl.kono.koidu-13
    ///   --name "Koidu claim 13" --country SL --region Kono --location 8.6450,-10.9720 --area-m2 6000
    ///   --time 2026-03-20T09:00:00Z
    Add {
        #[command(flatten)]
        sign: SignArgs,
        /// Site id, e.g. sl.kono.koidu-12
        #[arg(long)]
        id: String,
        /// Name
        #[arg(long)]
        name: String,
        /// Country (ISO 3166-1 alpha-2)
        #[arg(long)]
        country: String,
        /// Region, district or chiefdom
        #[arg(long)]
        region: String,
        /// Coordinates or description
        #[arg(long)]
        location: String,
        /// Licensed area in square metres
        #[arg(long)]
        area_m2: u64,
    },
    /// List mine sites
    List {
        /// The ledger file
        #[arg(long, env = "KPLEDGER_LEDGER")]
        ledger: PathBuf,
        /// Print as JSON
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        open: OpenArgs,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum HandoverCmd {
    /// The holder signs an offer of a parcel to a buyer, and writes it to a file
    ///
    /// Example: kpledger handover offer --ledger sl.kpl --key koroma.pem --parcel 019d0000-0000-7000-8000-00000000000a
    ///   --to sl.dealer.kamara --price 3566.26 --out offer.json --time 2026-03-20T09:00:00Z
    ///
    /// Offline, from the parcel's card (`kpledger parcel card`), without the ledger:
    ///   kpledger handover offer --card card.json --policy trust-policy.txt --key koroma.pem
    ///   --to sl.dealer.kamara --price 3566.26 --out offer.json
    Offer {
        /// The ledger file (read only: the offer needs the parcel's latest event); not read with
        /// --card
        #[arg(long, env = "KPLEDGER_LEDGER", required_unless_present = "card")]
        ledger: Option<PathBuf>,
        #[command(flatten)]
        card: CardArgs,
        /// The holder's private key
        #[arg(long)]
        key: PathBuf,
        /// The holder's actor id (default: the actor enrolled with this key)
        #[arg(long = "as", value_name = "ACTOR")]
        as_actor: Option<String>,
        /// The parcel (with --card: the card's, by default)
        #[arg(long, required_unless_present = "card")]
        parcel: Option<String>,
        /// The buyer's actor id
        #[arg(long)]
        to: String,
        /// The agreed price, US$
        #[arg(long)]
        price: String,
        /// Time of signing (default: now), ISO 8601 in UTC, e.g. 2026-03-01T09:00:00Z
        #[arg(long)]
        time: Option<String>,
        /// Where to write the signed offer
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        open: OpenArgs,
    },
    /// The buyer re-weighs, signs acceptance of an offer, and records it (or writes it with --out)
    ///
    /// Example: kpledger handover accept offer-a.json --ledger sl.kpl --key kamara.pem --weight 12.30
    ///   --time 2026-03-20T09:00:00Z
    Accept {
        /// The signed offer file
        offer: PathBuf,
        #[command(flatten)]
        sign: SignArgs,
        #[command(flatten)]
        card: CardArgs,
        /// The weight the buyer measured, in carats (default: the offered weight). At most the
        /// offered weight: no event adds weight, so a scale that reads more records the offer's
        #[arg(long)]
        weight: Option<String>,
    },
    /// Both parties at one desk: offer and acceptance in one step
    ///
    /// Example: kpledger handover record --ledger sl.kpl --parcel 019d0000-0000-7000-8000-00000000000a
    ///   --from-key koroma.pem --to-key kamara.pem --price 3566.26 --weight 12.30 --time 2026-03-20T09:00:00Z
    Record {
        /// The ledger file
        #[arg(long, env = "KPLEDGER_LEDGER")]
        ledger: PathBuf,
        /// The parcel
        #[arg(long)]
        parcel: String,
        /// The holder's private key
        #[arg(long)]
        from_key: PathBuf,
        /// The buyer's private key
        #[arg(long)]
        to_key: PathBuf,
        /// The agreed price, US$
        #[arg(long)]
        price: String,
        /// The weight the buyer measured, in carats (default: the offered weight). At most the
        /// offered weight: no event adds weight, so a scale that reads more records the offer's
        #[arg(long)]
        weight: Option<String>,
        /// Time of signing (default: now), ISO 8601 in UTC, e.g. 2026-03-01T09:00:00Z
        #[arg(long)]
        time: Option<String>,
        /// Print the result as JSON
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        open: OpenArgs,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ParcelCmd {
    /// A parcel's provenance: every event back to the mine sites, in ledger order
    ///
    /// Example: kpledger parcel history 019cb030-95a0-72d7 --ledger kpledger-demo/ledger.kpl
    History {
        /// The parcel id, or a unique prefix of at least 8 hex digits
        parcel: String,
        /// The ledger file
        #[arg(long, env = "KPLEDGER_LEDGER")]
        ledger: PathBuf,
        /// Print as JSON (the signed events themselves)
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        open: OpenArgs,
    },
    /// A parcel's current state: holder, weight, origin, status
    Show {
        /// The parcel id, or a unique prefix of at least 8 hex digits
        parcel: String,
        /// The ledger file
        #[arg(long, env = "KPLEDGER_LEDGER")]
        ledger: PathBuf,
        /// Print as JSON
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        open: OpenArgs,
    },
    /// The authority writes a parcel's card: what its holder and buyer need to sign offline
    ///
    /// The card (docs/SPEC.md §14.6) holds the parcel's head event, holder, weight and status,
    /// proven in the log under the newest checkpoint (publish one first: `kpledger log
    /// publish`), and the heading, stones and origin as the ledger states them. The holder and
    /// the buyer sign with `--card` instead of the whole ledger (`handover offer`, `handover
    /// accept`, `split`, `merge`, `value`, `seal`); `kpledger ingest` records what they signed.
    ///
    /// Example: kpledger parcel card 019d0000-0000-7000-8000-00000000000a --ledger sl.kpl --out card-a.json
    Card {
        /// The parcel id
        parcel: String,
        /// The ledger file
        #[arg(long, env = "KPLEDGER_LEDGER")]
        ledger: PathBuf,
        /// Where to write the card
        #[arg(long)]
        out: PathBuf,
        /// Print the result as JSON
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        open: OpenArgs,
    },
    /// Check a parcel card and show what it proves and what it only states
    ///
    /// Exit 0 when the card holds (its head event proven in the log under a checkpoint signed
    /// by the trusted root key, its holder, weight and status those of its signed events), 1
    /// when it does not (the rule it breaks), 2 when it cannot be read.
    ///
    /// Example: kpledger parcel check-card card.json --policy kpledger-demo/trust-policy.txt
    CheckCard {
        /// The card file
        card: PathBuf,
        /// The trust policy that pins the ledger's root authority key (docs/SPEC.md §14.5)
        #[arg(long, value_name = "TRUST-POLICY", conflicts_with = "log_key")]
        policy: Option<PathBuf>,
        /// Instead of --policy: the ledger's root authority public key file
        #[arg(long, value_name = "KEYFILE")]
        log_key: Option<PathBuf>,
        /// Print as JSON
        #[arg(long)]
        json: bool,
    },
    /// List parcels
    List {
        /// The ledger file
        #[arg(long, env = "KPLEDGER_LEDGER")]
        ledger: PathBuf,
        /// Only parcels held by this actor
        #[arg(long)]
        holder: Option<String>,
        /// Include parcels consumed by splits and merges
        #[arg(long)]
        all: bool,
        /// Print as JSON
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        open: OpenArgs,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum CertificateCmd {
    /// The exporting authority issues and validates a certificate for sealed export lots
    ///
    /// Lines per HS code, carats, values, seals and the country of origin are taken from the
    /// ledger, so the certificate agrees with the chains it covers.
    ///
    /// Example: kpledger certificate issue --ledger sl.kpl --key nma.pem --number SL-2026-004313
    ///   --exporter sl.exporter.kono-gems --parcel 019d0000-0000-7000-8000-000000000011
    ///   --importer-name "Diamcor Rough Trading NV" --importer-address "Hoveniersstraat 22, Antwerp"
    ///   --importer-country BE --time 2026-03-20T09:00:00Z
    Issue {
        #[command(flatten)]
        sign: SignArgs,
        /// Certificate number, starting with the issuing country's code: A-Z, 0-9, '-', '.', '/'
        #[arg(long)]
        number: String,
        /// The exporter's actor id
        #[arg(long)]
        exporter: String,
        /// The sealed parcels (repeat for several)
        #[arg(long = "parcel", required = true, num_args = 1)]
        parcels: Vec<String>,
        /// Importer's name
        #[arg(long)]
        importer_name: String,
        /// Importer's address
        #[arg(long)]
        importer_address: String,
        /// Country of destination (ISO 3166-1 alpha-2)
        #[arg(long)]
        importer_country: String,
        /// The importer's actor id, when it is enrolled in this ledger: the import
        /// confirmation must then give custody to exactly this actor
        #[arg(long)]
        importer_actor: Option<String>,
        /// Days of validity from the date of issue
        #[arg(long, default_value_t = 60)]
        valid_days: i64,
    },
    /// The exporting authority records the shipment's departure
    Export {
        #[command(flatten)]
        sign: SignArgs,
        /// Certificate number
        #[arg(long)]
        number: String,
    },
    /// The importing authority confirms receipt; a licensed importer takes custody
    ///
    /// Carats, parcel count, importer and exporter default to the certificate's; give what
    /// was actually found on receipt.
    Confirm {
        #[command(flatten)]
        sign: SignArgs,
        /// Certificate number
        #[arg(long)]
        number: String,
        /// The licensed importer taking custody
        #[arg(long)]
        holder: String,
        /// Carats weighed on receipt
        #[arg(long)]
        carats: Option<String>,
        /// Parcels counted on receipt
        #[arg(long)]
        parcel_count: Option<u32>,
        /// The container's seals were broken on arrival
        #[arg(long)]
        seal_broken: bool,
    },
    /// The importing authority admits a shipment under a certificate issued outside this ledger
    ///
    /// One event admits the certificate's whole shipment: one parcel for each parcel the
    /// certificate counts (`parcel_count`), each with its weight, stones and heading, all held by
    /// the importer. Per heading, the parcels weigh at most the certificate's line and, over the
    /// shipment, no more than the importing country's tolerance less; every heading is on the
    /// certificate and every line is covered (IM-1). A certificate is imported once (KP-2).
    ///
    /// From an evidence bundle (--bundle FILE --policy TRUST): the bundle is verified under your
    /// trust policy exactly as `kpledger verify BUNDLE --policy TRUST` does, and nothing is
    /// recorded unless it verifies (exit 1, with the findings). The import then takes what the
    /// bundle proves: the certificate (number, country, authority, origin, dates, exporter,
    /// importer, lines, parcel count) and each certified parcel with its id, weight, stones and
    /// heading, so that the parcels keep their ids and their provenance in your ledger. The
    /// shipment must have been exported, not already received, and be destined to your country.
    /// --weight and --stones, once per parcel in the certificate's order, record what you found
    /// on receipt instead.
    ///
    /// From a certificate on paper (--foreign FILE, the certificate as JSON:
    /// schemas/event.schema.json, $defs/foreignCertificate): give --weight, --stones and --hs
    /// once per parcel, in the same order (--hs may be left out when the certificate has one
    /// heading).
    ///
    /// Examples (README.md, An importer's ledger; the second with a certificate on paper):
    ///   kpledger certificate import --ledger be-importer/be.kpl --key be-importer/fpsd.pem \
    ///     --holder be.dealer.diamcor --bundle kpledger-demo/bundles/SL-2026-004312.json \
    ///     --policy kpledger-demo/trust-policy.txt
    ///   kpledger certificate import --ledger be-importer/be.kpl --key be-importer/fpsd.pem \
    ///     --holder be.dealer.diamcor --foreign GN-2026-000777.json \
    ///     --weight 40 --stones 120 --hs 7102.21 --weight 60 --stones 80 --hs 7102.31
    #[command(verbatim_doc_comment, group(clap::ArgGroup::new("source").required(true).args(["bundle", "foreign"])))]
    Import {
        #[command(flatten)]
        sign: SignArgs,
        /// An evidence bundle of the certificate (`kpledger bundle`), verified under --policy
        #[arg(long, conflicts_with = "foreign", requires = "policy")]
        bundle: Option<PathBuf>,
        /// Your trust policy, to verify --bundle (`kpledger trust --help`)
        #[arg(long, requires = "bundle")]
        policy: Option<PathBuf>,
        /// The foreign certificate (JSON)
        #[arg(long = "foreign")]
        foreign: Option<PathBuf>,
        /// The licensed importer taking custody
        #[arg(long)]
        holder: String,
        /// A parcel's weight on receipt in carats, once per parcel
        #[arg(long)]
        weight: Vec<String>,
        /// A parcel's stones counted, once per parcel
        #[arg(long)]
        stones: Vec<u32>,
        /// A parcel's HS code, once per parcel (default: the certificate's one heading)
        #[arg(long, conflicts_with = "bundle")]
        hs: Vec<String>,
    },
    /// List certificates
    List {
        /// The ledger file
        #[arg(long, env = "KPLEDGER_LEDGER")]
        ledger: PathBuf,
        /// Print as JSON
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        open: OpenArgs,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum LogCmd {
    /// The root authority signs a checkpoint of the log (C2SP tlog-checkpoint) and stores it
    ///
    /// Example: kpledger log publish --ledger sl.kpl --key office.pem --out checkpoint-3.txt
    Publish {
        /// The ledger file
        #[arg(long, env = "KPLEDGER_LEDGER")]
        ledger: PathBuf,
        /// The root authority's private key
        #[arg(long)]
        key: PathBuf,
        /// Also write the signed checkpoint to this file (for witnesses)
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print as JSON
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        open: OpenArgs,
    },
    /// Show the log's head: size, root and the latest checkpoint with its cosignatures
    Head {
        /// The ledger file
        #[arg(long, env = "KPLEDGER_LEDGER")]
        ledger: PathBuf,
        /// Print as JSON
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        open: OpenArgs,
    },
    /// Store witnesses' cosignatures (a checkpoint file a witness returned)
    ///
    /// Example: kpledger log cosignatures --ledger sl.kpl cosigned.txt --witness lr.mme=lr.pem.pub
    Cosignatures {
        /// The cosigned checkpoint file
        file: PathBuf,
        /// The ledger file
        #[arg(long, env = "KPLEDGER_LEDGER")]
        ledger: PathBuf,
        /// A witness key to accept cosignatures from: NAME=KEY.pub; repeat for several
        #[arg(long = "witness", num_args = 1, required = true, value_name = "NAME=KEY.pub")]
        witnesses: Vec<String>,
        /// Print as JSON
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        open: OpenArgs,
    },
    /// Ask every witness of a trust policy to cosign the newest checkpoint, over the network
    ///
    /// C2SP tlog-witness: sends the checkpoint with a consistency proof from the size each
    /// witness last cosigned (the newest stored checkpoint carrying its cosignature, else 0)
    /// to `<URL>/add-checkpoint` for every `witness` line of the policy that has a URL; after
    /// a 409 it proves again from the size the witness returns. Stores the cosignatures that
    /// verify with the policy's witness keys, then says whether the policy's quorum cosigned.
    /// Exit 0 when it did, 1 when it did not (each witness's answer is printed).
    ///
    /// Example: kpledger log witness --ledger sl.kpl --policy witnesses.txt   (needs the policy's witnesses running)
    Witness {
        /// The ledger file
        #[arg(long, env = "KPLEDGER_LEDGER")]
        ledger: PathBuf,
        /// The C2SP tlog-policy naming the witnesses (with their URLs) and the quorum
        #[arg(long, value_name = "FILE")]
        policy: PathBuf,
        /// Print as JSON
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        open: OpenArgs,
    },
    /// Prove that an event is in the log (RFC 9162 inclusion proof)
    ///
    /// Example: kpledger log prove-inclusion --ledger kpledger-demo/ledger.kpl --event 483de8e900f598bd
    ProveInclusion {
        /// The ledger file
        #[arg(long, env = "KPLEDGER_LEDGER")]
        ledger: PathBuf,
        /// The event's position (1-based)
        #[arg(long, conflicts_with = "event", required_unless_present = "event")]
        seq: Option<u64>,
        /// The event's hash, or a unique prefix of at least 8 hex digits (as tables show it)
        #[arg(long, value_name = "HASH")]
        event: Option<String>,
        /// The tree size to prove against (default: the whole log)
        #[arg(long)]
        size: Option<u64>,
        /// Print as JSON
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        open: OpenArgs,
    },
    /// Write the log as C2SP tlog-tiles static files: checkpoint, tiles, entry bundles
    ///
    /// The same bytes `kpledger serve` answers at /checkpoint and /tile/…, for any web server
    /// or object store: DIR/checkpoint (the newest published checkpoint), every full tile and
    /// the partial tile at each level's right edge of the log at that checkpoint's size. Serve
    /// DIR/tile/… with `Cache-Control: immutable` for full tiles.
    ///
    /// To an S3-compatible bucket: --out s3://BUCKET/PREFIX, with the credentials, region and
    /// endpoint of the standard AWS variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
    /// AWS_REGION, AWS_ENDPOINT_URL) or --s3-endpoint. Tiles are written once (an object
    /// already there must hold the same bytes), the checkpoint last, so readers never see a
    /// checkpoint whose tiles are missing; publishing again adds what is new. With --bundles,
    /// each certificate's evidence bundle under that checkpoint too
    /// (bundles/NUMBER/SIZE.json, '/' in a number written %2F): trade data, so keep that
    /// prefix readable only by importers and auditors.
    ///
    /// Example: kpledger log tiles --ledger sl.kpl --out static-log
    /// Example: kpledger log tiles --ledger sl.kpl --out s3://sl-log/v1 --bundles
    Tiles {
        /// The ledger file
        #[arg(long, env = "KPLEDGER_LEDGER")]
        ledger: PathBuf,
        /// Directory (new, empty, or an earlier copy of this log) or s3://BUCKET/PREFIX
        #[arg(long, value_name = "DIR|s3://BUCKET/PREFIX")]
        out: String,
        /// The S3 endpoint, for a store other than Amazon S3 (e.g. http://127.0.0.1:9000);
        /// default: AWS_ENDPOINT_URL, else Amazon S3
        #[arg(long, value_name = "URL")]
        s3_endpoint: Option<String>,
        /// Also publish each certificate's evidence bundle
        #[arg(long)]
        bundles: bool,
        #[command(flatten)]
        open: OpenArgs,
    },
    /// Prove that the log of size TO extends the log of size FROM (RFC 9162 consistency proof)
    ///
    /// Example: kpledger log prove-consistency --ledger sl.kpl --from 22 --out proof-22.json
    ProveConsistency {
        /// The ledger file
        #[arg(long, env = "KPLEDGER_LEDGER")]
        ledger: PathBuf,
        /// The older size (the one the witness cosigned)
        #[arg(long)]
        from: u64,
        /// The newer size (default: the whole log)
        #[arg(long)]
        to: Option<u64>,
        /// Write the proof to this file (JSON) instead of printing it
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        open: OpenArgs,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum WitnessCmd {
    /// Check a checkpoint against the last one this witness cosigned, and cosign it
    ///
    /// Refuses (exit 1) a checkpoint that is not signed by the log's key, is smaller than
    /// the last one cosigned, has another root at the same size (a fork), or is not proven
    /// to extend it; the evidence is kept next to the state file. Nothing is cosigned then.
    ///
    /// Example: kpledger witness cosign checkpoint-new.txt --log-origin kpledger.sl/national
    ///   --log-key office.pem.pub --name lr.mme --key lr.pem --state lr-witness.json
    ///   --proof proof-new.json --out cosigned-2.txt --time 2026-03-20T10:00:00Z
    Cosign {
        /// The checkpoint file (a signed note)
        checkpoint: PathBuf,
        /// The log's origin name (the checkpoint's first line)
        #[arg(long)]
        log_origin: String,
        /// The log's public key (its root authority's)
        #[arg(long)]
        log_key: PathBuf,
        /// This witness's name, as it signs
        #[arg(long)]
        name: String,
        /// This witness's private key
        #[arg(long)]
        key: PathBuf,
        /// This witness's state file (created on first use)
        #[arg(long)]
        state: PathBuf,
        /// Consistency proof from the last cosigned size (from `kpledger log prove-consistency`)
        #[arg(long)]
        proof: Option<PathBuf>,
        /// Where to write the cosigned checkpoint
        #[arg(long)]
        out: PathBuf,
        /// Cosignature time (default: now), e.g. 2026-03-11T08:00:00Z
        #[arg(long)]
        time: Option<String>,
        /// Print as JSON
        #[arg(long)]
        json: bool,
    },
    /// Run a witness over the network: the C2SP tlog-witness HTTP protocol
    ///
    /// Serves `POST <prefix>/add-checkpoint` for the logs of the policy's `log` lines (their
    /// vkey names are the origins): a checkpoint signed by the log's key that consistently
    /// extends the last one cosigned for that log is recorded durably in --state, then
    /// cosigned (cosignature/v1). Refusals: 404 unknown log, 403 no valid log signature, 400
    /// malformed or old > size, 409 (body: the size last cosigned) when `old` is not that size,
    /// 422 a bad consistency proof or a fork (another root at the size last cosigned). A refused fork or inconsistent
    /// extension is kept (both signed checkpoints) in STATE.evidence/. Also serves
    /// `GET <prefix>/<hex SHA-256 of the origin>/checkpoint`.
    ///
    /// Prints the address it listens on first (with port 0, a free port is chosen), then
    /// one line per decision on stderr. Runs until stopped.
    ///
    /// Example: kpledger witness serve --name lr.mme --key lr.mme.pem --state lr-witness.json
    ///   --policy logs.txt --listen 127.0.0.1:7380   (runs until stopped)
    #[command(verbatim_doc_comment)]
    Serve {
        /// This witness's name, as it signs (its vkey's name)
        #[arg(long)]
        name: String,
        /// This witness's private key (PKCS#8 PEM)
        #[arg(long)]
        key: PathBuf,
        /// This witness's state file (created on first use; one process at a time)
        #[arg(long)]
        state: PathBuf,
        /// A C2SP tlog-policy whose `log` lines name the logs to witness
        #[arg(long, value_name = "FILE")]
        policy: PathBuf,
        /// Address to listen on, e.g. 127.0.0.1:7380 (port 0: any free port)
        #[arg(long)]
        listen: String,
        /// URL path prefix of the endpoints (the submission prefix's path), e.g. /witness
        #[arg(long, default_value = "")]
        prefix: String,
    },
    /// Show a witness key's verifier key (C2SP vkey) for publishing
    Key {
        /// This witness's name
        #[arg(long)]
        name: String,
        /// The witness's public or private key file
        key: PathBuf,
    },
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

/// The lines of a trust policy (docs/SPEC.md §14.5), each printed from a public key file
/// obtained through the KP's official channels, and a check of a whole file.
#[derive(Debug, Subcommand)]
pub(crate) enum TrustCmd {
    /// Print the `log` line that pins a ledger's root authority key
    ///
    /// Example: kpledger trust log --origin kpledger.mru/regional kpledger-demo/keys/mru.secretariat.pub >> trust-policy.txt
    Log {
        /// The ledger's origin name
        #[arg(long)]
        origin: String,
        /// The root authority's public (or private) key file
        key: PathBuf,
    },
    /// Print the `witness` line of a witness (its cosignature key)
    ///
    /// Example: kpledger trust witness --name lr.mme kpledger-demo/keys/lr.mme.pub >> trust-policy.txt
    Witness {
        /// The name the witness signs with (its actor id)
        #[arg(long)]
        name: String,
        /// The witness's public (or private) key file
        key: PathBuf,
    },
    /// Print the `kpledger-issuer` line that trusts an authority for one country's certificates
    /// (and for the foreign certificates it admits into that country at import)
    ///
    /// Example: kpledger trust issuer --country SL --actor sl.nma kpledger-demo/keys/sl.nma.pub >> trust-policy.txt
    Issuer {
        /// The issuing country (ISO 3166-1 alpha-2)
        #[arg(long)]
        country: String,
        /// The authority's actor id
        #[arg(long)]
        actor: String,
        /// The authority's public (or private) key file
        key: PathBuf,
    },
    /// Read a trust policy and say what it trusts; exit 2 naming the lines at fault
    ///
    /// Example: kpledger trust check kpledger-demo/trust-policy.txt
    Check {
        /// The policy file
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum EpcisCmd {
    /// Export the ledger, one parcel's provenance, or one certificate's, as an EPCIS 2.0
    /// JSON-LD document with CBV 2.0 event hash IDs (docs/EPCIS.md has the mapping)
    ///
    /// Example: kpledger epcis export --ledger sl.kpl --certificate SL-2026-004312 --out sl.epcis.json
    Export {
        /// The ledger file
        #[arg(long, env = "KPLEDGER_LEDGER")]
        ledger: PathBuf,
        /// Only this parcel's provenance
        #[arg(long, conflicts_with = "certificate")]
        parcel: Option<String>,
        /// Only this certificate's parcels' provenance
        #[arg(long)]
        certificate: Option<String>,
        /// Write to this file instead of standard output
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        open: OpenArgs,
    },
    /// Cross-check an EPCIS 2.0 document against the ledger by event hash ID
    ///
    /// Exit 0 when every event matches a ledger event, 1 when some are missing or differ.
    Check {
        /// The EPCIS document (JSON-LD)
        file: PathBuf,
        /// The ledger file
        #[arg(long, env = "KPLEDGER_LEDGER")]
        ledger: PathBuf,
        /// Print the report as JSON
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        open: OpenArgs,
    },
}
