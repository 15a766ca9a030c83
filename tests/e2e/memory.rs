//! Memory, in a test binary of its own: these tests read the process's resident set, which
//! tests running alongside them in one process would disturb. A huge response is refused
//! without being held; a burst of runs that fill their heaps leaves behind no more than the
//! pool's settings allow (`twilio_host::engine`'s formula), and a second burst adds nothing.

use std::sync::Arc;
use std::time::Duration;

use twilio_e2e::fault_cases::{Case, Function, check, fails, fault_limits};
use twilio_e2e::twilio_host::Limits;
use twilio_e2e::twilio_sim::FaultKind;
use twilio_e2e::{PeakRss, TenantSpec, TestHost, rss_kib};

/// Held by each test for its whole length: the tests of this binary measure the same process.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread")]
async fn a_huge_body_is_refused_without_holding_it_in_the_host() {
    let _alone = ONE_AT_A_TIME.lock().await;
    const BODY: usize = 50 << 20;
    // A generous timeout: this test is about size, not about how fast 50 MiB is built.
    let host = TestHost::with_tenants(vec![TenantSpec::new("default").limits(Limits {
        http_timeout: Duration::from_secs(5),
        ..fault_limits()
    })])
    .await;
    let huge = |call| Case {
        call,
        kind: FaultKind::HugeBody { bytes: BODY },
        times: 1,
        outcome: fails("response", None, None, &["too large", "bytes"]),
        attempts: 1,
        created: None,
    };
    check(&host, vec![huge(Function::GetMessage)]).await; // warm-up: pool and code in memory
    let sampler = PeakRss::start();
    check(
        &host,
        vec![
            huge(Function::GetCall),
            huge(Function::ListMessages),
            huge(Function::Lookup),
        ],
    )
    .await;
    let growth = sampler.stop();
    // The simulator, in this process, builds each 50 MiB body; the host must add nothing near it.
    assert!(
        growth < (BODY as u64 / 1024) * 3 / 2,
        "peak RSS grew by {growth} KiB"
    );
}

/// Runs alive at once in the burst (the test pool has 64 slots, the tenant's cap is 64).
const BURST: u32 = 48;

/// A run that holds about 8 MiB of Lua heap, goes 150 protected calls deep (C recursion, so
/// the run's native stack grows too) and then computes for a while, so that the runs of a
/// burst are alive at the same time.
const HEAVY: &str = r#"
    local rows = {}
    for i = 1, 60000 do rows[i] = string.rep("x", 100) .. i end
    local function deep(n)
        if n == 0 then return 0 end
        local _, depth = pcall(deep, n - 1)
        return depth + 1
    end
    local sum = 0
    for i = 1, 3000000 do sum = sum + i end
    return deep(150) + #rows
"#;

/// Runs [`BURST`] copies of [`HEAVY`] at once; returns the peak RSS growth in KiB.
async fn burst(host: &Arc<TestHost>) -> u64 {
    let sampler = PeakRss::start();
    let mut runs = tokio::task::JoinSet::new();
    for _ in 0..BURST {
        let host = Arc::clone(host);
        runs.spawn(async move { host.run(HEAVY).await });
    }
    while let Some(report) = runs.join_next().await {
        let report = report.expect("the run's task");
        assert_eq!(report.outcome.expect("the heavy run succeeds"), 60150);
    }
    sampler.stop()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_leaves_no_more_resident_than_the_pool_settings_allow() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let host = Arc::new(
        TestHost::with_tenants(vec![TenantSpec::new("default").limits(Limits {
            memory_bytes: 32 << 20,
            ..Limits::default()
        })])
        .await,
    );
    host.run(HEAVY).await.outcome.expect("warm-up"); // code, one slot and the allocator warm
    let before = rss_kib();
    let peak = burst(&host).await;
    let after_first = rss_kib();
    // The runs really were alive together: together they held far more than what is left.
    assert!(
        peak > u64::from(BURST / 2) * (8 << 10),
        "the burst's runs overlapped (peak RSS growth {peak} KiB)"
    );
    let pool = host.host.pool_size();
    let bound_kib = pool.retained_bytes_after(BURST) >> 10;
    let occupancy = host.host.pool_occupancy();
    assert_eq!(occupancy.live_runs, 0);
    assert!(
        occupancy.retained_bytes >> 10 <= bound_kib,
        "idle slots keep {} KiB, the formula allows {bound_kib}",
        occupancy.retained_bytes >> 10
    );
    // What the process keeps: the idle slots, plus the host-side heap the allocator keeps for
    // reuse (48 stores' worth; at most 16 MiB, as the load test allows).
    let kept = after_first.saturating_sub(before);
    assert!(
        kept <= bound_kib + (16 << 10),
        "after a burst that peaked {peak} KiB higher, RSS stayed {kept} KiB higher; the pool's \
         formula allows {bound_kib} KiB plus 16 MiB of host heap"
    );
    // The same burst again reuses the same slots: nothing accumulates.
    burst(&host).await;
    let grown = rss_kib().saturating_sub(after_first);
    println!(
        "burst of {BURST}: peak +{peak} KiB, kept +{kept} KiB (bound {bound_kib} KiB + 16 MiB), idle slots {} KiB, second burst +{grown} KiB",
        occupancy.retained_bytes >> 10
    );
    assert!(
        grown <= 8 << 10,
        "a second, identical burst left RSS {grown} KiB higher than the first"
    );
}
