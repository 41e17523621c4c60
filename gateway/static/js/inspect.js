// The inspector's pages: today's targets (distance from the tablet) and one inspection form.
// The draft lives in IndexedDB from the first tap (inspect-queue.js), photos are scaled on the
// tablet (longest side 2,560 px, JPEG, the camera's orientation applied) before they are stored.
(function () {
  "use strict";

  var MAX_SIDE = 2560;
  var JPEG_QUALITY = 0.85;
  var Q = window.SortlineInspect;
  var position = null; // {latitude, longitude, accuracy_m, taken_at}

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  // --- position ----------------------------------------------------------------------------------
  function fmtTime(iso) {
    var d = new Date(iso);
    return ("0" + d.getHours()).slice(-2) + ":" + ("0" + d.getMinutes()).slice(-2);
  }

  function showPosition(text) {
    $all("[data-position]").forEach(function (n) { n.textContent = text; });
  }

  function locate(then) {
    if (!("geolocation" in navigator)) { showPosition("此设备不支持定位"); return; }
    showPosition("正在获取位置…");
    navigator.geolocation.getCurrentPosition(function (pos) {
      position = {
        latitude: Math.round(pos.coords.latitude * 1e7) / 1e7,
        longitude: Math.round(pos.coords.longitude * 1e7) / 1e7,
        accuracy_m: Math.round(pos.coords.accuracy * 10) / 10,
        taken_at: new Date(pos.timestamp || Date.now()).toISOString(),
      };
      showPosition(position.latitude.toFixed(5) + ", " + position.longitude.toFixed(5) + "（精度 ±" + Math.round(position.accuracy_m) + " 米，" + fmtTime(position.taken_at) + "）");
      if (then) then(position);
    }, function (err) {
      showPosition(err.code === 1 ? "未允许定位：请在浏览器设置中允许本站获取位置" : "暂时无法定位，可稍后点“重新定位”");
    }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 });
  }

  function distanceM(a, b) {
    var R = 6371000, rad = Math.PI / 180;
    var dLat = (b.latitude - a.latitude) * rad, dLng = (b.longitude - a.longitude) * rad;
    var h = Math.sin(dLat / 2) * Math.sin(dLat / 2) +
      Math.cos(a.latitude * rad) * Math.cos(b.latitude * rad) * Math.sin(dLng / 2) * Math.sin(dLng / 2);
    return 2 * R * Math.asin(Math.sqrt(h));
  }

  // --- today ---------------------------------------------------------------------------------------
  function initToday(list) {
    var items = $all(".sv-target", list);
    function showDistances(pos) {
      items.forEach(function (li) {
        var lat = parseFloat(li.getAttribute("data-lat")), lng = parseFloat(li.getAttribute("data-lng"));
        if (isNaN(lat) || isNaN(lng)) return;
        var d = distanceM(pos, { latitude: lat, longitude: lng });
        li.setAttribute("data-distance-m", String(Math.round(d)));
        $("[data-distance]", li).textContent = d < 1000 ? "约 " + Math.round(d) + " 米" : "约 " + (d / 1000).toFixed(1) + " 公里";
      });
      // nearest first; those without a position keep their place at the end
      items.slice().sort(function (a, b) {
        var x = parseFloat(a.getAttribute("data-distance-m")), y = parseFloat(b.getAttribute("data-distance-m"));
        return (isNaN(x) ? Infinity : x) - (isNaN(y) ? Infinity : y);
      }).forEach(function (li) { list.appendChild(li); });
    }
    locate(showDistances);
    $all("[data-locate]").forEach(function (b) { b.addEventListener("click", function () { locate(showDistances); }); });
    // Keep each target's form for the road: the service worker answers from this cache offline.
    if (window.caches && navigator.onLine) {
      var urls = items.map(function (li) { return li.getAttribute("data-href"); });
      window.caches.open("sortline-inspect-v1").then(function (cache) {
        urls.forEach(function (u) {
          fetch(u, { credentials: "same-origin" }).then(function (r) { if (r.ok && !r.redirected) cache.put(u, r); }).catch(function () {});
        });
      });
    }
    Q.allRecords().then(function (records) {
      records.forEach(function (r) {
        var href = "/supervision/inspect/" + encodeURIComponent(r.payload.plan_id) + "/" + encodeURIComponent(r.payload.target_code);
        items.forEach(function (li) {
          if (li.getAttribute("data-href") === href) {
            var mark = $("[data-done]", li);
            mark.hidden = false;
            mark.textContent = r.status === "draft" ? "草稿" : "待发送";
          }
        });
      });
    });
  }

  // --- photos --------------------------------------------------------------------------------------
  function decode(file) {
    if (window.createImageBitmap) {
      return createImageBitmap(file, { imageOrientation: "from-image" }).catch(function () { return decodeImg(file); });
    }
    return decodeImg(file);
  }

  function decodeImg(file) {
    // <img> applies the EXIF orientation itself (CSS image-orientation: from-image is the default).
    return new Promise(function (resolve, reject) {
      var url = URL.createObjectURL(file);
      var img = new Image();
      img.onload = function () { resolve(img); };
      img.onerror = function () { URL.revokeObjectURL(url); reject(new Error("无法读取图片")); };
      img.src = url;
    });
  }

  function scale(file) {
    return decode(file).then(function (image) {
      var w = image.naturalWidth || image.width, h = image.naturalHeight || image.height;
      var s = Math.min(1, MAX_SIDE / Math.max(w, h));
      var canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round(w * s));
      canvas.height = Math.max(1, Math.round(h * s));
      canvas.getContext("2d").drawImage(image, 0, 0, canvas.width, canvas.height);
      if (image.close) image.close();
      return new Promise(function (resolve, reject) {
        canvas.toBlob(function (blob) { blob ? resolve(blob) : reject(new Error("无法压缩图片")); }, "image/jpeg", JPEG_QUALITY);
      });
    });
  }

  // --- the inspection form ----------------------------------------------------------------------
  function initForm(form) {
    var meta = JSON.parse(form.getAttribute("data-inspection"));
    var draftKey = meta.plan_id + "|" + meta.target_code;
    var rec = null;
    var saving = Promise.resolve();
    var savedText = $("[data-saved]", form);
    var formError = $("[data-form-error]", form);

    function itemBox(id) { return $('.sv-item[data-item="' + CSS.escape(id) + '"]', form); }

    function readValue(item) {
      var box = itemBox(item.id);
      if (!box) return null;
      var name = "v-" + item.id;
      if (item.type === "yesno") {
        var c = $('input[name="' + CSS.escape(name) + '"]:checked', box);
        return c ? c.value === "yes" : null;
      }
      if (item.type === "score" || item.type === "count") {
        var input = $('input[name="' + CSS.escape(name) + '"]:checked', box) || $('input[type=number][name="' + CSS.escape(name) + '"]', box);
        if (!input || input.value === "") return null;
        return Number(input.value);
      }
      if (item.type === "text") {
        var t = $('textarea[name="' + CSS.escape(name) + '"]', box);
        return t && t.value.trim() ? t.value.trim() : null;
      }
      return null;
    }

    function writeValue(item, value) {
      var box = itemBox(item.id);
      if (!box || value === null || value === undefined) return;
      var name = "v-" + item.id;
      if (item.type === "yesno") {
        var v = value ? "yes" : "no";
        $all('input[name="' + CSS.escape(name) + '"]', box).forEach(function (i) { i.checked = i.value === v; });
      } else if (item.type === "score" || item.type === "count") {
        var radios = $all('input[type=radio][name="' + CSS.escape(name) + '"]', box);
        if (radios.length) radios.forEach(function (i) { i.checked = Number(i.value) === value; });
        else { var n = $('input[name="' + CSS.escape(name) + '"]', box); if (n) n.value = value; }
      } else if (item.type === "text") {
        var t = $('textarea[name="' + CSS.escape(name) + '"]', box); if (t) t.value = value;
      }
    }

    function collect() {
      return meta.items.map(function (item) {
        var box = itemBox(item.id);
        var note = box ? $(".sv-note", box).value.trim() : "";
        var photoIds = rec && rec.photo_ids[item.id] ? rec.photo_ids[item.id].slice() : [];
        return { item_id: item.id, value: readValue(item), note: note || null, photo_ids: photoIds };
      });
    }

    function payload() {
      var pos = rec.position || {};
      var body = {
        plan_id: meta.plan_id,
        target_code: meta.target_code,
        answers: collect(),
        latitude: pos.latitude === undefined ? null : pos.latitude,
        longitude: pos.longitude === undefined ? null : pos.longitude,
        accuracy_m: pos.accuracy_m === undefined ? null : pos.accuracy_m,
        taken_at: pos.taken_at || rec.started_at,
      };
      if (meta.replaces) body.replaces = meta.replaces;
      return body;
    }

    // --- free findings (另报问题): kept in the draft, their photos under "finding:<id>" -----------
    var freeList = $("[data-free-findings]", form);
    var freeTpl = document.getElementById("free-finding-template");

    function addFreeFinding(f) {
      var node = freeTpl.content.firstElementChild.cloneNode(true);
      node.setAttribute("data-item", "finding:" + f.id);
      node.setAttribute("data-finding", f.id);
      $("[data-f-category]", node).value = f.category || "";
      $("[data-f-severity]", node).value = f.severity || "minor";
      $("[data-f-description]", node).value = f.description || "";
      $("[data-f-remove]", node).addEventListener("click", function () {
        var key = "finding:" + f.id;
        (rec.photo_ids[key] || []).forEach(function (pid) { Q.deletePhoto(pid); });
        delete rec.photo_ids[key];
        node.remove();
        save();
      });
      freeList.appendChild(node);
    }

    function readFindings() {
      return $all("[data-finding]", freeList).map(function (node) {
        return {
          id: node.getAttribute("data-finding"),
          category: $("[data-f-category]", node).value,
          severity: $("[data-f-severity]", node).value || "minor",
          description: $("[data-f-description]", node).value.trim(),
        };
      });
    }

    function validFindings() {
      var ok = true;
      $all("[data-finding]", freeList).forEach(function (node) {
        var err = $("[data-item-error]", node);
        var missing = !$("[data-f-category]", node).value || !$("[data-f-description]", node).value.trim();
        err.hidden = !missing;
        err.textContent = missing ? "请选择问题类别并填写问题描述" : "";
        node.classList.toggle("has-error", missing);
        if (missing) ok = false;
      });
      return ok;
    }

    function save() {
      saving = saving.then(function () {
        rec.payload = payload();
        if (freeList) rec.findings = readFindings();
        rec.county_code = meta.county_code;
        return Q.putRecord(rec).then(function () {
          savedText.textContent = "草稿已保存在本机 " + fmtTime(new Date().toISOString());
        });
      });
      return saving;
    }

    function addThumb(itemId, photo) {
      var list = $("[data-thumbs]", itemBox(itemId));
      var li = document.createElement("li");
      li.className = "sv-thumb";
      li.setAttribute("data-photo-id", photo.photo_id);
      var img = document.createElement("img");
      img.alt = photo.name || "照片";
      img.src = URL.createObjectURL(photo.blob);
      var del = document.createElement("button");
      del.type = "button";
      del.className = "sv-thumb-del";
      del.setAttribute("aria-label", "删除照片");
      del.textContent = "×";
      del.addEventListener("click", function () {
        rec.photo_ids[itemId] = (rec.photo_ids[itemId] || []).filter(function (id) { return id !== photo.photo_id; });
        Q.deletePhoto(photo.photo_id).then(save);
        li.remove();
      });
      li.appendChild(img);
      li.appendChild(del);
      list.appendChild(li);
    }

    function onPhotos(input) {
      var box = input.closest(".sv-item");
      var itemId = box.getAttribute("data-item");
      var files = Array.prototype.slice.call(input.files || []);
      var errorBox = $("[data-item-error]", box);
      errorBox.hidden = true;
      var chain = Promise.resolve();
      files.forEach(function (file) {
        chain = chain.then(function () {
          return scale(file).then(function (blob) {
            var photo = {
              photo_id: Q.newId(), client_id: rec.client_id, item_id: itemId, blob: blob,
              name: file.name || "photo.jpg", taken_at: new Date(file.lastModified || Date.now()).toISOString(),
              position: position,
            };
            rec.photo_ids[itemId] = (rec.photo_ids[itemId] || []).concat([photo.photo_id]);
            return Q.putPhoto(photo).then(function () { addThumb(itemId, photo); return save(); });
          }, function () {
            errorBox.textContent = "“" + (file.name || "照片") + "”不是可识别的图片，未保存。";
            errorBox.hidden = false;
          });
        });
      });
      chain.then(function () { input.value = ""; });
    }

    function validate() {
      var ok = true;
      meta.items.forEach(function (item) {
        var box = itemBox(item.id);
        var err = $("[data-item-error]", box);
        var missing = false;
        if (item.type === "photo") missing = item.required && !(rec.photo_ids[item.id] || []).length;
        else missing = item.required && readValue(item) === null;
        var bad = (item.type === "score" && item.max !== null && readValue(item) !== null && (readValue(item) < 0 || readValue(item) > item.max));
        err.hidden = !(missing || bad);
        err.textContent = missing ? (item.type === "photo" ? "本项需要至少一张照片" : "本项为必填项") : bad ? "分数应在 0–" + item.max + " 之间" : "";
        box.classList.toggle("has-error", missing || bad);
        if (missing || bad) ok = false;
      });
      return ok;
    }

    function restore(found) {
      rec = found;
      if (rec.position) {
        position = rec.position;
        showPosition(position.latitude.toFixed(5) + ", " + position.longitude.toFixed(5) + "（精度 ±" + Math.round(position.accuracy_m) + " 米，" + fmtTime(position.taken_at) + "）");
      }
      if (freeList) (rec.findings || []).forEach(addFreeFinding);
      var answers = (rec.payload && rec.payload.answers) || [];
      answers.forEach(function (a) {
        var item = meta.items.filter(function (i) { return i.id === a.item_id; })[0];
        if (item) writeValue(item, a.value);
        var box = itemBox(a.item_id);
        if (box && a.note) $(".sv-note", box).value = a.note;
      });
      return Q.photosOf(rec.client_id).then(function (photos) {
        photos.forEach(function (p) { if (itemBox(p.item_id)) addThumb(p.item_id, p); });
        savedText.textContent = "已恢复本机保存的草稿（" + photos.length + " 张照片）。";
      });
    }

    function fresh() {
      rec = {
        client_id: Q.newId(), draft_key: draftKey, owner: Q.currentUser(), status: "draft", plan_id: meta.plan_id, plan_name: meta.plan_name,
        target_name: meta.target_name, started_at: new Date().toISOString(), photo_ids: {}, position: null,
        findings: [], county_code: meta.county_code,
      };
      // 更正此检查: start from the answers of the inspection being corrected
      (meta.prefill || []).forEach(function (a) {
        var item = meta.items.filter(function (i) { return i.id === a.item_id; })[0];
        if (item) writeValue(item, a.value);
        var box = itemBox(a.item_id);
        if (box && a.note) $(".sv-note", box).value = a.note;
      });
      rec.payload = payload();
      return Q.putRecord(rec);
    }

    function withPosition(pos) {
      if (!rec) return;
      rec.position = pos;
      save();
    }

    Q.draftFor(draftKey).then(function (found) { return found ? restore(found) : fresh(); }).then(function () {
      form.addEventListener("change", function (e) {
        if (e.target.matches("[data-photo-input]")) { onPhotos(e.target); return; }
        save();
      });
      form.addEventListener("input", function (e) { if (e.target.matches("textarea, input[type=text], input[type=number]")) save(); });
      form.addEventListener("click", function (e) {
        var step = e.target.closest("[data-step]");
        if (!step) return;
        var input = $("input[type=number]", step.parentNode);
        input.value = Math.max(0, (Number(input.value) || 0) + Number(step.getAttribute("data-step")));
        save();
      });
      if (!rec.position) locate(withPosition);
      var addFinding = $("[data-add-finding]", form);
      if (addFinding && freeList) {
        addFinding.addEventListener("click", function () {
          addFreeFinding({ id: Q.newId(), category: "", severity: "minor", description: "" });
          save();
        });
      }
      form.setAttribute("data-ready", "1");
    });
    $all("[data-locate]").forEach(function (b) { b.addEventListener("click", function () { locate(withPosition); }); });

    form.addEventListener("submit", function (e) {
      e.preventDefault();
      formError.hidden = true;
      if (!rec) return;
      var findingsOk = freeList ? validFindings() : true;
      if (!validate() || !findingsOk) {
        formError.textContent = "还有检查项未填写，请查看标红的项目。";
        formError.hidden = false;
        var first = $(".sv-item.has-error", form);
        if (first) first.scrollIntoView({ block: "center" });
        return;
      }
      save().then(function () {
        rec.draft_key = "";
        return Q.enqueue(rec);
      }).then(function () {
        savedText.textContent = navigator.onLine ? "已提交，正在发送…" : "已保存到待发送，恢复网络后自动发送。";
        form.setAttribute("data-queued", "1");
        $all("input, textarea, button", form).forEach(function (n) { n.disabled = true; });
      });
    });

    $("[data-discard]", form).addEventListener("click", function () {
      if (!rec || !window.confirm("确定放弃这份草稿？已拍的照片也会从本机删除。")) return;
      Q.deleteRecord(rec.client_id).then(function () { window.location.href = "/supervision/today"; });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("inspection");
    if (form) initForm(form);
    var list = $("[data-targets]");
    if (list) initToday(list);
    else if (!form && $("[data-position]")) locate();
  });
})();
