"""SCRAM secret routes: BatchAssociateScramSecret (POST), BatchDisassociateScramSecret (PATCH) and
ListScramSecrets (GET), all on `/v1/clusters/{clusterArn}/scram-secrets`. A secret that cannot be
(dis)associated is answered in `unprocessedScramSecrets`, not with an HTTP error."""

from __future__ import annotations

from steward.api.msk.pagination import page, with_token
from steward.api.msk.routing import Body, MskRequest, Router
from steward.control.service import ClusterService
from steward.security.scram import UnprocessedScramSecret

router = Router()

SCRAM_SECRETS = "/v1/clusters/{clusterArn}/scram-secrets"


def _secret_arns(request: MskRequest) -> list[str]:
    arns = request.body.strings("secretArnList", required=True)
    assert arns is not None
    return arns


def _answer(cluster_arn: str, unprocessed: list[UnprocessedScramSecret]) -> Body:
    return {
        "clusterArn": cluster_arn,
        "unprocessedScramSecrets": [
            {"errorCode": u.error_code, "errorMessage": u.error_message, "secretArn": u.secret_arn}
            for u in unprocessed
        ],
    }


@router.add("BatchAssociateScramSecret", "POST", SCRAM_SECRETS)
def batch_associate_scram_secret(service: ClusterService, request: MskRequest) -> Body:
    arn = request.param("clusterArn")
    return _answer(arn, service.scram.associate(arn, _secret_arns(request)))


@router.add("BatchDisassociateScramSecret", "PATCH", SCRAM_SECRETS)
def batch_disassociate_scram_secret(service: ClusterService, request: MskRequest) -> Body:
    arn = request.param("clusterArn")
    return _answer(arn, service.scram.disassociate(arn, _secret_arns(request)))


@router.add("ListScramSecrets", "GET", SCRAM_SECRETS)
def list_scram_secrets(service: ClusterService, request: MskRequest) -> Body:
    items, token = page(service.scram.list(request.param("clusterArn")), request.query)
    return with_token({"secretArnList": items}, token)
