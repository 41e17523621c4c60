// Assessment pages: selects that submit their form, and the evidence upload with a progress bar
// (XHR, so the browser reports upload progress; the gateway streams the body on to the service).
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var select = event.target.closest("[data-autosubmit]");
    if (select && select.form) select.form.submit();
  });

  function showError(form, html) {
    var box = form.querySelector(".upload-error");
    if (box) box.outerHTML = html;
  }

  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-upload]");
    if (!form) return;
    event.preventDefault();
    var button = form.querySelector("button[type=submit]");
    var bar = form.querySelector(".upload-progress");
    var progress = bar.querySelector("progress");
    var percent = bar.querySelector(".upload-percent");
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.getAttribute("action"));
    xhr.setRequestHeader("X-CSRF-Token", form.getAttribute("data-csrf"));
    xhr.setRequestHeader("HX-Request", "true");
    xhr.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) return;
      var p = Math.round((e.loaded / e.total) * 100);
      progress.value = p;
      percent.textContent = p + "%";
    });
    xhr.addEventListener("load", function () {
      button.disabled = false;
      if (xhr.status >= 200 && xhr.status < 300) {
        var target = document.querySelector(form.getAttribute("data-target"));
        target.outerHTML = xhr.responseText;
        var fresh = document.querySelector(form.getAttribute("data-target"));
        if (window.htmx && fresh) window.htmx.process(fresh);
        document.dispatchEvent(new CustomEvent("htmx:afterSettle"));
        return;
      }
      bar.hidden = true;
      if (xhr.responseText.indexOf("upload-error") >= 0) {
        showError(form, xhr.responseText);
      } else {
        var msg = "上传失败（" + xhr.status + "），请稍后再试";
        var holder = document.createElement("div");
        try { msg = JSON.parse(xhr.responseText).message || msg; } catch (e) {
          holder.innerHTML = xhr.responseText;  // the gateway's error toast
          msg = holder.textContent.trim() || msg;
        }
        holder.textContent = msg;
        showError(form, '<div class="upload-error" role="alert"><div class="alert alert-error">' + holder.innerHTML + "</div></div>");
      }
    });
    xhr.addEventListener("error", function () {
      button.disabled = false;
      bar.hidden = true;
      showError(form, '<div class="upload-error" role="alert"><div class="alert alert-error">网络中断，上传没有完成，请重试</div></div>');
    });
    button.disabled = true;
    bar.hidden = false;
    progress.value = 0;
    percent.textContent = "0%";
    xhr.send(new FormData(form));
  });
})();
