//! The command line: argument definitions and dispatch to one module per subcommand.

mod check;
mod docs;
pub mod logging;
mod run;
mod setup;
mod sim;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Exit code for a script that failed.
pub const EXIT_SCRIPT_FAILED: u8 = 1;
/// Exit code for a usage or configuration error.
pub const EXIT_USAGE: u8 = 2;

/// Run Lua scripts that use Twilio, in a WebAssembly sandbox that never sees your credentials.
///
/// Scripts call `app.integrations.twilio.*` (see `twilio-host docs`). With no configuration and
/// no TWILIO_* variables, scripts run against a built-in Twilio simulator, so you can try
/// everything without an account.
#[derive(Debug, Parser)]
#[command(name = "twilio-host", version, about, long_about)]
pub struct Cli {
    /// More logging on stderr: -v shows one audit line per Twilio request, -vv debug output.
    /// RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = logging::LogFormat::Text, global = true)]
    pub log_format: logging::LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one Lua script and print its output.
    ///
    /// Examples:
    ///   twilio-host run examples/messaging.lua
    ///   twilio-host run -e 'print(app.integrations.twilio.twilio_get_account({}).status)'
    ///   echo 'return 1 + 1' | twilio-host run - --json
    ///
    /// Exit status: 0 when the script succeeded, 1 when it failed (the error, its Twilio code
    /// and the Lua traceback go to stderr), 2 for usage or configuration errors.
    #[command(verbatim_doc_comment)]
    Run(run::RunArgs),
    /// Print the agent reference for `app.integrations.twilio`, or one function's section.
    Docs(docs::DocsArgs),
    /// Run the Twilio simulator in the foreground and print its URLs and test credentials.
    Sim(sim::SimArgs),
    /// Validate a configuration: list tenants and accounts, and say which secrets could not be
    /// resolved (never printing a secret).
    Check(check::CheckArgs),
}

/// Where the accounts come from, shared by the subcommands that run scripts.
#[derive(Debug, clap::Args)]
pub struct ConfigArgs {
    /// Host configuration file (TOML): tenants, accounts, limits. Without it, the TWILIO_*
    /// variables are used, and without those the built-in simulator.
    #[arg(long, value_name = "PATH", env = "TWILIO_HOST_CONFIG")]
    pub config: Option<PathBuf>,
}

/// Runs one subcommand and returns the process exit code.
pub async fn dispatch(command: Command) -> u8 {
    match command {
        Command::Run(args) => run::run(args).await,
        Command::Docs(args) => docs::docs(args).await,
        Command::Sim(args) => sim::sim(args).await,
        Command::Check(args) => check::check(args),
    }
}
