"""The /quality console in a browser: a supervisor clicks a point of the dashboard's trend
chart, gets the cases behind it, opens one and follows a finding to the message it is about."""

from __future__ import annotations

from tests.e2e.conftest import Watched, login, shot

FIRST_POINT = """() => {
  const el = document.getElementById('chart-trend');
  const chart = window.echarts.getInstanceByDom(el);
  const opt = chart.getOption();
  const i = opt.series[0].data.findIndex((v) => v !== null && v !== undefined);
  const [x, y] = chart.convertToPixel({seriesIndex: 0}, [i, opt.series[0].data[i]]);
  const box = el.getBoundingClientRect();
  return {x: box.left + x, y: box.top + y, key: opt.xAxis[0].data[i]};
}"""


def test_dashboard_point_drills_down_to_a_case_evaluation(browser, demo_server):  # type: ignore[no-untyped-def]
    w = Watched(browser)
    page = w.page
    try:
        login(page, demo_server, "supervisor")
        page.click("[data-testid=nav-quality]")
        page.wait_for_url(f"{demo_server}/quality")
        page.wait_for_selector("#chart-trend canvas")
        # every finished demo case has an evaluation: the totals count them
        assert int(page.inner_text("[data-testid=quality-kpis] .kpi strong")) >= 12
        point = page.evaluate(FIRST_POINT)
        page.mouse.click(point["x"], point["y"])
        page.wait_for_selector("[data-testid=drill-row]")
        assert point["key"] in page.inner_text("[data-testid=drill-title]")
        shot(page, "quality.png")
        page.click("[data-testid=drill-case] >> nth=0")
        page.wait_for_url("**/quality/cases/*")
        page.wait_for_selector("[data-testid=score]")
        assert page.locator("[data-testid=finding]").count() > 0
        link = page.locator("[data-testid=finding-link]").first
        target = link.get_attribute("href")
        assert target and target.startswith("#m-")
        link.click()
        page.wait_for_function("(id) => location.hash === id", arg=target)
        assert page.locator(f"{target} [data-testid=finding]").count() > 0
        w.assert_clean()
    finally:
        w.ctx.close()
