// Import page: the template link follows the chosen kind. Works without it (the link then
// offers the kind the page was opened with). No inline scripts, so a strict CSP can apply.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var radio = event.target.closest("input[type=radio][data-template]");
    if (!radio) return;
    var link = document.getElementById("template-link");
    if (!link) return;
    link.href = radio.getAttribute("data-template");
    link.textContent = "下载" + radio.parentNode.textContent.trim() + "导入模板 (XLSX)";
  });
})();
