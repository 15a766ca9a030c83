//! Throttling of failed token checks, so that tokens cannot be guessed at speed: a client
//! address with [`PER_ADDRESS`] failures in a [`WINDOW`] waits for the window's end before any
//! token of its is checked again; a tenant with [`PER_TENANT`] failures in a window (a guess
//! spread over many addresses) makes every address that has failed in that window wait too,
//! while addresses that have not failed are still served, so that an attacker cannot lock a
//! tenant's own clients out.
//!
//! Counted per fixed window (not a token bucket: the question asked before a check is "may
//! this client try now?", which a rate limiter that spends on asking cannot answer). The
//! tables are bounded caches, so made-up tenant names or many addresses cannot grow memory.

use std::hash::Hash;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use quick_cache::sync::Cache;

/// The length of a counting window.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Failures one client address may have in a window.
pub const PER_ADDRESS: u32 = 10;
/// Failures a tenant's token may see in a window, over every address.
pub const PER_TENANT: u32 = 100;
/// Addresses and tenant names remembered (the least recently failed are forgotten first).
const REMEMBERED: usize = 10_000;

/// Failures in the current window.
#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    failures: u32,
}

impl Window {
    /// The failures counted now (0 once the window has passed) and when the window ends.
    fn now(self, now: Instant) -> (u32, Instant) {
        let ends = self.started + WINDOW;
        if now >= ends {
            (0, now)
        } else {
            (self.failures, ends)
        }
    }
}

/// Failure counts per client address and per tenant.
pub struct Throttle {
    by_address: Cache<IpAddr, Window>,
    by_tenant: Cache<String, Window>,
}

impl Default for Throttle {
    fn default() -> Throttle {
        Throttle {
            by_address: Cache::new(REMEMBERED),
            by_tenant: Cache::new(REMEMBERED),
        }
    }
}

impl Throttle {
    /// How long a request from `address` for `tenant` must wait before its token is checked;
    /// `None` when it may be checked now. Without an address only the tenant's count applies.
    pub fn wait(&self, address: Option<IpAddr>, tenant: &str) -> Option<Duration> {
        let now = Instant::now();
        let (own, own_ends) = address
            .and_then(|a| self.by_address.get(&a))
            .map_or((0, now), |w| w.now(now));
        if own >= PER_ADDRESS {
            return Some(own_ends - now);
        }
        let (tenant_failures, tenant_ends) =
            self.by_tenant.get(tenant).map_or((0, now), |w| w.now(now));
        let has_failed = own > 0 || address.is_none();
        (tenant_failures >= PER_TENANT && has_failed).then(|| tenant_ends - now)
    }

    /// Counts a failed token check of `address` for `tenant`.
    pub fn failed(&self, address: Option<IpAddr>, tenant: &str) {
        let now = Instant::now();
        if let Some(address) = address {
            count(&self.by_address, address, now);
        }
        count(&self.by_tenant, tenant.to_string(), now);
    }
}

/// One more failure for `key` in its current window (a new window when the last has passed).
fn count<K: Eq + Hash + Clone>(table: &Cache<K, Window>, key: K, now: Instant) {
    let window = match table.get(&key) {
        Some(window) if now < window.started + WINDOW => Window {
            failures: window.failures.saturating_add(1),
            ..window
        },
        _ => Window {
            started: now,
            failures: 1,
        },
    };
    table.insert(key, window);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([127, 0, 0, last]))
    }

    #[test]
    fn an_address_waits_after_its_tenth_failure_and_only_it() {
        let throttle = Throttle::default();
        for _ in 0..PER_ADDRESS {
            assert_eq!(throttle.wait(address(1), "acme"), None);
            throttle.failed(address(1), "acme");
        }
        let wait = throttle.wait(address(1), "acme").expect("throttled");
        assert!(
            wait <= WINDOW && wait > WINDOW - Duration::from_secs(5),
            "{wait:?}"
        );
        assert!(
            throttle.wait(address(1), "beta").is_some(),
            "the address, any tenant"
        );
        assert_eq!(throttle.wait(address(2), "acme"), None);
    }

    #[test]
    fn a_guess_spread_over_addresses_stops_those_addresses_not_the_tenants_clients() {
        let throttle = Throttle::default();
        for i in 0..PER_TENANT {
            throttle.failed(address(10 + (i % 20) as u8), "acme");
        }
        assert!(throttle.wait(address(10), "acme").is_some());
        assert!(throttle.wait(None, "acme").is_some());
        assert_eq!(throttle.wait(address(200), "acme"), None, "never failed");
        assert_eq!(throttle.wait(address(10), "beta"), None);
    }

    #[test]
    fn a_window_that_has_passed_counts_from_zero() {
        let old = Window {
            started: Instant::now() - WINDOW - Duration::from_secs(1),
            failures: 50,
        };
        assert_eq!(old.now(Instant::now()).0, 0);
        let table = Cache::new(4);
        table.insert("k", old);
        count(&table, "k", Instant::now());
        assert_eq!(table.get("k").unwrap().failures, 1);
    }
}
