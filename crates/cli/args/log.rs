//! Arguments: The transparency log.

use std::path::PathBuf;

use clap::Subcommand;

use super::value::{self, IdArg};
use super::*;

#[derive(Debug, Subcommand)]
pub(crate) enum LogCmd {
    /// The root authority signs a checkpoint of the log (C2SP tlog-checkpoint) and stores it
    ///
    /// Example: kpledger log publish --ledger sl.kpl --key office.pem --out checkpoint-3.txt
    Publish {
        #[command(flatten)]
        ledger: LedgerArgs,
        /// The root authority's private key
        #[arg(long)]
        key: PathBuf,
        /// Also write the signed checkpoint to this file (for witnesses)
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print as JSON
        #[arg(long)]
        json: bool,
    },
    /// Show the log's head: size, root and the latest checkpoint with its cosignatures
    Head {
        #[command(flatten)]
        ledger: LedgerArgs,
        /// Print as JSON
        #[arg(long)]
        json: bool,
    },
    /// Store witnesses' cosignatures (a checkpoint file a witness returned)
    ///
    /// Example: kpledger log cosignatures --ledger sl.kpl cosigned.txt --witness lr.mme=lr.pem.pub
    Cosignatures {
        /// The cosigned checkpoint file
        file: PathBuf,
        #[command(flatten)]
        ledger: LedgerArgs,
        /// A witness key to accept cosignatures from: NAME=KEY.pub; repeat for several
        #[arg(long = "witness", num_args = 1, required = true, value_name = "NAME=KEY.pub")]
        witnesses: Vec<String>,
        /// Print as JSON
        #[arg(long)]
        json: bool,
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
        #[command(flatten)]
        ledger: LedgerArgs,
        /// The C2SP tlog-policy naming the witnesses (with their URLs) and the quorum
        #[arg(long, value_name = "FILE")]
        policy: PathBuf,
        #[command(flatten)]
        ca: CaArgs,
        /// Print as JSON
        #[arg(long)]
        json: bool,
    },
    /// Prove that an event is in the log (RFC 9162 inclusion proof)
    ///
    /// Example: kpledger log prove-inclusion --ledger kpledger-demo/ledger.kpl --event 483de8e900f598bd
    ProveInclusion {
        #[command(flatten)]
        ledger: LedgerArgs,
        /// The event's position (1-based)
        #[arg(long, conflicts_with = "event", required_unless_present = "event")]
        seq: Option<u64>,
        /// The event's hash, or a unique prefix of at least 8 hex digits (as tables show it)
        #[arg(long, value_name = "HASH", value_parser = value::event)]
        event: Option<IdArg>,
        /// The tree size to prove against (default: the whole log)
        #[arg(long)]
        size: Option<u64>,
        /// Print as JSON
        #[arg(long)]
        json: bool,
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
    Tiles {
        #[command(flatten)]
        ledger: LedgerArgs,
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
    },
    /// Prove that the log of size TO extends the log of size FROM (RFC 9162 consistency proof)
    ///
    /// Example: kpledger log prove-consistency --ledger sl.kpl --from 22 --out proof-22.json
    ProveConsistency {
        #[command(flatten)]
        ledger: LedgerArgs,
        /// The older size (the one the witness cosigned)
        #[arg(long)]
        from: u64,
        /// The newer size (default: the whole log)
        #[arg(long)]
        to: Option<u64>,
        /// Write the proof to this file (JSON) instead of printing it
        #[arg(long)]
        out: Option<PathBuf>,
    },
}
