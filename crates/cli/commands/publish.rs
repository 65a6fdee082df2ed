//! `kpledger log tiles`: the log as C2SP tlog-tiles static objects — and, with `--bundles`,
//! each certificate's evidence bundle — written to a directory or to an S3-compatible bucket
//! (`s3://BUCKET/PREFIX`, through the `object_store` crate). One list of objects for both:
//! the immutable ones first, each written once, then the checkpoint, last, so that a reader
//! never sees a checkpoint whose tiles are missing.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, Result, anyhow, bail};
use kpledger_core::Ledger;
use kpledger_serve::tiles;
use object_store::aws::AmazonS3Builder;
use object_store::{ObjectStore, ObjectStoreExt as _, PutMode, PutOptions, PutPayload};

/// Where the objects go.
pub(crate) enum Target {
    /// A directory, for any web server.
    Dir(PathBuf),
    /// A bucket, under a prefix.
    Bucket {
        /// The store, on its own runtime (object_store is asynchronous).
        store: Arc<dyn ObjectStore>,
        /// The runtime the store's requests run on.
        rt: tokio::runtime::Runtime,
        /// The prefix, without a trailing `/` (empty for the bucket's root).
        prefix: String,
        /// `s3://BUCKET/PREFIX`, as given.
        url: String,
    },
}

/// Reads `--out`: `s3://BUCKET[/PREFIX]` is a bucket (region, credentials and endpoint from the
/// standard AWS environment variables, the endpoint from `endpoint` if given), anything else
/// a directory.
pub(crate) fn target(out: &str, endpoint: Option<&str>) -> Result<Target> {
    let Some(rest) = out.strip_prefix("s3://") else {
        if endpoint.is_some() {
            bail!("--s3-endpoint is for an s3://BUCKET/PREFIX output; {out} is a directory");
        }
        return Ok(Target::Dir(PathBuf::from(out)));
    };
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        bail!("{out}: no bucket name; write s3://BUCKET/PREFIX");
    }
    let prefix = prefix.trim_end_matches('/');
    if prefix.split('/').any(|p| p.is_empty() || p == "." || p == "..") && !prefix.is_empty() {
        bail!("{out}: the prefix has an empty, '.' or '..' part; write s3://BUCKET/PREFIX");
    }
    // TLS to the store: rustls with ring, the one provider this build has (ureq's too; rustls
    // marks it deprecated for lacking post-quantum key exchange, which aws-lc-rs would add with
    // a C toolchain dependency).
    #[allow(deprecated)]
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut b = AmazonS3Builder::from_env().with_bucket_name(bucket);
    if let Some(e) = endpoint.map(str::to_owned).or_else(|| std::env::var("AWS_ENDPOINT_URL").ok()) {
        b = b.with_allow_http(e.starts_with("http://")).with_endpoint(e);
    }
    let store = b.build().map_err(|e| {
        anyhow!(
            "cannot use {out}: {e}. Set AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION (and \
             AWS_ENDPOINT_URL or --s3-endpoint for a store other than Amazon S3)"
        )
    })?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    Ok(Target::Bucket { store: Arc::new(store), rt, prefix: prefix.to_owned(), url: out.to_owned() })
}

/// How an object already present at its path is taken.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Once {
    /// It must hold exactly these bytes (a tile: a function of the log).
    Exact,
    /// It stays as it is (an evidence bundle under the same checkpoint size, perhaps with
    /// fewer cosignatures: still valid evidence).
    First,
}

impl Target {
    pub(crate) fn shown(&self) -> String {
        match self {
            Target::Dir(d) => d.display().to_string(),
            Target::Bucket { url, .. } => url.clone(),
        }
    }

    fn key(prefix: &str, rel: &str) -> object_store::path::Path {
        if prefix.is_empty() {
            object_store::path::Path::from(rel)
        } else {
            object_store::path::Path::from(format!("{prefix}/{rel}"))
        }
    }

    /// The object at `rel`, if there is one.
    fn read(&self, rel: &str) -> Result<Option<Vec<u8>>> {
        match self {
            Target::Dir(d) => match std::fs::read(d.join(rel)) {
                Ok(b) => Ok(Some(b)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e).with_context(|| format!("cannot read {}", d.join(rel).display())),
            },
            Target::Bucket { store, rt, prefix, url } => {
                let key = Self::key(prefix, rel);
                rt.block_on(async {
                    match store.get(&key).await {
                        Ok(r) => Ok(Some(r.bytes().await?.to_vec())),
                        Err(object_store::Error::NotFound { .. }) => Ok(None),
                        Err(e) => Err(e),
                    }
                })
                .map_err(|e| anyhow!("cannot read {url}/{rel}: {e}"))
            }
        }
    }

    /// Writes an immutable object once: absent, it is written; present, it is left alone,
    /// and for [`Once::Exact`] it must hold the same bytes. Returns whether it was written.
    fn put_once(&self, rel: &str, bytes: &[u8], once: Once) -> Result<bool> {
        let written = match self {
            Target::Dir(d) => {
                let path = d.join(rel);
                if path.exists() {
                    false
                } else {
                    write_atomically(&path, bytes)?;
                    true
                }
            }
            Target::Bucket { store, rt, prefix, url } => {
                let key = Self::key(prefix, rel);
                let opts = PutOptions { mode: PutMode::Create, ..PutOptions::default() };
                match rt.block_on(store.put_opts(&key, PutPayload::from(bytes.to_vec()), opts)) {
                    Ok(_) => true,
                    Err(object_store::Error::AlreadyExists { .. }) => false,
                    Err(e) => bail!("cannot write {url}/{rel}: {e}; nothing after it was written"),
                }
            }
        };
        if !written && once == Once::Exact {
            let found = self.read(rel)?;
            if found.as_deref() != Some(bytes) {
                bail!(
                    "{}/{rel} already holds other bytes than this log's: the place holds another log, or was \
                     altered. Nothing more was written; publish to a new place",
                    self.shown()
                );
            }
        }
        Ok(written)
    }

    /// Replaces the checkpoint (the one object that changes).
    fn put_checkpoint(&self, bytes: &[u8]) -> Result<()> {
        match self {
            Target::Dir(d) => write_atomically(&d.join("checkpoint"), bytes),
            Target::Bucket { store, rt, prefix, url } => {
                let key = Self::key(prefix, "checkpoint");
                rt.block_on(store.put(&key, PutPayload::from(bytes.to_vec())))
                    .map_err(|e| anyhow!("cannot write {url}/checkpoint: {e}"))?;
                Ok(())
            }
        }
    }
}

/// Writes `bytes` to a temporary file beside `path`, then renames it into place: a reader
/// sees the whole file or none.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

/// The origin and size of a checkpoint note (its first two lines).
fn origin_and_size(note: &[u8]) -> Option<(String, u64)> {
    let text = std::str::from_utf8(note).ok()?;
    let mut lines = text.lines();
    let origin = lines.next()?.to_owned();
    let size = lines.next()?.parse().ok()?;
    Some((origin, size))
}

/// A certificate number as one path element: letters, digits, `-` and `.` as they are, any
/// other byte (the `/` a number may hold) as `%XX`.
pub(crate) fn path_element(number: &str) -> String {
    number
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'.' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Publishes the log at its newest checkpoint to `target`: every tile and entry bundle not
/// there yet, each certificate's evidence bundle under that checkpoint if `bundles`
/// (`bundles/NUMBER/SIZE.json`), then the checkpoint. A place that holds a newer checkpoint
/// of the log is refused (publishing must never roll readers back), and so is one that holds
/// anything but a previous publication of the same log. Returns what was published, in words.
pub(crate) fn publish(l: &Ledger, target: &Target, bundles: bool) -> Result<String> {
    let cp = l.latest_checkpoint()?.ok_or_else(|| {
        anyhow!("{} has no checkpoint yet: publish one first (`kpledger log publish`)", l.path().display())
    })?;
    let shown = target.shown();
    match target.read("checkpoint")? {
        Some(old) => {
            let (ours, _) = origin_and_size(cp.note.as_bytes()).ok_or_else(|| {
                anyhow!("the ledger's newest checkpoint is unreadable; run `kpledger verify`")
            })?;
            match origin_and_size(&old) {
                Some((origin, size)) if origin == ours && size <= cp.size => {}
                Some((origin, size)) if origin == ours => bail!(
                    "{shown} already holds a checkpoint of size {size}, newer than this ledger's ({}): \
                     publishing would roll its readers back. Nothing was written",
                    cp.size
                ),
                _ => bail!(
                    "{shown}/checkpoint is not a checkpoint of log {ours}; publish to a new place. Nothing was \
                     written"
                ),
            }
        }
        None => {
            if let Target::Dir(d) = target
                && d.exists()
                && std::fs::read_dir(d).map(|mut e| e.next().is_some()).unwrap_or(true)
            {
                bail!(
                    "{} exists and is not an empty directory or an earlier copy of this log; choose a new one",
                    d.display()
                );
            }
        }
    }
    let all = tiles::all_tiles(cp.size);
    let mut written = 0u64;
    for t in &all {
        let bytes = tiles::read(l, t, cp.size)?.ok_or_else(|| {
            anyhow!("the ledger lacks {} of its own checkpoint; run `kpledger verify --ledger`", t.to_path())
        })?;
        written += u64::from(target.put_once(&t.to_path(), &bytes, Once::Exact)?);
    }
    let mut certs = 0u64;
    if bundles {
        for c in l.certificates()? {
            let number = &c.certificate.number;
            // A certificate recorded after the checkpoint waits for the next one.
            let b = match l.bundle_where(number, &|s| s.size == cp.size) {
                Ok(b) => b,
                Err(kpledger_core::StoreError::Refused(_)) => continue,
                Err(e) => return Err(e.into()),
            };
            let mut bytes = serde_json::to_vec_pretty(&b)?;
            bytes.push(b'\n');
            let rel = format!("bundles/{}/{}.json", path_element(number.as_str()), cp.size);
            written += u64::from(target.put_once(&rel, &bytes, Once::First)?);
            certs += 1;
        }
    }
    target.put_checkpoint(cp.note.as_bytes())?;
    Ok(format!(
        "log of {} events as C2SP tlog-tiles: {} tiles and entry bundles{} and the checkpoint → {shown} \
         ({written} objects new)",
        cp.size,
        all.len(),
        if bundles { format!(", {certs} certificates' evidence bundles") } else { String::new() },
    ))
}
