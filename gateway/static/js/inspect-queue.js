// The inspector's offline store and send queue (ODK / Enketo rule): every inspection and every
// photo carries an id made on the tablet; the records wait in IndexedDB and are sent one at a
// time: PUT the inspection's JSON, PUT each photo on its own, then POST submit. A record leaves
// IndexedDB only after every part was accepted. The server answers a resend of the same id with
// the same content as a success that changes nothing, and the same id with other content as a
// 409: the record stays and the inspector is told. Retries on `online` events and on a timer.
// The JSON goes through the gateway's /api/v1/supervision proxy, which takes the browser's
// session cookie with its CSRF token (X-CSRF-Token) as well as a county system's API key.
(function () {
  "use strict";

  var DB_NAME = "sortline-inspect";
  var API = "/api/v1/supervision/inspections/";
  var FINDINGS_API = "/api/v1/supervision/findings";
  var RETRY_MS = 30000;
  var dbPromise = null;
  var listeners = [];
  var flushing = false;

  // --- ids -----------------------------------------------------------------------------------
  function newId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
    // crypto.randomUUID needs a secure context; getRandomValues does not (intranets on plain http).
    var b = new Uint8Array(16);
    window.crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  // Who is signed in on this tablet: records are sent only under their own inspector's session.
  function currentUser() {
    var box = document.querySelector("[data-outbox][data-user]");
    return box ? box.getAttribute("data-user") : "";
  }

  function mine(rec) {
    return !rec.owner || rec.owner === currentUser();
  }

  // --- IndexedDB -----------------------------------------------------------------------------
  function openDb() {
    if (dbPromise) return dbPromise;
    dbPromise = new Promise(function (resolve, reject) {
      var req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = function () {
        var db = req.result;
        var records = db.createObjectStore("records", { keyPath: "client_id" });
        records.createIndex("draft_key", "draft_key", { unique: false });
        var photos = db.createObjectStore("photos", { keyPath: "photo_id" });
        photos.createIndex("client_id", "client_id", { unique: false });
      };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
    return dbPromise;
  }

  function tx(stores, mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(stores, mode);
        var result;
        t.oncomplete = function () { resolve(result); };
        t.onerror = function () { reject(t.error); };
        t.onabort = function () { reject(t.error || new Error("IndexedDB aborted")); };
        result = work(t);
      });
    });
  }

  function reqValue(request) {
    var box = { value: undefined };
    request.onsuccess = function () { box.value = request.result; };
    return box;
  }

  function getRecord(id) {
    var box;
    return tx(["records"], "readonly", function (t) { box = reqValue(t.objectStore("records").get(id)); })
      .then(function () { return box.value; });
  }

  function putRecord(rec) {
    rec.updated_at = new Date().toISOString();
    return tx(["records"], "readwrite", function (t) { t.objectStore("records").put(rec); }).then(changed);
  }

  function allRecords() {
    var box;
    return tx(["records"], "readonly", function (t) { box = reqValue(t.objectStore("records").getAll()); })
      .then(function () { return box.value || []; });
  }

  function draftFor(key) {
    var box;
    return tx(["records"], "readonly", function (t) {
      box = reqValue(t.objectStore("records").index("draft_key").getAll(key));
    }).then(function () {
      return (box.value || []).filter(function (r) { return r.status === "draft" && mine(r); })[0];
    });
  }

  function putPhoto(photo) {
    return tx(["photos"], "readwrite", function (t) { t.objectStore("photos").put(photo); }).then(changed);
  }

  function getPhoto(id) {
    var box;
    return tx(["photos"], "readonly", function (t) { box = reqValue(t.objectStore("photos").get(id)); })
      .then(function () { return box.value; });
  }

  function photosOf(clientId) {
    var box;
    return tx(["photos"], "readonly", function (t) {
      box = reqValue(t.objectStore("photos").index("client_id").getAll(clientId));
    }).then(function () { return box.value || []; });
  }

  function deletePhoto(id) {
    return tx(["photos"], "readwrite", function (t) { t.objectStore("photos").delete(id); }).then(changed);
  }

  function deleteRecord(clientId) {
    return photosOf(clientId).then(function (photos) {
      return tx(["records", "photos"], "readwrite", function (t) {
        photos.forEach(function (p) { t.objectStore("photos").delete(p.photo_id); });
        t.objectStore("records").delete(clientId);
      });
    }).then(changed);
  }

  function changed() {
    listeners.forEach(function (fn) { try { fn(); } catch (e) { /* a listener's bug must not stop the queue */ } });
  }

  function onChange(fn) { listeners.push(fn); }

  // --- sending ---------------------------------------------------------------------------------
  function csrfToken() {
    try {
      var headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}");
      return headers["X-CSRF-Token"] || "";
    } catch (e) { return ""; }
  }

  // A page opened from the offline cache may carry the token of an earlier session: read the
  // current one from a fresh page (the session cookie is the browser's), once per refusal.
  function refreshCsrf() {
    return fetch("/supervision/outbox", { credentials: "same-origin", cache: "no-store" })
      .then(function (resp) { return resp.ok && !resp.redirected ? resp.text() : ""; })
      .then(function (html) {
        var match = /"X-CSRF-Token": "([^"]+)"/.exec(html);
        if (!match) return false;
        document.body.setAttribute("hx-headers", JSON.stringify({ "X-CSRF-Token": match[1] }));
        return true;
      });
  }

  function send(method, url, body, contentType, retried, extra) {
    var headers = Object.assign({ "X-CSRF-Token": csrfToken(), "Accept": "application/json" }, extra || {});
    if (contentType) headers["Content-Type"] = contentType;
    return fetch(url, { method: method, body: body, headers: headers, credentials: "same-origin" })
      .then(function (resp) {
        return resp.text().then(function (text) {
          var data = null;
          try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
          return { status: resp.status, data: data };
        });
      })
      .then(function (answer) {
        if (answer.status !== 403 || retried) return answer;
        return refreshCsrf().then(function (fresh) {
          return fresh ? send(method, url, body, contentType, true, extra) : answer;
        });
      });
  }

  function messageOf(answer, fallback) {
    var data = answer.data || {};
    var text = data.message || fallback;
    if (data.details && data.details.length) {
      text += "（" + data.details.map(function (d) { return d.message; }).join("；") + "）";
    }
    return text;
  }

  // A refusal that resending cannot fix: the record stays, marked, until the inspector acts.
  function stop(rec, status, message) {
    rec.status = status;
    rec.error = message;
    return putRecord(rec).then(function () { return false; });
  }

  // Where and when the photo was taken, as the service's query parameters.
  function photoQuery(p) {
    var q = new URLSearchParams();
    if (p.taken_at) q.set("taken_at", p.taken_at);
    if (p.position) {
      q.set("latitude", p.position.latitude);
      q.set("longitude", p.position.longitude);
      q.set("accuracy_m", p.position.accuracy_m);
    }
    var text = q.toString();
    return text ? "?" + text : "";
  }

  function sendRecord(rec) {
    var base = API + encodeURIComponent(rec.client_id);
    rec.sent = rec.sent || { inspection: false, photos: {} };
    rec.status = "sending";
    rec.error = "";
    return putRecord(rec)
      .then(function () {
        if (rec.sent.inspection) return true;
        return send("PUT", base, JSON.stringify(rec.payload), "application/json").then(function (a) {
          if (a.status === 200 || a.status === 201) {
            rec.sent.inspection = true;
            return putRecord(rec).then(function () { return true; });
          }
          return refused(rec, a, "检查记录");
        });
      })
      .then(function (ok) {
        if (!ok) return false;
        return photosOf(rec.client_id).then(function (photos) {
          var chain = Promise.resolve(true);
          photos.forEach(function (p) {
            chain = chain.then(function (okSoFar) {
              if (!okSoFar || rec.sent.photos[p.photo_id]) return okSoFar;
              var url = base + "/photos/" + encodeURIComponent(p.photo_id) + photoQuery(p);
              return send("PUT", url, p.blob, p.blob.type || "image/jpeg").then(function (a) {
                if (a.status === 200 || a.status === 201) {
                  rec.sent.photos[p.photo_id] = true;
                  return putRecord(rec).then(function () { return true; });
                }
                return refused(rec, a, "照片 " + p.name);
              });
            });
          });
          return chain;
        });
      })
      .then(function (ok) {
        if (!ok) return false;
        return send("POST", base + "/submit", null, null).then(function (a) {
          if (a.status === 200 || a.status === 201) return true;
          if (a.status === 409) {
            // e.g. a photo the server lost: send every photo again (same ids: no duplicate) next time.
            rec.sent.photos = {};
          }
          return refused(rec, a, "提交");
        });
      })
      .then(function (ok) { return ok ? sendFindings(rec) : false; })
      .then(function (ok) { return ok ? deleteRecord(rec.client_id).then(function () { return true; }) : false; });
  }

  // Free findings (另报问题) made during the inspection: sent after it, each under its own tablet id
  // (Idempotency-Key: a resend makes nothing new); their photos went with the inspection's.
  function findingBody(rec, f) {
    var p = rec.payload;
    return {
      plan_id: p.plan_id, target_code: p.target_code, target_name: rec.target_name || "", county_code: rec.county_code,
      category: f.category, severity: f.severity || "minor", description: f.description,
      inspection: rec.client_id, photo_ids: (rec.photo_ids || {})["finding:" + f.id] || [],
      latitude: p.latitude, longitude: p.longitude, allow_duplicate: !!f.allow_duplicate,
    };
  }

  function sendFindings(rec) {
    rec.sent.findings = rec.sent.findings || {};
    var chain = Promise.resolve(true);
    (rec.findings || []).forEach(function (f) {
      chain = chain.then(function (okSoFar) {
        if (!okSoFar || rec.sent.findings[f.id]) return okSoFar;
        var body = JSON.stringify(findingBody(rec, f));
        return send("POST", FINDINGS_API, body, "application/json", false, { "Idempotency-Key": f.id }).then(function (a) {
          if (a.status === 200 || a.status === 201) {
            rec.sent.findings[f.id] = true;
            return putRecord(rec).then(function () { return true; });
          }
          if (a.status === 409 && a.data && a.data.error === "likely_duplicate") {
            rec.duplicate_finding = f.id;
            return stop(rec, "duplicate", "另报问题：" + messageOf(a, "疑似重复") + "。如确认不是同一问题，可选择“仍要新建”。");
          }
          return refused(rec, a, "另报问题");
        });
      });
    });
    return chain;
  }

  // The inspector confirmed that the likely duplicate is another problem: send it anyway.
  function sendDuplicate(clientId) {
    return getRecord(clientId).then(function (rec) {
      (rec.findings || []).forEach(function (f) { if (f.id === rec.duplicate_finding) f.allow_duplicate = true; });
      rec.status = "queued";
      rec.error = "";
      return putRecord(rec).then(function () { return flush(); });
    });
  }

  function refused(rec, answer, what) {
    if (answer.status === 409) {
      return stop(rec, "conflict", what + "与服务器上同一编号的内容不一致：" + messageOf(answer, "编号冲突") + "。本机草稿已保留。");
    }
    if (answer.status === 401) {
      return stop(rec, "waiting", "登录已过期，请重新登录后发送（记录仍保存在本机）。");
    }
    if (answer.status === 400 || answer.status === 403 || answer.status === 404 || answer.status === 413 || answer.status === 415 || answer.status === 422) {
      return stop(rec, "error", what + "被拒绝：" + messageOf(answer, "请求有误"));
    }
    // 5xx and the like: the network or the service; try again later.
    return stop(rec, "waiting", what + "暂未发送（服务暂不可用），稍后自动重试。");
  }

  function flush(force) {
    if (flushing) return Promise.resolve();
    if (!navigator.onLine && !force) { changed(); return Promise.resolve(); }
    flushing = true;
    return allRecords()
      .then(function (records) {
        var due = records.filter(function (r) {
          return mine(r) && (r.status === "queued" || r.status === "waiting" || r.status === "sending" || (force && r.status === "error"));
        });
        var chain = Promise.resolve();
        due.forEach(function (rec) {
          chain = chain.then(function () {
            return sendRecord(rec).catch(function () {
              // fetch failed: offline or the network dropped mid-way. Keep and retry.
              rec.status = "waiting";
              rec.error = "网络不可用，恢复后自动发送。";
              return putRecord(rec);
            });
          });
        });
        return chain;
      })
      .then(function () { flushing = false; changed(); }, function () { flushing = false; changed(); });
  }

  // Queue a draft: its payload is frozen now, so every resend carries the same body.
  function enqueue(rec) {
    rec.status = "queued";
    rec.error = "";
    rec.sent = { inspection: false, photos: {} };
    rec.queued_at = new Date().toISOString();
    return putRecord(rec).then(function () { return flush(); });
  }

  // A conflicting record resent under new ids (the server keeps the other content).
  function resendAsNew(clientId) {
    return getRecord(clientId).then(function (rec) {
      return photosOf(clientId).then(function (photos) {
        var newClient = newId();
        var map = {};
        photos.forEach(function (p) { map[p.photo_id] = newId(); });
        rec.payload.answers.forEach(function (a) {
          a.photo_ids = (a.photo_ids || []).map(function (id) { return map[id] || id; });
        });
        var copy = Object.assign({}, rec, { client_id: newClient, draft_key: "", replaces_local: clientId });
        return tx(["records", "photos"], "readwrite", function (t) {
          photos.forEach(function (p) {
            t.objectStore("photos").delete(p.photo_id);
            t.objectStore("photos").put(Object.assign({}, p, { photo_id: map[p.photo_id], client_id: newClient }));
          });
          t.objectStore("records").delete(clientId);
          t.objectStore("records").put(copy);
        }).then(function () { return enqueue(copy); });
      });
    });
  }

  // --- the 待发送 list -----------------------------------------------------------------------
  var STATUS = {
    queued: "等待发送", waiting: "等待网络", sending: "发送中", conflict: "编号冲突", error: "被拒绝", duplicate: "疑似重复",
  };

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function renderOutbox() {
    var boxes = document.querySelectorAll("[data-outbox]");
    if (!boxes.length) return Promise.resolve();
    return allRecords().then(function (records) {
      var pending = records.filter(function (r) { return r.status !== "draft" && mine(r); });
      var others = records.filter(function (r) { return r.status !== "draft" && !mine(r); }).length;
      return Promise.all(pending.map(function (r) { return photosOf(r.client_id); })).then(function (photoLists) {
        var photoTotal = 0;
        boxes.forEach(function (box) {
          var list = box.querySelector("[data-outbox-list]");
          list.textContent = "";
          photoTotal = 0;
          pending.forEach(function (rec, i) {
            var photos = photoLists[i];
            var sentPhotos = photos.filter(function (p) { return rec.sent && rec.sent.photos[p.photo_id]; }).length;
            photoTotal += photos.length;
            var li = el("li", "sv-outbox-item sv-state-" + rec.status);
            li.setAttribute("data-client-id", rec.client_id);
            li.appendChild(el("strong", "", rec.target_name || rec.payload.target_code));
            var freeCount = (rec.findings || []).length;
            li.appendChild(el("span", "muted small", " " + (rec.plan_name || "") + " · " + photos.length + " 张照片（已发送 " + sentPhotos + "）" + (freeCount ? " · 另报问题 " + freeCount + " 个" : "")));
            li.appendChild(el("span", "badge sv-badge-" + rec.status, STATUS[rec.status] || rec.status));
            if (rec.error) li.appendChild(el("p", "sv-outbox-error small", rec.error));
            if (rec.status === "conflict") {
              var again = el("button", "btn btn-small", "作为新记录发送");
              again.type = "button";
              again.addEventListener("click", function () { resendAsNew(rec.client_id); });
              li.appendChild(again);
            }
            if (rec.status === "duplicate") {
              var anyway = el("button", "btn btn-small", "仍要新建");
              anyway.type = "button";
              anyway.addEventListener("click", function () { sendDuplicate(rec.client_id); });
              li.appendChild(anyway);
            }
            list.appendChild(li);
          });
          var count = box.querySelector("[data-outbox-count]");
          if (count) count.textContent = pending.length ? "（" + pending.length + " 条检查，" + photoTotal + " 张照片）" : "（无）";
          var empty = box.querySelector("[data-outbox-empty]");
          if (empty) empty.hidden = pending.length > 0;
          var other = box.querySelector("[data-outbox-others]");
          if (other) {
            other.hidden = !others;
            other.textContent = others ? "本机还有其他督导员的 " + others + " 条记录，需其本人登录后发送。" : "";
          }
          var net = box.querySelector("[data-net]");
          if (net) {
            net.textContent = navigator.onLine ? "在线" : "离线：记录保存在本机";
            net.className = "sv-net " + (navigator.onLine ? "sv-online" : "sv-offline");
          }
        });
      });
    });
  }

  // --- start -------------------------------------------------------------------------------------
  function registerWorker() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.register("/supervision/inspect-sw.js", { scope: "/supervision/" }).catch(function () {
      /* without a worker the pages still work online; the queue itself needs none */
    });
  }

  window.SortlineInspect = {
    newId: newId, currentUser: currentUser, getRecord: getRecord, putRecord: putRecord, draftFor: draftFor, allRecords: allRecords,
    putPhoto: putPhoto, getPhoto: getPhoto, photosOf: photosOf, deletePhoto: deletePhoto,
    deleteRecord: deleteRecord, enqueue: enqueue, flush: flush, onChange: onChange,
  };

  // Pages of the previous inspector must not be served offline to the next one.
  function forgetOtherUsersPages() {
    var user = currentUser();
    var last = null;
    try { last = window.localStorage.getItem("sortline-inspect-user"); } catch (e) { return; }
    if (user && last && last !== user && window.caches) window.caches.delete("sortline-inspect-v1");
    if (user) window.localStorage.setItem("sortline-inspect-user", user);
  }

  document.addEventListener("DOMContentLoaded", function () {
    forgetOtherUsersPages();
    registerWorker();
    onChange(function () { renderOutbox(); });
    renderOutbox();
    document.querySelectorAll("[data-outbox-retry]").forEach(function (b) {
      b.addEventListener("click", function () { flush(true); });
    });
    window.addEventListener("online", function () { flush(); });
    window.addEventListener("offline", function () { renderOutbox(); });
    setInterval(function () { flush(); }, RETRY_MS);
    flush();
  });
})();
