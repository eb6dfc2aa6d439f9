//! Events a provider daemon subscribes to: every market action carries `action` and the ids it
//! filters on (order, lease, tenant, provider) as attributes of the market's wasm event.

use akash_types::market;
use cosmwasm_std::Addr;
use cw_multi_test::AppResponse;

use crate::suite::{order_spec, Suite, MANIFEST_V2};

/// A response and the attributes its market event must carry.
struct EventCase {
    name: &'static str,
    response: AppResponse,
    expected: Vec<(&'static str, String)>,
}

fn check(suite: &Suite, cases: Vec<EventCase>) {
    for case in cases {
        for (key, value) in &case.expected {
            assert_eq!(
                Suite::event_attribute(&case.response, &suite.market, key),
                Some(value.as_str()),
                "{}: attribute {key} in {:?}",
                case.name,
                case.response.events
            );
        }
    }
}

fn send_create_order(suite: &mut Suite, tenant: &Addr) -> AppResponse {
    let (token, market_addr) = (suite.token.clone(), suite.market.clone());
    let spec = order_spec();
    let escrow = spec.max_price_per_second.u128() * u128::from(spec.lease_duration_secs);
    suite
        .send_cw20(
            &token,
            tenant,
            &market_addr,
            escrow,
            &market::ReceiveMsg::CreateOrder(spec),
        )
        .unwrap()
}

#[test]
fn market_events_carry_action_and_ids() {
    let mut suite = Suite::builder().with_providers(2).build();
    suite.onboard_providers(&[("region", "us-west")], 1_000);
    let (p1, p2, tenant) = (suite.provider(0), suite.provider(1), suite.tenant(0));
    let stranger = suite.stranger.clone();
    let s = |a: &Addr| a.to_string();

    let created = send_create_order(&mut suite, &tenant);
    let order_id = suite.wasm_attribute(&created, "order_id");
    let bid = suite.bid(&p1, order_id, 5).unwrap();
    suite.bid(&p2, order_id, 6).unwrap();
    let withdrawn_bid = suite.withdraw_bid(&p2, order_id).unwrap();
    suite.advance_secs(order_spec().bid_window_secs);
    let matched = suite
        .execute_market(&stranger, &market::ExecuteMsg::Match { order_id })
        .unwrap();
    let lease_id = suite.order(order_id).lease_id.unwrap();
    suite.advance_secs(10);
    let withdrawn = suite.withdraw(&p1, lease_id).unwrap();
    let deposited = suite.deposit_lease(&tenant, lease_id, 500).unwrap();
    let updated = suite
        .update_manifest(&tenant, lease_id, MANIFEST_V2)
        .unwrap();
    let closed = suite.close_lease(&tenant, lease_id).unwrap();

    let cancelled_order = send_create_order(&mut suite, &tenant);
    let cancelled_id = suite.wasm_attribute(&cancelled_order, "order_id");
    let cancelled = suite.cancel_order(&tenant, cancelled_id).unwrap();

    let expiring = send_create_order(&mut suite, &tenant);
    let expiring_id = suite.wasm_attribute(&expiring, "order_id");
    suite.advance_secs(order_spec().bid_window_secs);
    let expired = suite
        .execute_market(
            &stranger,
            &market::ExecuteMsg::Match {
                order_id: expiring_id,
            },
        )
        .unwrap();

    let completing = send_create_order(&mut suite, &tenant);
    let completing_id = suite.wasm_attribute(&completing, "order_id");
    suite.bid(&p2, completing_id, 7).unwrap();
    suite.advance_secs(order_spec().bid_window_secs);
    suite.match_order(&stranger, completing_id).unwrap();
    let completing_lease = suite.order(completing_id).lease_id.unwrap();
    suite.advance_secs(order_spec().lease_duration_secs);
    let completed = suite.complete_lease(&stranger, completing_lease).unwrap();

    let lease_ids = |action: &str, lease: u64, provider: &Addr| {
        vec![
            ("action", action.to_string()),
            ("lease_id", lease.to_string()),
            ("tenant", s(&tenant)),
            ("provider", s(provider)),
        ]
    };
    check(
        &suite,
        vec![
            EventCase {
                name: "create order",
                response: created,
                expected: vec![
                    ("action", "create_order".to_string()),
                    ("order_id", order_id.to_string()),
                    ("tenant", s(&tenant)),
                ],
            },
            EventCase {
                name: "place bid",
                response: bid,
                expected: vec![
                    ("action", "place_bid".to_string()),
                    ("order_id", order_id.to_string()),
                    ("tenant", s(&tenant)),
                    ("provider", s(&p1)),
                ],
            },
            EventCase {
                name: "withdraw bid",
                response: withdrawn_bid,
                expected: vec![
                    ("action", "withdraw_bid".to_string()),
                    ("order_id", order_id.to_string()),
                    ("provider", s(&p2)),
                ],
            },
            EventCase {
                name: "match",
                response: matched,
                expected: vec![
                    ("action", "match_order".to_string()),
                    ("order_id", order_id.to_string()),
                    ("lease_id", lease_id.to_string()),
                    ("tenant", s(&tenant)),
                    ("provider", s(&p1)),
                ],
            },
            EventCase {
                name: "withdraw earnings",
                response: withdrawn,
                expected: lease_ids("withdraw_earnings", lease_id, &p1),
            },
            EventCase {
                name: "deposit",
                response: deposited,
                expected: lease_ids("deposit_lease", lease_id, &p1),
            },
            EventCase {
                name: "update manifest",
                response: updated,
                expected: [
                    lease_ids("update_manifest", lease_id, &p1),
                    vec![
                        ("manifest_sha256", MANIFEST_V2.to_string()),
                        ("manifest_version", "2".to_string()),
                    ],
                ]
                .concat(),
            },
            EventCase {
                name: "close",
                response: closed,
                expected: lease_ids("close_lease", lease_id, &p1),
            },
            EventCase {
                name: "cancel",
                response: cancelled,
                expected: vec![
                    ("action", "cancel_order".to_string()),
                    ("order_id", cancelled_id.to_string()),
                    ("tenant", s(&tenant)),
                ],
            },
            EventCase {
                name: "expire",
                response: expired,
                expected: vec![
                    ("action", "order_expired".to_string()),
                    ("order_id", expiring_id.to_string()),
                    ("tenant", s(&tenant)),
                ],
            },
            EventCase {
                name: "complete",
                response: completed,
                expected: lease_ids("complete_lease", completing_lease, &p2),
            },
        ],
    );
}
