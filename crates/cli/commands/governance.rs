//! The authorities' commands: keys, `init`, policies, actors, mine sites.

use super::common::*;
use super::sign::*;
use crate::args::*;
use serde_json::json;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow, bail};
use clap::Args;
use kpledger_core::Ledger;
use kpledger_model::{
    ActorId, ActorRecord, Country, Event, EventBody, Licence, Origin, Payload, Policy, PublicKey, Role,
    SecretKey, SiteRecord, Text, Time,
};

use crate::OK;
use crate::args::{ActorCmd, KeyCmd, SiteCmd};
use kpledger_verify::stored::AsStored;

/// `policy new`: a starting policy for `country`, from the participant and suspension lists
/// kpledger ships (policies/SL.json), every national value a documented default listed in
/// `unconfirmed`.
pub(crate) fn policy_new(code: &Country, out: Option<&Path>, version: Option<String>) -> Result<u8> {
    let (_, shipped) = kpledger_core::demo::POLICIES[0];
    let mut policy: Policy = kpledger_model::canonical::from_slice_input(shipped.as_bytes())
        .context("the participant list kpledger ships does not read")?;
    if !policy.participants.contains(code) {
        bail!(
            "{code} is not among the KP Participants kpledger lists ({}); if it has joined the KP, \
             copy a policy from policies/ and add it to `participants`",
            policy.participants.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(" ")
        );
    }
    let version = match version {
        Some(v) => v,
        None => now_or(None).date().to_string(),
    };
    let texts = |xs: &[&str]| -> Result<Vec<Text>> {
        xs.iter().map(|x| Text::new(*x).map_err(anyhow::Error::msg)).collect()
    };
    policy.country = code.clone();
    policy.version = Text::new(version).map_err(|e| anyhow!("--policy-version: {e}"))?;
    policy.tolerance_pt = 1;
    policy.mining_licence_classes = texts(&["artisanal", "small-scale", "large-scale"])?;
    policy.max_artisanal_area_m2 = None;
    policy.allowed_transfers =
        vec![[Role::Miner, Role::Dealer], [Role::Dealer, Role::Exporter], [Role::Exporter, Role::Dealer]];
    policy.exporter_licence_classes = texts(&["exporter"])?;
    policy.valuation_rule = kpledger_model::ValuationRule::Government;
    policy.export_duty_bp = 0;
    policy.cert_number_ranges = Vec::new();
    policy.import_confirmation_days = 30;
    policy.conclusive_evidence_of_origin = false;
    policy.benchmarks = Vec::new();
    policy.unconfirmed = texts(&[
        "tolerance_pt",
        "mining_licence_classes",
        "allowed_transfers",
        "exporter_licence_classes",
        "valuation_rule",
        "export_duty_bp",
        "participants",
        "suspensions",
        "import_confirmation_days",
        "red_flags",
    ])?;
    let json = format!("{}\n", serde_json::to_string_pretty(&policy)?);
    let Some(out) = out else {
        print!("{json}");
        return Ok(OK);
    };
    write_new(out, json.as_bytes())?;
    println!("wrote {}: a starting policy for {code}, version {}", out.display(), policy.version);
    println!(
        "  every national value in it is a default to confirm with {code}'s authority (its `unconfirmed`;"
    );
    println!("  `kpledger policy new --help` lists them); edit the file, then sign it into the ledger:");
    println!("  kpledger policy set --key AUTHORITY.pem {}", out.display());
    Ok(OK)
}

pub(crate) fn key_cmd(k: KeyCmd) -> Result<u8> {
    match k {
        KeyCmd::New { out } => {
            let key = SecretKey::generate()?;
            let public = pub_path(&out);
            if public.exists() {
                bail!("{} already exists; kpledger does not overwrite keys", public.display());
            }
            write_private(&out, key.to_pem().as_bytes())?;
            write_new(&public, key.public().to_pem().as_bytes())?;
            println!("private key: {} (keep it secret; mode 0600)", out.display());
            println!("public key:  {} (give this to the authority for enrolment)", public.display());
            println!("fingerprint: {}", key.public().fingerprint());
            Ok(OK)
        }
        KeyCmd::Show { file, json } => {
            let (kind, public) = public_of_any(&file)?;
            if json {
                println!(
                    "{}",
                    json!({"kind": kind, "public_key": public, "fingerprint": public.fingerprint()})
                );
            } else {
                println!("{kind} key, public half {public}");
                println!("fingerprint {}", public.fingerprint());
            }
            Ok(OK)
        }
    }
}

/// The public key of a key file, private or public; and which it was.
pub(crate) fn public_of_any(path: &Path) -> Result<(&'static str, PublicKey)> {
    let text = String::from_utf8(read_input(path)?)
        .map_err(|_| anyhow!("{} is not a PEM text file", path.display()))?;
    let name = path.display().to_string();
    Ok(if text.contains("PRIVATE KEY-----") {
        ("private", SecretKey::from_pem(&text, &name)?.public())
    } else {
        ("public", PublicKey::from_pem(&text, &name)?)
    })
}

pub(crate) fn pub_path(private: &Path) -> PathBuf {
    let mut s = private.as_os_str().to_owned();
    s.push(".pub");
    PathBuf::from(s)
}

pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write as _;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts
        .open(path)
        .with_context(|| format!("cannot create {} (kpledger does not overwrite keys)", path.display()))?;
    f.write_all(bytes)?;
    Ok(())
}

/// Create a new ledger, signed into being by its root authority
///
/// Example: kpledger init --ledger lr.kpl --origin kpledger.lr/national --id lr.gdo
///   --name "Government Diamond Office" --country LR --key lr.pem
#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// The ledger file to create (must not exist)
    #[arg(long, env = "KPLEDGER_LEDGER")]
    ledger: PathBuf,
    /// The log origin name, e.g. kpledger.sl/national
    #[arg(long, value_parser = value::origin)]
    origin: Origin,
    /// The root authority's actor id, e.g. sl.nma
    #[arg(long, value_parser = value::actor)]
    id: ActorId,
    /// The root authority's name
    #[arg(long, value_parser = value::text)]
    name: Text,
    /// The root authority's country (ISO 3166-1 alpha-2)
    #[arg(long, value_parser = value::country)]
    country: Country,
    /// The root authority's private key
    #[arg(long)]
    key: PathBuf,
    /// Time of signing (default: now), e.g. 2026-03-01T09:00:00Z
    #[arg(long, value_parser = value::time)]
    time: Option<Time>,
}

pub(crate) fn init(a: InitArgs) -> Result<u8> {
    let InitArgs { ledger, origin, id, name, country, key, time } = a;
    let ledger = ledger.as_path();
    let key = SecretKey::read_pem_file(&key)?;
    let authority = ActorRecord {
        id,
        name,
        role: Role::Authority,
        country,
        licence: None,
        key: key.public(),
        address: None,
    };
    let id = authority.id.clone();
    let body =
        EventBody::new(origin.clone(), now_or(time.as_ref()), id.clone(), Payload::Genesis { authority });
    let parsed = Event::sign(body, &key)?.into_parsed()?;
    // The ledger with its genesis, or nothing (a database's tables and the genesis are one
    // transaction; a file is removed again).
    let (l, _) = Ledger::create_with_genesis(ledger, &parsed)?;
    println!("created {} (origin {origin}), root authority {id}", l.path().display());
    Ok(OK)
}

pub(crate) fn actor_cmd(a: ActorCmd) -> Result<u8> {
    match a {
        ActorCmd::Enrol {
            event,
            id,
            name,
            role,
            country,
            pubkey,
            licence,
            class,
            valid_from,
            valid_to,
            sites,
            address,
        } => {
            let key = PublicKey::read_pem_file(&pubkey)?;
            let licence = match (licence, class, valid_from, valid_to) {
                (None, ..) => None,
                (Some(number), Some(class), Some(valid_from), Some(valid_to)) => {
                    Some(Licence { number, class, valid_from, valid_to, sites })
                }
                _ => bail!("a licence (--licence) needs its --class, --valid-from and --valid-to"),
            };
            let actor = ActorRecord { id, name, role, country, licence, key, address };
            sign_event(&event, |_, _| Ok(Payload::Enrol { actor }))
        }
        ActorCmd::Rotate { event, actor, pubkey } => {
            let key = PublicKey::read_pem_file(&pubkey)?;
            sign_event(&event, |src, _| {
                src.enrolled("--actor", &actor)?;
                Ok(Payload::RotateKey { actor, key })
            })
        }
        ActorCmd::Revoke { event, actor, reason } => sign_event(&event, |src, _| {
            src.enrolled("--actor", &actor)?;
            Ok(Payload::Revoke { actor, reason })
        }),
        ActorCmd::List(ListArgs { ledger, json }) => {
            let actors = ledger.open(true)?.actors()?;
            let actors: Vec<_> = actors.iter().map(AsStored).collect();
            let headers = ["actor", "role", "country", "licence", "valid", "status", "name"];
            print_list(&actors, json, &headers, |AsStored(a)| {
                let r = &a.record;
                let licence =
                    |show: fn(&Licence) -> String| r.licence.as_ref().map(show).unwrap_or_else(|| "-".into());
                vec![
                    r.id.to_string(),
                    r.role.to_string(),
                    r.country.to_string(),
                    licence(|l| format!("{} {}", l.class, l.number)),
                    licence(|l| format!("{}..{}", l.valid_from, l.valid_to)),
                    if a.revoked.is_some() { "revoked".into() } else { "active".into() },
                    r.name.to_string(),
                ]
            })
        }
    }
}

pub(crate) fn site_cmd(s: SiteCmd) -> Result<u8> {
    match s {
        SiteCmd::Add { event, id, name, country, region, location, area_m2 } => {
            let site = SiteRecord { id, name, country, region, location, area_m2 };
            sign_event(&event, |_, _| Ok(Payload::Site { site }))
        }
        SiteCmd::List(ListArgs { ledger, json }) => {
            let sites = ledger.open(true)?.sites()?;
            let headers = ["site", "country", "region", "location", "area", "name"];
            print_list(&sites, json, &headers, |s| {
                vec![
                    s.id.to_string(),
                    s.country.to_string(),
                    s.region.to_string(),
                    s.location.to_string(),
                    format!("{} m²", s.area_m2),
                    s.name.to_string(),
                ]
            })
        }
    }
}

pub(crate) fn policy_cmd(p: PolicyCmd) -> Result<u8> {
    match p {
        PolicyCmd::New { country, out, policy_version } => {
            policy_new(&country, out.as_deref(), policy_version)
        }
        PolicyCmd::Set { event, file } => {
            let bytes = read_input(&file)?;
            let policy: Policy = kpledger_model::canonical::from_slice_input(&bytes)
                .with_context(|| format!("{} is not a valid policy file", file.display()))?;
            sign_event(&event, |_, _| Ok(Payload::Policy { policy }))
        }
        PolicyCmd::Show { country } => {
            let cc = country.to_ascii_uppercase();
            match kpledger_core::demo::POLICIES.iter().find(|(c, _)| *c == cc) {
                Some((_, text)) => {
                    print!("{text}");
                    Ok(OK)
                }
                None => {
                    let known: Vec<&str> = kpledger_core::demo::POLICIES.iter().map(|(c, _)| *c).collect();
                    bail!(
                        "no built-in policy for {country:?}: the binary carries those of {}",
                        known.join(", ")
                    )
                }
            }
        }
    }
}
