/* Kefu market charts (ECharts 6, canvas, no inline styles: the CSP refuses them).
 * - [data-chart=bars]: candlesticks + volume + a sub-chart, overlays, dataZoom, the customer's
 *   trades marked; data from /api/v1/market/bars, config in <script data-market=bars>.
 * - [data-chart=ticks]: the ticks around a binary-option record's expiry, strike and expiry
 *   marked; data in <script data-market=ticks> (the desk's replay panel, swapped in by htmx).
 * - [data-action=market-insert]: puts the drafted reply into the desk's reply box. */
(function () {
  "use strict";
  const cfgEl = document.getElementById("kefu-config");
  const CFG = cfgEl ? JSON.parse(cfgEl.textContent) : { tz: "Asia/Shanghai", lang: "zh-CN" };
  const TZ = CFG.tz || "Asia/Shanghai";
  const UP = "#d9363e"; // red rises, green falls: the Chinese convention (通达信)
  const DOWN = "#1f9d55";
  const LINES = ["#f59f00", "#1c7ed6", "#ae3ec9", "#0ca678", "#e8590c", "#495057"];
  const pad = (n) => String(n).padStart(2, "0");
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
  });
  function local(iso, withSeconds) {
    const p = {};
    for (const x of parts.formatToParts(new Date(iso))) p[x.type] = x.value;
    const hm = `${p.hour}:${p.minute}` + (withSeconds ? `:${p.second}` : "");
    return `${p.year}-${p.month}-${p.day} ${hm}`;
  }
  function readJson(el) { return el ? JSON.parse(el.textContent) : null; }
  // ECharts (about 1 MB) is fetched only when a chart is about to be drawn
  let charting = null;
  function echartsReady() {
    if (window.echarts) return Promise.resolve(window.echarts);
    if (!charting) {
      charting = new Promise((resolve, reject) => {
        const s = document.createElement("script");
        s.src = "/static/vendor/echarts-6.1.0/echarts.min.js";
        s.onload = () => resolve(window.echarts);
        s.onerror = () => reject(new Error("could not load the chart library"));
        document.head.appendChild(s);
      });
    }
    return charting;
  }

  // --- the instrument chart -------------------------------------------------------------------

  function barsUrl(c) {
    const q = new URLSearchParams({ symbol: c.symbol, interval: c.interval, style: c.style });
    if (c.customer) q.set("customer_id", c.customer);
    if (c.start) q.set("start", c.start);
    if (c.end) q.set("end", c.end);
    q.set("limit", c.interval === "1m" ? "2000" : "1000");
    return "/api/v1/market/bars?" + q.toString();
  }

  function lineSeries(obj, xi, yi, names) {
    return names.filter((k) => obj[k]).map((k, i) => ({
      name: k.toUpperCase(), type: "line", data: obj[k], xAxisIndex: xi, yAxisIndex: yi,
      showSymbol: false, lineStyle: { width: 1, color: LINES[i % LINES.length] },
      itemStyle: { color: LINES[i % LINES.length] },
    }));
  }

  function markerIndex(times, iso) {
    const t = Date.parse(iso);
    let lo = 0, hi = times.length - 1, at = -1;
    while (lo <= hi) { const mid = (lo + hi) >> 1; if (times[mid] <= t) { at = mid; lo = mid + 1; } else hi = mid - 1; }
    return at;
  }

  function barsOption(d, overlay, study, focus) {
    const withSec = false;
    const labels = d.ts.map((t) => (d.interval === "1d" ? local(t).slice(0, 10) : local(t, withSec)));
    const times = d.ts.map((t) => Date.parse(t));
    const candles = d.ts.map((_, i) => [d.open[i], d.close[i], d.low[i], d.high[i]]);
    const vol = d.volume.map((v, i) => ({ value: v, itemStyle: { color: d.close[i] >= d.open[i] ? UP : DOWN } }));
    const ind = d.indicators;
    const marks = [];
    for (const tr of d.trades) {
      const i = markerIndex(times, tr.at);
      if (i < 0 || (d.interval === "1m" && times[i] + 60000 <= Date.parse(tr.at))) continue;
      const buy = tr.side === "buy" || tr.side === "up" || tr.side === "call";
      marks.push({
        name: tr.ref, coord: [labels[i], Number(tr.price)], value: tr.kind === "stock" ? (buy ? "B" : "S") : (buy ? "↑" : "↓"),
        symbol: "pin", symbolSize: tr.ref === focus ? 44 : 34,
        itemStyle: { color: buy ? UP : DOWN, borderColor: tr.ref === focus ? "#000" : "#fff", borderWidth: 1 },
        label: { color: "#fff", fontSize: 11 },
      });
    }
    const series = [{
      name: d.symbol, type: "candlestick", data: candles, xAxisIndex: 0, yAxisIndex: 0,
      itemStyle: { color: UP, color0: DOWN, borderColor: UP, borderColor0: DOWN },
      markPoint: { data: marks },
    }];
    if (overlay === "MA") series.push(...lineSeries(ind.MA, 0, 0, Object.keys(ind.MA)));
    if (overlay === "BOLL") series.push(...lineSeries(ind.BOLL, 0, 0, ["mid", "upper", "lower"]));
    series.push({ name: "VOL", type: "bar", data: vol, xAxisIndex: 1, yAxisIndex: 1 });
    series.push(...lineSeries(ind.VOL, 1, 1, Object.keys(ind.VOL).filter((k) => k !== "vol")));
    if (study === "MACD") {
      series.push(...lineSeries(ind.MACD, 2, 2, ["dif", "dea"]));
      series.push({
        name: "MACD", type: "bar", xAxisIndex: 2, yAxisIndex: 2,
        data: ind.MACD.hist.map((v) => ({ value: v, itemStyle: { color: v !== null && v >= 0 ? UP : DOWN } })),
      });
    } else {
      series.push(...lineSeries(ind[study], 2, 2, Object.keys(ind[study])));
    }
    const axis = (i, show) => ({
      type: "category", data: labels, gridIndex: i, boundaryGap: true, axisLabel: { show },
      axisTick: { show }, axisLine: { onZero: false }, min: "dataMin", max: "dataMax",
    });
    let start = Math.max(0, 100 - (12000 / Math.max(labels.length, 1)));
    if (focus) {
      const f = d.trades.find((x) => x.ref === focus);
      const i = f ? markerIndex(times, f.at) : -1;
      if (i >= 0) start = Math.max(0, ((i - 60) / labels.length) * 100);
    }
    return {
      animation: false,
      legend: { top: 0, type: "scroll", data: series.filter((s) => s.type === "line").map((s) => s.name) },
      tooltip: { trigger: "axis", renderMode: "richText", axisPointer: { type: "cross" } },
      axisPointer: { link: [{ xAxisIndex: "all" }] },
      grid: [
        { left: 64, right: 24, top: 32, height: "52%" },
        { left: 64, right: 24, top: "64%", height: "11%" },
        { left: 64, right: 24, top: "78%", height: "13%" },
      ],
      xAxis: [axis(0, false), axis(1, false), axis(2, true)],
      yAxis: [
        { scale: true, gridIndex: 0, splitNumber: 4 },
        { scale: true, gridIndex: 1, splitNumber: 2, axisLabel: { show: false } },
        { scale: true, gridIndex: 2, splitNumber: 2 },
      ],
      dataZoom: [
        { type: "inside", xAxisIndex: [0, 1, 2], start, end: 100 },
        { type: "slider", xAxisIndex: [0, 1, 2], bottom: 4, height: 18, start, end: 100 },
      ],
      series,
    };
  }

  function initBars(el) {
    const c = readJson(document.querySelector("script[data-market=bars]"));
    const status = document.querySelector("[data-market=status]");
    const overlaySel = document.querySelector("[data-market=overlay]");
    const studySel = document.querySelector("[data-market=study]");
    const chart = echarts.init(el, null, { renderer: "canvas" });
    window.addEventListener("resize", () => chart.resize());
    let data = null;
    const draw = () => {
      if (!data) return;
      chart.setOption(barsOption(data, overlaySel.value, studySel.value, c.focus), { notMerge: true });
      el.dataset.state = "ready";
      el.dataset.bars = String(data.ts.length);
      el.dataset.marks = String(data.trades.length);
    };
    overlaySel.addEventListener("change", draw);
    studySel.addEventListener("change", draw);
    fetch(barsUrl(c), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((r) => r.json().then((body) => ({ ok: r.ok, body })))
      .then(({ ok, body }) => {
        if (!ok) throw new Error(body.detail || body.title || "error");
        data = body;
        if (status) status.textContent = `${body.name} · ${body.ts.length} · ${body.style}`;
        draw();
      })
      .catch((err) => { if (status) status.textContent = String(err.message || err); el.dataset.state = "error"; });
  }

  // --- the ticks around expiry ------------------------------------------------------------------

  function initTicks(el, d) {
    const chart = echarts.init(el, null, { renderer: "canvas" });
    const pts = d.ticks.map(([t, p]) => [Date.parse(t), Number(p)]);
    const strike = Number(d.strike);
    const marks = [{ name: "settle", coord: [Date.parse(d.settle_ts), Number(d.settle_price)], value: "⬤", itemStyle: { color: "#1c7ed6" } }];
    if (d.recorded_ts && d.recorded_ts !== d.settle_ts) {
      marks.push({ name: "recorded", coord: [Date.parse(d.recorded_ts), Number(d.recorded_price)], value: "✕", itemStyle: { color: "#c92a2a" } });
    }
    chart.setOption({
      animation: false,
      grid: { left: 56, right: 12, top: 12, bottom: 44 },
      tooltip: { trigger: "axis", renderMode: "richText" },
      xAxis: { type: "time", axisLabel: { formatter: (v) => local(new Date(v).toISOString(), true).slice(11) } },
      yAxis: { type: "value", scale: true },
      dataZoom: [{ type: "inside" }, { type: "slider", height: 14, bottom: 4 }],
      series: [{
        type: "line", data: pts, showSymbol: false, step: "end", lineStyle: { width: 1, color: "#343a40" },
        markLine: {
          symbol: "none", label: { formatter: "{b}", position: "insideStartTop" },
          data: [
            { name: "strike " + d.strike, yAxis: strike, lineStyle: { type: "dashed", color: "#f59f00" } },
            { name: "expiry", xAxis: Date.parse(d.expiry_ts), lineStyle: { color: "#1c7ed6" } },
          ],
        },
        markPoint: { symbol: "pin", symbolSize: 30, data: marks, label: { color: "#fff", fontSize: 9 } },
      }],
    });
    el.dataset.state = "ready";
    el.dataset.ticks = String(pts.length);
  }

  function scan(root) {
    const bars = root.querySelector ? root.querySelector("[data-chart=bars]") : null;
    if (bars && !bars.dataset.state) {
      bars.dataset.state = "loading";
      echartsReady().then(() => initBars(bars), (err) => { bars.dataset.state = "error"; bars.textContent = err.message; });
    }
    for (const el of (root.querySelectorAll ? root.querySelectorAll("[data-chart=ticks]") : [])) {
      if (el.dataset.state || !el.dataset.ticks) continue;
      const dialog = el.closest("dialog");
      if (dialog && !dialog.open) dialog.showModal(); // the chart needs a visible box to size
      el.dataset.state = "loading";
      echartsReady().then(() => initTicks(el, JSON.parse(el.dataset.ticks)), (err) => { el.dataset.state = "error"; el.textContent = err.message; });
    }
  }

  document.addEventListener("click", (e) => {
    const close = e.target.closest("[data-action=market-close]");
    if (close) { close.closest("dialog").close(); return; }
    const btn = e.target.closest("[data-action=market-insert]");
    if (!btn) return;
    e.preventDefault();
    const draft = btn.closest("[data-testid=draft]").querySelector("[data-role=market-draft]");
    const box = document.querySelector("textarea[data-role=input]");
    if (!draft || !box) return;
    box.value = draft.value;
    box.dispatchEvent(new Event("input", { bubbles: true }));
    const dialog = btn.closest("dialog");
    if (dialog) dialog.close();
    box.focus();
  });
  document.body.addEventListener("htmx:afterSwap", (e) => scan(e.detail.target || document));
  scan(document);
})();
