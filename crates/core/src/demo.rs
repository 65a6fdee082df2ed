//! The demo scenario: a Mano River Union regional ledger from mine to sealed export lot.
//!
//! The MRU Secretariat (KP Regional Approach) runs the ledger; it enrols the four national
//! KP authorities, which publish their country policies (the files in `policies/`,
//! embedded here), register mine sites, and enrol licensed miners, middlemen, exporters and
//! government valuers. Parcels are mined in all four countries and follow each country's
//! legal chain (LC-2, docs/RULES.md) to an exporter, who merges them into an export lot
//! that is officially valued and sealed. Two flows are deliberately suspicious: one
//! handover's re-weigh finds 3% less than the miner declared (MB-3 warning), and Côte
//! d'Ivoire's export lot is valued at about US$270/ct — like the country's real 2019
//! exports, about 4.8 times its production benchmark of US$56.38/ct (docs/RULES.md, Reference figures): the
//! statistical red flag ST-1 of `kpledger-report`.

use std::path::{Path, PathBuf};

use kpledger_model::{ActorId, Cents, CertImporter, Origin, ParcelId, Points, Policy, Role, SiteId, Time};
use kpledger_verify::{Finding, Report};
use serde::{Deserialize, Serialize};

use crate::sim::{Enrolment, Sim, SimError, licence, site, text};
use crate::store::{Ledger, StoreError};

/// The embedded country policies (`policies/XX.json`).
pub const POLICIES: [(&str, &str); 4] = [
    ("SL", include_str!("../../../policies/SL.json")),
    ("LR", include_str!("../../../policies/LR.json")),
    ("GN", include_str!("../../../policies/GN.json")),
    ("CI", include_str!("../../../policies/CI.json")),
];

/// The demo ledger's origin name.
pub const DEMO_ORIGIN: &str = "kpledger.mru/regional";
/// The seed of the demo's (public, throw-away) keys.
pub const DEMO_SEED: &str = "kpledger-demo-v1";
/// When the demo's simulated clock starts.
pub const DEMO_START: &str = "2026-03-02T08:00:00Z";

/// Why the demo could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DemoError {
    /// The directory is not empty.
    #[error("{0} is not empty; the demo writes only into a new or empty directory")]
    NotEmpty(PathBuf),
    /// The PostgreSQL database given for the ledger is not empty (nothing was written).
    #[error(
        "the PostgreSQL database {0} is not empty (it holds tables or other objects of its own); the demo \
         writes its ledger only into an empty database: create a new one (CREATE DATABASE) and give its URL"
    )]
    DatabaseNotEmpty(PathBuf),
    /// A file could not be written.
    #[error("cannot write {path}")]
    Io {
        /// The file the demo was writing.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The scenario failed (a bug: the demo's events should all be accepted).
    #[error(transparent)]
    Sim(#[from] SimError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The country lines of the summary.
#[derive(Debug, Clone, Serialize)]
pub struct CountrySummary {
    /// ISO code.
    pub country: String,
    /// Parcels registered at mine sites.
    pub parcels_mined: u64,
    /// Their total weight.
    pub carats_mined_pt: u64,
    /// The sealed export lot.
    pub export_lot: ParcelId,
    /// Its weight in points (0.01 ct): the carats its certificate declares.
    pub export_lot_pt: u64,
    /// Its final official value.
    pub export_value_usd_cents: u64,
    /// Its container seals.
    pub seal_ids: Vec<String>,
    /// Its KP certificate.
    pub certificate: String,
    /// Country of origin on the certificate (`mixed` for mixed origin).
    pub origin: String,
    /// Where it went.
    pub destination: String,
    /// The lot's status in the ledger now.
    pub status: String,
}

/// What the demo did.
#[derive(Debug, Clone, Serialize)]
pub struct DemoSummary {
    /// The directory the demo wrote into.
    pub dir: PathBuf,
    /// The ledger in it (`ledger.kpl`), or the PostgreSQL database the demo wrote it into, by
    /// its URL without the password.
    pub ledger: PathBuf,
    /// The manifest that lists what the demo wrote (`manifest.json`).
    pub manifest: PathBuf,
    /// Events recorded.
    pub events: u64,
    /// Actors enrolled.
    pub actors: u64,
    /// Mine sites registered.
    pub sites: u64,
    /// Per country.
    pub countries: Vec<CountrySummary>,
    /// Warnings raised at ingest (the deliberately suspicious flow).
    pub warnings: Vec<Finding>,
    /// The verification of the finished ledger.
    pub report: Report,
    /// The offline verification of each evidence bundle, with the authorities' keys.
    pub bundle_reports: Vec<Report>,
}

/// The manifest the demo writes (`schemas/manifest.schema.json`).
#[derive(Debug, Serialize)]
pub struct Manifest {
    /// The ledger file, relative to the directory; or the PostgreSQL database's URL without
    /// its password.
    pub ledger: String,
    /// The authorities' public key files (PEM), relative to the directory.
    pub trust: Vec<String>,
    /// The importing authority's trust policy (docs/SPEC.md §14.5), relative to the directory:
    /// what `kpledger verify BUNDLE --policy` reads.
    pub policy: String,
    /// Evidence bundles, relative to the directory.
    pub bundles: Vec<String>,
}

/// The demo's trust policy file, relative to its directory.
pub const DEMO_POLICY: &str = "trust-policy.txt";

/// The trust policy an importing authority (Antwerp's, say) writes once for the MRU regional
/// ledger: the Secretariat's root key for the log, the four national authorities as
/// witnesses (all four must cosign), and each as the only authority trusted to validate its
/// own country's certificates. With `witnessed` false (a log no one witnesses, as in
/// `kpledger bench`), no witness is listed and the quorum is `none`.
pub fn importer_policy(
    origin: &str,
    root: kpledger_model::PublicKey,
    authorities: &[(String, kpledger_model::Country, kpledger_model::PublicKey)],
    witnessed: bool,
) -> Result<String, SimError> {
    use kpledger_verify::{ISSUER_KEYWORD, issuer_vkey, log_vkey, witness_vkey};
    let bad = |e: kpledger_model::note::NoteError| SimError::Value(e.to_string());
    let mut t = String::from(
        "# Trust policy of an importing authority for evidence bundles (docs/SPEC.md §14.5).\n\
         # Written once, from keys obtained through the KP's official channels, and reused:\n\
         #   kpledger verify BUNDLE --policy trust-policy.txt\n\
         # The demo's keys are public knowledge: never trust them for real parcels.\n\n\
         # The MRU regional ledger: its root authority's (the Secretariat's) key signs the log.\n",
    );
    t.push_str(&format!("log {}\n\n", log_vkey(origin, root).map_err(bad)?.to_vkey()));
    if witnessed {
        t.push_str("# The national KP authorities witness the log; every one of them must cosign.\n");
        for (id, _, key) in authorities {
            t.push_str(&format!("witness {id} {}\n", witness_vkey(id, *key).map_err(bad)?.to_vkey()));
        }
        let names: Vec<&str> = authorities.iter().map(|(id, _, _)| id.as_str()).collect();
        t.push_str(&format!("group mru-authorities all {}\nquorum mru-authorities\n\n", names.join(" ")));
    } else {
        t.push_str("# No witness: verdicts carry the warning LOG-4.\nquorum none\n\n");
    }
    t.push_str("# Who may validate each issuing country's KP certificates: its own authority only.\n");
    for (id, country, key) in authorities {
        t.push_str(&format!(
            "{ISSUER_KEYWORD} {country} {}\n",
            issuer_vkey(id, *key).map_err(bad)?.to_vkey()
        ));
    }
    Ok(t)
}

pub(crate) struct Country<'a> {
    pub(crate) code: &'a str,
    pub(crate) authority: ActorId,
    valuer: ActorId,
    miners: Vec<(ActorId, SiteId)>,
    /// Middlemen in order from miner to exporter.
    chain: Vec<ActorId>,
    pub(crate) exporter: ActorId,
    usd_per_ct: u64,
    /// US$/ct the export lot is valued at, before the valuers' margins.
    valued_usd_per_ct: u64,
}

/// Runs the demo into `dir` with `parcels` mined parcels (at least 8).
pub fn run(dir: &Path, parcels: u32, progress: &mut dyn FnMut(&str)) -> Result<DemoSummary, DemoError> {
    run_in(dir, None, parcels, progress)
}

/// As [`run`], the ledger written into the empty PostgreSQL database `database` (a
/// `postgres://` URL) when one is given, instead of `DIR/ledger.kpl`; the keys, trust
/// policy, bundles and manifest still go to `dir`, and the manifest's `ledger` is the
/// database's URL without its password. Refuses a non-empty `dir` or database before
/// writing anything to either.
pub fn run_in(
    dir: &Path,
    database: Option<&str>,
    parcels: u32,
    progress: &mut dyn FnMut(&str),
) -> Result<DemoSummary, DemoError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| DemoError::Io { path: path.clone(), source }
    };
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir).map_err(io(dir))?;
        if entries.next().is_some() {
            return Err(DemoError::NotEmpty(dir.to_owned()));
        }
    }
    let (ledger_path, ledger) = match database {
        // The database first: refused when it holds anything, before the directory is made.
        Some(url) => {
            let ledger = Ledger::create(Path::new(url)).map_err(|e| match e {
                StoreError::Storage(crate::store::StorageError::Exists(shown)) => {
                    DemoError::DatabaseNotEmpty(shown)
                }
                e => e.into(),
            })?;
            std::fs::create_dir_all(dir.join("keys")).map_err(io(dir))?;
            (ledger.path().to_owned(), ledger)
        }
        None => {
            std::fs::create_dir_all(dir.join("keys")).map_err(io(dir))?;
            let path = dir.join("ledger.kpl");
            let ledger = Ledger::create(&path)?;
            (path, ledger)
        }
    };
    let origin = Origin::new(DEMO_ORIGIN).map_err(SimError::Value)?;
    let start = Time::new(DEMO_START).map_err(SimError::Value)?;
    let mut sim = Sim::new(ledger, origin, DEMO_SEED, &start);
    let parcels = parcels.max(8);

    progress("enrolling authorities, actors and mine sites");
    let root = sim.genesis("mru.secretariat", "Mano River Union Secretariat - KP Regional Approach", "SL")?;
    let mut countries = setup(&mut sim, &root)?;

    let mut warnings = Vec::new();
    let per_country = parcels / 4;
    let mut lots = Vec::new();
    let mut mined = Vec::new();
    for (ci, c) in countries.iter_mut().enumerate() {
        let n = per_country + u32::from((ci as u32) < parcels % 4);
        progress(&format!("recording the {} trade: {n} parcels from mine sites to the exporter", c.code));
        let (lot, count, pt, w) = trade(&mut sim, c, n, ci == 0)?;
        lots.push(lot);
        mined.push((count, pt));
        warnings.extend(w);
    }
    let [sl, lr, gn, ci] = [&countries[0], &countries[1], &countries[2], &countries[3]];

    progress("Liberia exports a lot to a Sierra Leone exporter; Sierra Leone confirms receipt");
    let lr_cert = "LR-2026-000042";
    let lr_value = value_and_seal(&mut sim, lr, &lots[1])?;
    let mut to_sl = importer("Kono Gems Export Ltd", "14 Sewafe Road, Koidu", "SL")?;
    // The importer is enrolled in this regional ledger: the certificate binds its enrolment,
    // and the confirmation can give custody to no one else.
    to_sl.actor = Some(sl.exporter.clone());
    certify_and_export(&mut sim, lr, lr_cert, to_sl, lots[1])?;
    sim.tick(26 * 60);
    sim.confirm_import(&sl.authority, lr_cert, &sl.exporter)?;
    sim.tick(3 * 60);

    progress("Sierra Leone assembles a mixed-origin lot (SL + imported LR) and exports it to Antwerp");
    let mixed = sim.merge(&sl.exporter, &[lots[0], lots[1]])?;
    sim.tick(24 * 60);
    let sl_value = value_and_seal(&mut sim, sl, &mixed)?;
    let sl_cert = "SL-2026-004312";
    let to_be = importer("Diamcor Rough Trading NV", "Hoveniersstraat 22, Antwerp", "BE")?;
    certify_and_export(&mut sim, sl, sl_cert, to_be, mixed)?;
    sim.tick(24 * 60);

    progress("the MRU Secretariat publishes a checkpoint; the four national authorities witness it");
    let authorities: Vec<ActorId> = countries.iter().map(|c| c.authority.clone()).collect();
    let mut witnesses = Witnesses::default();
    witnesses.round(&mut sim, &root, &authorities)?;

    progress("Guinea exports to Dubai; Cote d'Ivoire exports to Antwerp");
    let gn_value = value_and_seal(&mut sim, gn, &lots[2])?;
    let gn_cert = "GN-2026-000117";
    let to_ae = importer("Gulf Rough Trading DMCC", "Almas Tower, Jumeirah Lakes Towers, Dubai", "AE")?;
    certify_and_export(&mut sim, gn, gn_cert, to_ae, lots[2])?;
    sim.tick(24 * 60);
    let ci_value = value_and_seal(&mut sim, ci, &lots[3])?;
    let ci_cert = "CI-2026-000009";
    let to_be2 = importer("Diamcor Rough Trading NV", "Hoveniersstraat 22, Antwerp", "BE")?;
    certify_and_export(&mut sim, ci, ci_cert, to_be2, lots[3])?;
    sim.tick(24 * 60);

    let shipments = [
        (lr, lr_cert, lots[1], lr_value, "SL (confirmed)"),
        (sl, sl_cert, mixed, sl_value, "BE"),
        (gn, gn_cert, lots[2], gn_value, "AE"),
        (ci, ci_cert, lots[3], ci_value, "BE"),
    ];
    let mut summaries = Vec::new();
    for (c, number, lot, (value, seals), dest) in shipments {
        let i = countries.iter().position(|x| x.code == c.code).unwrap_or(0);
        let state = sim.parcel(&lot)?;
        let cert = sim
            .ledger()
            .certificate(&text(number)?)?
            .ok_or_else(|| SimError::Value(format!("certificate {number} missing")))?;
        summaries.push(CountrySummary {
            country: c.code.to_owned(),
            parcels_mined: mined[i].0,
            carats_mined_pt: mined[i].1,
            export_lot: lot,
            export_lot_pt: cert.certificate.carats(),
            export_value_usd_cents: value.0,
            seal_ids: seals,
            certificate: number.to_owned(),
            origin: cert.certificate.country_of_origin.to_string(),
            destination: dest.to_owned(),
            status: state.status.as_str().to_owned(),
        });
    }

    progress("a second checkpoint: each witness checks it extends the first before cosigning");
    witnesses.round(&mut sim, &root, &authorities)?;

    progress("verifying the whole ledger");
    let ledger = sim.ledger();
    let report = ledger.verify(&mut |_, _| {})?;
    let events = ledger.len()?;
    let actors = ledger.actors()?.len() as u64;
    let sites = ledger.sites()?.len() as u64;

    let mut trust = Vec::new();
    let mut authorities = Vec::new();
    for (id, key) in sim.keys() {
        let pem = dir.join("keys").join(format!("{id}.pem"));
        let public = dir.join("keys").join(format!("{id}.pub"));
        std::fs::write(&pem, key.to_pem()).map_err(io(&pem))?;
        std::fs::write(&public, key.public().to_pem()).map_err(io(&public))?;
        if let Some(a) = ledger.actor(id)?.filter(|a| a.record.role == Role::Authority) {
            trust.push(format!("keys/{id}.pub"));
            if *id != root {
                authorities.push((id.to_string(), a.record.country.clone(), key.public()));
            }
        }
    }
    let root_key = sim.key(&root)?.public();
    let policy_text = importer_policy(DEMO_ORIGIN, root_key, &authorities, true)?;
    let policy_path = dir.join(DEMO_POLICY);
    std::fs::write(&policy_path, &policy_text).map_err(io(&policy_path))?;
    let policy = kpledger_verify::TrustPolicy::parse(policy_text.as_bytes())
        .map_err(|e| SimError::Value(format!("the demo's trust policy: {e}")))?;

    progress("writing and checking an evidence bundle per certificate");
    std::fs::create_dir_all(dir.join("bundles")).map_err(io(dir))?;
    let mut bundles = Vec::new();
    let mut bundle_reports = Vec::new();
    for s in &summaries {
        let bundle = ledger.bundle(&text(&s.certificate)?)?;
        let bytes = serde_json::to_vec_pretty(&bundle).map_err(|e| SimError::Value(e.to_string()))?;
        let rel = format!("bundles/{}.json", s.certificate);
        let path = dir.join(&rel);
        std::fs::write(&path, [bytes.as_slice(), b"\n"].concat()).map_err(io(&path))?;
        let report = kpledger_verify::verify_bundle(&bytes, &policy)
            .map_err(|e| SimError::Value(format!("bundle {}: {e}", s.certificate)))?;
        bundle_reports.push(report);
        bundles.push(rel);
    }
    // The file relative to DIR; a database by its URL, without the password.
    let in_manifest =
        if database.is_some() { ledger_path.display().to_string() } else { "ledger.kpl".into() };
    let manifest = Manifest { ledger: in_manifest, trust, policy: DEMO_POLICY.into(), bundles };
    let manifest_path = dir.join("manifest.json");
    let text = serde_json::to_string_pretty(&manifest).map_err(|e| SimError::Value(e.to_string()))? + "\n";
    std::fs::write(&manifest_path, text).map_err(io(&manifest_path))?;

    Ok(DemoSummary {
        dir: dir.to_owned(),
        ledger: ledger_path,
        manifest: manifest_path,
        events,
        actors,
        sites,
        countries: summaries,
        warnings,
        report,
        bundle_reports,
    })
}

/// The demo's world: per country, its authority, mine sites (each with the miner licensed on
/// it), middlemen from miner to exporter, exporter, valuer and prices. Recorded in its order.
const WORLD: &str = include_str!("demo/world.json");

/// One country of [`WORLD`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CountryPlan {
    code: String,
    authority: Named,
    mines: Vec<Mine>,
    middlemen: Vec<Licensed>,
    exporter: Licensed,
    valuer: Named,
    usd_per_ct: u64,
    /// US$/ct the export lot is valued at. Côte d'Ivoire's is valued like its real 2019
    /// exports (about US$260/ct, docs/RULES.md, Reference figures), several times the
    /// production benchmark of US$56.38/ct: ST-1 flags it.
    valued_usd_per_ct: u64,
}

/// An actor enrolled without a licence.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Named {
    id: String,
    name: String,
}

/// A mine site and the miner licensed on it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Mine {
    site: SitePlan,
    miner: Licensed,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SitePlan {
    id: String,
    name: String,
    region: String,
    location: String,
    area_m2: u64,
}

/// A licensed actor (a middleman names its role; an exporter, its registered address).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Licensed {
    #[serde(default)]
    role: Option<Role>,
    id: String,
    name: String,
    licence: String,
    class: String,
    #[serde(default)]
    address: Option<String>,
}

impl Licensed {
    /// Enrols it as `role` in `country`, licensed for the year on `sites`.
    fn enrol(
        &self,
        sim: &mut Sim,
        by: &ActorId,
        role: Role,
        country: &str,
        sites: &[&SiteId],
    ) -> Result<ActorId, SimError> {
        let licence = licence(&self.licence, &self.class, "2026-01-01", "2026-12-31", sites)?;
        let (id, name, address) = (&self.id, &self.name, self.address.as_deref());
        sim.enrol_with(by, Enrolment { id, name, role, country, licence: Some(licence), address })
    }
}

pub(crate) fn setup<'a>(sim: &mut Sim, root: &ActorId) -> Result<Vec<Country<'a>>, SimError> {
    let plans: Vec<CountryPlan> =
        serde_json::from_str(WORLD).map_err(|e| SimError::Value(format!("the demo's world: {e}")))?;
    let mut auth = Vec::new();
    for plan in &plans {
        auth.push(sim.enrol(
            root,
            &plan.authority.id,
            &plan.authority.name,
            Role::Authority,
            &plan.code,
            None,
        )?);
    }
    for ((code, text), a) in POLICIES.iter().zip(&auth) {
        let policy: Policy = kpledger_model::canonical::from_slice_input(text.as_bytes())
            .map_err(|e| SimError::Value(format!("embedded policy {code}: {e}")))?;
        sim.policy(a, policy)?;
    }
    let mut countries = Vec::new();
    for ((plan, authority), (code, _)) in plans.iter().zip(auth).zip(&POLICIES) {
        if plan.code != *code {
            return Err(SimError::Value(format!(
                "the demo's world lists {} where its policies have {code}",
                plan.code
            )));
        }
        let mut sites = Vec::new();
        for m in &plan.mines {
            let s = &m.site;
            sites.push(sim.site(&authority, site(&s.id, &s.name, code, &s.region, &s.location, s.area_m2)?)?);
        }
        let mut miners = Vec::new();
        for (m, s) in plan.mines.iter().zip(sites) {
            miners.push((m.miner.enrol(sim, &authority, Role::Miner, code, &[&s])?, s));
        }
        let mut chain = Vec::new();
        for m in &plan.middlemen {
            let role = m
                .role
                .ok_or_else(|| SimError::Value(format!("the demo's middleman {} has no role", m.id)))?;
            chain.push(m.enrol(sim, &authority, role, code, &[])?);
        }
        let exporter = plan.exporter.enrol(sim, &authority, Role::Exporter, code, &[])?;
        let valuer = sim.enrol(&authority, &plan.valuer.id, &plan.valuer.name, Role::Valuer, code, None)?;
        countries.push(Country {
            code,
            authority,
            valuer,
            miners,
            chain,
            exporter,
            usd_per_ct: plan.usd_per_ct,
            valued_usd_per_ct: plan.valued_usd_per_ct,
        });
    }
    Ok(countries)
}

/// `c`'s authority certifies the sealed `lot` at its exporter under certificate `number` to
/// `importer`, and a day later records its export.
fn certify_and_export(
    sim: &mut Sim,
    c: &Country<'_>,
    number: &str,
    importer: CertImporter,
    lot: ParcelId,
) -> Result<(), SimError> {
    let draft = sim.draft_certificate(number, &c.authority, &c.exporter, importer, &[lot], 60)?;
    sim.certify(&c.authority, draft)?;
    sim.tick(24 * 60);
    sim.export(&c.authority, number)?;
    Ok(())
}

/// One country's trade, from mine sites to an export lot at the exporter.
pub(crate) fn trade(
    sim: &mut Sim,
    c: &Country<'_>,
    n: u32,
    suspicious: bool,
) -> Result<(ParcelId, u64, u64, Vec<Finding>), SimError> {
    let mut warnings = Vec::new();
    let price = |w: Points, usd_per_ct: u64| Cents(w.0 * usd_per_ct);
    let mut at_exporter: Vec<ParcelId> = Vec::new();
    let (mut mined, mut mined_pt) = (0u64, 0u64);
    let mut lot_at_last_middleman = Vec::new();
    for i in 0..n {
        let (miner, site) = &c.miners[i as usize % c.miners.len()];
        // 5 to 80 carats, deterministic.
        let salt: u64 = c.code.bytes().map(u64::from).product();
        let weight = Points(500 + (u64::from(i) * 7_919 + salt * 131) % 7_500);
        let stones = u32::try_from(weight.0 / 60 + 1).unwrap_or(1);
        let hs = if i % 3 == 0 { "7102.21" } else { "7102.31" };
        let p = sim.extract(miner, site, weight, stones, hs)?;
        mined += 1;
        mined_pt += weight.0;
        sim.tick(30);
        let mut holder = miner.clone();
        for (step, next) in c.chain.iter().enumerate() {
            let received =
                if suspicious && i == 0 && step == 0 { Some(Points(weight.0 * 97 / 100)) } else { None };
            let margin = 100 + 8 * step as u64;
            let current = sim.parcel(&p)?.weight_pt;
            let out =
                sim.handover(&holder, &p, next, price(current, c.usd_per_ct * margin / 100), received)?;
            warnings.extend(out.warnings);
            holder = next.clone();
            sim.tick(60);
        }
        lot_at_last_middleman.push(p);
    }
    // The last middleman sorts: merges what it bought, splits the lot by size class, and
    // sells both parts to the exporter.
    let middleman = c.chain.last().cloned().unwrap_or_else(|| c.exporter.clone());
    let merged = sim.merge(&middleman, &lot_at_last_middleman)?;
    sim.tick(120);
    let w = sim.parcel(&merged)?.weight_pt;
    let big = Points(w.0 * 3 / 5);
    let parts = sim.split(&middleman, &merged, &[big, Points(w.0 - big.0)])?;
    sim.tick(120);
    for part in parts {
        let current = sim.parcel(&part)?.weight_pt;
        let out =
            sim.handover(&middleman, &part, &c.exporter, price(current, c.usd_per_ct * 115 / 100), None)?;
        warnings.extend(out.warnings);
        at_exporter.push(part);
        sim.tick(60);
    }
    let lot = sim.merge(&c.exporter, &at_exporter)?;
    sim.tick(24 * 60);
    Ok((lot, mined, mined_pt, warnings))
}

/// The national authorities as witnesses of the regional log: each remembers the last
/// checkpoint it cosigned and cosigns a new one only if it is a consistent extension.
#[derive(Default)]
struct Witnesses {
    states: std::collections::BTreeMap<ActorId, kpledger_verify::witness::LogState>,
}

impl Witnesses {
    /// The root authority publishes a checkpoint of the log as it is; every witness checks
    /// and cosigns it; the cosignatures are stored with it.
    fn round(&mut self, sim: &mut Sim, root: &ActorId, witnesses: &[ActorId]) -> Result<(), SimError> {
        use kpledger_model::note::{Cosigner, Note, SigType, VerifierKey};
        let bad = |e: &dyn std::fmt::Display| SimError::Value(e.to_string());
        let root_key = sim.key(root)?.clone();
        let cp = sim.ledger_mut().publish_checkpoint(&root_key)?;
        let origin = DEMO_ORIGIN;
        let log_key = VerifierKey::new(origin, SigType::Ed25519, root_key.public()).map_err(|e| bad(&e))?;
        let mut note = Note::parse(cp.note.as_bytes()).map_err(|e| bad(&e))?;
        let time = sim.now().unix().max(0) as u64;
        let mut keys = Vec::new();
        for w in witnesses {
            let state = self.states.get(w);
            let proof = match state {
                Some(s) if s.size < cp.size => sim.ledger().consistency_proof(s.size, cp.size)?,
                _ => Vec::new(),
            };
            let opened = kpledger_verify::witness::check(state, cp.note.as_bytes(), &log_key, &proof)
                .map_err(|e| bad(&e))?;
            let cosigner = Cosigner::new(w.as_str(), sim.key(w)?.clone()).map_err(|e| bad(&e))?;
            note.cosign(&cosigner, time).map_err(|e| bad(&e))?;
            keys.push(cosigner.verifier());
            let c = opened.checkpoint();
            self.states.insert(
                w.clone(),
                kpledger_verify::witness::LogState {
                    origin: origin.to_owned(),
                    size: c.size(),
                    root: *c.root_hash(),
                },
            );
        }
        sim.ledger_mut().add_cosignatures(&note.to_bytes(), &keys)?;
        Ok(())
    }
}

/// A certificate's importer, for scenarios.
pub fn importer(name: &str, address: &str, country: &str) -> Result<CertImporter, SimError> {
    Ok(CertImporter {
        name: text(name)?,
        address: text(address)?,
        country: kpledger_model::Country::new(country).map_err(SimError::Value)?,
        actor: None,
    })
}

/// Official valuation by the country's rule, then sealing by its authority.
pub(crate) fn value_and_seal(
    sim: &mut Sim,
    c: &Country<'_>,
    lot: &ParcelId,
) -> Result<(Cents, Vec<String>), SimError> {
    let state = sim.parcel(lot)?;
    let base = state.weight_pt.0 * c.valued_usd_per_ct * 120 / 100;
    let (exporter, government, independent) = (Cents(base), Cents(base * 104 / 100), Cents(base * 102 / 100));
    let (independent, final_value) = if matches!(c.code, "SL" | "LR") {
        (Some(independent), government.max(exporter).max(independent))
    } else {
        (None, government)
    };
    sim.value(&c.valuer, lot, exporter, government, independent, final_value)?;
    sim.tick(60);
    let n = sim.ledger().len()?;
    let seals = vec![format!("{}-SEAL-2026-{:04}", c.code, n), format!("{}-SEAL-2026-{:04}", c.code, n + 1)];
    let refs: Vec<&str> = seals.iter().map(String::as_str).collect();
    sim.seal(&c.authority, lot, &refs)?;
    sim.tick(24 * 60);
    Ok((final_value, seals))
}
