"""What a broker's IAM sign-in needs from Kafka's side: the CLIENT_SASL_IAM listener's settings,
the file of signing keys the broker verifies with, and the refusal records it writes.

The listener (SASL_SSL, MSK's port 9098) offers two mechanisms: `AWS_MSK_IAM`, aws-msk-iam-auth's
own, through Steward's SASL server (`java/IamSaslServer.java`, installed by `security.providers`),
and `OAUTHBEARER` with the aws-msk-iam-sasl-signer libraries' presigned-URL tokens, through
Kafka's OAUTHBEARER server with Steward's validator (`java/IamSignInVerifier.java`) as its
callback handler. `connections.max.reauth.ms` on the listener makes Kafka end a session when its
signature expires (the credential lifetime each mechanism negotiates), unless the client signs
in again, as MSK does.

The brokers never hold a secret key. SigV4 signs with an HMAC chain: `kSecret = "AWS4" + secret`,
`kDate = HMAC(kSecret, yyyymmdd)`, `kRegion = HMAC(kDate, region)`, `kService = HMAC(kRegion,
"kafka-cluster")`, `kSigning = HMAC(kService, "aws4_request")`; a signature made on a given day
is checked with that day's `kSigning` alone. The credentials file holds `kSigning` of yesterday,
today and tomorrow (UTC) for every key that may sign in, which covers every clock skew a
sign-in may have; it is rewritten at least daily (`steward.security.iam_signin`). A session
token is kept as its SHA-256 only.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from steward.domain.signing_identity import SigningIdentity
from steward.kafka.plugins import (
    IAM_LOGIN_MODULE,
    IAM_SECURITY_PROVIDER,
    IAM_SIGN_IN_VERIFIER,
)

CLIENT_SASL_IAM = "CLIENT_SASL_IAM"
CLIENT_SASL_IAM_PORT = 9098
MECHANISMS = ("AWS_MSK_IAM", "OAUTHBEARER")
SERVICE = "kafka-cluster"
MAX_REAUTH_MS = 3_600_000
"""The longest a session lasts without signing in again; a signature's own expiry (15 minutes with
the signer libraries) ends it sooner."""

CREDENTIALS_LOCATION = "steward.iam.credentials.location"
REFUSALS_LOCATION = "steward.iam.refusals.location"
HOSTS = "steward.iam.hosts"
"""Properties the node's agent sets (`steward.agent.iam`): where the files are, and the names the
broker is reached by (a sign-in with AWS_MSK_IAM is signed for the broker's host)."""

CREDENTIALS_FILE_VERSION = 1
SIGNING_KEY_DAYS = (-1, 0, 1)


def iam_listener_settings() -> dict[str, str]:
    """The settings of a broker with the CLIENT_SASL_IAM listener (its protocol and address are
    `steward.kafka.node_config`'s)."""
    prefix = f"listener.name.{CLIENT_SASL_IAM.lower()}"
    jaas_iam = f"{IAM_LOGIN_MODULE} required;"
    jaas_oauth = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;"
    return {
        "security.providers": IAM_SECURITY_PROVIDER,
        f"{prefix}.sasl.enabled.mechanisms": ",".join(MECHANISMS),
        f"{prefix}.aws_msk_iam.sasl.jaas.config": jaas_iam,
        f"{prefix}.aws_msk_iam.sasl.server.callback.handler.class": IAM_SIGN_IN_VERIFIER,
        f"{prefix}.oauthbearer.sasl.jaas.config": jaas_oauth,
        f"{prefix}.oauthbearer.sasl.server.callback.handler.class": IAM_SIGN_IN_VERIFIER,
        f"{prefix}.connections.max.reauth.ms": str(MAX_REAUTH_MS),
    }


def has_iam_listener(properties: Mapping[str, str]) -> bool:
    return f"listener.name.{CLIENT_SASL_IAM.lower()}.sasl.enabled.mechanisms" in properties


def iam_listener_host(properties: Mapping[str, str]) -> str | None:
    """The host of the broker's CLIENT_SASL_IAM listener, from its `listeners`."""
    for listener in properties.get("listeners", "").split(","):
        name, _, address = listener.partition("://")
        if name.strip() == CLIENT_SASL_IAM:
            return address.rsplit(":", 1)[0].strip("[]")
    return None


def iam_file_locations(credentials: str, refusals: str, hosts: Iterable[str]) -> dict[str, str]:
    """The properties that point the broker's verifier at its files and name its hosts."""
    return {
        CREDENTIALS_LOCATION: credentials,
        REFUSALS_LOCATION: refusals,
        HOSTS: ",".join(hosts),
    }


# --- signing keys ---------------------------------------------------------------------------------
def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def signing_key(secret_access_key: str, day: str, region: str, service: str = SERVICE) -> bytes:
    """SigV4's `kSigning` of `day` (yyyymmdd)."""
    key = _hmac(("AWS4" + secret_access_key).encode(), day)
    return _hmac(_hmac(_hmac(key, region), service), "aws4_request")


def signing_days(now: datetime) -> list[str]:
    today = now.astimezone(UTC).date()
    return [(today + timedelta(days=d)).strftime("%Y%m%d") for d in SIGNING_KEY_DAYS]


def credentials_document(
    identities: Iterable[SigningIdentity], region: str, now: datetime
) -> dict[str, object]:
    """The credentials file's content: what may sign in, as of `now`. An identity whose
    temporary credentials have expired is left out."""
    keys = []
    days = signing_days(now)
    for identity in sorted(identities, key=lambda i: i.access_key_id):
        if identity.expires is not None and identity.expires <= now:
            continue
        keys.append(
            {
                "accessKeyId": identity.access_key_id,
                "principalArn": identity.principal_arn,
                "sessionTokenSha256": (
                    hashlib.sha256(identity.session_token.encode()).hexdigest()
                    if identity.session_token
                    else None
                ),
                "expiresMs": (
                    int(identity.expires.timestamp() * 1000)
                    if identity.expires is not None
                    else None
                ),
                "signingKeys": {
                    day: signing_key(identity.secret_access_key, day, region).hex() for day in days
                },
            }
        )
    return {"version": CREDENTIALS_FILE_VERSION, "region": region, "keys": keys}


def render_credentials(document: Mapping[str, object]) -> str:
    """The file's text: the same document, the same bytes (the agent rewrites it only when it
    changes)."""
    return json.dumps(document, sort_keys=True, separators=(",", ":")) + "\n"


# --- refusals -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RefusalLine:
    """One line of a broker's refusal file, as the verifier wrote it."""

    time: datetime
    request_id: str
    mechanism: str
    reason: str
    detail: str
    access_key_id: str | None


def parse_refusal(line: str) -> RefusalLine | None:
    """A refusal line; None for a line that is not one (a partial write, say)."""
    try:
        record = json.loads(line)
        when = datetime.fromisoformat(str(record["time"]).replace("Z", "+00:00"))
        return RefusalLine(
            when,
            str(record.get("requestId") or ""),
            str(record["mechanism"]),
            str(record["reason"]),
            str(record.get("detail") or ""),
            record.get("accessKeyId"),
        )
    except (ValueError, KeyError, TypeError):
        return None
