// cbj-figures site: progressive enhancement only. Every page works without it (figure details open by
// :target, charts are static SVG). It reads the page's own markup, never data embedded as code.
(function () {
  "use strict";

  function details() { return document.querySelectorAll(".detail"); }

  function open(id, scroll) {
    var target = document.getElementById(id);
    if (!target || !target.classList.contains("detail")) { return false; }
    details().forEach(function (d) { d.classList.toggle("open", d === target); });
    var panel = target.closest(".panel");
    if (panel) { panel.classList.add("has-open"); }
    document.querySelectorAll(".mark.current").forEach(function (m) { m.classList.remove("current"); });
    var mark = document.getElementById(target.getAttribute("data-mark") || "");
    if (mark) {
      mark.classList.add("current");
      if (scroll) { mark.scrollIntoView({ block: "center" }); }
    }
    return true;
  }

  function close() {
    details().forEach(function (d) { d.classList.remove("open"); });
    document.querySelectorAll(".panel.has-open").forEach(function (p) { p.classList.remove("has-open"); });
  }

  document.addEventListener("click", function (event) {
    var mark = event.target.closest("a.mark");
    if (mark && mark.hasAttribute("data-detail")) {
      event.preventDefault();
      var id = mark.getAttribute("data-detail");
      if (open(id, false)) { history.replaceState(null, "", "#" + id); }
      return;
    }
    var closer = event.target.closest(".detail .close");
    if (closer) {
      event.preventDefault();
      close();
      history.replaceState(null, "", location.pathname + location.search);
      return;
    }
    var copy = event.target.closest("button.copy");
    if (copy) {
      var source = document.getElementById(copy.getAttribute("data-copy") || "");
      if (source) { copyText(source.textContent, copy); }
      return;
    }
    var sort = event.target.closest("th button.sort");
    if (sort) { sortBy(sort.closest("th")); }
  });

  function copyText(text, button) {
    function done() {
      button.classList.add("done");
      setTimeout(function () { button.classList.remove("done"); }, 1500);
    }
    function fallback() {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.appendChild(area);
      area.select();
      try { document.execCommand("copy"); } catch (e) { /* nothing more to try */ }
      document.body.removeChild(area);
      done();
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, fallback);
    } else {
      fallback();
    }
  }

  function sortBy(th) {
    var table = th.closest("table");
    var body = table.tBodies[0];
    var index = Array.prototype.indexOf.call(th.parentNode.children, th);
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    table.querySelectorAll("th").forEach(function (h) { h.setAttribute("aria-sort", "none"); });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var rows = Array.prototype.slice.call(body.rows);
    var cells = rows.map(function (r) { return (r.cells[index] ? r.cells[index].textContent : "").trim(); });
    var numeric = cells.every(function (c) { return c === "" || !isNaN(Number(c)); });
    var order = rows.map(function (r, i) { return i; });
    order.sort(function (a, b) {
      var x = cells[a], y = cells[b], c;
      if (x === "" || y === "") { c = (x === "") - (y === ""); return c || a - b; }
      c = numeric ? Number(x) - Number(y) : x.localeCompare(y, "zh-Hans-CN");
      return (ascending ? c : -c) || a - b;
    });
    order.forEach(function (i) { body.appendChild(rows[i]); });
  }

  function fromHash() {
    var id = decodeURIComponent(location.hash.slice(1));
    if (id) { open(id, true); }
  }
  window.addEventListener("hashchange", fromHash);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", fromHash);
  } else {
    fromHash();
  }
}());
