#!/usr/bin/env bash
# Redrives one of the stack's failure queues on AWS, once what failed is healthy again
# (docs/operations.md, each alarm's runbook):
#
#   scripts/redrive.sh <stack> bus            [--apply]  # BusDeadLetterQueue: each event to the target that failed
#   scripts/redrive.sh <stack> release        [--apply]  # ReleaseFailuresQueue: release-order's failed invocations again
#   scripts/redrive.sh <stack> store-status   [--apply]  # StoreStatusFailuresQueue: store-status's failed invocations again
#   scripts/redrive.sh <stack> handover       [--apply]  # HandoverDeadLetterQueue: back to the handover queue
#
# Without --apply it is a dry run that prints what it would send. Uses your AWS CLI
# credentials and region. Safe to run twice: every target is idempotent (the workflow's
# dedup, release-order's conditional take, store-status re-telling the catalogue's state,
# the handover's execution names). For the local cloud, use `local-cloud redrive`, which
# does the same from the local queues.
#
# - bus: EventBridge put the event as the body and the failed target in the TARGET_ARN
#   attribute; the event goes to that target only (StartExecution, or an asynchronous
#   Invoke), never through PutEvents, which would reach every rule. The rules pass the whole
#   event, so the body is the target's input.
# - release, store-status: Lambda's on-failure destination record; its requestPayload is
#   invoked again, asynchronously, on the function (the requestContext's ARN without its
#   qualifier, so the live alias's code takes it).
# - handover: an SQS dead-letter queue of an SQS queue: SQS's own redrive
#   (StartMessageMoveTask) moves its messages back to the handover queue.
set -euo pipefail
usage="usage: $0 <stack-name> bus|release|store-status|handover [--apply]"
stack=${1:?$usage}
kind=${2:?$usage}
apply=${3:-}
resource() {
  aws cloudformation describe-stack-resource --stack-name "$stack" --logical-resource-id "$1" \
    --query StackResourceDetail.PhysicalResourceId --output text
}
queue_url_of() {
  local q
  q=$(resource "$1")
  case "$q" in https://*) echo "$q" ;; *) aws sqs get-queue-url --queue-name "$q" --query QueueUrl --output text ;; esac
}
queue_arn_of() {
  aws sqs get-queue-attributes --queue-url "$(queue_url_of "$1")" --attribute-names QueueArn \
    --query Attributes.QueueArn --output text
}
case "$kind" in
  bus) queue=BusDeadLetterQueue ;;
  release) queue=ReleaseFailuresQueue ;;
  store-status) queue=StoreStatusFailuresQueue ;;
  handover)
    source=$(queue_arn_of HandoverDeadLetterQueue)
    destination=$(queue_arn_of HandoverQueue)
    if [ "$apply" = --apply ]; then
      aws sqs start-message-move-task --source-arn "$source" --destination-arn "$destination"
      echo "moving the handover dead letters back to $destination (aws sqs list-message-move-tasks --source-arn $source)"
    else
      aws sqs get-queue-attributes --queue-url "$(queue_url_of HandoverDeadLetterQueue)" \
        --attribute-names ApproximateNumberOfMessages --output text
      echo "would move the handover dead letters above back to $destination"
    fi
    exit 0
    ;;
  *) echo "$usage" >&2; exit 2 ;;
esac
queue_url=$(queue_url_of "$queue")
sent=0
while :; do
  batch=$(aws sqs receive-message --queue-url "$queue_url" --max-number-of-messages 10 \
    --message-attribute-names All --visibility-timeout 60 --wait-time-seconds 1 --output json)
  count=$(jq '.Messages // [] | length' <<<"$batch")
  [ "$count" -eq 0 ] && break
  for i in $(seq 0 $((count - 1))); do
    msg=$(jq ".Messages[$i]" <<<"$batch")
    body=$(jq -r .Body <<<"$msg")
    receipt=$(jq -r .ReceiptHandle <<<"$msg")
    if [ "$kind" = bus ]; then
      target=$(jq -r '.MessageAttributes.TARGET_ARN.StringValue // empty' <<<"$msg")
      payload=$body
      what=$(jq -r '"event " + (.id // "?")' <<<"$body")
    else
      target=$(jq -r '.requestContext.functionArn // empty | split(":") | .[0:7] | join(":")' <<<"$body")
      payload=$(jq -c '.requestPayload' <<<"$body")
      what=$(jq -r '"invocation " + (.requestContext.requestId // "?")' <<<"$body")
    fi
    case "$target" in
      arn:aws:states:*) action=(aws stepfunctions start-execution --state-machine-arn "$target" --input "$payload") ;;
      arn:aws:lambda:*) action=(aws lambda invoke --function-name "$target" --invocation-type Event --cli-binary-format raw-in-base64-out --payload "$payload" /dev/null) ;;
      *) echo "skip $what: unknown target '${target}'" >&2; continue ;;
    esac
    if [ "$apply" = --apply ]; then
      "${action[@]}" >/dev/null
      aws sqs delete-message --queue-url "$queue_url" --receipt-handle "$receipt"
      echo "redriven $what to $target"
      sent=$((sent + 1))
    else
      echo "would redrive $what to $target"
    fi
  done
  [ "$apply" = --apply ] || break
done
echo "$sent redriven"
