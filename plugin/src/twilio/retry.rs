//! When a failed exchange is worth repeating, and how long to wait first.
//!
//! HTTP 429 is never processed by Twilio, so it is retried for every method. A 5xx, or an exchange
//! that ended without a response ([`TransportError::Connection`]: a refused or reset connection,
//! a response cut off part-way), is retried only for GET and DELETE: a POST that may have reached
//! Twilio is never sent twice. A timeout is not retried, so a stalled Twilio costs one timeout,
//! not four. Waits are "full jitter" exponential backoff (base 100 ms, cap 3 s); a
//! `Retry-After` is honoured, and one longer than the cap ends the retries. A wait that would
//! end after the run's deadline is not made: the retries end at once, and the error says why.

use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::transport::{HttpResponse, Method, TransportError};

/// The retry behaviour of a client.
#[derive(Clone)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub retries: u32,
    /// The first backoff ceiling; it doubles with each retry.
    pub base: Duration,
    /// The largest wait.
    pub cap: Duration,
    /// Waits (`std::thread::sleep` in the component).
    pub sleep: Rc<dyn Fn(Duration)>,
    /// A random number in `[0, 1)`.
    pub random: Rc<dyn Fn() -> f64>,
    /// When the run must be over (the host ends it then); `None`: no deadline.
    pub deadline: Option<Instant>,
}

impl RetryPolicy {
    /// Three retries, 100 ms base, 3 s cap, real sleeping and OS randomness.
    pub fn standard() -> RetryPolicy {
        RetryPolicy {
            retries: 3,
            base: Duration::from_millis(100),
            cap: Duration::from_secs(3),
            sleep: Rc::new(std::thread::sleep),
            random: Rc::new(os_random),
            deadline: None,
        }
    }

    /// This policy for a run that must be over by `deadline`.
    pub fn with_deadline(self, deadline: Option<Instant>) -> RetryPolicy {
        RetryPolicy { deadline, ..self }
    }

    /// Why not to wait `wait` for the next try: the run's deadline would pass first.
    pub fn past_deadline(&self, wait: Duration) -> Option<String> {
        let left = self.deadline?.saturating_duration_since(Instant::now());
        (wait > left).then(|| {
            format!(
                "not retried: the next try would have to wait {} ms (Retry-After or backoff), more than the {} ms this run has left",
                wait.as_millis(),
                left.as_millis()
            )
        })
    }

    /// This policy with another number of retries, base and cap.
    pub fn with_limits(self, retries: u32, base: Duration, cap: Duration) -> RetryPolicy {
        RetryPolicy {
            retries,
            base,
            cap,
            ..self
        }
    }

    /// How long to wait before retry number `retry` (0-based) of a `method` request that ended
    /// with `outcome`, or `None` when it must not be retried.
    pub fn delay(
        &self,
        method: Method,
        outcome: &Result<HttpResponse, TransportError>,
        retry: u32,
    ) -> Option<Duration> {
        if retry >= self.retries {
            return None;
        }
        let idempotent = method != Method::Post;
        match outcome {
            Ok(response) if response.status == 429 => match retry_after(response) {
                Some(wait) if wait > self.cap => None,
                Some(wait) => Some(wait),
                None => Some(self.jitter(retry)),
            },
            Ok(response) if response.status >= 500 && idempotent => Some(self.jitter(retry)),
            Err(TransportError::Connection(_)) if idempotent => Some(self.jitter(retry)),
            _ => None,
        }
    }

    /// A random wait up to `min(cap, base * 2^retry)`.
    fn jitter(&self, retry: u32) -> Duration {
        let ceiling = self
            .base
            .saturating_mul(2u32.saturating_pow(retry))
            .min(self.cap);
        ceiling.mul_f64((self.random)().clamp(0.0, 1.0))
    }
}

/// `Retry-After` in whole seconds (an HTTP date is not honoured: the jittered wait is used
/// instead).
fn retry_after(response: &HttpResponse) -> Option<Duration> {
    let seconds: u64 = response.header("retry-after")?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds))
}

fn os_random() -> f64 {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        return 0.5;
    }
    // 53 random bits make a uniform double in [0, 1).
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            random: Rc::new(|| 0.999_999),
            sleep: Rc::new(|_| {}),
            ..RetryPolicy::standard()
        }
    }

    fn status(code: u16, headers: &[(&str, &str)]) -> Result<HttpResponse, TransportError> {
        Ok(HttpResponse {
            status: code,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: Vec::new(),
        })
    }

    #[test]
    fn rate_limits_are_retried_for_every_method_with_growing_waits() {
        let policy = policy();
        let waits: Vec<u128> = (0..3)
            .map(|retry| {
                policy
                    .delay(Method::Post, &status(429, &[]), retry)
                    .unwrap()
                    .as_millis()
            })
            .collect();
        assert_eq!(waits, vec![99, 199, 399]);
        assert!(policy.delay(Method::Post, &status(429, &[]), 3).is_none());
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_cap() {
        let policy = policy();
        let after = |value| policy.delay(Method::Get, &status(429, &[("retry-after", value)]), 0);
        assert_eq!(after("2"), Some(Duration::from_secs(2)));
        assert_eq!(after("60"), None);
    }

    #[test]
    fn a_wait_past_the_deadline_is_not_made() {
        let soon = Instant::now() + Duration::from_millis(1500);
        let policy = policy().with_deadline(Some(soon));
        assert_eq!(policy.past_deadline(Duration::from_millis(100)), None);
        let note = policy.past_deadline(Duration::from_secs(3)).unwrap();
        assert!(
            note.starts_with("not retried: the next try would have to wait 3000 ms"),
            "{note}"
        );
        assert!(note.ends_with(" ms this run has left"), "{note}");
        assert_eq!(RetryPolicy::standard().past_deadline(Duration::MAX), None);
    }

    #[test]
    fn server_errors_and_connection_failures_only_for_idempotent_methods() {
        let policy = policy();
        assert!(policy.delay(Method::Get, &status(503, &[]), 0).is_some());
        assert!(policy.delay(Method::Delete, &status(500, &[]), 0).is_some());
        assert!(policy.delay(Method::Post, &status(503, &[]), 0).is_none());
        let refused = Err(TransportError::Connection("refused".into()));
        assert!(policy.delay(Method::Get, &refused, 0).is_some());
        assert!(policy.delay(Method::Post, &refused, 0).is_none());
        let cut_off = Err(TransportError::Connection("HttpProtocolError".into()));
        assert!(policy.delay(Method::Delete, &cut_off, 0).is_some());
        assert!(policy.delay(Method::Post, &cut_off, 0).is_none());
        let other = Err(TransportError::Other("invalid URL".into()));
        assert!(policy.delay(Method::Get, &other, 0).is_none());
        assert!(policy.delay(Method::Get, &status(400, &[]), 0).is_none());
        assert!(
            policy
                .delay(Method::Get, &Err(TransportError::Timeout("t".into())), 0)
                .is_none()
        );
    }
}
