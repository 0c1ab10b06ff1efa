"""Distributor pages of leaderboards (排行榜) and sales contests (销售竞赛)."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _

from distributors.views import distributor_required

from .. import contests, leaderboards
from ..leaderboards import Board
from ..models import LeaderboardSettings, Metric


@login_required
@distributor_required
def leaderboard(request, board=None):
    """A leaderboard of this week, this month or all time (``?period=``). A board the
    merchant turned off says so, with a 404."""
    if board is not None and board not in Board.ALL:
        raise Http404
    enabled = leaderboards.enabled_boards(LeaderboardSettings.get_solo())
    board = board or (enabled[0] if enabled else Board.SALES)
    period = request.GET.get("period")
    if period not in leaderboards.PERIODS:
        period = "week"
    context = {
        "board": board,
        "is_money": board == "sales",
        "board_label": Metric(board).label,
        "boards": [(b, Metric(b).label) for b in enabled],
        "period": period,
        "periods": leaderboards.PERIODS.items(),
        "distributor": request.distributor,
    }
    if board not in enabled:
        return render(
            request, "marketing/leaderboard.html", {**context, "is_off": True}, status=404
        )
    context["standing"] = leaderboards.board(board, period, request.distributor.pk)
    return render(request, "marketing/leaderboard.html", context)


@login_required
@distributor_required
def contest_list(request):
    found = contests.contests_for(request.distributor)
    groups = [
        (contests.Status.RUNNING, _("Running now"), found.running, _("No contest is running.")),
        (contests.Status.UPCOMING, _("Coming soon"), found.upcoming, _("Nothing planned yet.")),
    ]
    if found.ended:
        groups.append((contests.Status.ENDED, _("Ended"), found.ended, ""))
    return render(request, "marketing/contest_list.html", {"groups": groups})


@login_required
@distributor_required
def contest_detail(request, pk):
    distributor = request.distributor
    contest = contests.contest_for(distributor, pk)
    status = contests.status_of(contest)
    standing = None
    if status != contests.Status.UPCOMING:
        standing = contests.standings(contest, distributor.pk)
    return render(
        request,
        "marketing/contest_detail.html",
        {
            "contest": contest,
            "distributor": distributor,
            "status": status,
            "status_label": contests.Status.labels[status],
            "standing": standing,
            "targets": contests.progress(contest, standing) if standing else [],
            "awards": list(contests.awards_of(contest, distributor))
            if status == contests.Status.SETTLED
            else [],
            "is_money": contest.metric == Metric.SALES,
        },
    )
