//! Key schemas of the tables. The SAM template declares the same ones (a contract test
//! compares them); tests create tables in DynamoDB Local from these.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};

/// Orders: partition key.
pub const ORDERS_KEY: &str = "orderId";
/// Orders: the sweep index (open orders by shard and deadline; sparse: only open orders carry
/// its keys).
pub const ORDERS_SWEEP_INDEX: &str = "bySweepDeadline";
/// Orders: the sweep index's partition key (`pipeline::ports::sweep_shard`, as a string).
pub const ORDERS_SWEEP_SHARD_ATTR: &str = "sweepShard";
/// Orders: the sweep index's sort key, the open order's deadline (epoch milliseconds).
pub const ORDERS_OPEN_UNTIL_ATTR: &str = "openUntilMs";
/// Held orders: partition key.
pub const HELD_KEY: &str = "orderId";
/// Held orders: the by-store index.
pub const HELD_BY_STORE_INDEX: &str = "byStore";
/// Held orders: index partition key.
pub const HELD_STORE_ATTR: &str = "storeId";
/// Held orders: index sort key (epoch milliseconds).
pub const HELD_RELEASABLE_ATTR: &str = "earlyReleaseFromMs";
/// Orders: TTL attribute (epoch seconds), set when the record is created
/// ([`crate::orders::KEEP_FOR`] later).
pub const ORDERS_TTL_ATTR: &str = "expiresAt";
/// Held orders: TTL attribute (epoch seconds).
pub const HELD_TTL_ATTR: &str = "expiresAt";
/// Idempotency: partition key.
pub const IDEMPOTENCY_KEY: &str = "id";
/// Idempotency: TTL attribute (epoch seconds).
pub const IDEMPOTENCY_TTL_ATTR: &str = "expiration";

/// Documents (the claim check): partition key, the document's key.
pub const DOCUMENTS_KEY: &str = "documentKey";
/// Documents: sort key, the part number (0 holds the header).
pub const DOCUMENTS_PART: &str = "part";
/// Documents: TTL attribute (epoch seconds).
pub const DOCUMENTS_TTL_ATTR: &str = "expiresAt";
/// Stores (store documents and partner id aliases): partition key.
pub const STORES_KEY: &str = "id";
/// Menus: partition key.
pub const MENUS_KEY: &str = "menuId";
/// Menus: sort key, the version (a number).
pub const MENUS_VERSION: &str = "version";
/// Partner tokens (the fleet's shared access tokens): partition key.
pub const PARTNER_TOKENS_KEY: &str = "tokenKey";
/// Partner tokens: TTL attribute (epoch seconds).
pub const PARTNER_TOKENS_TTL_ATTR: &str = "expiresAt";
/// POS health (the stores whose POS is failing, one item each while it is): partition key.
pub const POS_HEALTH_KEY: &str = "storeId";
/// POS health: TTL attribute (epoch seconds): a record no one refreshed for a day goes.
pub const POS_HEALTH_TTL_ATTR: &str = "expiresAt";
/// Stores and menus: the document's JSON.
pub const CATALOG_DOC_ATTR: &str = "doc";

/// The tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// Orders and their history.
    Orders,
    /// Held orders' task tokens.
    Held,
    /// Dedup records.
    Idempotency,
    /// Claim-check documents (webhook bodies, canonical orders).
    Documents,
    /// The catalogue's stores.
    Stores,
    /// The catalogue's menus, by version.
    Menus,
    /// The fleet's shared partner access tokens.
    PartnerTokens,
    /// The stores whose POS is failing.
    PosHealth,
}

fn key(name: &str, kind: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .unwrap_or_else(|_| unreachable!("name and key type are set"))
}

fn attr(name: &str, kind: ScalarAttributeType) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(kind)
        .build()
        .unwrap_or_else(|_| unreachable!("name and type are set"))
}

/// Creates `table` named `name` (PAY_PER_REQUEST, with its index and TTL) and waits until it
/// is active. For tests and the local cloud.
pub async fn create(
    client: &Client,
    table: Table,
    name: &str,
) -> Result<(), aws_sdk_dynamodb::Error> {
    let mut req = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest);
    let ttl = match table {
        Table::Orders => {
            // Keys only: the sweeper reads each record (consistently) before acting on it.
            let gsi = GlobalSecondaryIndex::builder()
                .index_name(ORDERS_SWEEP_INDEX)
                .key_schema(key(ORDERS_SWEEP_SHARD_ATTR, KeyType::Hash))
                .key_schema(key(ORDERS_OPEN_UNTIL_ATTR, KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::KeysOnly)
                        .build(),
                )
                .build()
                .unwrap_or_else(|_| unreachable!("index fields are set"));
            req = req
                .key_schema(key(ORDERS_KEY, KeyType::Hash))
                .attribute_definitions(attr(ORDERS_KEY, ScalarAttributeType::S))
                .attribute_definitions(attr(ORDERS_SWEEP_SHARD_ATTR, ScalarAttributeType::S))
                .attribute_definitions(attr(ORDERS_OPEN_UNTIL_ATTR, ScalarAttributeType::N))
                .global_secondary_indexes(gsi);
            Some(ORDERS_TTL_ATTR)
        }
        Table::Held => {
            let gsi = GlobalSecondaryIndex::builder()
                .index_name(HELD_BY_STORE_INDEX)
                .key_schema(key(HELD_STORE_ATTR, KeyType::Hash))
                .key_schema(key(HELD_RELEASABLE_ATTR, KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .unwrap_or_else(|_| unreachable!("index fields are set"));
            req = req
                .key_schema(key(HELD_KEY, KeyType::Hash))
                .attribute_definitions(attr(HELD_KEY, ScalarAttributeType::S))
                .attribute_definitions(attr(HELD_STORE_ATTR, ScalarAttributeType::S))
                .attribute_definitions(attr(HELD_RELEASABLE_ATTR, ScalarAttributeType::N))
                .global_secondary_indexes(gsi);
            Some(HELD_TTL_ATTR)
        }
        Table::Idempotency => {
            req = req
                .key_schema(key(IDEMPOTENCY_KEY, KeyType::Hash))
                .attribute_definitions(attr(IDEMPOTENCY_KEY, ScalarAttributeType::S));
            Some(IDEMPOTENCY_TTL_ATTR)
        }
        Table::Documents => {
            req = req
                .key_schema(key(DOCUMENTS_KEY, KeyType::Hash))
                .key_schema(key(DOCUMENTS_PART, KeyType::Range))
                .attribute_definitions(attr(DOCUMENTS_KEY, ScalarAttributeType::S))
                .attribute_definitions(attr(DOCUMENTS_PART, ScalarAttributeType::N));
            Some(DOCUMENTS_TTL_ATTR)
        }
        Table::Stores => {
            req = req
                .key_schema(key(STORES_KEY, KeyType::Hash))
                .attribute_definitions(attr(STORES_KEY, ScalarAttributeType::S));
            None
        }
        Table::Menus => {
            req = req
                .key_schema(key(MENUS_KEY, KeyType::Hash))
                .key_schema(key(MENUS_VERSION, KeyType::Range))
                .attribute_definitions(attr(MENUS_KEY, ScalarAttributeType::S))
                .attribute_definitions(attr(MENUS_VERSION, ScalarAttributeType::N));
            None
        }
        Table::PartnerTokens => {
            req = req
                .key_schema(key(PARTNER_TOKENS_KEY, KeyType::Hash))
                .attribute_definitions(attr(PARTNER_TOKENS_KEY, ScalarAttributeType::S));
            Some(PARTNER_TOKENS_TTL_ATTR)
        }
        Table::PosHealth => {
            req = req
                .key_schema(key(POS_HEALTH_KEY, KeyType::Hash))
                .attribute_definitions(attr(POS_HEALTH_KEY, ScalarAttributeType::S));
            Some(POS_HEALTH_TTL_ATTR)
        }
    };
    req.send().await?;
    if let Some(attribute) = ttl {
        let spec = TimeToLiveSpecification::builder()
            .enabled(true)
            .attribute_name(attribute)
            .build()
            .unwrap_or_else(|_| unreachable!("fields are set"));
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(spec)
            .send()
            .await?;
    }
    Ok(())
}
