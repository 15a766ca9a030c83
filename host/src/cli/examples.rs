//! `twilio-host examples` and `twilio-host config example`: the files of `examples/`, embedded
//! in the binary so that what `--help` points to works from any directory.

use super::CliError;

/// One embedded file of `examples/`.
pub struct Example {
    /// The file name, e.g. `quickstart.lua`.
    pub file: &'static str,
    /// The contents.
    pub text: &'static str,
}

macro_rules! embedded {
    ($($file:literal),* $(,)?) => {
        &[$(Example {
            file: $file,
            text: include_str!(concat!("../../../examples/", $file)),
        }),*]
    };
}

/// Every file of `examples/`, scripts first (a test keeps this list equal to the directory).
pub const EXAMPLES: &[Example] = embedded![
    "quickstart.lua",
    "messaging.lua",
    "calls.lua",
    "whatsapp.lua",
    "numbers_and_lookup.lua",
    "usage.lua",
    "account_and_recordings.lua",
    "error_handling.lua",
    "multi_account.lua",
    "host.toml",
    "multi-account.toml",
];

/// The commented sample configuration `config example` prints.
const SAMPLE_CONFIG: &str = "host.toml";

/// Arguments of `examples`.
#[derive(Debug, clap::Args)]
pub struct ExamplesArgs {
    /// An example to print, e.g. `quickstart` (the `.lua` may be left out); without it, the list.
    pub name: Option<String>,
}

/// Arguments of `config`.
#[derive(Debug, clap::Args)]
pub struct ConfigCommandArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: ConfigCommand,
}

/// The subcommands of `config`.
#[derive(Debug, clap::Subcommand)]
pub enum ConfigCommand {
    /// Print a commented configuration with every section and the defaults written out. As it
    /// is, it uses the simulator of `twilio-host sim`; `check` accepts it once the two
    /// variables `twilio-host sim` prints are exported.
    ///
    /// Example:
    ///   twilio-host config example > host.toml
    ///   twilio-host check --config host.toml
    #[command(verbatim_doc_comment)]
    Example,
}

/// The example called `name` (`quickstart`, `quickstart.lua` or `host.toml`), or a usage error
/// listing them.
pub fn find(name: &str) -> Result<&'static Example, CliError> {
    EXAMPLES
        .iter()
        .find(|example| example.file == name || example.file.strip_suffix(".lua") == Some(name))
        .ok_or_else(|| {
            CliError::Usage(format!(
                "no example named {name:?}; the examples: {}",
                EXAMPLES
                    .iter()
                    .map(|example| example.file)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
}

/// Lists the examples with what each does, or prints one.
pub fn examples(args: ExamplesArgs) -> Result<(), CliError> {
    if let Some(name) = args.name {
        print!("{}", find(&name)?.text);
        return Ok(());
    }
    let width = EXAMPLES.iter().map(|e| e.file.len()).max().unwrap_or(0);
    for example in EXAMPLES {
        println!("  {:width$}  {}", example.file, summary(example.text));
    }
    println!(
        "\ntwilio-host examples NAME prints one; twilio-host run --example NAME runs a script \
         (quickstart, ...); twilio-host config example prints host.toml."
    );
    Ok(())
}

/// Prints the sample configuration.
pub fn config(args: ConfigCommandArgs) -> Result<(), CliError> {
    match args.command {
        ConfigCommand::Example => {
            print!("{}", find(SAMPLE_CONFIG)?.text);
            Ok(())
        }
    }
}

/// The first sentence of a file's leading comment (`-- ` or `# ` lines).
fn summary(text: &str) -> String {
    let comment: Vec<&str> = text
        .lines()
        .map_while(|line| line.strip_prefix("-- ").or_else(|| line.strip_prefix("# ")))
        .collect();
    let joined = comment.join(" ");
    match joined.find(". ") {
        Some(end) => joined[..=end].to_string(),
        None => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_of_the_examples_directory_is_embedded() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        on_disk.sort();
        let mut embedded: Vec<String> = EXAMPLES.iter().map(|e| e.file.to_string()).collect();
        embedded.sort();
        assert_eq!(embedded, on_disk);
    }

    #[test]
    fn names_with_or_without_the_extension_find_an_example() {
        assert_eq!(find("quickstart").unwrap().file, "quickstart.lua");
        assert_eq!(find("host.toml").unwrap().file, "host.toml");
        assert!(find("nope").is_err());
    }

    #[test]
    fn the_summary_is_the_first_sentence_of_the_comment() {
        assert_eq!(
            summary("-- Send a text. More here\n-- and here.\nlocal x = 1\n"),
            "Send a text."
        );
    }
}
