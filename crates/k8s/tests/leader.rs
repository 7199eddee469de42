//! Leader election against the test API server.

mod common;

use std::time::{Duration, Instant};

use common::Fixture;
use contour_k8s::leader::{self, LeaderConfig};
use tokio::sync::watch;

fn config(identity: &str) -> LeaderConfig {
    LeaderConfig {
        namespace: "projectcontour".into(),
        name: "leader-elect".into(),
        identity: identity.into(),
        lease_duration: Duration::from_secs(2),
        renew_deadline: Duration::from_secs(1),
        retry_period: Duration::from_millis(100),
    }
}

async fn wait_leader(rx: &mut watch::Receiver<bool>, want: bool, within: Duration) -> Duration {
    let start = Instant::now();
    tokio::time::timeout(within, rx.wait_for(|l| *l == want))
        .await
        .unwrap_or_else(|_| panic!("leadership {want} within {within:?}"))
        .expect("elector running");
    start.elapsed()
}

#[tokio::test]
async fn one_leader_and_takeover_after_a_crash_within_the_lease_duration() {
    let f = Fixture::new();
    let (mut a, ha) = leader::start(f.client("a").await, config("a"));
    wait_leader(&mut a, true, Duration::from_secs(10)).await;
    let (mut b, hb) = leader::start(f.client("b").await, config("b"));
    // b has had time to try several times and must still follow.
    let lease = || {
        f.server.get(
            "coordination.k8s.io/v1",
            "Lease",
            "projectcontour",
            "leader-elect",
        )
    };
    tokio::time::timeout(Duration::from_secs(5), async {
        while f.server.requests().iter().filter(|r| r.user == "b").count() < 5 {
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap();
    assert!(!*b.borrow());
    assert_eq!(lease().unwrap()["spec"]["holderIdentity"], "a");

    ha.abort();
    let took = wait_leader(&mut b, true, Duration::from_secs(10)).await;
    println!("takeover after a crash: {took:?} (lease duration 2s)");
    assert!(took <= Duration::from_millis(2600), "{took:?}");
    assert_eq!(lease().unwrap()["spec"]["holderIdentity"], "b");
    assert_eq!(lease().unwrap()["spec"]["leaseTransitions"], 1);

    // A released lease is taken over at once.
    let (mut c, _hc) = leader::start(f.client("c").await, config("c"));
    hb.release().await;
    let took = wait_leader(&mut c, true, Duration::from_secs(10)).await;
    assert!(took < Duration::from_secs(2), "{took:?}");
}

#[tokio::test]
async fn api_server_outage_stops_leading_and_leadership_comes_back() {
    let f = Fixture::new();
    let (mut a, _ha) = leader::start(f.client("a").await, config("a"));
    wait_leader(&mut a, true, Duration::from_secs(10)).await;
    f.server.set_outage(true);
    let lost = wait_leader(&mut a, false, Duration::from_secs(10)).await;
    assert!(
        lost >= Duration::from_millis(900),
        "kept leading through the renew deadline: {lost:?}"
    );
    f.server.set_outage(false);
    wait_leader(&mut a, true, Duration::from_secs(10)).await;
}
