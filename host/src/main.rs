//! `twilio-host`: run Lua scripts that use Twilio inside the sandboxed plugin.

mod cli;

use std::process::ExitCode;

use clap::Parser;

use cli::CliError;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    cli::logging::init(args.verbose, args.log_format);
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| CliError::host("cannot start the async runtime", error))
        .and_then(|runtime| runtime.block_on(cli::dispatch(args.command)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{error}");
            ExitCode::from(error.exit_code())
        }
    }
}
