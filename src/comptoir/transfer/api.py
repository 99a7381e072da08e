"""The back-office API's transfer endpoints (mounted by comptoir.api under /api/v1/transfer):
import jobs (``api_importing``) and background export jobs (``api_exporting``)."""

from ninja import Router

from comptoir.transfer.api_exporting import router as exports
from comptoir.transfer.api_importing import router as imports

router = Router(tags=["transfer"])
router.add_router("/imports", imports)
router.add_router("/exports", exports)
