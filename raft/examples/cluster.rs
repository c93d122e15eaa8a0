//! Three openraft nodes in one process, each on its own blocklog WAL
//! (`blocklog_raft::LogStore`), an in-memory network and the small
//! key-value state machine of `blocklog_raft::kv`:
//!
//! 1. the cluster starts, node 1 initialises it, writes go through the leader;
//! 2. node 3 is stopped (its log store closed) while more writes commit on
//!    the other two;
//! 3. node 3 restarts from its WAL alone (vote, log, committed log id; its
//!    state machine starts empty and re-applies its committed entries) and
//!    catches up from the leader.
//!
//! Run: `cargo run -p blocklog-raft --example cluster`.

use std::collections::BTreeMap;
use std::error::Error;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use blocklog_raft::kv::{KvConfig, KvStateMachine, NodeId, Set};
use blocklog_raft::{LogStore, Options};
use openraft::error::{InstallSnapshotError, RPCError, RaftError, RemoteError, Unreachable};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::storage::RaftLogStorage;
use openraft::{BasicNode, Config, Raft, SnapshotPolicy};

type Result<T, E = Box<dyn Error + Send + Sync>> = std::result::Result<T, E>;

/// The in-memory network: the running nodes, by id. A node not in it (stopped)
/// is unreachable.
#[derive(Clone, Default)]
struct Router {
    nodes: Arc<Mutex<BTreeMap<NodeId, Raft<KvConfig>>>>,
}

#[derive(Debug)]
struct Down(NodeId);

impl std::fmt::Display for Down {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "node {} is down", self.0)
    }
}

impl Error for Down {}

impl Router {
    /// The node, or `None` if it is down.
    fn get(&self, id: NodeId) -> Option<Raft<KvConfig>> {
        self.nodes.lock().ok()?.get(&id).cloned()
    }
}

struct Client {
    router: Router,
    target: NodeId,
}

impl RaftNetworkFactory<KvConfig> for Router {
    type Network = Client;

    async fn new_client(&mut self, target: NodeId, _node: &BasicNode) -> Client {
        Client {
            router: self.clone(),
            target,
        }
    }
}

impl Client {
    fn raft(&self) -> Result<Raft<KvConfig>, Unreachable> {
        self.router
            .get(self.target)
            .ok_or_else(|| Unreachable::new(&Down(self.target)))
    }
}

impl RaftNetwork<KvConfig> for Client {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<KvConfig>,
        _option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        let raft = self.raft().map_err(RPCError::Unreachable)?;
        raft.append_entries(rpc)
            .await
            .map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<KvConfig>,
        _option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, BasicNode, RaftError<NodeId, InstallSnapshotError>>,
    > {
        let raft = self.raft().map_err(RPCError::Unreachable)?;
        raft.install_snapshot(rpc)
            .await
            .map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        _option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        let raft = self.raft().map_err(RPCError::Unreachable)?;
        raft.vote(rpc)
            .await
            .map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }
}

struct Node {
    raft: Raft<KvConfig>,
    sm: KvStateMachine,
}

async fn start(id: NodeId, dir: &Path, router: &Router, config: &Arc<Config>) -> Result<Node> {
    let mut store: LogStore<KvConfig> = LogStore::open(dir, Options::new())?;
    let state = store.get_log_state().await?;
    let vote = store.read_vote().await?;
    let committed = store.read_committed().await?;
    println!(
        "node {id}: opened {}: last log id {}, vote {}, committed {}",
        dir.display(),
        show(&state.last_log_id),
        show(&vote),
        show(&committed),
    );
    let sm = KvStateMachine::new();
    let raft = Raft::new(id, Arc::clone(config), router.clone(), store, sm.clone()).await?;
    router
        .nodes
        .lock()
        .map_err(|_| "router lock poisoned")?
        .insert(id, raft.clone());
    Ok(Node { raft, sm })
}

fn show<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref().map_or("none".into(), |v| v.to_string())
}

async fn leader(nodes: &BTreeMap<NodeId, Node>) -> Result<Raft<KvConfig>> {
    let any = nodes.values().next().ok_or("no node")?;
    let m = any
        .raft
        .wait(Some(Duration::from_secs(10)))
        .metrics(|m| m.current_leader.is_some(), "a leader")
        .await?;
    let id = m.current_leader.ok_or("no leader")?;
    Ok(nodes
        .get(&id)
        .ok_or("the leader is not running")?
        .raft
        .clone())
}

async fn write(leader: &Raft<KvConfig>, range: std::ops::Range<u32>) -> Result<u64> {
    let mut last = 0;
    for i in range {
        let r = leader
            .client_write(Set {
                key: format!("key-{i:03}"),
                value: format!("value-{i}"),
            })
            .await?;
        last = r.log_id.index;
    }
    Ok(last)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let t0 = Instant::now();
    let tmp = tempfile::tempdir()?;
    let dir = |id: NodeId| -> PathBuf { tmp.path().join(format!("node-{id}")) };
    let config = Arc::new(
        Config {
            cluster_name: "blocklog-raft-example".into(),
            heartbeat_interval: 50,
            election_timeout_min: 150,
            election_timeout_max: 300,
            // The example's state machine keeps no snapshot across a restart,
            // so the log is never purged.
            snapshot_policy: SnapshotPolicy::Never,
            ..Default::default()
        }
        .validate()?,
    );
    let router = Router::default();
    let mut nodes = BTreeMap::new();
    for id in 1..=3 {
        nodes.insert(id, start(id, &dir(id), &router, &config).await?);
    }
    let members: BTreeMap<NodeId, BasicNode> =
        (1..=3).map(|id| (id, BasicNode::default())).collect();
    nodes[&1].raft.initialize(members).await?;

    let l = leader(&nodes).await?;
    let last = write(&l, 0..50).await?;
    println!("wrote 50 keys through the leader; last log index {last}");
    for (id, n) in &nodes {
        n.raft
            .wait(Some(Duration::from_secs(10)))
            .applied_index_at_least(Some(last), "applied")
            .await?;
        println!("node {id}: {} keys applied", n.sm.data()?.len());
    }

    // Stop node 3 (or the follower with the highest id, should 3 lead).
    let leader_id = l.metrics().borrow().id;
    let stopped = if leader_id == 3 { 2 } else { 3 };
    let n = nodes.remove(&stopped).ok_or("no such node")?;
    router
        .nodes
        .lock()
        .map_err(|_| "router lock poisoned")?
        .remove(&stopped);
    n.raft.shutdown().await?;
    drop(n);
    println!("node {stopped}: stopped");

    let l = leader(&nodes).await?;
    let last = write(&l, 50..100).await?;
    println!("wrote 50 more keys with node {stopped} down; last log index {last}");

    let n = start(stopped, &dir(stopped), &router, &config).await?;
    n.raft
        .wait(Some(Duration::from_secs(10)))
        .applied_index_at_least(Some(last), "caught up")
        .await?;
    let want = nodes[&leader_id].sm.data()?;
    let got = n.sm.data()?;
    if got != want {
        return Err(format!("node {stopped} differs from the leader after catching up").into());
    }
    println!(
        "node {stopped}: restarted from its WAL and caught up: {} keys, applied index {last}, \
         same as the leader ({:.2} s in all)",
        got.len(),
        t0.elapsed().as_secs_f64()
    );
    nodes.insert(stopped, n);
    for n in nodes.values() {
        n.raft.shutdown().await?;
    }
    Ok(())
}
