//! Arguments: Witnessing and trust policies.

use std::path::PathBuf;

use clap::Subcommand;
use kpledger_model::{ActorId, Country, Origin, Time};

use super::value;

/// The witness: who it signs as, with what, and where it keeps what it cosigned.
#[derive(Debug, clap::Args)]
pub(crate) struct WitnessArgs {
    /// This witness's name, as it signs (its vkey's name)
    #[arg(long)]
    pub(crate) name: String,
    /// This witness's private key (PKCS#8 PEM)
    #[arg(long)]
    pub(crate) key: PathBuf,
    /// This witness's state file (created on first use)
    #[arg(long)]
    pub(crate) state: PathBuf,
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
        #[command(flatten)]
        witness: WitnessArgs,
        /// Consistency proof from the last cosigned size (from `kpledger log prove-consistency`)
        #[arg(long)]
        proof: Option<PathBuf>,
        /// Where to write the cosigned checkpoint
        #[arg(long)]
        out: PathBuf,
        /// Cosignature time (default: now), e.g. 2026-03-11T08:00:00Z
        #[arg(long, value_parser = value::time)]
        time: Option<Time>,
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
    /// one line per decision on stderr. Runs until stopped; one process at a time uses --state.
    ///
    /// Example: kpledger witness serve --name lr.mme --key lr.mme.pem --state lr-witness.json
    ///   --policy logs.txt --listen 127.0.0.1:7380   (runs until stopped)
    #[command(verbatim_doc_comment)]
    Serve {
        #[command(flatten)]
        witness: WitnessArgs,
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

/// The lines of a trust policy (docs/SPEC.md §14.5), each printed from a public key file
/// obtained through the KP's official channels, and a check of a whole file.
#[derive(Debug, Subcommand)]
pub(crate) enum TrustCmd {
    /// Print the `log` line that pins a ledger's root authority key
    ///
    /// Example: kpledger trust log --origin kpledger.mru/regional kpledger-demo/keys/mru.secretariat.pub >> trust-policy.txt
    Log {
        /// The ledger's origin name
        #[arg(long, value_parser = value::origin)]
        origin: Origin,
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
        #[arg(long, value_parser = value::country)]
        country: Country,
        /// The authority's actor id
        #[arg(long, value_parser = value::actor)]
        actor: ActorId,
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
