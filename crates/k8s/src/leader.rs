//! Leader election on a `coordination.k8s.io/v1` Lease, as client-go does it: the holder renews
//! the lease every retry period; another replica takes it over once it has seen the same lease
//! record, unrenewed, for a whole lease duration.
//!
//! Unlike upstream Contour, losing the API server does not end the process: the leader stops
//! writing once it could not renew for the renew deadline, every replica keeps serving xDS, and
//! the lease is taken back when the API server answers again. Leadership is published on a
//! `watch` channel; only the status writers look at it.

use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::PostParams;
use kube::{Api, Client};
use tokio::sync::{oneshot, watch};
use tracing::{debug, info, warn};

/// Upstream's flags: `--leader-election-*`.
#[derive(Debug, Clone)]
pub struct LeaderConfig {
    pub namespace: String,
    pub name: String,
    /// This replica's identity (`holderIdentity`).
    pub identity: String,
    pub lease_duration: Duration,
    pub renew_deadline: Duration,
    pub retry_period: Duration,
}

/// A default identity: host name, process id and start time, unique per process.
pub fn default_identity() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map_or_else(|| "contour".to_string(), |h| h.trim().to_string());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{host}_{}_{nanos:08x}", std::process::id())
}

/// What the elector last saw of the lease, and when that changed.
struct Observed {
    record: (Option<String>, Option<MicroTime>, Option<i32>),
    at: Instant,
}

struct Elector {
    api: Api<Lease>,
    cfg: LeaderConfig,
    observed: Option<Observed>,
    last_renew: Option<Instant>,
    leader: watch::Sender<bool>,
}

/// Stops the elector; the lease is released if held.
pub struct LeaderHandle {
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl LeaderHandle {
    /// Stops campaigning without releasing the lease, as a crashed process would.
    pub fn abort(self) {
        self.task.abort();
    }

    /// Stops campaigning and releases the lease so another replica takes over at once.
    pub async fn release(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

/// Starts campaigning for the lease. The receiver says whether this replica leads now.
pub fn start(client: Client, cfg: LeaderConfig) -> (watch::Receiver<bool>, LeaderHandle) {
    let (leader, rx) = watch::channel(false);
    let (stop, stopped) = oneshot::channel();
    let elector = Elector {
        api: Api::namespaced(client, &cfg.namespace),
        cfg,
        observed: None,
        last_renew: None,
        leader,
    };
    let task = tokio::spawn(elector.run(stopped));
    let handle = LeaderHandle {
        stop: Some(stop),
        task,
    };
    (rx, handle)
}

fn secs(d: Duration) -> i32 {
    i32::try_from(d.as_secs().max(1)).unwrap_or(i32::MAX)
}

impl Elector {
    async fn run(mut self, mut stopped: oneshot::Receiver<()>) {
        info!(lease = %self.cfg.name, namespace = %self.cfg.namespace, identity = %self.cfg.identity, "attempting to acquire leader lease");
        loop {
            let attempt =
                tokio::time::timeout(self.cfg.renew_deadline, self.try_acquire_or_renew());
            match attempt.await {
                Ok(Ok(true)) => {
                    self.last_renew = Some(Instant::now());
                    self.set_leader(true);
                }
                Ok(Ok(false)) => self.set_leader(false),
                Ok(Err(e)) => self.on_failure(&e.to_string()),
                Err(_) => self.on_failure("timed out"),
            }
            tokio::select! {
                _ = tokio::time::sleep(self.cfg.retry_period) => {}
                _ = &mut stopped => break,
            }
        }
        if *self.leader.borrow() {
            self.release().await;
        }
    }

    fn on_failure(&mut self, error: &str) {
        let leading = *self.leader.borrow();
        let expired = self
            .last_renew
            .is_none_or(|t| t.elapsed() >= self.cfg.renew_deadline);
        if leading && expired {
            warn!(
                error,
                "could not renew the leader lease within the renew deadline; no longer writing status (xDS keeps serving)"
            );
            self.set_leader(false);
        } else {
            debug!(error, "leader election attempt failed");
        }
    }

    fn set_leader(&self, now: bool) {
        let was = self.leader.send_replace(now);
        match (was, now) {
            (false, true) => info!(identity = %self.cfg.identity, "became the leader"),
            (true, false) => warn!(identity = %self.cfg.identity, "lost leadership"),
            _ => {}
        }
    }

    /// One round: true if this replica holds the lease afterwards.
    async fn try_acquire_or_renew(&mut self) -> Result<bool, kube::Error> {
        let now = MicroTime(Timestamp::now());
        let Some(lease) = self.api.get_opt(&self.cfg.name).await? else {
            return self.create(now).await;
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let record = (
            spec.holder_identity.clone(),
            spec.renew_time.clone(),
            spec.lease_transitions,
        );
        if self.observed.as_ref().is_none_or(|o| o.record != record) {
            self.observed = Some(Observed {
                record,
                at: Instant::now(),
            });
        }
        let holder = spec.holder_identity.clone().unwrap_or_default();
        let mine = holder == self.cfg.identity;
        let duration = spec
            .lease_duration_seconds
            .and_then(|s| u64::try_from(s).ok())
            .map_or(self.cfg.lease_duration, Duration::from_secs);
        let expired = holder.is_empty()
            || self
                .observed
                .as_ref()
                .is_some_and(|o| o.at.elapsed() >= duration);
        if !mine && !expired {
            return Ok(false);
        }
        let new_spec = LeaseSpec {
            holder_identity: Some(self.cfg.identity.clone()),
            lease_duration_seconds: Some(secs(self.cfg.lease_duration)),
            acquire_time: if mine {
                spec.acquire_time.clone()
            } else {
                Some(now.clone())
            },
            renew_time: Some(now),
            lease_transitions: Some(spec.lease_transitions.unwrap_or(0) + i32::from(!mine)),
            ..spec
        };
        let updated = Lease {
            metadata: lease.metadata,
            spec: Some(new_spec),
        };
        match self
            .api
            .replace(&self.cfg.name, &PostParams::default(), &updated)
            .await
        {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn create(&self, now: MicroTime) -> Result<bool, kube::Error> {
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some(self.cfg.name.clone()),
                namespace: Some(self.cfg.namespace.clone()),
                ..Default::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some(self.cfg.identity.clone()),
                lease_duration_seconds: Some(secs(self.cfg.lease_duration)),
                acquire_time: Some(now.clone()),
                renew_time: Some(now),
                lease_transitions: Some(0),
                ..Default::default()
            }),
        };
        match self.api.create(&PostParams::default(), &lease).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Gives the lease up (empty holder, 1 s duration), as client-go's ReleaseOnCancel does.
    async fn release(&mut self) {
        self.set_leader(false);
        let Ok(Some(mut lease)) = self.api.get_opt(&self.cfg.name).await else {
            return;
        };
        let Some(spec) = lease.spec.as_mut() else {
            return;
        };
        if spec.holder_identity.as_deref() != Some(self.cfg.identity.as_str()) {
            return;
        }
        let now = MicroTime(Timestamp::now());
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(now.clone());
        spec.acquire_time = Some(now);
        match self
            .api
            .replace(&self.cfg.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => info!("released the leader lease"),
            Err(e) => warn!(error = %e, "could not release the leader lease"),
        }
    }
}
