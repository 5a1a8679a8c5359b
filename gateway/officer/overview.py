"""The overview page: the log's integrity first, then what was shared and refused, as charts."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web
from markupsafe import Markup

from gateway.audit.activity import PERIODS, DailySeries, daily_series, period_ending
from gateway.audit.integrity import log_integrity
from gateway.officer.charts import daily_bar_chart
from gateway.officer.i18n import Translator
from gateway.officer.names import partner_name, purpose_title
from gateway.officer.render import gateway_of, render
from gateway.officer.signin import frame_for, signed_in
from gateway.web.common import whole_number

__all__ = ["ChartRow", "chart_rows", "period_of", "routes"]

routes = web.RouteTableDef()
DEFAULT_DAYS = 30


@dataclass(frozen=True, slots=True)
class ChartRow:
    """One purpose's or partner's line in a chart table: its name, totals and chart."""

    name: str
    disclosed: int
    refused: int
    break_glass: int
    chart: Markup


def period_of(request: web.Request) -> int:
    """The number of days the page shows: `?days=` when it is one of PERIODS."""
    days = whole_number(request.query.get("days", ""))
    return days if days in PERIODS else DEFAULT_DAYS


def chart_rows(
    series: list[DailySeries], names: dict[str | None, str], t: Translator, prefix: str
) -> list[ChartRow]:
    """Each series with its chart and a sentence describing it for screen readers."""
    labels = {
        "disclosed": t("series.disclosed"),
        "refused": t("series.refused"),
        "break_glass": t("series.break_glass"),
    }
    rows = []
    for n, one in enumerate(series):
        name = names.get(one.key, one.key or "—")
        disclosed, refused, break_glass = one.totals
        busiest, busiest_count = one.busiest
        description = (
            t(
                "chart.desc",
                what=name,
                first=one.days[0].isoformat(),
                last=one.days[-1].isoformat(),
                disclosed=disclosed,
                refused=refused,
                break_glass=break_glass,
                busiest=busiest.isoformat(),
                busiest_count=busiest_count,
            )
            if disclosed + refused
            else t("chart.empty", what=name)
        )
        chart = daily_bar_chart(
            one,
            chart_id=f"{prefix}-{n}",
            title=name,
            description=description,
            labels=labels,
            # Small charts sit in a table cell: a narrower drawing keeps their labels legible.
            width=640 if prefix == "all" else 320,
            height=160 if prefix == "all" else 90,
        )
        rows.append(ChartRow(name, disclosed, refused, break_glass, chart))
    return rows


@routes.get("/")
async def overview(request: web.Request) -> web.Response:
    officer = await signed_in(request)
    gw = gateway_of(request)
    frame = frame_for(request, officer, "overview")
    days = period_of(request)
    period = period_ending(gw.now(), days)
    parties = officer.oversight.parties
    counts = await gw.storage.log_activity(period.since, period.until, parties=parties)
    pending = await gw.storage.break_glass_records(status="pending", limit=1000, senders=parties)
    lang = officer.language
    by_purpose = daily_series(counts, period, "purpose")
    by_partner = daily_series(counts, period, "partner")
    purposes = {s.key: purpose_title(gw, s.key, lang) for s in by_purpose}
    partners = {s.key: partner_name(gw, s.key) for s in by_partner}
    overall = daily_series(counts, period, None)
    return render(
        request,
        "overview.html",
        frame,
        {
            "integrity": await log_integrity(gw),
            "days": days,
            "periods": PERIODS,
            "period": period,
            "pending": len(pending),
            "overall": chart_rows(overall, {None: frame.t("overview.all")}, frame.t, "all")[0],
            "by_purpose": chart_rows(by_purpose, purposes, frame.t, "purpose"),
            "by_partner": chart_rows(by_partner, partners, frame.t, "partner"),
        },
    )
