//! Manifest distribution between providers (whitepaper 4.1): when several leases carry the
//! same manifest hash, the tenant uploads the document once; every other lease holder fetches
//! it from a provider that already holds it, checks size and sha256 against the chain, and
//! from then on serves it on (the gateway's `/v1/manifests/{sha256}` route).
//!
//! Sources are the other Active leases of the same tenant with the same hash. Each fetcher
//! walks them in an order rotated by its own lease id, so N fetchers do not all ask the same
//! provider first, and a provider that answers with anything but the document is skipped for
//! the rest of the fetch. A provider that does not hold the document yet answers 404; the
//! fetcher tries again after a growing pause. It gives up only when its caller stops it: the
//! lease manager's manifest timeout closes the lease with a reason on chain.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use akash_chain_client::{ChainError, MarketChain};
use akash_manifest::{sha256_hex, GroupManifest, MAX_DOCUMENT_BYTES};
use akash_types::market::{Lease, LeaseState};
use thiserror::Error;
use tracing::{debug, info, warn};

use crate::gateway::{ClientError, GatewayClient};
use crate::identity::IssuedCertificate;

/// Leases asked for per page when looking for sources (the market's largest page).
const LEASE_PAGE: u32 = akash_types::market::MAX_PAGE_LIMIT;
/// Most pages of the tenant's leases read per round: bounds the work a tenant with very many
/// leases can cause (100,000 leases).
const MAX_LEASE_PAGES: usize = 1000;

#[derive(Clone, Debug)]
pub struct DistributionSettings {
    /// First pause between rounds over the sources; doubled up to `max_retry`.
    pub min_retry: Duration,
    pub max_retry: Duration,
    /// One request to one source.
    pub request_timeout: Duration,
}

impl Default for DistributionSettings {
    fn default() -> Self {
        DistributionSettings {
            min_retry: Duration::from_millis(50),
            max_retry: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// Why one source did not give the document.
#[derive(Debug, Error)]
pub enum SourceError {
    #[error("querying the chain: {0}")]
    Chain(#[from] ChainError),
    #[error("{0}")]
    Gateway(#[from] ClientError),
    /// The source answered with bytes that are not the document on chain.
    #[error("provider {provider} served {len} bytes with sha256 {received}, not {expected}")]
    Corrupted {
        provider: String,
        len: usize,
        received: String,
        expected: String,
    },
    #[error("provider {provider} served the document, but it is not a valid manifest: {reason}")]
    Invalid { provider: String, reason: String },
}

impl SourceError {
    /// Will asking the same source again not help?
    fn is_bad_source(&self) -> bool {
        matches!(
            self,
            SourceError::Corrupted { .. }
                | SourceError::Invalid { .. }
                | SourceError::Gateway(
                    ClientError::UntrustedServer { .. }
                        | ClientError::InvalidHostUri { .. }
                        | ClientError::InvalidRootCertificate(_)
                )
        )
    }
}

/// Counters for logs, tests and benchmarks.
#[derive(Debug, Default)]
pub struct DistributionStats {
    /// Documents fetched and verified.
    pub fetched: AtomicU64,
    /// Bytes of verified documents received.
    pub bytes_received: AtomicU64,
    /// Answers that were not the document on chain (wrong hash, invalid, oversized).
    pub corrupted: AtomicU64,
    /// Requests to sources that did not give the document (not held yet, refused, down).
    pub misses: AtomicU64,
}

/// Fetches manifest documents from other providers as this provider (its address on chain
/// and a client certificate of its registered root).
pub struct ManifestFetcher {
    chain: Arc<dyn MarketChain>,
    client_certificate: IssuedCertificate,
    settings: DistributionSettings,
    stats: Arc<DistributionStats>,
}

impl ManifestFetcher {
    pub fn new(
        chain: Arc<dyn MarketChain>,
        client_certificate: IssuedCertificate,
        settings: DistributionSettings,
    ) -> Self {
        ManifestFetcher {
            chain,
            client_certificate,
            settings,
            stats: Arc::default(),
        }
    }

    pub fn stats(&self) -> Arc<DistributionStats> {
        Arc::clone(&self.stats)
    }

    /// The verified document of `lease` (ours), from whichever other lease holder serves it.
    /// Runs until it has it; drop the future to stop.
    pub async fn fetch(&self, lease: &Lease) -> GroupManifest {
        let mut bad_sources = BTreeSet::new();
        let mut pause = self.settings.min_retry;
        loop {
            match self.sources(lease).await {
                Ok(sources) => {
                    for source in sources {
                        if bad_sources.contains(source.provider.as_str()) {
                            continue;
                        }
                        match self.fetch_from(&source, lease).await {
                            Ok(manifest) => {
                                info!(
                                    lease_id = lease.id,
                                    source_lease = source.id,
                                    source = %source.provider,
                                    "manifest fetched from a peer provider and verified"
                                );
                                return manifest;
                            }
                            Err(error) if error.is_bad_source() => {
                                warn!(source = %source.provider, %error, "source skipped");
                                bad_sources.insert(source.provider.to_string());
                            }
                            Err(error) => {
                                self.stats.misses.fetch_add(1, Ordering::Relaxed);
                                debug!(source = %source.provider, %error, "not from this source");
                            }
                        }
                    }
                }
                Err(error) => warn!(%error, "listing the leases that share the manifest"),
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(self.settings.max_retry);
        }
    }

    /// The other Active leases of `lease`'s tenant with the same hash, on other providers,
    /// rotated by `lease.id` so that fetchers spread over the sources.
    pub async fn sources(&self, lease: &Lease) -> Result<Vec<Lease>, ChainError> {
        let mut sources = Vec::new();
        let mut start_after = None;
        for _ in 0..MAX_LEASE_PAGES {
            let page = self
                .chain
                .leases_by_tenant(lease.tenant.as_str(), start_after, Some(LEASE_PAGE))
                .await?;
            let Some(last) = page.last() else { break };
            start_after = Some(last.id);
            let full = page.len() == LEASE_PAGE as usize;
            sources.extend(page.into_iter().filter(|other| {
                other.id != lease.id
                    && other.state == LeaseState::Active
                    && other.manifest_sha256 == lease.manifest_sha256
                    && other.provider.as_str() != self.chain.address()
            }));
            if !full {
                break;
            }
        }
        if !sources.is_empty() {
            let offset = (lease.id % sources.len() as u64) as usize;
            sources.rotate_left(offset);
        }
        Ok(sources)
    }

    /// Asks `source`'s provider for the document of `lease` (ours) and checks it.
    pub async fn fetch_from(
        &self,
        source: &Lease,
        lease: &Lease,
    ) -> Result<GroupManifest, SourceError> {
        let provider = self.chain.provider(source.provider.as_str()).await?;
        let client = GatewayClient::new_as(
            &provider.host_uri,
            &provider.root_certificate_pem,
            Some(&self.client_certificate),
        )?
        .with_timeout(self.settings.request_timeout);
        let expected = &lease.manifest_sha256;
        let bytes = match client.fetch_shared_manifest(expected, lease.id).await {
            Ok(bytes) => bytes,
            Err(ClientError::ResponseTooLarge { .. }) => {
                self.stats.corrupted.fetch_add(1, Ordering::Relaxed);
                return Err(SourceError::Corrupted {
                    provider: source.provider.to_string(),
                    len: MAX_DOCUMENT_BYTES + 1,
                    received: "(more than the document limit)".to_string(),
                    expected: expected.clone(),
                });
            }
            Err(error) => return Err(error.into()),
        };
        let received = sha256_hex(&bytes);
        if &received != expected {
            self.stats.corrupted.fetch_add(1, Ordering::Relaxed);
            return Err(SourceError::Corrupted {
                provider: source.provider.to_string(),
                len: bytes.len(),
                received,
                expected: expected.clone(),
            });
        }
        let manifest =
            GroupManifest::from_document_bytes(&bytes).map_err(|e| SourceError::Invalid {
                provider: source.provider.to_string(),
                reason: e.to_string(),
            })?;
        self.stats.fetched.fetch_add(1, Ordering::Relaxed);
        self.stats
            .bytes_received
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        Ok(manifest)
    }
}
