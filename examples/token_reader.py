"""A ServiceNow access token from the refresher's secret, for sync jobs written in Python (boto3).

What the TypeScript client does, in one small class: cache the token until it is below a minimum
validity, one read at a time per process, ask the refresher for a new token when the stored one is
too old and wait for it (bounded), and on a 401 re-read and retry once. The token is sent to the
instance address the caller names (instance_url) only, over https. Needs boto3 only.

    SNOW_INSTANCE=acme \
    SNOW_INSTANCE_URL=https://acme.service-now.com \
    ACCESS_TOKEN_SECRET_ID=servicenow-token/acme/access-token \
    REFRESHER_FUNCTION_NAME=servicenow-token-refresher \
    python3 examples/token_reader.py
"""

import base64
import hashlib
import json
import os
import random
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime

import boto3
from botocore.config import Config

TRANSIENT = {"rate-limited", "request-limited", "unavailable", "timeout", "network-error"}
WAIT_FOR_WRITER = {"refreshed", "busy", "not-due", "current-token-returned", "token-changed"}
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class TokenError(Exception):
    """Why no token could be had. The message says what to do and never contains a token."""


def expires_at(secret):
    """expiresAt as seconds since the epoch (ISO 8601 with Z or an offset)."""
    return datetime.fromisoformat(secret["expiresAt"].replace("Z", "+00:00")).timestamp()


def check_secret(secret, secret_id):
    """Names the fields that are wrong, never their values."""
    wrong = [f for f in ("instanceUrl", "accessToken", "expiresAt", "refreshedAt")
             if not isinstance(secret.get(f), str) or not secret[f]]
    if secret.get("schemaVersion") != 1:
        wrong.append("schemaVersion")
    if secret.get("tokenType") != "Bearer":
        wrong.append("tokenType")
    if "expiresAt" not in wrong:
        try:
            expires_at(secret)
        except ValueError:
            wrong.append("expiresAt")
    if wrong:
        raise TokenError(f"the secret {secret_id} is not a valid token record (wrong: {', '.join(wrong)}); "
                         "check that it is the access-token secret, not the credentials one")


def fingerprint(access_token):
    """The refresher's one-way tag of a token (sha256, base64url, 16 characters): the token never travels."""
    digest = hashlib.sha256(access_token.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:16]


def pinned_origin(instance_url):
    """scheme://host[:port] of the instance the caller names; https only (http on loopback, for rehearsals)."""
    parts = urllib.parse.urlsplit(instance_url.rstrip("/"))
    plain_ok = parts.scheme == "http" and parts.hostname in LOOPBACK
    if not (parts.scheme == "https" or plain_ok) or not parts.hostname or parts.username or parts.path:
        raise ValueError(f"instance_url {instance_url!r} must be an https instance address without a path, "
                         "e.g. https://acme.service-now.com")
    return f"{parts.scheme}://{parts.netloc}"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A bearer token must never follow a redirect to another host (hibernating instances redirect).
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class TokenReader:
    def __init__(self, instance, secret_id, refresher_function, instance_url,
                 min_validity=60.0, skew=5.0, max_wait=30.0, session=None):
        self.origin = pinned_origin(instance_url)
        session = session or boto3.session.Session()
        self._secrets = session.client("secretsmanager", config=Config(connect_timeout=5, read_timeout=10))
        # The refresher may wait in-process for a token to lapse: allow it two minutes.
        self._lambda = session.client("lambda", config=Config(connect_timeout=5, read_timeout=120,
                                                               retries={"max_attempts": 1}))
        self.instance, self.secret_id, self.refresher_function = instance, secret_id, refresher_function
        self.min_validity, self.skew, self.max_wait = min_validity, skew, max_wait
        self._lock = threading.Lock()
        self._opener = urllib.request.build_opener(_NoRedirects)
        self._cached = None
        self._rejected = None

    def get_token(self, min_validity=None):
        """The secret's record (instanceUrl, accessToken, expiresAt...), valid for min_validity seconds."""
        need = (self.min_validity if min_validity is None else min_validity) + self.skew
        with self._lock:  # one read at a time: other threads wait, then use what it found
            if self._usable(self._cached, need):
                return self._cached
            secret = self._read()
            deadline = time.time() + self.max_wait
            requests, last = 0, "no refresh asked"
            for attempt in range(30):  # bounded, as well as timed
                if self._usable(secret, need):
                    self._cached = secret
                    return secret
                if time.time() >= deadline:
                    break
                lapse = expires_at(secret) if secret else 0
                if requests < 3:
                    requests += 1
                    outcome, detail = self._request_refresh(secret)
                    last = f"{outcome} ({detail})" if detail else outcome
                    if outcome in TRANSIENT:
                        raise TokenError(f"the refresher reported {last} for {self.instance}; "
                                         "it retries by itself: try again in a minute")
                    if outcome not in WAIT_FOR_WRITER:
                        raise TokenError(f"the refresher reported {last} for {self.instance}")
                    if outcome in ("busy", "not-due"):  # another writer is at work: give it a moment
                        time.sleep(random.uniform(0.5, 1.5))
                    elif outcome == "current-token-returned" and lapse > time.time():
                        # ServiceNow hands back the current token until it lapses: no new one before.
                        deadline = max(deadline, lapse + 1.5 + self.max_wait)
                        time.sleep(lapse + 1.5 + random.random() * 0.5 - time.time())
                else:
                    time.sleep(min(2.0, 0.25 * 2 ** attempt) * random.uniform(0.75, 1.25))
                secret = self._read()
            raise TokenError(f"no token for {self.instance} valid for {need:.0f} s appeared in time "
                             f"(the refresher last reported {last}); check 'snow-token status {self.instance}'")

    def invalidate(self, access_token):
        """ServiceNow refused this token (401): never hand it out again."""
        with self._lock:
            self._rejected = access_token
            if self._cached and self._cached["accessToken"] == access_token:
                self._cached = None

    def get_json(self, path, min_validity=None):
        """GET a REST API path with the token; on a 401, re-read and retry once. Returns (status, json)."""
        token = self.get_token(min_validity)
        status, body = self._get(token, path)
        if status == 401:
            self.invalidate(token["accessToken"])
            status, body = self._get(self.get_token(min_validity), path)
        return status, body

    def _usable(self, secret, need):
        return (secret is not None and secret["accessToken"] != self._rejected
                and expires_at(secret) - time.time() >= need)

    def _read(self):
        try:
            text = self._secrets.get_secret_value(SecretId=self.secret_id).get("SecretString")
        except self._secrets.exceptions.ResourceNotFoundException:
            return None
        if text is None:
            return None
        try:
            secret = json.loads(text)
        except ValueError:
            raise TokenError(f"the secret {self.secret_id} is not JSON") from None
        check_secret(secret, self.secret_id)
        try:
            origin = pinned_origin(secret["instanceUrl"])
        except ValueError:
            origin = None
        if origin != self.origin:
            raise TokenError(f"the secret {self.secret_id} names another instance than {self.origin}; "
                             "the token was not sent: check secret_id and instance_url")
        return secret

    def _request_refresh(self, seen):
        # Asks for the token this reader saw to be replaced; the refresher answers "token-changed"
        # when the secret already holds another, and limits requests per instance and minute.
        request = {"action": "refresh", "instance": self.instance}
        if seen is not None:
            request["fingerprint"] = fingerprint(seen["accessToken"])
        payload = json.dumps(request)
        answer = self._lambda.invoke(FunctionName=self.refresher_function,
                                     InvocationType="RequestResponse", Payload=payload.encode())
        body = answer["Payload"].read().decode()
        if answer.get("FunctionError"):
            raise TokenError(f"the refresher function {self.refresher_function} failed "
                             f"({answer['FunctionError']}): {body[:300]}; see its log group")
        results = [r for r in json.loads(body)["results"] if r["instance"] == self.instance]
        if not results:
            raise TokenError(f"the refresher returned no result for {self.instance}")
        return results[0]["outcome"], results[0].get("detail", "")

    def _get(self, token, path):
        if not path.startswith("/") or path.startswith("//"):
            raise ValueError(f"path {path!r} must be a path on the instance, e.g. /api/now/table/incident")
        request = urllib.request.Request(self.origin + path, headers={
            "Authorization": f"Bearer {token['accessToken']}", "Accept": "application/json"})
        try:
            with self._opener.open(request, timeout=20) as response:
                status, content_type, raw = response.status, response.headers.get("Content-Type", ""), response.read()
        except urllib.error.HTTPError as error:
            status, content_type, raw = error.code, error.headers.get("Content-Type", ""), error.read()
        text = raw.decode("utf-8", "replace")
        # A hibernating developer instance answers with an HTML page, even with a 200.
        if "json" not in content_type or text.lstrip().startswith("<") or "hibernat" in text.lower():
            raise TokenError(f"{token['instanceUrl']} answered HTTP {status} with a page, not JSON: "
                             "the instance is hibernating, offline or behind a login page")
        return status, json.loads(text)


if __name__ == "__main__":
    reader = TokenReader(os.environ["SNOW_INSTANCE"], os.environ["ACCESS_TOKEN_SECRET_ID"],
                         os.environ["REFRESHER_FUNCTION_NAME"], os.environ["SNOW_INSTANCE_URL"])
    status, body = reader.get_json("/api/now/table/sys_user?sysparm_limit=10&sysparm_fields=sys_id")
    print(json.dumps({"status": status, "rows": len(body.get("result", []))}))
    raise SystemExit(0 if status == 200 else 1)
