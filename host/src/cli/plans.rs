//! `twilio-host approve`, `reject` and `show-plan`: what a person does with a plan that
//! `run --plan` (or a tenant's `approval` policy) made. Plans live in the configuration's
//! state store, so these work from any process that shares it.

use twilio_host::PlanError;
use twilio_host::plan::Plan;
use twilio_host::plan::gate::Execution;

use super::run::print_report;
use super::setup;
use super::{CliError, ConfigArgs};

/// Arguments of `approve`, `reject` and `show-plan`.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// The plan's id (from `run --plan`, or a run that needs approval).
    #[arg(value_name = "PLAN_ID")]
    pub id: String,
    /// The tenant whose plan it is.
    #[arg(long, default_value = "default")]
    pub tenant: String,
    /// As JSON: for `approve`, the run's report with `execution` on the last line of stdout;
    /// else the plan.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub config: ConfigArgs,
}

/// What to do with the plan.
#[derive(Debug, Clone, Copy)]
pub enum Decision {
    /// Run it.
    Approve,
    /// Make sure it never runs.
    Reject,
    /// Print it.
    Show,
}

/// Approves, rejects or shows the plan. Approving prints the run's output and how it went:
/// exit 0 when every approved action was sent and the script succeeded, 1 when it stopped at
/// an action that differed (or the script failed), 2 when the plan is unknown, expired,
/// rejected or already executed.
pub async fn decide(args: PlanArgs, decision: Decision) -> Result<(), CliError> {
    let (host, _simulator) = setup::one_run_host(&args.config).await?;
    let refused = |error: PlanError| match error {
        PlanError::Store(error) => CliError::host("cannot use the state store", error),
        other => CliError::Usage(format!("plan {}: {other}", args.id)),
    };
    match decision {
        Decision::Approve => {
            let report = host
                .approve(&args.tenant, &args.id)
                .await
                .map_err(refused)?;
            if let Some(execution) = &report.execution {
                eprintln!("{}", describe(execution));
            }
            let stopped = report
                .execution
                .as_ref()
                .and_then(|e| e.stopped.as_ref())
                .map(|stop| stop.reason.clone());
            print_report(&report, args.json)?;
            match stopped {
                Some(reason) => Err(CliError::ScriptFailed(format!(
                    "plan {} stopped: {reason}",
                    args.id
                ))),
                None => Ok(()),
            }
        }
        Decision::Reject => {
            let plan = host.reject(&args.tenant, &args.id).await.map_err(refused)?;
            show(&plan, args.json);
            Ok(())
        }
        Decision::Show => {
            let plan = host
                .plan_of(&args.tenant, &args.id)
                .await
                .map_err(refused)?;
            show(&plan, args.json);
            Ok(())
        }
    }
}

/// The plan on stdout: its summary as JSON, or the lines a person reads.
fn show(plan: &Plan, json: bool) {
    if json {
        println!("{}", plan.summary());
    } else {
        print!("{plan}");
    }
}

/// One line on how an approved plan's run went.
fn describe(execution: &Execution) -> String {
    let sent = format!(
        "{} of {} approved action(s) sent",
        execution.actions_sent, execution.actions_approved
    );
    match &execution.stopped {
        None => format!("twilio-host: plan {} executed: {sent}", execution.plan_id),
        Some(stop) => format!(
            "twilio-host: plan {} stopped at action {}: {sent}",
            execution.plan_id, stop.action
        ),
    }
}
