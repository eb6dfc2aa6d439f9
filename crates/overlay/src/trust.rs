//! What the chain says, as the daemon last read it: provider roots, leases, and which edges
//! the manifests allow. Every handshake reads the current snapshot; every change of it
//! re-checks the open tunnels and cuts those the new snapshot would refuse.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, TrustAnchor};
use tokio_util::sync::CancellationToken;

use crate::error::{Refusal, TrustError};
use crate::name::{Endpoint, TunnelIdentity, TunnelTarget};

/// A lease as the chain records it, reduced to what tunnels need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseRecord {
    pub tenant: String,
    /// The deployment the lease's group belongs to, as the daemon numbers deployments.
    pub deployment_id: u64,
    /// Address of the provider holding the lease.
    pub provider: String,
    /// Open on chain (not completed, not closed by either side).
    pub active: bool,
}

/// A provider's root certificate as registered on chain, parsed once as a trust anchor.
#[derive(Clone, Debug)]
pub(crate) struct ProviderRoot {
    pub(crate) der: CertificateDer<'static>,
    pub(crate) anchor: TrustAnchor<'static>,
}

/// One consistent view of the chain. Build it with the setters, then publish it with
/// [`TrustView::replace`] (or edit the live one with [`TrustView::update`]).
#[derive(Clone, Debug, Default)]
pub struct TrustSnapshot {
    roots: BTreeMap<String, ProviderRoot>,
    leases: BTreeMap<u64, LeaseRecord>,
    /// Target (lease, service, port) -> the (lease, service) pairs allowed to connect to it.
    allowed: BTreeMap<TunnelTarget, BTreeSet<Endpoint>>,
}

impl TrustSnapshot {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the root of `provider`, DER as registered on chain (replacing any earlier one).
    pub fn set_provider_root(
        &mut self,
        provider: &str,
        root_der: CertificateDer<'static>,
    ) -> Result<(), TrustError> {
        let anchor = webpki::anchor_from_trusted_cert(&root_der)
            .map_err(|e| TrustError::BadRoot {
                provider: provider.to_string(),
                reason: e.to_string(),
            })?
            .to_owned();
        self.roots.insert(
            provider.to_string(),
            ProviderRoot {
                der: root_der,
                anchor,
            },
        );
        Ok(())
    }

    /// Sets the root of `provider` from the PEM text stored on chain (exactly one
    /// certificate).
    pub fn set_provider_root_pem(&mut self, provider: &str, pem: &str) -> Result<(), TrustError> {
        let bad = |reason: String| TrustError::BadRoot {
            provider: provider.to_string(),
            reason,
        };
        let mut certificates = CertificateDer::pem_slice_iter(pem.as_bytes());
        match (certificates.next(), certificates.next()) {
            (Some(Ok(der)), None) => self.set_provider_root(provider, der),
            (Some(Err(e)), _) => Err(bad(format!("PEM: {e}"))),
            (None, _) => Err(bad("no CERTIFICATE block".to_string())),
            (Some(Ok(_)), Some(_)) => Err(bad("more than one CERTIFICATE block".to_string())),
        }
    }

    pub fn remove_provider_root(&mut self, provider: &str) {
        self.roots.remove(provider);
    }

    pub fn set_lease(&mut self, lease_id: u64, record: LeaseRecord) {
        self.leases.insert(lease_id, record);
    }

    pub fn remove_lease(&mut self, lease_id: u64) {
        self.leases.remove(&lease_id);
    }

    pub fn lease(&self, lease_id: u64) -> Option<&LeaseRecord> {
        self.leases.get(&lease_id)
    }

    /// Allows `from` to connect to `target` (an `expose.to` edge).
    pub fn allow(&mut self, target: TunnelTarget, from: Endpoint) {
        self.allowed.entry(target).or_default().insert(from);
    }

    /// Removes every edge into the services of `lease_id` (before setting them anew from an
    /// updated manifest).
    pub fn clear_allowed_into(&mut self, lease_id: u64) {
        self.allowed
            .retain(|target, _| target.lease_id() != lease_id);
    }

    pub fn is_allowed(&self, from: &Endpoint, target: &TunnelTarget) -> bool {
        self.allowed
            .get(target)
            .is_some_and(|clients| clients.contains(from))
    }

    pub(crate) fn root(&self, provider: &str) -> Option<&ProviderRoot> {
        self.roots.get(provider)
    }

    pub(crate) fn roots(&self) -> impl Iterator<Item = (&String, &ProviderRoot)> {
        self.roots.iter()
    }

    /// The record of `lease_id` if it is known and active.
    pub(crate) fn active_lease(&self, lease_id: u64) -> Result<&LeaseRecord, Refusal> {
        let record = self
            .leases
            .get(&lease_id)
            .ok_or(Refusal::UnknownLease { lease_id })?;
        if !record.active {
            return Err(Refusal::LeaseClosed { lease_id });
        }
        Ok(record)
    }

    /// Whether a tunnel from `client` to `server`'s `port` may exist: both leases active and
    /// named as the chain records them, one tenant and deployment, and the edge allowed.
    pub fn check_edge(
        &self,
        client: &TunnelIdentity,
        server: &TunnelIdentity,
        port: u16,
    ) -> Result<(), Refusal> {
        for identity in [client, server] {
            let record = self.active_lease(identity.lease_id())?;
            if record.tenant != identity.tenant()
                || record.deployment_id != identity.deployment_id()
            {
                return Err(Refusal::IdentityMismatch {
                    named: identity.clone(),
                    chain_tenant: record.tenant.clone(),
                    chain_deployment: record.deployment_id,
                });
            }
        }
        if client.tenant() != server.tenant() {
            return Err(Refusal::OtherTenant {
                peer_lease: client.lease_id(),
                peer_tenant: client.tenant().to_string(),
                local_lease: server.lease_id(),
                local_tenant: server.tenant().to_string(),
            });
        }
        if client.deployment_id() != server.deployment_id() {
            return Err(Refusal::OtherDeployment {
                peer_lease: client.lease_id(),
                peer_deployment: client.deployment_id(),
                local_lease: server.lease_id(),
                local_deployment: server.deployment_id(),
            });
        }
        // The service names were checked when the identities were built.
        let target = TunnelTarget::new(server.lease_id(), server.service(), port)
            .map_err(Refusal::BadIdentity)?;
        let from = client.endpoint();
        if !self.is_allowed(&from, &target) {
            return Err(Refusal::EdgeNotAllowed { from, to: target });
        }
        Ok(())
    }
}

/// An open tunnel as registered with the view: what was verified when it was opened.
#[derive(Clone, Debug)]
pub(crate) struct TunnelEdge {
    pub(crate) client: TunnelIdentity,
    pub(crate) server: TunnelIdentity,
    pub(crate) port: u16,
    /// The lease the remote side named (the other side's lease).
    pub(crate) peer_lease: u64,
    /// The root the remote side's certificate chained to.
    pub(crate) peer_root: CertificateDer<'static>,
}

impl TunnelEdge {
    /// Whether `snapshot` would still admit this tunnel; when not, why.
    fn recheck(&self, snapshot: &TrustSnapshot) -> Result<(), Refusal> {
        snapshot.check_edge(&self.client, &self.server, self.port)?;
        let record = snapshot.active_lease(self.peer_lease)?;
        match snapshot.root(&record.provider) {
            Some(root) if root.der == self.peer_root => Ok(()),
            Some(_) => Err(Refusal::UnknownRoot {
                lease_id: self.peer_lease,
                provider: record.provider.clone(),
                reason: "the provider's root certificate was replaced on chain".to_string(),
            }),
            None => Err(Refusal::NoProviderRoot {
                provider: record.provider.clone(),
                lease_id: self.peer_lease,
            }),
        }
    }

    fn involves(&self, lease_id: u64) -> bool {
        self.client.lease_id() == lease_id || self.server.lease_id() == lease_id
    }
}

struct ViewState {
    snapshot: Arc<TrustSnapshot>,
    next_tunnel_id: u64,
    open: HashMap<u64, (TunnelEdge, CancellationToken)>,
}

/// The live trust view shared by the tunnel server and clients of one daemon.
pub struct TrustView {
    state: Mutex<ViewState>,
}

impl std::fmt::Debug for TrustView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustView")
            .field("open_tunnels", &self.open_tunnels())
            .finish_non_exhaustive()
    }
}

impl TrustView {
    pub fn new(snapshot: TrustSnapshot) -> Arc<Self> {
        Arc::new(TrustView {
            state: Mutex::new(ViewState {
                snapshot: Arc::new(snapshot),
                next_tunnel_id: 0,
                open: HashMap::new(),
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, ViewState> {
        // A panic elsewhere while holding the lock leaves consistent data (plain inserts).
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current snapshot.
    pub fn snapshot(&self) -> Arc<TrustSnapshot> {
        self.lock().snapshot.clone()
    }

    /// Publishes `snapshot`; open tunnels it would refuse (a lease closed, a root replaced,
    /// an edge removed) are cut at once. Returns how many were cut.
    pub fn replace(&self, snapshot: TrustSnapshot) -> usize {
        let mut state = self.lock();
        state.snapshot = Arc::new(snapshot);
        let snapshot = state.snapshot.clone();
        let mut cut = 0;
        state
            .open
            .retain(|_, (edge, token)| match edge.recheck(&snapshot) {
                Ok(()) => true,
                Err(refusal) => {
                    tracing::info!(
                        client_lease = edge.client.lease_id(),
                        server_lease = edge.server.lease_id(),
                        %refusal,
                        "cutting tunnel"
                    );
                    token.cancel();
                    cut += 1;
                    false
                }
            });
        cut
    }

    /// Edits a copy of the current snapshot and publishes it as [`Self::replace`] does.
    pub fn update(&self, edit: impl FnOnce(&mut TrustSnapshot)) -> usize {
        let mut snapshot = (*self.snapshot()).clone();
        edit(&mut snapshot);
        self.replace(snapshot)
    }

    /// Cuts every open tunnel from or to a service of `lease_id`. New handshakes are refused
    /// once the snapshot marks the lease closed; this closes what is already open.
    pub fn cut_lease(&self, lease_id: u64) -> usize {
        let mut state = self.lock();
        let before = state.open.len();
        state.open.retain(|_, (edge, token)| {
            if edge.involves(lease_id) {
                token.cancel();
                false
            } else {
                true
            }
        });
        before - state.open.len()
    }

    /// Tunnels currently open through this view.
    pub fn open_tunnels(&self) -> usize {
        self.lock().open.len()
    }

    /// Registers a tunnel whose handshake just succeeded, after checking it against the
    /// current snapshot under the same lock as [`Self::replace`], so a snapshot published
    /// during the handshake cannot miss it.
    pub(crate) fn register(self: &Arc<Self>, edge: TunnelEdge) -> Result<TunnelGuard, Refusal> {
        let mut state = self.lock();
        edge.recheck(&state.snapshot)?;
        let id = state.next_tunnel_id;
        state.next_tunnel_id += 1;
        let token = CancellationToken::new();
        state.open.insert(id, (edge, token.clone()));
        Ok(TunnelGuard {
            view: self.clone(),
            id,
            token,
        })
    }
}

/// Held by an open tunnel: cancelled when the tunnel must close, unregisters it when dropped.
pub(crate) struct TunnelGuard {
    view: Arc<TrustView>,
    id: u64,
    pub(crate) token: CancellationToken,
}

impl Drop for TunnelGuard {
    fn drop(&mut self) {
        self.view.lock().open.remove(&self.id);
    }
}
