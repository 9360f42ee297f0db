// The Embedded UI: plain DOM, no framework. Every value from the server is set
// with textContent (never innerHTML). Writes carry the CSRF token from the page.
(function () {
  "use strict";
  var body = document.body;
  var base = body.dataset.base;
  var locale = body.dataset.locale || "en-US";
  var components = (body.dataset.components || "").split(" ").filter(Boolean);
  var csrf = document.querySelector('meta[name="csrf-token"]').content;

  function el(tag, attrs) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) {
      if (k === "text") e.textContent = attrs[k];
      else if (k === "on") for (var ev in attrs.on) e.addEventListener(ev, attrs.on[ev]);
      else if (attrs[k] !== null && attrs[k] !== undefined && attrs[k] !== false) e.setAttribute(k, attrs[k]);
    }
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined) continue;
      e.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    }
    return e;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }

  // Money: integer minor units, shown with the currency's own number of decimals.
  var fmts = {};
  function fmt(cur) {
    cur = (cur || "USD").toUpperCase();
    if (!fmts[cur]) fmts[cur] = new Intl.NumberFormat(locale, { style: "currency", currency: cur });
    return fmts[cur];
  }
  function money(minor, cur) {
    var f = fmt(cur), d = f.resolvedOptions().maximumFractionDigits;
    var neg = minor < 0, s = String(Math.abs(minor));
    while (s.length <= d) s = "0" + s;
    var major = d ? s.slice(0, s.length - d) + "." + s.slice(s.length - d) : s;
    return f.format(Number((neg ? "-" : "") + major));
  }
  var dfmt = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeZone: "UTC" });
  function date(ymd) {
    var m = /^(\d{4})-(\d{2})-(\d{2})/.exec(ymd || "");
    return m ? dfmt.format(new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]))) : (ymd || "");
  }

  function api(method, path, data) {
    var opts = { method: method, credentials: "same-origin", headers: { "Accept": "application/json" } };
    if (method !== "GET") opts.headers["X-CSRF-Token"] = csrf;
    if (data !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(data); }
    return fetch(base + "/api" + path, opts).then(function (res) {
      if (res.status === 204) return null;
      return res.json().then(function (j) {
        if (!res.ok) throw new Error((j && j.error && j.error.message) || ("request failed (" + res.status + ")"));
        return j;
      });
    });
  }

  var notice = document.getElementById("notice");
  function say(msg, bad) {
    notice.textContent = msg;
    notice.className = "notice" + (bad ? " bad" : "");
    notice.hidden = false;
  }
  function failed(err) { say(err.message, true); }

  // Tabs (WAI-ARIA tabs pattern: arrow keys move between tabs).
  var labels = { connect: "Connect", payouts: "Payouts", reconciliation: "Reconciliation" };
  var tablist = document.getElementById("tabs"), tabs = [];
  function select(name, focus) {
    tabs.forEach(function (t) {
      var on = t.dataset.name === name;
      t.setAttribute("aria-selected", on ? "true" : "false");
      t.tabIndex = on ? 0 : -1;
      document.getElementById("panel-" + t.dataset.name).hidden = !on;
      if (on && focus) t.focus();
    });
    loaders[name]();
  }
  ["connect", "payouts", "reconciliation"].forEach(function (name) {
    if (components.indexOf(name) < 0) return;
    var t = el("button", { role: "tab", id: "tab-" + name, "aria-controls": "panel-" + name, type: "button", text: labels[name] });
    t.dataset.name = name;
    t.addEventListener("click", function () { select(name, false); });
    t.addEventListener("keydown", function (e) {
      var i = tabs.indexOf(t);
      if (e.key === "ArrowRight") { e.preventDefault(); select(tabs[(i + 1) % tabs.length].dataset.name, true); }
      if (e.key === "ArrowLeft") { e.preventDefault(); select(tabs[(i + tabs.length - 1) % tabs.length].dataset.name, true); }
    });
    tabs.push(t);
    tablist.appendChild(t);
  });

  // Connect component.
  var providerNames = { stripe: "Stripe", qualpay: "Qualpay" };
  // Each loader marks its panel busy until it has re-rendered (screen readers
  // announce it; tests wait for it rather than clicking a node about to go).
  function loadConnect() {
    var box = document.getElementById("connections");
    box.setAttribute("aria-busy", "true");
    return api("GET", "/connections").then(function (res) {
      clear(box).setAttribute("aria-busy", "false");
      res.data.forEach(function (c) {
        var name = providerNames[c.provider] || c.provider;
        var card = el("div", { "class": "card", id: "conn-" + c.provider });
        var status = c.status === "connected"
          ? el("span", { "class": "badge ok", text: "Connected" })
          : el("span", { "class": "badge", text: c.status === "pending" ? "Pending" : "Not connected" });
        card.appendChild(el("div", { "class": "row" }, el("h3", { text: name }), status));
        if (c.status === "connected" || c.status === "pending") {
          card.appendChild(el("p", { "class": "muted" }, "Account ", el("span", { "class": "mono", text: c.account_id }),
            c.status === "pending" ? " created " + date(c.connected_at) + "; Stripe has not finished onboarding it." : " since " + date(c.connected_at)));
          var confirmBox = el("div", { hidden: "hidden" });
          var ask = el("button", { type: "button", "class": "danger", text: "Disconnect " + name });
          ask.addEventListener("click", function () { ask.hidden = true; confirmBox.hidden = false; yes.focus(); });
          var yes = el("button", { type: "button", "class": "danger", text: "Yes, disconnect " + name });
          var no = el("button", { type: "button", text: "Cancel" });
          no.addEventListener("click", function () { confirmBox.hidden = true; ask.hidden = false; ask.focus(); });
          yes.addEventListener("click", function () {
            yes.disabled = true;
            api("DELETE", "/connections/" + c.provider).then(function () { say(name + " was disconnected."); loadConnect(); }, failed);
          });
          confirmBox.appendChild(el("p", { text: "Disconnect " + name + "? New payouts will stop arriving here until you connect again." }));
          confirmBox.appendChild(el("div", { "class": "row" }, yes, no));
          card.appendChild(ask);
          card.appendChild(confirmBox);
        } else if (c.provider === "stripe") {
          var stripeButton = function (text, cls, path) {
            var b = el("button", { type: "button", "class": cls, text: text });
            b.addEventListener("click", function () {
              b.disabled = true;
              api("POST", path, {}).then(function (r) {
                // Stripe's pages refuse to be framed: leave the frame, or take this page to them.
                if (window.top !== window.self) window.open(r.url, "_blank", "noopener");
                else window.location.assign(r.url);
              }, function (e) { b.disabled = false; failed(e); });
            });
            return b;
          };
          card.appendChild(el("div", { "class": "row" }, stripeButton("Connect Stripe", "primary", "/stripe/connect"),
            stripeButton("Create a Stripe account", "", "/stripe/onboarding")));
        } else {
          card.appendChild(el("p", { "class": "muted", text: "Ask your app to link your Qualpay merchant account." }));
        }
        box.appendChild(card);
      });
    }, failed);
  }

  // Payouts component.
  var recLabels = { matched: ["Reconciled", "ok"], exception: ["Needs attention", "bad"], open: ["Not reconciled yet", "warn"] };
  function badge(state) { var l = recLabels[state] || [state, ""]; return el("span", { "class": "badge " + l[1], text: l[0] }); }
  function loadPayouts(cursor) {
    var box = document.getElementById("payouts");
    box.setAttribute("aria-busy", "true");
    return api("GET", "/payouts" + (cursor ? "?cursor=" + encodeURIComponent(cursor) : "")).then(function (res) {
      clear(box).setAttribute("aria-busy", "false");
      if (!res.data.length) { box.appendChild(el("p", { "class": "muted", text: "No payouts yet." })); return; }
      var tb = el("tbody");
      res.data.forEach(function (p) {
        var open = el("button", { type: "button", "class": "link", "aria-label": "Open payout of " + money(p.amount, p.currency) + " on " + date(p.arrival_date), text: "Open" });
        open.addEventListener("click", function () { openPayout(p.id); });
        tb.appendChild(el("tr", { id: "payout-" + p.id },
          el("td", { text: date(p.arrival_date) }), el("td", { "class": "num", text: money(p.amount, p.currency) }),
          el("td", { "class": "hide-sm", text: p.status.replace("_", " ") }), el("td", {}, badge(p.reconciliation)), el("td", {}, open)));
      });
      box.appendChild(el("table", {}, el("caption", { "class": "muted", text: "Newest first" }),
        el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "Arrives" }), el("th", { scope: "col", "class": "num", text: "Amount" }),
          el("th", { scope: "col", "class": "hide-sm", text: "Status" }), el("th", { scope: "col", text: "Reconciliation" }), el("th", { scope: "col", text: "Details" }))), tb));
      if (res.next_cursor) {
        var more = el("button", { type: "button", text: "Older payouts" });
        more.addEventListener("click", function () { loadPayouts(res.next_cursor); });
        box.appendChild(more);
      }
    }, failed);
  }
  function itemLabel(it) {
    var kinds = { charge: "Charge", payment: "Payment", refund: "Refund", dispute: "Dispute", adjustment: "Adjustment", fee: "Fee",
      climate: "Stripe Climate", application_fee: "Platform fee", payout_failure: "Failed payout", other: "Other" };
    return kinds[it.type] || it.type;
  }
  function openPayout(id, cursor) {
    var box = document.getElementById("payout-detail");
    return api("GET", "/payouts/" + encodeURIComponent(id) + (cursor ? "?cursor=" + encodeURIComponent(cursor) : "")).then(function (d) {
      clear(box);
      var h = el("h3", { tabindex: "-1", id: "payout-heading", text: "Payout of " + money(d.amount, d.currency) + " arriving " + date(d.arrival_date) });
      box.appendChild(h);
      box.appendChild(el("p", {}, badge(d.reconciliation), " ", el("span", { "class": "muted mono", text: d.id })));
      var tb = el("tbody");
      d.items.forEach(function (it) {
        tb.appendChild(el("tr", { "class": "item" },
          el("td", {}, itemLabel(it), el("div", { "class": "muted", text: it.description || "" })),
          el("td", { "class": "hide-sm" }, it.invoice_id ? el("span", { "class": "mono", text: it.invoice_id }) : "—"),
          el("td", { "class": "num", text: money(it.amount, it.currency) }),
          el("td", { "class": "num", text: it.fee ? money(-it.fee, it.currency) : "—" }),
          el("td", { "class": "num", text: money(it.net, it.currency) })));
      });
      box.appendChild(el("table", { "aria-label": "Transactions in this payout" },
        el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "Transaction" }), el("th", { scope: "col", "class": "hide-sm", text: "Invoice" }),
          el("th", { scope: "col", "class": "num", text: "Gross" }), el("th", { scope: "col", "class": "num", text: "Fee" }), el("th", { scope: "col", "class": "num", text: "Net" }))), tb));
      if (d.next_cursor) {
        var more = el("button", { type: "button", text: "More transactions" });
        more.addEventListener("click", function () { openPayout(id, d.next_cursor); });
        box.appendChild(more);
      }
      if (!d.totals_known) {
        box.appendChild(el("p", { "class": "muted", id: "payout-totals", text: "Totals by kind are not available for this payout." }));
        h.focus();
        return;
      }
      var tt = el("tbody");
      d.totals.forEach(function (t) {
        tt.appendChild(el("tr", {}, el("td", { text: t.label + " (" + t.count + ")" }), el("td", { "class": "num", text: money(t.amount, d.currency) })));
      });
      box.appendChild(el("table", { "aria-label": "Totals", id: "payout-totals" }, tt,
        el("tfoot", {}, el("tr", {}, el("td", { text: d.adds_up ? "Deposited to your bank" : "Total (does not add up to the payout yet)" }),
          el("td", { "class": "num", id: "payout-total", text: money(d.total_net, d.currency) })))));
      h.focus();
    }, failed);
  }

  // Reconciliation component.
  function loadReconciliation() {
    document.getElementById("exceptions").setAttribute("aria-busy", "true");
    document.getElementById("matches").setAttribute("aria-busy", "true");
    return Promise.all([api("GET", "/exceptions"), api("GET", "/matches")]).then(function (r) {
      renderExceptions(r[0].data);
      renderMatches(r[1].data);
    }, failed);
  }
  function renderExceptions(list) {
    var box = clear(document.getElementById("exceptions"));
    box.setAttribute("aria-busy", "false");
    if (!list.length) { box.appendChild(el("p", { "class": "muted", id: "no-exceptions", text: "Nothing needs your attention." })); return; }
    list.forEach(function (x) {
      var card = el("div", { "class": "card exception", id: "exc-" + x.id });
      card.appendChild(el("div", { "class": "row" }, el("h3", { text: x.title }), el("span", { "class": "num", text: money(x.amount, x.currency) })));
      card.appendChild(el("p", { text: x.message }));
      if (x.resolvable) {
        var go = el("button", { type: "button", "class": "primary", text: "Resolve by matching payouts" });
        go.addEventListener("click", function () {
          go.disabled = true;
          api("GET", "/payouts").then(function (res) {
            go.hidden = true;
            card.appendChild(matchForm(x, res.data));
            var first = card.querySelector("input, button.primary");
            if (first) first.focus();
          }, function (e) { go.disabled = false; failed(e); });
        });
        card.appendChild(go);
      }
      box.appendChild(card);
    });
  }
  // matchForm: pick the payouts behind a deposit; the sum is checked as you tick.
  function matchForm(x, payouts) {
    var candidates = payouts.filter(function (p) {
      return p.reconciliation !== "matched" && p.status === "paid" && p.currency === x.currency;
    }).map(function (p) { return { id: p.id, amount: p.amount, date: p.arrival_date }; });
    var form = el("form", { "class": "match-form" });
    var fs = el("fieldset", {}, el("legend", { text: "Payouts that make up the deposit of " + money(x.amount, x.currency) }));
    if (!candidates.length) fs.appendChild(el("p", { "class": "muted", text: "No unmatched payouts to choose from." }));
    candidates.forEach(function (c, i) {
      var id = "pick-" + x.id + "-" + i;
      var box = el("input", { type: "checkbox", id: id, value: c.id });
      box.dataset.amount = String(c.amount);
      box.addEventListener("change", check);
      fs.appendChild(el("div", {}, box, " ", el("label", { "for": id, text: money(c.amount, x.currency) + " payout arriving " + date(c.date) + " (" + c.id + ")" })));
    });
    var sum = el("p", { "class": "sum", role: "status", "aria-live": "polite" });
    var submit = el("button", { type: "submit", "class": "primary", disabled: "disabled", text: "Match" });
    var cancel = el("button", { type: "button", text: "Cancel" });
    cancel.addEventListener("click", loadReconciliation);
    function picked() { return Array.prototype.filter.call(form.querySelectorAll("input[type=checkbox]"), function (b) { return b.checked; }); }
    function check() {
      var total = picked().reduce(function (s, b) { return s + Number(b.dataset.amount); }, 0);
      var ok = total === x.amount && total !== 0;
      sum.className = "sum " + (ok ? "ok" : "bad");
      sum.textContent = "Selected " + money(total, x.currency) + " of " + money(x.amount, x.currency) +
        (ok ? " — the amounts match" : " — differs by " + money(x.amount - total, x.currency));
      submit.disabled = !ok;
    }
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      submit.disabled = true;
      api("POST", "/matches", { bank_transaction_id: x.bank_transaction_ids[0], payout_ids: picked().map(function (b) { return b.value; }) })
        .then(function () { say("Matched. The journal entries are booked."); loadReconciliation(); }, function (err) { failed(err); check(); });
    });
    form.appendChild(fs);
    form.appendChild(sum);
    form.appendChild(el("div", { "class": "row" }, submit, cancel));
    check();
    return form;
  }
  function renderMatches(list) {
    var box = clear(document.getElementById("matches"));
    box.setAttribute("aria-busy", "false");
    if (!list.length) { box.appendChild(el("p", { "class": "muted", text: "No matches yet." })); return; }
    list.forEach(function (m, idx) {
      var card = el("div", { "class": "card match", id: "match-" + m.id });
      card.appendChild(el("div", { "class": "row" }, el("h3", { text: "Deposit of " + money(m.amount, m.currency) + " on " + date(m.date) }),
        el("span", { "class": "badge ok", text: m.created_by === "manual" ? "Matched by hand" : "Matched" })));
      card.appendChild(el("p", { "class": "muted" }, "Payouts: ", el("span", { "class": "mono", text: m.payout_ids.join(", ") })));
      var tb = el("tbody");
      (m.journal_entries || []).forEach(function (e) {
        e.lines.forEach(function (l, i) {
          tb.appendChild(el("tr", {}, el("td", { "class": "hide-sm", text: i === 0 ? date(e.date) : "" }), el("td", { text: l.account }),
            el("td", { "class": "num", text: l.debit ? money(l.debit, e.currency) : "" }), el("td", { "class": "num", text: l.credit ? money(l.credit, e.currency) : "" })));
        });
      });
      var det = el("details", idx === 0 ? { open: "open" } : {}, el("summary", { text: "Journal entries" }), el("table", {},
        el("thead", {}, el("tr", {}, el("th", { scope: "col", "class": "hide-sm", text: "Date" }), el("th", { scope: "col", text: "Account" }),
          el("th", { scope: "col", "class": "num", text: "Debit" }), el("th", { scope: "col", "class": "num", text: "Credit" }))), tb));
      card.appendChild(det);
      var confirmBox = el("div", { hidden: "hidden" });
      var ask = el("button", { type: "button", "class": "danger", text: "Unmatch" });
      var yes = el("button", { type: "button", "class": "danger", text: "Yes, unmatch" });
      var no = el("button", { type: "button", text: "Cancel" });
      ask.addEventListener("click", function () { ask.hidden = true; confirmBox.hidden = false; yes.focus(); });
      no.addEventListener("click", function () { confirmBox.hidden = true; ask.hidden = false; ask.focus(); });
      yes.addEventListener("click", function () {
        yes.disabled = true;
        api("DELETE", "/matches/" + encodeURIComponent(m.id)).then(function () { say("Unmatched; reversing entries were booked."); loadReconciliation(); }, failed);
      });
      confirmBox.appendChild(el("p", { text: "Unmatch this deposit? Its journal entries are reversed." }));
      confirmBox.appendChild(el("div", { "class": "row" }, yes, no));
      card.appendChild(ask);
      card.appendChild(confirmBox);
      box.appendChild(card);
    });
  }

  var loaders = { connect: loadConnect, payouts: function () { return loadPayouts(); }, reconciliation: loadReconciliation };
  var q = new URLSearchParams(window.location.search);
  if (q.get("status") === "connected") say("Stripe is connected.");
  if (q.get("status") === "pending") say("Stripe is still reviewing your new account; it will show as connected once onboarding is complete.");
  if (q.get("status") === "error") say("Stripe was not connected (" + (q.get("reason") || "error") + ").", true);
  var first = q.has("status") && components.indexOf("connect") >= 0 ? "connect" : (tabs[0] && tabs[0].dataset.name);
  if (first) select(first, false);
})();
