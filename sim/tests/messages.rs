//! Messages over real HTTP: create, fetch, list, pagination, validation and magic numbers.

mod common;

use common::*;
use serde_json::Value;
use twilio_sim::{SimAccount, SimConfig, Simulator};

const MESSAGE_KEYS: [&str; 20] = [
    "account_sid",
    "api_version",
    "body",
    "date_created",
    "date_sent",
    "date_updated",
    "direction",
    "error_code",
    "error_message",
    "from",
    "messaging_service_sid",
    "num_media",
    "num_segments",
    "price",
    "price_unit",
    "sid",
    "status",
    "subresource_uris",
    "to",
    "uri",
];

#[tokio::test]
async fn create_fetch_and_list_a_message() {
    let sim = start().await;
    let base = base(&sim);
    let created = post(
        &sim,
        &format!("{base}/Messages.json"),
        &[
            ("To", "+15551234567"),
            ("From", "+15559876543"),
            ("Body", "Hello from Twilio!"),
        ],
    )
    .await;
    assert_eq!(created.status, 201);
    let message = created.json();
    assert_eq!(keys(&message), MESSAGE_KEYS);
    let sid = message["sid"].as_str().unwrap().to_owned();
    assert!(sid.starts_with("SM") && sid.len() == 34);
    assert_eq!(message["status"], "queued");
    assert_eq!(message["num_segments"], "1");
    assert_eq!(message["num_media"], "0");
    assert_eq!(message["price"], Value::Null);
    assert_eq!(message["date_sent"], Value::Null);
    assert_eq!(message["direction"], "outbound-api");
    assert!(
        message["date_created"]
            .as_str()
            .unwrap()
            .ends_with(" +0000")
    );
    assert_eq!(message["uri"], format!("{base}/Messages/{sid}.json"));

    let fetched = get(&sim, &format!("{base}/Messages/{sid}.json")).await;
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.json(), message);

    let listed = get(
        &sim,
        &format!("{base}/Messages.json?To=%2B15551234567&PageSize=2"),
    )
    .await;
    let page = listed.json();
    assert_eq!(page["messages"][0]["sid"], sid.as_str(), "newest first");
    assert!(
        page["messages"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["to"] == "+15551234567")
    );

    let stored = sim.state().messages(&sim.accounts()[0].account_sid);
    assert_eq!(stored.last().unwrap()["sid"], sid.as_str());
    let recorded = sim.requests();
    assert_eq!(recorded[0].method, "POST");
    assert_eq!(recorded[0].status, 201);
    assert!(
        recorded[0]
            .form
            .contains(&("To".to_owned(), "+15551234567".to_owned()))
    );

    let missing = get(
        &sim,
        &format!("{base}/Messages/SM00000000000000000000000000000000.json"),
    )
    .await;
    assert_error(&missing, 404, 20404);
}

#[tokio::test]
async fn mms_and_whatsapp() {
    let sim = start().await;
    let path = format!("{}/Messages.json", base(&sim));
    let mms = post(
        &sim,
        &path,
        &[
            ("To", "+15551234567"),
            ("From", "+15559876543"),
            ("MediaUrl", "https://example.com/a.png"),
            ("MediaUrl", "https://example.com/b.png"),
        ],
    )
    .await;
    assert_eq!(mms.status, 201);
    assert!(mms.json()["sid"].as_str().unwrap().starts_with("MM"));
    assert_eq!(mms.json()["num_media"], "2");

    let whatsapp = post(
        &sim,
        &path,
        &[
            ("To", "whatsapp:+15551234567"),
            ("From", "whatsapp:+15559876543"),
            ("Body", "Hello via WhatsApp!"),
        ],
    )
    .await;
    assert_eq!(whatsapp.status, 201);
    assert_eq!(whatsapp.json()["from"], "whatsapp:+15559876543");

    let not_whatsapp = post(
        &sim,
        &path,
        &[
            ("To", "whatsapp:+15551234567"),
            ("From", "whatsapp:+15557654321"),
            ("Body", "x"),
        ],
    )
    .await;
    assert_error(&not_whatsapp, 400, 63007);
}

#[tokio::test]
async fn validation_errors() {
    let sim = start().await;
    let path = format!("{}/Messages.json", base(&sim));
    let long = "a".repeat(1601);
    let cases: Vec<(Vec<(&str, &str)>, u64)> = vec![
        (vec![("From", "+15559876543"), ("Body", "x")], 21604),
        (
            vec![("To", "+15551234567"), ("From", "+15559876543")],
            21602,
        ),
        (
            vec![
                ("To", "+15551234567"),
                ("From", "+15559876543"),
                ("Body", &long),
            ],
            21617,
        ),
        (
            vec![
                ("To", "5551234567"),
                ("From", "+15559876543"),
                ("Body", "x"),
            ],
            21211,
        ),
        (
            vec![
                ("To", "+15551234567"),
                ("From", "+15550000000"),
                ("Body", "x"),
            ],
            21606,
        ),
        (
            vec![
                ("To", "+15551234567"),
                ("From", "+15559876543"),
                ("Body", "x"),
                ("StatusCallback", "not a url"),
            ],
            21609,
        ),
    ];
    for (form, code) in cases {
        assert_error(&post(&sim, &path, &form).await, 400, code);
    }
    let account = &sim.accounts()[0];
    let bad_utf8 = send_raw(
        "POST",
        &format!("{}{path}", sim.api_url()),
        creds(account),
        b"To=%FF&Body=\xff".to_vec(),
    )
    .await
    .unwrap();
    assert_error(&bad_utf8, 400, 20001);
    assert!(
        sim.state().messages(&account.account_sid).len() == 5,
        "nothing stored"
    );
}

#[tokio::test]
async fn magic_numbers() {
    let sim = start().await;
    let path = format!("{}/Messages.json", base(&sim));
    let cases = [
        ("+15005550006", "+15551234567", 201),
        ("+15005550001", "+15551234567", 21212),
        ("+15005550007", "+15551234567", 21606),
        ("+15005550008", "+15551234567", 21611),
        ("+15005550006", "+15005550001", 21211),
        ("+15005550006", "+15005550002", 21612),
        ("+15005550006", "+15005550003", 21408),
        ("+15005550006", "+15005550004", 21610),
        ("+15005550006", "+15005550009", 21614),
    ];
    for (from, to, expected) in cases {
        let resp = post(&sim, &path, &[("From", from), ("To", to), ("Body", "x")]).await;
        if expected == 201 {
            assert_eq!(resp.status, 201);
        } else {
            assert_error(&resp, 400, expected);
        }
    }
}

#[tokio::test]
async fn trial_accounts_only_reach_verified_numbers() {
    let trial = SimAccount {
        account_type: "Trial".to_owned(),
        ..SimAccount::new("trial")
    };
    let sim = Simulator::start(SimConfig {
        accounts: vec![trial],
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let path = format!("{}/Messages.json", base(&sim));
    let verified = post(
        &sim,
        &path,
        &[
            ("From", "+15559876543"),
            ("To", "+15551234567"),
            ("Body", "x"),
        ],
    )
    .await;
    assert_eq!(verified.status, 201);
    let unverified = post(
        &sim,
        &path,
        &[
            ("From", "+15559876543"),
            ("To", "+15557770000"),
            ("Body", "x"),
        ],
    )
    .await;
    assert_error(&unverified, 400, 21608);
    assert_eq!(
        get(&sim, &format!("{}.json", base(&sim))).await.json()["type"],
        "Trial"
    );
}

#[tokio::test]
async fn pagination_follows_next_page_uri_verbatim() {
    let sim = start().await;
    let sid = sim.accounts()[0].account_sid.clone();
    let seeded = sim.state().seed_messages(&sid, 120);
    assert_eq!(seeded.len(), 120);
    let mut uri = format!(
        "{}/Messages.json?From=%2B15559876543&PageSize=50",
        base(&sim)
    );
    let mut sizes = Vec::new();
    let mut seen = Vec::new();
    loop {
        let page = get(&sim, &uri).await;
        assert_eq!(page.status, 200);
        let page = page.json();
        assert_eq!(
            keys(&page),
            [
                "end",
                "first_page_uri",
                "messages",
                "next_page_uri",
                "page",
                "page_size",
                "previous_page_uri",
                "start",
                "uri"
            ]
        );
        let messages = page["messages"].as_array().unwrap();
        assert_eq!(page["start"], seen.len());
        assert_eq!(page["end"], seen.len() + messages.len() - 1);
        sizes.push(messages.len());
        seen.extend(
            messages
                .iter()
                .map(|m| m["sid"].as_str().unwrap().to_owned()),
        );
        match page["next_page_uri"].as_str() {
            Some(next) => {
                assert!(next.contains("From=%2B15559876543") && next.contains("PageToken=PA"));
                uri = next.to_owned();
            }
            None => break,
        }
    }
    // 120 seeded plus the 2 start-up messages from +15559876543.
    assert_eq!(sizes, [50, 50, 22]);
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len());
    assert!(seeded.iter().all(|s| seen.contains(s)));

    let base = base(&sim);
    assert_error(
        &get(&sim, &format!("{base}/Messages.json?PageSize=0")).await,
        400,
        20001,
    );
    assert_error(
        &get(&sim, &format!("{base}/Messages.json?PageSize=1001")).await,
        400,
        20001,
    );
    assert_error(
        &get(
            &sim,
            &format!("{base}/Messages.json?Page=1&PageToken=PAforged"),
        )
        .await,
        400,
        20001,
    );
}

#[tokio::test]
async fn date_sent_filters() {
    let sim = start().await;
    let base = base(&sim);
    for (filter, expected) in [
        ("DateSent=2026-01-10", 1),
        ("DateSent%3E=2026-01-20", 3),
        ("DateSent%3C=2026-01-15", 2),
    ] {
        let path = format!("{base}/Messages.json?{filter}");
        assert_eq!(
            list_len(&sim, &path, "messages").await,
            expected,
            "{filter}"
        );
    }
    let bad = get(&sim, &format!("{base}/Messages.json?DateSent=yesterday")).await;
    assert_error(&bad, 400, 20001);
}
