//! `akash orders` and `akash leases`: tables of the tenant's orders and leases.

use akash_chain_client::akash_types::market::{Lease, LeaseState, Order, OrderState};
use akash_chain_client::{MarketChain, Timestamp};
use anyhow::{Context, Result};

use crate::output::{self, Table};

/// Page size of the listing queries.
const PAGE: u32 = 50;

/// Follows the pages of an id-ordered listing until a short page.
async fn collect_pages<T, F, Fut>(id_of: fn(&T) -> u64, mut fetch_page: F) -> Result<Vec<T>>
where
    F: FnMut(Option<u64>) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<T>>>,
{
    let mut items = Vec::new();
    let mut start_after = None;
    loop {
        let page = fetch_page(start_after).await?;
        let last = page.last().map(id_of);
        let full = page.len() == PAGE as usize;
        items.extend(page);
        match last {
            Some(last) if full => start_after = Some(last),
            _ => return Ok(items),
        }
    }
}

/// Every order (optionally in one state), page by page.
pub async fn all_orders(chain: &dyn MarketChain, state: Option<OrderState>) -> Result<Vec<Order>> {
    collect_pages(
        |order: &Order| order.id,
        |start_after| async move {
            chain
                .orders(state, start_after, Some(PAGE))
                .await
                .context("listing orders")
        },
    )
    .await
}

/// Every lease of `tenant`, page by page.
pub async fn tenant_leases(chain: &dyn MarketChain, tenant: &str) -> Result<Vec<Lease>> {
    collect_pages(
        |lease: &Lease| lease.id,
        |start_after| async move {
            chain
                .leases_by_tenant(tenant, start_after, Some(PAGE))
                .await
                .with_context(|| format!("listing the leases of {tenant}"))
        },
    )
    .await
}

/// Every lease of `provider`, page by page.
pub async fn provider_leases(chain: &dyn MarketChain, provider: &str) -> Result<Vec<Lease>> {
    collect_pages(
        |lease: &Lease| lease.id,
        |start_after| async move {
            chain
                .leases_by_provider(provider, start_after, Some(PAGE))
                .await
                .with_context(|| format!("listing the leases of provider {provider}"))
        },
    )
    .await
}

pub fn lease_state(state: &LeaseState) -> &'static str {
    match state {
        LeaseState::Active => "active",
        LeaseState::Completed => "completed",
        LeaseState::ClosedByTenant => "closed by tenant",
        LeaseState::ClosedByProvider => "closed by provider",
    }
}

/// The orders table.
pub fn orders_table(orders: &[Order], now: Timestamp, show_tenant: bool) -> String {
    let mut header = vec!["ID", "STATE"];
    if show_tenant {
        header.push("TENANT");
    }
    header.extend([
        "UNITS",
        "UNIT RESOURCES",
        "MAX PRICE",
        "DURATION",
        "BIDS",
        "WINDOW",
        "LEASE",
        "MANIFEST",
    ]);
    let mut table = Table::new(header);
    for order in orders {
        let mut row = vec![order.id.to_string(), order.state.as_str().to_string()];
        if show_tenant {
            row.push(output::short_address(order.tenant.as_str()));
        }
        let window = if order.state == OrderState::Open {
            if now >= order.bid_window_ends_at {
                "closed, awaiting match".to_string()
            } else {
                format!("closes {}", output::relative(order.bid_window_ends_at, now))
            }
        } else {
            format!("closed {}", output::relative(order.bid_window_ends_at, now))
        };
        row.extend([
            order.spec.count.to_string(),
            output::resources(&order.spec.resources),
            output::rate(order.spec.max_price_per_second),
            output::duration(order.spec.lease_duration_secs),
            order.bid_count.to_string(),
            window,
            order
                .lease_id
                .map(|id| id.to_string())
                .unwrap_or_else(|| "-".to_string()),
            order.spec.manifest_sha256.chars().take(12).collect(),
        ]);
        table.row(row);
    }
    if table.is_empty() {
        return "no orders\n".to_string();
    }
    table.render()
}

/// The leases table.
pub fn leases_table(leases: &[Lease], now: Timestamp) -> String {
    let mut table = Table::new([
        "ID",
        "ORDER",
        "STATE",
        "PROVIDER",
        "PRICE",
        "STARTED",
        "ENDS",
        "ESCROW",
        "WITHDRAWN",
    ]);
    for lease in leases {
        let ends = match lease.closed_at {
            Some(closed) => format!("closed {}", output::relative(closed, now)),
            None => output::relative(lease.ends_at, now),
        };
        table.row([
            lease.id.to_string(),
            lease.order_id.to_string(),
            lease_state(&lease.state).to_string(),
            output::short_address(lease.provider.as_str()),
            output::rate(lease.price_per_second),
            output::relative(lease.started_at, now),
            ends,
            output::amount(lease.escrow),
            output::amount(lease.withdrawn),
        ]);
    }
    if table.is_empty() {
        return "no leases\n".to_string();
    }
    table.render()
}
