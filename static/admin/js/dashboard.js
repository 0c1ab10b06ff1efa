/* The dashboard's charts (templates/admin/reports/dashboard/dashboard.html).
   Every figure and label comes computed and translated from the server
   (reports.dashboard.charts) in <script id="dashboard-data" type="application/json">;
   this file only draws them with the vendored ECharts, and redraws on resize. */
"use strict";

(function () {
    const node = document.getElementById("dashboard-data");
    if (!node || !window.echarts) {
        return;
    }
    const data = JSON.parse(node.textContent);
    const labels = data.labels;
    const BRAND = "#9b1c1c";
    const PALETTE = ["#9b1c1c", "#d9822b", "#3f6e8c", "#6a8d3a", "#b45372", "#7a5c99", "#c9a227", "#5f7470"];
    const style = getComputedStyle(document.documentElement);
    const TEXT = style.getPropertyValue("--body-fg").trim() || "#333";
    const QUIET = style.getPropertyValue("--body-quiet-color").trim() || "#666";
    const LINE = style.getPropertyValue("--hairline-color").trim() || "#e8e8e8";
    const charts = [];

    // Axis ticks and bar ends: short amounts in the page's language (¥1.2万, ¥12K).
    const compact = new Intl.NumberFormat(document.documentElement.lang || undefined, {
        notation: "compact",
        maximumFractionDigits: 1,
    });
    function money(value) {
        return "¥" + compact.format(Number(value));
    }

    function mount(id, hasData, option) {
        const element = document.getElementById(id);
        if (!element) {
            return;
        }
        if (!hasData) {
            element.classList.add("is-empty");
            element.textContent = labels.empty;
            return;
        }
        const chart = echarts.init(element);
        chart.setOption(Object.assign({color: PALETTE, textStyle: {color: TEXT}}, option));
        charts.push(chart);
    }

    const trend = data.trend;
    mount("chart-trend", trend.has_data, {
        legend: {top: 0, textStyle: {color: TEXT}},
        grid: {left: 8, right: 8, top: 36, bottom: 4, containLabel: true},
        tooltip: {
            trigger: "axis",
            formatter: function (items) {
                const day = items[0].dataIndex;
                return trend.days[day] + "<br>" + labels.gmv + ": " + trend.gmv_shown[day] +
                    "<br>" + labels.orders + ": " + trend.orders[day].toLocaleString();
            },
        },
        xAxis: {
            type: "category",
            data: trend.days,
            axisLabel: {color: QUIET, hideOverlap: true},
            axisLine: {lineStyle: {color: LINE}},
        },
        yAxis: [
            {
                type: "value",
                axisLabel: {color: QUIET, formatter: money},
                splitLine: {lineStyle: {color: LINE}},
            },
            {
                type: "value",
                minInterval: 1,
                axisLabel: {color: QUIET},
                splitLine: {show: false},
            },
        ],
        series: [
            {
                name: labels.gmv,
                type: "bar",
                data: trend.gmv.map(Number),
                itemStyle: {color: BRAND, borderRadius: [3, 3, 0, 0]},
                barMaxWidth: 28,
            },
            {
                name: labels.orders,
                type: "line",
                yAxisIndex: 1,
                data: trend.orders,
                symbolSize: 6,
                itemStyle: {color: "#d9822b"},
            },
        ],
    });

    function donut(id, items, withLegend) {
        mount(id, items.length > 0, {
            tooltip: {
                trigger: "item",
                formatter: function (item) {
                    return item.name + "<br>" + items[item.dataIndex].shown + " (" + item.percent + "%)";
                },
            },
            legend: {show: withLegend, bottom: 0, type: "scroll", textStyle: {color: TEXT}},
            series: [
                {
                    type: "pie",
                    radius: withLegend ? ["42%", "68%"] : ["45%", "75%"],
                    center: ["50%", withLegend ? "44%" : "50%"],
                    avoidLabelOverlap: true,
                    percentPrecision: 1,
                    itemStyle: {borderColor: "#fff", borderWidth: 2},
                    label: {formatter: "{d}%", color: TEXT, overflow: "none"},
                    labelLine: {length: 8, length2: 8},
                    data: items.map(function (item) {
                        const slice = {name: item.name, value: Number(item.value)};
                        if (item.color !== undefined) {
                            slice.itemStyle = {color: PALETTE[item.color]};
                        }
                        return slice;
                    }),
                },
            ],
        });
    }
    donut("chart-categories", data.categories, true);
    // The channels' names and colours are in the table beside their donut.
    donut("chart-channels", data.channels, false);

    function ranking(id, items) {
        const shown = items.slice().reverse(); // the largest at the top
        mount(id, items.length > 0, {
            grid: {left: 8, right: 88, top: 4, bottom: 4, containLabel: true},
            tooltip: {
                trigger: "item",
                formatter: function (item) {
                    return item.name + "<br>" + shown[item.dataIndex].shown;
                },
            },
            xAxis: {
                type: "value",
                axisLabel: {show: false},
                splitLine: {lineStyle: {color: LINE}},
            },
            yAxis: {
                type: "category",
                data: shown.map(function (item) { return item.name; }),
                axisLabel: {color: TEXT, width: 120, overflow: "truncate"},
                axisTick: {show: false},
                axisLine: {lineStyle: {color: LINE}},
            },
            series: [
                {
                    type: "bar",
                    name: labels.sales,
                    data: shown.map(function (item) { return Number(item.value); }),
                    itemStyle: {color: BRAND, borderRadius: [0, 3, 3, 0]},
                    barMaxWidth: 18,
                    label: {
                        show: true,
                        position: "right",
                        color: QUIET,
                        formatter: function (item) { return shown[item.dataIndex].shown; },
                    },
                },
            ],
        });
    }
    ranking("chart-products", data.products);
    ranking("chart-distributors", data.distributors);

    const funnel = data.funnel;
    mount("chart-funnel", funnel.some(function (step) { return step.value > 0; }), {
        tooltip: {trigger: "item", formatter: "{b}: {c}"},
        color: ["#9b1c1c", "#c2542f", "#d9822b"],
        series: [
            {
                type: "funnel",
                sort: "none",
                left: "8%",
                right: "8%",
                top: 8,
                bottom: 8,
                minSize: "45%", // wide enough for its label, also for a step of 0
                gap: 3,
                label: {
                    position: "inside",
                    color: "#fff",
                    lineHeight: 18,
                    formatter: function (item) { return item.name + "\n" + item.value.toLocaleString(); },
                },
                data: funnel,
            },
        ],
    });

    window.addEventListener("resize", function () {
        charts.forEach(function (chart) { chart.resize(); });
    });
}());
