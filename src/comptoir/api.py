"""The back-office API, version 1, under /api/v1/: every app's router on one NinjaAPI, with
token or staff-session authentication, a rate limit per token and problem+json errors
(comptoir.core.api). The OpenAPI document is /api/v1/openapi.json, the interactive docs
/api/v1/docs. The storefront's API is separate (comptoir.storefront.api)."""

from comptoir.core.api import make_api
from comptoir.customers.api import router as customers
from comptoir.customers.api_bulk import router as bulk
from comptoir.groups.api import router as groups
from comptoir.staff.api import router as staff
from comptoir.staff.api_auth import API_AUTH, TokenRateThrottle
from comptoir.transfer.api import router as transfer

api = make_api(
    title="Comptoir API",
    version="1",
    description="Customers, groups, bulk actions, imports and exports of a Comptoir back-office.",
    urls_namespace="api-v1",
    auth=API_AUTH,
    throttle=[TokenRateThrottle()],
    docs_url="/docs",
    openapi_url="/openapi.json",
)
api.add_router("/customers", customers)
api.add_router("/groups", groups)
api.add_router("/transfer", transfer)
api.add_router("/bulk", bulk)
api.add_router("/tokens", staff)
