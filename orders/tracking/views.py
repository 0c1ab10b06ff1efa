"""The tracking aggregator's pushes (server to server: no session, no CSRF token)."""

import logging

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from orders import services

from . import kuaidi100

logger = logging.getLogger(__name__)


def _refused(message: str, status: int) -> JsonResponse:
    # Anything but result=true makes Kuaidi100 push again later.
    return JsonResponse(
        {"result": False, "returnCode": str(status), "message": message},
        status=status,
        json_dumps_params={"ensure_ascii": False},
    )


@csrf_exempt
@require_POST
def kuaidi100_push(request):
    """Verify the push's sign, then store its steps on the shipment (idempotent)."""
    try:
        push = kuaidi100.read_push(request.POST)
    except kuaidi100.BadPush as exc:
        logger.warning("kuaidi100 push refused: %s", exc)
        return _refused("sign error", 400)
    shipments = services.record_push(
        number=push.number,
        carrier_codes=push.carriers,
        updates=push.updates,
        aborted=push.aborted,
    )
    if not shipments:
        logger.warning("kuaidi100 push for an unknown parcel %s %s", push.carriers, push.number)
        return _refused("unknown parcel", 404)
    return JsonResponse(kuaidi100.ANSWER_OK, json_dumps_params={"ensure_ascii": False})
