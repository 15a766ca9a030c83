//! A fresh, restricted Lua 5.4 state for one run: the standard library an agent script needs and
//! nothing that reaches outside, `print` captured, and the memory and instruction limits armed.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Instant;

use mlua::{HookTriggers, Lua, LuaOptions, StdLib, VmState};

use crate::output::Output;

/// Lua VM instructions between two checks of the instruction budget.
const BUDGET_STEP: u32 = 1000;

/// Budget steps (of [`BUDGET_STEP`] instructions) that code running after the script, such as
/// finalizers, may use in all.
const STEPS_AFTER_END: u32 = 100;

/// The most `print` output one run keeps; the rest is dropped with a note.
const MAX_PRINTED_BYTES: usize = 1 << 20;

/// Limits the sandbox enforces from inside Lua.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Cap on the Lua heap, in bytes.
    pub memory_bytes: usize,
    /// Budget of Lua VM instructions.
    pub instructions: u64,
}

/// Hardening done in Lua itself, run once per state before the script sees it. Each removed
/// facility is replaced by a function or table that says plainly it is not available.
const PRELUDE: &str = r#"
local monotonic_seconds = ...
local function unavailable(name, why)
    return function()
        error(name .. " is not available in this sandbox: " .. why, 2)
    end
end
local raw_load = load
-- Text chunks only: binary chunks can break the VM's invariants.
load = function(chunk, chunkname, _mode, ...)
    return raw_load(chunk, chunkname, "t", ...)
end
dofile = unavailable("dofile", "scripts cannot read files")
loadfile = unavailable("loadfile", "scripts cannot read files")
require = unavailable("require", "scripts cannot load modules")
string.dump = unavailable("string.dump", "binary chunks are disabled")
warn = nil
local raw_os = os
os = {
    time = raw_os.time,
    date = raw_os.date,
    -- The sandbox has no process CPU clock: seconds since the run started.
    clock = monotonic_seconds,
    difftime = raw_os.difftime,
}
for _, name in ipairs({"execute", "getenv", "remove", "rename", "exit", "tmpname", "setlocale"}) do
    os[name] = unavailable("os." .. name, "scripts cannot touch the process or the file system")
end
local function blocked_library(name, why)
    return setmetatable({}, {
        __index = function(_, key)
            error(name .. "." .. tostring(key) .. " is not available in this sandbox: " .. why, 2)
        end,
        __newindex = function() error(name .. " is not available in this sandbox: " .. why, 2) end,
        __metatable = false,
    })
end
io = blocked_library("io", "scripts cannot read or write files")
package = blocked_library("package", "scripts cannot load modules")
debug = blocked_library("debug", "the debug library could reach around the sandbox")
"#;

/// Whether the script has returned (or failed). Code may still run after that: a `__gc`
/// finalizer while the result is encoded, or while the state closes, when no Lua value may be
/// touched any more (mlua panics, and a panic aborts the component). So every Rust callback
/// checks this first and does nothing then: `print` drops its output, the Twilio functions and
/// `help` raise [`ScriptEnded::error`] (nothing is sent), and the run keeps its outcome.
#[derive(Clone, Default)]
pub struct ScriptEnded(Rc<Cell<bool>>);

impl ScriptEnded {
    /// The flag of the sandbox `lua` belongs to (kept in its app data); a state not made by
    /// [`Sandbox::new`] gets one that is never set.
    pub fn of(lua: &Lua) -> ScriptEnded {
        lua.app_data_ref::<ScriptEnded>()
            .map(|flag| flag.clone())
            .unwrap_or_default()
    }

    /// Whether the script has ended.
    pub fn get(&self) -> bool {
        self.0.get()
    }

    /// What a callback raises once the script has ended. A plain message: no Lua value may be
    /// made while the state closes, and a finalizer's error is never shown anyway.
    pub fn error() -> mlua::Error {
        mlua::Error::runtime(
            "the script has ended (this call came from a finalizer); nothing was done",
        )
    }
}

/// A Lua state ready to run one script, and whether it used up its instruction budget.
pub struct Sandbox {
    /// The Lua state; dropped with the sandbox.
    pub lua: Lua,
    ended: ScriptEnded,
    budget_exhausted: Rc<Cell<bool>>,
    /// When the run started, for `os.clock`; set again by [`Sandbox::arm`].
    started: Rc<Cell<Instant>>,
}

impl Sandbox {
    /// The part of a sandbox that is the same for every run: the restricted standard library
    /// and `print` writing to `output`. The component builds this once, before it is
    /// snapshotted (pre-initialised), so that a fresh instance starts with it. It must be
    /// [armed](Sandbox::arm) before it runs anything (`runner::run` does that).
    pub fn new(output: Rc<dyn Output>) -> mlua::Result<Sandbox> {
        let libs = StdLib::STRING
            | StdLib::TABLE
            | StdLib::MATH
            | StdLib::UTF8
            | StdLib::COROUTINE
            | StdLib::OS;
        let lua = Lua::new_with(libs, LuaOptions::new())?;
        let budget_exhausted = Rc::new(Cell::new(false));
        let ended = ScriptEnded::default();
        lua.set_app_data(ended.clone());
        let sandbox = Sandbox {
            lua,
            ended,
            budget_exhausted,
            started: Rc::new(Cell::new(Instant::now())),
        };
        sandbox.harden()?;
        sandbox.capture_print(output)?;
        Ok(sandbox)
    }

    /// The per-run part: restarts `os.clock`, seeds `math.random` afresh and arms `limits`.
    pub fn arm(&self, limits: Limits) -> mlua::Result<()> {
        self.started.set(Instant::now());
        self.seed_random()?;
        // Armed last, so that setting up the sandbox is not charged to the script.
        self.lua.set_memory_limit(limits.memory_bytes)?;
        self.arm_instruction_budget(limits.instructions)
    }

    /// Marks the script as ended: from now on the callbacks do nothing ([`ScriptEnded`]).
    pub fn end_script(&self) {
        self.ended.0.set(true);
    }

    /// Whether the script ran out of instruction budget at some point.
    pub fn budget_exhausted(&self) -> bool {
        self.budget_exhausted.get()
    }

    fn harden(&self) -> mlua::Result<()> {
        let started = Rc::clone(&self.started);
        let monotonic_seconds = self
            .lua
            .create_function(move |_, ()| Ok(started.get().elapsed().as_secs_f64()))?;
        self.lua
            .load(PRELUDE)
            .set_name("=sandbox")
            .call::<()>(monotonic_seconds)
    }

    fn capture_print(&self, output: Rc<dyn Output>) -> mlua::Result<()> {
        let written = Cell::new(0usize);
        let tostring: mlua::Function = self.lua.globals().get("tostring")?;
        let ended = self.ended.clone();
        let print = self.lua.create_function(move |_, args: mlua::MultiValue| {
            if ended.get() {
                return Ok(());
            }
            let mut line = String::new();
            for (index, value) in args.into_iter().enumerate() {
                if index > 0 {
                    line.push('\t');
                }
                let text: mlua::LuaString = tostring.call(value)?;
                line.push_str(&text.to_string_lossy());
            }
            line.push('\n');
            write_capped(output.as_ref(), &written, &line);
            Ok(())
        })?;
        self.lua.globals().set("print", print)
    }

    fn seed_random(&self) -> mlua::Result<()> {
        let mut seed = [0u8; 16];
        getrandom::fill(&mut seed)
            .map_err(|e| mlua::Error::runtime(format!("no randomness: {e}")))?;
        let high = i64::from_le_bytes(seed[..8].try_into().expect("8 bytes"));
        let low = i64::from_le_bytes(seed[8..].try_into().expect("8 bytes"));
        let math: mlua::Table = self.lua.globals().get("math")?;
        let randomseed: mlua::Function = math.get("randomseed")?;
        randomseed.call::<()>((high, low))
    }

    fn arm_instruction_budget(&self, instructions: u64) -> mlua::Result<()> {
        let steps = instructions.div_ceil(u64::from(BUDGET_STEP));
        let used = Cell::new(0u64);
        let used_after_end = Cell::new(0u32);
        let exhausted = Rc::clone(&self.budget_exhausted);
        let ended = self.ended.clone();
        let triggers = HookTriggers::new().every_nth_instruction(BUDGET_STEP);
        self.lua.set_global_hook(triggers, move |lua, _| {
            if ended.get() {
                // Finalizers after the script get a small budget of their own (the state may
                // be closing: no new hook then, only the error).
                used_after_end.set(used_after_end.get() + 1);
                if used_after_end.get() <= STEPS_AFTER_END {
                    return Ok(VmState::Continue);
                }
                return Err(ScriptEnded::error());
            }
            used.set(used.get() + 1);
            if used.get() <= steps {
                return Ok(VmState::Continue);
            }
            if !exhausted.replace(true) {
                // From now on every instruction fails, so a `pcall` that caught the first error
                // cannot keep the script alive.
                lua.set_global_hook(HookTriggers::new().every_nth_instruction(1), |_, _| {
                    Err(budget_error())
                })?;
            }
            Err(budget_error())
        })
    }
}

fn budget_error() -> mlua::Error {
    mlua::Error::runtime("instruction limit reached: the script ran too long")
}

/// Writes `text` unless the run already printed [`MAX_PRINTED_BYTES`]; the write that crosses
/// the cap is cut there and followed by a note.
fn write_capped(output: &dyn Output, written: &Cell<usize>, text: &str) {
    const NOTE: &str = "\n[output truncated: print output is capped at 1 MiB]\n";
    let room = MAX_PRINTED_BYTES.saturating_sub(written.get());
    if room == 0 {
        return;
    }
    if text.len() <= room {
        written.set(written.get() + text.len());
        output.write(text);
        return;
    }
    let mut cut = room;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    written.set(MAX_PRINTED_BYTES);
    output.write(&text[..cut]);
    output.write(NOTE);
}
