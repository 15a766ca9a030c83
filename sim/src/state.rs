//! The simulator's mutable world: per-account resources behind one lock, and the public handle
//! tests use to inspect and seed it while the server runs.

use std::path::Path;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::SimAccount;
use crate::persist::StateFile;
use crate::resources::{
    call::Call, message::Message, phone_number::PhoneNumber, recording::Recording,
    usage::DailyUsage, usage_trigger::UsageTrigger,
};
use crate::routes::usage::current_value;
use crate::seed;
use crate::util::sid::sid;
use crate::util::time::Timestamp;

/// Everything the simulator stores.
pub(crate) struct World {
    pub accounts: Vec<AccountData>,
    /// `http://127.0.0.1:PORT` of the core API listener (for absolute `media_url`s).
    pub api_base: String,
    /// `http://127.0.0.1:PORT` of the Lookup listener (for Lookup `url`s).
    pub lookups_base: String,
    /// Where the accounts are kept between processes, when they are.
    file: Option<StateFile>,
}

impl World {
    /// The data of account `sid`.
    pub(crate) fn account_mut(&mut self, sid: &str) -> Option<&mut AccountData> {
        self.accounts
            .iter_mut()
            .find(|data| data.account.account_sid == sid)
    }
}

/// One account's resources.
#[derive(Serialize, Deserialize)]
pub(crate) struct AccountData {
    pub account: SimAccount,
    pub created: Timestamp,
    pub numbers: Vec<PhoneNumber>,
    pub messages: Vec<Message>,
    pub calls: Vec<Call>,
    pub recordings: Vec<Recording>,
    pub usage: Vec<DailyUsage>,
    pub triggers: Vec<UsageTrigger>,
    pub seeded: SeededIds,
    next_id: u64,
    /// Mixed into every new SID; empty in the deterministic mode, random for a kept state so
    /// that a state made afresh (after a reset) never hands out a SID an earlier one did.
    #[serde(default)]
    sid_salt: String,
}

impl AccountData {
    /// An account with no resources yet, whose SIDs mix in `sid_salt`.
    pub(crate) fn empty(account: SimAccount, created: Timestamp, sid_salt: String) -> Self {
        AccountData {
            account,
            created,
            numbers: Vec::new(),
            messages: Vec::new(),
            calls: Vec::new(),
            recordings: Vec::new(),
            usage: Vec::new(),
            triggers: Vec::new(),
            seeded: SeededIds::default(),
            next_id: 0,
            sid_salt,
        }
    }

    /// A fresh SID with `prefix`, derived from the account, the creation order and the salt
    /// (so deterministic when the salt is empty).
    pub(crate) fn next_sid(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        let id = self.next_id.to_string();
        let mut parts = vec![self.account.account_sid.as_str(), prefix, &id];
        if !self.sid_salt.is_empty() {
            parts.push(&self.sid_salt);
        }
        sid(prefix, &parts)
    }

    /// The owned number `number` (E.164), if any.
    pub(crate) fn owned_number(&self, number: &str) -> Option<&PhoneNumber> {
        self.numbers.iter().find(|n| n.phone_number == number)
    }
}

/// SIDs of the resources seeded at start-up, oldest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeededIds {
    /// Owned numbers: `+15559876543`, `+15005550006`, `+15557654321`, `+18885550123`.
    pub phone_number_sids: Vec<String>,
    /// All 25 seeded calls.
    pub call_sids: Vec<String>,
    /// The seeded calls whose status is `completed` (they have a `duration`).
    pub completed_call_sids: Vec<String>,
    /// The 12 seeded recordings (each tied to a completed call).
    pub recording_sids: Vec<String>,
    /// The 5 seeded messages.
    pub message_sids: Vec<String>,
}

/// A thread-safe handle on the simulator's data, usable while the server runs.
///
/// Methods taking an `account_sid` return empty results for unknown accounts.
#[derive(Clone)]
pub struct SimState {
    inner: Arc<Mutex<World>>,
}

impl SimState {
    /// Seeds every account deterministically, or, with `state_file`, takes the accounts kept
    /// there (seeding those it lacks with random SIDs).
    pub(crate) fn new(
        accounts: &[SimAccount],
        api_base: String,
        lookups_base: String,
        state_file: Option<&Path>,
    ) -> anyhow::Result<Self> {
        let (accounts, file) = match state_file {
            Some(path) => {
                let (file, accounts) = StateFile::open(path, accounts)?;
                (accounts, Some(file))
            }
            None => {
                let seeded = accounts.iter().cloned();
                (
                    seeded
                        .map(|a| seed::seed_account(a, String::new()))
                        .collect(),
                    None,
                )
            }
        };
        let world = World {
            accounts,
            api_base,
            lookups_base,
            file,
        };
        Ok(SimState {
            inner: Arc::new(Mutex::new(world)),
        })
    }

    /// Runs `f` with the world locked (a poisoned lock is recovered, never a panic). With a
    /// state file, the world is the file's latest version while `f` runs and what `f` changed
    /// is written back before other processes may read it.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut World) -> R) -> R {
        let mut guard = self
            .inner
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let world = &mut *guard;
        let held = match world.file.as_mut() {
            Some(file) => file.refresh(&mut world.accounts),
            None => None,
        };
        let result = f(world);
        if let (Some(file), Some(held)) = (world.file.as_mut(), held) {
            file.save(&world.accounts, held);
        }
        result
    }

    fn with_account<R: Default>(
        &self,
        account_sid: &str,
        f: impl FnOnce(&mut AccountData, &str) -> R,
    ) -> R {
        self.with(|world| {
            let api_base = world.api_base.clone();
            world
                .account_mut(account_sid)
                .map(|data| f(data, &api_base))
                .unwrap_or_default()
        })
    }

    /// Renders the items `pick` selects from an account, oldest first, skipping those `render`
    /// maps to `None`.
    fn render_all<T>(
        &self,
        account_sid: &str,
        pick: fn(&AccountData) -> &[T],
        render: impl Fn(&T, &AccountData, &str) -> Option<Value>,
    ) -> Vec<Value> {
        self.with_account(account_sid, |data, api_base| {
            pick(data)
                .iter()
                .filter_map(|item| render(item, data, api_base))
                .collect()
        })
    }

    /// All messages of the account as Message JSON, oldest first.
    pub fn messages(&self, account_sid: &str) -> Vec<Value> {
        self.render_all(account_sid, |d| &d.messages, |m, _, _| Some(m.to_json()))
    }

    /// Adds `n` delivered outbound messages (from `+15559876543` to `+1555020NNNN`, dated in
    /// February 2026) and returns their SIDs.
    pub fn seed_messages(&self, account_sid: &str, n: usize) -> Vec<String> {
        self.with_account(account_sid, |data, _| seed::add_messages(data, n))
    }

    /// All calls of the account as Call JSON, oldest first.
    pub fn calls(&self, account_sid: &str) -> Vec<Value> {
        self.render_all(account_sid, |d| &d.calls, |c, _, _| Some(c.to_json()))
    }

    /// The account's recordings that are not deleted, as Recording JSON, oldest first.
    pub fn recordings(&self, account_sid: &str) -> Vec<Value> {
        self.render_all(
            account_sid,
            |d| &d.recordings,
            |r, _, api_base| (!r.deleted).then(|| r.to_json(api_base)),
        )
    }

    /// The account's owned numbers as IncomingPhoneNumber JSON.
    pub fn phone_numbers(&self, account_sid: &str) -> Vec<Value> {
        self.render_all(account_sid, |d| &d.numbers, |n, _, _| Some(n.to_json()))
    }

    /// The account's usage triggers as UsageTrigger JSON, oldest first.
    pub fn usage_triggers(&self, account_sid: &str) -> Vec<Value> {
        self.render_all(
            account_sid,
            |d| &d.triggers,
            |t, data, _| Some(t.to_json(&current_value(data, t))),
        )
    }

    /// SIDs of the resources seeded at start-up (`None` for an unknown account).
    pub fn seeded(&self, account_sid: &str) -> Option<SeededIds> {
        self.with_account(account_sid, |data, _| Some(data.seeded.clone()))
    }
}
