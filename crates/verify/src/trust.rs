//! The importing authority's **trust policy**: which logs, witnesses and certificate
//! issuers a bundle's verifier trusts (docs/SPEC.md §14.5).
//!
//! One human-readable, diffable text file, written once and reused: the C2SP
//! [tlog-policy](https://c2sp.org/tlog-policy) format for the log, witness, group and quorum
//! lines (keys as C2SP note verifier keys, read by `kpledger_model::note`), plus one
//! kpledger extension line that pins the authorities allowed to validate each issuing
//! country's certificates:
//!
//! ```text
//! log <vkey> [<url>]                      the log's root key; vkey name = the log's origin
//! witness <name> <vkey> [<url>]           a witness's cosigning key (type 0x04); the URL is
//!                                         its tlog-witness submission prefix (http or https)
//! group <name> all|any|<k> <name>...      k of the named witnesses or groups
//! quorum <name>|none                      exactly one
//! kpledger-issuer <CC> <vkey>             an authority of country CC; vkey name = its actor id
//! ```
//!
//! A `log` or `witness` line whose key has a signature type kpledger does not verify (for
//! example an ML-DSA-44 cosignature key, which tlog-cosignature recommends) is read, never
//! refused: such a log's checkpoints are not accepted and such a witness never counts toward
//! a quorum (it can still be named in groups), since no signature by it can be checked here.
//!
//! Bytes in, a [`TrustPolicy`] or a [`PolicyError`] naming the lines out; no I/O.

use std::collections::BTreeSet;
use std::fmt;

use kpledger_model::note::{SigType, VerifierKey};
use kpledger_model::{ActorId, Country, Origin, PublicKey};

/// Largest policy file read.
pub(crate) const MAX_POLICY_BYTES: usize = 1024 * 1024;
/// Most lines of each kind (logs, witnesses, groups, issuers) a policy may hold.
pub(crate) const MAX_ENTRIES: usize = 256;
/// Most members a group may list.
pub(crate) const MAX_MEMBERS: usize = 256;

/// The extension keyword of an issuer line.
pub const ISSUER_KEYWORD: &str = "kpledger-issuer";

/// Why a trust policy file is refused, with the (1-based) lines at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {reason}", lines_text(.lines))]
pub struct PolicyError {
    /// The lines at fault (1-based, ascending); empty when the whole file is.
    pub lines: Vec<usize>,
    /// What is wrong and what to do.
    pub reason: String,
}

fn lines_text(lines: &[usize]) -> String {
    match lines {
        [] => "trust policy".to_owned(),
        [one] => format!("trust policy line {one}"),
        more => {
            let (last, rest) = more.split_last().unwrap_or((&0, &[]));
            let rest: Vec<String> = rest.iter().map(usize::to_string).collect();
            format!("trust policy lines {} and {last}", rest.join(", "))
        }
    }
}

fn err(lines: &[usize], reason: impl Into<String>) -> PolicyError {
    let mut lines = lines.to_vec();
    lines.sort_unstable();
    lines.dedup();
    PolicyError { lines, reason: reason.into() }
}

/// A pinned log: its root key, under its origin as key name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogPin {
    /// The line it was read from.
    pub line: usize,
    /// The verifier key (type Ed25519, name = origin).
    pub key: VerifierKey,
    /// The optional URL, kept as written.
    pub url: Option<String>,
}

/// A trusted witness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessPin {
    /// The line it was read from.
    pub line: usize,
    /// Its name in this policy (for groups and the quorum only).
    pub name: String,
    /// Its cosignature verifier key (type cosignature/v1; the key name is the name it signs
    /// with); `None` for a key of a signature type kpledger does not verify, which then never
    /// counts toward a quorum.
    pub key: Option<VerifierKey>,
    /// The vkey as written.
    pub vkey: String,
    /// The optional URL (its tlog-witness submission prefix), kept as written.
    pub url: Option<String>,
}

/// A `log` line whose key has a signature type kpledger does not verify: read and kept (for
/// the canonical text), but it makes no checkpoint acceptable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnverifiableLog {
    /// The line it was read from.
    pub line: usize,
    /// The vkey's name (the log's origin).
    pub origin: String,
    /// The vkey as written.
    pub vkey: String,
    /// The optional URL on the `log` line, kept as written.
    pub url: Option<String>,
}

/// How many members of a group must have witnessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threshold {
    /// Every member.
    All,
    /// At least one.
    Any,
    /// At least k (1 ≤ k ≤ members).
    AtLeast(usize),
}

/// A member of a group: a witness or an earlier group (indexes into the policy's lists).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Member {
    /// `witnesses[i]`.
    Witness(usize),
    /// `groups[i]`.
    Group(usize),
}

/// A witness group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// The line it was read from.
    pub line: usize,
    /// The group's name, by which a `quorum` line or a later group refers to it.
    pub name: String,
    /// How many of its members must have cosigned: all, any, or at least k.
    pub threshold: Threshold,
    /// Its members, each defined on an earlier line.
    pub members: Vec<Member>,
}

impl Group {
    /// The number of members that must have witnessed.
    pub fn required(&self) -> usize {
        match self.threshold {
            Threshold::All => self.members.len(),
            Threshold::Any => 1,
            Threshold::AtLeast(k) => k,
        }
    }
}

/// The quorum a checkpoint's cosignatures must meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quorum {
    /// `quorum none`: no cosignature is required.
    None,
    /// The witness at this index of [`TrustPolicy::witnesses`] must have cosigned.
    Witness(usize),
    /// The group at this index of [`TrustPolicy::groups`] must be satisfied.
    Group(usize),
}

/// An authority trusted to validate the certificates of one issuing country.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerPin {
    /// The line it was read from.
    pub line: usize,
    /// The issuing country.
    pub country: Country,
    /// The authority's actor id (the vkey's name).
    pub actor: ActorId,
    /// Its key (type Ed25519; kpledger event signatures, docs/SPEC.md §5).
    pub key: VerifierKey,
}

/// A parsed trust policy (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustPolicy {
    logs: Vec<LogPin>,
    unverifiable_logs: Vec<UnverifiableLog>,
    witnesses: Vec<WitnessPin>,
    groups: Vec<Group>,
    /// The witnesses each group reaches, directly or through its subgroups (parallel to `groups`).
    reach: Vec<BTreeSet<usize>>,
    quorum: Quorum,
    quorum_line: usize,
    issuers: Vec<IssuerPin>,
    /// Keys trusted without a role (`kpledger verify BUNDLE --trust KEYFILE`, the command line
    /// of kpledger 0.1.0): a bundle's log is trusted when its genesis key is one of them, and a
    /// certificate when the authority validating it holds one of them and is not the log's root
    /// authority. Never read from or written to the policy text.
    keys: Vec<PublicKey>,
}

/// Splits a line at runs of ASCII space and tab (and only those).
fn fields(line: &str) -> Vec<&str> {
    line.split([' ', '\t']).filter(|f| !f.is_empty()).collect()
}

/// A vkey whose signature type kpledger does not verify: `Ok(None)` after checking its form
/// (name, key ID of the name, type and key bytes).
fn vkey_or_unverifiable(
    line: usize,
    text: &str,
    want: SigType,
    what: &str,
) -> Result<Option<VerifierKey>, PolicyError> {
    match VerifierKey::parse(text) {
        Err(kpledger_model::note::NoteError::UnsupportedSigType(_)) => Ok(None),
        _ => vkey(line, text, want, what).map(Some),
    }
}

/// The key bytes of a well-formed vkey (after its second `+`), for spotting duplicates.
fn vkey_material(text: &str) -> &str {
    text.splitn(3, '+').nth(2).unwrap_or(text)
}

fn vkey(line: usize, text: &str, want: SigType, what: &str) -> Result<VerifierKey, PolicyError> {
    let k = VerifierKey::parse(text)
        .map_err(|e| err(&[line], format!("{what}: not a C2SP verifier key: {e}")))?;
    if k.sig_type() != want {
        return Err(err(
            &[line],
            format!(
                "{what}: the verifier key has signature type 0x{:02x}, but this line needs 0x{:02x} ({})",
                k.sig_type().byte(),
                want.byte(),
                match want {
                    SigType::Ed25519 => "Ed25519, as `kpledger trust line log|issuer` prints",
                    _ => "cosignature/v1, as `kpledger trust line witness` prints",
                }
            ),
        ));
    }
    Ok(k)
}

impl TrustPolicy {
    /// Parses a policy file (docs/SPEC.md §14.5). Every problem names its lines.
    pub fn parse(bytes: &[u8]) -> Result<TrustPolicy, PolicyError> {
        if bytes.len() > MAX_POLICY_BYTES {
            return Err(err(
                &[],
                format!("the file has {} bytes; a trust policy has at most {MAX_POLICY_BYTES}", bytes.len()),
            ));
        }
        let text = std::str::from_utf8(bytes).map_err(|e| {
            let line = bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
            err(&[line], "not UTF-8 text: save the file as UTF-8")
        })?;
        let mut p = TrustPolicy::from_keys(Vec::new());
        let body = text.strip_suffix('\n').unwrap_or(text);
        for (i, raw) in body.split('\n').enumerate() {
            let n = i + 1;
            if let Some(c) = raw.chars().find(|&c| (c < ' ' && c != '\t') || c == '\u{7f}') {
                let what = if c == '\r' {
                    "a carriage return: save the file with LF (Unix) line ends".to_owned()
                } else {
                    format!("the control character U+{:04X}; only tab and newline are allowed", u32::from(c))
                };
                return Err(err(&[n], format!("the line holds {what}")));
            }
            let f = fields(raw);
            let Some((&keyword, args)) = f.split_first() else { continue };
            if keyword.starts_with('#') {
                continue;
            }
            match keyword {
                "log" => p.parse_log(n, args)?,
                "witness" => p.parse_witness(n, args)?,
                "group" => p.parse_group(n, args)?,
                "quorum" => p.parse_quorum(n, args)?,
                ISSUER_KEYWORD => p.parse_issuer(n, args)?,
                other => {
                    return Err(err(
                        &[n],
                        format!(
                            "unknown keyword {:?}: a line is `log`, `witness`, `group`, `quorum`, `{ISSUER_KEYWORD}`, a comment (#) or blank",
                            clip(other)
                        ),
                    ));
                }
            }
        }
        if p.quorum_line == 0 {
            return Err(err(
                &[],
                "no `quorum` line: say which witnesses must cosign (`quorum NAME`), or `quorum none`",
            ));
        }
        p.cross_check()?;
        Ok(p)
    }

    fn defined(&self, name: &str) -> Option<(usize, Member)> {
        if let Some(i) = self.witnesses.iter().position(|w| w.name == name) {
            return Some((self.witnesses[i].line, Member::Witness(i)));
        }
        self.groups.iter().position(|g| g.name == name).map(|i| (self.groups[i].line, Member::Group(i)))
    }

    fn new_name(&self, n: usize, name: &str) -> Result<(), PolicyError> {
        if name == "none" {
            return Err(err(
                &[n],
                "`none` is reserved (for `quorum none`) and cannot name a witness or group",
            ));
        }
        if name.starts_with('#') {
            return Err(err(&[n], "a name cannot start with #"));
        }
        if let Some((line, _)) = self.defined(name) {
            return Err(err(&[line, n], format!("the name {:?} is defined twice", clip(name))));
        }
        Ok(())
    }

    fn full(&self, n: usize, count: usize, what: &str) -> Result<(), PolicyError> {
        if count >= MAX_ENTRIES {
            return Err(err(&[n], format!("more than {MAX_ENTRIES} {what}")));
        }
        Ok(())
    }

    fn parse_log(&mut self, n: usize, args: &[&str]) -> Result<(), PolicyError> {
        let (key, url) = match args {
            [k] => (*k, None),
            [k, u] => (*k, Some((*u).to_owned())),
            _ => return Err(err(&[n], "expected `log <vkey> [<url>]`")),
        };
        self.full(n, self.logs.len() + self.unverifiable_logs.len(), "logs")?;
        let text = key;
        let Some(key) = vkey_or_unverifiable(n, text, SigType::Ed25519, "log")? else {
            let origin = text.split('+').next().unwrap_or_default().to_owned();
            if let Some(o) =
                self.unverifiable_logs.iter().find(|l| vkey_material(&l.vkey) == vkey_material(text))
            {
                return Err(err(&[o.line, n], "the same log key is listed twice"));
            }
            self.unverifiable_logs.push(UnverifiableLog { line: n, origin, vkey: text.to_owned(), url });
            return Ok(());
        };
        Origin::new(key.name())
            .map_err(|e| err(&[n], format!("log: the verifier key's name must be the log's origin: {e}")))?;
        if let Some(o) = self.logs.iter().find(|l| l.key.public_key() == key.public_key()) {
            return Err(err(&[o.line, n], "the same log key is listed twice"));
        }
        self.logs.push(LogPin { line: n, key, url });
        Ok(())
    }

    fn parse_witness(&mut self, n: usize, args: &[&str]) -> Result<(), PolicyError> {
        let (name, key, url) = match args {
            [name, k] => (*name, *k, None),
            [name, k, u] => (*name, *k, Some((*u).to_owned())),
            _ => return Err(err(&[n], "expected `witness <name> <vkey> [<url>]`")),
        };
        self.full(n, self.witnesses.len(), "witnesses")?;
        self.new_name(n, name)?;
        if let Some(u) = &url
            && !(u.starts_with("http://") || u.starts_with("https://"))
        {
            return Err(err(
                &[n],
                "witness: the URL must be the witness's tlog-witness submission prefix, starting with http:// or https://",
            ));
        }
        let text = key;
        let key = vkey_or_unverifiable(n, text, SigType::CosignatureV1, "witness")?;
        let same = |w: &WitnessPin| match (&w.key, &key) {
            (Some(a), Some(b)) => a.public_key() == b.public_key(),
            _ => vkey_material(&w.vkey) == vkey_material(text),
        };
        if let Some(o) = self.witnesses.iter().find(|w| same(w)) {
            return Err(err(&[o.line, n], "the same witness key is listed twice"));
        }
        // The vkey's name is the name the witness signs with: two keys under one name are one
        // witness (an old and a new key, or a "backup"), which must not count twice.
        let signs_as = text.split('+').next().unwrap_or_default();
        if let Some(o) = self.witnesses.iter().find(|w| w.vkey.split('+').next() == Some(signs_as)) {
            return Err(err(
                &[o.line, n],
                format!(
                    "two witness keys sign as {:?}: one witness would count twice; keep only its current key",
                    clip(signs_as)
                ),
            ));
        }
        self.witnesses.push(WitnessPin { line: n, name: name.to_owned(), key, vkey: text.to_owned(), url });
        Ok(())
    }

    fn parse_group(&mut self, n: usize, args: &[&str]) -> Result<(), PolicyError> {
        let [name, k, members @ ..] = args else {
            return Err(err(&[n], "expected `group <name> all|any|<k> <name>...`"));
        };
        if members.is_empty() {
            return Err(err(&[n], "a group lists at least one member"));
        }
        if members.len() > MAX_MEMBERS {
            return Err(err(&[n], format!("a group lists at most {MAX_MEMBERS} members")));
        }
        self.full(n, self.groups.len(), "groups")?;
        self.new_name(n, name)?;
        let threshold = match *k {
            "all" => Threshold::All,
            "any" => Threshold::Any,
            k => {
                let ok = !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()) && !k.starts_with('0');
                match k.parse::<usize>() {
                    Ok(v) if ok && v <= members.len() => Threshold::AtLeast(v),
                    _ => {
                        return Err(err(
                            &[n],
                            format!(
                                "the threshold {:?} is not `all`, `any` or a decimal k with 1 <= k <= {} (the number of members)",
                                clip(k),
                                members.len()
                            ),
                        ));
                    }
                }
            }
        };
        let mut list = Vec::with_capacity(members.len());
        for m in members {
            if *m == "none" {
                return Err(err(&[n], "`none` cannot be a group member"));
            }
            let Some((_, member)) = self.defined(m) else {
                return Err(err(
                    &[n],
                    format!("{:?} is not a witness or group defined on an earlier line", clip(m)),
                ));
            };
            if list.contains(&member) {
                return Err(err(&[n], format!("{:?} is listed twice in the group", clip(m))));
            }
            list.push(member);
        }
        // One witness reached through two members would count twice toward the threshold
        // (`group q 2 sl.nma neighbours` with sl.nma among the neighbours is met by sl.nma alone).
        let mut reach = BTreeSet::new();
        for m in &list {
            let under = match m {
                Member::Witness(i) => BTreeSet::from([*i]),
                Member::Group(g) => self.reach.get(*g).cloned().unwrap_or_default(),
            };
            if let Some(w) = under.iter().find(|w| reach.contains(*w)) {
                return Err(err(
                    &[self.witnesses[*w].line, n],
                    format!(
                        "the witness {:?} is reached through two members of the group: it would count twice toward \
                         its threshold; list each witness under one member only",
                        clip(&self.witnesses[*w].name)
                    ),
                ));
            }
            reach.extend(under);
        }
        self.reach.push(reach);
        self.groups.push(Group { line: n, name: (*name).to_owned(), threshold, members: list });
        Ok(())
    }

    fn parse_quorum(&mut self, n: usize, args: &[&str]) -> Result<(), PolicyError> {
        let [name] = args else { return Err(err(&[n], "expected `quorum <name>` or `quorum none`")) };
        if self.quorum_line != 0 {
            return Err(err(&[self.quorum_line, n], "a policy has exactly one `quorum` line"));
        }
        self.quorum = if *name == "none" {
            Quorum::None
        } else {
            match self.defined(name) {
                Some((_, Member::Witness(i))) => Quorum::Witness(i),
                Some((_, Member::Group(i))) => Quorum::Group(i),
                None => {
                    return Err(err(
                        &[n],
                        format!("{:?} is not a witness or group defined on an earlier line", clip(name)),
                    ));
                }
            }
        };
        self.quorum_line = n;
        Ok(())
    }

    fn parse_issuer(&mut self, n: usize, args: &[&str]) -> Result<(), PolicyError> {
        let [country, key] = args else {
            return Err(err(&[n], format!("expected `{ISSUER_KEYWORD} <country> <vkey>`")));
        };
        self.full(n, self.issuers.len(), "issuers")?;
        let country = Country::new(*country).map_err(|e| err(&[n], format!("{ISSUER_KEYWORD}: {e}")))?;
        let key = vkey(n, key, SigType::Ed25519, ISSUER_KEYWORD)?;
        let actor = ActorId::new(key.name()).map_err(|e| {
            err(
                &[n],
                format!("{ISSUER_KEYWORD}: the verifier key's name must be the authority's actor id: {e}"),
            )
        })?;
        if let Some(o) = self.issuers.iter().find(|i| i.key.public_key() == key.public_key()) {
            return Err(err(
                &[o.line, n],
                "the same issuer key is listed twice: an authority validates the certificates of one country",
            ));
        }
        self.issuers.push(IssuerPin { line: n, country, actor, key });
        Ok(())
    }

    /// The rules between lines: a log key is never an issuer's or a witness's.
    fn cross_check(&self) -> Result<(), PolicyError> {
        for l in &self.logs {
            if let Some(i) = self.issuers.iter().find(|i| i.key.public_key() == l.key.public_key()) {
                return Err(err(
                    &[l.line, i.line],
                    "the same key is pinned as a log's root key and as a certificate issuer: the key that signs \
                     the log must not also validate certificates (a ledger whose root authority issues \
                     certificates enrols its issuing office as an authority with a key of its own)",
                ));
            }
            if let Some(w) = self
                .witnesses
                .iter()
                .find(|w| w.key.as_ref().is_some_and(|k| k.public_key() == l.key.public_key()))
            {
                return Err(err(
                    &[l.line, w.line],
                    "a witness's key is a log's key: a log cannot witness itself",
                ));
            }
        }
        Ok(())
    }

    /// The pinned logs.
    pub fn logs(&self) -> &[LogPin] {
        &self.logs
    }
    /// The trusted witnesses.
    pub fn witnesses(&self) -> &[WitnessPin] {
        &self.witnesses
    }
    /// The `log` lines whose keys kpledger cannot verify.
    pub fn unverifiable_logs(&self) -> &[UnverifiableLog] {
        &self.unverifiable_logs
    }
    /// The origins named only by such lines' keys (and possibly by verifiable ones too).
    pub fn unverifiable_log_names(&self) -> impl Iterator<Item = &str> {
        self.unverifiable_logs.iter().map(|l| l.origin.as_str())
    }
    /// The cosignature keys of the witnesses whose keys kpledger verifies.
    pub fn witness_keys(&self) -> Vec<VerifierKey> {
        self.witnesses.iter().filter_map(|w| w.key.clone()).collect()
    }
    /// The witness (index into [`TrustPolicy::witnesses`]) holding `key`.
    pub fn witness_index(&self, key: &VerifierKey) -> Option<usize> {
        self.witnesses.iter().position(|w| w.key.as_ref() == Some(key))
    }
    /// The witness groups.
    pub fn groups(&self) -> &[Group] {
        &self.groups
    }
    /// The quorum a checkpoint's cosignatures must meet (one witness, one group, or none).
    pub fn quorum(&self) -> Quorum {
        self.quorum
    }
    /// The trusted certificate issuers.
    pub fn issuers(&self) -> &[IssuerPin] {
        &self.issuers
    }

    /// A policy of bare keys, as `kpledger verify BUNDLE --trust KEYFILE …` gives them: no log,
    /// issuer or witness lines, no quorum (so a verdict says it is not witnessed, LOG-4). A
    /// bundle's log is trusted when its genesis key is one of `keys`; a certificate when its
    /// validating authority holds one of `keys` and is not the log's root authority (whose keys
    /// anchor the log and never a certificate), the rules having checked that it is an enrolled
    /// authority of the issuing country. Weaker than a written policy, which also binds each log
    /// to its origin and each issuer to its country (docs/SPEC.md §14.5).
    pub fn from_keys(keys: Vec<PublicKey>) -> TrustPolicy {
        TrustPolicy {
            logs: Vec::new(),
            unverifiable_logs: Vec::new(),
            witnesses: Vec::new(),
            groups: Vec::new(),
            reach: Vec::new(),
            quorum: Quorum::None,
            quorum_line: 0,
            issuers: Vec::new(),
            keys,
        }
    }

    /// The keys trusted without a role ([`TrustPolicy::from_keys`]); empty for a policy file.
    pub fn keys(&self) -> &[PublicKey] {
        &self.keys
    }

    /// The root keys pinned for the log named `origin` (and the keys trusted without a role).
    pub fn log_keys(&self, origin: &str) -> Vec<PublicKey> {
        self.logs
            .iter()
            .filter(|l| l.key.name() == origin)
            .map(|l| *l.key.public_key())
            .chain(self.keys.iter().copied())
            .collect()
    }

    /// The authorities trusted to validate certificates of `country`.
    pub fn issuers_for<'a>(&'a self, country: &'a Country) -> impl Iterator<Item = &'a IssuerPin> + 'a {
        self.issuers.iter().filter(move |i| &i.country == country)
    }

    /// Whether the witnesses `cosigned` (indexes into [`TrustPolicy::witnesses`]) meet the quorum.
    pub fn quorum_met(&self, cosigned: &BTreeSet<usize>) -> bool {
        // Groups refer only to earlier lines, so one pass in order decides every group.
        let mut met = Vec::with_capacity(self.groups.len());
        for g in &self.groups {
            let count = g
                .members
                .iter()
                .filter(|m| match m {
                    Member::Witness(i) => cosigned.contains(i),
                    Member::Group(i) => met.get(*i).copied().unwrap_or(false),
                })
                .count();
            met.push(count >= g.required());
        }
        match self.quorum {
            Quorum::None => true,
            Quorum::Witness(i) => cosigned.contains(&i),
            Quorum::Group(i) => met.get(i).copied().unwrap_or(false),
        }
    }

    /// The quorum in words, e.g. `group mru (3 of sl.nma, lr.mme, gn.mines, ci.sprpk)`.
    pub fn quorum_text(&self) -> String {
        let name = |m: &Member| match m {
            Member::Witness(i) => self.witnesses[*i].name.clone(),
            Member::Group(i) => self.groups[*i].name.clone(),
        };
        match self.quorum {
            Quorum::None => "none".to_owned(),
            Quorum::Witness(i) => format!("witness {}", self.witnesses[i].name),
            Quorum::Group(i) => {
                let g = &self.groups[i];
                let members: Vec<String> = g.members.iter().map(name).collect();
                format!("group {} ({} of {})", g.name, g.required(), members.join(", "))
            }
        }
    }

    /// The policy in its canonical text form: logs, witnesses, groups (in their order),
    /// the quorum, then issuers, one line each, comments and blank lines dropped. Parsing it
    /// gives back the same policy (with other line numbers).
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for l in &self.logs {
            out.push_str(&format!("log {}", l.key.to_vkey()));
            if let Some(u) = &l.url {
                out.push_str(&format!(" {u}"));
            }
            out.push('\n');
        }
        for l in &self.unverifiable_logs {
            out.push_str(&format!("log {}", l.vkey));
            if let Some(u) = &l.url {
                out.push_str(&format!(" {u}"));
            }
            out.push('\n');
        }
        for w in &self.witnesses {
            out.push_str(&format!(
                "witness {} {}",
                w.name,
                w.key.as_ref().map_or(w.vkey.clone(), VerifierKey::to_vkey)
            ));
            if let Some(u) = &w.url {
                out.push_str(&format!(" {u}"));
            }
            out.push('\n');
        }
        for g in &self.groups {
            let k = match g.threshold {
                Threshold::All => "all".to_owned(),
                Threshold::Any => "any".to_owned(),
                Threshold::AtLeast(k) => k.to_string(),
            };
            out.push_str(&format!("group {} {k}", g.name));
            for m in &g.members {
                out.push(' ');
                out.push_str(match m {
                    Member::Witness(i) => &self.witnesses[*i].name,
                    Member::Group(i) => &self.groups[*i].name,
                });
            }
            out.push('\n');
        }
        let q = match self.quorum {
            Quorum::None => "none",
            Quorum::Witness(i) => &self.witnesses[i].name,
            Quorum::Group(i) => &self.groups[i].name,
        };
        out.push_str(&format!("quorum {q}\n"));
        for i in &self.issuers {
            out.push_str(&format!("{ISSUER_KEYWORD} {} {}\n", i.country, i.key.to_vkey()));
        }
        out
    }

    /// Whether two policies say the same thing (line numbers aside).
    pub fn same_as(&self, other: &TrustPolicy) -> bool {
        self.to_text() == other.to_text() && self.keys == other.keys
    }
}

impl fmt::Display for TrustPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

/// The verifier key of a log's root key: the origin as name, Ed25519.
pub fn log_vkey(origin: &str, key: PublicKey) -> Result<VerifierKey, kpledger_model::note::NoteError> {
    VerifierKey::new(origin, SigType::Ed25519, key)
}

/// The verifier key of a witness's cosignatures: its actor id as name, cosignature/v1.
pub fn witness_vkey(name: &str, key: PublicKey) -> Result<VerifierKey, kpledger_model::note::NoteError> {
    VerifierKey::new(name, SigType::CosignatureV1, key)
}

/// The verifier key of a certificate issuer: its actor id as name, Ed25519.
pub fn issuer_vkey(actor: &str, key: PublicKey) -> Result<VerifierKey, kpledger_model::note::NoteError> {
    VerifierKey::new(actor, SigType::Ed25519, key)
}

fn clip(s: &str) -> String {
    s.chars().take(80).collect()
}

#[cfg(test)]
mod tests;
