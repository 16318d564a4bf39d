/* The web chat's client side: presentation only, no answers are made here.
 *
 * Why a script at all: opening a citation card, the quote tooltip, the phone
 * drawer, copy, the character counter, menus and the theme switch must react at
 * once and need no server. Actions that change data (ask an example, regenerate,
 * rate, open or rename a conversation, remove a document) are buttons with a
 * declared data-action (actions.py), sent to the server by the action bus; the
 * controls here only show, hide and move things (data-ui, data-copy, data-focus).
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
  var lastLink = null; // the [n] or chip the reader came from: "Back to answer" returns there
  function closeDrawer() {
    document.body.classList.remove("drawer-open");
    if (lastLink && document.contains(lastLink)) {
      scrollIntoBox(lastLink, byId("chat-scroll"));
      lastLink.focus({preventScroll: true});
    }
  }
  // scroll only the box that holds el (never the page: the chat must stay where it is)
  function scrollIntoBox(el, box, margin) {
    if (!el || !box) return;
    var top = el.getBoundingClientRect().top - box.getBoundingClientRect().top + box.scrollTop;
    box.scrollTop = Math.max(0, top - (margin || 12));
  }
  function whenPresent(id, fn, tries) {
    var el = byId(id);
    // shown, not only present: a card in a tab being switched to has no size yet to scroll to
    if (el && el.getClientRects().length) return fn(el);
    if ((tries || 0) < 40) setTimeout(function () { whenPresent(id, fn, (tries || 0) + 1); }, 25);
  }
  function openCard(id) {
    openDrawer("Sources");
    whenPresent(id, function (card) {
      card.open = true;
      var box = byId("sources");
      // the panel scrolls itself when it can; on the phone the drawer does
      if (box && box.scrollHeight > box.clientHeight + 1) scrollIntoBox(card, box);
      else {
        // the drawer: below its pinned way back, not under it
        var back = byId("back-box");
        scrollIntoBox(card, byId("side"), (back ? back.getBoundingClientRect().height : 0) + 12);
      }
      card.classList.add("flash");
      setTimeout(function () { card.classList.remove("flash"); }, 1500);
      var summary = card.querySelector("summary");
      if (summary) summary.focus({preventScroll: true});
    });
  }

  // -- the title and quote of an [n] or a source chip on hover or keyboard focus
  var tip = null;
  function showTip(a) {
    var quote = a.getAttribute("data-quote");
    if (!quote) return;
    if (!tip || !document.contains(tip)) {
      tip = document.createElement("div");
      tip.id = "cite-tip";
      tip.setAttribute("role", "tooltip");
      // inside the page's main landmark, so everything shown belongs to a region
      (document.querySelector("main") || document.body).appendChild(tip);
    }
    tip.textContent = "";
    var title = a.getAttribute("data-title");
    if (title) {
      var b = document.createElement("b");
      b.className = "tip-title";
      b.textContent = title;
      tip.appendChild(b);
    }
    tip.appendChild(document.createTextNode("“" + quote + "”"));
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

  // -- a conversation's own menu in the list: Rename and Delete, each with its own form
  function closeMenus(except) {
    var items = document.querySelectorAll("#conversation-list li.conv");
    for (var i = 0; i < items.length; i++) {
      if (items[i] === except) continue;
      ["conv-menu", "conv-rename", "conv-confirm"].forEach(function (c) {
        var el = items[i].querySelector("." + c);
        if (el) el.hidden = true;
      });
      var btn = items[i].querySelector(".conv-menu-btn");
      if (btn) btn.setAttribute("aria-expanded", "false");
    }
  }
  function convUi(b, what) {
    var li = b.closest("li.conv");
    if (!li) return false;
    var menu = li.querySelector(".conv-menu"), rename = li.querySelector(".conv-rename");
    var confirmBox = li.querySelector(".conv-confirm"), btn = li.querySelector(".conv-menu-btn");
    closeMenus(li);
    if (what === "menu") {
      var open = menu.hidden;
      menu.hidden = !open; rename.hidden = true; confirmBox.hidden = true;
      btn.setAttribute("aria-expanded", open ? "true" : "false");
      if (open) menu.querySelector("button").focus();
    } else if (what === "rename-ask") {
      menu.hidden = true; rename.hidden = false;
      var input = rename.querySelector("input");
      input.focus(); input.select();
    } else if (what === "delete-ask") {
      menu.hidden = true; confirmBox.hidden = false;
      confirmBox.querySelector("button").focus();
    } else if (what === "menu-cancel") {
      menu.hidden = true; rename.hidden = true; confirmBox.hidden = true;
      btn.setAttribute("aria-expanded", "false");
      btn.focus();
    }
    return true;
  }

  // -- the phone: the conversations sidebar covers the chat, so it closes once a conversation is picked
  function closeSidebarOnPhone() {
    var bar = byId("conversations");
    var toggle = bar && bar.querySelector(".toggle-button");
    if (phone() && toggle && bar.classList.contains("open")) {
      toggle.click();
      setTimeout(syncSidebar, 50);
    }
  }

  document.addEventListener("click", function (ev) {
    var t = ev.target;
    if (!t || !t.closest) return;
    var a = t.closest("a.cite, a.chip");
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
    if (b.id === "new-answer") { followChat(true); return; }
    var panel = b.getAttribute("data-open-panel");
    if (panel) { openDrawer(panel, true); return; }
    var focusTarget = b.getAttribute("data-focus");
    if (focusTarget) {
      var target = document.querySelector(focusTarget);
      if (target) { target.focus(); target.click(); }
      return;
    }
    if (b.hasAttribute("data-copy")) { copy(b.getAttribute("data-copy") || "", b); return; }
    if (b.classList.contains("conv-menu-btn")) { convUi(b, "menu"); return; }
    var action = b.getAttribute("data-action");
    if ((action === "open" || action === "new") && b.closest("#conversations")) {
      closeMenus(null);
      setTimeout(closeSidebarOnPhone, 0);  // the action itself goes to the server (the bus)
      return;
    }
    var ui = b.getAttribute("data-ui");
    if (ui === "rename-ask" || ui === "delete-ask" || ui === "menu-cancel") { convUi(b, ui); return; }
    if (ui === "remove-ask" || ui === "remove-cancel") {
      var action2 = ui;
      var holder = b.closest(".remove");
      var confirmBox = holder && holder.querySelector(".confirm");
      var ask = holder && holder.querySelector("[data-ui=remove-ask]");
      if (!confirmBox || !ask) return;
      var asking = action2 === "remove-ask";
      confirmBox.hidden = !asking;
      ask.hidden = asking;
      (asking ? confirmBox.querySelector("[data-action=remove]") : ask).focus();
    }
  }, true);

  document.addEventListener("mouseover", function (ev) {
    var a = ev.target && ev.target.closest ? ev.target.closest("a.cite, a.chip") : null;
    if (a) showTip(a);
  });
  document.addEventListener("mouseout", function (ev) {
    var a = ev.target && ev.target.closest ? ev.target.closest("a.cite, a.chip") : null;
    if (a) hideTip();
  });
  document.addEventListener("focusin", function (ev) {
    var a = ev.target && ev.target.closest ? ev.target.closest("a.cite, a.chip") : null;
    if (a) showTip(a); else hideTip();
  });
  document.addEventListener("keydown", function (ev) {
    // Enter in a conversation's new name saves it (the form itself never submits the page)
    if (ev.key === "Enter" && ev.target && ev.target.closest && ev.target.closest(".conv-rename")) {
      ev.preventDefault();
      var save = ev.target.closest(".conv-rename").querySelector("button[data-action]");
      if (save) save.click();
      return;
    }
    if (ev.key !== "Escape") return;
    hideTip();
    var menu = ev.target && ev.target.closest ? ev.target.closest("li.conv") : null;
    if (menu) { convUi(menu.querySelector(".conv-menu-btn"), "menu-cancel"); return; }
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

  // -- a chat that follows the reader: a new question always comes into view; while its answer
  // streams the newest words stay in view, unless the reader scrolled up to read something else,
  // who is then shown a "New answer ↓" cue instead of being pulled down
  var stick = true;
  var answering = false;  // a question is on show in the live area (asked, being answered)
  function atBottom(box) { return box.scrollHeight - box.scrollTop - box.clientHeight < 40; }
  function cue(show) {
    var b = byId("new-answer");
    if (b && b.hidden === show) b.hidden = !show;
  }
  function followChat(focusAnswer) {
    var box = byId("chat-scroll");
    if (!box) return;
    stick = true;
    box.scrollTop = box.scrollHeight;
    cue(false);
    if (focusAnswer) {
      var answers = box.querySelectorAll("#live .msg.bot, #log article.msg.bot");
      var last = answers[answers.length - 1];
      if (last) { last.setAttribute("tabindex", "-1"); last.focus({preventScroll: true}); }
    }
  }
  function watchChat() {
    var box = byId("chat-scroll");
    if (!box || box.dataset.watched) return;
    box.dataset.watched = "1";
    box.addEventListener("scroll", function () {
      stick = atBottom(box);
      if (stick) cue(false);
    });
    new MutationObserver(function () {
      var now = !!box.querySelector("#live .msg.user");
      var asked = now && !answering, finished = answering && !now;
      answering = now;
      if (asked) { followChat(false); return; }  // a new question is always seen arriving
      if (stick) { box.scrollTop = box.scrollHeight; return; }
      if (now || finished) cue(true);  // its answer arrives below, out of sight: say so
    }).observe(box, {childList: true, subtree: true, characterData: true});
  }

  // -- the open conversation's address: ?c=<id>, so a reload or a link reopens it
  function syncAddress() {
    var body = document.querySelector("#log .log-body");
    if (!body || body.hasAttribute("data-initial")) return;  // before the page's first load answered
    var cid = body.getAttribute("data-conversation") || "";
    var url = new URL(window.location.href);
    if ((url.searchParams.get("c") || "") === cid) return;
    if (cid) url.searchParams.set("c", cid); else url.searchParams.delete("c");
    history.replaceState(null, "", url.toString());
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

  // -- hidden files: the server refuses a name that starts with a dot (Gradio's rule for its upload cache
  // inside the working folder), with nothing but "Error". Such files are held back here, named with the
  // reason and what to do, and the others of the same selection are sent as usual.
  var hiddenNote = "";
  var resending = false;
  function isHidden(file) { return /^\./.test(file.name); }
  function showHiddenNote() {
    var box = document.querySelector("#upload-status-box");
    if (!box) return;
    var note = byId("upload-hidden");
    if (!hiddenNote) { if (note) note.remove(); return; }
    if (!note || note.getAttribute("data-text") !== hiddenNote || !box.contains(note)) {
      if (note) note.remove();
      note = document.createElement("ul");
      note.id = "upload-hidden";
      note.className = "upload-status";
      note.setAttribute("role", "alert");
      note.setAttribute("data-text", hiddenNote);
      var li = document.createElement("li");
      li.className = "bad";
      li.textContent = hiddenNote;
      note.appendChild(li);
      box.insertBefore(note, box.firstChild);  // kept above the server's lines until the next selection
    }
  }
  function holdBackHidden(files, input) {
    var hidden = [], kept = [];
    for (var i = 0; i < files.length; i++) (isHidden(files[i]) ? hidden : kept).push(files[i]);
    if (!hidden.length) {
      if (!resending) { hiddenNote = ""; showHiddenNote(); }
      return false;
    }
    var names = hidden.map(function (f) { return f.name; });
    hiddenNote = "Not added. " + names.join(", ") + ": a name that starts with a dot is a hidden file, which the " +
      "server does not accept. Rename it without the leading dot (for example " + names[0].replace(/^\.+/, "") +
      ") and upload it again.";
    showHiddenNote();
    if (kept.length && input) {
      var dt = new DataTransfer();
      kept.forEach(function (f) { dt.items.add(f); });
      input.files = dt.files;
      resending = true;
      try { input.dispatchEvent(new Event("change", {bubbles: true})); } finally { resending = false; }
    } else if (input) {
      input.value = "";
    }
    return true;
  }
  document.addEventListener("change", function (ev) {
    var input = ev.target;
    if (!input || !input.matches || !input.matches("#upload input[type=file]") || !input.files || resending) return;
    if (holdBackHidden(input.files, input)) ev.stopImmediatePropagation();  // before Gradio's handler sees it
  }, true);
  document.addEventListener("drop", function (ev) {
    var zone = ev.target && ev.target.closest && ev.target.closest("#upload");
    if (!zone || !ev.dataTransfer || !ev.dataTransfer.files || !ev.dataTransfer.files.length) return;
    var files = Array.prototype.slice.call(ev.dataTransfer.files);
    if (!files.some(isHidden)) return;
    ev.preventDefault();
    ev.stopImmediatePropagation();
    holdBackHidden(files, zone.querySelector("input[type=file]"));
  }, true);

  function setUp() {
    showHiddenNote();
    syncSidebar();
    syncAddress();
    syncThemeButton();
    syncCounter();
    watchChat();
    // the picker says what an empty choice means (Gradio's multiselect has no placeholder of its own)
    var pick = document.querySelector("#doc-picker input[role=combobox]");
    if (pick) {
      var wanted = document.querySelector("#doc-picker .token") ? "Add a document…" : "All documents";
      if (pick.getAttribute("placeholder") !== wanted) pick.setAttribute("placeholder", wanted);
    }
    var input = document.querySelector("#upload input[type=file]");
    if (input && !input.getAttribute("accept")) input.setAttribute("accept", window.assistantUploadTypes || "");
  }
  document.addEventListener("input", syncCounter, true);
  document.addEventListener("click", function (ev) {
    if (ev.target && ev.target.closest && ev.target.closest("#conversations .toggle-button")) setTimeout(syncSidebar, 50);
  });
  setInterval(setUp, 300); // Gradio renders (and re-renders) components after this script runs
})();
