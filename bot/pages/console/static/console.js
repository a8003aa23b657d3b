// Live updates: when another officer (in the browser or in Telegram) changes a ticket this page shows, the
// page reloads itself, unless the officer is typing (then a note offers to reload). Server-Sent Events.
(function () {
  "use strict";
  var live = document.body.getAttribute("data-live");
  if (!live || !window.EventSource) { return; }
  var url = "/canbo/su-kien" + (live.indexOf("ticket:") === 0 ? "?phan-anh=" + encodeURIComponent(live.slice(7)) : "");
  var source = new EventSource(url);
  function typing() {
    var fields = document.querySelectorAll("textarea, input[type=text], input:not([type])");
    for (var i = 0; i < fields.length; i++) {
      if (fields[i].value && fields[i].id !== "q") { return true; }
    }
    return false;
  }
  source.addEventListener("changed", function () {
    if (typing()) {
      var note = document.querySelector(".live-note");
      if (note) { note.hidden = false; }
    } else {
      window.location.reload();
    }
  });
  source.addEventListener("logout", function () { source.close(); window.location.href = "/canbo/dang-nhap"; });
})();
