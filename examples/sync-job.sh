#!/usr/bin/env bash
# A ServiceNow API call from a shell job, with the token the refresher keeps in Secrets Manager.
# Needs the AWS CLI (v1 or v2), jq, curl, openssl and GNU date (on macOS: brew install coreutils, use gdate).
# The token goes to SNOW_INSTANCE_URL only, over https: a secret that names another host is refused.
#
#   SNOW_INSTANCE=acme \
#   SNOW_INSTANCE_URL=https://acme.service-now.com \
#   ACCESS_TOKEN_SECRET_ID=servicenow-token/acme/access-token \
#   REFRESHER_FUNCTION_NAME=servicenow-token-refresher \
#   examples/sync-job.sh '/api/now/table/sys_user?sysparm_limit=10&sysparm_fields=sys_id'
set -euo pipefail
shopt -s inherit_errexit # a failure inside $(...) stops the job too

: "${SNOW_INSTANCE:?set SNOW_INSTANCE, e.g. acme}"
: "${SNOW_INSTANCE_URL:?set SNOW_INSTANCE_URL to the instance address the token is for, e.g. https://acme.service-now.com}"
SNOW_INSTANCE_URL=${SNOW_INSTANCE_URL%/}
# https only; plain http is accepted on loopback alone, for rehearsals against a local simulator.
[[ $SNOW_INSTANCE_URL =~ ^https://[A-Za-z0-9.-]+(:[0-9]+)?$ || $SNOW_INSTANCE_URL =~ ^http://(127\.0\.0\.1|localhost|\[::1\])(:[0-9]+)?$ ]] ||
  { echo "sync-job: SNOW_INSTANCE_URL must be an https instance address without a path, e.g. https://acme.service-now.com" >&2; exit 1; }
: "${ACCESS_TOKEN_SECRET_ID:?set ACCESS_TOKEN_SECRET_ID, e.g. servicenow-token/acme/access-token}"
: "${REFRESHER_FUNCTION_NAME:?set REFRESHER_FUNCTION_NAME, e.g. servicenow-token-refresher}"
MIN_VALIDITY_SECONDS=${MIN_VALIDITY_SECONDS:-65} # what the job needs, plus 5 s for clock skew
API_PATH=${1:-/api/now/table/sys_user?sysparm_limit=1&sysparm_fields=sys_id}
# A path on the instance only: "@other.host/..." or "//other.host" would move the token elsewhere.
[[ $API_PATH =~ ^/[^/] ]] || { echo "sync-job: the API path must start with one /, e.g. /api/now/table/incident" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

fail() { echo "sync-job: $*" >&2; exit 1; }

# The secret's JSON, checked against the documented schema (field names only in errors).
read_secret() {
  local secret
  secret=$(aws secretsmanager get-secret-value --secret-id "$ACCESS_TOKEN_SECRET_ID" \
    --query SecretString --output text) || fail "cannot read $ACCESS_TOKEN_SECRET_ID (see the error above): check ACCESS_TOKEN_SECRET_ID, and that the job has secretsmanager:GetSecretValue on it"
  jq -e '.schemaVersion == 1 and .tokenType == "Bearer" and (.accessToken | type == "string")
         and (.instanceUrl | type == "string") and (.expiresAt | type == "string")' <<<"$secret" >/dev/null \
    || fail "$ACCESS_TOKEN_SECRET_ID is not a valid token record (schemaVersion, tokenType, accessToken, instanceUrl, expiresAt)"
  # Pinned: the token is only ever sent to the instance this job was given.
  [ "$(jq -r '.instanceUrl | sub("/+$"; "")' <<<"$secret")" = "$SNOW_INSTANCE_URL" ] ||
    fail "$ACCESS_TOKEN_SECRET_ID names another instance than SNOW_INSTANCE_URL ($SNOW_INSTANCE_URL); the token was not sent. Check both"
  printf '%s' "$secret"
}

# The refresher's one-way tag of a token (sha256, base64url, 16 characters): the token never travels.
token_fingerprint() { printf '%s' "$1" | openssl dgst -sha256 -binary | base64 | tr '+/' '-_' | cut -c1-16; }

seconds_left() { echo $(($(date -d "$(jq -r .expiresAt <<<"$1")" +%s) - $(date +%s))); }

# Asks the refresher to replace the token in $1 (the one this job saw); prints its outcome
# (refreshed, token-changed, busy, ...).
request_refresh() {
  printf '{"action":"refresh","instance":"%s","fingerprint":"%s"}' "$SNOW_INSTANCE" "$(token_fingerprint "$1")" >"$WORK/request.json"
  aws lambda invoke --function-name "$REFRESHER_FUNCTION_NAME" --payload "fileb://$WORK/request.json" \
    --cli-read-timeout 120 "$WORK/answer.json" >"$WORK/invoke.json" \
    || fail "cannot invoke $REFRESHER_FUNCTION_NAME (see the error above): check REFRESHER_FUNCTION_NAME, and that the job has lambda:InvokeFunction on it"
  if jq -e '.FunctionError' "$WORK/invoke.json" >/dev/null; then
    fail "the refresher failed: $(head -c 300 "$WORK/answer.json"); see its log group"
  fi
  local outcome
  outcome=$(jq -r --arg i "$SNOW_INSTANCE" '[.results[] | select(.instance == $i)][0].outcome // "none"' "$WORK/answer.json")
  case $outcome in
    refreshed | current-token-returned | token-changed | busy | not-due) echo "$outcome" ;;
    *) fail "the refresher reported $outcome for $SNOW_INSTANCE: $(jq -r '.results[0].detail // ""' "$WORK/answer.json")" ;;
  esac
}

# A token valid for MIN_VALIDITY_SECONDS, not the one in $1 (refused by ServiceNow), or exit.
fresh_secret() {
  local refused=${1:-} secret asked=0 outcome left
  secret=$(read_secret)
  for _ in $(seq 1 40); do # bounded: about 90 s, time for a token to lapse and be replaced
    if [ "$(jq -r .accessToken <<<"$secret")" != "$refused" ] && [ "$(seconds_left "$secret")" -ge "$MIN_VALIDITY_SECONDS" ]; then
      printf '%s' "$secret"
      return
    fi
    if [ "$asked" -lt 3 ]; then
      asked=$((asked + 1))
      outcome=$(request_refresh "$(jq -r .accessToken <<<"$secret")")
      left=$(seconds_left "$secret")
      # ServiceNow hands back the current token until it lapses: no new one exists before that.
      if [ "$outcome" = current-token-returned ] && [ "$left" -gt 0 ]; then sleep $((left + 2)); fi
      if [ "$outcome" = busy ] || [ "$outcome" = not-due ]; then sleep 2; fi
    else
      sleep 2
    fi
    secret=$(read_secret)
  done
  fail "no token for $SNOW_INSTANCE valid for $MIN_VALIDITY_SECONDS s appeared; check 'snow-token status $SNOW_INSTANCE'"
}

# GET with the bearer token (passed on stdin, never on the command line); prints the HTTP status.
api_get() {
  printf 'Authorization: Bearer %s\n' "$(jq -r .accessToken <<<"$1")" |
    curl -sS --max-time 20 --connect-timeout 5 -H @- -H 'Accept: application/json' \
      --proto =https,http --max-redirs 0 \
      -o "$WORK/body.json" -w '%{http_code}' "$SNOW_INSTANCE_URL$API_PATH"
}

secret=$(fresh_secret)
status=$(api_get "$secret")
if [ "$status" = 401 ]; then # revoked or lapsed early: one re-read, one retry
  secret=$(fresh_secret "$(jq -r .accessToken <<<"$secret")")
  status=$(api_get "$secret")
fi
[ "$status" = 200 ] || fail "ServiceNow answered HTTP $status: $(jq -r '.error.message // "not JSON"' "$WORK/body.json" 2>/dev/null || echo 'not JSON')"
jq -c '{rows: (.result | length)}' "$WORK/body.json"
