//! Talking to the providers' gateways: the host URI and root certificate come from the
//! registry on chain, every request is signed with the tenant's key.

use std::time::Duration;

use akash_chain_client::akash_types::market::Lease;
use akash_chain_client::MarketChain;
use akash_provider::gateway::{ClientError, GatewayClient};
use anyhow::{Context, Result};

/// Timeout of one gateway exchange.
pub const GATEWAY_TIMEOUT: Duration = Duration::from_secs(30);

/// A client of the gateway of `lease`'s provider, trusting only the root certificate the
/// provider registered.
pub async fn client_for(chain: &dyn MarketChain, lease: &Lease) -> Result<(GatewayClient, String)> {
    let provider = chain
        .provider(lease.provider.as_str())
        .await
        .with_context(|| format!("reading provider {} from the registry", lease.provider))?;
    let client = GatewayClient::new(&provider.host_uri, &provider.root_certificate_pem)
        .with_context(|| format!("the gateway of provider {}", lease.provider))?
        .with_timeout(GATEWAY_TIMEOUT);
    Ok((client, provider.host_uri))
}

/// Worth another try: the provider is unreachable for now, or failed on its side.
pub fn is_transient(error: &ClientError) -> bool {
    match error {
        ClientError::Connect { .. } | ClientError::Timeout(_) | ClientError::Http(_) => true,
        ClientError::Refused { status, .. } | ClientError::UnexpectedResponse { status, .. } => {
            *status >= 500 || *status == 408
        }
        _ => false,
    }
}
