"""Settings for the mall, driven by the environment (django-environ).

Every variable is optional: unset, the project runs on its embedded default
(SQLite file, Celery tasks run eagerly on commit, local-memory cache, console
email). `.env.example` lists them all and README.md explains each.
"""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _
from pythonjsonlogger.core import RESERVED_ATTRS

from core.task_policy import VISIBILITY_TIMEOUT  # the broker's redelivery delay

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
# The default key only serves the embedded demo; `check --deploy` flags it, so
# production must set DJANGO_SECRET_KEY.
SECRET_KEY = env.str(
    "DJANGO_SECRET_KEY", default="django-insecure-embedded-demo-key-change-me-in-production"
)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # Django's admin as the shop's back office, the dashboard its home (reports.admin_site).
    "reports.apps.MallAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "mptt",
    "core",
    "accounts",
    "catalog",
    "orders",
    "payments",
    "distributors",
    "commissions",
    "marketing",
    "crm",
    "support",
    "notifications",
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "distributors.middleware.ReferralMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "orders.context_processors.cart_summary",
                "core.context_processors.language_links",
                "notifications.context_processors.unread_counts",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
# Sizing the connections. Every web worker process and every Celery worker process
# keeps its own pool; a gunicorn thread holds one connection per alias at a time,
# so a web worker never uses more than min(GUNICORN_THREADS, DATABASE_POOL_MAX)
# (twice that with a replica, on the replica's server). Keep
#     hosts × WEB_CONCURRENCY × min(GUNICORN_THREADS, DATABASE_POOL_MAX)
#   + hosts × WORKER_CONCURRENCY (a prefork child holds one) + 1 (beat)
#   ≤ PostgreSQL's max_connections (100 by default) − about 10 for admins,
#     migrations and monitoring;
# e.g. 2 hosts × 2 workers × 8 threads + 2 × 2 Celery children + 1 = 37. Past that,
# put pgbouncer in front (DATABASE_POOL=false) rather than raise max_connections.
# A request waits at most DATABASE_POOL_TIMEOUT seconds for a pooled connection,
# then gets the "busy, try again" page (503, core.busy) instead of queueing until
# gunicorn's timeout kills it.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
# Optional: a PostgreSQL streaming replica for the reports and the dashboard only
# (core.replica.reading_replica(), routed by core.db_routers.ReplicaRouter). It lags
# the primary by a moment (seconds under load): a merchant's dashboard may be that
# far behind. Checkout, payments, balances and anything that writes, or reads what
# it just wrote, always use the primary. Unset: everything reads the primary.
if env.str("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = env.db("DATABASE_REPLICA_URL")
    # Tests read the replica through the primary's test database.
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["core.db_routers.ReplicaRouter"]
for _database in DATABASES.values():
    if _database["ENGINE"] == "django.db.backends.postgresql":
        # psycopg 3's pool; on by default, DATABASE_POOL=false for pgbouncer setups.
        if env.bool("DATABASE_POOL", default=True):
            _database.setdefault("OPTIONS", {})["pool"] = {
                "min_size": env.int("DATABASE_POOL_MIN", default=1),
                "max_size": env.int("DATABASE_POOL_MAX", default=20),
                "timeout": env.float("DATABASE_POOL_TIMEOUT", default=5),
            }
        else:
            _database["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    elif _database["ENGINE"] == "django.db.backends.sqlite3":
        # The demo runs a Celery worker beside runserver on the same file: take the
        # write lock at BEGIN and wait for it rather than failing with "locked".
        _database["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
IS_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
# A checkout waits at most this long for the row locks of its cart's stock (a hot
# item's buyers queue there), then tells the shopper to try again (orders.services).
CHECKOUT_LOCK_TIMEOUT_MS = env.int("CHECKOUT_LOCK_TIMEOUT_MS", default=3000)

# --- Cache and sessions ---------------------------------------------------------
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://mall")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # One client per pool, and an outage degrades to misses (core/cache.py).
    CACHES["default"]["BACKEND"] = "core.cache.RedisCache"
    # Fail fast when Redis is down or unreachable: a request makes a few cache
    # calls, each may wait this long before it counts as a miss.
    CACHES["default"].setdefault("OPTIONS", {}).update(
        {
            "socket_connect_timeout": env.float("CACHE_CONNECT_TIMEOUT", default=0.5),
            "socket_timeout": env.float("CACHE_SOCKET_TIMEOUT", default=0.5),
        }
    )
# After a cache error, skip the cache for this long (per process) before trying again.
CACHE_RETRY_SECONDS = env.float("CACHE_RETRY_SECONDS", default=5)
SESSION_ENGINE = (
    "django.contrib.sessions.backends.cached_db"
    if CACHES["default"]["BACKEND"] != "django.core.cache.backends.locmem.LocMemCache"
    else "django.contrib.sessions.backends.db"
)

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "catalog:home"
LOGOUT_REDIRECT_URL = "catalog:home"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Sign-in security (accounts): lockout after failed sign-ins, staff second factor ----
INSTALLED_APPS += [
    "accounts.security_apps.SignInLockoutConfig",  # axes
    "django_otp",
    "accounts.security_apps.AuthenticatorConfig",  # django_otp.plugins.otp_totp
]
AUTHENTICATION_BACKENDS = [
    # django-axes first: a locked-out username or address is refused before any password check.
    "accounts.backends.LoginAttemptsBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# request.user.is_verified() (django-otp) right after the user is known; the staff
# second-factor gate after it; axes turns a lockout into its page, so it comes last.
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
    "django_otp.middleware.OTPMiddleware",
)
MIDDLEWARE.insert(
    MIDDLEWARE.index("django_otp.middleware.OTPMiddleware") + 1,
    "accounts.middleware.StaffSecondFactorMiddleware",
)
MIDDLEWARE.append("axes.middleware.AxesMiddleware")
# After this many failed sign-ins a username, and an address, is locked out (shop and admin).
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=30))
# Each counted on its own: guessing one account from many addresses, or many
# accounts from one address, is stopped either way.
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
# The visitor's address as core.devices reads it (TRUSTED_PROXY_COUNT), never a header they write.
AXES_CLIENT_IP_CALLABLE = "core.devices.client_ip"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
# Merchant staff who can approve payouts or refunds sign in to the admin with a
# TOTP code (authenticator app) as well as their password.
STAFF_OTP_REQUIRED = env.bool("STAFF_OTP_REQUIRED", default=False)
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Zuixiang Mall")

# --- Internationalisation -------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static and media files -----------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG
# Files only their owners may read (customer-service pictures): never served as
# static or media files, only through views that check who asks.
PRIVATE_MEDIA_ROOT = env.path("PRIVATE_MEDIA_ROOT", default=BASE_DIR / "var" / "private")
STORAGES["private"] = {
    "BACKEND": "django.core.files.storage.FileSystemStorage",
    "OPTIONS": {"location": str(PRIVATE_MEDIA_ROOT), "base_url": "/unserved/"},
}
# The largest picture a shopper or staff member may attach in a conversation.
SUPPORT_MAX_PICTURE_BYTES = env.int("SUPPORT_MAX_PICTURE_BYTES", default=5 * 1024 * 1024)

# --- Email --------------------------------------------------------------------
vars().update(env.email("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="mall@example.com")
# Seconds an SMTP step may take: shorter than the lease a notification's sender holds
# (notifications.deliveries.LEASE), so a hung mail server never lets a second worker
# send the same email.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)

# --- Notifications: site messages, email and SMS (notifications/) -------------
# The SMS provider: "console" (prints, the default) or "aliyun" (Aliyun SMS).
SMS_BACKEND = env.str("SMS_BACKEND", default="console")
# The provider's approved template code per kind of event; a kind left out sends
# no SMS. SMS_TEMPLATES="order_shipped=SMS_1234,withdrawal_paid=SMS_5678"
SMS_TEMPLATES = env.dict(
    "SMS_TEMPLATES",
    default={
        kind: f"DEMO_{kind.upper()}"
        for kind in (
            "order_shipped",
            "refund_decided",
            "withdrawal_paid",
            "withdrawal_rejected",
            "application_decided",
            "staff_reply",
        )
    },
)
# The signature (签名) approved at the provider that every SMS starts with: 【醉香商城】.
SMS_SIGN_NAME = env.str("SMS_SIGN_NAME", default="")
# At most this many SMS to one number per minute, hour and day (Aliyun's own limits for
# one signature); over the minute limit the SMS waits, over the hour or day it is not sent.
# SMS_RATE_LIMITS="minute=1,hour=5,day=10"; a window left out has no limit.
SMS_RATE_LIMITS = {
    window: int(count)
    for window, count in env.dict(
        "SMS_RATE_LIMITS", default={"minute": 1, "hour": 5, "day": 10}
    ).items()
}
# Aliyun SMS (阿里云短信服务, Dysmsapi): an AccessKey of a RAM user allowed to send SMS.
ALIYUN_SMS_ACCESS_KEY_ID = env.str("ALIYUN_SMS_ACCESS_KEY_ID", default="")
ALIYUN_SMS_ACCESS_KEY_SECRET = env.str("ALIYUN_SMS_ACCESS_KEY_SECRET", default="")
ALIYUN_SMS_ENDPOINT = env.str("ALIYUN_SMS_ENDPOINT", default="https://dysmsapi.aliyuncs.com")
ALIYUN_SMS_TIMEOUT = env.float("ALIYUN_SMS_TIMEOUT", default=10.0)  # seconds per call

# --- Security (production sets these through the environment) ------------------
# Trust X-Forwarded-Proto only behind a reverse proxy that sets it (and drops a
# client's own): otherwise any client could claim https by sending the header.
if env.bool("DJANGO_SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# How many reverse proxies in front of gunicorn append to X-Forwarded-For: the
# shopper's IP (WeChat Pay's H5 checks it) is read from there, never from a
# header the client could write. 0: REMOTE_ADDR is the shopper.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=False)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0)
# Each is a promise for every subdomain / a request to browsers' preload lists, hard
# to take back: only when asked for.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
# Leaving them off is a decision (the variables above), not an oversight to warn about.
SILENCED_SYSTEM_CHECKS = ["security.W005", "security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Content Security Policy (django-csp) on every response: scripts only from our own
# static files (templates carry no inline script and no on*= handler; a test scans
# them), no framing, no plugins. Inline style *attributes* stay allowed (style-src-attr):
# django-mptt's admin indents the category tree with them and the admin's widgets set
# some; <style> elements are not. form-action also lists the offered gateways'
# origins (payments.csp), where "Pay" redirects the shopper to.
from csp.constants import NONE, SELF, UNSAFE_INLINE  # noqa: E402

INSTALLED_APPS += ["csp"]
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
    "payments.csp.GatewayCSPMiddleware",
)
TEMPLATES[0]["OPTIONS"]["context_processors"].append("csp.context_processors.nonce")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "style-src-attr": [UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "object-src": [NONE],
        "base-uri": [SELF],
    }
}

# --- Celery -------------------------------------------------------------------
# No broker configured: tasks run eagerly, in-process, once the transaction that
# enqueued them commits. `make run` points the broker at kombu's filesystem
# transport so a real worker and beat run beside runserver.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = CELERY_TASK_ALWAYS_EAGER and DEBUG
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # A task whose worker died is delivered again after this many seconds (10
    # minutes). It must stay longer than any countdown, retry backoff and task
    # time limit (core/task_policy.py says why and tests/core checks it), or a
    # task still waiting in a live worker would run a second time.
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=VISIBILITY_TIMEOUT),
    # How often a worker looks for such tasks (kombu's default is every 100 s).
    "unacked_restore_interval": env.int("CELERY_UNACKED_RESTORE_INTERVAL", default=60),
    "unacked_restore_throttle": 1,
    # A broker that is down or unreachable fails a send in about a second, not
    # after the OS's TCP timeout; core.outbox keeps the message meanwhile.
    "socket_connect_timeout": env.float("CELERY_BROKER_CONNECT_TIMEOUT", default=1),
    "socket_timeout": env.float("CELERY_BROKER_SOCKET_TIMEOUT", default=5),
}
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECT_TIMEOUT", default=1)
# A publish retries once, at once: a request never waits long for a broker that is
# down (the outbox sweep sends the message later).
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
# After a failed send, leave new messages to the outbox sweep for this long (per process).
OUTBOX_BROKER_RETRY_SECONDS = env.float("OUTBOX_BROKER_RETRY_SECONDS", default=10)
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = Path(env.str("CELERY_FILESYSTEM_DIR", default=str(BASE_DIR / "var" / "broker")))
    CELERY_BROKER_TRANSPORT_OPTIONS.update(
        {
            "data_folder_in": str(_broker_dir),
            "data_folder_out": str(_broker_dir),
            "processed_folder": str(_broker_dir / "processed"),
            "control_folder": str(_broker_dir / "control"),
            "store_processed": False,
        }
    )
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="mall")
CELERY_BEAT_SCHEDULE_FILENAME = str(
    env.path("CELERY_BEAT_SCHEDULE_FILENAME", default=BASE_DIR / "var" / "celerybeat-schedule")
)

# --- Business settings ------------------------------------------------------------
# Unpaid orders are cancelled (and their stock returned) after this many minutes.
ORDER_PAYMENT_TIMEOUT = timedelta(minutes=env.int("ORDER_PAYMENT_TIMEOUT_MINUTES", default=30))
SHIPPING_FLAT_FEE = Decimal(env.str("SHIPPING_FLAT_FEE", default="10.00"))
SHIPPING_FREE_ABOVE = Decimal(env.str("SHIPPING_FREE_ABOVE", default="199.00"))
REFERRAL_COOKIE_NAME = "ref"
REFERRAL_COOKIE_MAX_AGE = int(timedelta(days=30).total_seconds())
# The sandbox gateway signs its notifications with this key (HMAC-SHA256).
SANDBOX_GATEWAY_SECRET = env.str(
    "SANDBOX_GATEWAY_SECRET", default="sandbox-secret-change-me"
)  # see core.checks
PAYMENT_GATEWAYS = env.list("PAYMENT_GATEWAYS", default=["sandbox"])
# A demo site may offer the sandbox gateway (it pays orders with nothing); outside a
# demo it is refused and payments.E006 fails `manage.py check --deploy`. Seeding demo users too.
DEMO_SITE = env.bool("DEMO_SITE", default=DEBUG)

# --- Logs, health, errors ---------------------------------------------------------
# Every line carries the request id (X-Request-ID), the Celery task id and the order
# number where one is bound (core.logs). LOG_FORMAT=json: one JSON object per line.
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "core.logs.ContextFilter"}},
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s%(context)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s"
            " %(request_id)s %(task_id)s %(order)s %(payment)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            # "context" is the text format's summary of the same fields
            "reserved_attrs": [*RESERVED_ATTRS, "context"],
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["context"],
            "formatter": "json" if LOG_FORMAT == "json" else "text",
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
MIDDLEWARE.insert(0, "core.logs.RequestIdMiddleware")
INSTALLED_APPS += ["health_check"]
# /health/ fails when beat has not run its heartbeat for this long (it runs every minute).
HEALTH_BEAT_MAX_AGE = timedelta(minutes=env.int("HEALTH_BEAT_MAX_AGE_MINUTES", default=5))
# Errors of the site and the worker go to Sentry when a DSN is set (nothing is sent otherwise).
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    import sentry_sdk

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        environment=env.str("SENTRY_ENVIRONMENT", default="production"),
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
        send_default_pii=False,  # shoppers' names, addresses and phones stay here
    )
# Where gateways reach us (e.g. https://shop.example.com); unset: SITE_URL. Notify and
# return URLs never come from the request's Host header unless DEBUG is on.
PAYMENT_NOTIFY_BASE_URL = env.str("PAYMENT_NOTIFY_BASE_URL", default="")
# A payment still unpaid this long after the shopper left for the gateway is asked
# about (alipay.trade.query, WeChat's order query): a lost notification never
# leaves a paid order unpaid. Refunds and transfers in flight are asked as well.
PAYMENT_QUERY_AFTER = timedelta(minutes=env.int("PAYMENT_QUERY_AFTER_MINUTES", default=3))

# --- Alipay (支付宝开放平台): PAYMENT_GATEWAYS=alipay,... turns it on --------------------
# Keys are PEM text (newlines may be written \n) or the path of a PEM file.
ALIPAY_APP_ID = env.str("ALIPAY_APP_ID", default="")
ALIPAY_APP_PRIVATE_KEY = env.str("ALIPAY_APP_PRIVATE_KEY", default="")
ALIPAY_PUBLIC_KEY = env.str("ALIPAY_PUBLIC_KEY", default="")  # 支付宝公钥, not the app's
# The merchant's PID (2088...): a notification for another seller is refused. Optional.
ALIPAY_SELLER_ID = env.str("ALIPAY_SELLER_ID", default="")
ALIPAY_TIMEOUT = env.float("ALIPAY_TIMEOUT", default=10.0)  # seconds per call
# Alipay's sandbox (沙箱环境) instead of the live gateway.
ALIPAY_SANDBOX = env.bool("ALIPAY_SANDBOX", default=False)
ALIPAY_GATEWAY_URL = env.str(
    "ALIPAY_GATEWAY_URL",
    default="https://openapi-sandbox.dl.alipaydev.com/gateway.do"
    if ALIPAY_SANDBOX
    else "https://openapi.alipay.com/gateway.do",
)
# Certificate mode (公钥证书), required by Alipay for transfers (单笔转账): all three or none.
ALIPAY_APP_CERT = env.str("ALIPAY_APP_CERT", default="")  # appCertPublicKey_xxx.crt
ALIPAY_PUBLIC_CERT = env.str("ALIPAY_PUBLIC_CERT", default="")  # alipayCertPublicKey_RSA2.crt
ALIPAY_ROOT_CERT = env.str("ALIPAY_ROOT_CERT", default="")  # alipayRootCert.crt

# --- WeChat Pay API v3 (微信支付): PAYMENT_GATEWAYS=wechat,... turns it on -------------
WECHATPAY_MCHID = env.str("WECHATPAY_MCHID", default="")  # 商户号
WECHATPAY_APPID = env.str("WECHATPAY_APPID", default="")  # the 公众号 AppID bound to the mchid
WECHATPAY_APIV3_KEY = env.str("WECHATPAY_APIV3_KEY", default="")  # 32 characters
WECHATPAY_PRIVATE_KEY = env.str("WECHATPAY_PRIVATE_KEY", default="")  # apiclient_key.pem
WECHATPAY_CERT_SERIAL_NO = env.str("WECHATPAY_CERT_SERIAL_NO", default="")  # of apiclient_cert
# The WeChat Pay public key (微信支付公钥) and its id (PUB_KEY_ID_...); unset: the
# platform certificates (平台证书) are downloaded and kept in WECHATPAY_CERT_DIR.
WECHATPAY_PUBLIC_KEY = env.str("WECHATPAY_PUBLIC_KEY", default="")
WECHATPAY_PUBLIC_KEY_ID = env.str("WECHATPAY_PUBLIC_KEY_ID", default="")
WECHATPAY_CERT_DIR = env.str("WECHATPAY_CERT_DIR", default=str(BASE_DIR / "var" / "wechatpay"))
WECHATPAY_BASE_URL = env.str("WECHATPAY_BASE_URL", default="https://api.mch.weixin.qq.com")
# 商家转账 scene (转账场景ID) registered in the merchant platform; 1005 is 佣金报酬.
WECHATPAY_TRANSFER_SCENE_ID = env.str("WECHATPAY_TRANSFER_SCENE_ID", default="1005")

# --- Sign-in with WeChat inside WeChat's browser (公众号网页授权) ----------------------
WECHAT_OAUTH_APPID = env.str("WECHAT_OAUTH_APPID", default=WECHATPAY_APPID)
WECHAT_OAUTH_SECRET = env.str("WECHAT_OAUTH_SECRET", default="")
# snsapi_userinfo (asks the shopper, gives nickname) instead of the silent snsapi_base.
WECHAT_OAUTH_USERINFO = env.bool("WECHAT_OAUTH_USERINFO", default=False)
WECHAT_OPEN_BASE_URL = env.str("WECHAT_OPEN_BASE_URL", default="https://open.weixin.qq.com")
WECHAT_API_BASE_URL = env.str("WECHAT_API_BASE_URL", default="https://api.weixin.qq.com")

# --- After-sale: delivery, receipt, refunds (orders) -------------------------------
# Receipt is confirmed for the shopper this many days after shipping.
AUTO_CONFIRM_DAYS = env.int("AUTO_CONFIRM_DAYS", default=10)
# The shopper may ask for a refund until this many days after receipt; then the order completes.
AFTER_SALE_DAYS = env.int("AFTER_SALE_DAYS", default=7)
# Carriers whose tracking the sandbox adapter answers (real adapters register their own codes).
TRACKING_SANDBOX_CARRIERS = env.list("TRACKING_SANDBOX_CARRIERS", default=["sandbox"])
# Who tracks the real carriers' parcels: "sandbox" (nobody: staff type the steps; the
# sandbox carrier of a demo site is tracked anyway) or "kuaidi100" (快递100, keys below).
TRACKING_ADAPTER = env.str("TRACKING_ADAPTER", default="sandbox")
KUAIDI100_CUSTOMER = env.str("KUAIDI100_CUSTOMER", default="")  # 公司编号 (customer)
KUAIDI100_KEY = env.str("KUAIDI100_KEY", default="")  # 授权key
# Our own random string (up to 32 characters): Kuaidi100 signs its pushes with it.
KUAIDI100_SALT = env.str("KUAIDI100_SALT", default="")
KUAIDI100_BASE_URL = env.str("KUAIDI100_BASE_URL", default="https://poll.kuaidi100.com")
KUAIDI100_TIMEOUT = env.float("KUAIDI100_TIMEOUT", default=10.0)  # seconds per call
# Links in emails point here (the site's public address).
SITE_URL = env.str("SITE_URL", default="http://localhost:8000")

# --- Storefront (catalog) ---
INSTALLED_APPS += ["import_export"]
# Seconds a cached catalog read (listing cards, product page body) lives; a change makes
# the reads that show it stale at once (catalog.cache), the rest are only left to expire.
CATALOG_CACHE_SECONDS = env.int("CATALOG_CACHE_SECONDS", default=600)
# How late a sold count ("1,234 sold", the best-selling order) may be shown: a sale makes
# no page stale unless it changes what the page says of the stock.
CATALOG_SOLD_COUNT_LAG_SECONDS = env.int("CATALOG_SOLD_COUNT_LAG_SECONDS", default=60)
