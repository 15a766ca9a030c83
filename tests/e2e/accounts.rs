//! Several Twilio accounts per tenant: `.work.` calls go out with the work account's SID in the
//! path and its credentials, `.default.` and the bare namespace with the default account's; an
//! unknown account name is refused with the configured names and sends nothing; without a
//! `default` account the bare namespace names the accounts; and an account that authenticates
//! with an API key is seen by Twilio as that key (`SK...`), with its own SID still in the path.

use twilio_e2e::twilio_host::config::ApiKeySid;
use twilio_e2e::twilio_host::credential::Credential;
use twilio_e2e::twilio_host::secret::Secret;
use twilio_e2e::twilio_sim::SimAccount;
use twilio_e2e::{TenantSpec, TestHost, error, header, validation_error, value};

/// Calls (after the namespace) and the path each must reach; `{A}` is the account's base path.
const CALLS: [(&str, &str, &str); 4] = [
    ("twilio_get_account({})", "GET", "{A}.json"),
    (
        "twilio_send_sms({to = '+15551234567', from = '+15559876543', body = 'hi'})",
        "POST",
        "{A}/Messages.json",
    ),
    (
        "twilio_list_messages({limit = 1})",
        "GET",
        "{A}/Messages.json",
    ),
    (
        "twilio_lookup_phone({phone_number = '+15551234567'})",
        "GET",
        "/v2/PhoneNumbers/+15551234567",
    ),
];

/// Runs `namespace.call` for each of [`CALLS`]: each must make one successful request to the
/// path of `account_sid`, authenticated as `auth_user`, and the account fetched must be
/// `account_sid`'s, without its token.
async fn run_calls(host: &TestHost, namespace: &str, account_sid: &str, auth_user: &str) {
    for (call, method, path) in CALLS {
        let (report, requests) = host
            .run_recorded(&format!("return {namespace}.{call}"))
            .await;
        value(&report);
        let [request] = requests.as_slice() else {
            panic!("{namespace}.{call}: {requests:#?}")
        };
        let expected = path.replace("{A}", &format!("/2010-04-01/Accounts/{account_sid}"));
        assert_eq!(
            (request.method.as_str(), request.path.as_str()),
            (method, expected.as_str())
        );
        assert!((200..300).contains(&request.status), "{request:#?}");
        assert_eq!(
            request.auth_user.as_deref(),
            Some(auth_user),
            "{namespace}: {request:#?}"
        );
        assert!(
            header(request, "x-twilio-account").is_none(),
            "{request:#?}"
        );
    }
    let report = host
        .run(&format!(
            "local a = {namespace}.twilio_get_account({{}}) return {{a.sid, a.auth_token == nil}}"
        ))
        .await;
    assert_eq!(value(&report), &serde_json::json!([account_sid, true]));
}

async fn two_account_host() -> TestHost {
    TestHost::with_tenants(vec![TenantSpec::new("default").accounts(vec![
        ("default", SimAccount::test_default()),
        ("work", SimAccount::new("work")),
    ])])
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn each_namespace_uses_its_accounts_path_and_credentials() {
    let host = two_account_host().await;
    let default = SimAccount::test_default();
    let work = SimAccount::new("work");
    assert_ne!(default.account_sid, work.account_sid);
    assert_ne!(default.auth_token, work.auth_token);
    for (namespace, account) in [
        ("app.integrations.twilio", &default),
        ("app.integrations.twilio.default", &default),
        ("app.integrations.twilio.work", &work),
    ] {
        let sid = &account.account_sid;
        run_calls(&host, namespace, sid, sid).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn each_account_sees_only_its_own_resources() {
    let host = two_account_host().await;
    let default_message = host.seeded().message_sids[0].clone();
    let script = |namespace: &str| {
        format!(
            r#"local ok, err = pcall(app.integrations.twilio.{namespace}twilio_get_message, {{message_sid = "{default_message}"}})
               return ok and "found" or err.code"#
        )
    };
    assert_eq!(value(&host.run(&script("default.")).await), "found");
    assert_eq!(value(&host.run(&script("")).await), "found");
    assert_eq!(value(&host.run(&script("work.")).await), 20404);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_account_is_refused_with_the_configured_names() {
    let host = two_account_host().await;
    for (name, hint) in [("personal", ""), ("wrok", r#" (did you mean "work"?)"#)] {
        let (report, requests) = host
            .run_recorded(&format!(
                "return app.integrations.twilio.{name}.twilio_get_account({{}})"
            ))
            .await;
        let message = validation_error(&report, "app.integrations.twilio", name);
        let expected = format!(
            "app.integrations.twilio: no account or function named \"{name}\"{hint}; accounts: default, work;"
        );
        assert!(message.starts_with(&expected), "{message}");
        assert!(requests.is_empty(), "{requests:#?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_default_account_the_bare_namespace_names_the_accounts() {
    let work = SimAccount::new("work");
    let personal = SimAccount::new("personal");
    let host = TestHost::with_tenants(vec![
        TenantSpec::new("default")
            .accounts(vec![("work", work.clone()), ("personal", personal.clone())]),
    ])
    .await;
    for namespace in ["app.integrations.twilio", "app.integrations.twilio.default"] {
        let (report, requests) = host
            .run_recorded(&format!("return {namespace}.twilio_get_account({{}})"))
            .await;
        let message = &error(&report).message;
        assert!(
            message.contains(r#"there is no account named "default" and 2 accounts are configured (work, personal)"#),
            "{message}"
        );
        assert!(requests.is_empty(), "{requests:#?}");
    }
    for (namespace, account) in [("work", &work), ("personal", &personal)] {
        let namespace = format!("app.integrations.twilio.{namespace}");
        let sid = &account.account_sid;
        run_calls(&host, &namespace, sid, sid).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn api_key_credentials_authenticate_as_the_key() {
    let account = SimAccount::test_default();
    let key = account.api_keys[0].clone();
    let credential = Credential::ApiKey {
        sid: ApiKeySid::parse(&key.sid).unwrap(),
        secret: Secret::new(key.secret.clone()),
    };
    let host = TestHost::with_credential(account.clone(), credential).await;
    for namespace in ["app.integrations.twilio", "app.integrations.twilio.default"] {
        run_calls(&host, namespace, &account.account_sid, &key.sid).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_agent_can_list_the_namespace_and_read_a_function_signature() {
    let host = TestHost::start().await;
    let report = host
        .run(
            r#"local names = {}
               for name in pairs(app.integrations.twilio) do names[#names + 1] = name end
               return {names = names, about = tostring(app.integrations.twilio.twilio_list_calls)}"#,
        )
        .await;
    let listed = value(&report);
    let names: Vec<&str> = listed["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|name| name.as_str().unwrap())
        .collect();
    assert_eq!(
        names.len(),
        19,
        "15 functions, help, accounts, has_account, the default account: {names:?}"
    );
    assert_eq!(names[0], "twilio_send_sms");
    assert_eq!(&names[15..], ["help", "accounts", "has_account", "default"]);
    let about = listed["about"].as_str().unwrap();
    assert!(about.starts_with("twilio_list_calls({"), "{about}");
    assert!(about.contains("help(\"twilio_list_calls\")"), "{about}");
    assert_eq!(report.requests, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_agent_can_check_for_an_account_and_read_what_a_function_returns() {
    let host = two_account_host().await;
    let report = host
        .run(
            r#"local twilio = app.integrations.twilio
               local names = {}
               for name in pairs(twilio) do names[#names + 1] = name end
               return {accounts = twilio.accounts(), work = twilio.has_account("work"),
                       personal = twilio.has_account("personal"), listed = names,
                       numbers = twilio.help("twilio_list_phone_numbers"),
                       message = twilio.help("twilio_get_message")}"#,
        )
        .await;
    let found = value(&report);
    assert_eq!(found["accounts"], serde_json::json!(["default", "work"]));
    assert_eq!(found["work"], true);
    assert_eq!(found["personal"], false);
    let listed = found["listed"].as_array().unwrap();
    assert_eq!(listed.len(), 20, "{listed:?}");
    assert_eq!(listed[18..], ["default", "work"]);
    let numbers = found["numbers"].as_str().unwrap();
    assert!(
        numbers.contains("### Returns (added by this integration)"),
        "{numbers}"
    );
    for field in ["capabilities.voice", "capabilities.sms", "capabilities.mms"] {
        assert!(numbers.contains(field), "{field} in {numbers}");
    }
    let message = found["message"].as_str().unwrap();
    assert!(message.contains("may be nil: `date_sent`"), "{message}");
    assert_eq!(report.requests, 0);
}
