//! `twilio-host run`: one script from a file, stdin or `-e`, printed output on stdout, the
//! return value (with `--json`, the run report) as JSON, then the plan when the run made one
//! (`--plan`, or a tenant whose policy needs approval); failures on stderr with exit status 1.

use std::io::Read;
use std::path::PathBuf;

use twilio_host::RunReport;

use super::setup;
use super::{CliError, ConfigArgs, examples};

/// Arguments of `run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The script file, or `-` to read it from stdin.
    #[arg(
        value_name = "FILE",
        conflicts_with_all = ["eval", "example"],
        required_unless_present_any = ["eval", "example"]
    )]
    pub file: Option<PathBuf>,
    /// The script itself, instead of a file.
    #[arg(
        short = 'e',
        long = "eval",
        value_name = "CODE",
        conflicts_with = "example"
    )]
    pub eval: Option<String>,
    /// One of the examples embedded in the binary (see `twilio-host examples`), e.g. quickstart.
    #[arg(long, value_name = "NAME")]
    pub example: Option<String>,
    /// The tenant to run as (see `twilio-host check`).
    #[arg(long, default_value = "default")]
    pub tenant: String,
    /// Print the run's report as one JSON object on the last line of stdout: `run_id` (its
    /// audit records carry it), `value` (what the script returned), `error` (null, or kind,
    /// message, traceback and the error table), `requests`, `elapsed_ms`, and `plan` (with
    /// `needs_approval`) when the run made one.
    #[arg(long)]
    pub json: bool,
    /// Plan mode: record every side effect (send, call, delete, usage trigger) instead of
    /// sending it, and print the plan (reads go to the account as usual). Approve it with
    /// `twilio-host approve PLAN_ID`.
    #[arg(long)]
    pub plan: bool,
    #[command(flatten)]
    pub config: ConfigArgs,
}

/// Runs the script; its failure is [`CliError::ScriptFailed`].
pub async fn run(args: RunArgs) -> Result<(), CliError> {
    let script = match &args.example {
        Some(name) => examples::find(name)?.text.to_string(),
        None => read_script(&args).map_err(CliError::Usage)?,
    };
    let (host, _simulator) = setup::one_run_host(&args.config).await?;
    let report = if args.plan {
        host.plan(&args.tenant, &script).await?
    } else {
        host.run(&args.tenant, &script).await?
    };
    if args.plan && report.plan.is_none() && report.outcome.is_ok() {
        eprintln!("twilio-host: nothing to approve: the script made no side effect");
    }
    print_report(&report, args.json)
}

fn read_script(args: &RunArgs) -> Result<String, String> {
    if let Some(code) = &args.eval {
        return Ok(code.clone());
    }
    match args.file.as_deref() {
        Some(path) if path.as_os_str() == "-" => {
            let mut script = String::new();
            std::io::stdin()
                .read_to_string(&mut script)
                .map_err(|e| format!("cannot read the script from stdin: {e}"))?;
            Ok(script)
        }
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display())),
        None => Err("give a script FILE, `-` for stdin, or -e CODE".into()),
    }
}

/// Prints what the script printed, then its value (or, with `json`, the report), then the
/// plan it made; a failed script is [`CliError::ScriptFailed`].
pub fn print_report(report: &RunReport, json: bool) -> Result<(), CliError> {
    print!("{}", report.printed);
    if json {
        if !report.printed.is_empty() && !report.printed.ends_with('\n') {
            println!();
        }
        let mut line = serde_json::to_value(report).expect("a report serialises");
        if let Some(fields) = line.as_object_mut() {
            fields.remove("printed"); // already on stdout, above
        }
        println!("{line}");
    }
    match &report.outcome {
        Ok(value) => {
            if !json && !value.is_null() {
                println!(
                    "{}",
                    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
                );
            }
            if let (Some(plan), false) = (&report.plan, json) {
                print!("needs approval: {plan}");
                println!(
                    "approve: twilio-host approve {id}   reject: twilio-host reject {id}",
                    id = plan.id
                );
            }
            Ok(())
        }
        Err(error) => Err(CliError::ScriptFailed(error.describe())),
    }
}
