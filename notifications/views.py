from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from . import preferences, selectors, services
from .forms import NotificationSettingsForm
from .models import SiteMessage

PAGE_SIZE = 20


@login_required
def message_list(request):
    """The message centre (站内信): the user's messages under a tab, newest first."""
    tab = selectors.message_tab(request.GET.get("tab"))
    page = Paginator(selectors.messages_of(request.user, tab), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    tabs = [
        {"value": value, "label": label, "current": value == tab}
        for value, label in selectors.MESSAGE_TABS.items()
    ]
    return render(
        request, "notifications/message_list.html", {"page": page, "tab": tab, "tabs": tabs}
    )


def _safe_link(request, link: str) -> str:
    """The message's link if it stays on this site; messages are ours, but a link is
    still never followed off the site."""
    if link and url_has_allowed_host_and_scheme(
        link, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return link
    return ""


@login_required
@require_GET
def message_open(request, pk):
    """Open one message: it is read now; go where it points, or show it."""
    try:
        message = selectors.message_of(request.user, pk)
    except SiteMessage.DoesNotExist:
        raise Http404 from None
    if not message.is_read:
        services.mark_read(request.user, [message.pk])
    link = _safe_link(request, message.link)
    if link:
        return redirect(services.in_language(link, get_language()))
    return render(request, "notifications/message_detail.html", {"message": message})


@login_required
@require_POST
def mark_all_read(request):
    count = services.mark_read(request.user)
    if count:
        messages.success(request, _("All messages are marked as read."))
    tab = selectors.message_tab(request.POST.get("tab"))
    url = reverse("notifications:list")
    return redirect(f"{url}?{urlencode({'tab': tab})}" if tab != "all" else url)


@login_required
def notification_settings(request):
    """通知设置: the channels per category, the mobile phone, the messages' language."""
    user = request.user
    prefs = services.settings_of(user)
    if prefs._state.adding:
        prefs.language = get_language()  # never saved: the language they read now
    form = NotificationSettingsForm(request.POST or None, prefs=prefs, phone=user.phone)
    if request.method == "POST" and form.is_valid():
        try:
            preferences.save_settings(
                user,
                channels=form.channels(),
                phone=form.cleaned_data["phone"],
                language=form.cleaned_data["language"],
            )
        except preferences.SettingsError as exc:
            exc.add_to(form)
        else:
            messages.success(request, _("Your notification settings were saved."))
            return redirect("notifications:settings")
    return render(request, "notifications/settings.html", {"form": form})


@never_cache
@require_GET
def badge(request):
    """The header's unread counts as JSON, for static/js/badges.js (one query)."""
    if not request.user.is_authenticated:
        return JsonResponse({"messages": 0, "support": 0}, status=401)
    return JsonResponse(selectors.unread_counts(request.user).as_dict())
