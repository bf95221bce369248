// The academy's scripts: the quiz countdown (the server holds the deadline; the page submits
// itself when the clock reaches zero) and the item-statistics chart. No inline code (CSP).
(function () {
  "use strict";

  function readJson(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function startTimer() {
    var cfg = readJson("academy-timer");
    var out = document.getElementById("quiz-timer");
    var form = cfg && document.getElementById(cfg.form);
    if (!cfg || !out || !form) return;
    var deadline = Date.parse(cfg.deadline);
    var sent = false;
    function tick() {
      var left = Math.max(0, Math.floor((deadline - Date.now()) / 1000));
      var m = Math.floor(left / 60), s = left % 60;
      out.textContent = m + ":" + (s < 10 ? "0" : "") + s;
      if (left <= 60) out.parentElement.parentElement.classList.add("low");
      if (left === 0 && !sent) {
        sent = true;
        var finish = document.createElement("input");
        finish.type = "hidden"; finish.name = "finish"; finish.value = "1";
        form.appendChild(finish);
        form.submit();
        return;
      }
      window.setTimeout(tick, 500);
    }
    tick();
  }

  function drawChart() {
    var data = readJson("academy-chart-data");
    var el = document.getElementById("academy-chart");
    if (!data || !el || !window.echarts || !data.keys.length) return;
    var chart = window.echarts.init(el, null, { renderer: "canvas" });
    chart.setOption({
      tooltip: { trigger: "axis", renderMode: "richText" },
      legend: { data: ["facility %", "discrimination"] },
      grid: { left: 48, right: 48, bottom: 60 },
      xAxis: { type: "category", data: data.keys, axisLabel: { rotate: 45 } },
      yAxis: [{ type: "value", min: 0, max: 100 }, { type: "value", min: -1, max: 1 }],
      series: [
        { name: "facility %", type: "bar", data: data.facility },
        { name: "discrimination", type: "line", yAxisIndex: 1, data: data.discrimination }
      ]
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    startTimer();
    drawChart();
  });
})();
