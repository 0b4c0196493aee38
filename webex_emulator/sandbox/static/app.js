// The sandbox page: be one of the emulator's people and chat with the bot as Webex would show it.
//
// Everything a person does goes to the emulator's Webex API with that person's token, as a Webex
// client sends it: POST /v1/messages (JSON, or multipart with one `files` part), POST
// /v1/attachment/actions, GET /v1/messages?roomId=... The sandbox routes (/sandbox/api/...) only
// describe the world: who can be picked, the rooms and a version of their messages, everyone's
// intercept settings as the emulator holds them, the bot's requests and clock (from the demo).
// Cards are drawn by Microsoft's `adaptivecards` (window.AdaptiveCards, a classic script), markdown
// by markdown-it; both come from node_modules through /sandbox/vendor/.
import markdownit from "./vendor/markdown-it.min.mjs";

const AC = window.AdaptiveCards;
const POLL_MS = 1000;
const md = markdownit({ html: false, linkify: true, breaks: true });

// A light host close to how Webex shows cards (the same as tests/render/page.js).
const HOST_CONFIG = new AC.HostConfig({
  fontFamily: "'Helvetica Neue', Helvetica, Arial, 'Liberation Sans', sans-serif",
  supportsInteractivity: true,
  spacing: { small: 4, default: 8, medium: 16, large: 24, extraLarge: 32, padding: 16 },
  separator: { lineThickness: 1, lineColor: "#DEDEDE" },
  fontSizes: { small: 12, default: 14, medium: 17, large: 21, extraLarge: 26 },
  fontWeights: { lighter: 300, default: 400, bolder: 600 },
  lineHeights: { small: 16, default: 20, medium: 23, large: 28, extraLarge: 34 },
  containerStyles: {
    default: {
      backgroundColor: "#FFFFFF",
      foregroundColors: {
        default: { default: "#121212", subtle: "#636466" },
        dark: { default: "#121212", subtle: "#636466" },
        light: { default: "#FFFFFF", subtle: "#F2F2F2" },
        accent: { default: "#0A78CC", subtle: "#0A78CC" },
        good: { default: "#1D805F", subtle: "#1D805F" },
        warning: { default: "#A85B00", subtle: "#A85B00" },
        attention: { default: "#D4371C", subtle: "#D4371C" },
      },
    },
    emphasis: {
      backgroundColor: "#F7F7F7",
      foregroundColors: {
        default: { default: "#121212", subtle: "#636466" },
        accent: { default: "#0A78CC", subtle: "#0A78CC" },
        good: { default: "#1D805F", subtle: "#1D805F" },
        warning: { default: "#A85B00", subtle: "#A85B00" },
        attention: { default: "#D4371C", subtle: "#D4371C" },
      },
    },
  },
  actions: {
    maxActions: 5, spacing: "medium", buttonSpacing: 8, actionsOrientation: "horizontal",
    actionAlignment: "left", showCard: { actionMode: "inline", inlineTopMargin: 16 },
  },
  factSet: { title: { weight: "bolder", wrap: true, maxWidth: 150 }, value: { wrap: true }, spacing: 8 },
  inputs: {
    label: {
      inputSpacing: "small",
      requiredInputs: { weight: "bolder", suffix: " *", suffixColor: "attention" },
      optionalInputs: { weight: "bolder" },
    },
    errorMessage: { size: "small", color: "attention" },
  },
});

AC.AdaptiveCard.onProcessMarkdown = (text, result) => {
  result.outputHtml = md.render(text);
  result.didProcess = true;
};

const $ = (selector) => document.querySelector(selector);
const world = { bot: null, people: [], byId: new Map() };
let me = null; // the person the page is
let roomId = null; // the room on screen
const views = new Map(); // `${personId} ${roomId}` -> { el, nodes: Map(messageId -> {node, stamp}), version }
const seen = new Map(); // `${personId} ${roomId}` -> the room version last shown
let lastIntercepts = {};
let pollTimer = null;
const drawn = new Map(); // part of the page -> what it was last drawn from (a redraw only on change,
// so that a click never lands on a button that is being replaced)

function changed(part, ...data) {
  const key = JSON.stringify(data);
  if (drawn.get(part) === key) return false;
  drawn.set(part, key);
  return true;
}

// ---------------------------------------------------------------------------------------- helpers

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

function initials(name) {
  return name.split(/\s+/).filter(Boolean).slice(0, 2).map((p) => p[0].toUpperCase()).join("");
}

function zoneOf(person) {
  return person?.timezone || "UTC";
}

function when(iso, zone, withWeekday = true) {
  if (!iso) return "";
  const options = { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: zone };
  if (withWeekday) options.weekday = "short";
  return new Intl.DateTimeFormat("en-GB", options).format(new Date(iso)).replace(",", "");
}

function duration(seconds) {
  const s = Math.abs(Math.round(seconds));
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  const parts = [];
  if (d) parts.push(`${d} d`);
  if (h) parts.push(`${h} h`);
  if (m || !parts.length) parts.push(`${m} min`);
  return parts.join(" ");
}

async function api(method, path, { body, form, token } = {}) {
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  let payload;
  if (form) payload = form; // the browser sets the multipart boundary
  else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const response = await fetch(path, { method, headers, body: payload, cache: "no-store" });
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!response.ok) {
    const message = (data && data.message) || response.statusText;
    throw new Error(`${method} ${path.split("?")[0]}: HTTP ${response.status}: ${message}`);
  }
  return data;
}

const webex = (method, path, options = {}) => api(method, `/v1${path}`, { ...options, token: me.token });
const sandbox = (method, path, body) => api(method, `/sandbox/api/${path}`, body === undefined ? {} : { body });

let noticeTimer = null;
function notice(text) {
  const box = $("#notice");
  box.textContent = text;
  box.hidden = !text;
  clearTimeout(noticeTimer);
  if (text) noticeTimer = setTimeout(() => { box.hidden = true; }, 8000);
}

// ---------------------------------------------------------------------------------------- who you are

function drawPeople() {
  const nav = $("#people");
  nav.replaceChildren(...world.people.map((person) => el("button", {
    type: "button", class: "person", "data-person": person.email, "aria-pressed": String(person.id === me?.id),
    onclick: () => become(person),
  }, el("span", { class: "avatar", text: initials(person.displayName) }),
  el("span", {}, person.displayName, el("small", { text: `${person.role} · ${person.timezone || "no time zone"}` })))));
}

function become(person) {
  me = person;
  history.replaceState(null, "", `#as=${encodeURIComponent(person.email)}`);
  $("#me-name").textContent = person.displayName;
  drawPeople();
  const rooms = person.rooms;
  if (!rooms.some((room) => room.id === roomId)) roomId = rooms[0]?.id ?? null;
  drawRooms(rooms);
  showRoom(roomId);
  pollSoon();
}

// ---------------------------------------------------------------------------------------- rooms

function drawRooms(rooms, versions = {}) {
  const unseen = rooms.map((room) => seen.get(`${me.id} ${room.id}`));
  if (!changed("rooms", me.id, roomId, rooms, versions, unseen)) return;
  $("#room-list").replaceChildren(...rooms.map((room) => {
    const key = `${me.id} ${room.id}`;
    const unread = room.id !== roomId && versions[room.id] && seen.has(key) && seen.get(key) !== versions[room.id];
    return el("li", {}, el("button", {
      type: "button", "data-room": room.type === "direct" ? "direct" : room.title, "aria-current": String(room.id === roomId),
      onclick: () => { roomId = room.id; drawRooms(me.rooms, versions); showRoom(room.id); pollSoon(); },
    }, el("span", { class: `avatar${room.type === "direct" ? " bot" : ""}`, text: initials(room.title) }),
    el("span", { text: room.title }), unread ? el("span", { class: "unread", title: "new messages" }) : null));
  }));
}

function currentRoom() {
  return me?.rooms.find((room) => room.id === roomId) ?? null;
}

function viewFor(personId, id) {
  const key = `${personId} ${id}`;
  let view = views.get(key);
  if (!view) {
    const box = el("div", { class: "messages", "data-view": key, hidden: true });
    box.append(el("p", { class: "empty", text: "Say hello: try “intercept me until Friday”, or “help”." }));
    $("#views").append(box);
    view = { el: box, nodes: new Map(), version: null, key };
    views.set(key, view);
  }
  return view;
}

function showRoom(id) {
  for (const view of views.values()) view.el.hidden = true;
  const room = currentRoom();
  $("#room-title").textContent = room ? room.title : "";
  $("#room-sub").textContent = room?.type === "group"
    ? "space · your messages here mention the bot"
    : room ? "1:1 with the bot" : "";
  $("#text").placeholder = room?.type === "group" ? `Message ${room.title} (mentions ${world.bot.displayName})` : `Message ${room?.title ?? ""}`;
  if (!id) return;
  const view = viewFor(me.id, id);
  view.el.hidden = false;
  view.el.scrollTop = view.el.scrollHeight;
}

// ---------------------------------------------------------------------------------------- messages

async function refreshRoom(view, room, version) {
  const data = await webex("GET", `/messages?roomId=${encodeURIComponent(room.id)}&max=200`);
  const messages = (data.items || []).slice().reverse(); // the API answers newest first
  const box = view.el;
  const nearBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  const wanted = new Set(messages.map((m) => m.id));
  for (const [id, entry] of view.nodes) {
    if (!wanted.has(id)) { entry.node.remove(); view.nodes.delete(id); } // deleted in Webex: gone
  }
  let previous = null;
  const first = view.version === null;
  for (const message of messages) {
    const stamp = message.updated || message.created;
    let entry = view.nodes.get(message.id);
    if (entry && entry.stamp !== stamp) { entry.node.remove(); view.nodes.delete(message.id); entry = null; }
    if (!entry) {
      entry = { node: drawMessage(message, room), stamp };
      if (!first) entry.node.classList.add("arrived");
      view.nodes.set(message.id, entry);
      if (previous) previous.after(entry.node);
      else box.prepend(entry.node);
    }
    previous = entry.node;
  }
  box.querySelector(".empty")?.toggleAttribute("hidden", messages.length > 0);
  view.version = version;
  if (nearBottom || first) box.scrollTop = box.scrollHeight;
}

function mentionsToMarkdown(text) {
  return text.replace(/<@(personId|personEmail):([^|>\s]+)(?:\|([^>]*))?>|<@all>/gi, (found, kind, value, label) => {
    if (!kind) return "**@all**";
    const person = kind.toLowerCase() === "personid" ? world.byId.get(value)
      : [...world.byId.values()].find((p) => p.email.toLowerCase() === value.toLowerCase());
    return `**@${label || person?.displayName || value}**`;
  });
}

function drawMessage(message, room) {
  const author = world.byId.get(message.personId);
  const name = author?.displayName ?? message.personEmail;
  const isBot = message.personId === world.bot.id;
  const content = el("div", { class: "content" },
    el("div", { class: "who" }, name, el("span", { class: "when", text: when(message.created, zoneOf(me)) })));
  const card = (message.attachments || []).find((a) => a.contentType === "application/vnd.microsoft.card.adaptive");
  if (card) {
    content.append(drawCard(message, card.content));
  } else if (message.markdown) {
    const body = el("div", { class: "body" });
    body.innerHTML = md.render(mentionsToMarkdown(message.markdown)); // html: false, links checked by markdown-it
    for (const link of body.querySelectorAll("a")) { link.target = "_blank"; link.rel = "noopener"; }
    content.append(body);
  } else if (message.text) {
    content.append(el("div", { class: "body" }, el("p", { text: message.text })));
  }
  for (const url of message.files || []) content.append(drawFile(url));
  return el("div", { class: "msg", "data-message-id": message.id, "data-author": isBot ? "bot" : author?.email, "data-room-type": room.type },
    el("span", { class: `avatar${isBot ? " bot" : ""}`, text: initials(name) }), content);
}

function drawFile(url) {
  const chip = el("button", { type: "button", class: "file", title: "Download" }, "File: ", el("span", { text: "…" }));
  const label = chip.querySelector("span");
  const owner = me;
  fetch(url, { method: "HEAD", headers: { Authorization: `Bearer ${owner.token}` } }).then((response) => {
    const disposition = response.headers.get("Content-Disposition") || "";
    const found = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition);
    if (found) label.textContent = decodeURIComponent(found[1]);
  }).catch(() => {});
  chip.addEventListener("click", async () => {
    const response = await fetch(url, { headers: { Authorization: `Bearer ${owner.token}` } });
    if (!response.ok) { notice(`The file cannot be downloaded: HTTP ${response.status}`); return; }
    const link = el("a", { href: URL.createObjectURL(await response.blob()), download: label.textContent });
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  });
  return chip;
}

function drawCard(message, json) {
  const host = el("div", { class: "card", "data-card": message.id });
  const card = new AC.AdaptiveCard();
  card.hostConfig = HOST_CONFIG;
  card.onExecuteAction = (action) => execute(message, action, host);
  try {
    card.parse(json, new AC.SerializationContext(AC.Versions.v1_3));
    const rendered = card.render();
    if (rendered) host.append(rendered);
  } catch (error) {
    host.append(el("p", { class: "card-note", text: `This card could not be shown: ${error.message}` }));
    return host;
  }
  for (const input of card.getAllInputs()) input.renderedElement?.setAttribute("data-input-id", input.id);
  for (const action of card.getAllActions()) action.renderedElement?.setAttribute("data-action-title", action.title);
  return host;
}

async function execute(message, action, host) {
  const type = action.getJsonTypeName();
  if (type === "Action.OpenUrl") {
    window.open(action.url, "_blank", "noopener");
    return;
  }
  if (type !== "Action.Submit") return;
  // what a Webex client sends: the card's input values merged with the button's data
  const data = action.data && typeof action.data === "object" ? action.data : {};
  const buttons = host.querySelectorAll("button");
  buttons.forEach((b) => { b.disabled = true; });
  host.querySelector(".card-note")?.remove();
  try {
    await webex("POST", "/attachment/actions", { body: { type: "submit", messageId: message.id, inputs: data } });
    host.append(el("p", { class: "card-note", text: `Sent: ${action.title}` }));
  } catch (error) {
    notice(error.message);
  } finally {
    setTimeout(() => buttons.forEach((b) => { b.disabled = false; }), 1500);
  }
  pollSoon();
}

async function send(event) {
  event.preventDefault();
  const room = currentRoom();
  const input = $("#text");
  const file = $("#file").files[0];
  const text = input.value.trim();
  if (!room || (!text && !file)) return;
  const mention = `<@personId:${world.bot.id}|${world.bot.displayName}>`;
  const fields = room.type === "group" ? { roomId: room.id, markdown: `${mention} ${text}`.trim() }
    : { roomId: room.id, ...(text ? { text } : {}) };
  $("#send").disabled = true;
  try {
    if (file) {
      const form = new FormData();
      for (const [key, value] of Object.entries(fields)) form.append(key, value);
      form.append("files", file, file.name);
      await webex("POST", "/messages", { form });
    } else {
      await webex("POST", "/messages", { body: fields });
    }
    input.value = "";
    clearFile();
  } catch (error) {
    notice(error.message);
  } finally {
    $("#send").disabled = false;
    input.focus();
  }
  pollSoon();
}

function clearFile() {
  $("#file").value = "";
  $("#file-chip").hidden = true;
}

// ---------------------------------------------------------------------------------------- the side panel

const LABELS = { INTERCEPT_ALL: "intercept all", ALLOW_ALL: "let all through", ALLOW_LOCAL_ONLY: "local only",
  DEFAULT: "default", CUSTOM: "custom" };
const label = (value) => LABELS[value] ?? value;
const onOff = (flag, destination) => (flag ? (destination ? `on → ${destination}` : "on") : "off");

function drawIntercepts(intercepts) {
  if (!changed("intercepts", intercepts)) return;
  const box = $("#intercepts");
  box.replaceChildren(...world.people.map((person) => {
    const s = intercepts[person.id];
    if (!s) return null;
    const a = s.incoming.announcements;
    const moved = lastIntercepts[person.id] && JSON.stringify(lastIntercepts[person.id]) !== JSON.stringify(s);
    const greeting = a.greeting === "CUSTOM" ? `custom (${a.fileName || a.filename || "no file"})` : "default";
    return el("div", { class: `icpt ${s.enabled ? "on" : "off"}${moved ? " changed" : ""}`, "data-intercept": person.email,
      "data-enabled": String(s.enabled) },
    el("div", { class: "line1" }, el("strong", { text: person.displayName }),
      el("span", { class: `pill${s.enabled ? " on" : ""}`, text: s.enabled ? "intercept on" : "intercept off" })),
    el("dl", {},
      el("dt", { text: "incoming" }), el("dd", { text: `${label(s.incoming.type)}${s.incoming.voicemailEnabled ? ", voicemail" : ""}` }),
      el("dt", { text: "outgoing" }), el("dd", { text: label(s.outgoing.type) }),
      el("dt", { text: "greeting" }), el("dd", { text: greeting }),
      el("dt", { text: "transfer" }), el("dd", { text: onOff(s.outgoing.transferEnabled, s.outgoing.destination) }),
      el("dt", { text: "new no." }), el("dd", { text: onOff(a.newNumber.enabled, a.newNumber.destination) }),
      el("dt", { text: "0 goes to" }), el("dd", { text: onOff(a.zeroTransfer.enabled, a.zeroTransfer.destination) })));
  }));
  lastIntercepts = intercepts;
}

function drawRequests(host) {
  const list = $("#requests");
  const requests = host.requests || [];
  if (!changed("requests", requests)) return;
  if (!requests.length) {
    list.replaceChildren(el("li", { class: "none", text: "None yet. Be a requester and ask the bot." }));
    return;
  }
  list.replaceChildren(...requests.map((r) => {
    const zone = r.zone || "UTC"; // as the bot tells it: in the requester's zone
    const times = [];
    if (r.startAt) times.push(`from ${when(r.startAt, zone)}`);
    if (r.endAt) times.push(`until ${when(r.endAt, zone)}`);
    let text = times.length ? `${times.join(" ")} (${zone})` : "";
    if (r.dueAt && (r.status === "applying" || r.status === "reverting")) text += ` · next try ${when(r.dueAt, zone)}`;
    const button = r.step ? el("button", { type: "button", "data-due": r.id, onclick: (e) => makeDue(r, e.currentTarget) },
      r.step === "revert" ? "Make the end due now" : "Make the start due now") : null;
    return el("li", { class: `req${r.final ? " final" : ""}`, "data-request": r.id, "data-person": r.personId, "data-status": r.status },
      el("div", { class: "line1" }, el("strong", { text: r.personName }), el("span", { class: `pill ${r.status}`, text: r.label })),
      el("div", { class: "times", text }), button);
  }));
}

function drawClock(host) {
  const zone = zoneOf(me);
  $("#clock-now").textContent = `${when(host.now, zone)} ${zone}`;
  const offset = host.offsetSeconds || 0;
  $("#clock-offset").textContent = offset > 0 ? `${duration(offset)} ahead of real time · UTC ${when(host.now, "UTC", false)}`
    : `real time · UTC ${when(host.now, "UTC", false)}`;
}

function drawHost(host) {
  drawClock(host);
  drawRequests(host);
}

async function advance(seconds, button) {
  button.disabled = true;
  try { drawHost(await sandbox("POST", "clock", { seconds })); } catch (error) { notice(error.message); }
  button.disabled = false;
  pollSoon();
}

async function makeDue(request, button) {
  button.disabled = true;
  try { drawHost(await sandbox("POST", "due", { requestId: request.id })); } catch (error) { notice(error.message); }
  button.disabled = false; // (a redrawn list has new buttons anyway)
  pollSoon();
}

// ---------------------------------------------------------------------------------------- polling

async function poll() {
  clearTimeout(pollTimer);
  const person = me;
  try {
    const state = await sandbox("GET", `state?person=${encodeURIComponent(person.id)}`);
    if (person !== me) return; // switched meanwhile: the next poll is for the new person
    const versions = Object.fromEntries(state.rooms.map((room) => [room.id, room.version]));
    drawRooms(me.rooms, versions);
    drawIntercepts(state.intercepts);
    drawHost(state.host);
    const v = state.specViolations;
    $("#violations").hidden = !v;
    $("#violations").textContent = v ? `The emulator saw ${v} request${v === 1 ? "" : "s"} outside the Webex OpenAPI excerpt (see the log).` : "";
    const room = state.rooms.find((r) => r.id === roomId);
    if (room) {
      const view = viewFor(person.id, room.id);
      if (view.version !== room.version) await refreshRoom(view, room, room.version);
      seen.set(`${person.id} ${room.id}`, room.version);
    }
    for (const other of state.rooms) {
      if (!seen.has(`${person.id} ${other.id}`)) seen.set(`${person.id} ${other.id}`, other.version);
    }
    document.body.dataset.ready = "true";
  } catch (error) {
    notice(`The sandbox does not answer (${error.message}). Is the demo still running?`);
  } finally {
    pollTimer = setTimeout(poll, POLL_MS);
  }
}

function pollSoon() {
  clearTimeout(pollTimer);
  pollTimer = setTimeout(poll, 150);
}

// ---------------------------------------------------------------------------------------- start

async function main() {
  const info = await sandbox("GET", "people");
  world.bot = info.bot;
  world.people = info.people;
  world.byId = new Map([[info.bot.id, info.bot], ...info.people.map((p) => [p.id, p])]);
  document.title = info.title;
  $("#title").textContent = info.title;
  $("#composer").addEventListener("submit", send);
  $("#file").addEventListener("change", () => {
    const file = $("#file").files[0];
    $("#file-chip").hidden = !file;
    $("#file-name").textContent = file ? file.name : "";
  });
  $("#file-clear").addEventListener("click", clearFile);
  for (const button of document.querySelectorAll("[data-advance]")) {
    button.addEventListener("click", () => advance(Number(button.dataset.advance), button));
  }
  const wanted = decodeURIComponent((/#as=([^&]+)/.exec(location.hash) || [])[1] || "");
  become(world.people.find((p) => p.email === wanted) || world.people[0]);
}

main().catch((error) => notice(`The sandbox could not start: ${error.message}`));
