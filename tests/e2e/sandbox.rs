//! The Lua sandbox through the real host and component: errors, limits and what is unavailable.

use std::collections::BTreeSet;

use serde_json::json;
use twilio_e2e::twilio_host::ErrorKind;
use twilio_e2e::{TenantSpec, TestHost, error, quick_limits, value};

async fn quick_host() -> TestHost {
    TestHost::with_tenants(vec![TenantSpec::new("default").limits(quick_limits())]).await
}

#[tokio::test(flavor = "multi_thread")]
async fn pcall_catches_error_values() {
    let host = TestHost::start().await;
    let report = host.run(r#"return select(2, pcall(error, "x"))"#).await;
    assert_eq!(value(&report), &json!("x"));
}

#[tokio::test(flavor = "multi_thread")]
async fn print_and_return_value_come_back() {
    let host = TestHost::start().await;
    let report = host.run(r#"print("hi", 1, nil) return {a = 1}"#).await;
    assert_eq!(report.printed, "hi\t1\tnil\n");
    assert_eq!(value(&report), &json!({"a": 1}));
    let several = host.run("return 1, 'two'").await;
    assert_eq!(value(&several), &json!([1, "two"]));
}

#[tokio::test(flavor = "multi_thread")]
async fn runtime_error_is_structured_and_the_host_carries_on() {
    let host = TestHost::start().await;
    let report = host.run("local t = nil; return t.x").await;
    let failure = error(&report);
    assert_eq!(failure.kind, ErrorKind::Runtime);
    assert!(
        failure
            .message
            .contains("attempt to index a nil value (local 't')"),
        "{failure:?}"
    );
    let traceback = failure.traceback.as_deref().expect("a traceback");
    assert!(traceback.contains("script:1: in main chunk"), "{traceback}");
    assert_eq!(value(&host.run("return 2 + 2").await), &json!(4));
}

#[tokio::test(flavor = "multi_thread")]
async fn syntax_error_names_the_line() {
    let host = TestHost::start().await;
    let report = host.run("local a = 1\nlocal b = = 2\nreturn a").await;
    let failure = error(&report);
    assert_eq!(failure.kind, ErrorKind::Syntax);
    assert!(failure.message.contains("script:2:"), "{failure:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_raised_in_rust_callbacks_are_catchable() {
    let host = TestHost::start().await;
    let report = host
        .run(
            r#"local ok, err = pcall(app.integrations.twilio.twilio_send_sms, {to = "555"})
               return {ok = ok, kind = err.kind, text = tostring(err)}"#,
        )
        .await;
    let result = value(&report);
    assert_eq!(result["ok"], json!(false));
    assert_eq!(result["kind"], json!("validation"));
    assert!(
        result["text"].as_str().unwrap().contains("twilio_send_sms"),
        "{result}"
    );
    assert!(host.sim.requests().is_empty(), "no request on bad input");
}

#[tokio::test(flavor = "multi_thread")]
async fn unbounded_recursion_is_a_caught_stack_overflow() {
    let host = TestHost::start().await;
    let report = host
        .run("local function f() return f() + 1 end return f()")
        .await;
    let failure = error(&report);
    assert_eq!(failure.kind, ErrorKind::Runtime);
    assert!(failure.message.contains("stack overflow"), "{failure:?}");
    let caught = host
        .run("local function f() return f() + 1 end return (select(2, pcall(f)))")
        .await;
    assert!(value(&caught).as_str().unwrap().contains("stack overflow"));
}

#[tokio::test(flavor = "multi_thread")]
async fn ten_thousand_errors_neither_trap_nor_leak() {
    let host = TestHost::start().await;
    let report = host
        .run(
            r#"collectgarbage() local before = collectgarbage("count")
               for i = 1, 10000 do
                 assert(not pcall(error, {i = i}))
                 assert(not pcall(function() local t = nil; return t.x end))
               end
               collectgarbage() return collectgarbage("count") - before"#,
        )
        .await;
    let growth_kb = value(&report).as_f64().unwrap();
    assert!(growth_kb < 256.0, "heap grew by {growth_kb} KiB");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_endless_loop_ends_with_a_limit_error() {
    let host = quick_host().await;
    let report = host.run("while true do end").await;
    let kind = error(&report).kind;
    assert!(
        matches!(kind, ErrorKind::InstructionLimit | ErrorKind::CpuLimit),
        "{kind:?}"
    );
    let caught = host
        .run("while true do pcall(function() while true do end end) end")
        .await;
    let kind = error(&caught).kind;
    assert!(
        matches!(kind, ErrorKind::InstructionLimit | ErrorKind::CpuLimit),
        "{kind:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn memory_bombs_end_with_a_memory_error() {
    // A 32 MiB guest, and CPU and instruction budgets far beyond what filling it takes, so that
    // the memory cap is what stops each bomb even on a loaded machine (at 128 MiB and the
    // default 5 s of CPU, the table of strings took over 5 s while other builds shared the
    // two cores).
    let host = TestHost::with_tenants(vec![TenantSpec::new("default").limits(
        twilio_e2e::twilio_host::Limits {
            memory_bytes: 32 << 20,
            cpu: std::time::Duration::from_secs(120),
            wall: std::time::Duration::from_secs(240),
            lua_instructions: u64::MAX,
            ..twilio_e2e::twilio_host::Limits::default()
        },
    )])
    .await;
    for bomb in [
        r#"return string.rep("x", 2^31)"#,
        "local t = {} for i = 1, 1e9 do t[i] = i end",
        r#"local s = "x" while true do s = s .. s end"#,
        r#"local t = {} for i = 1, 1e9 do t["k" .. i] = ("v"):rep(64) end"#,
    ] {
        let report = host.run(bomb).await;
        assert_eq!(
            error(&report).kind,
            ErrorKind::MemoryLimit,
            "{bomb}: {:?}",
            report.outcome
        );
    }
    let caught = host.run("local t = {} local ok = pcall(function() for i = 1, 1e9 do t[i] = i end end) t = nil return ok").await;
    assert_eq!(
        value(&caught),
        &json!(false),
        "a memory error is catchable and the script goes on"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn dangerous_facilities_are_unavailable_and_say_so() {
    let host = TestHost::start().await;
    for (script, says) in [
        (
            r#"return io.open("/etc/passwd")"#,
            "io.open is not available",
        ),
        (r#"return os.execute("ls")"#, "os.execute is not available"),
        (r#"return os.getenv("HOME")"#, "os.getenv is not available"),
        (r#"return require("socket")"#, "require is not available"),
        (
            "return load(string.dump(function() end))",
            "string.dump is not available",
        ),
        ("return dofile('/etc/passwd')", "dofile is not available"),
        ("return debug.getinfo(1)", "debug.getinfo is not available"),
        ("return package.loaded", "package.loaded is not available"),
    ] {
        let report = host.run(script).await;
        let failure = error(&report);
        assert!(failure.message.contains(says), "{script}: {failure:?}");
    }
    let binary = host
        .run(r#"return select(2, load("\27Lua", "x", "b"))"#)
        .await;
    assert!(
        value(&binary).as_str().unwrap().contains("binary chunk"),
        "{:?}",
        binary.outcome
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn safe_os_functions_work_and_random_is_seeded_per_run() {
    let host = TestHost::start().await;
    let report = host
        .run("return {type(os.time()), type(os.clock()), os.date('!%Y', 0)}")
        .await;
    assert_eq!(value(&report), &json!(["number", "number", "1970"]));
    let first = host.run("return math.random(1, 1 << 40)").await;
    let second = host.run("return math.random(1, 1 << 40)").await;
    assert_ne!(value(&first), value(&second), "each run gets its own seed");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_global_environment_is_exactly_the_allowed_set() {
    let host = TestHost::start().await;
    let globals = host.run("local names = {} for k in pairs(_G) do names[#names + 1] = k end table.sort(names) return names").await;
    let names: Vec<String> = serde_json::from_value(value(&globals).clone()).unwrap();
    let allowed = [
        "_G",
        "_VERSION",
        "app",
        "assert",
        "collectgarbage",
        "coroutine",
        "debug",
        "dofile",
        "error",
        "getmetatable",
        "io",
        "ipairs",
        "load",
        "loadfile",
        "math",
        "next",
        "os",
        "package",
        "pairs",
        "pcall",
        "print",
        "rawequal",
        "rawget",
        "rawlen",
        "rawset",
        "require",
        "select",
        "setmetatable",
        "string",
        "table",
        "tonumber",
        "tostring",
        "type",
        "utf8",
        "xpcall",
    ];
    assert_eq!(
        names, allowed,
        "debug, dofile, io, loadfile, package and require are stubs that refuse"
    );
    let os = host.run("local names = {} for k in pairs(os) do names[#names + 1] = k end table.sort(names) return names").await;
    assert_eq!(
        value(&os),
        &json!([
            "clock",
            "date",
            "difftime",
            "execute",
            "exit",
            "getenv",
            "remove",
            "rename",
            "setlocale",
            "time",
            "tmpname"
        ])
    );
}

/// The interfaces the world `twilio:lua/plugin` imports and exports, as a WIT tool elaborates
/// it (with the interfaces those use, such as `wasi:http/types`).
fn world_interfaces() -> (BTreeSet<String>, BTreeSet<String>) {
    let wit = concat!(env!("CARGO_MANIFEST_DIR"), "/../wit");
    let mut resolve = wit_parser::Resolve::default();
    let (package, _) = resolve.push_dir(wit).expect("wit/ parses");
    let world = resolve
        .select_world(&[package], Some("plugin"))
        .expect("the world `plugin`");
    let names = |items: &wit_parser::IndexMap<wit_parser::WorldKey, wit_parser::WorldItem>| {
        items
            .keys()
            .map(|key| resolve.name_world_key(key))
            .collect()
    };
    let world = &resolve.worlds[world];
    (names(&world.imports), names(&world.exports))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_component_imports_exactly_what_the_world_declares() {
    let engine = wasmtime::Engine::new(wasmtime::Config::new().wasm_exceptions(true)).unwrap();
    let component =
        wasmtime::component::Component::new(&engine, twilio_e2e::twilio_host::PLUGIN_COMPONENT)
            .unwrap();
    let ty = component.component_type();
    let imports: BTreeSet<String> = ty
        .imports(&engine)
        .map(|(name, _)| name.to_string())
        .collect();
    let exports: BTreeSet<String> = ty
        .exports(&engine)
        .map(|(name, _)| name.to_string())
        .collect();
    let (declared_imports, declared_exports) = world_interfaces();
    assert_eq!(
        imports, declared_imports,
        "the built component's imports and the world's"
    );
    assert_eq!(exports, declared_exports);
    assert!(exports.contains("twilio:lua/runner@0.2.0"), "{exports:?}");
    assert!(
        !imports.iter().any(|name| name.starts_with("wasi:sockets")),
        "no sockets: HTTP is the only way out ({imports:?})"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn printed_output_survives_a_run_the_host_stops() {
    let host = TestHost::with_tenants(vec![TenantSpec::new("default").limits(
        twilio_e2e::twilio_host::Limits {
            lua_instructions: u64::MAX / 2,
            ..quick_limits()
        },
    )])
    .await;
    let report = host
        .run(r#"print("step 1") print("step 2") while true do end"#)
        .await;
    assert_eq!(error(&report).kind, ErrorKind::CpuLimit);
    assert_eq!(report.printed, "step 1\nstep 2\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn printed_output_is_capped_at_one_mebibyte() {
    let host = TestHost::start().await;
    let report = host
        .run(r#"for i = 1, 3000 do print(string.rep("x", 1000)) end return "done""#)
        .await;
    assert_eq!(value(&report), &json!("done"));
    assert!(
        report.printed.len() <= (1 << 20) + 100,
        "{}",
        report.printed.len()
    );
    assert!(
        report
            .printed
            .ends_with("[output truncated: print output is capped at 1 MiB]\n")
    );
}
