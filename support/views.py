"""The shopper's customer service (客服): their conversations, a new one, a thread with its
replies, polls for new messages, closing and rating, and the pictures.

Every view finds the conversation through ``selectors.conversation_of(request.user, pk)``:
another shopper's conversation is a 404 on every URL, the same as one that does not
exist. The thread works without JavaScript (forms post and redirect);
static/js/support-chat.js polls ``poll`` and posts with fetch on top of it.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from core.errors import ServiceError
from orders.models import AfterSaleRequest, Order

from . import selectors, services
from .forms import MessageForm, RatingForm
from .models import Attachment, Conversation, ServiceSettings


def _conversation(request, pk) -> Conversation:
    try:
        return selectors.conversation_of(request.user, pk)
    except Conversation.DoesNotExist:
        raise Http404 from None


def _wants_json(request) -> bool:
    """support-chat.js asks for JSON; a plain form post (no JavaScript) gets pages."""
    return request.headers.get("Accept", "").startswith("application/json")


def _form_errors(form) -> dict[str, list[str]]:
    return {field or "__all__": [str(e) for e in errors] for field, errors in form.errors.items()}


def _today() -> str:
    """The shop's date: a message of today shows its time only."""
    return timezone.localdate().isoformat()


def _hours(service: ServiceSettings) -> dict:
    return {
        "open_now": services.is_open_now(service=service),
        "opens_at": service.opens_at,
        "closes_at": service.closes_at,
        "days": selectors.opening_days_label(service.open_days),
    }


def _subject(request) -> tuple[Order | None, AfterSaleRequest | None]:
    """The order (?order=<number>) or after-sale request (?after_sale=<id>) a new
    conversation is about; 404 when it is not the shopper's."""
    after_sale_id, number = request.GET.get("after_sale"), request.GET.get("order")
    try:
        if after_sale_id:
            if not after_sale_id.isdigit():
                raise Http404
            after_sale = selectors.after_sale_of(request.user, int(after_sale_id))
            return after_sale.order, after_sale
        if number:
            return selectors.order_of(request.user, number), None
    except (Order.DoesNotExist, AfterSaleRequest.DoesNotExist):
        raise Http404 from None
    return None, None


@login_required
def conversation_list(request):
    """我的客服: the shopper's conversations, newest first."""
    page = Paginator(selectors.conversations_of(request.user), 20).get_page(request.GET.get("page"))
    return render(request, "support/conversation_list.html", {"page": page, "today": _today()})


@login_required
def start(request):
    """A new conversation (text and pictures), about an order or after-sale request or not."""
    order, after_sale = _subject(request)
    if request.method == "POST":
        form = MessageForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                conversation = services.start_conversation(
                    request.user,
                    body=form.cleaned_data["body"],
                    files=form.cleaned_data["pictures"],
                    order=order,
                    after_sale=after_sale,
                )
            except ServiceError as error:
                error.add_to(form)
            else:
                return redirect(conversation)
    else:
        form = MessageForm()
    context = {
        "form": form,
        "order": order,
        "after_sale": after_sale,
        "ongoing": selectors.open_conversation_about(request.user, order, after_sale),
        "hours": _hours(ServiceSettings.get_solo()),
    }
    return render(request, "support/start.html", context)


def _page(request, conversation, *, form=None, rating_form=None):
    context = {
        "conversation": conversation,
        "thread": selectors.messages_of(conversation),
        "state": selectors.state_key(conversation),
        "form": form or MessageForm(),
        "rating_form": rating_form or RatingForm(),
        "hours": _hours(ServiceSettings.get_solo()),
        "today": _today(),
    }
    return render(request, "support/conversation.html", context)


@login_required
def conversation(request, pk):
    """The thread; opening it reads everything staff wrote."""
    conversation = _conversation(request, pk)
    services.mark_read(conversation, by_staff=False)
    return _page(request, conversation)


@login_required
@require_POST
def post(request, pk):
    """The shopper's message (it reopens a closed conversation)."""
    conversation = _conversation(request, pk)
    form = MessageForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.post_message(
                conversation,
                request.user,
                body=form.cleaned_data["body"],
                files=form.cleaned_data["pictures"],
                as_staff=False,
            )
        except ServiceError as error:
            error.add_to(form)
        else:
            if _wants_json(request):
                return JsonResponse({"ok": True})
            return redirect(f"{conversation.get_absolute_url()}#latest")
    if _wants_json(request):
        return JsonResponse({"ok": False, "errors": _form_errors(form)}, status=400)
    return _page(request, conversation, form=form)


@login_required
@require_POST
def close(request, pk):
    """问题已解决: the shopper ends the conversation and is asked to rate it."""
    conversation = services.close(_conversation(request, pk))
    return redirect(f"{conversation.get_absolute_url()}#rating")


@login_required
@require_POST
def rate(request, pk):
    """The shopper's satisfaction with a closed conversation, once."""
    conversation = _conversation(request, pk)
    rating_form = RatingForm(request.POST)
    if selectors.may_rate(conversation) and not rating_form.is_valid():
        return _page(request, conversation, rating_form=rating_form)
    try:
        if not selectors.may_rate(conversation):
            raise services.NotRatable()
        services.rate(
            conversation,
            rating=rating_form.cleaned_data["rating"],
            comment=rating_form.cleaned_data["comment"],
        )
    except ServiceError as error:  # open, or rated already: the page has no form to show it
        messages.error(request, str(error))
    else:
        messages.success(request, _("Thank you for your rating!"))
    return redirect(f"{conversation.get_absolute_url()}#rating")


@never_cache
@login_required
@require_GET
def poll(request, pk):
    """The messages after ?after=<id>, as the page renders them, and the conversation's
    state (with its panel when it differs from ?state=, the one the page shows);
    ?seen=1 (the tab is in view) reads them. The same few queries however many
    messages came."""
    conversation = _conversation(request, pk)
    after = request.GET.get("after", "0")
    if not after.isdigit():
        return HttpResponseBadRequest()
    if request.GET.get("seen") == "1":
        services.mark_read(conversation, by_staff=False)
    context = {"conversation": conversation, "today": _today()}
    new = [
        {
            "id": message.pk,
            "html": render_to_string(
                "support/_message.html", {**context, "message": message}, request
            ),
        }
        for message in selectors.messages_of(conversation, after=int(after))
    ]
    state = selectors.state_key(conversation)
    answer = {
        "messages": new,
        "status": conversation.status,
        "status_label": conversation.get_status_display(),
        "rate": selectors.may_rate(conversation),
        "state": state,
    }
    if request.GET.get("state") != state:
        answer["state_html"] = render_to_string(
            "support/_state.html", {**context, "rating_form": RatingForm()}, request
        )
    return JsonResponse(answer)


@login_required
def attachment(request, pk):
    """A conversation's picture, for its shopper and staff allowed to read conversations."""
    try:
        picture = selectors.attachment_for(request.user, pk)
        stream = picture.image.open("rb")
    except (Attachment.DoesNotExist, FileNotFoundError):
        raise Http404 from None
    response = FileResponse(stream, content_type=selectors.content_type_of(picture))
    response["Cache-Control"] = "private, max-age=86400"
    response["X-Content-Type-Options"] = "nosniff"
    return response
