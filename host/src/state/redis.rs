//! The shared store: counters in Redis, so several machines count together. A reservation is
//! one Lua script (Redis runs scripts atomically); the keys of one reservation share a hash tag
//! (the tenant, in braces), so it also works on a Redis Cluster. A tenant's audit records are a
//! hash (id to JSON) with a sorted set of ids by time beside it, written by one script that
//! also deletes what is past the retention.

use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::OnceCell;

use super::{Counter, Reserved, StateStore, StoreError, StoreFuture};
use crate::audit::now_ms;
use crate::audit::{AuditQuery, AuditRecord};
use crate::config::without_password;
use crate::plan::{NotPending, Plan, PlanChange, PlanState};

/// How long connecting to, or an answer from, Redis may take before the request that needs it
/// is refused.
const REDIS_TIMEOUT: Duration = Duration::from_secs(2);

/// Checks every counter, then takes from every one; returns 0, or the 1-based index of the
/// counter that would pass its limit. ARGV holds amount, limit, ttl per key.
const RESERVE: &str = r"
for i, key in ipairs(KEYS) do
  local current = tonumber(redis.call('GET', key) or '0')
  if current + tonumber(ARGV[3 * i - 2]) > tonumber(ARGV[3 * i - 1]) then
    return i
  end
end
for i, key in ipairs(KEYS) do
  redis.call('INCRBY', key, ARGV[3 * i - 2])
  if redis.call('TTL', key) < 0 then
    redis.call('EXPIRE', key, ARGV[3 * i])
  end
end
return 0
";

/// Gives back each key's amount (ARGV), never below zero.
const RELEASE: &str = r"
for i, key in ipairs(KEYS) do
  local left = redis.call('DECRBY', key, ARGV[i])
  if left < 0 then redis.call('SET', key, 0, 'KEEPTTL') end
end
return 0
";

/// Writes record ARGV[3] with id ARGV[1] and time ARGV[2] into hash KEYS[2] and index KEYS[1],
/// then deletes up to 100 records older than ARGV[4] (ms).
const WRITE_AUDIT: &str = r"
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[4], 'LIMIT', 0, 100)
if #old > 0 then
  redis.call('ZREM', KEYS[1], unpack(old))
  redis.call('HDEL', KEYS[2], unpack(old))
end
return 0
";

/// Moves plan KEYS[1] from state ARGV[1] to ARGV[2] if it is in ARGV[1] (and, from
/// `pending`, expires after ARGV[3] ms): `{'changed', plan}`, else `{state}` (`unknown` when
/// there is no such plan, `expired`).
const CHANGE_PLAN: &str = r"
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'unknown'} end
if state == 'pending' and tonumber(redis.call('HGET', KEYS[1], 'expires_ms')) <= tonumber(ARGV[3]) then
  return {'expired'}
end
if state ~= ARGV[1] then return {state} end
redis.call('HSET', KEYS[1], 'state', ARGV[2])
return {'changed', redis.call('HGET', KEYS[1], 'plan')}
";

/// The key of `tenant`'s plan `id`.
fn plan_key(tenant: &str, id: &str) -> String {
    format!("twilio-host:{{{tenant}}}:plan:{id}")
}

/// The keys of `tenant`'s audit records: the index by time, and the records.
fn audit_keys(tenant: &str) -> (String, String) {
    (
        format!("twilio-host:{{{tenant}}}:audit"),
        format!("twilio-host:{{{tenant}}}:audit:records"),
    )
}

/// A Redis server, connected to on first use and reconnected when the connection drops.
pub struct RedisStore {
    /// The URL as errors show it (no password).
    url: String,
    client: ::redis::Client,
    connection: OnceCell<ConnectionManager>,
    reserve: ::redis::Script,
    release: ::redis::Script,
    write_audit: ::redis::Script,
    change_plan: ::redis::Script,
}

impl RedisStore {
    /// The store at `url` (`redis://host:port/db`); nothing is connected yet.
    pub fn new(url: &str) -> Result<RedisStore, StoreError> {
        let location = without_password(url);
        let client = ::redis::Client::open(url).map_err(|e| StoreError {
            location: location.clone(),
            message: e.to_string(),
        })?;
        Ok(RedisStore {
            url: location,
            client,
            connection: OnceCell::new(),
            reserve: ::redis::Script::new(RESERVE),
            release: ::redis::Script::new(RELEASE),
            write_audit: ::redis::Script::new(WRITE_AUDIT),
            change_plan: ::redis::Script::new(CHANGE_PLAN),
        })
    }

    fn fail(&self, error: impl std::fmt::Display) -> StoreError {
        StoreError {
            location: self.url.clone(),
            message: error.to_string(),
        }
    }

    async fn connection(&self) -> Result<ConnectionManager, StoreError> {
        self.connection
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(REDIS_TIMEOUT))
                    .set_response_timeout(Some(REDIS_TIMEOUT))
                    .set_number_of_retries(1);
                self.client
                    .get_connection_manager_with_config(config)
                    .await
                    .map_err(|e| self.fail(e))
            })
            .await
            .cloned()
    }
}

impl StateStore for RedisStore {
    fn reserve(&self, counters: Vec<Counter>) -> StoreFuture<'_, Reserved> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            let mut invocation = self.reserve.prepare_invoke();
            for counter in &counters {
                invocation
                    .key(&counter.key)
                    .arg(counter.amount)
                    .arg(counter.limit)
                    .arg(counter.ttl.as_secs().max(1));
            }
            let exceeded: usize = invocation
                .invoke_async(&mut connection)
                .await
                .map_err(|e| self.fail(e))?;
            Ok(match exceeded {
                0 => Reserved::Granted,
                index => Reserved::Exceeded(index - 1),
            })
        })
    }

    fn release(&self, counters: Vec<Counter>) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            let mut invocation = self.release.prepare_invoke();
            for counter in &counters {
                invocation.key(&counter.key).arg(counter.amount);
            }
            let _: i64 = invocation
                .invoke_async(&mut connection)
                .await
                .map_err(|e| self.fail(e))?;
            Ok(())
        })
    }

    fn value(&self, key: String) -> StoreFuture<'_, u64> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            let value: Option<i64> = ::redis::cmd("GET")
                .arg(&key)
                .query_async(&mut connection)
                .await
                .map_err(|e| self.fail(e))?;
            Ok(value.unwrap_or(0).max(0) as u64)
        })
    }

    fn write_audit(&self, record: AuditRecord, oldest_kept_ms: u64) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            let (index, records) = audit_keys(&record.tenant);
            let json = serde_json::to_string(&record).expect("a record serialises");
            let _: i64 = self
                .write_audit
                .key(index)
                .key(records)
                .arg(&record.id)
                .arg(record.time_ms)
                .arg(json)
                .arg(oldest_kept_ms)
                .invoke_async(&mut connection)
                .await
                .map_err(|e| self.fail(e))?;
            Ok(())
        })
    }

    fn read_audit(&self, query: AuditQuery) -> StoreFuture<'_, Vec<AuditRecord>> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            let (index, records) = audit_keys(&query.tenant);
            let ids: Vec<String> = ::redis::cmd("ZRANGEBYSCORE")
                .arg(&index)
                .arg(query.since_ms)
                .arg("+inf")
                .query_async(&mut connection)
                .await
                .map_err(|e| self.fail(e))?;
            let mut found = Vec::new();
            for chunk in ids.chunks(500) {
                let texts: Vec<Option<String>> = ::redis::cmd("HMGET")
                    .arg(&records)
                    .arg(chunk)
                    .query_async(&mut connection)
                    .await
                    .map_err(|e| self.fail(e))?;
                found.extend(
                    texts
                        .into_iter()
                        .flatten()
                        .filter_map(|text| serde_json::from_str::<AuditRecord>(&text).ok())
                        .filter(|r| query.run_id.as_ref().is_none_or(|run| &r.run_id == run)),
                );
                if found.len() >= query.limit {
                    break;
                }
            }
            found.truncate(query.limit);
            Ok(found)
        })
    }

    fn save_plan(&self, plan: Plan, oldest_kept_ms: u64) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            let key = plan_key(&plan.tenant, &plan.id);
            let json = serde_json::to_string(&plan).expect("a plan serialises");
            // Kept as long as the audit keeps records: until the retention passes its expiry.
            let keep_ms = plan.expires_ms.saturating_sub(oldest_kept_ms).max(1);
            let _: () = ::redis::pipe()
                .atomic()
                .hset_multiple(
                    &key,
                    &[
                        ("state", plan.state.as_str().to_string()),
                        ("expires_ms", plan.expires_ms.to_string()),
                        ("plan", json),
                    ],
                )
                .ignore()
                .pexpire(&key, i64::try_from(keep_ms).unwrap_or(i64::MAX))
                .ignore()
                .query_async(&mut connection)
                .await
                .map_err(|e| self.fail(e))?;
            Ok(())
        })
    }

    fn load_plan(&self, tenant: String, id: String) -> StoreFuture<'_, Option<Plan>> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            let (state, json): (Option<String>, Option<String>) = ::redis::cmd("HMGET")
                .arg(plan_key(&tenant, &id))
                .arg("state")
                .arg("plan")
                .query_async(&mut connection)
                .await
                .map_err(|e| self.fail(e))?;
            Ok(state.zip(json).and_then(|(state, json)| {
                let plan: Plan = serde_json::from_str(&json).ok()?;
                Some(plan.in_state(PlanState::parse(&state)?, now_ms()))
            }))
        })
    }

    fn change_plan(&self, change: PlanChange) -> StoreFuture<'_, Result<Plan, NotPending>> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            let answer: Vec<String> = self
                .change_plan
                .key(plan_key(&change.tenant, &change.id))
                .arg(change.from.as_str())
                .arg(change.to.as_str())
                .arg(change.now_ms)
                .invoke_async(&mut connection)
                .await
                .map_err(|e| self.fail(e))?;
            Ok(match answer.as_slice() {
                [changed, json] if changed == "changed" => serde_json::from_str::<Plan>(json)
                    .map(|plan| plan.in_state(change.to, change.now_ms))
                    .map_err(|_| NotPending::Unknown),
                [state] => Err(PlanState::parse(state).map_or(NotPending::Unknown, NotPending::In)),
                _ => Err(NotPending::Unknown),
            })
        })
    }
}
