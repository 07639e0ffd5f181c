/* Keyboard access to areas that scroll sideways: a wide table (Material wraps it in
   .md-typeset__scrollwrap) or a long code line takes the focus, so arrow keys scroll it, and
   says what it is. Material gives code blocks a tabindex only where the pointer can hover. */
(function () {
  var zh = (document.documentElement.lang || "").indexOf("zh") === 0;
  function label(el) {
    var table = el.querySelector("table");
    if (table) {
      var head = table.querySelector("th");
      var name = head ? head.textContent.trim() : "";
      return (zh ? "表格,可横向滚动" : "Table, scrolls sideways") + (name ? ": " + name : "");
    }
    return zh ? "代码,可横向滚动" : "Code, scrolls sideways";
  }
  function mark() {
    var areas = document.querySelectorAll(".md-typeset__scrollwrap, .md-typeset pre > code");
    for (var i = 0; i < areas.length; i++) {
      var el = areas[i];
      if (el.scrollWidth > el.clientWidth + 1) {
        if (!el.hasAttribute("tabindex")) el.setAttribute("tabindex", "0");
        if (el.classList.contains("md-typeset__scrollwrap")) {
          el.setAttribute("role", "region");
          el.setAttribute("aria-label", label(el));
        }
      } else if (el.getAttribute("tabindex") === "0" && el.getAttribute("role") === "region") {
        el.removeAttribute("tabindex");
        el.removeAttribute("role");
        el.removeAttribute("aria-label");
      }
    }
  }
  function start() {
    mark();
    var timer;
    window.addEventListener("resize", function () { clearTimeout(timer); timer = setTimeout(mark, 200); });
  }
  if (typeof document$ !== "undefined") document$.subscribe(start);  /* after Material has wrapped the tables */
  else document.addEventListener("DOMContentLoaded", start);
})();
