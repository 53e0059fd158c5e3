/* circlet live parts. An element with data-stream="URL" follows that server-sent event stream: each
   "swap" event carries HTML whose top elements replace the page's elements of the same id, and "end"
   (what it shows has finished) closes the stream for good; a hidden tab closes it until shown again.
   Durations with data-since (Unix seconds) tick every second meanwhile. */
(function () {
  "use strict";
  var skew = 0; // the server's clock minus this browser's, in seconds
  var serverNow = parseInt(document.body.dataset.now || "", 10);
  if (serverNow) skew = serverNow - Date.now() / 1000;

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function duration(s) { // as circlet.web.formats.duration
    if (s < 1) return "0s";
    s = Math.floor(s);
    if (s < 60) return s + "s";
    if (s < 3600) return Math.floor(s / 60) + "m " + pad(s % 60) + "s";
    if (s < 86400) return Math.floor(s / 3600) + "h " + pad(Math.floor((s % 3600) / 60)) + "m";
    return Math.floor(s / 86400) + "d " + pad(Math.floor((s % 86400) / 3600)) + "h";
  }

  function tick() {
    var now = Date.now() / 1000 + skew;
    document.querySelectorAll("[data-since]").forEach(function (el) {
      el.textContent = duration(now - parseInt(el.dataset.since, 10));
    });
  }

  function swap(html) {
    var t = document.createElement("template");
    t.innerHTML = html;
    Array.prototype.slice.call(t.content.children).forEach(function (fresh) {
      var old = fresh.id && document.getElementById(fresh.id);
      if (old) old.replaceWith(fresh);
    });
  }

  var streams = [];

  function open(s) {
    if (s.source || s.ended) return;
    var source = new EventSource(s.el.dataset.stream);
    s.source = source;
    source.addEventListener("swap", function (e) { swap(e.data); });
    source.addEventListener("end", function () {
      source.close();
      s.source = null;
      s.ended = true;
      s.el.dataset.ended = "yes";
    });
  }

  function close(s) {
    if (s.source) s.source.close();
    s.source = null;
  }

  window.circletDuration = duration;
  document.querySelectorAll("[data-stream]").forEach(function (el) {
    var s = { el: el, source: null, ended: false };
    streams.push(s);
    open(s);
  });
  // A hidden tab gives its connection back (browsers open few per site); back in view, the stream's
  // first event brings the part up to date.
  document.addEventListener("visibilitychange", function () {
    streams.forEach(document.hidden ? close : open);
  });
  setInterval(tick, 1000);
})();
