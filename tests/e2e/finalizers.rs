//! Callbacks from finalizers, in the real component (where a panic aborts the plugin). A
//! `__gc` finalizer of a global runs after the script has returned, while the Lua state closes:
//! whatever Rust callback it calls (`print`, `help`, the namespaces' `tostring`, each of the 15
//! functions) does nothing (output dropped, nothing sent) and the run keeps its result. A
//! `__close` handler runs as the script leaves the variable's scope, so it is part of the
//! script and its calls work.

use serde_json::json;
use twilio_e2e::{TestHost, value};

use super::api_requests::{CASES, fill};

/// Callbacks other than the 15 functions, and what each prints when called in a script.
const OTHER_CALLBACKS: &[&str] = &[
    "print('late', 1)",
    "print(app.integrations.twilio.help())",
    "print(app.integrations.twilio.help('twilio_send_sms'))",
    "print(app.integrations.twilio.default.help())",
    "print(tostring(app.integrations.twilio))",
    "print(tostring(app.integrations.twilio.default))",
];

/// Every callback as Lua code: the others, then a call of each of the 15 functions.
fn every_callback(host: &TestHost) -> Vec<String> {
    let (account, ids) = (host.account_sid(), host.seeded());
    let functions = CASES.iter().map(|case| {
        format!(
            "app.integrations.twilio.{}",
            fill(case.call, &account, &ids)
        )
    });
    OTHER_CALLBACKS
        .iter()
        .map(|call| call.to_string())
        .chain(functions)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_globals_finalizer_after_the_script_does_nothing_and_the_run_keeps_its_result() {
    let host = TestHost::start().await;
    let unknown_name = "local x = app.integrations.twilio.no_such_thing".to_string();
    for call in every_callback(&host).into_iter().chain([unknown_name]) {
        let script = format!(
            "keep = setmetatable({{}}, {{__gc = function() {call} end}})\nprint('ran')\nreturn {{done = true}}"
        );
        let (report, requests) = host.run_recorded(&script).await;
        assert_eq!(value(&report), &json!({"done": true}), "{call}: {report:?}");
        assert_eq!(
            report.printed, "ran\n",
            "{call}: output after the end is dropped"
        );
        assert!(requests.is_empty(), "{call}: nothing sent: {requests:#?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_finalizer_that_would_never_end_does_not_hold_up_the_run() {
    let host = TestHost::start().await;
    for body in [
        "while true do end",
        "local t = {} while true do t[#t + 1] = {} end",
    ] {
        let script =
            format!("keep = setmetatable({{}}, {{__gc = function() {body} end}})\nreturn 7");
        let report = host.run(&script).await;
        assert_eq!(value(&report), &json!(7), "{body}: {report:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_close_handler_is_part_of_the_script() {
    let host = TestHost::start().await;
    for call in every_callback(&host) {
        let script = format!(
            "do local guard <close> = setmetatable({{}}, {{__close = function() {call} end}}) end\nreturn 1"
        );
        let (report, requests) = host.run_recorded(&script).await;
        assert_eq!(value(&report), &json!(1), "{call}: {report:?}");
        let is_function = !call.starts_with("print(");
        assert_eq!(
            requests.len(),
            usize::from(is_function),
            "{call}: {requests:#?}"
        );
        assert_eq!(
            report.printed.is_empty(),
            is_function,
            "{call}: {}",
            report.printed
        );
    }
}
