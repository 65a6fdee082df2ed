//! Request rates: a token bucket per client address and one per enrolled actor's key
//! (`--rate-ip`, `--rate-key`). A bucket holds at most `burst` tokens and gains `per_second`
//! a second; a request takes one, and a request that finds none is answered 429 with the
//! seconds until the next token (`Retry-After`).
//!
//! **Bounded memory.** At most `max` buckets are kept, in two generations: when the current
//! one holds `max / 2`, it becomes the previous one and the old previous one is forgotten. A
//! bucket used again moves to the current generation, so an active client is never forgotten
//! while fewer than `max / 2` other clients came after it; a forgotten client starts again with
//! a full bucket (as a new client would). Integers only: tokens are counted in millionths.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::time::Instant;

/// One token, in the millionths the buckets count in.
const TOKEN: u64 = 1_000_000;

/// A rate: `per_second` tokens a second, at most `burst` held (a client that has been quiet
/// may send `burst` requests at once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Tokens gained a second (at least 1).
    pub per_second: u32,
    /// Most tokens held (at least 1).
    pub burst: u32,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Millionths of a token.
    micro: u64,
    at: Instant,
}

/// The buckets of one kind of client (addresses, or actors).
#[derive(Debug)]
pub(crate) struct Buckets<K> {
    rate: Rate,
    max: usize,
    current: HashMap<K, Bucket>,
    previous: HashMap<K, Bucket>,
}

impl<K: Hash + Eq> Buckets<K> {
    /// Buckets at `rate`, at most `max` of them kept (at least 2).
    pub(crate) fn new(rate: Rate, max: usize) -> Buckets<K> {
        let rate = Rate { per_second: rate.per_second.max(1), burst: rate.burst.max(1) };
        Buckets { rate, max: max.max(2), current: HashMap::new(), previous: HashMap::new() }
    }

    /// Takes a token for `key` at `now`: `Ok`, or `Err(seconds)` until one is there (≥ 1).
    pub(crate) fn take(&mut self, key: K, now: Instant) -> Result<(), u64> {
        let cap = u64::from(self.rate.burst) * TOKEN;
        let per_micro = u64::from(self.rate.per_second); // millionths of a token per µs
        let found = match self.current.remove(&key) {
            Some(b) => Some(b),
            None => self.previous.remove(&key),
        };
        let mut b = found.unwrap_or(Bucket { micro: cap, at: now });
        let elapsed = u64::try_from(now.saturating_duration_since(b.at).as_micros()).unwrap_or(u64::MAX);
        b.micro = b.micro.saturating_add(elapsed.saturating_mul(per_micro)).min(cap);
        b.at = now;
        let answer = if b.micro >= TOKEN {
            b.micro -= TOKEN;
            Ok(())
        } else {
            let missing = TOKEN - b.micro;
            Err(missing.div_ceil(per_micro * TOKEN).max(1))
        };
        if self.current.len() >= self.max / 2 {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(key, b);
        answer
    }

    /// Buckets kept now.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.current.len() + self.previous.len()
    }
}

/// The address a per-IP bucket is kept for: an IPv4 address, or an IPv6 address's /64 (one
/// subscriber's network: a host there can change its address at will); an IPv4-mapped IPv6
/// address as its IPv4 address.
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_bucket_lets_the_burst_through_then_one_token_per_interval() {
        let t0 = Instant::now();
        let mut b = Buckets::new(Rate { per_second: 2, burst: 3 }, 100);
        for _ in 0..3 {
            assert_eq!(b.take("a", t0), Ok(()));
        }
        assert_eq!(b.take("a", t0), Err(1), "empty: the next token comes within a second");
        // Another client has its own bucket.
        assert_eq!(b.take("b", t0), Ok(()));
        // Half a second later: one token (2 a second).
        let t1 = t0 + Duration::from_millis(500);
        assert_eq!(b.take("a", t1), Ok(()));
        assert_eq!(b.take("a", t1), Err(1));
        // Long quiet: the bucket is full again, never fuller than the burst.
        let t2 = t1 + Duration::from_secs(3600);
        for _ in 0..3 {
            assert_eq!(b.take("a", t2), Ok(()));
        }
        assert!(b.take("a", t2).is_err());
    }

    #[test]
    fn a_slow_rate_asks_for_the_whole_wait() {
        let t0 = Instant::now();
        let mut b = Buckets::new(Rate { per_second: 1, burst: 1 }, 100);
        assert_eq!(b.take(1u8, t0), Ok(()));
        assert_eq!(b.take(1u8, t0), Err(1));
        assert_eq!(b.take(1u8, t0 + Duration::from_millis(999)), Err(1));
        assert_eq!(b.take(1u8, t0 + Duration::from_millis(1000)), Ok(()));
    }

    #[test]
    fn memory_is_bounded_and_an_active_client_is_kept_while_others_come_and_go() {
        let t0 = Instant::now();
        let mut b = Buckets::new(Rate { per_second: 1, burst: 2 }, 64);
        b.take(u32::MAX, t0).unwrap();
        b.take(u32::MAX, t0).unwrap();
        for i in 0..100_000u32 {
            let _ = b.take(i, t0);
            assert!(b.len() <= 64, "{} buckets after {i} clients", b.len());
            if i % 20 == 0 {
                // The active client, still limited: its empty bucket was not forgotten.
                assert_eq!(b.take(u32::MAX, t0), Err(1), "after {i} other clients");
            }
        }
    }

    #[test]
    fn an_ipv6_subscriber_network_shares_one_bucket_and_ipv4_mapped_is_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(client_key(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
        let v4: IpAddr = "192.0.2.7".parse().unwrap();
        assert_eq!(client_key(v4), v4);
    }
}
