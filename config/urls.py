from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path

from catalog import views as catalog_views
from core import health

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    # Gateways post here server-to-server: no language prefix, no session.
    path("payments/", include("payments.urls")),
    # The tracking aggregator pushes parcels' news here, server-to-server too.
    path("tracking/", include("orders.tracking.urls")),
    path("r/", include("distributors.referral_urls")),
    path("health/", health.health, name="health"),
    path("health/live/", health.live, name="health-live"),
    path("favicon.ico", catalog_views.favicon, name="favicon"),
]
urlpatterns += i18n_patterns(
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("orders/", include("orders.urls")),
    path("pay/", include("payments.page_urls")),
    path("distributor/", include("distributors.urls")),
    path("distributor/earnings/", include("commissions.urls")),
    path("support/", include("support.urls")),
    path("messages/", include("notifications.urls")),
    path("", include("marketing.urls")),
    path("", include("catalog.urls")),
    prefix_default_language=False,
)
if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

# A busy database (no pooled connection in time) gets the 503 "try again" page.
handler500 = "core.busy.server_error"
