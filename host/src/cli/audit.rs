//! `twilio-host audit`: the audit trail's records from the state store of a configuration
//! (without one, of the built-in simulator's tenant `default`), one line each, or one JSON
//! object per line with `--json`.

use std::io::Write;

use twilio_host::audit::{AuditQuery, AuditRecord, Outcome, parse_since};
use twilio_host::config::StateUrl;
use twilio_host::state;

use super::setup::{self, Loaded};
use super::{CliError, ConfigArgs};

/// The tenant the built-in simulator's runs are recorded as.
const SIMULATOR_TENANT: &str = "default";

/// Arguments of `audit`.
#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// Only this tenant's records (default: every tenant of the configuration).
    #[arg(long)]
    pub tenant: Option<String>,
    /// Records since this long ago (90m, 1h, 7d) or since an RFC 3339 time.
    #[arg(long, default_value = "24h")]
    pub since: String,
    /// Only the records of this run (the `run_id` of its report).
    #[arg(long = "run", value_name = "ID")]
    pub run: Option<String>,
    /// One JSON object per line (time, run_id, tenant, account, function, method, path, to,
    /// status, sid, error_code, outcome, rule, ...).
    #[arg(long)]
    pub json: bool,
    /// At most this many records per tenant, the oldest first.
    #[arg(long, default_value_t = 10_000)]
    pub limit: usize,
    #[command(flatten)]
    pub config: ConfigArgs,
}

/// Prints the records; says on stderr how many have an unknown outcome.
pub async fn audit(args: AuditArgs) -> Result<(), CliError> {
    let since_ms =
        parse_since(&args.since).map_err(|e| CliError::Usage(format!("--since: {e}")))?;
    let (state_url, tenants) = match setup::load(&args.config) {
        Some(Loaded { result, .. }) => {
            let config = result?;
            (config.state, config.tenants.into_keys().collect())
        }
        None => (StateUrl::default(), vec![SIMULATOR_TENANT.to_string()]),
    };
    let tenants = match args.tenant {
        Some(tenant) if tenants.contains(&tenant) => vec![tenant],
        Some(tenant) => {
            return Err(CliError::Usage(format!(
                "unknown tenant {tenant:?}; configured tenants: {}",
                tenants.join(", ")
            )));
        }
        None => tenants,
    };
    let store =
        state::open(&state_url).map_err(|e| CliError::host("cannot open the audit trail", e))?;
    let mut records = Vec::new();
    for tenant in tenants {
        let query = AuditQuery {
            tenant,
            since_ms,
            run_id: args.run.clone(),
            limit: args.limit,
        };
        let found = store
            .read_audit(query)
            .await
            .map_err(|e| CliError::host("cannot read the audit trail", e))?;
        records.extend(found);
    }
    records.sort_by(|a, b| (a.time_ms, &a.id).cmp(&(b.time_ms, &b.id)));
    let mut out = std::io::stdout().lock();
    for record in &records {
        let line = if args.json {
            serde_json::to_string(record).expect("a record serialises")
        } else {
            describe(record)
        };
        if writeln!(out, "{line}").is_err() {
            return Ok(()); // stdout closed (`| head`): nothing more to say.
        }
    }
    let unknown = records
        .iter()
        .filter(|r| r.outcome == Outcome::Unknown)
        .count();
    eprintln!(
        "{} records in {state_url}{}",
        records.len(),
        if unknown > 0 {
            format!(
                "; {unknown} with outcome unknown: Twilio may or may not have acted on them (the host stopped, or no answer came), so reconcile them with Twilio's logs"
            )
        } else {
            String::new()
        }
    );
    Ok(())
}

/// One record as a line: time, tenant, account, function, status, outcome, what it made or
/// which rule refused it, the destination, the run, and the plan it made or carried out.
fn describe(record: &AuditRecord) -> String {
    let dash = || "-".to_string();
    let what = record
        .function
        .clone()
        .unwrap_or_else(|| format!("{} {}", record.method, record.path));
    let result = match (&record.sid, &record.rule, record.error_code) {
        (Some(sid), _, _) => sid.clone(),
        (None, Some(rule), _) => format!("rule {rule}"),
        (None, None, Some(code)) => format!("twilio code {code}"),
        (None, None, None) => record.error.clone().unwrap_or_else(dash),
    };
    let mut line = format!(
        "{}  {}  {}  {}  {}  {}  {}",
        record.time,
        record.tenant,
        record.account.clone().unwrap_or_else(dash),
        what,
        record.status.map_or_else(dash, |s| s.to_string()),
        match record.outcome {
            Outcome::Unknown => "UNKNOWN".to_string(),
            other => other.as_str().to_string(),
        },
        result,
    );
    if let Some(to) = &record.to {
        line.push_str(&format!("  to {to}"));
    }
    match record.segments {
        Some(1) => line.push_str("  1 segment"),
        Some(segments) => line.push_str(&format!("  {segments} segments")),
        None => {}
    }
    line.push_str(&format!("  run {}", record.run_id));
    if let Some(plan) = &record.plan_id {
        line.push_str(&format!("  plan {plan}"));
    }
    line
}
