//! The tenant's quotas applied to one allowed request: what it takes from the run's own counts
//! (`messages_per_run`, `calls_per_run`) and, in one atomic reservation, from the counts in
//! the state store (per hour and per UTC day). A request over any quota is never sent; a
//! request Twilio refused (a 4xx answer: nothing was sent) gives its share back.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::operations::Class;
use super::policy::Denial;
use super::rules::{Action, PolicyRefusal};
use crate::config::Quotas;
use crate::state::{Counter, Reserved, StateStore};

/// What one run has sent so far.
#[derive(Debug, Default)]
pub struct RunCounts {
    messages: AtomicU32,
    calls: AtomicU32,
}

impl RunCounts {
    fn of(&self, class: Class) -> Option<&AtomicU32> {
        match class {
            Class::Send => Some(&self.messages),
            Class::Call => Some(&self.calls),
            _ => None,
        }
    }
}

/// What a request took, to give back if it turns out not to have been sent.
#[derive(Default)]
pub struct Taken {
    run: Option<(Arc<RunCounts>, Class)>,
    stored: Option<(Arc<dyn StateStore>, Vec<Counter>)>,
}

impl Taken {
    /// Gives everything back (the request was not sent).
    pub async fn give_back(self) {
        if let Some((counts, class)) = &self.run
            && let Some(count) = counts.of(*class)
        {
            count.fetch_sub(1, Ordering::SeqCst);
        }
        if let Some((store, counters)) = self.stored
            && let Err(error) = store.release(counters).await
        {
            tracing::warn!(target: "twilio_host::audit", %error, "a refused request's quota could not be given back");
        }
    }
}

const HOUR: u64 = 3600;
const DAY: u64 = 86_400;

/// Takes `action`'s share of `quotas` for `tenant`, or says which quota refuses it.
pub async fn take(
    quotas: &Quotas,
    tenant: &str,
    action: &Action,
    run: &Arc<RunCounts>,
    store: Option<&Arc<dyn StateStore>>,
) -> Result<Taken, Denial> {
    let (per_run, per_hour, per_day, noun, rules) = match action.class {
        Class::Send => (
            quotas.messages_per_run,
            quotas.messages_per_hour,
            quotas.messages_per_day,
            "messages",
            ["messages_per_run", "messages_per_hour", "messages_per_day"],
        ),
        Class::Call => (
            quotas.calls_per_run,
            quotas.calls_per_hour,
            quotas.calls_per_day,
            "calls",
            ["calls_per_run", "calls_per_hour", "calls_per_day"],
        ),
        _ => return Ok(Taken::default()),
    };
    let mut taken = Taken::default();
    if let Some(limit) = per_run {
        let count = run.of(action.class).expect("sends and calls are counted");
        if count
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < limit).then_some(n + 1)
            })
            .is_err()
        {
            return Err(used_up(
                rules[0],
                limit,
                noun,
                "per run",
                "the next run starts afresh",
            ));
        }
        taken.run = Some((Arc::clone(run), action.class));
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut counters = Vec::new();
    let mut named = Vec::new();
    let mut window = |rule: &'static str, limit: Option<u32>, amount: u32, length: u64| {
        if let Some(limit) = limit {
            let index = now / length;
            counters.push(Counter {
                key: format!("twilio-host:{{{tenant}}}:{rule}:{index}"),
                amount,
                limit,
                ttl: Duration::from_secs((index + 1) * length - now + 60),
            });
            named.push((rule, limit, length));
        }
    };
    window(rules[1], per_hour, 1, HOUR);
    window(rules[2], per_day, 1, DAY);
    if action.segments > 0 {
        window(
            "segments_per_day",
            quotas.segments_per_day,
            action.segments,
            DAY,
        );
    }
    if counters.is_empty() {
        return Ok(taken);
    }
    let refuse = |denial: Denial, taken: Taken| async move {
        taken.give_back().await;
        Err(denial)
    };
    let Some(store) = store else {
        return refuse(
            Denial::Uncounted("this host has no state store for the tenant's quotas".into()),
            taken,
        )
        .await;
    };
    match store.reserve(counters.clone()).await {
        Ok(Reserved::Granted) => {
            taken.stored = Some((Arc::clone(store), counters));
            Ok(taken)
        }
        Ok(Reserved::Exceeded(index)) => {
            let (rule, limit, length) = named[index];
            let (per, resets) = if length == HOUR {
                ("per hour", "it resets at the start of the next hour (UTC)")
            } else {
                ("per day", "it resets at 00:00 UTC")
            };
            let noun = if rule == "segments_per_day" {
                "SMS segments"
            } else {
                noun
            };
            refuse(used_up(rule, limit, noun, per, resets), taken).await
        }
        Err(error) => {
            tracing::error!(target: "twilio_host::audit", %tenant, %error, "the quota counts cannot be kept; nothing that counts is sent");
            let unavailable = "the quota counts cannot be kept right now".to_string();
            refuse(Denial::Uncounted(unavailable), taken).await
        }
    }
}

fn used_up(rule: &'static str, limit: u32, noun: &str, per: &str, resets: &str) -> Denial {
    Denial::Policy(PolicyRefusal {
        rule,
        field: None,
        message: format!("this tenant's quota of {limit} {noun} {per} is used up; {resets}"),
    })
}
