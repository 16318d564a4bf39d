/* The web chat's client side: presentation only, no answers are made here.
 *
 * Why a script at all: opening a citation card, the quote tooltip, the phone
 * drawer, copy, the character counter and the theme switch must react at once
 * and need no server. Actions that change data (ask an example, regenerate,
 * rate, remove a document) are sent to the server by the components' own
 * js_on_load handlers (webapp.py), which own Gradio's `trigger`.
 */
(function () {
  "use strict";
  var THEME_KEY = "assistant-theme";

  // -- theme: the reader's choice wins over the system's, and survives a reload
  function storedTheme() {
    try { return localStorage.getItem(THEME_KEY); } catch (e) { return null; }
  }
  (function carryThemeInUrl() {
    // Gradio reads ?__theme= when it starts (after this script): put the saved choice there
    var t = storedTheme();
    var url = new URL(window.location.href);
    if ((t === "dark" || t === "light") && !url.searchParams.get("__theme")) {
      url.searchParams.set("__theme", t);
      history.replaceState(null, "", url.toString());
    }
  })();
  function isDark() { return document.body.classList.contains("dark"); }
  function syncThemeButton() {
    var b = document.getElementById("theme-toggle");
    if (!b) return;
    b.setAttribute("aria-pressed", isDark() ? "true" : "false");
    b.textContent = isDark() ? "Light theme" : "Dark theme";
  }
  function setTheme(mode) {
    document.body.classList.toggle("dark", mode === "dark");
    try { localStorage.setItem(THEME_KEY, mode); } catch (e) { /* private mode: this page only */ }
    var url = new URL(window.location.href);
    url.searchParams.set("__theme", mode);
    history.replaceState(null, "", url.toString());
    syncThemeButton();
  }

  // -- small helpers
  function phone() { return window.matchMedia("(max-width: 860px)").matches; }
  function byId(id) { return document.getElementById(id); }
  function selectTab(label) {
    var tabs = document.querySelectorAll("#side-tabs [role=tab]");
    for (var i = 0; i < tabs.length; i++) {
      if (tabs[i].textContent.trim() === label) {
        if (tabs[i].getAttribute("aria-selected") !== "true") tabs[i].click();
        return;
      }
    }
  }
  function openDrawer(label, focusBack) {
    selectTab(label);
    if (phone()) {
      document.body.classList.add("drawer-open");
      var back = byId("back-to-answer");
      // keyboard users land on the way back; a card opened from [n] takes the focus instead
      if (back && focusBack) setTimeout(function () { back.focus({preventScroll: true}); }, 50);
    }
  }
  var lastLink = null; // the [n] the reader came from: "Back to answer" returns there
  function closeDrawer() {
    document.body.classList.remove("drawer-open");
    if (lastLink && document.contains(lastLink)) {
      scrollIntoBox(lastLink, byId("chat-scroll"));
      lastLink.focus({preventScroll: true});
    }
  }
  // scroll only the box that holds el (never the page: the chat must stay where it is)
  function scrollIntoBox(el, box) {
    if (!el || !box) return;
    var top = el.getBoundingClientRect().top - box.getBoundingClientRect().top + box.scrollTop;
    box.scrollTop = Math.max(0, top - 12);
  }
  function whenPresent(id, fn, tries) {
    var el = byId(id);
    if (el) return fn(el);
    if ((tries || 0) < 40) setTimeout(function () { whenPresent(id, fn, (tries || 0) + 1); }, 25);
  }
  function openCard(id) {
    openDrawer("Sources");
    whenPresent(id, function (card) {
      card.open = true;
      var box = byId("sources");
      // the panel scrolls itself when it can; on the phone the drawer does
      if (box && box.scrollHeight > box.clientHeight + 1) scrollIntoBox(card, box);
      else scrollIntoBox(card, byId("side"));
      card.classList.add("flash");
      setTimeout(function () { card.classList.remove("flash"); }, 1500);
      var summary = card.querySelector("summary");
      if (summary) summary.focus({preventScroll: true});
    });
  }

  // -- the quote of an [n] on hover or keyboard focus
  var tip = null;
  function showTip(a) {
    var quote = a.getAttribute("data-quote");
    if (!quote) return;
    if (!tip) {
      tip = document.createElement("div");
      tip.id = "cite-tip";
      tip.setAttribute("role", "tooltip");
      document.body.appendChild(tip);
    }
    tip.textContent = "“" + quote + "”";
    tip.hidden = false;
    a.setAttribute("aria-describedby", "cite-tip");
    var r = a.getBoundingClientRect();
    var w = Math.min(360, window.innerWidth - 16);
    tip.style.maxWidth = w + "px";
    var left = Math.min(Math.max(8, r.left), window.innerWidth - w - 8);
    tip.style.left = left + "px";
    var below = r.bottom + 6;
    tip.style.top = below + "px";
    var h = tip.getBoundingClientRect().height;
    if (below + h > window.innerHeight - 8) tip.style.top = Math.max(8, r.top - h - 6) + "px";
  }
  function hideTip() { if (tip) tip.hidden = true; }

  // -- copy, with a fallback where the clipboard API is not allowed (plain http on another host)
  function copy(text, button) {
    function done() {
      var old = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = old; }, 1500);
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { legacyCopy(text); done(); });
    } else { legacyCopy(text); done(); }
  }
  function legacyCopy(text) {
    var ta = document.createElement("textarea");
    ta.value = text;
    ta.setAttribute("readonly", "");
    ta.style.position = "fixed";
    ta.style.opacity = "0";
    document.body.appendChild(ta);
    ta.select();
    try { document.execCommand("copy"); } catch (e) { /* nothing more to try */ }
    document.body.removeChild(ta);
  }

  document.addEventListener("click", function (ev) {
    var t = ev.target;
    if (!t || !t.closest) return;
    var a = t.closest("a.cite");
    if (a) {
      // capture phase: the page must not follow the #anchor (it would scroll the whole page)
      ev.preventDefault();
      ev.stopPropagation();
      hideTip();
      lastLink = a;
      openCard((a.getAttribute("href") || "").replace(/^#/, ""));
      return;
    }
    var b = t.closest("button");
    if (!b) return;
    if (b.id === "theme-toggle") { setTheme(isDark() ? "light" : "dark"); return; }
    if (b.id === "back-to-answer") { closeDrawer(); return; }
    var panel = b.getAttribute("data-open-panel");
    if (panel) { openDrawer(panel, true); return; }
    var action = b.getAttribute("data-action");
    if (action === "copy") copy(b.getAttribute("data-copy") || "", b);
    else if (action === "remove-ask" || action === "remove-cancel") {
      var holder = b.closest(".remove");
      var confirmBox = holder && holder.querySelector(".confirm");
      var ask = holder && holder.querySelector("[data-action=remove-ask]");
      if (!confirmBox || !ask) return;
      var asking = action === "remove-ask";
      confirmBox.hidden = !asking;
      ask.hidden = asking;
      (asking ? confirmBox.querySelector("[data-action=remove]") : ask).focus();
    }
  }, true);

  document.addEventListener("mouseover", function (ev) {
    var a = ev.target && ev.target.closest ? ev.target.closest("a.cite") : null;
    if (a) showTip(a);
  });
  document.addEventListener("mouseout", function (ev) {
    var a = ev.target && ev.target.closest ? ev.target.closest("a.cite") : null;
    if (a) hideTip();
  });
  document.addEventListener("focusin", function (ev) {
    var a = ev.target && ev.target.closest ? ev.target.closest("a.cite") : null;
    if (a) showTip(a); else hideTip();
  });
  document.addEventListener("keydown", function (ev) {
    if (ev.key !== "Escape") return;
    hideTip();
    if (document.body.classList.contains("drawer-open")) closeDrawer();
  });
  document.addEventListener("scroll", hideTip, true);

  // -- the character counter under the question box
  var LIMIT = window.assistantQuestionLimit || 2000;
  function syncCounter() {
    var box = document.querySelector("#question textarea");
    var out = byId("counter-text");
    if (!box || !out) return;
    var n = box.value.length;
    var text = n.toLocaleString("en-US") + " / " + LIMIT.toLocaleString("en-US");
    text += n > LIMIT ? " characters (too long)" : " characters";
    if (out.textContent !== text) out.textContent = text;
    out.classList.toggle("over", n > LIMIT);
  }

  // -- keep the newest words in view while an answer streams, unless the reader scrolled up
  var stick = true;
  function watchChat() {
    var box = byId("chat-scroll");
    if (!box || box.dataset.watched) return;
    box.dataset.watched = "1";
    box.addEventListener("scroll", function () {
      stick = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
    });
    new MutationObserver(function () {
      if (stick) box.scrollTop = box.scrollHeight;
    }).observe(box, {childList: true, subtree: true, characterData: true});
  }

  // the conversations sidebar: a clear name, and closed at first on a phone (it would cover the chat)
  var sidebarChecked = false;
  function syncSidebar() {
    var bar = byId("conversations");
    var toggle = bar && bar.querySelector(".toggle-button");
    if (!toggle) return;
    var open = bar.classList.contains("open");
    toggle.setAttribute("aria-label", open ? "Hide conversations" : "Show conversations");
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    if (!sidebarChecked) {
      sidebarChecked = true;
      if (open && phone()) toggle.click();
    }
  }

  function setUp() {
    syncSidebar();
    syncThemeButton();
    syncCounter();
    watchChat();
    var input = document.querySelector("#upload input[type=file]");
    if (input && !input.getAttribute("accept")) input.setAttribute("accept", window.assistantUploadTypes || "");
  }
  document.addEventListener("input", syncCounter, true);
  document.addEventListener("click", function (ev) {
    if (ev.target && ev.target.closest && ev.target.closest("#conversations .toggle-button")) setTimeout(syncSidebar, 50);
  });
  setInterval(setUp, 300); // Gradio renders (and re-renders) components after this script runs
})();
