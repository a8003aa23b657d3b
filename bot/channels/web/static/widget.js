// One <script src="https://<bot>/chat/widget.js" defer></script> on a portal page adds a chat button in the
// corner; it opens the chat (/chat) in a frame, served from the bot's own address. The portal must be listed in
// WEB_EMBED_ORIGINS (the chat page's frame-ancestors), or the browser refuses to show the frame.
(function () {
  "use strict";
  var me = document.currentScript;
  if (!me || window.__ntmChatWidget) return;
  window.__ntmChatWidget = true;
  var base = new URL(me.src).origin;
  var label = me.getAttribute("data-label") || "Hỏi đáp nông thôn mới";

  var button = document.createElement("button");
  button.type = "button";
  button.id = "ntm-chat-button";
  button.textContent = "💬 " + label;
  button.setAttribute("aria-expanded", "false");
  button.setAttribute("aria-controls", "ntm-chat-panel");
  var s = button.style;
  s.position = "fixed"; s.right = "1rem"; s.bottom = "1rem"; s.zIndex = "2147483000";
  s.minHeight = "3rem"; s.padding = ".75rem 1rem"; s.font = "600 1rem/1.2 system-ui, sans-serif";
  s.color = "#fff"; s.background = "#0b5d2a"; s.border = "2px solid #fff"; s.borderRadius = "1.5rem";
  s.boxShadow = "0 2px 8px rgba(0,0,0,.3)"; s.cursor = "pointer";

  var panel = document.createElement("div");
  panel.id = "ntm-chat-panel";
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", label);
  var p = panel.style;
  p.position = "fixed"; p.right = "1rem"; p.bottom = "4.75rem"; p.zIndex = "2147483000"; p.display = "none";
  p.width = "min(26rem, calc(100vw - 2rem))"; p.height = "min(40rem, calc(100vh - 6rem))";
  p.background = "#fff"; p.border = "1px solid #6b6b6b"; p.borderRadius = ".75rem"; p.overflow = "hidden";
  p.boxShadow = "0 4px 16px rgba(0,0,0,.3)";

  var close = document.createElement("button");
  close.type = "button";
  close.textContent = "✕";
  close.setAttribute("aria-label", "Đóng khung trò chuyện");
  var c = close.style;
  c.position = "absolute"; c.top = ".25rem"; c.right = ".25rem"; c.width = "2.75rem"; c.height = "2.75rem";
  c.font = "1.25rem system-ui, sans-serif"; c.color = "#fff"; c.background = "transparent"; c.border = "0"; c.cursor = "pointer";

  var frame = null;
  function open() {
    if (!frame) {
      frame = document.createElement("iframe");
      frame.src = base + "/chat?embed=1";
      frame.title = label;
      frame.id = "ntm-chat-frame";
      frame.allow = "geolocation";
      var f = frame.style;
      f.width = "100%"; f.height = "100%"; f.border = "0";
      panel.appendChild(frame);
      panel.appendChild(close);
    }
    panel.style.display = "block";
    button.setAttribute("aria-expanded", "true");
    frame.focus();
  }
  function hide() {
    panel.style.display = "none";
    button.setAttribute("aria-expanded", "false");
    button.focus();
  }
  button.addEventListener("click", function () { panel.style.display === "none" ? open() : hide(); });
  close.addEventListener("click", hide);
  document.addEventListener("keydown", function (e) { if (e.key === "Escape" && panel.style.display !== "none") hide(); });
  window.addEventListener("message", function (e) {  // Escape pressed inside the chat
    if (e.origin === base && e.data === "ntm-chat:close" && panel.style.display !== "none") hide();
  });
  function mount() { document.body.appendChild(panel); document.body.appendChild(button); }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
