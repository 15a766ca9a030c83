//! The egress's plan mode: what happens to a run's side effects (sends, calls, deletes, usage
//! triggers) once the tenant policy has allowed them. A live run sends them; a planning run
//! records the ones that need approval as pending actions (the guest gets a `202` answer that
//! says so) and sends the others, keeping Twilio's answer; an approved plan's run lets a side
//! effect through only when it equals the plan's next action, answers the ones the planning
//! run already sent with what Twilio said then, and refuses everything from the first
//! difference on.

use std::collections::BTreeSet;
use std::sync::Mutex;

use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;

use super::{PlanAction, PlanState, SentAnswer};

/// The HTTP status of a planned side effect's answer: accepted, not done. Twilio answers none
/// of the 15 functions' requests with it, so the plugin reads it as "planned".
pub const PLANNED_STATUS: u16 = 202;

/// What a run does with its side effects.
#[derive(Debug, Default)]
pub enum Mode {
    /// Sends them.
    #[default]
    Live,
    /// Records the side effects of these functions as plan `plan_id`'s pending actions; sends
    /// the others and keeps what Twilio answered.
    Planning {
        /// The plan's id, known to the guest from the first answer.
        plan_id: String,
        /// The functions whose calls need approval.
        needs_approval: BTreeSet<&'static str>,
    },
    /// Runs the approved plan `plan_id`: each side effect must be its next action.
    Executing {
        /// The plan.
        plan_id: String,
        /// Its actions, in order.
        actions: Vec<PlanAction>,
    },
}

/// What to do with one side effect.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Send it; while planning, tell [`PlanGate::answered`] Twilio's answer for this slot.
    Send(Option<usize>),
    /// Recorded as the plan's action number `.0` (from 1): answer with `.1`, nothing is sent.
    Planned(usize, Bytes),
    /// The planning run sent it already: answer with what Twilio said then.
    Replay(SentAnswer),
    /// Refuse it (and everything after): the execution differs from the plan here.
    Stop(String),
}

/// Where an approved plan's run stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stop {
    /// The action (from 1) it stopped at.
    pub action: usize,
    /// Why.
    pub reason: String,
}

/// How an approved plan's run went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Execution {
    /// The plan.
    pub plan_id: String,
    /// `executed` (every action, exactly) or `stopped`.
    pub state: PlanState,
    /// The pending actions this run sent.
    pub actions_sent: usize,
    /// The plan's pending actions.
    pub actions_approved: usize,
    /// Where it stopped, when it did.
    pub stopped: Option<Stop>,
}

/// A run's side effects as its mode decides them.
#[derive(Debug, Default)]
pub struct PlanGate {
    mode: Mode,
    progress: Mutex<Progress>,
}

#[derive(Debug, Default)]
struct Progress {
    /// Planning: the actions so far.
    recorded: Vec<PlanAction>,
    /// Executing: the index of the next action, and how many pending ones were let through.
    next: usize,
    sent: usize,
    /// Executing: where it stopped.
    stopped: Option<Stop>,
}

impl Progress {
    /// Stops the execution at `action` for `reason`; the reason the script and the report get.
    fn stop(&mut self, action: usize, reason: &str) -> String {
        let reason = format!("{reason}; nothing further is sent in this run");
        self.stopped = Some(Stop {
            action,
            reason: reason.clone(),
        });
        reason
    }
}

impl PlanGate {
    /// A gate in `mode`.
    pub fn new(mode: Mode) -> PlanGate {
        PlanGate {
            mode,
            progress: Mutex::default(),
        }
    }

    /// Whether the run sends its side effects as they come ([`Mode::Live`]): then
    /// [`PlanGate::decide`] would say [`Verdict::Send`] to every one, and the caller need not
    /// build the call for it.
    pub fn is_live(&self) -> bool {
        matches!(self.mode, Mode::Live)
    }

    /// Why every request of this run is refused now (an execution that stopped).
    pub fn halted(&self) -> Option<String> {
        lock(&self.progress)
            .stopped
            .as_ref()
            .map(|stop| stop.reason.clone())
    }

    /// Decides `call`, a side effect the policy allowed (`call.pending` is ignored); `retry`:
    /// it repeats the run's previous request, which failed (an execution lets a retry of the
    /// action it just sent through again, as the same action).
    pub fn decide(&self, call: PlanAction, retry: bool) -> Verdict {
        let mut progress = lock(&self.progress);
        match &self.mode {
            Mode::Live => Verdict::Send(None),
            Mode::Planning {
                plan_id,
                needs_approval,
            } => {
                let pending = needs_approval.contains(call.function.as_str());
                let action = PlanAction { pending, ..call };
                let number = progress.recorded.len() + 1;
                let verdict = if pending {
                    Verdict::Planned(number, planned_answer(plan_id, number, &action))
                } else {
                    Verdict::Send(Some(number - 1))
                };
                progress.recorded.push(action);
                verdict
            }
            Mode::Executing { actions, .. } => {
                if let Some(stop) = &progress.stopped {
                    return Verdict::Stop(stop.reason.clone());
                }
                let previous = progress.next.checked_sub(1).and_then(|i| actions.get(i));
                if retry && previous.is_some_and(|p| p.pending && p.same_call(&call)) {
                    return Verdict::Send(None);
                }
                let number = progress.next + 1;
                let reason = match actions.get(progress.next) {
                    None => format!(
                        "the script asked for a side effect after the plan's {} action(s): {}",
                        actions.len(),
                        call.line()
                    ),
                    Some(approved) if !approved.same_call(&call) => format!(
                        "action {number} differs from the approved plan: approved {}, the script asked for {}",
                        approved.line(),
                        call.line()
                    ),
                    Some(approved) => {
                        progress.next += 1;
                        match (&approved.answer, approved.pending) {
                            (_, true) => {
                                progress.sent += 1;
                                return Verdict::Send(None);
                            }
                            (Some(answer), false) => return Verdict::Replay(answer.clone()),
                            (None, false) => format!(
                                "action {number} was sent by the planning run, which got no answer; it is not sent again"
                            ),
                        }
                    }
                };
                Verdict::Stop(progress.stop(number, &reason))
            }
        }
    }

    /// Keeps Twilio's answer to the side effect the planning run sent at `slot`.
    pub fn answered(&self, slot: usize, answer: SentAnswer) {
        if let Some(action) = lock(&self.progress).recorded.get_mut(slot) {
            action.answer = Some(answer);
        }
    }

    /// A side effect let through ([`Verdict::Send`], at planning `slot`) that was not sent
    /// after all (a quota, the audit, a connection never made). A planning run's becomes
    /// pending (the approved run sends it); an execution stops there.
    pub fn not_sent(&self, slot: Option<usize>, reason: &str) {
        let mut progress = lock(&self.progress);
        if let Some(action) = slot.and_then(|slot| progress.recorded.get_mut(slot)) {
            action.pending = true;
        }
        if matches!(self.mode, Mode::Executing { .. }) && progress.stopped.is_none() {
            let action = progress.next;
            progress.sent = progress.sent.saturating_sub(1);
            progress.stop(action, &format!("action {action} was not sent: {reason}"));
        }
    }

    /// A side effect the tenant's policy refused before the gate saw it: an execution stops
    /// at its next action.
    pub fn refused(&self, reason: &str) {
        let mut progress = lock(&self.progress);
        if matches!(self.mode, Mode::Executing { .. }) && progress.stopped.is_none() {
            let action = progress.next + 1;
            let reason = format!("action {action} was refused by the tenant's policy: {reason}");
            progress.stop(action, &reason);
        }
    }

    /// The planning run's actions (none for another mode).
    pub fn recorded(&self) -> Vec<PlanAction> {
        std::mem::take(&mut lock(&self.progress).recorded)
    }

    /// How the approved plan's run went (`None` for another mode): `executed` when it made
    /// every action and nothing else, else `stopped` where it differed (or ended early).
    pub fn execution(&self) -> Option<Execution> {
        let Mode::Executing { plan_id, actions } = &self.mode else {
            return None;
        };
        let progress = lock(&self.progress);
        let stopped = progress.stopped.clone().or_else(|| {
            (progress.next < actions.len()).then(|| Stop {
                action: progress.next + 1,
                reason: format!(
                    "the script ended after {} of the plan's {} action(s); the rest were not sent",
                    progress.next,
                    actions.len()
                ),
            })
        });
        Some(Execution {
            plan_id: plan_id.clone(),
            state: if stopped.is_some() {
                PlanState::Stopped
            } else {
                PlanState::Executed
            },
            actions_sent: progress.sent,
            actions_approved: actions.iter().filter(|a| a.pending).count(),
            stopped,
        })
    }
}

/// The body a planned side effect is answered with: its arguments, `planned = true`,
/// `status = "planned"`, the plan's id and the action's number, and a `sid` that is no SID
/// (`planned-N`; a delete keeps its recording's SID and says `deleted = false`).
fn planned_answer(plan_id: &str, number: usize, action: &PlanAction) -> Bytes {
    let mut answer = action.arguments.clone();
    answer.insert("planned".into(), Value::Bool(true));
    answer.insert("status".into(), "planned".into());
    answer.insert("plan_id".into(), plan_id.into());
    answer.insert("plan_action".into(), number.into());
    if let Some(sid) = answer.get("recording_sid").cloned() {
        answer.insert("sid".into(), sid);
        answer.insert("deleted".into(), Value::Bool(false));
    } else {
        answer.insert("sid".into(), format!("planned-{number}").into());
    }
    Bytes::from(Value::Object(answer).to_string())
}

fn lock<T>(slot: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    slot.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::WireRequest;

    fn action(function: &str, path: &str, to: &str) -> PlanAction {
        let params = [("To".to_string(), to.to_string())];
        PlanAction::new(
            function,
            "default",
            WireRequest::new("POST", path, &params),
            false,
        )
    }

    fn sms(to: &str) -> PlanAction {
        action("twilio_send_sms", "/Messages.json", to)
    }

    fn call(to: &str) -> PlanAction {
        action("twilio_make_call", "/Calls.json", to)
    }

    #[test]
    fn planning_records_what_needs_approval_and_sends_the_rest() {
        let gate = PlanGate::new(Mode::Planning {
            plan_id: "p".into(),
            needs_approval: BTreeSet::from(["twilio_send_sms"]),
        });
        let Verdict::Planned(1, body) = gate.decide(sms("+15551234567"), false) else {
            panic!("planned")
        };
        let answer: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(answer["status"], "planned");
        assert_eq!(answer["to"], "+15551234567");
        assert_eq!(answer["plan_id"], "p");
        assert_eq!(
            gate.decide(call("+15551234567"), false),
            Verdict::Send(Some(1))
        );
        gate.answered(
            1,
            SentAnswer {
                status: 201,
                body: "{}".into(),
            },
        );
        let recorded = gate.recorded();
        assert!(recorded[0].pending && !recorded[1].pending);
        assert!(recorded[1].answer.is_some());
    }

    #[test]
    fn an_execution_sends_the_plan_replays_what_was_sent_and_stops_at_a_difference() {
        let mut sent_call = call("+15551234567");
        sent_call.answer = Some(SentAnswer {
            status: 201,
            body: "{\"sid\":\"CA1\"}".into(),
        });
        let approved = vec![
            PlanAction {
                pending: true,
                ..sms("+15551234567")
            },
            sent_call,
            PlanAction {
                pending: true,
                ..sms("+15550000002")
            },
        ];
        let gate = PlanGate::new(Mode::Executing {
            plan_id: "p".into(),
            actions: approved,
        });
        assert_eq!(gate.decide(sms("+15551234567"), false), Verdict::Send(None));
        assert!(matches!(
            gate.decide(call("+15551234567"), false),
            Verdict::Replay(_)
        ));
        let Verdict::Stop(reason) = gate.decide(sms("+15559999999"), false) else {
            panic!("stopped")
        };
        assert!(reason.contains("action 3 differs"), "{reason}");
        assert!(gate.halted().is_some());
        assert!(matches!(
            gate.decide(sms("+15550000002"), false),
            Verdict::Stop(_)
        ));
        let execution = gate.execution().unwrap();
        assert_eq!(execution.state, PlanState::Stopped);
        assert_eq!((execution.actions_sent, execution.actions_approved), (1, 2));
        assert_eq!(execution.stopped.unwrap().action, 3);
    }

    #[test]
    fn a_retry_of_the_action_just_sent_is_the_same_action_and_what_was_never_sent_waits() {
        let gate = PlanGate::new(Mode::Executing {
            plan_id: "p".into(),
            actions: vec![PlanAction {
                pending: true,
                ..sms("+15551234567")
            }],
        });
        assert_eq!(gate.decide(sms("+15551234567"), false), Verdict::Send(None));
        assert_eq!(gate.decide(sms("+15551234567"), true), Verdict::Send(None));
        assert!(matches!(
            gate.decide(sms("+15551234567"), false),
            Verdict::Stop(_)
        ));
        let execution = gate.execution().unwrap();
        assert_eq!(execution.actions_sent, 1);
        assert_eq!(
            execution.stopped.unwrap().action,
            2,
            "a third send is not in the plan"
        );

        let planning = PlanGate::new(Mode::Planning {
            plan_id: "p".into(),
            needs_approval: BTreeSet::new(),
        });
        assert_eq!(
            planning.decide(call("+15551234567"), false),
            Verdict::Send(Some(0))
        );
        planning.not_sent(Some(0), "quota");
        assert!(planning.recorded()[0].pending, "the approved run sends it");
    }

    #[test]
    fn an_execution_that_ends_early_is_stopped() {
        let gate = PlanGate::new(Mode::Executing {
            plan_id: "p".into(),
            actions: vec![PlanAction {
                pending: true,
                ..sms("+15551234567")
            }],
        });
        let execution = gate.execution().unwrap();
        assert_eq!(execution.state, PlanState::Stopped);
        assert!(execution.stopped.unwrap().reason.contains("ended after 0"));
        // The policy changed since: the action is refused before the gate sees it.
        gate.refused("+15551234567 is a number in US; this tenant may reach CA");
        let stop = gate.execution().unwrap().stopped.unwrap();
        assert_eq!(stop.action, 1);
        assert!(
            stop.reason.contains("refused by the tenant's policy"),
            "{stop:?}"
        );
        assert!(gate.halted().is_some());
    }
}
