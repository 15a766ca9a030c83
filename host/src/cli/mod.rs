//! The command line: argument definitions and dispatch to one module per subcommand.

mod audit;
mod check;
mod docs;
mod error;
mod examples;
pub mod logging;
mod mcp;
mod plans;
mod run;
mod serve;
mod setup;
mod shutdown;
mod sim;
mod token;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

pub use error::CliError;

/// Run Lua scripts that use Twilio, in a WebAssembly sandbox that never sees your credentials.
///
/// Scripts call `app.integrations.twilio.*` (see `twilio-host docs`). With no configuration and
/// no TWILIO_* variables, scripts run against a built-in Twilio simulator, so you can try
/// everything without an account.
#[derive(Debug, Parser)]
#[command(
    name = "twilio-host",
    version,
    about,
    long_about,
    after_help = "Start here:\n  \
                  twilio-host run --example quickstart     send and read back an SMS (simulator without credentials)\n  \
                  twilio-host examples                     the example scripts: list, print, run\n  \
                  twilio-host docs                         the Lua API reference (docs NAME: one function)\n  \
                  twilio-host config example > host.toml   a commented configuration, for --config\n  \
                  twilio-host check --config host.toml     validate a configuration\n  \
                  twilio-host run --plan FILE              see what a script would send; then: twilio-host approve PLAN_ID\n\n\
                  Without credentials the built-in simulator keeps its data between runs (twilio-host sim --reset clears it).\n\n\
                  Exit status: 0 success, 1 the script failed, 2 usage or configuration error,\n  \
                  3 the host failed (the plugin could not be loaded, an address could not be bound)."
)]
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
    /// Without credentials the script runs against the built-in simulator, which keeps its data
    /// between runs (a message one run sends, the next run lists); `twilio-host sim --reset`
    /// clears it.
    ///
    /// Examples:
    ///   twilio-host run --example messaging
    ///   twilio-host run my_script.lua
    ///   twilio-host run -e 'print(app.integrations.twilio.twilio_get_account({}).status)'
    ///   echo 'return 1 + 1' | twilio-host run - --json
    ///
    /// Exit status: 0 when the script succeeded, 1 when it failed (the error, its Twilio code
    /// and the Lua traceback go to stderr), 2 for usage or configuration errors, 3 when the
    /// host failed.
    #[command(verbatim_doc_comment)]
    Run(run::RunArgs),
    /// Print the agent reference for `app.integrations.twilio`, or one function's section.
    ///
    /// The reference is the product's document with what each function returns added. For a
    /// name it does not know, it says which functions were probably meant.
    ///
    /// Examples:
    ///   twilio-host docs                    the whole reference
    ///   twilio-host docs twilio_send_sms    one function's section
    ///
    /// Exit status: 0, 2 for an unknown function name, 3 when the host failed.
    #[command(verbatim_doc_comment)]
    Docs(docs::DocsArgs),
    /// List the example scripts and configurations (embedded in this binary), or print one.
    ///
    /// Examples:
    ///   twilio-host examples                 the list, with what each does
    ///   twilio-host examples quickstart      print examples/quickstart.lua
    ///   twilio-host run --example quickstart run it
    ///
    /// Exit status: 0, 2 for an unknown name.
    #[command(verbatim_doc_comment)]
    Examples(examples::ExamplesArgs),
    /// Configuration files: `config example` prints a commented one.
    Config(examples::ConfigCommandArgs),
    /// Run the Twilio simulator in the foreground and print its URLs and test credentials.
    ///
    /// The simulator knows two accounts (`default` and `work`) with fixed test credentials, so
    /// `twilio-host config example` works against it. It starts from the same seeded data each
    /// time (deterministic SIDs) and keeps nothing. Stops on Ctrl-C or SIGTERM.
    ///
    /// `--reset` instead deletes the data the built-in simulator of `run`, `serve` and `mcp`
    /// keeps between runs when no credentials are configured.
    ///
    /// Example:
    ///   twilio-host sim            (prints the two `export` lines to paste)
    ///   twilio-host config example > host.toml
    ///   twilio-host run --config host.toml --example multi_account
    ///   twilio-host sim --reset
    #[command(verbatim_doc_comment)]
    Sim(sim::SimArgs),
    /// Show the audit trail: one record per Twilio request (and per refusal) of every run.
    ///
    /// Records live in the state store of the configuration ([state] url: SQLite by default,
    /// Redis when configured), kept for [audit] retention_days (90). A side effect's record is
    /// written before the request is sent: outcome UNKNOWN means the host stopped, or no answer
    /// came, while it was in flight, so Twilio may or may not have acted; reconcile those with
    /// Twilio. Destinations are masked (+1******4567) unless [audit] destinations = "full".
    ///
    /// Examples:
    ///   twilio-host audit --since 1h
    ///   twilio-host audit --config host.toml --tenant acme --json
    ///   twilio-host audit --run 0193a4c2-...   (the run_id of a run report)
    ///
    /// Exit status: 0, 2 for usage or configuration errors, 3 when the store cannot be read.
    #[command(verbatim_doc_comment)]
    Audit(audit::AuditArgs),
    /// Run a plan: the script of `run --plan` (or of a run that needs approval) again, sending
    /// exactly the plan's actions, once.
    ///
    /// Each side effect of the run must equal the plan's next action (function, account and
    /// every argument); the first that differs is refused and nothing is sent after it. The
    /// tenant's policy and quotas apply as to any run. A plan runs at most once, even when two
    /// processes approve it at the same moment (the state store decides).
    ///
    /// Examples:
    ///   twilio-host run --plan --example messaging
    ///   twilio-host approve 5f0c...   (the plan's id)
    ///
    /// Exit status: 0 when every approved action was sent and the script succeeded, 1 when it
    /// stopped at an action that differed (or the script failed), 2 when the plan is unknown,
    /// expired, rejected or already executed (or another usage error), 3 when the host or the
    /// state store failed.
    #[command(verbatim_doc_comment)]
    Approve(plans::PlanArgs),
    /// Reject a pending plan: it never runs. Exit status 2 when it is not pending.
    Reject(plans::PlanArgs),
    /// Print a plan: its state (pending, executing, executed, stopped, rejected, expired),
    /// expiry and actions.
    ShowPlan(plans::PlanArgs),
    /// Validate a configuration: list tenants and accounts, and say which secrets could not be
    /// resolved (never printing a secret).
    ///
    /// Exit status: 0 when the configuration is valid, 2 when anything is wrong (each problem
    /// is printed with the file, the key and the fix).
    Check(check::CheckArgs),
    /// Serve script runs over HTTP for other processes (a sidecar).
    ///
    /// POST /v1/tenants/{tenant}/runs with `Authorization: Bearer <token>` and the JSON body
    /// {"script": "..."} (add "mode": "plan" for plan mode); the answer is {"run_id", "printed",
    /// "value", "error", "requests", "elapsed_ms", "needs_approval", "plan", "execution"}.
    /// POST /v1/tenants/{tenant}/plans/{id}/approve (or /reject) decides a plan, GET
    /// /v1/tenants/{tenant}/plans/{id} shows it, GET /v1/tenants/{tenant}/audit?since=1h reads
    /// the tenant's audit trail, each with the tenant's token.
    /// Each tenant's token is checked against `tenants.NAME.api_token_sha256` in the config
    /// (make the hash with `twilio-host hash-token`). GET /healthz answers `ok`. /mcp is the
    /// MCP server of `twilio-host mcp` over Streamable HTTP, as the tenant of the bearer token.
    ///
    /// Without --config and TWILIO_* variables it serves the built-in simulator as tenant
    /// `default` and prints a random token for it once on stderr.
    ///
    /// The first line on stdout is `listening on http://ADDR` (with the real port when you
    /// pass port 0). Ctrl-C or SIGTERM stops accepting requests and lets running scripts finish.
    ///
    /// Example:
    ///   twilio-host serve --config host.toml --listen 127.0.0.1:8080
    ///   curl -s -H "Authorization: Bearer $TOKEN" -d '{"script": "return 1 + 1"}' \
    ///        http://127.0.0.1:8080/v1/tenants/acme/runs
    ///
    /// Exit status: 0 after a clean shutdown, 2 for usage or configuration errors, 3 when the
    /// address cannot be bound or the server fails.
    #[command(verbatim_doc_comment)]
    Serve(serve::ServeArgs),
    /// Serve the Model Context Protocol on stdin/stdout, for one tenant: an agent's MCP client
    /// launches this and gets four tools, `run_lua`, `twilio_reference`, `approve_plan` and
    /// `reject_plan`, and the reference as resources.
    ///
    /// Accounts come from --config or the TWILIO_* variables as for `run` (never put a secret
    /// in the client's `args`), else the built-in simulator. Logs go to stderr.
    ///
    /// Example (the client's config):
    ///   {"command": "twilio-host", "args": ["mcp", "--config", "/etc/twilio-host.toml"]}
    #[command(verbatim_doc_comment)]
    Mcp(mcp::McpArgs),
    /// Print the SHA-256 of a bearer token read from stdin, for `api_token_sha256`.
    ///
    /// The hex digest goes in `tenants.NAME.api_token_sha256`. Reading stdin keeps the token out
    /// of argv and shell history. Tokens shorter than 32 characters are refused (exit 2).
    ///
    /// Example:
    ///   openssl rand -hex 32 > token.txt
    ///   twilio-host hash-token < token.txt
    #[command(verbatim_doc_comment)]
    HashToken,
    /// Make a strong bearer token: prints it, then the config line with its hash.
    ///
    /// The token is 32 random bytes in hex. Give it to the tenant's client; put the second
    /// line under [tenants.NAME] in the config.
    ///
    /// Example:
    ///   twilio-host gen-token
    ///   (line 1, the token: give it to the client; line 2: api_token_sha256 = "...")
    #[command(verbatim_doc_comment)]
    GenToken,
}

/// Where the accounts come from, shared by the subcommands that run scripts.
#[derive(Debug, clap::Args)]
pub struct ConfigArgs {
    /// Host configuration file (TOML): tenants, accounts, limits. Without it, the TWILIO_*
    /// variables are used, and without those the built-in simulator.
    #[arg(long, value_name = "PATH", env = "TWILIO_HOST_CONFIG")]
    pub config: Option<PathBuf>,
}

/// Host options for a command that runs one script: an instance pool of one, so the process does
/// not reserve address space and tables for runs it will never make (it shortens start-up).
pub fn one_run_options() -> twilio_host::HostOptions {
    twilio_host::HostOptions {
        max_concurrent_runs: 1,
        ..twilio_host::HostOptions::default()
    }
}

/// Runs one subcommand.
pub async fn dispatch(command: Command) -> Result<(), CliError> {
    match command {
        Command::Run(args) => run::run(args).await,
        Command::Docs(args) => docs::docs(args).await,
        Command::Examples(args) => examples::examples(args),
        Command::Config(args) => examples::config(args),
        Command::Sim(args) => sim::sim(args).await,
        Command::Audit(args) => audit::audit(args).await,
        Command::Approve(args) => plans::decide(args, plans::Decision::Approve).await,
        Command::Reject(args) => plans::decide(args, plans::Decision::Reject).await,
        Command::ShowPlan(args) => plans::decide(args, plans::Decision::Show).await,
        Command::Check(args) => check::check(args),
        Command::Serve(args) => serve::serve(args).await,
        Command::Mcp(args) => mcp::mcp(args).await,
        Command::HashToken => token::hash_token(),
        Command::GenToken => token::gen_token(),
    }
}
