/* Keyboard access and names that Material and mkdocs-jupyter leave out.
   - Areas that scroll sideways (a wide table in Material's .md-typeset__scrollwrap, a long code
     line, a notebook cell) take the focus, so arrow keys scroll them, and say what they are.
     Material gives code blocks a tabindex only where the pointer can hover.
   - Material's search dialog has role="dialog" and no name (squidfunk/mkdocs-material#6433):
     it takes the name of its search field.
   - An included snippet's source is highlighted when it is opened. */
(function () {
  var zh = (document.documentElement.lang || "").indexOf("zh") === 0;
  var AREAS = ".md-typeset__scrollwrap, .md-typeset pre > code, " +
              ".jupyter-wrapper .highlight-ipynb, .jupyter-wrapper .jp-OutputArea-output pre";
  function mark() {
    var areas = document.querySelectorAll(AREAS), tables = 0;
    for (var i = 0; i < areas.length; i++) {
      var el = areas[i], wrap = el.classList.contains("md-typeset__scrollwrap");
      if (wrap) tables += 1;
      if (el.scrollWidth > el.clientWidth + 1 || (!wrap && el.scrollHeight > el.clientHeight + 1)) {
        if (!el.hasAttribute("tabindex")) el.setAttribute("tabindex", "0");
        if (wrap) {
          var head = el.querySelector("th"), name = head ? head.textContent.trim() : "";
          el.setAttribute("role", "region");
          el.setAttribute("aria-label", (zh ? "表格 " + tables + ",可横向滚动" : "Table " + tables + ", scrolls sideways") +
                          (name ? (zh ? ":" : ": ") + name : ""));
        }
      } else if (wrap && el.getAttribute("role") === "region") {
        el.removeAttribute("tabindex");
        el.removeAttribute("role");
        el.removeAttribute("aria-label");
      }
    }
  }
  function nameSearch() {
    var dialog = document.querySelector(".md-search[role=dialog]");
    var field = document.querySelector(".md-search__input");
    if (dialog && field && !dialog.hasAttribute("aria-label")) {
      dialog.setAttribute("aria-label", field.getAttribute("aria-label") || field.getAttribute("placeholder") || "Search");
    }
  }
  /* An included snippet is plain text in the page; its highlighted form is fetched when the
     reader opens it (hooks/readers.py). */
  function highlightOnOpen() {
    var codes = document.querySelectorAll("code[data-highlighted]");
    Array.prototype.forEach.call(codes, function (code) {
      var details = code.closest("details");
      function load() {
        if (code.getAttribute("data-state")) return;
        code.setAttribute("data-state", "loading");
        fetch(code.getAttribute("data-highlighted")).then(function (r) {
          if (!r.ok) throw new Error(r.status);
          return r.text();
        }).then(function (html) {
          code.innerHTML = html;
          code.setAttribute("data-state", "highlighted");
        }).catch(function () { code.setAttribute("data-state", "plain"); });
      }
      if (!details || details.open) load();
      else details.addEventListener("toggle", function () { if (details.open) load(); });
    });
  }
  function start() {
    highlightOnOpen();
    nameSearch();
    mark();
    var timer;
    window.addEventListener("resize", function () { clearTimeout(timer); timer = setTimeout(mark, 200); });
  }
  if (typeof document$ !== "undefined") document$.subscribe(start);  /* after Material has wrapped the tables */
  else document.addEventListener("DOMContentLoaded", start);
})();
