// The classroom dashboard: keeps the grid live from the server's events. Every text an
// attendee sent is written with textContent, never as markup.
"use strict";
(function () {
  // The key is in an HttpOnly cookie since the page was opened: requests carry it.
  let room = null;
  let open = null; // [attendee id, exercise slug] of the detail shown


  function el(tag, props, text) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (k === "class") e.className = v;
      else e.setAttribute(k, v);
    }
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function label(slug) {
    const n = slug.split("-")[0];
    return n || slug;
  }
  function duration(s) {
    if (s < 60) return s + " s";
    if (s < 3600) return Math.floor(s / 60) + " min";
    const m = Math.floor((s % 3600) / 60);
    return Math.floor(s / 3600) + " h " + (m < 10 ? "0" : "") + m + " min";
  }
  function stepTitle(slug, id) {
    const ex = room.exercises.find((e) => e.slug === slug);
    const st = ex && ex.steps.find((s) => s.id === id);
    return st ? st.title : id;
  }

  function renderRow(a) {
    const stuck = a.current && a.current.stuck;
    const tr = el("tr", { "data-attendee": String(a.id) });
    if (stuck) tr.className = "stuck";
    tr.appendChild(el("th", { class: "name", scope: "row" }, a.name));
    a.cells.forEach((c, i) => {
      const ex = room.exercises[i];
      const here = a.current && a.current.exercise === c.exercise;
      const text = c.state === "none" ? "·" : c.state === "done" ? "✓" : c.passed + "/" + c.total;
      const td = el("td", {
        class: "cell " + c.state + (here ? " here" : ""),
        "data-exercise": c.exercise,
        "data-state": c.state,
        title: ex.title + ": " + c.passed + "/" + c.total + " steps",
      }, text);
      td.addEventListener("click", () => {
        open = open && open[0] === a.id && open[1] === c.exercise ? null : [a.id, c.exercise];
        renderDetail();
      });
      tr.appendChild(td);
    });
    const ago = room.generated_at - (a.last_seen || 0);
    tr.appendChild(el("td", { class: "seen" }, a.last_seen == null ? "joined" : ago < 60 ? "now" : duration(ago) + " ago"));
    const on = a.current
      ? label(a.current.exercise) + " · " + a.current.step_title + " (" + duration(a.current.failing_for) + ")"
      : "";
    tr.appendChild(el("td", { class: "on" }, on));
    return tr;
  }

  function renderDetail() {
    const box = document.getElementById("detail");
    box.replaceChildren();
    const a = open && room.attendees.find((x) => x.id === open[0]);
    const c = a && a.cells.find((x) => x.exercise === open[1]);
    if (!c) {
      box.hidden = true;
      return;
    }
    const ex = room.exercises.find((e) => e.slug === c.exercise);
    box.appendChild(el("h2", {}, a.name + " · " + ex.title));
    const meta = c.graded_at
      ? "graded " + new Date(c.graded_at * 1000).toLocaleTimeString() + " · hints used: " + c.hints_used
      : "not graded yet";
    box.appendChild(el("p", {}, meta));
    const ol = el("ol", { class: "steps" });
    c.steps.forEach((s) => {
      const li = el("li", { class: "step " + s.status, "data-step": s.id, "data-status": s.status });
      li.appendChild(el("span", { class: "status" }, s.status));
      li.appendChild(document.createTextNode(" " + stepTitle(c.exercise, s.id)));
      ol.appendChild(li);
    });
    box.appendChild(ol);
    box.hidden = false;
  }

  function render() {
    const tbody = document.querySelector("#grid tbody");
    tbody.replaceChildren(...room.attendees.map(renderRow));
    const foot = document.querySelector("#grid tfoot tr");
    foot.replaceChildren(el("th", { scope: "row" }, "Done"), ...room.done.map((n) => el("td", {}, String(n))), el("td"), el("td"));
    const hot = document.getElementById("hot");
    hot.replaceChildren(...room.hot_steps.map((h) =>
      el("li", {}, label(h.exercise) + " · " + h.step_title + ": " + h.attendees + " attendee" +
        (h.attendees === 1 ? "" : "s") + (h.stuck > 0 ? ", " + h.stuck + " stuck" : ""))));
    const stuck = document.getElementById("stuck");
    stuck.replaceChildren(...room.attendees.filter((a) => a.current && a.current.stuck).map((a) => {
      const li = el("li");
      li.appendChild(el("b", {}, a.name));
      li.appendChild(document.createTextNode(": " + label(a.current.exercise) + " · " +
        a.current.step_title + " for " + duration(a.current.failing_for)));
      return li;
    }));
    document.getElementById("counts").textContent = room.attendees.length + " attendees · stuck means failing the same step for " +
      duration(room.stuck_after) + " or more";
    renderDetail();
    document.body.dataset.rendered = String(room.generated_at);
  }

  function load() {
    return fetch("api/state", { cache: "no-store" })
      .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
      .then((state) => {
        room = state;
        render();
      });
  }

  function live() {
    const es = new EventSource("events");
    const status = document.getElementById("live");
    es.onopen = () => {
      status.textContent = "live";
      status.className = "live on";
      // What happened before the stream opened (or while it reconnected).
      load();
    };
    es.onerror = () => {
      status.textContent = "reconnecting…";
      status.className = "live off";
    };
    es.addEventListener("attendee", (e) => {
      if (!room) return;
      const msg = JSON.parse(e.data);
      const i = room.attendees.findIndex((a) => a.id === msg.attendee.id);
      if (i >= 0) room.attendees[i] = msg.attendee;
      else room.attendees.push(msg.attendee);
      room.hot_steps = msg.hot_steps;
      room.done = msg.done;
      room.generated_at = msg.generated_at;
      render();
    });
    es.addEventListener("left", (e) => {
      if (!room) return;
      const id = JSON.parse(e.data).left;
      room.attendees = room.attendees.filter((a) => a.id !== id);
      load();
    });
    es.addEventListener("reload", () => load());
  }

  // The first render is from the room the page carries; the events start once it has loaded.
  room = JSON.parse(document.getElementById("room").textContent);
  render();
  window.addEventListener("load", () => setTimeout(live, 0));
  // How long each attendee has been on a step grows without new records.
  setInterval(load, 30000);
})();
