"""The inbox (客服会话) and each conversation's page.

The inbox lists conversations waiting longest first, with the unread count and the
waiting time its page refreshes by polling ``counts/`` (two queries a poll). A
conversation's page shows the thread with a reply box (canned replies, pictures),
assignment, close and reopen, and beside it the customer's CRM facts, their last
orders and what the conversation is about; new messages arrive by polling
``<pk>/poll/?after=<id>`` (a fixed number of queries however many arrived).

Reading needs support.view_conversation; replying, assigning, closing and
reopening need support.change_conversation (a POST without it is refused with 403).
Every write goes through support.services.
"""

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Case, F, IntegerField, Q, Value, When
from django.db.models.functions import Concat
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator, capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from core.admin import ObjectViewsMixin, run_for_each
from crm import selectors as crm_selectors
from crm.admin.common import tag_chips
from crm.admin.customers import segment_badge
from distributors.selectors import mask_phone
from orders.models import Order

from .. import pictures, selectors, services, staff_figures
from ..models import CannedReply, Conversation, Message
from .common import CSS, JS, local_time, unread_badge, waiting, waiting_badge
from .figures import figures_page
from .forms import AssignForm, ReplyForm, staff_name

EXCERPT = 40  # characters of the last message in the inbox
RECENT_ORDERS = 5  # the customer's last orders beside the thread
POLL_SECONDS = 5  # how often an open conversation's page asks for new messages
INBOX_POLL_SECONDS = 20  # how often the inbox refreshes its counts
MESSAGE_TEMPLATE = "admin/support/conversation/_message.html"

REFUSED = (services.SupportError, pictures.PictureRefused)


class Box:
    """The inbox's boxes (a list filter and the tabs above the list)."""

    MINE, UNASSIGNED, WAITING, OPEN, CLOSED = "mine", "unassigned", "waiting", "open", "closed"

    @staticmethod
    def choices():
        return [
            (Box.MINE, _("Mine")),
            (Box.UNASSIGNED, _("Unassigned")),
            (Box.WAITING, _("Awaiting a reply")),
            (Box.OPEN, pgettext("conversations", "Open")),
            (Box.CLOSED, pgettext("conversations", "Closed")),
        ]

    @staticmethod
    def condition(box: str, user) -> Q | None:
        """The conversations of `box` as `user` sees them (None: not a box)."""
        is_open = Q(status=Conversation.Status.OPEN)
        return {
            Box.MINE: Q(assignee=user.pk),
            Box.UNASSIGNED: is_open & Q(assignee__isnull=True),
            Box.WAITING: is_open & Q(waiting_since__isnull=False),
            Box.OPEN: is_open,
            Box.CLOSED: Q(status=Conversation.Status.CLOSED),
        }.get(box)


class BoxFilter(admin.SimpleListFilter):
    """Mine (assigned to me), unassigned (open and nobody's), awaiting a reply, open, closed."""

    title = gettext_lazy("box")
    parameter_name = "box"

    def lookups(self, request, model_admin):
        return Box.choices()

    def queryset(self, request, queryset):
        condition = Box.condition(self.value(), request.user) if self.value() else None
        return queryset if condition is None else queryset.filter(condition)


def customer_label(user) -> str:
    """The customer as the inbox shows them: their name (or username) and masked phone."""
    phone = mask_phone(user.phone)
    return format_html(
        '<span class="support-who">{}</span>{}',
        user.get_full_name() or user.get_username(),
        format_html('<span class="support-phone quiet">{}</span>', phone) if phone else "",
    )


@admin.register(Conversation)
class ConversationAdmin(ObjectViewsMixin, admin.ModelAdmin):
    """The inbox (客服会话) and each conversation's page. Shoppers start conversations
    (no add) and they are kept (no delete)."""

    # Fits 1280 px beside the menu and the filters: two lines a row (the customer's
    # name over their phone, the topic over the last message), the excerpt cut by CSS.
    list_display = (
        "customer_shown",
        "last_message",
        "status_shown",
        "assignee_shown",
        "unread",
        "waiting_shown",
        "last_message_time",
    )
    list_display_links = ("customer_shown", "last_message")
    list_filter = (BoxFilter, ("assignee", admin.RelatedOnlyFieldListFilter))
    search_fields = (
        "customer__username",
        "customer__phone",
        "customer__first_name",
        "customer__last_name",
        "customer_name",
        "order__number",
    )
    search_help_text = gettext_lazy("Customer's username, phone or name, or an order number.")
    list_select_related = ("customer", "order", "assignee")
    list_per_page = 50
    # Open conversations first, the longest waiting first, then the latest.
    ordering = (
        Case(
            When(status=Conversation.Status.CLOSED, then=Value(1)),
            default=Value(0),
            output_field=IntegerField(),
        ).asc(),
        F("waiting_since").asc(nulls_last=True),
        F("last_message_at").desc(nulls_last=True),
    )
    actions = ["assign_to_me", "close_conversations"]
    change_list_template = "admin/support/conversation/change_list.html"
    object_views = (
        ("reply", "reply_view", "reply"),
        ("assign", "assign_view", "assign"),
        ("close", "close_view", "close"),
        ("reopen", "reopen_view", "reopen"),
        ("poll", "poll_view", "poll"),
    )

    class Media:
        css = CSS
        js = JS

    def get_urls(self):
        # The inbox's counts and the staff figures before the <pk> routes.
        site = self.admin_site
        return [
            path("counts/", site.admin_view(self.counts_view), name="support_conversation_counts"),
            path(
                "figures/",
                site.admin_view(self.figures_view),
                name="support_conversation_figures",
            ),
            *super().get_urls(),
        ]

    def figures_view(self, request):
        return figures_page(self, request)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        conversations = (
            super()
            .get_queryset(request)
            .annotate(customer_name=Concat("customer__last_name", "customer__first_name"))
        )
        return selectors.with_last_message(conversations, chars=EXCERPT)

    # --- the inbox's columns -------------------------------------------------------

    @admin.display(description=gettext_lazy("customer"), ordering="customer__username")
    def customer_shown(self, conversation):
        return customer_label(conversation.customer)

    def topic_label(self, conversation) -> str:
        """一般咨询, or 订单 / 售后 with the order's number."""
        if conversation.order_id is None:
            return conversation.get_topic_display()
        label = (
            _("After-sale")
            if conversation.topic == Conversation.Topic.AFTER_SALE
            else pgettext("conversation topic", "Order")
        )
        return format_html("{} {}", label, conversation.order.number)

    @admin.display(description=gettext_lazy("topic and last message"))
    def last_message(self, conversation):
        """The topic (or order number) above the start of the last message, like a
        subject above a preview: one column instead of two, so the list fits 1280 px."""
        body = conversation.last_body or ""
        prefix = {
            Message.Sender.STAFF: _("Staff:"),
            Message.Sender.SYSTEM: _("Automatic:"),
        }.get(conversation.last_sender, "")
        return format_html(
            '<span class="support-topic">{}</span>'
            '<span class="support-excerpt" title="{}">{}{}</span>',
            self.topic_label(conversation),
            body,
            format_html('<span class="quiet">{}</span> ', prefix) if prefix else "",
            Truncator(body).chars(EXCERPT) if body else _("[picture]"),
        )

    @admin.display(description=gettext_lazy("status"), ordering="status")
    def status_shown(self, conversation):
        return format_html(
            '<span class="support-status support-status-{}">{}</span>',
            conversation.status,
            conversation.get_status_display(),
        )

    @admin.display(description=gettext_lazy("assigned to"), ordering="assignee__username")
    def assignee_shown(self, conversation):
        assignee = conversation.assignee
        if assignee is None:
            return format_html('<span class="quiet">{}</span>', _("Unassigned"))
        return format_html(
            '<span title="{}">{}</span>',
            assignee.get_username(),
            assignee.get_full_name() or assignee.get_username(),
        )

    @admin.display(description=gettext_lazy("unread"), ordering="-staff_unread")
    def unread(self, conversation):
        return unread_badge(conversation.pk, conversation.staff_unread)

    @admin.display(description=gettext_lazy("waiting"), ordering="waiting_since")
    def waiting_shown(self, conversation):
        since = conversation.waiting_since if conversation.is_open else None
        return waiting_badge(conversation.pk, since)

    @admin.display(description=gettext_lazy("time"), ordering="last_message_at")
    def last_message_time(self, conversation):
        at = conversation.last_message_at
        return format_html(
            '<span class="nowrap" title="{}">{}</span>',
            timezone.localtime(at).strftime("%Y-%m-%d %H:%M") if at else "",
            local_time(at),
        )

    # --- the inbox page and its counts ------------------------------------------------

    def changelist_view(self, request, extra_context=None):
        counts = staff_figures.inbox_counts(request.user)
        chosen = request.GET.get(BoxFilter.parameter_name, "")
        changelist = reverse("admin:support_conversation_changelist")
        boxes = [
            {
                "key": "",
                "label": pgettext("conversations", "All"),
                "count": None,
                "url": changelist,
                "active": not chosen,
            }
        ] + [
            {
                "key": key,
                "label": label,
                "count": getattr(counts, key),
                "url": f"{changelist}?{BoxFilter.parameter_name}={key}",
                "active": chosen == key,
            }
            for key, label in Box.choices()
        ]
        context = {
            "title": capfirst(self.model._meta.verbose_name_plural),
            "boxes": boxes,
            "counts": counts,
            "can_see_figures": self.has_view_or_change_permission(request),
            "too_long_minutes": int(staff_figures.WAITING_TOO_LONG.total_seconds() // 60),
            "inbox_config": {
                "countsUrl": reverse("admin:support_conversation_counts"),
                "interval": INBOX_POLL_SECONDS * 1000,
            },
            **(extra_context or {}),
        }
        return super().changelist_view(request, context)

    def counts_view(self, request):
        """The unread counts and waiting times of the listed conversations (?ids=1,2,3)
        and the boxes' counts, for the inbox's refresh: two queries."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        ids = [int(part) for part in request.GET.get("ids", "").split(",") if part.isdigit()]
        now = timezone.now()
        rows = staff_figures.inbox_rows(ids, now=now)
        counts = staff_figures.inbox_counts(request.user, now=now)
        return JsonResponse(
            {
                "rows": {
                    str(pk): {"unread": row["unread"], **waiting(row["waiting_since"], now)}
                    for pk, row in rows.items()
                },
                "boxes": {key: getattr(counts, key) for key, _label in Box.choices()},
                "now": {
                    "waiting": counts.waiting,
                    "waiting_too_long": counts.waiting_too_long,
                    "unassigned": counts.unassigned,
                    "unread": counts.unread,
                },
            }
        )

    # --- actions -----------------------------------------------------------------

    @admin.action(
        description=gettext_lazy("Assign selected conversations to me"), permissions=["change"]
    )
    def assign_to_me(self, request, queryset):
        run_for_each(
            self,
            request,
            queryset.order_by("pk"),
            lambda conversation: services.assign(conversation, request.user),
            _("%(count)d conversation(s) assigned to you."),
            refused=services.SupportError,
            level=messages.ERROR,
        )

    @admin.action(description=gettext_lazy("Close selected conversations"), permissions=["change"])
    def close_conversations(self, request, queryset):
        run_for_each(
            self,
            request,
            queryset.order_by("pk"),
            services.close,
            _("%(count)d conversation(s) closed."),
            refused=services.SupportError,
            level=messages.ERROR,
        )

    # --- the conversation's page -----------------------------------------------------

    def conversation_or_404(self, object_id) -> Conversation:
        try:
            pk = int(unquote(str(object_id)))
        except (TypeError, ValueError):
            raise Http404 from None
        return get_object_or_404(
            Conversation.objects.select_related("customer", "order", "after_sale", "assignee"),
            pk=pk,
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return self.conversation_page(request, object_id)

    def conversation_page(self, request, object_id, *, reply_form=None, assign_form=None):
        """The thread, the reply box and the controls, and beside them the customer:
        opening it marks the customer's messages read by staff."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        conversation = self.conversation_or_404(object_id)
        services.mark_read(conversation, by_staff=True)
        thread = selectors.messages_of(conversation)
        can_answer = self.has_change_permission(request, conversation)
        if can_answer:
            reply_form = reply_form or ReplyForm()
            assign_form = assign_form or AssignForm(
                staff=staff_figures.support_staff(),
                initial={"assignee": conversation.assignee_id},
            )
        customer = conversation.customer
        profile = crm_selectors.profile_with_tags(customer.pk)
        recent_orders = list(
            Order.objects.filter(user=customer)
            .only("number", "status", "total", "created_at", "received_at")
            .order_by("-created_at", "-pk")[:RECENT_ORDERS]
        )
        opts = self.model._meta
        context = {
            **self.admin_site.each_context(request),
            "opts": opts,
            "original": conversation,
            "conversation": conversation,
            "title": _("Conversation with %(name)s")
            % {"name": customer.get_full_name() or customer.get_username()},
            "subtitle": None,
            "thread": thread,
            "customer": customer,
            "phone": mask_phone(customer.phone),
            "profile": profile,
            "segment": segment_badge(profile.segment) if profile else "",
            "tags": tag_chips(profile.tags.all()) if profile else "",
            "recent_orders": recent_orders,
            "waiting": waiting(conversation.waiting_since if conversation.is_open else None),
            "stars": "★" * (conversation.rating or 0) + "☆" * (5 - (conversation.rating or 0)),
            "max_pictures": services.MAX_PICTURES,
            "can_answer": can_answer,
            "reply_form": reply_form,
            "assign_form": assign_form,
            "canned_replies": (
                list(CannedReply.objects.filter(is_active=True)) if can_answer else []
            ),
            "can_view_orders": request.user.has_perm("orders.view_order"),
            "can_view_after_sales": request.user.has_perm("orders.view_aftersalerequest"),
            "can_view_customers": request.user.has_perm("crm.view_customerprofile"),
            "thread_config": {
                "pollUrl": reverse("admin:support_conversation_poll", args=[conversation.pk]),
                "after": thread[-1].pk if thread else 0,
                "interval": POLL_SECONDS * 1000,
            },
            "media": self.media,
            "has_view_permission": True,
        }
        return TemplateResponse(request, "admin/support/conversation/page.html", context)

    def _back_to(self, conversation, anchor: str = "") -> HttpResponseRedirect:
        url = reverse("admin:support_conversation_change", args=[conversation.pk])
        return HttpResponseRedirect(url + anchor)

    def _writable(self, request, pk) -> Conversation:
        """The conversation a staff member may change (403 before it is looked up)."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        return self.conversation_or_404(pk)

    def reply_view(self, request, pk):
        """Post a staff reply (text and up to four pictures); refused input shows on the
        page with what was typed, storing nothing."""
        conversation = self._writable(request, pk)
        if request.method != "POST":
            return self._back_to(conversation)
        form = ReplyForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                services.post_message(
                    conversation,
                    request.user,
                    body=form.cleaned_data["body"],
                    files=form.cleaned_data["pictures"],
                    as_staff=True,
                )
            except REFUSED as exc:
                exc.add_to(form)
            else:
                return self._back_to(conversation, "#support-reply")
        return self.conversation_page(request, pk, reply_form=form)

    def assign_view(self, request, pk):
        """Give the conversation to a staff member (or to the one asking: "me"), or to nobody."""
        conversation = self._writable(request, pk)
        if request.method != "POST":
            return self._back_to(conversation)
        if "me" in request.POST:
            assignee = request.user
        else:
            form = AssignForm(request.POST, staff=staff_figures.support_staff())
            if not form.is_valid():
                return self.conversation_page(request, pk, assign_form=form)
            assignee = form.cleaned_data["assignee"]
        services.assign(conversation, assignee)
        if assignee is None:
            self.message_user(request, _("The conversation is unassigned."), messages.SUCCESS)
        else:
            self.message_user(
                request,
                _("Assigned to %(name)s.") % {"name": staff_name(assignee)},
                messages.SUCCESS,
            )
        return self._back_to(conversation)

    def close_view(self, request, pk):
        conversation = self._writable(request, pk)
        if request.method == "POST":
            services.close(conversation)
            self.message_user(
                request,
                _("Conversation closed; the customer is asked to rate it."),
                messages.SUCCESS,
            )
        return self._back_to(conversation)

    def reopen_view(self, request, pk):
        conversation = self._writable(request, pk)
        if request.method == "POST":
            services.reopen(conversation)
            self.message_user(request, _("Conversation reopened."), messages.SUCCESS)
        return self._back_to(conversation)

    def poll_view(self, request, pk):
        """The messages after ?after=<id> as HTML fragments, and the conversation's state:
        four queries however many messages arrived (the conversation, marking it read,
        the messages and their pictures). Marked read before the messages are read, so
        a customer's message arriving in between is shown by this poll or stays unread
        for the next: never cleared unseen."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        try:
            after = int(request.GET.get("after", "0"))
        except ValueError:
            after = 0
        conversation = self.conversation_or_404(pk)
        services.mark_read(conversation, by_staff=True)
        new = selectors.messages_of(conversation, after=after)
        return JsonResponse(
            {
                "messages": [
                    {
                        "id": message.pk,
                        "html": render_to_string(
                            MESSAGE_TEMPLATE, {"message": message, "conversation": conversation}
                        ),
                    }
                    for message in new
                ],
                "last_id": new[-1].pk if new else after,
                "status": conversation.status,
                "status_label": conversation.get_status_display(),
                "waiting": waiting(conversation.waiting_since if conversation.is_open else None),
            }
        )
