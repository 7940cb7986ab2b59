"""Steward's own route for private CAs' certificate revocation lists.

AWS Private CA writes CRLs to an S3 bucket that clients fetch; Steward has no S3, so the list is
signed afresh on each request and served here, with the conventions of Steward's other own
routes (ARN percent-encoded in the path, camelCase JSON, MSK's error shapes)."""

from __future__ import annotations

from steward.api.msk.routing import Body, MskRequest, Router
from steward.control.service import ClusterService
from steward.domain.errors import BadRequestException, NotFoundException
from steward.pca.service import PrivateCaError, ResourceNotFoundException

router = Router()


@router.add(
    "GetCertificateAuthorityCrl",
    "GET",
    "/steward/v1/certificate-authorities/{certificateAuthorityArn}/crl",
)
def get_certificate_authority_crl(service: ClusterService, request: MskRequest) -> Body:
    """The CA's current X.509 v2 CRL (PEM): every certificate it revoked, signed now."""
    arn = request.param("certificateAuthorityArn")
    try:
        crl = service.private_cas.crl_pem(arn)
    except ResourceNotFoundException as error:
        raise NotFoundException(error.message, "certificateAuthorityArn") from None
    except PrivateCaError as error:
        raise BadRequestException(error.message, "certificateAuthorityArn") from None
    return {"certificateAuthorityArn": arn, "crlPem": crl}
