//! Memory under a huge response, in a test binary of its own: the test reads the process's
//! peak resident set, which tests running alongside it in one process would disturb.

use std::time::Duration;

use twilio_e2e::fault_cases::{Case, Function, check, fails, fault_limits};
use twilio_e2e::twilio_host::Limits;
use twilio_e2e::twilio_sim::FaultKind;
use twilio_e2e::{PeakRss, TenantSpec, TestHost};

#[tokio::test(flavor = "multi_thread")]
async fn a_huge_body_is_refused_without_holding_it_in_the_host() {
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
