//! One Secret on demand: the event loop keeps the data of referenced Secrets only, so when an
//! object starts referencing a Secret whose data was dropped, the Secret is read again with a
//! GET. Errors are retried with backoff until the API server answers; a 404 answers `None`.

use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client};
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};
use tracing::{debug, warn};

use super::sanitize;

/// `(namespace, name)` of a Secret.
pub type SecretKey = (String, String);

/// The answer to one request.
#[derive(Debug)]
pub struct Fetched {
    pub key: SecretKey,
    /// `None` when the Secret does not exist (any more).
    pub secret: Option<Secret>,
}

/// Requests go in on the sender, answers come out of the receiver.
pub struct SecretFetcher {
    pub requests: mpsc::UnboundedSender<SecretKey>,
    pub answers: mpsc::Receiver<Fetched>,
    pub task: JoinHandle<()>,
}

const FIRST_RETRY: Duration = Duration::from_millis(200);
const MAX_RETRY: Duration = Duration::from_secs(5);

/// Starts the fetcher. Aborting its task stops every request in flight.
pub fn spawn(client: Client) -> SecretFetcher {
    let (requests, mut rx) = mpsc::unbounded_channel::<SecretKey>();
    let (answer_tx, answers) = mpsc::channel(256);
    let task = tokio::spawn(async move {
        let mut running = JoinSet::new();
        loop {
            tokio::select! {
                req = rx.recv() => {
                    let Some(key) = req else { break };
                    running.spawn(fetch(client.clone(), key, answer_tx.clone()));
                }
                Some(_) = running.join_next(), if !running.is_empty() => {}
            }
        }
        running.shutdown().await;
    });
    SecretFetcher {
        requests,
        answers,
        task,
    }
}

async fn fetch(client: Client, key: SecretKey, tx: mpsc::Sender<Fetched>) {
    let api: Api<Secret> = Api::namespaced(client, &key.0);
    let mut delay = FIRST_RETRY;
    let secret = loop {
        match api.get_opt(&key.1).await {
            Ok(s) => break s.map(sanitize::secret),
            Err(e) => {
                if delay == FIRST_RETRY {
                    warn!(namespace = %key.0, name = %key.1, error = %e,
                          "reading a newly referenced Secret failed; retrying with backoff");
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(MAX_RETRY);
            }
        }
    };
    debug!(namespace = %key.0, name = %key.1, found = secret.is_some(), "read a newly referenced Secret");
    let _ = tx.send(Fetched { key, secret }).await;
}
