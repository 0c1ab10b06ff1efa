"""Aliyun SMS (阿里云短信服务, Dysmsapi 2017-05-25) on Aliyun's own SDK.

The SDK (alibabacloud_dysmsapi20170525 on alibabacloud_tea_openapi) signs each
call with signature V3 (ACS3-HMAC-SHA256, in the Authorization header) and
posts it to ALIYUN_SMS_ENDPOINT; this module adds what it leaves to its caller:

- SendSms with PhoneNumbers, SignName (SMS_SIGN_NAME), TemplateCode,
  TemplateParam (a JSON object of strings) and OutId (the delivery's
  idempotency key). Aliyun answers a business refusal with HTTP 200 and a
  ``Code`` other than "OK": throttling (isv.BUSINESS_LIMIT_CONTROL) and its
  own faults (isp.*) are worth a retry, the rest (an illegal number, an
  unknown template or signature, bad parameters) are not.
- QuerySendDetails answers `query`: it takes a number and a day (Beijing
  time), not an OutId, so the day's records are read page by page for ours.
- A timeout on each call (ALIYUN_SMS_TIMEOUT), and no retry inside the SDK (it
  makes none unless told): a retry is the task's, which asks first.
- Every failure of a call becomes TemporaryFailure (no answer, 5xx, HTTP
  throttling) or PermanentFailure (a 4xx refusal: a bad AccessKey or
  signature, a RAM permission missing).
"""

import json
import logging
import urllib.parse
from datetime import date

from alibabacloud_dysmsapi20170525 import models
from alibabacloud_dysmsapi20170525.client import Client
from alibabacloud_tea_openapi.exceptions import (
    AlibabaCloudException,
    ServerException,
    ThrottlingException,
)
from alibabacloud_tea_openapi.utils_models import Config
from darabonba.exceptions import UnretryableException
from darabonba.runtime import RuntimeOptions
from django.conf import settings
from django.utils.translation import gettext as _

from .base import PermanentFailure, SmsBackend, TemporaryFailure

logger = logging.getLogger(__name__)

OK = "OK"
# Business codes (HTTP 200) worth trying again later: throttled per number or
# per account, and Aliyun's own faults.
RETRY_CODES = {
    "isv.BUSINESS_LIMIT_CONTROL",
    "isv.DAY_LIMIT_CONTROL",
    "isp.SYSTEM_ERROR",
    "isp.GATEWAY_ERROR",
    "isp.UNKNOWN",
}
# HTTP 4xx codes of the API gateway that mean "too many calls", not "refused".
THROTTLING_CODES = {"Throttling", "Throttling.User", "Throttling.Api", "ServiceUnavailable"}
# QuerySendDetails: SendStatus 1 waits for the carrier's receipt, 2 failed, 3 delivered.
SEND_FAILED = 2
PAGE_SIZE = 50  # the most QuerySendDetails gives per page
REQUIRED_SETTINGS = ("ALIYUN_SMS_ACCESS_KEY_ID", "ALIYUN_SMS_ACCESS_KEY_SECRET", "SMS_SIGN_NAME")


class AliyunBackend(SmsBackend):
    def __init__(self):
        missing = [name for name in REQUIRED_SETTINGS if not getattr(settings, name)]
        if missing:
            raise PermanentFailure(
                _("Aliyun SMS is not configured: %(names)s not set.")
                % {"names": ", ".join(missing)}
            )
        endpoint = urllib.parse.urlsplit(settings.ALIYUN_SMS_ENDPOINT)
        timeout_ms = int(settings.ALIYUN_SMS_TIMEOUT * 1000)
        self.client = Client(
            Config(
                access_key_id=settings.ALIYUN_SMS_ACCESS_KEY_ID,
                access_key_secret=settings.ALIYUN_SMS_ACCESS_KEY_SECRET,
                protocol=endpoint.scheme or "https",
                endpoint=endpoint.netloc or endpoint.path,
                connect_timeout=timeout_ms,
                read_timeout=timeout_ms,
            )
        )

    def _call(self, method, request):
        """The answer's body; every failure of the call itself mapped to ours."""
        try:
            return method(request, RuntimeOptions()).body
        except (ThrottlingException, ServerException) as exc:
            raise TemporaryFailure(
                _("Aliyun SMS is busy: %(error)s") % {"error": exc.code}
            ) from exc
        except AlibabaCloudException as exc:
            if exc.code in THROTTLING_CODES:
                busy = _("Aliyun SMS is busy: %(error)s") % {"error": exc.code}
                raise TemporaryFailure(busy) from exc
            refused = _("Aliyun SMS refused the call: %(error)s") % {"error": exc.code}
            raise PermanentFailure(refused) from exc
        except UnretryableException as exc:  # no answer: refused connection, timeout
            silent = _("Aliyun SMS did not answer: %(error)s") % {"error": exc.inner_exception}
            raise TemporaryFailure(silent) from exc

    def send(self, phone: str, template_code: str, params: dict[str, str], out_id: str) -> str:
        body = self._call(
            self.client.send_sms_with_options,
            models.SendSmsRequest(
                phone_numbers=phone,
                sign_name=settings.SMS_SIGN_NAME,
                template_code=template_code,
                template_param=json.dumps(params, ensure_ascii=False),
                out_id=out_id,
            ),
        )
        if body.code == OK:
            return body.biz_id or ""
        reason = f"{body.code}: {body.message}"
        if body.code in RETRY_CODES:
            raise TemporaryFailure(_("Aliyun SMS asks to wait (%(reason)s).") % {"reason": reason})
        raise PermanentFailure(_("Aliyun SMS refused the SMS (%(reason)s).") % {"reason": reason})

    def query(self, phone: str, out_id: str, sent_on: date) -> bool | None:
        """Read the number's records of that day for `out_id`. A record that failed at
        the carrier (SendStatus 2) did not reach the phone: it alone counts as not sent."""
        page = 1
        while True:
            try:
                body = self._call(
                    self.client.query_send_details_with_options,
                    models.QuerySendDetailsRequest(
                        phone_number=phone,
                        send_date=sent_on.strftime("%Y%m%d"),
                        page_size=PAGE_SIZE,
                        current_page=page,
                    ),
                )
            except PermanentFailure as exc:
                logger.warning("aliyun sms: cannot ask about %s: %s", out_id, exc)
                return None
            if body.code != OK:
                if body.code in RETRY_CODES:
                    raise TemporaryFailure(f"{body.code}: {body.message}")
                logger.warning("aliyun sms: cannot ask about %s: %s", out_id, body.code)
                return None
            details = body.sms_send_detail_dtos
            records = (details.sms_send_detail_dto if details else None) or []
            if any(
                record.out_id == out_id and int(record.send_status or 0) != SEND_FAILED
                for record in records
            ):
                return True
            if not records or page * PAGE_SIZE >= int(body.total_count or 0):
                return False
            page += 1
