//! Plan and approve: what planning a script costs, and what approving its plan costs (the
//! store's claim and settle around a second run of the script), next to sending the same
//! three messages in an ordinary run.

use std::time::Instant;

use anyhow::ensure;
use twilio_host::Host;
use twilio_host::plan::PlanState;

use crate::{Figures, expect_ok, percentile};

/// Three messages to three numbers.
const THREE_SMS: &str = r#"local t = app.integrations.twilio
for i, to in ipairs({"+14155550101", "+14155550102", "+14155550103"}) do
  t.twilio_send_sms({to = to, from = "+15559876543", body = "Reminder " .. i})
end"#;

/// `plan_3sms_p50_us`, `approve_3sms_p50_us` and `send_3sms_p50_us` over `iterations`
/// rounds (each round plans, approves and sends once), and `approve_vs_send`.
pub async fn plan_and_approve(
    host: &Host,
    iterations: usize,
    figures: &mut Figures,
) -> anyhow::Result<()> {
    let mut times = [Vec::new(), Vec::new(), Vec::new()];
    for round in 0..iterations + iterations / 10 {
        let started = Instant::now();
        let planned = host.plan("default", THREE_SMS).await?;
        let plan_us = started.elapsed().as_secs_f64() * 1e6;
        let id = planned
            .plan
            .as_ref()
            .map(|plan| plan.id.clone())
            .ok_or_else(|| anyhow::anyhow!("the planning run made no plan: {planned:?}"))?;
        let started = Instant::now();
        let approved = host.approve("default", &id).await?;
        let approve_us = started.elapsed().as_secs_f64() * 1e6;
        let state = approved.execution.as_ref().map(|e| e.state);
        ensure!(
            state == Some(PlanState::Executed),
            "the plan ran: {approved:?}"
        );
        let started = Instant::now();
        expect_ok(host.run("default", THREE_SMS).await?)?;
        let send_us = started.elapsed().as_secs_f64() * 1e6;
        if round >= iterations / 10 {
            for (kept, time) in times.iter_mut().zip([plan_us, approve_us, send_us]) {
                kept.push(time);
            }
        }
    }
    let [plan, approve, send] = times.map(|mut t| percentile(&mut t, 50.0));
    figures.add("plan_3sms_p50_us", plan, "us");
    figures.add("approve_3sms_p50_us", approve, "us");
    figures.add("send_3sms_p50_us", send, "us");
    figures.add("approve_vs_send", approve / send, "x");
    Ok(())
}
