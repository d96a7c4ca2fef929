"""schemathesis hooks of infra/local/schemathesis.sh.

- Veriff signs each webhook body (X-HMAC-SIGNATURE: lower-case hex HMAC-SHA256 of the raw
  body under the shared secret). schemathesis.toml puts a placeholder signature on the cases
  it authenticates; here the body is serialized once and signed, so that the bytes sent are
  the bytes signed. A case without the placeholder is sent as it is.
- A user may only use their own referenceNo (403 otherwise, by design): positive cases of
  the app routes name the token's referenceNo, so that they reach the handler's logic;
  negative cases keep what was generated.
- A Veriff session callback must name a host of VeriffCallbackHosts (schemathesis.sh sets
  app.example.test): positive cases keep the generated path, query and fragment on that
  host, so that they reach the handler's logic.
"""

import hashlib
import hmac
import json
import os
import re

import schemathesis
from schemathesis.core import NotSet

SECRET = os.environ.get("VERIFF_SHARED_SECRET", "local-veriff-shared-secret").encode()
REFERENCE_NO = os.environ.get("KYC_REFERENCE_NO", "")
PLACEHOLDER = "signed-by-hooks.py"
CALLBACK_HOST = "app.example.test"
_ORIGIN = re.compile(r"^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?")


def _positive(case):
    meta = getattr(case, "meta", None)
    return meta is not None and meta.generation.mode.is_positive


@schemathesis.hook
def before_call(context, case, kwargs):
    op = case.operation.definition.raw.get("operationId")
    if op == "veriffWebhook":
        _sign(case, kwargs)
    elif op == "reportJourney" and _positive(case) and isinstance(case.body, dict) and REFERENCE_NO:
        case.body["referenceNo"] = REFERENCE_NO
    elif op == "getProfile" and _positive(case) and REFERENCE_NO:
        case.path_parameters["referenceNo"] = REFERENCE_NO
    elif op == "createVeriffSession" and _positive(case) and isinstance(case.body, dict):
        cb = case.body.get("callback")
        if isinstance(cb, str) and cb:
            case.body["callback"] = _on_allowed_host(cb)


def _sign(case, kwargs):
    headers = case.headers or {}
    name = next((k for k in headers if k.lower() == "x-hmac-signature"), None)
    if name is None or headers[name] != PLACEHOLDER:
        return
    if isinstance(case.body, NotSet):
        raw = b""
    else:
        try:
            raw = json.dumps(case.body, allow_nan=False).encode()
        except (TypeError, ValueError):
            return  # not JSON (a binary negative case): sent unsigned, refused with 401
        kwargs["data"] = raw
    headers[name] = hmac.new(SECRET, raw, hashlib.sha256).hexdigest()
    case.headers = headers


def _on_allowed_host(url):
    """url with its scheme, host and port replaced by the allowed host, at most 1024
    characters, never cut inside a %-escape."""
    out = _ORIGIN.sub("https://" + CALLBACK_HOST, url, count=1)
    while len(out) > 1024 or "%" in out[-2:]:
        out = out[:-1]
    return out
