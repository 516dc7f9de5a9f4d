//! Every state of both workflows, each written once.

use pipeline::errors::names;

use super::Flavor::{self, Express, Standard};
use super::json::{Json, null, obj};

/// The Lambda service errors AWS recommends retrying for `lambda:invoke` (a throttle, a
/// service fault, the SDK giving up; the developer guide, "Handle transient Lambda service
/// exceptions").
const LAMBDA_SERVICE: [&str; 4] = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.ClientExecutionTimeoutException",
];
/// A function at its concurrency (reserved or the account's): capacity, not a fault. The
/// Standard workflow waits it out as long as a POS outage (a throttled step is an order
/// waiting its turn; the sweeper ends one past its deadline): in the first full peak run, the
/// four quick tries shared with storage faults failed 908 orders whose pos was throttled.
const LAMBDA_THROTTLED: &str = "Lambda.TooManyRequestsException";
/// A function whose process died (crash, out of memory: `Lambda.Unknown`) or overran its
/// timeout (`Sandbox.Timedout`, as executions show it; the guide files timeouts under
/// `Lambda.Unknown`): transient, the step retried on a fresh process.
const LAMBDA_UNHANDLED: [&str; 2] = ["Lambda.Unknown", "Sandbox.Timedout"];

const LAMBDA_INVOKE: &str = "arn:aws:states:::lambda:invoke";
const PUT_EVENTS: &str = "arn:aws:states:::events:putEvents";

/// One `Retry` entry.
#[derive(Debug, Clone)]
struct Retry {
    errors: Vec<String>,
    interval: u32,
    attempts: u32,
    max_delay: u32,
    jitter: bool,
}

impl Retry {
    fn new(errors: Vec<String>, interval: u32, attempts: u32, max_delay: u32) -> Self {
        Self {
            errors,
            interval,
            attempts,
            max_delay,
            jitter: true,
        }
    }

    fn json(&self) -> Json {
        obj([
            ("ErrorEquals", self.errors.clone().into()),
            ("IntervalSeconds", self.interval.into()),
            ("MaxAttempts", self.attempts.into()),
            ("BackoffRate", 2.0.into()),
            ("MaxDelaySeconds", self.max_delay.into()),
            (
                "JitterStrategy",
                if self.jitter { "FULL" } else { "NONE" }.into(),
            ),
        ])
    }
}

fn strings(xs: &[&str]) -> Vec<String> {
    xs.iter().map(|s| (*s).to_owned()).collect()
}

/// What a step depends on besides storage and Lambda, and how long an outage of it is waited
/// out in the Standard workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dependency {
    /// Storage and Lambda only.
    None,
    /// A partner API, for the order itself (fetch, accept).
    Partner,
    /// A partner API, to compensate (deny, cancel): waited out longer.
    PartnerCompensation,
    /// The store's POS, for the order itself (the send).
    Pos,
    /// The store's POS, to compensate (a void before the partner is told): a couple of
    /// minutes, then the partner is told regardless.
    PosCompensation,
}

impl Dependency {
    fn error(self) -> Option<&'static str> {
        match self {
            Dependency::None => None,
            Dependency::Partner | Dependency::PartnerCompensation => {
                Some(names::PARTNER_UNAVAILABLE)
            }
            Dependency::Pos | Dependency::PosCompensation => Some(names::POS_UNAVAILABLE),
        }
    }

    /// The Standard workflow's retry for the dependency's outage: minutes, not seconds.
    /// The POS is tried every minute (after a first few quicker tries) for up to two hours;
    /// what ends the wait is the order's own send-by, past which pos reports
    /// `PosDeadlinePassed` and the order is voided and cancelled. A partner is waited out for
    /// about ten minutes before the order is denied (Uber Eats' acceptance window is 11.5),
    /// and a compensation (a deny, a cancel) for about twenty.
    fn standard_retry(self) -> Option<Retry> {
        let e = vec![self.error()?.to_owned()];
        Some(match self {
            Dependency::Partner => Retry::new(e, 5, 12, 60),
            Dependency::PartnerCompensation => Retry::new(e, 5, 22, 60),
            Dependency::PosCompensation => Retry::new(e, 3, 6, 60),
            _ => Retry::new(e, 5, 120, 60),
        })
    }
}

/// A Lambda step's retries: in Express one short retry of everything transient (the catch
/// hands the rest over); in Standard the dependency's own, then storage and Lambda, then a
/// dead process.
fn lambda_retries(
    flavor: Flavor,
    dep: Dependency,
    events: bool,
    storage: (u32, u32, u32),
) -> Vec<Retry> {
    let mut transient: Vec<String> = Vec::new();
    transient.push(names::STORAGE_UNAVAILABLE.to_owned());
    if events {
        transient.push(names::EVENTS_UNAVAILABLE.to_owned());
    }
    transient.extend(strings(&LAMBDA_SERVICE));
    match flavor {
        Express => {
            let mut all: Vec<String> = dep.error().map(str::to_owned).into_iter().collect();
            all.extend(transient);
            all.push(LAMBDA_THROTTLED.to_owned());
            all.extend(strings(&LAMBDA_UNHANDLED));
            vec![Retry::new(all, 1, 1, 5)]
        }
        Standard => {
            let (interval, attempts, max_delay) = storage;
            let mut out: Vec<Retry> = dep.standard_retry().into_iter().collect();
            out.push(Retry::new(transient, interval, attempts, max_delay));
            // Every few seconds, then every minute, for up to about two hours.
            out.push(Retry::new(vec![LAMBDA_THROTTLED.to_owned()], 2, 120, 60));
            out.push(Retry::new(strings(&LAMBDA_UNHANDLED), 2, 2, 10));
            out
        }
    }
}

/// The errors an Express step hands over rather than compensates: those its retry covers.
fn handed_over(retries: &[Retry]) -> Vec<String> {
    retries.iter().flat_map(|r| r.errors.clone()).collect()
}

fn catch(errors: Vec<String>, result_path: &str, next: &str) -> Json {
    obj([
        ("ErrorEquals", errors.into()),
        ("ResultPath", result_path.into()),
        ("Next", next.into()),
    ])
}

fn catch_all(result_path: &str, next: &str) -> Json {
    catch(strings(&["States.ALL"]), result_path, next)
}

/// Where a failed step goes in `flavor`: in Express, the handover of `step`; in Standard,
/// `step` itself.
fn at(flavor: Flavor, step: &str) -> String {
    match flavor {
        Express => format!("Hand over: {step}"),
        Standard => step.to_owned(),
    }
}

/// A `lambda:invoke` Task.
struct Invoke<'a> {
    comment: &'a str,
    function: &'a str,
    payload: Json,
    result_selector: Option<Json>,
    result_path: Option<&'a str>,
    retries: Vec<Retry>,
    catches: Vec<Json>,
    next: &'a str,
}

impl Invoke<'_> {
    fn json(self) -> Json {
        let mut o = vec![
            ("Type".to_owned(), Json::from("Task")),
            ("Comment".to_owned(), self.comment.into()),
            ("Resource".to_owned(), LAMBDA_INVOKE.into()),
            (
                "Parameters".to_owned(),
                obj([
                    ("FunctionName", format!("${{{}}}", self.function).into()),
                    ("Payload", self.payload),
                ]),
            ),
        ];
        if let Some(s) = self.result_selector {
            o.push(("ResultSelector".to_owned(), s));
        }
        o.push((
            "ResultPath".to_owned(),
            self.result_path.map_or_else(null, Json::from),
        ));
        o.push((
            "Retry".to_owned(),
            Json::Array(self.retries.iter().map(Retry::json).collect()),
        ));
        o.push(("Catch".to_owned(), Json::Array(self.catches)));
        o.push(("Next".to_owned(), self.next.into()));
        Json::Object(o)
    }
}

fn state(pairs: Vec<(&str, Json)>) -> Json {
    Json::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

fn succeed(comment: &str) -> Json {
    obj([("Type", "Succeed".into()), ("Comment", comment.into())])
}

fn fail(error: &str, cause: &str) -> Json {
    obj([
        ("Type", "Fail".into()),
        ("Error", error.into()),
        ("Cause", cause.into()),
    ])
}

/// A `putEvents` of the event a step built at `from` (`$.dedup.event`, …).
fn publish(flavor: Flavor, comment: &str, from: &str, next: &str) -> Json {
    let attempts = match flavor {
        Express => 2,
        Standard => 5,
    };
    obj([
        ("Type", "Task".into()),
        ("Comment", comment.into()),
        ("Resource", PUT_EVENTS.into()),
        (
            "Parameters",
            obj([(
                "Entries",
                Json::Array(vec![obj([
                    ("EventBusName", "${EventBusName}".into()),
                    ("Source.$", format!("{from}.source").into()),
                    ("DetailType.$", format!("{from}.detailType").into()),
                    ("Detail.$", format!("{from}.detail").into()),
                ])]),
            )]),
        ),
        ("ResultPath", null()),
        (
            "Retry",
            Json::Array(vec![
                Retry::new(strings(&["States.ALL"]), 1, attempts, 20).json(),
            ]),
        ),
        (
            "Catch",
            Json::Array(vec![catch_all("$.publishError", "Outcome not published")]),
        ),
        ("Next", next.into()),
    ])
}

const CORRELATION: (&str, &str) = ("correlationId.$", "$.received.metadata.correlationId");

fn payload<const N: usize>(pairs: [(&str, &str); N]) -> Json {
    obj(pairs.map(|(k, v)| (k, Json::from(v))))
}

fn dedup(flavor: Flavor) -> Json {
    let in_progress = |attempts| Retry {
        jitter: false,
        ..Retry::new(vec![names::ORDER_IN_PROGRESS.to_owned()], 2, attempts, 30)
    };
    let mut retries = vec![in_progress(match flavor {
        Express => 2,
        Standard => 6,
    })];
    retries.extend(lambda_retries(flavor, Dependency::None, false, (1, 4, 30)));
    let catches = match flavor {
        Express => vec![
            catch(
                handed_over(&retries[1..]).into_iter().fold(
                    vec![names::ORDER_IN_PROGRESS.to_owned()],
                    |mut v, e| {
                        v.push(e);
                        v
                    },
                ),
                "$.error",
                "Hand over: Dedup",
            ),
            catch_all("$.error", "Hand over: Deny unclaimed"),
        ],
        Standard => vec![catch_all("$.error", "Deny unclaimed")],
    };
    Invoke {
        comment: "Claim the partner order once; a repeat ends as a duplicate.",
        function: "DedupFunctionArn",
        payload: payload([("received.$", "$.received"), ("executionId.$", "$.owner")]),
        result_selector: Some(payload([
            ("outcome.$", "$.Payload.outcome"),
            ("event.$", "$.Payload.event"),
        ])),
        result_path: Some("$.dedup"),
        retries,
        catches,
        next: "Seen before?",
    }
    .json()
}

/// A step's catches: in Express, what its retry covers is handed over at the step; then the
/// business errors; then everything else to `fallback`.
fn step_catches(
    flavor: Flavor,
    step: &str,
    retries: &[Retry],
    result_path: &str,
    business: &[(&str, &str)],
    fallback: &str,
) -> Vec<Json> {
    let mut out = Vec::new();
    if flavor == Express {
        out.push(catch(
            handed_over(retries),
            result_path,
            &format!("Hand over: {step}"),
        ));
    }
    for (error, next) in business {
        out.push(catch(vec![(*error).to_owned()], result_path, next));
    }
    out.push(catch_all(result_path, fallback));
    out
}

fn adapt(flavor: Flavor) -> Json {
    let retries = lambda_retries(flavor, Dependency::Partner, false, (1, 4, 30));
    let catches = step_catches(
        flavor,
        "Adapt",
        &retries,
        "$.error",
        &[(names::ORDER_REJECTED, "Deny")],
        "Deny",
    );
    Invoke {
        comment: "The partner payload (fetched for notification partners) to the canonical order.",
        function: "AdaptOrderFunctionArn",
        payload: payload([("received.$", "$.received")]),
        result_selector: Some(payload([("order.$", "$.Payload.order")])),
        result_path: Some("$.adapted"),
        retries,
        catches,
        next: "Accept",
    }
    .json()
}

fn accept(flavor: Flavor) -> Json {
    let retries = lambda_retries(flavor, Dependency::Partner, false, (1, 4, 30));
    let catches = step_catches(
        flavor,
        "Accept",
        &retries,
        "$.error",
        &[
            (names::ORDER_REJECTED, "Deny"),
            (names::ORDER_CANCELLED, "Cancel with partner"),
        ],
        "Deny",
    );
    Invoke {
        comment: "The store's decision; if it takes the order, tell the partner yes.",
        function: "AcceptOrderFunctionArn",
        payload: payload([
            ("action", "accept"),
            ("order.$", "$.adapted.order"),
            CORRELATION,
        ]),
        result_selector: Some(payload([("hold.$", "$.Payload.hold")])),
        result_path: Some("$.accepted"),
        retries,
        catches,
        next: "Hold?",
    }
    .json()
}

fn release_by_time(flavor: Flavor) -> Json {
    let retries = lambda_retries(flavor, Dependency::None, true, (1, 4, 30));
    let catches = step_catches(
        flavor,
        "Release by time",
        &retries,
        "$.error",
        &[(names::ORDER_CANCELLED, "Cancel with partner")],
        "Cancel with partner",
    );
    Invoke {
        comment: match flavor {
            Express => {
                "The hold timed out: release the order by time (idempotent: a repeat finds it released)."
            }
            Standard => {
                "Release by time here when the hand-back failed, or when the Express workflow handed it over (an outage)."
            }
        },
        function: "HoldOrderFunctionArn",
        payload: payload([
            ("action", "expire"),
            ("orderId.$", "$.adapted.order.id"),
            ("storeId.$", "$.adapted.order.storeId"),
            CORRELATION,
        ]),
        result_selector: Some(payload([("releasedBy.$", "$.Payload.releasedBy")])),
        result_path: Some("$.release"),
        retries,
        catches,
        next: "Send to POS",
    }
    .json()
}

fn send_to_pos(flavor: Flavor) -> Json {
    let retries = lambda_retries(flavor, Dependency::Pos, false, (1, 4, 30));
    let void = at(flavor, "Void in POS");
    let catches = step_catches(
        flavor,
        "Send to POS",
        &retries,
        "$.error",
        &[(names::ORDER_CANCELLED, &void)],
        &void,
    );
    Invoke {
        comment: "Create the order in the store's POS (the order id is its idempotency key).",
        function: "PosFunctionArn",
        payload: payload([
            ("action", "send"),
            ("order.$", "$.adapted.order"),
            CORRELATION,
            // Its send-by: how long a POS outage is waited out.
            ("accepted.$", "$.accepted"),
        ]),
        result_selector: Some(payload([
            ("posOrderId.$", "$.Payload.posOrderId"),
            ("outcome.$", "$.Payload.outcome"),
        ])),
        result_path: Some("$.pos"),
        retries,
        catches,
        next: "Publish sent to POS",
    }
    .json()
}

/// A compensation step (deny, cancel, deny unclaimed): its own failure is recorded directly.
fn compensation(
    flavor: Flavor,
    step: &str,
    comment: &str,
    payload: Json,
    storage: (u32, u32, u32),
) -> Json {
    let retries = lambda_retries(flavor, Dependency::PartnerCompensation, false, storage);
    let catches = step_catches(
        flavor,
        step,
        &retries,
        "$.compensationError",
        &[],
        &at(flavor, "Record failure"),
    );
    Invoke {
        comment,
        function: "AcceptOrderFunctionArn",
        payload,
        result_selector: Some(payload_outcome()),
        result_path: Some("$.result"),
        retries,
        catches,
        next: "Publish outcome",
    }
    .json()
}

fn payload_outcome() -> Json {
    payload([("outcome.$", "$.Payload.outcome")])
}

fn deny(flavor: Flavor) -> Json {
    compensation(
        flavor,
        "Deny",
        "Before acceptance: tell the partner no (Order Rejected for a refusal, Order Failed otherwise).",
        payload([
            ("action", "deny"),
            ("received.$", "$.received"),
            ("error.$", "$.error"),
        ]),
        (1, 4, 30),
    )
}

fn deny_unclaimed() -> Json {
    compensation(
        Standard,
        "Deny unclaimed",
        "Dedup failed for good: settle whether this delivery owns the order by creating its record (conditional put); if it does, tell the partner no and mark it Failed (Order Failed), if another delivery does, end as Order Duplicate Ignored.",
        payload([
            ("action", "denyUnclaimed"),
            ("received.$", "$.received"),
            ("error.$", "$.error"),
            ("executionId.$", "$.owner"),
        ]),
        (2, 6, 60),
    )
}

fn cancel_with_partner(flavor: Flavor) -> Json {
    compensation(
        flavor,
        "Cancel with partner",
        "After acceptance: tell the partner the order will not be made (Order Cancelled if it asked, Order Failed otherwise).",
        payload([
            ("action", "cancel"),
            ("order.$", "$.adapted.order"),
            CORRELATION,
            ("error.$", "$.error"),
        ]),
        (1, 4, 30),
    )
}

fn void_in_pos() -> Json {
    Invoke {
        comment: "Send to POS failed after it may have created the POS order (a lost answer, a crash, a failed status write): void whatever the POS holds under the order's idempotency key, then cancel with the partner.",
        function: "PosFunctionArn",
        payload: payload([
            ("action", "void"),
            ("order.$", "$.adapted.order"),
            CORRELATION,
        ]),
        result_selector: None,
        result_path: None,
        retries: lambda_retries(Standard, Dependency::PosCompensation, false, (1, 4, 30)),
        catches: vec![catch_all("$.voidError", "Cancel with partner")],
        next: "Cancel with partner",
    }
    .json()
}

fn hold() -> Json {
    let mut o = match (Invoke {
        comment: "Wait for the kitchen's start time: released early by a courier (callback), failed by a cancellation, or timed out (released by time, in the Express workflow).",
        function: "HoldOrderFunctionArn",
        payload: payload([
            ("action", "hold"),
            ("orderId.$", "$.adapted.order.id"),
            ("storeId.$", "$.adapted.order.storeId"),
            ("plan.$", "$.accepted.hold"),
            ("taskToken.$", "$$.Task.Token"),
            CORRELATION,
        ]),
        result_selector: None,
        result_path: Some("$.release"),
        retries: lambda_retries(Standard, Dependency::None, true, (1, 4, 30)),
        catches: vec![
            catch(strings(&["States.Timeout"]), "$.holdTimeout", "Hand back"),
            catch(
                vec![names::ORDER_CANCELLED.to_owned()],
                "$.error",
                "Cancel with partner",
            ),
            catch_all("$.error", "Cancel with partner"),
        ],
        next: "Hand back",
    })
    .json()
    {
        Json::Object(o) => o,
        _ => unreachable!("a Task is an object"),
    };
    // A callback task: the token goes to hold-order, the timeout is the hold's.
    for (k, v) in &mut o {
        if k == "Resource" {
            *v = "arn:aws:states:::lambda:invoke.waitForTaskToken".into();
        }
    }
    let at = o
        .iter()
        .position(|(k, _)| k == "ResultPath")
        .unwrap_or(o.len());
    o.insert(
        at,
        (
            "TimeoutSecondsPath".to_owned(),
            "$.accepted.hold.timeoutSeconds".into(),
        ),
    );
    Json::Object(o)
}

/// The states both workflows share, from the claim to the outcome.
fn shared(flavor: Flavor) -> Vec<(&'static str, Json)> {
    vec![
        ("Dedup", dedup(flavor)),
        (
            "Seen before?",
            obj([
                ("Type", "Choice".into()),
                (
                    "Choices",
                    Json::Array(vec![
                        obj([
                            ("Variable", "$.dedup.outcome".into()),
                            ("StringEquals", "new".into()),
                            ("Next", "Adapt".into()),
                        ]),
                        obj([
                            ("Variable", "$.dedup.outcome".into()),
                            ("StringEquals", "duplicate".into()),
                            ("Next", "Publish duplicate".into()),
                        ]),
                    ]),
                ),
                ("Default", "Publish conflict".into()),
            ]),
        ),
        (
            "Publish duplicate",
            publish(
                flavor,
                "Order Duplicate Ignored.",
                "$.dedup.event",
                "Duplicate",
            ),
        ),
        (
            "Duplicate",
            succeed("A repeat delivery: nothing else to do."),
        ),
        (
            "Publish conflict",
            publish(
                flavor,
                "Order Duplicate Ignored, with payloadMismatch: the update is refused.",
                "$.dedup.event",
                "Conflict",
            ),
        ),
        (
            "Conflict",
            succeed(
                "The partner sent this order id again with a different payload: an update after placement, which no partner publishes a call for. The first version stands; the update is refused, announced (Order Duplicate Ignored, payloadMismatch) and counted (DuplicatesIgnored), not ended as a failed execution.",
            ),
        ),
        ("Adapt", adapt(flavor)),
        ("Accept", accept(flavor)),
        (
            "Hold?",
            obj([
                ("Type", "Choice".into()),
                (
                    "Choices",
                    Json::Array(vec![obj([
                        ("Variable", "$.accepted.hold".into()),
                        ("IsNull", true.into()),
                        ("Next", "Send to POS".into()),
                    ])]),
                ),
                ("Default", at(flavor, "Hold").into()),
            ]),
        ),
    ]
}

/// The states after the POS send, shared: the send's outcome, compensation, endings.
fn outcomes(flavor: Flavor) -> Vec<(&'static str, Json)> {
    vec![
        (
            "Publish sent to POS",
            publish(flavor, "Order Sent To POS.", "$.pos.outcome", "Sent to POS"),
        ),
        ("Sent to POS", obj([("Type", "Succeed".into())])),
        ("Deny", deny(flavor)),
    ]
}

fn endings(flavor: Flavor) -> Vec<(&'static str, Json)> {
    vec![
        ("Cancel with partner", cancel_with_partner(flavor)),
        (
            "Publish outcome",
            publish(
                flavor,
                "The outcome event the compensation step built.",
                "$.result.outcome",
                "Outcome?",
            ),
        ),
        (
            "Outcome?",
            obj([
                ("Type", "Choice".into()),
                (
                    "Choices",
                    Json::Array(vec![
                        obj([
                            ("Variable", "$.result.outcome.detailType".into()),
                            ("StringEquals", "Order Rejected".into()),
                            ("Next", "Rejected".into()),
                        ]),
                        obj([
                            ("Variable", "$.result.outcome.detailType".into()),
                            ("StringEquals", "Order Cancelled".into()),
                            ("Next", "Cancelled".into()),
                        ]),
                        obj([
                            ("Variable", "$.result.outcome.detailType".into()),
                            ("StringEquals", "Order Duplicate Ignored".into()),
                            ("Next", "Duplicate".into()),
                        ]),
                    ]),
                ),
                ("Default", "Failed".into()),
            ]),
        ),
        (
            "Rejected",
            succeed("A business refusal: the partner was told no."),
        ),
        (
            "Cancelled",
            succeed("The partner cancelled; acknowledged, no POS order stands."),
        ),
        (
            "Failed",
            succeed(
                "The order could not be completed: Order Failed was published with the reason and the partner told. An ending the pipeline made, so the execution succeeds; ExecutionsFailed (and its alarm) counts only executions that could not end their order.",
            ),
        ),
    ]
}

fn outcome_not_published() -> Json {
    fail(
        "OutcomeNotPublished",
        "The outcome event could not be published after retries; the execution history has it.",
    )
}

/// The steps the Express workflow hands over at, as the Standard workflow's router enters
/// them: (state, handover code).
pub const HANDOVERS: [(&str, &str); 11] = [
    ("Dedup", "dedup"),
    ("Deny unclaimed", "deny-unclaimed"),
    ("Adapt", "adapt"),
    ("Accept", "accept"),
    ("Deny", "deny"),
    ("Cancel with partner", "cancel-with-partner"),
    ("Hold", "hold"),
    ("Release by time", "release-by-time"),
    ("Send to POS", "send-to-pos"),
    ("Void in POS", "void-in-pos"),
    ("Record failure", "record-failure"),
];

fn received(comment: &str) -> Json {
    obj([
        ("Type", "Pass".into()),
        ("Comment", comment.into()),
        (
            "Parameters",
            payload([
                ("received.$", "$.detail"),
                (
                    "orderId.$",
                    "States.Format('{}.{}', $.detail.data.partner, $.detail.data.partnerOrderId)",
                ),
                ("owner.$", "$$.Execution.Id"),
            ]),
        ),
        ("Next", "Dedup".into()),
    ])
}

fn express() -> Vec<(String, Json)> {
    let mut s: Vec<(&str, Json)> = vec![
        (
            "Released?",
            obj([
                ("Type", "Choice".into()),
                (
                    "Comment",
                    "An order the Standard workflow held comes back here: timed out ($.holdTimeout), it is released by time first; released by a courier ($.release), it goes to the POS. An Order Received event starts from the top.".into(),
                ),
                (
                    "Choices",
                    Json::Array(vec![
                        obj([
                            ("Variable", "$.holdTimeout".into()),
                            ("IsPresent", true.into()),
                            ("Next", "Release by time".into()),
                        ]),
                        obj([
                            ("Variable", "$.release".into()),
                            ("IsPresent", true.into()),
                            ("Next", "Send to POS".into()),
                        ]),
                    ]),
                ),
                ("Default", "Start".into()),
            ]),
        ),
        ("Release by time", release_by_time(Express)),
        (
            "Start",
            received(
                "Keep the received order (the event's detail), its pipeline id, and the execution that owns it (this one).",
            ),
        ),
    ];
    s.extend(shared(Express));
    s.push(("Send to POS", send_to_pos(Express)));
    s.extend(outcomes(Express));
    s.extend(endings(Express));
    s.push(("Outcome not published", outcome_not_published()));
    let mut out: Vec<(String, Json)> = s.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    for (step, code) in HANDOVERS {
        out.push((
            format!("Hand over: {step}"),
            obj([
                ("Type", "Pass".into()),
                (
                    "Comment",
                    format!("Continue at {step} in the Standard workflow.").into(),
                ),
                (
                    "Parameters",
                    obj([
                        ("at", step.into()),
                        ("code", code.into()),
                        ("from.$", "$$.Execution.Id".into()),
                    ]),
                ),
                ("ResultPath", "$.handover".into()),
                ("Next", "Hand over".into()),
            ]),
        ));
    }
    out.push((
        "Hand over".to_owned(),
        state(vec![
            ("Type", "Task".into()),
            (
                "Comment",
                "Queue the handover: the handover function starts the Standard workflow at $.handover.at with this state, as fast as Standard StartExecution's quota lets it (a throttled start comes back after the queue's visibility timeout, for an hour, then waits in the dead letters for a redrive). The execution's name is the step's and the hash of the order and its owning execution, so a repeat of this handover finds the same execution, and another delivery of the order (another owner) gets its own.".into(),
            ),
            ("Resource", "arn:aws:states:::sqs:sendMessage".into()),
            (
                "Parameters",
                obj([
                    ("QueueUrl", "${HandoverQueueUrl}".into()),
                    (
                        "MessageBody",
                        payload([
                            (
                                "name.$",
                                "States.Format('{}-{}', $.handover.code, States.Hash(States.Format('{} {}', $.orderId, $.owner), 'SHA-1'))",
                            ),
                            ("input.$", "$"),
                        ]),
                    ),
                ]),
            ),
            ("ResultPath", null()),
            (
                "Retry",
                Json::Array(vec![Retry::new(strings(&["States.ALL"]), 1, 2, 5).json()]),
            ),
            (
                "Catch",
                Json::Array(vec![catch_all("$.error", "Handover failed")]),
            ),
            ("Next", "Handed over".into()),
        ]),
    ));
    out.push((
        "Handed over".to_owned(),
        succeed("The handover queue carries the order on to the Standard workflow."),
    ));
    out.push((
        "Handover failed".to_owned(),
        fail(
            "HandoverFailed",
            "The handover could not be queued (SQS refused it after retries); the order stays where it was until the sweeper ends it (alarmed).",
        ),
    ));
    out
}

fn standard() -> Vec<(String, Json)> {
    let mut choices = vec![obj([
        ("Variable", "$.handover".into()),
        ("IsPresent", false.into()),
        ("Next", "Receive".into()),
    ])];
    for (step, _) in HANDOVERS {
        choices.push(obj([
            ("Variable", "$.handover.at".into()),
            ("StringEquals", step.into()),
            ("Next", step.into()),
        ]));
    }
    let mut s: Vec<(&str, Json)> = vec![
        (
            "Start",
            obj([
                ("Type", "Choice".into()),
                (
                    "Comment",
                    "Where to begin: at the state the Express workflow handed over at ($.handover.at), or from the event (the whole workflow, as one Standard execution).".into(),
                ),
                ("Choices", Json::Array(choices)),
                ("Default", "Unknown handover".into()),
            ]),
        ),
        (
            "Receive",
            received(
                "Keep the received order (the event's detail), its pipeline id, and the execution that owns it (this one, when it starts from the event).",
            ),
        ),
        (
            "Unknown handover",
            obj([
                ("Type", "Fail".into()),
                ("Error", "UnknownHandover".into()),
                (
                    "Comment",
                    "A handover names a step this workflow does not enter at: a deploy out of step between the two workflows.".into(),
                ),
                ("CausePath", "$.handover.at".into()),
            ]),
        ),
    ];
    s.extend(shared(Standard));
    s.push(("Hold", hold()));
    s.push(("Release by time", release_by_time(Standard)));
    s.push((
        "Hand back",
        obj([
            ("Type", "Task".into()),
            (
                "Comment",
                "Released by a courier, or timed out: hand the order back to the Express workflow, which releases it by time if it timed out ($.holdTimeout), sends it to the POS and publishes the outcome. If the Express workflow cannot be started, do that here.".into(),
            ),
            ("Resource", "arn:aws:states:::states:startExecution".into()),
            (
                "Parameters",
                payload([
                    ("StateMachineArn", "${OrderWorkflowArn}"),
                    ("Input.$", "$"),
                ]),
            ),
            ("ResultPath", null()),
            (
                "Retry",
                Json::Array(vec![Retry::new(strings(&["States.ALL"]), 1, 2, 5).json()]),
            ),
            (
                "Catch",
                Json::Array(vec![catch_all("$.handbackError", "Timed out?")]),
            ),
            ("End", true.into()),
        ]),
    ));
    s.push((
        "Timed out?",
        obj([
            ("Type", "Choice".into()),
            (
                "Comment",
                "The hand-back failed: release by time here if the hold timed out, then send."
                    .into(),
            ),
            (
                "Choices",
                Json::Array(vec![obj([
                    ("Variable", "$.holdTimeout".into()),
                    ("IsPresent", true.into()),
                    ("Next", "Release by time".into()),
                ])]),
            ),
            ("Default", "Send to POS".into()),
        ]),
    ));
    s.push(("Send to POS", send_to_pos(Standard)));
    s.extend(outcomes(Standard));
    s.push(("Deny unclaimed", deny_unclaimed()));
    s.push(("Void in POS", void_in_pos()));
    s.extend(endings(Standard));
    s.push(("Record failure", record_failure()));
    s.push(("Publish failure", publish_failure()));
    s.push((
        "Compensation failed",
        fail(
            "CompensationFailed",
            "Compensation did not complete (the partner may not have been told); the order was marked Failed directly and Order Failed published. The execution fails so that it alarms.",
        ),
    ));
    s.push(("Outcome not published", outcome_not_published()));
    s.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

fn record_failure() -> Json {
    let s = |v: &str| obj([("S", v.into())]);
    let sp = |v: &str| obj([("S.$", v.into())]);
    obj([
        ("Type", "Task".into()),
        (
            "Comment",
            "Compensation itself failed: mark the order Failed directly (it leaves the sweep index: it has ended), unless it already ended or its record is another execution's (its creator owns it; records from before owners were kept fall back to the correlation id).".into(),
        ),
        ("Resource", "arn:aws:states:::dynamodb:updateItem".into()),
        (
            "Parameters",
            obj([
                ("TableName", "${OrdersTableName}".into()),
                ("Key", obj([("orderId", sp("$.orderId"))])),
                (
                    "UpdateExpression",
                    "SET #status = :failed, updatedAt = :at, reason = :reason, history = list_append(history, :change) REMOVE sweepShard, openUntilMs".into(),
                ),
                (
                    "ConditionExpression",
                    "attribute_exists(orderId) AND (createdBy = :exec OR (attribute_not_exists(createdBy) AND correlationId = :cid)) AND NOT (#status IN (:rejected, :cancelled, :failed))".into(),
                ),
                (
                    "ExpressionAttributeNames",
                    obj([("#status", "status".into())]),
                ),
                (
                    "ExpressionAttributeValues",
                    obj([
                        (":failed", s("Failed")),
                        (":rejected", s("Rejected")),
                        (":cancelled", s("Cancelled")),
                        (":at", sp("$$.State.EnteredTime")),
                        (
                            ":reason",
                            sp("States.Format('{}: compensation did not complete', $.error.Error)"),
                        ),
                        (
                            ":change",
                            obj([(
                                "L",
                                Json::Array(vec![obj([(
                                    "M",
                                    obj([
                                        ("status", s("Failed")),
                                        ("at", sp("$$.State.EnteredTime")),
                                        ("note", s("compensation failed")),
                                    ]),
                                )])]),
                            )]),
                        ),
                        (":cid", sp("$.received.metadata.correlationId")),
                        (":exec", sp("$.owner")),
                    ]),
                ),
            ]),
        ),
        ("ResultPath", null()),
        (
            "Retry",
            Json::Array(vec![
                obj([
                    (
                        "ErrorEquals",
                        vec!["DynamoDB.ConditionalCheckFailedException"].into(),
                    ),
                    ("MaxAttempts", 0u32.into()),
                ]),
                Retry::new(strings(&["States.ALL"]), 1, 3, 10).json(),
            ]),
        ),
        (
            "Catch",
            Json::Array(vec![catch_all("$.recordError", "Publish failure")]),
        ),
        ("Next", "Publish failure".into()),
    ])
}

fn publish_failure() -> Json {
    let mut p = match publish(
        Standard,
        "Order Failed, built here because no function could build it.",
        "$",
        "Compensation failed",
    ) {
        Json::Object(o) => o,
        _ => unreachable!("a Task is an object"),
    };
    let entry = obj([
        ("EventBusName", "${EventBusName}".into()),
        ("Source", "chain.orders.pipeline".into()),
        ("DetailType", "Order Failed".into()),
        (
            "Detail",
            obj([
                (
                    "metadata",
                    obj([
                        ("schemaVersion", 1u32.into()),
                        ("correlationId.$", "$.received.metadata.correlationId".into()),
                        (
                            "idempotencyKey.$",
                            "States.Format('{}/order-failed/{}', $.orderId, $.received.metadata.correlationId)".into(),
                        ),
                        ("occurredAt.$", "$$.State.EnteredTime".into()),
                    ]),
                ),
                (
                    "data",
                    obj([
                        ("orderId.$", "$.orderId".into()),
                        ("partner.$", "$.received.data.partner".into()),
                        ("storeId", null()),
                        ("error.$", "$.error.Error".into()),
                        (
                            "detail",
                            "compensation did not complete; see the execution history".into(),
                        ),
                        ("partnerNotified", false.into()),
                        ("posVoided", false.into()),
                    ]),
                ),
            ]),
        ),
    ]);
    for (k, v) in &mut p {
        if k == "Parameters" {
            *v = obj([("Entries", Json::Array(vec![entry.clone()]))]);
        }
    }
    Json::Object(p)
}

/// `flavor`'s whole definition.
pub fn definition(flavor: Flavor) -> Json {
    let (comment, start, states) = match flavor {
        Express => (
            "Express: the immediate path of an order (dedup, adapt, accept, hold or send, send to POS, publish; a refusal or a partner's cancellation told to the partner) in seconds. Retries are short so every path fits Express's five minutes; whatever may take longer (a hold, an outage, compensation after the POS) is handed over to the Standard workflow at the state it would have run next. An order the Standard workflow held comes back here once released, for the send.",
            "Released?",
            express(),
        ),
        Standard => (
            "Standard: the hold on a task token, and whatever the Express order workflow hands over because it may outlast five minutes (a partner or POS outage, an order in progress elsewhere, compensation). A released order is handed back to the Express workflow for the send (a Standard state transition costs $25 per million, an Express execution of a few hundred ms a few cents). Starts at $.handover.at, or from the Order Received event when run on its own (the Standard-only topology, kept for comparison).",
            "Start",
            standard(),
        ),
    };
    obj([
        ("Comment", comment.into()),
        ("StartAt", start.into()),
        ("States", Json::Object(states)),
    ])
}
