//! Accounts, auth, calls, phone numbers, recordings and usage over real HTTP.

mod common;

use common::*;
use serde_json::Value;
use twilio_sim::{SimAccount, SimConfig, Simulator};

#[tokio::test]
async fn auth_with_token_api_key_and_failures() {
    let other = SimAccount::new("other");
    let sim = Simulator::start(SimConfig {
        accounts: vec![SimAccount::test_default(), other.clone()],
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let account = sim.accounts()[0].clone();
    let url = format!("{}{}.json", sim.api_url(), base(&sim));

    let ok = send("GET", &url, creds(&account), &[]).await.unwrap();
    assert_eq!(ok.status, 200);
    let body = ok.json();
    assert_eq!(
        keys(&body),
        [
            "auth_token",
            "date_created",
            "date_updated",
            "friendly_name",
            "owner_account_sid",
            "sid",
            "status",
            "subresource_uris",
            "type",
            "uri"
        ]
    );
    assert_eq!(body["status"], "active");
    assert_eq!(body["type"], "Full");
    assert_eq!(body["friendly_name"], "Twilio Simulator Test Account");

    let key = &account.api_keys[0];
    let with_key = send("GET", &url, Some((&key.sid, &key.secret)), &[])
        .await
        .unwrap();
    assert_eq!(with_key.status, 200);
    assert_eq!(
        sim.requests().last().unwrap().auth_user.as_deref(),
        Some(key.sid.as_str())
    );

    let expected = serde_json::json!({"code": 20003, "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401});
    for auth in [
        None,
        Some((account.account_sid.as_str(), "wrong")),
        creds(&other),
    ] {
        let denied = send("GET", &url, auth, &[]).await.unwrap();
        assert_eq!(denied.status, 401);
        assert_eq!(denied.json(), expected);
    }
    assert_eq!(sim.requests().last().unwrap().status, 401);
}

#[tokio::test]
async fn unknown_paths_are_twilio_404s() {
    let sim = start().await;
    let base = base(&sim);
    for path in [
        "/nope",
        "/2010-04-01/Nope.json",
        &format!("{base}/Messages"),
        &format!("{base}/Nope.json"),
    ] {
        assert_error(&get(&sim, path).await, 404, 20404);
    }
    let lookup_on_api = get(&sim, "/v2/PhoneNumbers/+15551234567").await;
    assert_error(&lookup_on_api, 404, 20404);
}

#[tokio::test]
async fn calls_create_fetch_and_list() {
    let sim = start().await;
    let path = format!("{}/Calls.json", base(&sim));
    let created = post(
        &sim,
        &path,
        &[
            ("To", "+15551234567"),
            ("From", "+15559876543"),
            (
                "Twiml",
                "<Response><Say>Hello from Twilio!</Say></Response>",
            ),
        ],
    )
    .await;
    assert_eq!(created.status, 201);
    let call = created.json();
    assert_eq!(keys(&call).len(), 26);
    assert_eq!(call["status"], "queued");
    assert_eq!(call["direction"], "outbound-api");
    for field in ["start_time", "end_time", "duration", "price"] {
        assert_eq!(call[field], Value::Null, "{field}");
    }
    let sid = call["sid"].as_str().unwrap();
    assert_eq!(
        get(&sim, &format!("{}/Calls/{sid}.json", base(&sim)))
            .await
            .json(),
        call
    );

    let no_twiml = post(
        &sim,
        &path,
        &[("To", "+15551234567"), ("From", "+15559876543")],
    )
    .await;
    assert_error(&no_twiml, 400, 21205);
    let long = "x".repeat(4001);
    let too_long = post(
        &sim,
        &path,
        &[
            ("To", "+15551234567"),
            ("From", "+15559876543"),
            ("Twiml", &long),
        ],
    )
    .await;
    assert_error(&too_long, 400, 20001);
    for (from, to, code) in [
        ("+15005550006", "+15005550001", 21217),
        ("+15005550001", "+15551234567", 21212),
        ("+15550000000", "+15551234567", 21210),
    ] {
        let resp = post(
            &sim,
            &path,
            &[
                ("To", to),
                ("From", from),
                ("Url", "https://example.com/twiml"),
            ],
        )
        .await;
        assert_error(&resp, 400, code);
    }

    let completed = get(&sim, &format!("{path}?Status=completed")).await.json();
    let calls = completed["calls"].as_array().unwrap();
    assert!(calls.len() >= 10);
    assert!(
        calls
            .iter()
            .all(|c| c["status"] == "completed" && c["duration"].is_string())
    );
}

#[tokio::test]
async fn phone_numbers_list_and_fetch() {
    let sim = start().await;
    let list = get(&sim, &format!("{}/IncomingPhoneNumbers.json", base(&sim)))
        .await
        .json();
    let numbers = list["incoming_phone_numbers"].as_array().unwrap();
    let main = numbers
        .iter()
        .find(|n| n["phone_number"] == "+15559876543")
        .expect("main number");
    assert_eq!(
        main["capabilities"],
        serde_json::json!({"voice": true, "sms": true, "mms": true, "fax": false})
    );
    let sid = main["sid"].as_str().unwrap();
    let seeded = sim.state().seeded(&sim.accounts()[0].account_sid).unwrap();
    assert_eq!(seeded.phone_number_sids[0], sid);
    let fetched = get(
        &sim,
        &format!("{}/IncomingPhoneNumbers/{sid}.json", base(&sim)),
    )
    .await
    .json();
    assert_eq!(keys(&fetched).len(), 35);
    assert!(fetched.get("subresource_uris").is_none());
    assert_eq!(fetched["sms_url"], "");
}

#[tokio::test]
async fn recordings_list_and_delete() {
    let sim = start().await;
    let base = base(&sim);
    let list = get(&sim, &format!("{base}/Recordings.json")).await.json();
    let recordings = list["recordings"].as_array().unwrap();
    assert_eq!(recordings.len(), 12);
    let first = &recordings[0];
    assert_eq!(keys(first).len(), 19);
    assert!(first["duration"].is_string());
    assert_eq!(first["status"], "completed");
    assert!(
        first["media_url"]
            .as_str()
            .unwrap()
            .starts_with(&sim.api_url())
    );
    let sid = first["sid"].as_str().unwrap();
    let call_sid = first["call_sid"].as_str().unwrap();
    let by_call = format!("{base}/Recordings.json?CallSid={call_sid}");
    assert_eq!(list_len(&sim, &by_call, "recordings").await, 1);

    let path = format!("{}{base}/Recordings/{sid}.json", sim.api_url());
    let account = &sim.accounts()[0];
    let deleted = send("DELETE", &path, creds(account), &[]).await.unwrap();
    assert_eq!(deleted.status, 204);
    assert!(deleted.body.is_empty());
    for method in ["GET", "DELETE"] {
        let gone = send(method, &path, creds(account), &[]).await.unwrap();
        assert_error(&gone, 404, 20404);
    }
    let all = format!("{base}/Recordings.json");
    assert_eq!(list_len(&sim, &all, "recordings").await, 11);
    assert_eq!(sim.state().recordings(&account.account_sid).len(), 11);
}

#[tokio::test]
async fn usage_records_and_triggers() {
    let sim = start().await;
    let base = base(&sim);
    let january = get(
        &sim,
        &format!("{base}/Usage/Records.json?Category=sms&StartDate=2026-01-01&EndDate=2026-01-31"),
    )
    .await
    .json();
    let records = january["usage_records"].as_array().unwrap();
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!(keys(record).len(), 15);
    for field in [
        "category",
        "count",
        "price",
        "price_unit",
        "usage",
        "start_date",
        "end_date",
    ] {
        assert!(record[field].is_string(), "{field}: {record}");
    }
    assert_eq!(record["start_date"], "2026-01-01");
    let daily = format!(
        "{base}/Usage/Records/Daily.json?Category=calls&StartDate=2026-01-01&EndDate=2026-01-31"
    );
    assert_eq!(list_len(&sim, &daily, "usage_records").await, 31);

    let path = format!("{base}/Usage/Triggers.json");
    let created = post(
        &sim,
        &path,
        &[
            ("UsageCategory", "sms"),
            ("TriggerValue", "50.00"),
            ("CallbackUrl", "https://example.com/twilio/callback"),
            ("Recurring", "monthly"),
        ],
    )
    .await;
    assert_eq!(created.status, 201);
    let trigger = created.json();
    assert_eq!(keys(&trigger).len(), 16);
    assert!(trigger["sid"].as_str().unwrap().starts_with("UT"));
    assert!(trigger["current_value"].is_string());
    assert_eq!(trigger["trigger_value"], "50.00");
    let missing = post(
        &sim,
        &path,
        &[("UsageCategory", "sms"), ("TriggerValue", "1")],
    )
    .await;
    assert_error(&missing, 400, 20001);
    let bad_recurring = post(
        &sim,
        &path,
        &[
            ("UsageCategory", "sms"),
            ("TriggerValue", "1"),
            ("CallbackUrl", "https://example.com"),
            ("Recurring", "hourly"),
        ],
    )
    .await;
    assert_error(&bad_recurring, 400, 20001);
}

#[tokio::test]
async fn lookups() {
    let sim = start().await;
    let account = sim.accounts()[0].clone();
    let lookup = |path: String| {
        let account = account.clone();
        let url = format!("{}{path}", sim.lookups_url());
        async move { send("GET", &url, creds(&account), &[]).await.unwrap() }
    };
    let basic = lookup("/v2/PhoneNumbers/+15551234567".into()).await;
    assert_eq!(basic.status, 200);
    let basic = basic.json();
    assert_eq!(keys(&basic).len(), 17);
    assert_eq!(basic["valid"], true);
    assert_eq!(basic["country_code"], "US");
    assert_eq!(basic["national_format"], "(555) 123-4567");
    assert_eq!(basic["line_type_intelligence"], Value::Null);

    let rich =
        lookup("/v2/PhoneNumbers/%2B15551234567?Fields=line_type_intelligence,caller_name".into())
            .await
            .json();
    assert_eq!(rich["line_type_intelligence"]["type"], "mobile");
    assert!(rich["caller_name"]["caller_name"].is_string());
    assert_eq!(rich["sim_swap"], Value::Null);

    let invalid = lookup("/v2/PhoneNumbers/+1415992996000".into()).await;
    assert_eq!(invalid.status, 200);
    assert_eq!(invalid.json()["valid"], false);
    assert_eq!(
        invalid.json()["validation_errors"],
        serde_json::json!(["TOO_LONG"])
    );

    assert_error(
        &lookup("/v2/PhoneNumbers/+15551234567?Fields=carrier".into()).await,
        400,
        20001,
    );
    assert_error(
        &lookup("/2010-04-01/Accounts.json".into()).await,
        404,
        20404,
    );
    let unauthenticated = send(
        "GET",
        &format!("{}/v2/PhoneNumbers/+15551234567", sim.lookups_url()),
        None,
        &[],
    )
    .await
    .unwrap();
    assert_error(&unauthenticated, 401, 20003);
}
