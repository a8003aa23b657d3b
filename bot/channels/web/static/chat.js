// The web chat page. Everything people wrote is put on the page as text (textContent), never as HTML.
// Messages come from the server's stream (/chat/events): the history first, then live. A message the citizen
// sends shows "đang gửi…" until the server answers that it is stored.
(function () {
  "use strict";
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var consent = document.querySelector('meta[name="location-consent"]').content;
  var log = document.getElementById("log");
  var statusLine = document.getElementById("status");
  var form = document.getElementById("composer");
  var input = document.getElementById("text");
  var photo = document.getElementById("photo");
  var photoButton = document.getElementById("photo-button");
  var locButton = document.getElementById("location");
  var shown = {};          // message id -> true
  var pendingByKey = {};   // event key -> the <li> shown while it is being sent
  var labels = {};         // button data -> label (how a press appears in the history)
  var lastChoices = [];    // buttons of the latest bot message: typed "2" presses the second one

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID().replace(/-/g, "");
    var a = new Uint8Array(16);
    crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function say(text, isError) {
    statusLine.textContent = text || "";
    statusLine.className = "status" + (isError ? " error" : "");
  }

  function timeOf(iso) {
    var d = iso ? new Date(iso) : new Date();
    if (isNaN(d.getTime())) d = new Date();
    return d.toLocaleTimeString("vi-VN", { hour: "2-digit", minute: "2-digit", timeZone: "Asia/Ho_Chi_Minh" });
  }

  // **bold** is the core's only markup: rendered with <strong>, the rest as text.
  function addText(el, text) {
    var parts = String(text || "").split("**");
    for (var i = 0; i < parts.length; i++) {
      if (!parts[i]) continue;
      if (i % 2 === 1 && i < parts.length - 1) {
        var b = document.createElement("strong");
        b.textContent = parts[i];
        el.appendChild(b);
      } else {
        el.appendChild(document.createTextNode((i % 2 === 1 ? "**" : "") + parts[i]));
      }
    }
  }

  function nearBottom() {
    return window.innerHeight + window.scrollY >= document.body.scrollHeight - 120;
  }

  function bubble(who, id) {
    var li = document.createElement("li");
    li.className = "msg " + who;
    if (id) li.id = "m-" + id;
    return li;
  }

  function addMeta(li, who, iso) {
    var meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = (who === "bot" ? "Trợ lý · " : "Bạn · ") + timeOf(iso);
    li.appendChild(meta);
  }

  function addPhotos(li, photos, files, located) {
    (photos || []).forEach(function (src) {
      if (src.indexOf("/chat/media/") !== 0) return;
      var img = document.createElement("img");
      img.src = src;
      img.alt = "Ảnh đã gửi";
      img.loading = "lazy";
      li.appendChild(img);
    });
    if (files) {
      var f = document.createElement("span");
      f.textContent = "📎 " + files + " tệp đính kèm";
      li.appendChild(f);
    }
    if (located) {
      var l = document.createElement("span");
      l.textContent = "📍 Đã gửi vị trí";
      li.appendChild(l);
    }
  }

  function renderBot(m) {
    var li = bubble("bot", m.id);
    addText(li, m.text);
    addPhotos(li, m.photos, m.files, false);
    if (m.lookup) {  // the receipt of a report sent from here: the secret to look it up from any device
      var box = document.createElement("p");
      box.className = "lookup";
      box.textContent = "🔑 Mã tra cứu của phản ánh " + m.lookup.code + ": ";
      var code = document.createElement("strong");
      code.textContent = m.lookup.secret;
      box.appendChild(code);
      box.appendChild(document.createTextNode(". Hãy ghi lại: mã chỉ hiện trong trình duyệt này. Với mã phản ánh và mã tra cứu, bạn xem được tình trạng từ thiết bị khác tại trang "));
      var a = document.createElement("a");
      a.href = "/chat/tracuu";
      a.textContent = "Tra cứu phản ánh";
      box.appendChild(a);
      box.appendChild(document.createTextNode("."));
      li.appendChild(box);
    }
    var flat = [];
    (m.buttons || []).forEach(function (row) { row.forEach(function (b) { flat.push(b); }); });
    if (flat.length) {
      var ul = document.createElement("ul");
      ul.className = "choices";
      flat.forEach(function (b, i) {
        labels[b.data] = b.label;
        var item = document.createElement("li");
        var btn = document.createElement("button");
        btn.type = "button";
        btn.textContent = b.label;
        btn.setAttribute("aria-label", (i + 1) + ". " + b.label);
        btn.addEventListener("click", function () { press(b); });
        item.appendChild(btn);
        ul.appendChild(item);
      });
      li.appendChild(ul);
      lastChoices = flat;
    } else if (m.text) {
      lastChoices = [];
    }
    addMeta(li, "bot", m.at);
    return li;
  }

  function renderMe(m) {
    var li = bubble("me", m.id);
    var text = m.text || (m.callback ? (labels[m.callback] || "✔") : "");
    if (text) addText(li, text);
    addPhotos(li, m.photos, m.files, m.location);
    addMeta(li, "me", m.at);
    return li;
  }

  function show(m) {
    if (shown[m.id]) return;
    shown[m.id] = true;
    var stick = nearBottom();
    var li = m.who === "bot" ? renderBot(m) : renderMe(m);
    var key = m.key && m.key.indexOf("w:") === 0 ? m.key.slice(2) : null;
    if (key && pendingByKey[key]) {
      log.replaceChild(li, pendingByKey[key]);
      delete pendingByKey[key];
    } else {
      log.appendChild(li);
    }
    if (stick) li.scrollIntoView({ block: "end" });
  }

  function optimistic(key, text, extra) {
    var li = bubble("me");
    li.classList.add("pending");
    if (text) addText(li, text);
    if (extra) { var s = document.createElement("span"); s.textContent = extra; li.appendChild(s); }
    addMeta(li, "me");
    pendingByKey[key] = li;
    log.appendChild(li);
    li.scrollIntoView({ block: "end" });
    return li;
  }

  // POST with the CSRF header; retried on network trouble and 503 with the same key (the server stores a key once).
  function post(url, body, isForm, attempt) {
    attempt = attempt || 0;
    var headers = { "X-CSRF-Token": csrf };
    if (!isForm) headers["Content-Type"] = "application/json";
    return fetch(url, { method: "POST", headers: headers, body: isForm ? body : JSON.stringify(body),
                        credentials: "same-origin" })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (j) {
          if (r.status === 503 && attempt < 3) return retry(url, body, isForm, attempt, j);
          if (!r.ok) throw new Error(j.error || "Không gửi được. Vui lòng thử lại.");
          return j;
        });
      }, function () {
        if (attempt < 3) return retry(url, body, isForm, attempt, {});
        throw new Error("Mất kết nối. Vui lòng kiểm tra mạng rồi gửi lại.");
      });
  }

  function retry(url, body, isForm, attempt, j) {
    say(j.error || "Đang thử gửi lại…");
    return new Promise(function (res) { setTimeout(res, 1000 * (attempt + 1)); })
      .then(function () { return post(url, body, isForm, attempt + 1); });
  }

  function deliver(url, body, li, isForm) {
    return post(url, body, isForm).then(function () {
      li.classList.remove("pending");
      say("");
    }, function (err) {
      li.classList.remove("pending");
      li.classList.add("failed");
      var meta = li.querySelector(".meta");
      if (meta) meta.textContent = "Chưa gửi được";
      say(err.message, true);
    });
  }

  function press(b) {
    var key = newKey();
    deliver("/chat/send", { key: key, callback: b.data }, optimistic(key, b.label));
  }

  function fold(s) {
    return s.normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/đ/g, "d").replace(/Đ/g, "d")
      .toLowerCase().replace(/\s+/g, " ").trim();
  }

  function sendText() {
    var text = input.value;
    if (!text.trim()) { say("Tin nhắn trống. Vui lòng nhập nội dung.", true); input.focus(); return; }
    input.value = "";
    var t = text.trim();
    // A typed number or a button's words on a message with buttons: that button (as on Zalo).
    if (lastChoices.length) {
      var n = /^\d{1,2}$/.test(t) ? parseInt(t, 10) : 0;
      var chosen = n >= 1 && n <= lastChoices.length ? lastChoices[n - 1] : null;
      if (!chosen) {
        lastChoices.forEach(function (b) { if (!chosen && fold(b.label) === fold(t)) chosen = b; });
      }
      if (chosen) { press(chosen); return; }
    }
    var key = newKey();
    deliver("/chat/send", { key: key, text: text }, optimistic(key, text));
  }

  form.addEventListener("submit", function (e) { e.preventDefault(); sendText(); });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); sendText(); }
  });

  photoButton.addEventListener("click", function () { photo.click(); });
  photo.addEventListener("change", function () {
    var file = photo.files && photo.files[0];
    if (!file) return;
    var key = newKey();
    var data = new FormData();
    data.append("key", key);
    data.append("photo", file, file.name || "anh.jpg");
    say("Đang gửi ảnh…");
    deliver("/chat/upload", data, optimistic(key, "", "📷 " + (file.name || "Ảnh")), true);
    photo.value = "";
  });

  locButton.addEventListener("click", function () {
    if (!navigator.geolocation) { say("Trình duyệt này không gửi được vị trí. Bạn hãy gõ tên xã, phường.", true); return; }
    if (!window.confirm(consent)) return;
    say("Đang lấy vị trí…");
    navigator.geolocation.getCurrentPosition(function (pos) {
      var key = newKey();
      deliver("/chat/location", { key: key, lat: pos.coords.latitude, lon: pos.coords.longitude },
              optimistic(key, "", "📍 Vị trí"));
    }, function () {
      say("Không lấy được vị trí (bạn chưa cho phép hoặc thiết bị không hỗ trợ). Bạn hãy gõ tên xã, phường.", true);
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  });

  // In the portal's frame (widget.js), Escape closes the panel: the portal page cannot see keys pressed in here.
  if (document.body.classList.contains("embed") && window.parent !== window) {
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape") window.parent.postMessage("ntm-chat:close", "*");
    });
  }

  // The browser reconnects a dropped stream by itself (with the last event id); a refused one (the server was busy,
  // or restarted without this identity) is opened again here after a pause: messages already shown are skipped.
  var greeted = false;
  function connect(attempt) {
    var stream = new EventSource("/chat/events");
    stream.addEventListener("m", function (e) {
      try { show(JSON.parse(e.data)); } catch (err) { /* a malformed event is skipped */ }
    });
    stream.addEventListener("ready", function (e) {
      attempt = 0;
      say("");
      var info = {};
      try { info = JSON.parse(e.data); } catch (err) { /* ignore */ }
      if (info.empty && !log.children.length && !greeted) {
        greeted = true;
        post("/chat/send", { key: newKey(), start: true }).catch(function (err) { say(err.message, true); });
      }
    });
    stream.addEventListener("error", function () {
      if (stream.readyState === EventSource.CLOSED) {
        say(attempt >= 5 ? "Mất kết nối với máy chủ. Vui lòng tải lại trang." : "Đang kết nối lại…", attempt >= 5);
        setTimeout(function () { connect(attempt + 1); }, Math.min(30000, 2000 * (attempt + 1)));
      } else {
        say("Đang kết nối lại…");
      }
    });
  }
  connect(0);
})();
