//! The tools: `run_lua` (a script in a fresh sandbox, as the tenant; with `plan`, its side
//! effects recorded in a plan instead of sent), `twilio_reference` (the whole reference, one
//! function's section, or a search), and `approve_plan` / `reject_plan` (a plan's decision,
//! marked destructive so that clients ask their person first). Kept small: the descriptions
//! tell the agent what it cannot guess, and the reference carries the rest.

use std::time::{Duration, Instant};

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock, ProgressNotificationParam};
use rmcp::schemars::JsonSchema;
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, tool, tool_router};
use serde::Deserialize;

use super::{AuthenticatedTenant, McpServer, TenantOf};
use crate::{RunReport, help};

/// How often a long run reports progress to a client that asked for it.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// Arguments of `run_lua`.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct RunArgs {
    /// Lua 5.4 source. Its `return` value comes back as JSON.
    pub script: String,
    /// Plan mode: side effects are recorded in a plan for a person to approve, not sent.
    #[serde(default)]
    pub plan: bool,
}

/// Arguments of `approve_plan` and `reject_plan`.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct PlanArgs {
    /// The plan's id (`plan.id` of the run that made it).
    pub plan_id: String,
}

/// Arguments of `twilio_reference`.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct ReferenceArgs {
    /// One function's section, e.g. "twilio_send_sms".
    pub function: Option<String>,
    /// A few words; the sections that match best.
    pub search: Option<String>,
}

#[tool_router(vis = "pub(super)")]
impl McpServer {
    /// Runs a script as the call's tenant; cancelling the request stops the sandbox.
    #[tool(
        name = "run_lua",
        description = "Run a Lua 5.4 script in a fresh sandbox where app.integrations.twilio has 15 Twilio functions (SMS, WhatsApp, calls, lookups, usage, recordings). Read twilio_reference first. Each run is a fresh Lua state: variables do not survive it (what it did at Twilio does), so do related steps in one script. Returns what it printed and its return value; on failure isError, with the error kind, message, Twilio code, field and traceback. With plan: true (or when the tenant's policy needs approval) side effects are not sent: each returns status \"planned\", and the result lists the plan for a person to approve."
    )]
    async fn run_lua(
        &self,
        Parameters(RunArgs { script, plan }): Parameters<RunArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let tenant = self.tenant_of(&context)?;
        let progress = report_progress(&self.host, &tenant, &context);
        let run = async {
            if plan {
                self.host.plan(&tenant, &script).await
            } else {
                self.host.run(&tenant, &script).await
            }
        };
        let run = tokio::select! {
            run = run => Some(run),
            () = context.ct.cancelled() => None,
        };
        if let Some(progress) = progress {
            progress.abort();
        }
        let Some(run) = run else {
            tracing::info!(%tenant, "MCP run cancelled by the client");
            return Ok(CallToolResult::error(vec![ContentBlock::text("cancelled")]));
        };
        match run {
            Ok(report) => Ok(tool_result(&report)),
            Err(error) => Ok(CallToolResult::error(vec![ContentBlock::text(
                error.to_string(),
            )])),
        }
    }

    /// Runs a pending plan once (its script again, only the approved actions sent).
    #[tool(
        name = "approve_plan",
        description = "Carry out a plan that run_lua made (plan_id): its script runs again and only the plan's actions are sent, each exactly as listed, once; the first call that differs is refused and nothing after it is sent. Only for a plan a person has read and approved.",
        annotations(
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn approve_plan(
        &self,
        Parameters(PlanArgs { plan_id }): Parameters<PlanArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let tenant = self.tenant_of(&context)?;
        Ok(match self.host.approve(&tenant, &plan_id).await {
            Ok(report) => tool_result(&report),
            Err(error) => {
                CallToolResult::error(vec![ContentBlock::text(format!("plan {plan_id}: {error}"))])
            }
        })
    }

    /// Rejects a pending plan: it never runs.
    #[tool(
        name = "reject_plan",
        description = "Reject a plan that run_lua made (plan_id): it can never run.",
        annotations(destructive_hint = false, idempotent_hint = true)
    )]
    async fn reject_plan(
        &self,
        Parameters(PlanArgs { plan_id }): Parameters<PlanArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let tenant = self.tenant_of(&context)?;
        Ok(match self.host.reject(&tenant, &plan_id).await {
            Ok(plan) => {
                let mut result =
                    CallToolResult::success(vec![ContentBlock::text(format!("rejected: {plan}"))]);
                result.structured_content = Some(plan.summary());
                result
            }
            Err(error) => {
                CallToolResult::error(vec![ContentBlock::text(format!("plan {plan_id}: {error}"))])
            }
        })
    }

    /// The reference, a section of it, or the sections matching a search.
    #[tool(
        name = "twilio_reference",
        description = "The Lua API reference of app.integrations.twilio. No arguments: the whole text (about 6,000 tokens). function: one function's section. search: the sections matching a few words."
    )]
    async fn twilio_reference(
        &self,
        Parameters(ReferenceArgs { function, search }): Parameters<ReferenceArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let reference = self.reference().await?;
        let text = match (function.as_deref(), search.as_deref()) {
            (Some(name), _) => match reference.section(name) {
                Some(section) => section.to_string(),
                None => {
                    let tenant = self.tenant_of(&context)?;
                    let said = help::unknown_function(&self.host, &tenant, name)
                        .await
                        .map_err(|error| ErrorData::internal_error(error.to_string(), None))?;
                    return Ok(CallToolResult::error(vec![ContentBlock::text(said)]));
                }
            },
            (None, Some(words)) => {
                let found = reference.search(words);
                if found.is_empty() {
                    format!(
                        "no section mentions {words:?}; call twilio_reference without arguments for the whole text"
                    )
                } else {
                    found.join("\n")
                }
            }
            (None, None) => reference.text().to_string(),
        };
        Ok(CallToolResult::success(vec![ContentBlock::text(text)]))
    }
}

impl McpServer {
    /// The tenant the call runs as: the fixed one, or its HTTP request's authenticated tenant.
    fn tenant_of(&self, context: &RequestContext<RoleServer>) -> Result<String, ErrorData> {
        match &self.tenant {
            TenantOf::Fixed(tenant) => Ok(tenant.to_string()),
            TenantOf::Request => context
                .extensions
                .get::<http::request::Parts>()
                .and_then(|parts| parts.extensions.get::<AuthenticatedTenant>())
                .map(|AuthenticatedTenant(tenant)| tenant.clone())
                .ok_or_else(|| ErrorData::internal_error("the request carries no tenant", None)),
        }
    }
}

/// When the client asked for progress (`_meta.progressToken`), a task that reports the run's
/// elapsed seconds against its wall-clock limit every [`PROGRESS_EVERY`] until aborted.
fn report_progress(
    host: &crate::Host,
    tenant: &str,
    context: &RequestContext<RoleServer>,
) -> Option<tokio::task::JoinHandle<()>> {
    let token = context.meta.get_progress_token()?;
    let wall = host.tenant(tenant).ok()?.limits.wall;
    let peer = context.peer.clone();
    let started = Instant::now();
    Some(tokio::spawn(async move {
        let mut ticks = tokio::time::interval(PROGRESS_EVERY);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            let elapsed = started.elapsed().as_secs_f64();
            let notice = ProgressNotificationParam::new(token.clone(), elapsed.floor())
                .with_total(wall.as_secs_f64())
                .with_message(format!("running for {} s", elapsed as u64));
            if peer.notify_progress(notice).await.is_err() {
                return;
            }
        }
    }))
}

/// A run as a tool result: text for the agent (what it printed, then the value or the
/// failure) and the report as structured content; `isError` when the script failed.
fn tool_result(report: &RunReport) -> CallToolResult {
    let mut text = String::new();
    if !report.printed.is_empty() {
        text.push_str("printed:\n");
        text.push_str(&report.printed);
        if !report.printed.ends_with('\n') {
            text.push('\n');
        }
    }
    if let Some(plan) = &report.plan {
        text.push_str(&format!(
            "needs approval (nothing of it was sent): {plan}A person approves it with approve_plan, plan_id {}\n",
            plan.id
        ));
    }
    if let Some(execution) = &report.execution {
        text.push_str(&format!(
            "plan {}: {}, {} of {} approved action(s) sent\n",
            execution.plan_id,
            execution.state.as_str(),
            execution.actions_sent,
            execution.actions_approved
        ));
        if let Some(stop) = &execution.stopped {
            text.push_str(&format!(
                "stopped at action {}: {}\n",
                stop.action, stop.reason
            ));
        }
    }
    let mut result = match &report.outcome {
        Ok(value) => {
            text.push_str(&format!("returned: {value}"));
            CallToolResult::success(vec![ContentBlock::text(text)])
        }
        Err(error) => {
            text.push_str(&error.describe());
            CallToolResult::error(vec![ContentBlock::text(text)])
        }
    };
    result.structured_content = serde_json::to_value(report).ok();
    result
}
