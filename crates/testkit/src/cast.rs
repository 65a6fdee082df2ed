//! The cast of the test worlds as data: who the actors are (id, name, role, country,
//! licence, address), the mine sites, and the worlds made of them, each a table of [`Step`]s
//! that one function, [`build`], records through the simulator.
//!
//! A licence number's `{y}` is the world's year; every licence runs for the world's year
//! unless the [`Terms`] give its holder other dates.

use std::collections::BTreeMap;

use kpledger_core::demo::POLICIES;
use kpledger_core::sim::{Enrolment, Sim, licence, site};
use kpledger_model::canonical::from_slice_strict;
pub use kpledger_model::{ActorId, SiteId};
use kpledger_model::{Origin, Policy, Role, Time};

use crate::TempDir;

/// An actor of the cast.
#[derive(Clone, Copy, Debug)]
pub struct Party {
    /// Its actor id.
    pub id: &'static str,
    /// Its registered name.
    pub name: &'static str,
    /// What it does.
    pub role: Role,
    /// Where it is licensed.
    pub country: &'static str,
    /// Its licence: number (`{y}` stands for the world's year), class and the sites covered.
    pub licence: Option<(&'static str, &'static str, &'static [&'static str])>,
    /// Its registered address, when it has one on record.
    pub address: Option<&'static str>,
}

impl Party {
    /// An unlicensed authority or official.
    const fn official(id: &'static str, name: &'static str, role: Role, country: &'static str) -> Party {
        Party { id, name, role, country, licence: None, address: None }
    }

    /// A licensed trader.
    const fn licensed(
        (id, name, country): (&'static str, &'static str, &'static str),
        role: Role,
        licence: (&'static str, &'static str, &'static [&'static str]),
    ) -> Party {
        Party { id, name, role, country, licence: Some(licence), address: None }
    }

    /// A miner holding licence `number` of `class` for `sites`.
    const fn miner(
        id: &'static str,
        name: &'static str,
        country: &'static str,
        (number, class): (&'static str, &'static str),
        sites: &'static [&'static str],
    ) -> Party {
        Party::licensed((id, name, country), Role::Miner, (number, class, sites))
    }

    /// A dealer holding dealer's licence `number`.
    const fn dealer(
        id: &'static str,
        name: &'static str,
        country: &'static str,
        number: &'static str,
    ) -> Party {
        Party::licensed((id, name, country), Role::Dealer, (number, "dealer", &[]))
    }

    /// An exporter holding exporter's licence `number`.
    const fn exporter(
        id: &'static str,
        name: &'static str,
        country: &'static str,
        number: &'static str,
    ) -> Party {
        Party::licensed((id, name, country), Role::Exporter, (number, "exporter", &[]))
    }

    /// The same actor with its registered address on record.
    pub const fn at(self, address: &'static str) -> Party {
        Party { address: Some(address), ..self }
    }

    /// The same actor named `name`.
    pub const fn named(self, name: &'static str) -> Party {
        Party { name, ..self }
    }

    /// The same actor licensed for `sites` instead.
    pub const fn mining(self, sites: &'static [&'static str]) -> Party {
        match self.licence {
            Some((number, class, _)) => Party { licence: Some((number, class, sites)), ..self },
            None => self,
        }
    }
}

/// A mine site of the cast: id, name, country, region, location, area in m².
#[derive(Clone, Copy, Debug)]
pub struct Place(
    pub &'static str,
    pub &'static str,
    pub &'static str,
    pub &'static str,
    pub &'static str,
    pub u64,
);

/// The Mano River Union secretariat, root of the regional ledger (as in the demo).
pub const MRU: Party =
    Party::official("mru.secretariat", "Mano River Union Secretariat", Role::Authority, "SL");
/// Sierra Leone's KP authority.
pub const NMA: Party =
    Party::official("sl.nma", "National Minerals Agency of Sierra Leone", Role::Authority, "SL");
/// The NMA's ledger office, root of an operated national ledger (SPEC.md §14.5).
pub const NMA_OFFICE: Party = Party::official("sl.ledger", "NMA ledger office", Role::Authority, "SL");
/// Liberia's KP authority.
pub const MME: Party =
    Party::official("lr.mme", "Ministry of Mines and Energy of Liberia", Role::Authority, "LR");
/// Guinea's KP authority.
pub const GN_MINES: Party =
    Party::official("gn.mines", "Ministere des Mines et de la Geologie de Guinee", Role::Authority, "GN");
/// Sierra Leone's government valuer.
pub const PMT: Party = Party::official("sl.pmt", "Precious Minerals Trading Directorate", Role::Valuer, "SL");
/// Liberia's government valuer.
pub const GDO: Party = Party::official("lr.gdo", "Government Diamond Office", Role::Valuer, "LR");
/// An artisanal miner at Koidu.
pub const KOROMA: Party =
    Party::miner("sl.miner.koroma", "Ibrahim Koroma", "SL", ("NMA/AML/{y}/0142", "artisanal"), &[KOIDU.0]);
/// An artisanal miner at Tongo Field.
pub const SESAY: Party =
    Party::miner("sl.miner.sesay", "Fatmata Sesay", "SL", ("NMA/AML/{y}/0377", "artisanal"), &[TONGO.0]);
/// A Sierra Leone dealer.
pub const KAMARA: Party = Party::dealer("sl.dealer.kamara", "Kamara Diamond Dealers", "SL", "NMA/DL/{y}/031");
/// A Sierra Leone exporter.
pub const KONO_GEMS: Party =
    Party::exporter("sl.exporter.kono-gems", "Kono Gems Export Ltd", "SL", "NMA/EXP/{y}/007");
/// Kono Gems' registered address (printed on its certificates).
pub const KONO_GEMS_ADDRESS: &str = "14 Sewafe Road, Koidu";
/// A Liberian dealer.
pub const LIBERTY: Party =
    Party::dealer("lr.dealer.liberty", "Liberty Rough Exports", "LR", "MME/DL/{y}/019");
/// Another Liberian dealer.
pub const KPOTO: Party = Party::dealer("lr.dealer.kpoto", "Kpoto Diamond House", "LR", "MME/DL/{y}/019");
/// Guinea's government valuer.
pub const BNEE: Party = Party::official("gn.bnee", "BNEE", Role::Valuer, "GN");
/// A Liberian exporter.
pub const LIBERTY_EXPORTS: Party =
    Party::exporter("lr.exporter.liberty", "Liberty Rough Exports Inc", "LR", "MME/EXP/{y}/004");
/// A Liberian class-C miner at Weasua.
pub const FLOMO: Party =
    Party::miner("lr.miner.flomo", "Joseph Flomo", "LR", ("MME/C/{y}/1188", "class-c"), &[WEASUA.0]);

/// Koidu claim 12, Kono.
pub const KOIDU: Place = Place("sl.kono.koidu-12", "Koidu claim 12", "SL", "Kono", "8.6446,-10.9712", 8_000);
/// Tongo Field plot 3, Kenema.
pub const TONGO: Place =
    Place("sl.kenema.tongo-3", "Tongo Field plot 3", "SL", "Kenema", "8.1667,-11.0667", 9_500);
/// Weasua claim 7, Gbarpolu (Liberia).
pub const WEASUA: Place =
    Place("lr.gbarpolu.weasua-7", "Weasua claim 7", "LR", "Gbarpolu", "7.3,-10.6", 40_000);

/// One step of setting a world up.
#[derive(Clone, Copy, Debug)]
pub enum Step {
    /// The ledger's genesis: this party is the root authority.
    Genesis(Party),
    /// The actor with the first id enrols the party.
    Enrol(&'static str, Party),
    /// The authority publishes its country's policy (`policies/XX.json`, as
    /// [`Terms::policies`] edits it).
    Policy(Party),
    /// The authority with the first id registers the site.
    Site(&'static str, Place),
    /// The clock moves this many minutes.
    Tick(i64),
}

use Step::{Enrol, Genesis, Site, Tick};

/// Sierra Leone's national ledger: the NMA as root authority with its policy, the Koidu and
/// Tongo sites, the two artisanal miners, the dealer, the exporter (at its address) and the
/// PMT valuer.
pub const SIERRA_LEONE: &[Step] = &[
    Genesis(NMA),
    Step::Policy(NMA),
    Site(NMA.id, KOIDU),
    Site(NMA.id, TONGO),
    Enrol(NMA.id, KOROMA),
    Enrol(NMA.id, SESAY),
    Enrol(NMA.id, KAMARA),
    Enrol(NMA.id, KONO_GEMS.at(KONO_GEMS_ADDRESS)),
    Enrol(NMA.id, PMT),
];

/// A regional ledger (root the Mano River Union secretariat, as in the demo): Sierra Leone's
/// and Liberia's authorities, each with its published policy; in Sierra Leone the Koidu
/// site, its miner, the dealer, the exporter and the PMT valuer; in Liberia the dealer
/// Liberty Rough Exports.
pub const REGIONAL: &[Step] = &[
    Genesis(MRU),
    Enrol(MRU.id, NMA),
    Enrol(MRU.id, MME),
    Step::Policy(NMA),
    Step::Policy(MME),
    Site(NMA.id, KOIDU),
    Enrol(NMA.id, KOROMA),
    Enrol(NMA.id, KAMARA),
    Enrol(NMA.id, KONO_GEMS),
    Enrol(NMA.id, PMT),
    Enrol(MME.id, LIBERTY),
    Tick(60),
];

/// [`SIERRA_LEONE`] operated by the NMA's ledger office, which enrols the NMA: the key that
/// signs the log is not the key that validates certificates.
pub fn sierra_leone_operated() -> Vec<Step> {
    [&[Genesis(NMA_OFFICE), Enrol(NMA_OFFICE.id, NMA)][..], &SIERRA_LEONE[1..]].concat()
}

/// [`SIERRA_LEONE`] with one mine site: Koidu, its miner, the dealer, the exporter (at its
/// address) and the PMT valuer (no Tongo, no Sesay).
pub fn koidu_trade() -> Vec<Step> {
    let tongo_or_sesay = |s: &Step| match s {
        Site(_, place) => place.0 == TONGO.0,
        Enrol(_, party) => party.id == SESAY.id,
        _ => false,
    };
    SIERRA_LEONE.iter().copied().filter(|s| !tongo_or_sesay(s)).collect()
}

/// [`REGIONAL`] with Liberia's own trade: the Weasua site, its miner, an exporter and the
/// valuer instead of the Liberian dealer.
pub fn regional_two_trades() -> Vec<Step> {
    let liberia = [Enrol(MME.id, FLOMO), Enrol(MME.id, LIBERTY_EXPORTS), Enrol(MME.id, GDO), Tick(60)];
    [&REGIONAL[..6], &[Site(MME.id, WEASUA)], &REGIONAL[6..10], &liberia].concat()
}

/// Sierra Leone's ledger with its neighbours enrolled by the NMA: the Koidu site, two miners
/// there, the dealer, the exporter and the PMT (as in [`REGIONAL`]); Liberia's authority
/// (with its policy) and an exporter it licenses; Guinea's authority; then an hour passes.
pub fn sierra_leone_and_neighbours() -> Vec<Step> {
    let sesay = [Enrol(NMA.id, SESAY.mining(&[KOIDU.0]))];
    let neighbours = [
        Enrol(NMA.id, MME),
        Step::Policy(MME),
        Enrol(MME.id, LIBERTY_EXPORTS),
        Enrol(NMA.id, GN_MINES),
        Tick(60),
    ];
    [&SIERRA_LEONE[..3], &REGIONAL[6..7], &sesay, &REGIONAL[7..10], &neighbours].concat()
}

/// A country's policy as published in `policies/XX.json`.
pub fn policy(country: &str) -> Policy {
    let (_, doc) = POLICIES
        .iter()
        .find(|(c, _)| *c == country)
        .unwrap_or_else(|| panic!("no published policy for {country}"));
    from_slice_strict(doc.as_bytes()).unwrap()
}

/// A change to a country's published policy (given the country and the policy).
type PolicyEdit<'a> = Box<dyn Fn(&str, &mut Policy) + 'a>;

/// The terms a world is set up on.
pub struct Terms<'a> {
    /// The ledger's origin.
    pub origin: &'a str,
    /// The seed of the simulator's (public, throw-away) keys.
    pub seed: &'a str,
    /// When the simulated clock starts.
    pub start: &'a str,
    /// The first and last day of every licence (and `{y}` of licence numbers).
    pub year: (&'a str, &'a str),
    /// Licences that run on other dates: holder id, first and last day.
    pub licences: Vec<(&'a str, &'a str, &'a str)>,
    /// Changes a country's published policy before it is recorded.
    pub policy: PolicyEdit<'a>,
}

impl<'a> Terms<'a> {
    /// A ledger `origin`, keys from `seed`, the clock at `start`, licences for 2026, the
    /// published policies.
    pub fn new(origin: &'a str, seed: &'a str, start: &'a str) -> Terms<'a> {
        Terms {
            origin,
            seed,
            start,
            year: ("2026-01-01", "2026-12-31"),
            licences: Vec::new(),
            policy: Box::new(|_, _| {}),
        }
    }

    /// The published policies and licences for 2026, for [`build`] over a simulator made
    /// elsewhere (which has its own origin, seed and clock).
    pub fn published() -> Terms<'static> {
        Terms::new("", "", "")
    }

    /// Every licence valid from `from` to `to`.
    pub fn year(self, from: &'a str, to: &'a str) -> Terms<'a> {
        Terms { year: (from, to), ..self }
    }

    /// `holder`'s licence valid from `from` to `to`.
    pub fn licence(mut self, holder: &'a str, from: &'a str, to: &'a str) -> Terms<'a> {
        self.licences.push((holder, from, to));
        self
    }

    /// Policies changed by `edit` (given the country and its published policy).
    pub fn policies(self, edit: impl Fn(&str, &mut Policy) + 'a) -> Terms<'a> {
        Terms { policy: Box::new(edit), ..self }
    }
}

/// Who is who in a built world.
#[derive(Clone, Debug, Default)]
pub struct Cast {
    actors: BTreeMap<&'static str, ActorId>,
    sites: BTreeMap<&'static str, SiteId>,
}

impl Cast {
    /// The actor with this id (which the world must have).
    pub fn actor(&self, id: &str) -> ActorId {
        self.actors.get(id).unwrap_or_else(|| panic!("the world has no actor {id}")).clone()
    }

    /// This cast and an actor already in the ledger, which later steps name by `id`.
    pub fn and(mut self, id: &'static str, actor: ActorId) -> Cast {
        self.actors.insert(id, actor);
        self
    }

    /// The site with this id (which the world must have).
    pub fn site(&self, id: &str) -> SiteId {
        self.sites.get(id).unwrap_or_else(|| panic!("the world has no site {id}")).clone()
    }
}

/// `cast_ids!(/** doc */ pub struct Name { field: PARTY, … } sites { field: PLACE, … })`: a
/// struct of the ids of a world's cast by name, each field the actor of a [`Party`] or the site
/// of a [`Place`], and `Name::of(&cast)`, which finds them in the [`Cast`] a world was built
/// with. Each name is written once, next to the party or place it stands for.
#[macro_export]
macro_rules! cast_ids {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident { $($actor:ident: $party:expr),* $(,)? }
        sites { $($site:ident: $place:expr),* $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug)]
        $vis struct $name {
            $(#[doc = stringify!($party)] $vis $actor: $crate::cast::ActorId,)*
            $(#[doc = stringify!($place)] $vis $site: $crate::cast::SiteId,)*
        }

        impl $name {
            /// The ids in the cast of a world built from steps.
            $vis fn of(c: &$crate::cast::Cast) -> $name {
                $name { $($actor: c.actor($party.id),)* $($site: c.site($place.0),)* }
            }
        }
    };
}

/// Records `steps` through `sim` on `terms`.
pub fn build(sim: &mut Sim, steps: &[Step], terms: &Terms<'_>) -> Cast {
    build_on(sim, Cast::default(), steps, terms)
}

/// Records `steps` through `sim` on `terms`, in a ledger that already has the actors of
/// `cast`; returns them with the new ones.
pub fn build_on(sim: &mut Sim, mut cast: Cast, steps: &[Step], terms: &Terms<'_>) -> Cast {
    let year = &terms.year.0[..4];
    for step in steps {
        match *step {
            Genesis(p) => {
                let id = sim.genesis(p.id, p.name, p.country).unwrap();
                cast.actors.insert(p.id, id);
            }
            Enrol(by, p) => {
                let by = cast.actor(by);
                let lic = p.licence.map(|(number, class, sites)| {
                    let (from, to) = terms
                        .licences
                        .iter()
                        .find(|(holder, _, _)| *holder == p.id)
                        .map_or(terms.year, |&(_, from, to)| (from, to));
                    let sites: Vec<SiteId> = sites.iter().map(|s| cast.site(s)).collect();
                    let sites: Vec<&SiteId> = sites.iter().collect();
                    licence(&number.replace("{y}", year), class, from, to, &sites).unwrap()
                });
                let id = sim
                    .enrol_with(
                        &by,
                        Enrolment {
                            id: p.id,
                            name: p.name,
                            role: p.role,
                            country: p.country,
                            licence: lic,
                            address: p.address,
                        },
                    )
                    .unwrap();
                cast.actors.insert(p.id, id);
            }
            Step::Policy(by) => {
                let mut policy = policy(by.country);
                (terms.policy)(by.country, &mut policy);
                sim.policy(&cast.actor(by.id), policy).unwrap();
            }
            Site(by, Place(id, name, country, region, location, area)) => {
                let record = site(id, name, country, region, location, area).unwrap();
                let site = sim.site(&cast.actor(by), record).unwrap();
                cast.sites.insert(id, site);
            }
            Tick(minutes) => sim.tick(minutes),
        }
    }
    cast
}

/// The simulator over a new ledger at `path` (a file, or a PostgreSQL URL), on the origin, seed
/// and start of `terms`.
pub fn sim_at(path: &std::path::Path, terms: &Terms<'_>) -> Sim {
    let ledger = kpledger_core::Ledger::create(path).unwrap();
    Sim::new(ledger, Origin::new(terms.origin).unwrap(), terms.seed, &Time::new(terms.start).unwrap())
}

/// A world over a fresh ledger in a directory of its own: the simulator after `steps`,
/// who is who, and the directory (to be dropped after the simulator).
pub fn world(tag: &str, steps: &[Step], terms: &Terms<'_>) -> (Sim, Cast, TempDir) {
    let tmp = TempDir::new(tag);
    let mut sim = sim_at(&tmp.ledger(), terms);
    let cast = build(&mut sim, steps, terms);
    (sim, cast, tmp)
}
