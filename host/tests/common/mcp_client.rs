//! A real MCP client (rmcp's) against `twilio-host mcp` or the sidecar's `/mcp`, and the checks
//! both transports must pass.

use rmcp::model::{
    CallToolRequestParams, CallToolResult, ReadResourceRequestParams, ResourceContents,
};
use rmcp::service::{RoleClient, RunningService};
use serde_json::{Value, json};
use std::time::Duration;

/// A connected client.
pub type Client = RunningService<RoleClient, ()>;

/// How long any one MCP request may take before the test fails instead of hanging.
const ANSWER_WITHIN: Duration = Duration::from_secs(120);

/// `request`'s answer, or a failed test after [`ANSWER_WITHIN`].
pub async fn answered<T>(what: &str, request: impl Future<Output = T>) -> T {
    tokio::time::timeout(ANSWER_WITHIN, request)
        .await
        .unwrap_or_else(|_| panic!("{what} got no answer in {ANSWER_WITHIN:?}"))
}

/// Calls `tool` with `arguments` (a JSON object).
pub async fn call(client: &Client, tool: &'static str, arguments: Value) -> CallToolResult {
    let Value::Object(arguments) = arguments else {
        panic!("tool arguments are an object");
    };
    let request = client.call_tool(CallToolRequestParams::new(tool).with_arguments(arguments));
    answered(&format!("tools/call {tool}"), request)
        .await
        .unwrap_or_else(|error| panic!("tools/call {tool}: {error}"))
}

/// The text content of a result, joined.
pub fn text(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|block| block.as_text().map(|text| text.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs `script` with `run_lua`.
pub async fn run(client: &Client, script: &str) -> CallToolResult {
    call(client, "run_lua", json!({ "script": script })).await
}

/// What every transport must do: list two small tools (their size is printed), send an SMS,
/// answer a validation error as a tool error with its field, serve the reference as a tool
/// result (whole, a section, a search) and as resources. Returns the SID of the SMS sent.
pub async fn check_tools_and_reference(client: &Client) -> String {
    let tools = answered("tools/list", client.list_all_tools())
        .await
        .expect("tools/list");
    let mut names: Vec<&str> = tools.iter().map(|tool| tool.name.as_ref()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["approve_plan", "reject_plan", "run_lua", "twilio_reference"],
        "{tools:?}"
    );
    let tool = |name: &str| tools.iter().find(|tool| tool.name == name).expect("listed");
    let approve = tool("approve_plan");
    let annotations = approve.annotations.as_ref().expect("annotations");
    assert_eq!(
        annotations.destructive_hint,
        Some(true),
        "clients ask their person before approving"
    );
    let listed = serde_json::to_string(&json!({ "tools": tools })).unwrap();
    println!(
        "tools/list: {} bytes of JSON, about {} tokens (4 bytes per token)",
        listed.len(),
        listed.len() / 4
    );
    assert!(listed.len() < 4000, "tools/list is {} bytes", listed.len());
    for tool in &tools {
        let description = tool.description.as_deref().unwrap_or_default();
        assert!(!description.is_empty(), "{tool:?}");
    }
    let run_lua = tool("run_lua");
    let description = run_lua.description.as_deref().unwrap_or_default();
    assert!(description.contains("twilio_reference") && description.contains("fresh sandbox"));

    let sent = run(
        client,
        r#"local m = app.integrations.twilio.twilio_send_sms({to = "+15551234567", from = "+15559876543", body = "over MCP"})
           print("sent", m.sid)
           return {sid = m.sid, status = m.status}"#,
    )
    .await;
    assert_eq!(sent.is_error, Some(false), "{}", text(&sent));
    let report = sent.structured_content.clone().expect("structured content");
    let sid = report["value"]["sid"].as_str().expect("a SID").to_string();
    assert!(sid.starts_with("SM"), "{report}");
    assert_eq!(report["error"], Value::Null);
    assert!(
        text(&sent).contains(&format!("sent\t{sid}")),
        "{}",
        text(&sent)
    );
    assert!(text(&sent).contains("returned: "), "{}", text(&sent));

    let send = r#"return app.integrations.twilio.twilio_send_sms({to = "+15551234567", from = "+15559876543", body = "planned over MCP"}).status"#;
    let planned = call(client, "run_lua", json!({ "script": send, "plan": true })).await;
    assert_eq!(planned.is_error, Some(false), "{}", text(&planned));
    let report = planned
        .structured_content
        .clone()
        .expect("structured content");
    assert_eq!(report["value"], "planned", "{report}");
    assert_eq!(report["needs_approval"], true);
    assert!(
        text(&planned).contains("1. twilio_send_sms to +15551234567 from +15559876543"),
        "{}",
        text(&planned)
    );
    let plan_id = json!({ "plan_id": report["plan"]["id"] });
    let approved = call(client, "approve_plan", plan_id.clone()).await;
    assert_eq!(approved.is_error, Some(false), "{}", text(&approved));
    let execution = &approved.structured_content.clone().expect("structured")["execution"];
    assert_eq!(execution["state"], "executed", "{execution}");
    assert_eq!(execution["actions_sent"], 1);
    let again = call(client, "approve_plan", plan_id.clone()).await;
    assert_eq!(again.is_error, Some(true));
    assert!(
        text(&again).contains("already executed"),
        "{}",
        text(&again)
    );
    let rejected = call(client, "reject_plan", plan_id).await;
    assert_eq!(
        rejected.is_error,
        Some(true),
        "an executed plan is not rejected"
    );

    let invalid = run(
        client,
        r#"return app.integrations.twilio.twilio_send_sms({to = "555", from = "+15559876543", body = "x"})"#,
    )
    .await;
    assert_eq!(invalid.is_error, Some(true), "{}", text(&invalid));
    let error = &invalid
        .structured_content
        .clone()
        .expect("structured content")["error"];
    assert_eq!(error["kind"], "runtime", "{error}");
    assert_eq!(error["value"]["kind"], "validation", "{error}");
    assert_eq!(error["value"]["field"], "to", "{error}");
    assert!(text(&invalid).contains("field to"), "{}", text(&invalid));

    let whole = call(client, "twilio_reference", json!({})).await;
    assert!(text(&whole).starts_with("# Twilio"), "{}", text(&whole));
    let section = call(
        client,
        "twilio_reference",
        json!({ "function": "twilio_make_call" }),
    )
    .await;
    assert!(
        text(&section).starts_with("## twilio_make_call"),
        "{}",
        text(&section)
    );
    assert!(!text(&section).contains("## twilio_get_call"));
    for added in [
        "### Returns (added by this integration)",
        "Exactly one of `url` and `twiml` is required",
    ] {
        assert!(text(&section).contains(added), "{}", text(&section));
    }
    let unknown = call(
        client,
        "twilio_reference",
        json!({ "function": "send_message" }),
    )
    .await;
    assert_eq!(unknown.is_error, Some(true));
    assert!(
        text(&unknown).contains(
            "no function named \"send_message\" (did you mean \"twilio_send_sms\" or \"twilio_send_whatsapp\"?)"
        ),
        "{}",
        text(&unknown)
    );
    assert!(
        text(&unknown).contains("twilio_delete_recording"),
        "lists the functions"
    );
    let found = call(client, "twilio_reference", json!({ "search": "whatsapp" })).await;
    assert!(
        text(&found).starts_with("## twilio_send_whatsapp"),
        "{}",
        text(&found)
    );

    let resources = answered("resources/list", client.list_all_resources())
        .await
        .expect("resources/list");
    let uris: Vec<&str> = resources.iter().map(|r| r.uri.as_str()).collect();
    assert_eq!(uris[0], "twilio://reference");
    assert!(
        uris.contains(&"twilio://reference/twilio_send_sms"),
        "{uris:?}"
    );
    assert_eq!(
        uris.len(),
        16,
        "the whole text and the 15 functions: {uris:?}"
    );
    let uri = "twilio://reference/twilio_lookup_phone";
    let read = answered(
        "resources/read",
        client.read_resource(ReadResourceRequestParams::new(uri)),
    )
    .await
    .expect("resources/read");
    let ResourceContents::TextResourceContents { text, .. } = &read.contents[0] else {
        panic!("a text resource");
    };
    assert!(text.starts_with("## twilio_lookup_phone"), "{text}");
    sid
}
