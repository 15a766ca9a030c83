//! Shared helpers for the CLI tests: the binary with a clean environment (a developer's real
//! Twilio credentials are never used), an in-process simulator, config files and a `serve`
//! child process.

// Each test file uses a different subset of these helpers.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command as StdCommand, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use twilio_sim::{SimAccount, SimConfig, Simulator};

pub mod mcp_client;
pub mod redis_server;

/// Variables that would point the binary at real Twilio or another configuration.
pub const CLEARED_VARS: &[&str] = &[
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "TWILIO_API_KEY",
    "TWILIO_API_SECRET",
    "TWILIO_EDGE",
    "TWILIO_REGION",
    "TWILIO_HOST_CONFIG",
    "TWILIO_API_BASE_URL",
    "TWILIO_LOOKUPS_BASE_URL",
    "TWILIO_SIM_DEFAULT_AUTH_TOKEN",
    "TWILIO_SIM_WORK_API_SECRET",
    "RUST_LOG",
];

/// The workspace root, where `examples/` and `docs/` are.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ is inside the workspace")
        .to_path_buf()
}

/// A state directory no other command uses (under `target/tmp`, emptied when the test binary
/// starts), so the built-in simulator's kept data and the policy's counts never leak between
/// tests, nor from a developer's own runs into a test.
pub fn fresh_state_dir() -> PathBuf {
    static BASE: OnceLock<PathBuf> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let base = BASE.get_or_init(|| {
        let base = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("state")
            .join(env!("CARGO_CRATE_NAME"));
        let _ = std::fs::remove_dir_all(&base);
        base
    });
    base.join(NEXT.fetch_add(1, Ordering::Relaxed).to_string())
}

/// `twilio-host` for assert_cmd, run from the workspace root with no TWILIO_* variables and a
/// [`fresh_state_dir`].
pub fn twilio_host() -> assert_cmd::Command {
    let mut command =
        assert_cmd::Command::cargo_bin("twilio-host").expect("the twilio-host binary is built");
    command.current_dir(workspace_root());
    for var in CLEARED_VARS {
        command.env_remove(var);
    }
    command.env("TWILIO_HOST_STATE_DIR", fresh_state_dir());
    command
}

/// `twilio-host` as a plain process (for long-running subcommands), with the same clean
/// environment as [`twilio_host`].
pub fn twilio_host_process() -> StdCommand {
    let mut command = StdCommand::new(env!("CARGO_BIN_EXE_twilio-host"));
    command.current_dir(workspace_root());
    for var in CLEARED_VARS {
        command.env_remove(var);
    }
    command.env("TWILIO_HOST_STATE_DIR", fresh_state_dir());
    command
}

/// An in-process simulator with its own runtime, for tests that drive the binary.
pub struct TestSim {
    /// The simulator (dropped before its runtime).
    pub sim: Simulator,
    runtime: tokio::runtime::Runtime,
}

impl TestSim {
    /// A simulator on free ports knowing `accounts`.
    pub fn start(accounts: Vec<SimAccount>) -> TestSim {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let sim = runtime
            .block_on(Simulator::start(SimConfig {
                accounts,
                ..SimConfig::default()
            }))
            .expect("the simulator starts");
        TestSim { sim, runtime }
    }

    /// The `[endpoints]` section pointing at this simulator.
    pub fn endpoints_toml(&self) -> String {
        format!(
            "[endpoints]\napi = \"{}\"\nlookups = \"{}\"\n",
            self.sim.api_url(),
            self.sim.lookups_url()
        )
    }

    /// Runs `future` on the simulator's runtime (for HTTP clients in tests).
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// Requests the simulator received (admin requests excluded).
    pub fn request_count(&self) -> usize {
        self.sim.requests().len()
    }
}

/// A temporary directory holding a config file.
pub struct ConfigFile {
    /// The directory (removed on drop).
    pub dir: tempfile::TempDir,
    /// The config file inside it.
    pub path: PathBuf,
}

/// Writes `text` to `host.toml` in a fresh temporary directory.
pub fn write_config(text: &str) -> ConfigFile {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("host.toml");
    std::fs::write(&path, text).expect("the config file is written");
    ConfigFile { dir, path }
}

/// A `[tenants.NAME.accounts.default]` section using `account`'s auth token from the
/// environment variable `token_var`, with optional extra tenant-level lines.
pub fn tenant_toml(name: &str, account: &SimAccount, token_var: &str, extra: &str) -> String {
    format!(
        "[tenants.{name}]\n{extra}\n[tenants.{name}.accounts.default]\naccount_sid = \"{}\"\nauth_token_env = \"{token_var}\"\n",
        account.account_sid
    )
}

/// A running `twilio-host serve` child, killed on drop.
pub struct ServeProcess {
    /// The child process.
    pub child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// The child's stderr lines so far (a thread keeps reading it, so the pipe never fills
    /// up or closes under the child).
    pub stderr: Arc<Mutex<Vec<String>>>,
}

impl ServeProcess {
    /// Starts `twilio-host serve --listen 127.0.0.1:0` with `args` and `envs`, and waits for
    /// the `listening on` line.
    pub fn start(args: &[&str], envs: &[(&str, &str)]) -> ServeProcess {
        let mut command = twilio_host_process();
        command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("twilio-host serve starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut first = String::new();
        BufReader::new(stdout)
            .read_line(&mut first)
            .expect("reading the first line of stdout");
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let lines = Arc::clone(&stderr);
        let pipe = child.stderr.take().expect("piped stderr");
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line);
            }
        });
        let Some(base_url) = first.trim().strip_prefix("listening on ") else {
            let _ = child.wait();
            std::thread::sleep(Duration::from_millis(100));
            panic!(
                "serve did not start: stdout {first:?}, stderr {:?}",
                stderr.lock().unwrap()
            );
        };
        ServeProcess {
            child,
            base_url: base_url.to_string(),
            stderr,
        }
    }

    /// The first stderr line containing `needle`, waiting up to a minute for it.
    pub fn stderr_line(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let lines = self.stderr.lock().unwrap();
            if let Some(line) = lines.iter().find(|line| line.contains(needle)) {
                return line.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no {needle:?} on stderr: {lines:?}"
            );
            drop(lines);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The runs URL of `tenant`.
    pub fn runs_url(&self, tenant: &str) -> String {
        format!("{}/v1/tenants/{tenant}/runs", self.base_url)
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
