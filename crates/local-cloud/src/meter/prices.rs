//! What AWS charges, in one table: us-east-1, Lambda on arm64, on-demand, first pricing tier,
//! no free tier. Read on 2026-12-01 from the AWS pricing pages named in each row (the pages'
//! text as the project's reference search holds it); a price change is one edit here.

/// A billable unit and its price.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Price {
    /// The service, as AWS names it on the bill.
    pub service: &'static str,
    /// What is counted (the [`super::Usage`] line it prices).
    pub unit: &'static str,
    /// US dollars per one `unit`.
    pub usd: f64,
    /// Where the price is published.
    pub source: &'static str,
}

/// The date the prices were read.
pub const READ_ON: &str = "2026-12-01";

/// Step Functions Standard: state transitions.
pub const SFN_TRANSITION: &str = "Step Functions Standard state transitions";
/// Step Functions Express: requests (executions started).
pub const SFN_EXPRESS_REQUEST: &str = "Step Functions Express requests";
/// Step Functions Express: duration × memory, GB-seconds (100 ms and 64 MB steps).
pub const SFN_EXPRESS_GB_SECOND: &str = "Step Functions Express GB-seconds";
/// Lambda: requests.
pub const LAMBDA_REQUEST: &str = "Lambda requests";
/// Lambda: duration × configured memory, GB-seconds (1 ms steps), arm64.
pub const LAMBDA_GB_SECOND: &str = "Lambda GB-seconds (arm64)";
/// DynamoDB on-demand: write request units.
pub const DYNAMODB_WRU: &str = "DynamoDB write request units";
/// DynamoDB on-demand: read request units.
pub const DYNAMODB_RRU: &str = "DynamoDB read request units";
/// EventBridge: custom events put (each 64 KB chunk of an entry is one event).
pub const EVENTBRIDGE_EVENT: &str = "EventBridge custom events";
/// API Gateway HTTP API: requests (each 512 KB of a request is one).
pub const HTTP_API_REQUEST: &str = "HTTP API requests";
/// Secrets Manager: API calls.
pub const SECRETS_CALL: &str = "Secrets Manager API calls";
/// CloudWatch Logs: data ingested, GB (standard log class).
pub const LOGS_GB: &str = "CloudWatch Logs GB ingested";

/// The price table.
pub const PRICES: [Price; 11] = [
    Price {
        service: "AWS Step Functions",
        unit: SFN_TRANSITION,
        usd: 0.000_025,
        source: "https://aws.amazon.com/step-functions/pricing/ (Standard: $0.025 per 1,000 state transitions)",
    },
    Price {
        service: "AWS Step Functions",
        unit: SFN_EXPRESS_REQUEST,
        usd: 0.000_001,
        source: "https://aws.amazon.com/step-functions/pricing/ (Express: $1.00 per million requests)",
    },
    Price {
        service: "AWS Step Functions",
        unit: SFN_EXPRESS_GB_SECOND,
        usd: 0.000_016_67,
        source: "https://aws.amazon.com/step-functions/pricing/ (Express duration: $0.00001667 per GB-second, first 1,000 GB-hours)",
    },
    Price {
        service: "AWS Lambda",
        unit: LAMBDA_REQUEST,
        usd: 0.000_000_2,
        source: "https://aws.amazon.com/lambda/pricing/ ($0.20 per 1M requests)",
    },
    Price {
        service: "AWS Lambda",
        unit: LAMBDA_GB_SECOND,
        usd: 0.000_013_333_4,
        source: "https://aws.amazon.com/lambda/pricing/ (Arm: $0.0000133334 per GB-second, first 7.5 billion GB-seconds)",
    },
    Price {
        service: "Amazon DynamoDB",
        unit: DYNAMODB_WRU,
        usd: 0.000_000_625,
        source: "https://aws.amazon.com/dynamodb/pricing/on-demand/ ($0.625 per million write request units)",
    },
    Price {
        service: "Amazon DynamoDB",
        unit: DYNAMODB_RRU,
        usd: 0.000_000_125,
        source: "https://aws.amazon.com/dynamodb/pricing/on-demand/ ($0.125 per million read request units)",
    },
    Price {
        service: "Amazon EventBridge",
        unit: EVENTBRIDGE_EVENT,
        usd: 0.000_001,
        source: "https://aws.amazon.com/eventbridge/pricing/ (custom events: $1.00 per million, 64 KB chunks)",
    },
    Price {
        service: "Amazon API Gateway",
        unit: HTTP_API_REQUEST,
        usd: 0.000_001,
        source: "https://aws.amazon.com/api-gateway/pricing/ (HTTP APIs: $1.00 per million, first 300 million, 512 KB increments)",
    },
    Price {
        service: "AWS Secrets Manager",
        unit: SECRETS_CALL,
        usd: 0.000_005,
        source: "https://aws.amazon.com/secrets-manager/pricing/ ($0.05 per 10,000 API calls)",
    },
    Price {
        service: "Amazon CloudWatch",
        unit: LOGS_GB,
        usd: 0.50,
        source: "https://aws.amazon.com/cloudwatch/pricing/ (Logs, standard: $0.50 per GB ingested)",
    },
];

/// The price of `unit`.
pub fn price(unit: &str) -> Option<&'static Price> {
    PRICES.iter().find(|p| p.unit == unit)
}
