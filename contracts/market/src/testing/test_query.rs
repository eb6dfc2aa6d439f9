//! Queries and their pagination.

use akash_types::market::{
    Bid, BidsResponse, ConfigResponse, ExecuteMsg, LeasesResponse, OrderState, OrdersResponse,
    QueryMsg, DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT,
};
use cosmwasm_std::{Addr, Uint128};

use super::{spec, Suite};

fn order_ids(
    s: &Suite,
    state: Option<OrderState>,
    start_after: Option<u64>,
    limit: Option<u32>,
) -> Vec<u64> {
    let r: OrdersResponse = s.query(QueryMsg::Orders {
        state,
        start_after,
        limit,
    });
    r.orders.into_iter().map(|o| o.id).collect()
}

/// Follows `start_after` page by page and returns every id.
fn all_order_ids(s: &Suite, state: Option<OrderState>, limit: u32) -> Vec<u64> {
    let mut ids = vec![];
    loop {
        let page = order_ids(s, state, ids.last().copied(), Some(limit));
        assert!(page.len() <= limit as usize);
        if page.is_empty() {
            return ids;
        }
        ids.extend(page);
    }
}

fn lease_ids(
    s: &Suite,
    tenant: Option<&Addr>,
    provider: Option<&Addr>,
    start_after: Option<u64>,
    limit: Option<u32>,
) -> Vec<u64> {
    let msg = match (tenant, provider) {
        (Some(t), None) => QueryMsg::LeasesByTenant {
            tenant: t.to_string(),
            start_after,
            limit,
        },
        (None, Some(p)) => QueryMsg::LeasesByProvider {
            provider: p.to_string(),
            start_after,
            limit,
        },
        _ => unreachable!(),
    };
    let r: LeasesResponse = s.query(msg);
    r.leases.into_iter().map(|l| l.id).collect()
}

#[test]
fn config_query() {
    let s = Suite::new();
    let c: ConfigResponse = s.query(QueryMsg::Config {});
    assert_eq!(c.token, s.token);
    assert_eq!(c.registry, s.registry);
    assert_eq!(c.staking, s.staking);
}

#[test]
fn unknown_records_name_their_id() {
    let s = Suite::new();
    assert!(s
        .query_err(QueryMsg::Order { order_id: 4 })
        .contains("order 4 not found"));
    assert!(s
        .query_err(QueryMsg::Lease { lease_id: 6 })
        .contains("lease 6 not found"));
    assert!(s
        .query_err(QueryMsg::LeaseBalance { lease_id: 6 })
        .contains("lease 6 not found"));
    let p = s.addr("p");
    assert!(s
        .query_err(QueryMsg::Bid {
            order_id: 1,
            provider: p.to_string()
        })
        .contains("no bid"));
}

#[test]
fn orders_paginate_by_id() {
    let mut s = Suite::new();
    s.check_every_step = false;
    for _ in 0..25 {
        s.create_order(spec());
    }
    assert_eq!(
        order_ids(&s, None, None, None),
        (1..=10).collect::<Vec<_>>()
    );
    assert_eq!(
        order_ids(&s, None, Some(10), Some(5)),
        (11..=15).collect::<Vec<_>>()
    );
    assert_eq!(order_ids(&s, None, Some(24), Some(5)), vec![25]);
    assert_eq!(all_order_ids(&s, None, 7), (1..=25).collect::<Vec<_>>());
}

#[test]
fn page_limits_default_and_cap() {
    let mut s = Suite::new();
    s.check_every_step = false;
    for _ in 0..(MAX_PAGE_LIMIT + 5) {
        s.create_order(spec());
    }
    assert_eq!(
        order_ids(&s, None, None, None).len(),
        DEFAULT_PAGE_LIMIT as usize
    );
    assert_eq!(
        order_ids(&s, None, None, Some(1_000)).len(),
        MAX_PAGE_LIMIT as usize
    );
    assert_eq!(
        order_ids(&s, Some(OrderState::Open), None, Some(1_000)).len(),
        MAX_PAGE_LIMIT as usize
    );
}

#[test]
fn orders_by_state_follow_every_transition() {
    let mut s = Suite::new();
    let tenant = s.tenant.clone();
    let ids: Vec<u64> = (0..6).map(|_| s.create_order(spec())).collect();
    assert_eq!(all_order_ids(&s, Some(OrderState::Open), 2), ids);

    s.execute(&tenant, ExecuteMsg::CancelOrder { order_id: ids[1] })
        .unwrap();
    s.execute(&tenant, ExecuteMsg::CancelOrder { order_id: ids[4] })
        .unwrap();
    let p = s.provider("p");
    s.bid(&p, ids[2], 10).unwrap();
    s.advance(60);
    s.do_match(ids[2]).unwrap(); // matched
    s.do_match(ids[3]).unwrap(); // no bids: expired

    assert_eq!(
        all_order_ids(&s, Some(OrderState::Open), 2),
        vec![ids[0], ids[5]]
    );
    assert_eq!(
        all_order_ids(&s, Some(OrderState::Cancelled), 1),
        vec![ids[1], ids[4]]
    );
    assert_eq!(
        all_order_ids(&s, Some(OrderState::Matched), 2),
        vec![ids[2]]
    );
    assert_eq!(
        all_order_ids(&s, Some(OrderState::Expired), 2),
        vec![ids[3]]
    );
    assert_eq!(all_order_ids(&s, None, 4), ids);
}

#[test]
fn bids_paginate_best_first_by_price_then_sequence() {
    let mut s = Suite::new();
    s.check_every_step = false;
    let mut sp = spec();
    sp.max_price_per_second = Uint128::new(1_000);
    let id = s.create_order(sp);
    let other = s.create_order(spec());
    // prices: 300, 7, 300, 45, 7, 1000, 45, ...
    let prices = [300u128, 7, 300, 45, 7, 1_000, 45, 9, 100, 7, 300, 10];
    for (i, price) in prices.iter().enumerate() {
        let p = s.provider(&format!("p{i}"));
        s.bid(&p, id, *price).unwrap();
        s.bid(&p, other, 1).unwrap(); // interleaved bids on another order
    }
    s.check_invariants();

    let mut seen: Vec<Bid> = vec![];
    loop {
        let start_after = seen.last().map(|b: &Bid| (b.price_per_second, b.sequence));
        let page: BidsResponse = s.query(QueryMsg::Bids {
            order_id: id,
            start_after,
            limit: Some(5),
        });
        assert!(page.bids.len() <= 5);
        if page.bids.is_empty() {
            break;
        }
        seen.extend(page.bids);
    }
    assert_eq!(seen.len(), prices.len());
    assert!(seen.iter().all(|b| b.order_id == id));
    let keys: Vec<(u128, u64)> = seen
        .iter()
        .map(|b| (b.price_per_second.u128(), b.sequence))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    assert_eq!(keys[0].0, 7);
    assert_eq!(keys.last().unwrap().0, 1_000);

    let first: BidsResponse = s.query(QueryMsg::Bids {
        order_id: id,
        start_after: None,
        limit: None,
    });
    assert_eq!(first.bids.len(), DEFAULT_PAGE_LIMIT as usize);
    let none: BidsResponse = s.query(QueryMsg::Bids {
        order_id: 99,
        start_after: None,
        limit: None,
    });
    assert!(none.bids.is_empty());
}

#[test]
fn leases_by_tenant_and_by_provider_paginate() {
    let mut s = Suite::new();
    s.check_every_step = false;
    let p = s.provider("p");
    let q = s.provider("q");
    let other_tenant = s.addr("other-tenant");
    let mut mine = vec![];
    let mut of_p = vec![];
    for i in 0..14u64 {
        // Alternate tenants and providers.
        s.tenant = if i % 3 == 0 {
            other_tenant.clone()
        } else {
            s.addr("tenant")
        };
        let provider = if i % 2 == 0 { &p } else { &q };
        let id = s.create_order(spec());
        s.bid(provider, id, 10).unwrap();
        s.advance(60);
        s.do_match(id).unwrap();
        let lease_id = s.order(id).lease_id.unwrap();
        if s.tenant != other_tenant {
            mine.push(lease_id);
        }
        if *provider == p {
            of_p.push(lease_id);
        }
    }
    s.check_invariants();
    let tenant = s.addr("tenant");

    let page = |s: &Suite, t: Option<&Addr>, pr: Option<&Addr>| {
        let mut ids = vec![];
        loop {
            let next = lease_ids(s, t, pr, ids.last().copied(), Some(3));
            if next.is_empty() {
                return ids;
            }
            ids.extend(next);
        }
    };
    assert_eq!(page(&s, Some(&tenant), None), mine);
    assert_eq!(page(&s, None, Some(&p)), of_p);
    assert_eq!(
        lease_ids(&s, None, Some(&q), None, None).len(),
        (14 - of_p.len()).min(DEFAULT_PAGE_LIMIT as usize)
    );
    let nobody = s.addr("nobody");
    assert!(lease_ids(&s, Some(&nobody), None, None, None).is_empty());
    let err = s.query_err(QueryMsg::LeasesByTenant {
        tenant: "not an address".into(),
        start_after: None,
        limit: None,
    });
    assert!(!err.is_empty());
}
