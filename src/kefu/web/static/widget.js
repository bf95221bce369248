/* Kefu chat widget: one <script src="https://kefu.example/static/widget.js" defer></script> on a
   broker's page adds a chat button that opens the customer chat in a panel (an iframe of /widget).
   The Kefu host must be same-site with the page (e.g. chat.broker.com on www.broker.com) so the
   session cookie is sent; the panel shows the login form when there is no session. */
(function () {
  "use strict";
  var script = document.currentScript;
  var origin = new URL(script.src).origin;
  var lang = (script.dataset.lang || document.documentElement.lang || "zh-CN").toLowerCase().indexOf("en") === 0 ? "en" : "zh-CN";
  var label = lang === "en" ? "Chat with us" : "在线客服";
  var btn = document.createElement("button");
  btn.type = "button";
  btn.textContent = label;
  btn.setAttribute("aria-label", label);
  btn.setAttribute("data-kefu-widget", "button");
  btn.style.cssText = "position:fixed;right:20px;bottom:20px;z-index:2147483000;border:0;border-radius:24px;" +
    "padding:12px 18px;background:#c8102e;color:#fff;font:600 14px/1 system-ui,sans-serif;cursor:pointer;" +
    "box-shadow:0 4px 16px rgba(0,0,0,.2)";
  var frame = null;
  btn.addEventListener("click", function () {
    if (frame) { frame.hidden = !frame.hidden; return; }
    frame = document.createElement("iframe");
    frame.src = origin + "/widget?lang=" + encodeURIComponent(lang);
    frame.title = label;
    frame.setAttribute("data-kefu-widget", "panel");
    frame.style.cssText = "position:fixed;right:20px;bottom:72px;z-index:2147483000;width:min(380px,calc(100vw - 40px));" +
      "height:min(600px,calc(100vh - 100px));border:1px solid #e2e7ee;border-radius:12px;background:#fff;" +
      "box-shadow:0 8px 32px rgba(0,0,0,.25)";
    document.body.appendChild(frame);
  });
  document.body.appendChild(btn);
})();
