// Sortline page behaviour: toasts and copy buttons. No inline scripts, so a strict CSP can apply.
(function () {
  "use strict";
  function showToasts(root) {
    var area = document.getElementById("toasts");
    if (!area) return;
    (root || document).querySelectorAll(".panel .toast").forEach(function (t) { area.appendChild(t); });
    area.querySelectorAll(".toast:not([data-timer])").forEach(function (t) {
      t.setAttribute("data-timer", "1");
      setTimeout(function () { t.remove(); }, 5000);
    });
  }
  function copyText(text, button) {
    var done = function () { var old = button.textContent; button.textContent = "已复制"; setTimeout(function () { button.textContent = old; }, 2000); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done);
      return;
    }
    var area = document.createElement("textarea");
    area.value = text; document.body.appendChild(area); area.select();
    try { document.execCommand("copy"); done(); } finally { area.remove(); }
  }
  // The navigation: on narrow screens a 菜单 button folds it open and shut; a menu of the bar
  // (系统管理) closes when the click lands elsewhere.
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest(".nav-toggle");
    if (toggle) {
      var bar = toggle.closest(".topbar");
      var open = !bar.classList.contains("nav-open");
      bar.classList.toggle("nav-open", open);
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    }
    document.querySelectorAll(".nav-group[open]").forEach(function (group) {
      if (!group.contains(event.target)) group.removeAttribute("open");
    });
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var target = document.querySelector(button.getAttribute("data-copy"));
    if (target) copyText(target.textContent.trim(), button);
  });
  document.addEventListener("DOMContentLoaded", function () { showToasts(document); });
  document.addEventListener("htmx:afterSettle", function () { showToasts(document); });
  // htmx 2 leaves 4xx/5xx answers unswapped: the gateway sends a toast fragment for those; show it.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (xhr.status >= 400 && xhr.responseText.indexOf('class="toast') >= 0) {
      var area = document.getElementById("toasts");
      var holder = document.createElement("div");
      holder.innerHTML = xhr.responseText;
      holder.querySelectorAll(".toast").forEach(function (t) { area.appendChild(t); });
      showToasts(document);
    }
  });
})();
