//! Accounts, the read-only namespace, help, and the reference's functions and examples.

use super::*;
use crate::reference;
use crate::twilio::spec::{self, Rule};

#[test]
fn named_accounts_route_to_their_sid_host_and_name() {
    let fake = fake_twilio();
    ok(
        r#"app.integrations.twilio.work.twilio_send_sms({to = "+15551234567", from = "+15559876543", body = "hi"})
           app.integrations.twilio.default.twilio_list_calls({limit = 1})
           app.integrations.twilio.work.twilio_lookup_phone({phone_number = "+15551234567"})
           return app.integrations.twilio.work.twilio_get_account().sid"#,
        &fake,
    );
    let requests = fake.requests();
    let seen: Vec<(&str, &str)> = requests
        .iter()
        .map(|r| (r.account.as_str(), r.url.as_str()))
        .collect();
    let work = format!("https://api.work.test/2010-04-01/Accounts/{WORK_SID}");
    assert_eq!(
        seen,
        vec![
            ("work", format!("{work}/Messages.json").as_str()),
            (
                "default",
                format!(
                    "https://api.twilio.com/2010-04-01/Accounts/{DEFAULT_SID}/Calls.json?PageSize=1"
                )
                .as_str()
            ),
            (
                "work",
                "https://lookups.work.test/v2/PhoneNumbers/+15551234567"
            ),
            ("work", format!("{work}.json").as_str()),
        ]
    );
}

#[test]
fn a_single_account_is_the_default_whatever_its_name() {
    let fake = fake_twilio();
    let accounts = vec![on_twilio("personal", WORK_SID)];
    let output = run_with(
        "app.integrations.twilio.twilio_get_account() app.integrations.twilio.default.twilio_get_account()
         return app.integrations.twilio.personal.twilio_get_account().sid",
        accounts,
        &fake,
    );
    assert_eq!(output.outcome, Ok(format!("\"{WORK_SID}\"")));
    assert!(fake.requests().iter().all(|r| r.account == "personal"));
}

#[test]
fn without_a_default_the_error_lists_the_accounts() {
    let fake = fake_twilio();
    let accounts = vec![
        on_twilio("personal", DEFAULT_SID),
        on_twilio("work", WORK_SID),
    ];
    for script in [
        "return app.integrations.twilio.twilio_get_account()",
        "return app.integrations.twilio.default.twilio_get_account()",
    ] {
        let output = run_with(script, accounts.clone(), &fake);
        let failure = output.outcome.unwrap_err();
        assert!(
            failure.message.contains("personal, work"),
            "{}",
            failure.message
        );
        assert_eq!(error_value(&failure)["kind"], "validation");
    }
    let output = run_with(
        "return app.integrations.twilio.twilio_get_account()",
        vec![],
        &fake,
    );
    assert!(
        output
            .outcome
            .unwrap_err()
            .message
            .contains("none is configured")
    );
    assert!(fake.requests().is_empty());
}

#[test]
fn unknown_names_list_what_exists() {
    let failure = fails(
        "return app.integrations.twilio.wrok.twilio_get_account()",
        &fake_twilio(),
    );
    assert!(
        failure.message.starts_with(
            "app.integrations.twilio: no account or function named \"wrok\" (did you mean \"work\"?); accounts: default, work; functions: twilio_send_sms, twilio_get_message"
        ),
        "{}",
        failure.message
    );
    let failure = fails(
        "return app.integrations.twilio.send_sms({})",
        &fake_twilio(),
    );
    assert!(
        failure.message.contains("did you mean \"twilio_send_sms\""),
        "{}",
        failure.message
    );
    let failure = fails(
        "return app.integrations.twilio.work.twilio_sendsms({})",
        &fake_twilio(),
    );
    assert!(failure.message.starts_with("app.integrations.twilio.work: no function named \"twilio_sendsms\" (did you mean \"twilio_send_sms\"?)"));
    let failure = fails("return app.integrations.slack", &fake_twilio());
    assert!(
        failure.message.contains("it has: twilio"),
        "{}",
        failure.message
    );
}

#[test]
fn the_namespace_is_read_only() {
    let result = ok(
        r#"local function refused(f) local ok, err = pcall(f) return not ok and err.kind == "validation" and tostring(err) end
           return {
               refused(function() app.integrations.twilio.twilio_send_sms = print end),
               refused(function() app.integrations.twilio.work.twilio_send_sms = print end),
               refused(function() app.integrations.twilio.newthing = 1 end),
               refused(function() app.integrations.other = {} end),
               refused(function() app.integrations = {} end),
               (pcall(setmetatable, app.integrations.twilio, {})),
               getmetatable(app.integrations.twilio),
               getmetatable(app),
           }"#,
        &fake_twilio(),
    );
    assert_eq!(
        result[0],
        "app.integrations.twilio: cannot assign \"twilio_send_sms\": the namespace is read-only"
    );
    assert!(
        result[1]
            .as_str()
            .unwrap()
            .starts_with("app.integrations.twilio.work: cannot assign")
    );
    assert!(result[2].is_string() && result[3].is_string() && result[4].is_string());
    assert_eq!(result[5], false);
    assert_eq!(result[6], "app.integrations.twilio is read-only");
    assert_eq!(result[7], "app is read-only");
}

#[test]
fn help_serves_the_reference() {
    let result = ok(
        r#"local t = app.integrations.twilio
           local ok, err = pcall(t.help, "twilio_nope")
           return {whole = t.help(), one = t.help("twilio_send_sms"), colon = t:help("twilio_get_call"),
                   work = t.work.help("twilio_make_call"), err = tostring(err),
                   root = tostring(t), account = tostring(t.work)}"#,
        &fake_twilio(),
    );
    assert_eq!(result["whole"], reference::text());
    assert_eq!(
        result["one"],
        reference::section("twilio_send_sms").unwrap()
    );
    assert_eq!(
        result["colon"],
        reference::section("twilio_get_call").unwrap()
    );
    assert_eq!(
        result["work"],
        reference::section("twilio_make_call").unwrap()
    );
    assert!(
        result["err"]
            .as_str()
            .unwrap()
            .contains("no function named \"twilio_nope\"")
    );
    assert!(
        result["err"]
            .as_str()
            .unwrap()
            .contains("twilio_delete_recording")
    );
    let root = result["root"].as_str().unwrap();
    assert!(
        root.contains("app.integrations.twilio.help()") && root.contains("Accounts: default, work"),
        "{root}"
    );
    let account = result["account"].as_str().unwrap();
    assert!(
        account.contains("app.integrations.twilio.work.help()"),
        "{account}"
    );
}

#[test]
fn the_namespace_has_exactly_the_documented_functions() {
    let documented = reference::documented_functions();
    let specified: Vec<&str> = spec::names().collect();
    assert_eq!(documented, specified);
    let script = format!(
        "local names = {{{}}} local out = {{}}
         for _, n in ipairs(names) do
             out[#out + 1] = type(app.integrations.twilio[n]) .. type(app.integrations.twilio.work[n])
         end
         return out",
        documented.iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(", ")
    );
    let result = ok(&script, &fake_twilio());
    assert_eq!(result, json!(vec!["functionfunction"; 15]));
}

/// The reference's parameter table of every function matches its spec: names, order, types and
/// whether each is required.
#[test]
fn the_documented_parameters_are_the_specified_ones() {
    for function in spec::FUNCTIONS {
        let section = reference::section(function.name).unwrap();
        let documented: Vec<(String, String, bool)> = section
            .lines()
            .filter_map(|line| line.strip_prefix("| `"))
            .map(|line| {
                let cells: Vec<&str> = line.split(" | ").collect();
                (
                    cells[0].trim_end_matches('`').to_owned(),
                    cells[1].to_owned(),
                    cells[2] == "yes",
                )
            })
            .collect();
        let specified: Vec<(String, String, bool)> = function
            .params
            .iter()
            .map(|p| {
                let kind = if matches!(p.rule, Rule::Count { .. }) {
                    "integer"
                } else {
                    "string"
                };
                (p.name.to_owned(), kind.to_owned(), p.required)
            })
            .collect();
        assert_eq!(documented, specified, "{}", function.name);
    }
}

/// Every example of the reference runs verbatim: against Twilio-shaped responses, or, for the
/// four with placeholder SIDs, into a validation error that says so.
#[test]
fn every_example_runs_verbatim() {
    for name in reference::documented_functions() {
        let section = reference::section(name).unwrap();
        let example = section
            .split("```lua\n")
            .nth(1)
            .and_then(|rest| rest.split("```").next())
            .unwrap_or_else(|| panic!("{name} has no example"));
        let fake = fake_twilio();
        let output = run_with(example, two_accounts(), &fake);
        if example.contains("xxxxxxxx") {
            let failure = output.outcome.unwrap_err();
            let error = error_value(&failure);
            assert_eq!(error["kind"], "validation", "{name}");
            assert!(
                failure.message.contains("documentation's placeholder"),
                "{}",
                failure.message
            );
            assert!(
                failure.message.contains("use a `sid` from twilio_list_"),
                "{}",
                failure.message
            );
            assert!(fake.requests().is_empty());
            let real = example.replace(&"x".repeat(32), HEX);
            let output = run_with(&real, two_accounts(), &fake);
            assert!(output.outcome.is_ok(), "{name}: {:?}", output.outcome);
            assert!(!output.printed.is_empty());
        } else {
            assert!(
                output.outcome.is_ok(),
                "{name}: {:?}\n{example}",
                output.outcome
            );
            assert!(!output.printed.is_empty(), "{name}");
            assert_eq!(fake.requests().len(), 1, "{name}");
        }
    }
}

#[test]
fn bad_account_names_are_refused_at_install() {
    for name in [
        "twilio_x",
        "help",
        "accounts",
        "has_account",
        "1st",
        "my-account",
        "",
    ] {
        let accounts = vec![on_twilio(name, DEFAULT_SID)];
        let output = run_with("return 1", accounts, &fake_twilio());
        assert!(output.outcome.is_err(), "{name}");
    }
    let twice = vec![on_twilio("a", DEFAULT_SID), on_twilio("a", WORK_SID)];
    assert!(run_with("return 1", twice, &fake_twilio()).outcome.is_err());
}

#[test]
fn an_account_sid_that_could_change_the_path_is_refused() {
    let fake = fake_twilio();
    let accounts = vec![account(
        "default",
        "AC1/../../x",
        "https://api.twilio.com",
        "https://lookups.twilio.com",
    )];
    let output = run_with(
        "return app.integrations.twilio.twilio_list_calls()",
        accounts,
        &fake,
    );
    let failure = output.outcome.unwrap_err();
    assert_eq!(error_value(&failure)["field"], "account");
    assert!(fake.requests().is_empty());
}

#[test]
fn pairs_lists_what_a_script_can_reach_by_name() {
    let fake = fake_twilio();
    let listed = ok(
        r#"local function names(t)
               local found = {}
               for name, value in pairs(t) do found[#found + 1] = name .. ":" .. type(value) end
               return found
           end
           local twilio = app.integrations.twilio
           return {root = names(twilio), work = names(twilio.work),
                   app = names(app), integrations = names(app.integrations)}"#,
        &fake,
    );
    let functions: Vec<String> = spec::names().map(|n| format!("{n}:function")).collect();
    let mut root = functions.clone();
    root.extend(
        [
            "help:function",
            "accounts:function",
            "has_account:function",
            "default:table",
            "work:table",
        ]
        .map(String::from),
    );
    assert_eq!(listed["root"], serde_json::json!(root));
    let mut work = functions;
    work.push("help:function".into());
    assert_eq!(listed["work"], serde_json::json!(work));
    assert_eq!(listed["app"], serde_json::json!(["integrations:table"]));
    assert_eq!(listed["integrations"], serde_json::json!(["twilio:table"]));
    assert!(fake.requests().is_empty(), "listing sends nothing");
}

#[test]
fn without_a_default_account_pairs_lists_help_and_the_accounts() {
    let fake = fake_twilio();
    let accounts = vec![
        on_twilio("sales", DEFAULT_SID),
        on_twilio("support", WORK_SID),
    ];
    let output = run_with(
        "local found = {} for name in pairs(app.integrations.twilio) do found[#found + 1] = name end
         return table.concat(found, ' ')",
        accounts,
        &fake,
    );
    assert_eq!(
        output.outcome,
        Ok("\"help accounts has_account sales support\"".to_string())
    );
}

#[test]
fn accounts_lists_the_accounts_and_has_account_checks_one_without_raising() {
    let fake = fake_twilio();
    let found = ok(
        r#"local twilio = app.integrations.twilio
           local ok, err = pcall(function() return twilio.personal end)
           return {names = twilio.accounts(), colon = twilio:accounts(),
                   work = twilio.has_account("work"), default = twilio.has_account("default"),
                   personal = twilio.has_account("personal"), method = twilio:has_account("work"),
                   unknown_raises = not ok and err.field == "personal"}"#,
        &fake,
    );
    assert_eq!(found["names"], serde_json::json!(["default", "work"]));
    assert_eq!(found["colon"], found["names"]);
    for (key, expected) in [
        ("work", true),
        ("default", true),
        ("personal", false),
        ("method", true),
        ("unknown_raises", true),
    ] {
        assert_eq!(found[key], expected, "{key}");
    }
    let failure = fails("return app.integrations.twilio.has_account(7)", &fake);
    assert!(
        failure
            .message
            .contains("expects an account name like \"work\", got an integer"),
        "{}",
        failure.message
    );
    // One account named otherwise is the default too, so `default` exists.
    let single = run_with(
        "return app.integrations.twilio.has_account('default')",
        vec![on_twilio("personal", WORK_SID)],
        &fake,
    );
    assert_eq!(single.outcome, Ok("true".to_string()));
    let none = run_with(
        "local t = app.integrations.twilio return {n = #t.accounts(), default = t.has_account('default')}",
        vec![
            on_twilio("sales", DEFAULT_SID),
            on_twilio("support", WORK_SID),
        ],
        &fake,
    );
    let none: Json = serde_json::from_str(&none.outcome.unwrap()).unwrap();
    assert_eq!(none, serde_json::json!({"n": 2, "default": false}));
}

#[test]
fn tostring_of_a_function_gives_its_signature_and_what_it_does() {
    let fake = fake_twilio();
    let described = ok(
        r#"local twilio = app.integrations.twilio
           return {sms = tostring(twilio.twilio_send_sms), call = tostring(twilio.work.twilio_get_call),
                   other = tostring(print), mine = tostring(function() end)}"#,
        &fake,
    );
    assert_eq!(
        described["sms"],
        "twilio_send_sms({to, from, body, media_url?, status_callback?}): Send an SMS or MMS message via Twilio. help(\"twilio_send_sms\") has the rest."
    );
    let call = described["call"].as_str().unwrap();
    assert!(
        call.starts_with("twilio_get_call({call_sid}): Retrieve a Twilio call by its SID. "),
        "{call}"
    );
    for other in ["other", "mine"] {
        let text = described[other].as_str().unwrap();
        assert!(text.starts_with("function: 0x"), "{other}: {text}");
    }
}

/// The reference's additions describe what the rules accept, so docs and behaviour agree.
#[test]
fn the_additions_name_every_value_the_rules_accept() {
    let lookup = reference::section("twilio_lookup_phone").unwrap();
    for package in spec::LOOKUP_PACKAGES {
        assert!(lookup.contains(&format!("`{package}`")), "{package}");
    }
    let trigger = reference::section("twilio_create_usage_trigger").unwrap();
    let recurring = spec::find("twilio_create_usage_trigger")
        .and_then(|spec| spec.param("recurring"))
        .unwrap();
    let Rule::OneOf(values) = recurring.rule else {
        panic!("recurring is an enum");
    };
    for value in values {
        assert!(trigger.contains(&format!("`\"{value}\"`")), "{value}");
    }
    let call = spec::find("twilio_make_call").unwrap();
    assert_eq!(
        call.cross,
        [spec::Cross::ExactlyOne("url", "twiml")],
        "the note below describes this rule"
    );
    assert!(
        reference::section("twilio_make_call")
            .unwrap()
            .contains("Exactly one of `url` and `twiml` is required")
    );
}
