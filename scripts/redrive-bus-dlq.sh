#!/usr/bin/env bash
# Redrives the bus's dead-letter queue on AWS after an outage: each message EventBridge put
# there (the event as its body, the failed target in its TARGET_ARN attribute) is sent to that
# target again, the workflow with StartExecution, a function with an asynchronous Invoke, and
# deleted from the queue once the target took it. Nothing else on the bus sees it again (a
# PutEvents would go to every rule). The template's rules pass the whole event (no InputPath
# or InputTransformer), so the message body is the target's input.
#
#   scripts/redrive-bus-dlq.sh <stack-name>           # dry run: prints what it would send
#   scripts/redrive-bus-dlq.sh <stack-name> --apply   # sends and deletes
#
# Uses your AWS CLI credentials and region. Safe to run twice: every target is idempotent
# (the workflow's dedup, release-order's conditional take). For the local cloud, use
# `local-cloud redrive`, which does the same from the local dead letters.
set -euo pipefail
stack=${1:?usage: $0 <stack-name> [--apply]}
apply=${2:-}
queue_name=$(aws cloudformation describe-stack-resource --stack-name "$stack" \
  --logical-resource-id BusDeadLetterQueue --query StackResourceDetail.PhysicalResourceId --output text)
queue_url=$queue_name
case "$queue_url" in https://*) ;; *) queue_url=$(aws sqs get-queue-url --queue-name "$queue_name" --query QueueUrl --output text) ;; esac
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
    target=$(jq -r '.MessageAttributes.TARGET_ARN.StringValue // empty' <<<"$msg")
    id=$(jq -r '.id // "?"' <<<"$body")
    case "$target" in
      arn:aws:states:*) action=(aws stepfunctions start-execution --state-machine-arn "$target" --input "$body") ;;
      arn:aws:lambda:*) action=(aws lambda invoke --function-name "$target" --invocation-type Event --cli-binary-format raw-in-base64-out --payload "$body" /dev/null) ;;
      *) echo "skip event $id: unknown target '${target}'" >&2; continue ;;
    esac
    if [ "$apply" = --apply ]; then
      "${action[@]}" >/dev/null
      aws sqs delete-message --queue-url "$queue_url" --receipt-handle "$receipt"
      echo "redriven event $id to $target"
      sent=$((sent + 1))
    else
      echo "would redrive event $id to $target"
    fi
  done
  [ "$apply" = --apply ] || break
done
echo "$sent redriven"
