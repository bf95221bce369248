/* The /quality console: ECharts (canvas, rich-text tooltips: the CSP refuses inline styles)
   from the JSON blocks of the page; a click on a chart point loads the cases behind it. */
(function () {
  "use strict";
  function json(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }
  var data = json("quality-data");
  var text = json("quality-text") || {};
  if (!data || !window.echarts) { wireForms(); return; }
  var PCT = function (v) { return v === null || v === undefined ? null : Math.round(v * 1000) / 10; };
  var base = {
    animation: false,
    tooltip: { trigger: "axis", renderMode: "richText" },
    legend: { top: 0, type: "scroll" },
    grid: { left: 48, right: 48, top: 36, bottom: 28 }
  };

  function chart(id, option, group, keys) {
    var el = document.getElementById(id);
    if (!el) { return null; }
    var c = window.echarts.init(el, null, { renderer: "canvas" });
    c.setOption(Object.assign({}, base, option));
    if (group && keys) {
      c.on("click", function (p) { drill(group, keys[p.dataIndex]); });
    }
    window.addEventListener("resize", function () { c.resize(); });
    return c;
  }

  function drill(group, key) {
    if (key === undefined || key === null) { return; }
    var q = (data.query ? data.query + "&" : "") + "group=" + encodeURIComponent(group) +
      "&key=" + encodeURIComponent(key);
    window.htmx.ajax("GET", "/quality/drill?" + q, { target: "#drill", swap: "innerHTML" })
      .then(function () {
        var d = document.getElementById("drill");
        if (d) { d.scrollIntoView({ block: "nearest" }); }
      });
  }

  function col(rows, k) { return rows.map(function (r) { return r[k]; }); }
  function pcol(rows, k) { return rows.map(function (r) { return PCT(r[k]); }); }

  if (data.series) {
    var s = data.series, per = s.period, keys = col(per, "key");
    chart("chart-trend", {
      xAxis: { type: "category", data: keys },
      yAxis: [{ type: "value", min: 0, max: 100 }, { type: "value", name: text.cases }],
      series: [
        { name: text.qa, type: "line", data: col(per, "qa_avg"), symbolSize: 10 },
        { name: text.csat, type: "line", data: pcol(per, "csat"), symbolSize: 10 },
        { name: text.cases, type: "bar", yAxisIndex: 1, data: col(per, "cases"), barMaxWidth: 24 }
      ]
    }, "period", keys);
    chart("chart-times", {
      xAxis: { type: "category", data: keys },
      yAxis: [{ type: "value", name: "min" }, { type: "value", name: "h" }],
      series: [
        { name: text.frt, type: "line", data: col(per, "frt_minutes"), symbolSize: 8 },
        { name: text.frtb, type: "line", data: col(per, "frt_business_minutes"), symbolSize: 8 },
        { name: text.res, type: "bar", yAxisIndex: 1, data: col(per, "resolution_hours"), barMaxWidth: 16 },
        { name: text.resb, type: "bar", yAxisIndex: 1, data: col(per, "resolution_business_hours"), barMaxWidth: 16 }
      ]
    }, "period", keys);
    chart("chart-sla", {
      xAxis: { type: "category", data: keys },
      yAxis: { type: "value", min: 0, max: 100 },
      series: [
        { name: text.frsla, type: "line", data: pcol(per, "fr_sla_rate"), symbolSize: 8 },
        { name: text.ressla, type: "line", data: pcol(per, "resolution_sla_rate"), symbolSize: 8 },
        { name: text.reopen, type: "line", data: pcol(per, "reopen_rate"), symbolSize: 8 }
      ]
    }, "period", keys);
    var names = (data.names && data.names.agent) || {};
    [["agent", "chart-agent"], ["category", "chart-category"], ["channel", "chart-channel"]].forEach(function (g) {
      var rows = s[g[0]], k = col(rows, "key");
      var labels = k.map(function (x) {
        if (g[0] === "agent") { return names[x] || ("#" + x); }
        return (text[g[0]] && text[g[0]][x]) || x;
      });
      chart(g[1], {
        xAxis: { type: "category", data: labels },
        yAxis: [{ type: "value", min: 0, max: 100 }, { type: "value", name: text.cases }],
        series: [
          { name: text.qa, type: "bar", data: col(rows, "qa_avg"), barMaxWidth: 28 },
          { name: text.csat, type: "bar", data: pcol(rows, "csat"), barMaxWidth: 28 },
          { name: text.cases, type: "line", yAxisIndex: 1, data: col(rows, "cases"), symbolSize: 8 }
        ]
      }, g[0], k);
    });
  }

  if (data.trend) {
    var lang = text.lang || "zh";
    var codes = {};
    data.trend.forEach(function (r) { Object.keys(r.problems).forEach(function (c) { codes[c] = 1; }); });
    var tkeys = col(data.trend, "key");
    chart("chart-complaints", {
      xAxis: { type: "category", data: tkeys },
      yAxis: { type: "value", minInterval: 1 },
      series: Object.keys(codes).sort().map(function (c) {
        var nm = data.problems[c] ? c + " " + data.problems[c][lang] : c;
        return { name: nm, type: "bar", stack: "p", data: data.trend.map(function (r) { return r.problems[c] || 0; }) };
      })
    });
  }

  if (data.days) {
    chart("chart-days", {
      xAxis: { type: "category", data: col(data.days, "key") },
      yAxis: [{ type: "value", min: 0, max: 100 }, { type: "value", name: text.cases }],
      series: [
        { name: text.qa, type: "line", data: col(data.days, "qa_avg"), symbolSize: 8 },
        { name: text.csat, type: "line", data: pcol(data.days, "csat"), symbolSize: 8 },
        { name: text.cases, type: "bar", yAxisIndex: 1, data: col(data.days, "cases"), barMaxWidth: 20 }
      ]
    });
  }
  wireForms();

  function wireForms() {
    var pick = document.querySelector("[data-agent-pick]");
    if (pick && pick.form) {
      pick.form.addEventListener("submit", function () {
        pick.form.action = "/quality/agents/" + encodeURIComponent(pick.value);
        pick.disabled = true;
      });
    }
    var pr = document.querySelector("[data-print]");
    if (pr) { pr.addEventListener("click", function () { window.print(); }); }
  }
})();
