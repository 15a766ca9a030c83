//! A small version of the load and soak test (`scripts/load.sh` runs the full one): 300 runs over
//! 10 tenants with injected faults; nothing duplicated, lost or leaked between tenants.

use twilio_e2e::load::{self, LoadConfig};

#[tokio::test(flavor = "multi_thread")]
async fn three_hundred_runs_over_ten_tenants_with_faults_stay_consistent() {
    let report = load::run(LoadConfig {
        runs: 300,
        tenants: 10,
        ..LoadConfig::soak()
    })
    .await;
    println!("{report}");
    assert_eq!(report.runs, 300);
    assert!(report.sent > 0 && report.faults > 0, "{report}");
    assert!(report.outcomes.len() > 2, "faults showed up: {report}");
    assert_eq!(
        (
            report.duplicates,
            report.lost,
            report.phantoms,
            report.foreign
        ),
        (0, 0, 0, 0),
        "{report}"
    );
}
