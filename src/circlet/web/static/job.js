/* circlet job page: load each step's output when it is opened (paged, tail first when long) and,
   while the job runs, follow its progress (header, steps, output sizes) as server-sent events and
   append new output. */
(function () {
  "use strict";
  var root = document.getElementById("job");
  if (!root) return;
  var parts = root.dataset.parts;
  var node = root.dataset.node || "0";
  var follow = document.getElementById("follow");
  var stepsEl = document.getElementById("steps");
  var TAIL_OVER = 256 * 1024; // bytes: longer outputs open at their end, with earlier pages on demand
  var state = {}; // key -> {lo, hi, busy, started, done}

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      var type = r.headers.get("content-type") || "";
      if (!r.ok || type.indexOf("application/json") < 0) throw new Error("HTTP " + r.status);
      return r.json();
    });
  }

  function human(bytes) {
    if (bytes < 1024) return bytes + " B";
    if (bytes < 1048576) return (bytes / 1024).toFixed(1) + " KB";
    return (bytes / 1048576).toFixed(1) + " MB";
  }

  function stepOf(el) {
    var key = el.dataset.key;
    if (!state[key]) state[key] = { lo: 0, hi: 0, busy: false, started: false, done: false };
    return state[key];
  }

  function outputUrl(el, query) {
    return parts + "/output/" + el.dataset.node + "/" + el.dataset.step + "?" + query;
  }

  function earlierButton(el, st, pre) {
    var old = pre.querySelector("button.more.earlier");
    if (old) old.remove();
    if (st.lo <= 0) return;
    var b = document.createElement("button");
    b.type = "button";
    b.className = "more earlier";
    b.textContent = "Show earlier output (" + human(st.lo) + " before this)";
    b.addEventListener("click", function () {
      b.disabled = true;
      getJSON(outputUrl(el, "before=" + st.lo)).then(function (page) {
        b.remove();
        pre.insertAdjacentHTML("afterbegin", page.html);
        st.lo = page.start;
        earlierButton(el, st, pre);
      });
    });
    pre.insertBefore(b, pre.firstChild);
  }

  function laterButton(el, st, pre, page) {
    var old = pre.querySelector("button.more.later");
    if (old) old.remove();
    if (page.end >= page.size || el.dataset.status === "running") return;
    var b = document.createElement("button");
    b.type = "button";
    b.className = "more later";
    b.textContent = "Show more (" + human(page.size - page.end) + " left)";
    b.addEventListener("click", function () { b.remove(); load(el); });
    pre.appendChild(b);
  }

  function atBottom(pre) {
    return pre.scrollHeight - pre.scrollTop - pre.clientHeight < 40;
  }

  function load(el) {
    var st = stepOf(el);
    if (st.busy) return;
    st.busy = true;
    var pre = el.querySelector("pre.log");
    var size = parseInt(el.dataset.size || "0", 10);
    var first = !st.started;
    var query = first && size > TAIL_OVER ? "tail=1" : "offset=" + st.hi;
    var stick = first || (follow && follow.checked && atBottom(pre));
    getJSON(outputUrl(el, query)).then(function (page) {
      if (first) {
        pre.textContent = "";
        st.lo = page.start;
        st.started = true;
      }
      if (page.html) pre.insertAdjacentHTML("beforeend", page.html);
      st.hi = page.end;
      st.done = page.done;
      if (first) earlierButton(el, st, pre);
      laterButton(el, st, pre, page);
      if (!pre.textContent && page.done) pre.innerHTML = '<span class="pending">(no output)</span>';
      var bar = el.querySelector(".log-size");
      if (bar) bar.textContent = human(page.size);
      if (stick && follow && follow.checked && el.dataset.status === "running") pre.scrollTop = pre.scrollHeight;
    }).catch(function () {
      pre.innerHTML = '<span class="pending">Could not load this output. Reload the page to try again.</span>';
    }).then(function () {
      st.busy = false;
      var behind = st.hi < parseInt(el.dataset.size || "0", 10);
      if (st.started && !st.done && el.dataset.status !== "running" && behind && !pre.querySelector("button.later")) load(el);
    });
  }

  function wire(el) {
    if (el.open) load(el);
    el.addEventListener("toggle", function () {
      if (el.open && !stepOf(el).started) load(el);
    });
  }

  Array.prototype.forEach.call(stepsEl.querySelectorAll("details.step"), wire);
  if (root.dataset.active !== "yes") return;

  function update(step) {
    var el = document.getElementById("step-" + step.key);
    if (!el) {
      var holder = document.createElement("div");
      holder.innerHTML = step.html;
      el = holder.firstElementChild;
      stepsEl.insertBefore(el, document.getElementById("no-steps"));
      document.getElementById("no-steps").hidden = true;
      if (step.status === "running" && follow && follow.checked) el.open = true;
      wire(el);
      return;
    }
    el.dataset.status = step.status;
    el.dataset.size = String(step.size);
    el.querySelector("summary").innerHTML = step.summary;
    var st = stepOf(el);
    if (el.open && st.started && !st.done && (st.hi < step.size || step.status !== "running")) load(el);
  }

  function apply(data) {
    document.getElementById("job-head").innerHTML = data.head;
    data.steps.forEach(update);
    root.dataset.status = data.status;
    if (!data.active) root.dataset.active = "no";
  }

  // the job's progress arrives as server-sent events until it is finished ("end"); a hidden tab
  // closes the stream (browsers open few per site) and opens it again when shown
  var source = null;
  function listen() {
    if (source || root.dataset.active !== "yes") return;
    source = new EventSource(parts + "/progress/stream?node=" + encodeURIComponent(node));
    source.addEventListener("progress", function (e) { apply(JSON.parse(e.data)); });
    source.addEventListener("end", function () { source.close(); source = null; root.dataset.active = "no"; });
  }
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) return listen();
    if (source) source.close();
    source = null;
  });
  listen();
})();
