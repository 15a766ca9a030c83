//! The plan-and-approve side of [`Host`]: a run in plan mode, a tenant's runs that need
//! approval, and a plan's approval, rejection and state, all through the tenant policy's
//! state store (see [`crate::plan`]).

use std::collections::BTreeSet;

use super::{Admitted, Host, HostError};
use crate::config::policy::side_effects;
use crate::plan::gate::Mode;
use crate::plan::{NotPending, Plan, PlanChange, PlanState};
use crate::report::{ErrorKind, RunReport, ScriptError};
use crate::state::StoreError;

/// Why a plan could not be approved, rejected or read.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The tenant is unknown or busy.
    #[error(transparent)]
    Host(#[from] HostError),
    /// No pending plan of that id.
    #[error("{0}")]
    NotPending(NotPending),
    /// The state store could not be used.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<NotPending> for PlanError {
    fn from(why: NotPending) -> PlanError {
        PlanError::NotPending(why)
    }
}

impl Host {
    /// Runs `script` for `tenant` in plan mode: every side effect (send, call, delete, usage
    /// trigger) is recorded instead of sent, reads go to the account. The report's
    /// [`RunReport::plan`] is the stored plan to approve ([`Host::approve`]), `None` when the
    /// script made no side effect.
    pub async fn plan(&self, tenant: &str, script: &str) -> Result<RunReport, HostError> {
        let admitted = self.admit(tenant).await?;
        Ok(self.planning_run(admitted, script, side_effects()).await)
    }

    /// Runs `tenant`'s pending plan `plan_id` once: its script again, each side effect let
    /// through only when it equals the plan's next action (policy and quotas apply as to any
    /// run); from the first that differs on, nothing is sent. The report's
    /// [`RunReport::execution`] says whether it ran exactly (`executed`) or `stopped`. A plan
    /// that is unknown, expired, rejected or already executed is an `Err` and nothing runs;
    /// the store decides, so two approvals on two machines run it once.
    pub async fn approve(&self, tenant: &str, plan_id: &str) -> Result<RunReport, PlanError> {
        let admitted = self.admit(tenant).await?;
        let claim = PlanChange::new(tenant, plan_id, PlanState::Pending, PlanState::Executing);
        let plan = self.store.change_plan(claim).await??;
        let mode = Mode::Executing {
            plan_id: plan.id.clone(),
            actions: plan.actions,
        };
        let (mut report, gate) = self
            .execute(admitted, &plan.script, mode, Some(plan_id))
            .await;
        if let Some(execution) = gate.execution() {
            self.metrics.planned(tenant, execution.state.as_str());
            let settle = PlanChange::new(tenant, plan_id, PlanState::Executing, execution.state);
            if let Err(error) = self.store.change_plan(settle).await {
                // It stays `executing`, which never runs again; only its final state is lost.
                tracing::error!(%tenant, plan_id, %error, "the plan's final state could not be kept");
            }
            report.execution = Some(execution);
        }
        Ok(report)
    }

    /// Rejects `tenant`'s pending plan `plan_id`: it never runs.
    pub async fn reject(&self, tenant: &str, plan_id: &str) -> Result<Plan, PlanError> {
        self.runtime(tenant)?;
        let change = PlanChange::new(tenant, plan_id, PlanState::Pending, PlanState::Rejected);
        let plan = self.store.change_plan(change).await??;
        self.metrics.planned(tenant, "rejected");
        Ok(plan)
    }

    /// `tenant`'s plan `plan_id` as it is now.
    pub async fn plan_of(&self, tenant: &str, plan_id: &str) -> Result<Plan, PlanError> {
        self.runtime(tenant)?;
        self.store
            .load_plan(tenant.to_string(), plan_id.to_string())
            .await?
            .ok_or(PlanError::NotPending(NotPending::Unknown))
    }

    /// A run that records the calls of `needs_approval` in a new plan, stored when it has
    /// one such action.
    pub(super) async fn planning_run(
        &self,
        admitted: Admitted<'_>,
        script: &str,
        needs_approval: BTreeSet<&'static str>,
    ) -> RunReport {
        let tenant = admitted.tenant.config.name.clone();
        let expiry = admitted.tenant.config.approval.plan_expiry;
        let plan_id = Plan::new_id();
        let mode = Mode::Planning {
            plan_id: plan_id.clone(),
            needs_approval,
        };
        let (mut report, gate) = self.execute(admitted, script, mode, Some(&plan_id)).await;
        let actions = gate.recorded();
        if !actions.iter().any(|action| action.pending) {
            return report;
        }
        let (run_id, printed) = (&report.run_id, &report.printed);
        let plan = Plan::new(plan_id, &tenant, run_id, script, printed, actions, expiry);
        match self
            .store
            .save_plan(plan.clone(), self.audit.oldest_kept_ms())
            .await
        {
            Ok(()) => {
                self.metrics.planned(&tenant, "made");
                report.plan = Some(plan);
            }
            Err(error) => {
                tracing::error!(%tenant, %error, "the run's plan could not be stored");
                report.outcome = Err(ScriptError::new(
                    ErrorKind::Internal,
                    format!(
                        "the run's plan of {} action(s) could not be stored, so they were not sent and cannot be approved; try again later",
                        plan.pending_actions()
                    ),
                ));
            }
        }
        report
    }
}
