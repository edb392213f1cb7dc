// The labeling screen: drag (mouse, touch), tap-tap or keys to rank, ratings, flags,
// submit. The DOM is the state: a chip's parent bucket is its rank. A draft of it is
// saved to the server as the annotator works and restored when the page loads.

const config = JSON.parse(document.getElementById("task-config").textContent);
const root = document.getElementById("task");
const assignmentId = root.dataset.assignment;
const feedback = document.getElementById("feedback");
const tray = document.querySelector("#unranked .chips");
const notes = document.getElementById("notes");
const draftStatus = document.getElementById("draft-status");
const startedAt = performance.now();
let selectedLetter = null;

// Changes made and changes in a stored draft: leaving asks first while they differ.
// A stored submit or skip sets `leaving`, which ends both the warning and the saving.
let changes = 0;
let savedChanges = 0;
let leaving = false;
window.addEventListener("beforeunload", (event) => {
  if (leaving || changes === savedChanges) return;
  event.preventDefault();
  event.returnValue = "";
});

function newClientId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// One id per task, kept across reloads, so a repeated submit stores one annotation.
const clientIdKey = `rankwise-client-id-${assignmentId}`;
const clientId = sessionStorage.getItem(clientIdKey) || newClientId();
sessionStorage.setItem(clientIdKey, clientId);

const chip = (letter) => document.getElementById(`chip-${letter}`);
const card = (letter) => document.getElementById(`output-${letter}`);
const letters = [...document.querySelectorAll(".chip")].map((c) => c.dataset.letter);

// `text` cut at a word to at most `max` characters, with "…" when cut.
function firstWords(text, max) {
  if (text.length <= max) return text;
  const cut = text.slice(0, max - 1);
  const space = cut.lastIndexOf(" ");
  return `${(space > max / 2 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

// Each chip carries its output's first words, as the output reads on the page: the
// chip shows a line of them (four when selected) and its name holds the first 80
// characters, so ranking is ranking text, not letters.
const CHIP_TEXT_CHARS = 320;
const NAME_TEXT_CHARS = 80;
const summaries = {};
// An output's words from its first block that is not a heading: a title such as
// "Answer" says nothing to rank by.
function outputSummaryText(outputText) {
  const blocks = [...outputText.children];
  const start = blocks.findIndex((block) => !/^H[1-6]$/.test(block.tagName));
  const text = start > 0
    ? blocks.slice(start).map((block) => block.textContent).join(" ")
    : outputText.textContent;
  return text.replace(/\s+/g, " ").trim();
}
for (const letter of letters) {
  const text = outputSummaryText(card(letter).querySelector(".output-text"));
  summaries[letter] = firstWords(text, NAME_TEXT_CHARS);
  chip(letter).querySelector(".chip-text").textContent = firstWords(text, CHIP_TEXT_CHARS);
}

function bucketOf(chipEl) {
  return chipEl.closest(".bucket-target");
}

function placeChip(chipEl, target) {
  const origin = bucketOf(chipEl);
  if (!target || origin === target) return;
  const slot = target.querySelector(".chips");
  const isRank = target.dataset.rank !== "0";
  if (isRank && !config.allowTies) {
    for (const occupant of [...slot.querySelectorAll(".chip")]) {
      origin.querySelector(".chips").appendChild(occupant);
    }
  }
  slot.appendChild(chipEl);
  changed();
  refreshBadges();
}

function refreshBadges() {
  if (feedback.classList.contains("error")) feedback.replaceChildren();
  let ranked = 0;
  for (const letter of letters) {
    const rank = Number(bucketOf(chip(letter)).dataset.rank);
    card(letter).querySelector(".rank-badge").textContent = rank ? `Rank ${rank}` : "";
    card(letter).classList.toggle("ranked", rank > 0);
    const place = rank ? `rank ${rank}` : "unranked";
    chip(letter).setAttribute("aria-label", `Output ${letter}, ${place}: ${summaries[letter]}`);
    if (rank) ranked += 1;
  }
  document.getElementById("ranked-count").textContent = `${ranked} of ${letters.length} ranked`;
  for (const list of document.querySelectorAll(".flags")) {
    list.querySelector(".flag-count").textContent = flagCount(list);
  }
}

// Flag checklists (each output's, and the prompt's). Where the project asks Yes/No
// each flag is a pair of radios in a fieldset naming the flag; otherwise a checkbox.
const promptFlags = document.getElementById("prompt-flags");
if (promptFlags) promptFlags.addEventListener("change", refreshBadges);

// A checklist's answers: keys ticked (or answered Yes), and keys answered No.
function flagAnswers(list) {
  if (!list) return { yes: [], no: [] };
  if (!config.yesNo) {
    return { yes: [...list.querySelectorAll("input:checked")].map((i) => i.value), no: [] };
  }
  const answered = (value) => [...list.querySelectorAll(`input[value="${value}"]:checked`)]
    .map((input) => input.closest("fieldset").dataset.flag);
  return { yes: answered("yes"), no: answered("no") };
}

function setFlagAnswers(list, yes = [], no = []) {
  if (!list) return;
  for (const input of list.querySelectorAll("input")) {
    const key = config.yesNo ? input.closest("fieldset").dataset.flag : input.value;
    const answer = yes.includes(key) ? "yes" : no.includes(key) ? "no" : null;
    input.checked = config.yesNo ? input.value === answer : answer === "yes";
  }
}

// The labels of the flags still without a Yes or No (none where flags are ticked).
function unansweredFlags(list) {
  if (!config.yesNo || !list) return [];
  return [...list.querySelectorAll("fieldset.yes-no")]
    .filter((flag) => !flag.querySelector("input:checked"))
    .map((flag) => flag.querySelector("legend").textContent.trim());
}

function flagCount(list) {
  const { yes, no } = flagAnswers(list);
  if (!config.yesNo) return yes.length ? `(${yes.length})` : "";
  const total = list.querySelectorAll("fieldset.yes-no").length;
  return `(${yes.length + no.length} of ${total} answered${yes.length ? `, ${yes.length} yes` : ""})`;
}

// The selected output is the one keys rate and rank, and the one a tap on a rank places.
function showSelection() {
  for (const l of letters) {
    card(l).classList.toggle("selected", l === selectedLetter);
    chip(l).classList.toggle("selected", l === selectedLetter);
    chip(l).setAttribute("aria-pressed", String(l === selectedLetter));
  }
  root.classList.toggle("placing", selectedLetter !== null);
  for (const b of document.querySelectorAll(".bucket-title")) {
    b.setAttribute("aria-disabled", String(selectedLetter === null));
  }
  document.getElementById("rank-hint").textContent = selectedLetter
    ? `Output ${selectedLetter} selected: tap a rank to place it, or tap it again to let go.`
    : "Drag each output into a rank, or tap an output, then a rank.";
}

function select(letter) {
  selectedLetter = letter;
  showSelection();
  chip(letter).focus({ preventScroll: true });
  card(letter).scrollIntoView({ block: "nearest", behavior: "smooth" });
}

function deselect() {
  selectedLetter = null;
  showSelection();
}

// Mouse: native HTML5 drag and drop.
for (const c of document.querySelectorAll(".chip")) {
  c.addEventListener("dragstart", (event) => {
    event.dataTransfer.setData("text/plain", c.dataset.letter);
    event.dataTransfer.effectAllowed = "move";
    c.classList.add("dragging");
  });
  c.addEventListener("dragend", () => c.classList.remove("dragging"));
  // Tap (or click) a chip to pick it up, again to let go: a single-pointer way to rank.
  c.addEventListener("click", () => {
    if (selectedLetter === c.dataset.letter) deselect();
    else select(c.dataset.letter);
  });
}
for (const target of document.querySelectorAll(".bucket-target")) {
  // ...then tap a rank to place it there.
  target.addEventListener("click", (event) => {
    if (!selectedLetter || event.target.closest(".chip")) return;
    placeChip(chip(selectedLetter), target);
    deselect();
  });
  target.addEventListener("dragover", (event) => {
    event.preventDefault();
    target.classList.add("over");
  });
  target.addEventListener("dragleave", () => target.classList.remove("over"));
  target.addEventListener("drop", (event) => {
    event.preventDefault();
    target.classList.remove("over");
    const letter = event.dataTransfer.getData("text/plain");
    if (letters.includes(letter)) placeChip(chip(letter), target);
  });
}

// Touch: HTML5 drag and drop does not fire on touch screens, so follow the finger.
for (const c of document.querySelectorAll(".chip")) {
  c.addEventListener("touchstart", () => {
    c.classList.add("dragging");
    // Lifted out of its rank, the chip keeps its width (as fixed, 100% is the screen's).
    c.style.width = `${c.offsetWidth}px`;
  }, { passive: true });
  c.addEventListener("touchmove", (event) => {
    event.preventDefault();
    const touch = event.touches[0];
    c.style.position = "fixed";
    c.style.left = `${touch.clientX - 20}px`;
    c.style.top = `${touch.clientY - 20}px`;
  }, { passive: false });
  c.addEventListener("touchend", (event) => {
    const touch = event.changedTouches[0];
    c.style.position = c.style.left = c.style.top = c.style.width = "";
    c.classList.remove("dragging");
    const under = document.elementFromPoint(touch.clientX, touch.clientY);
    placeChip(c, under && under.closest(".bucket-target"));
  });
}

// Long outputs start clipped, with a toggle.
for (const c of document.querySelectorAll(".output")) {
  const text = c.querySelector(".output-text");
  const toggle = c.querySelector(".expand");
  if (text.scrollHeight > text.clientHeight + 4) toggle.hidden = false;
  else text.classList.remove("collapsed");
  toggle.addEventListener("click", () => {
    const expanded = text.classList.toggle("collapsed") === false;
    toggle.textContent = expanded ? "Show less" : "Show all";
    toggle.setAttribute("aria-expanded", String(expanded));
  });
  c.addEventListener("click", (event) => {
    if (!event.target.closest("input, label, summary, button")) select(c.dataset.letter);
  });
  c.addEventListener("change", refreshBadges);
}

function collect() {
  const ranking = [...document.querySelectorAll(".bucket")].map((b) =>
    [...b.querySelectorAll(".chip")].map((c) => Number(c.dataset.candidate)));
  while (ranking.length && ranking[ranking.length - 1].length === 0) ranking.pop();
  const likert = {};
  const flags = {};
  const flagsNo = {};
  for (const c of document.querySelectorAll(".output")) {
    const id = c.dataset.candidate;
    const rating = c.querySelector(".likert input:checked");
    if (rating) likert[id] = Number(rating.value);
    const { yes, no } = flagAnswers(c.querySelector(".flags"));
    flags[id] = yes;
    if (no.length) flagsNo[id] = no;
  }
  const prompt = flagAnswers(promptFlags);
  return {
    ranking, likert, flags, flags_no: flagsNo, prompt_flags: prompt.yes, prompt_flags_no: prompt.no,
  };
}

function missingWork({ likert }) {
  const unranked = [...tray.querySelectorAll(".chip")].map((c) => c.dataset.letter);
  const unrated = letters.filter((l) => !(card(l).dataset.candidate in likert));
  const problems = [];
  if (unranked.length) problems.push(`Rank every output: ${unranked.join(", ")} not ranked yet.`);
  if (unrated.length) problems.push(`Rate every output: ${unrated.join(", ")} not rated yet.`);
  const checklists = [["Prompt", promptFlags],
    ...letters.map((l) => [`Output ${l}`, card(l).querySelector(".flags")])];
  for (const [where, list] of checklists) {
    const labels = unansweredFlags(list);
    if (labels.length) problems.push(`${where}: answer Yes or No for ${labels.map((l) => `'${l}'`).join(", ")}.`);
  }
  return problems;
}

function show(kind, lines, action, { scroll = true } = {}) {
  feedback.className = `feedback ${kind}`;
  feedback.replaceChildren(...lines.map((line) => {
    const p = document.createElement("p");
    p.textContent = line;
    return p;
  }));
  if (action) feedback.appendChild(action);
  // On a phone the answer is below the outputs; bring it into view.
  if (scroll) feedback.scrollIntoView({ block: "nearest", behavior: "smooth" });
}

// The ranking-vs-rating warning. The server checks a submit and answers 409 with the
// pairs ranked above but rated lower (annotate/ranking.py, ranking_conflicts); from
// then on each change checks the same rule here, so the warning follows the page and
// goes once the ranking and ratings agree. "Submit anyway" confirms only the ranking
// and ratings the server checked: after a change, it sends them to be checked again.
let warnedFor = null;
let warnedLines = [];
const ratedOrder = ({ ranking, likert }) => JSON.stringify([ranking, likert]);

function conflictLines({ ranking, likert }) {
  const letterOf = Object.fromEntries(letters.map((l) => [chip(l).dataset.candidate, l]));
  const rankOf = {};
  ranking.forEach((bucket, i) => { for (const id of bucket) rankOf[id] = i + 1; });
  const ranked = Object.keys(rankOf).filter((id) => id in likert)
    .sort((x, y) => rankOf[x] - rankOf[y]);
  const lines = [];
  for (const better of ranked) {
    for (const worse of ranked) {
      if (rankOf[better] < rankOf[worse] && likert[better] < likert[worse]) {
        lines.push(`${letterOf[better]} is ranked above ${letterOf[worse]} but rated lower (${likert[better]} < ${likert[worse]}).`);
      }
    }
  }
  return lines;
}

function showConflicts(lines, { scroll = true } = {}) {
  warnedLines = lines;
  const again = document.createElement("button");
  again.type = "button";
  again.id = "submit-anyway";
  again.textContent = "Submit anyway";
  again.addEventListener("click", () => submit(ratedOrder(collect()) === warnedFor));
  show("warning", ["Your ranking contradicts your ratings:", ...lines,
    "Fix the ranking or ratings, or submit anyway."], again, { scroll });
}

function recheckConflicts() {
  if (warnedFor === null) return;
  const lines = conflictLines(collect());
  if (lines.join() === warnedLines.join()) return;
  if (lines.length) return showConflicts(lines, { scroll: false });
  warnedFor = null;
  warnedLines = [];
  feedback.className = "feedback";
  feedback.replaceChildren();
}

// Only the JSON answer counts. A redirect lands on the login page (HTML, status 200), and
// a 403 page is the CSRF check refusing a token that went with the session: both mean the
// session ended, so they read as 401. Any other HTML answer carries no data.
async function post(url, body) {
  const csrf = document.cookie.match(/csrftoken=([^;]+)/);
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf ? csrf[1] : "" },
    body: JSON.stringify(body),
    credentials: "same-origin",
  });
  const isJson = (response.headers.get("Content-Type") || "").startsWith("application/json");
  if (response.redirected || (response.status === 403 && !isJson)) return { status: 401, data: null };
  if (!isJson) return { status: response.status || 500, data: null };
  return { status: response.status, data: await response.json() };
}

// Shows why nothing was stored; the page keeps everything entered so the same button works again.
function showNotSaved(status, data, button) {
  if (status === 401) {
    const login = document.createElement("a");
    login.href = root.dataset.loginUrl;
    login.target = "_blank";
    login.rel = "noopener";
    login.id = "login-again";
    login.textContent = "Open the login page in a new tab";
    return show("error", [`Your session has ended, so this was not saved. Log in again in a new tab (your work stays here), then press ${button} again.`], login);
  }
  if (!data) {
    return show("error", [`The server answered with an error (status ${status}), so this was not saved. Your work stays here; press ${button} again, and tell your lead if it keeps happening.`]);
  }
  show("error", Object.entries(data.errors || {}).map(([k, v]) => `${k}: ${v}`));
}

function showUnreachable(error, button) {
  show("error", [`Could not reach the server (${error.message}), so this was not saved. Your work stays here; press ${button} again.`]);
}

function leave(next) {
  leaving = true;
  clearTimeout(draftTimer);
  sessionStorage.removeItem(clientIdKey);
  window.location.assign(next);
}

let busy = false;
async function submit(confirmConflicts = false) {
  if (busy) return;
  const judgement = collect();
  const problems = missingWork(judgement);
  if (problems.length) return show("error", problems);
  busy = true;
  try {
    const { status, data } = await post(config.submitUrl, {
      client_id: clientId,
      ...judgement,
      notes: document.getElementById("notes").value,
      time_spent_ms: Math.round(performance.now() - startedAt),
      confirm_conflicts: confirmConflicts,
    });
    if (status === 409) {
      warnedFor = ratedOrder(judgement);
      showConflicts(data.warnings);
    } else if (status >= 400 || !data) {
      showNotSaved(status, data, "Submit");
    } else {
      show("success", [`Saved, with ${data.comparisons} comparisons. Loading the next task…`]);
      leave(data.next);
    }
  } catch (error) {
    showUnreachable(error, "Submit");
  } finally {
    busy = false;
  }
}

const skipForm = document.getElementById("skip-form");
const skipChoice = document.getElementById("skip-reason-choice");
const skipDetails = document.getElementById("skip-reason");
function openSkip() {
  skipForm.hidden = false;
  skipChoice.focus();
}
// The reason's error sits in the skip form, under the fields it is about, and is
// their description; it goes as soon as the annotator changes either field.
function showSkipError(message, field) {
  const error = document.getElementById("skip-error");
  error.textContent = message;
  error.hidden = !message;
  for (const input of [skipChoice, skipDetails]) {
    if (message && input === field) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  }
  if (field) field.focus();
}
skipForm.addEventListener("input", () => showSkipError(""));
skipForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const choice = skipChoice.value;
  const details = skipDetails.value.trim();
  const reason = [choice === "Other" ? "" : choice, details].filter(Boolean).join(": ");
  if (!reason && choice === "Other") return showSkipError("Write your reason in Details.", skipDetails);
  if (!reason) return showSkipError("Choose a reason, or write one in Details.", skipChoice);
  try {
    const { status, data } = await post(config.skipUrl, {
      client_id: clientId, reason, time_spent_ms: Math.round(performance.now() - startedAt),
    });
    if (status === 400 && data && data.errors && data.errors.reason) {
      return showSkipError(String(data.errors.reason), skipDetails);
    }
    if (status >= 400 || !data) return showNotSaved(status, data, "Skip task");
    leave(data.next);
  } catch (error) {
    showUnreachable(error, "Skip task");
  }
});
document.getElementById("skip-open").addEventListener("click", openSkip);
document.getElementById("submit").addEventListener("click", () => submit());
document.getElementById("panel-submit").addEventListener("click", () => submit());

// On a phone the rank panel sits over the bottom of the screen; it folds to one line.
const rankToggle = document.getElementById("rank-toggle");
rankToggle.addEventListener("click", () => {
  const open = rankToggle.getAttribute("aria-expanded") !== "true";
  rankToggle.setAttribute("aria-expanded", String(open));
  rankToggle.textContent = open ? "Hide" : "Show";
  document.getElementById("rank-body").classList.toggle("folded", !open);
});
// The page leaves room below for the panel, however tall it is now.
const rankPanel = document.getElementById("rank-panel");
new ResizeObserver(() => {
  document.documentElement.style.setProperty("--rank-panel-height", `${rankPanel.offsetHeight}px`);
}).observe(rankPanel);
// On a desktop the side column fits the screen under what shows of the top bar,
// Submit included.
const topbar = document.querySelector(".topbar");
let topbarFrame = 0;
function fitSideColumn() {
  topbarFrame = 0;
  const shown = Math.max(0, topbar.getBoundingClientRect().bottom);
  document.documentElement.style.setProperty("--topbar-height", `${shown}px`);
}
new ResizeObserver(fitSideColumn).observe(topbar);
window.addEventListener("scroll", () => {
  topbarFrame ||= requestAnimationFrame(fitSideColumn);
}, { passive: true });

function setLikert(letter, value) {
  const input = card(letter).querySelector(`.likert input[value="${value}"]`);
  if (input) {
    input.checked = true;
    changed();
  }
}

// Drafts: a second after the last change the page's state goes to the server, one save
// at a time so they arrive in order. The revision the page last loaded or saved goes
// with it; when another tab or device saved since, the server refuses, and the
// annotator chooses which version to keep. A failed save keeps everything on the page.
const DRAFT_DELAY_MS = 1000;
const pageId = newClientId();
let draftRevision = config.draftRevision;
let draftTimer = null;
let draftSaving = false;
let draftBlocked = false;

function changed() {
  changes += 1;
  recheckConflicts();
  clearTimeout(draftTimer);
  draftTimer = setTimeout(saveDraft, DRAFT_DELAY_MS);
}
for (const type of ["input", "change"]) {
  document.addEventListener(type, (event) => {
    if (!event.target.closest("#skip-form")) changed();
  });
}

function setDraftStatus(text, { problem = false, actions = [] } = {}) {
  // Routine saves stay quiet for screen readers; a save that failed is announced.
  draftStatus.setAttribute("aria-live", problem ? "polite" : "off");
  draftStatus.classList.toggle("problem", problem);
  draftStatus.replaceChildren(text, ...actions);
}

function draftButton(label, onClick) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "linklike";
  button.textContent = label;
  button.addEventListener("click", onClick);
  return button;
}

function showDraftConflict(revision) {
  draftBlocked = true;
  setDraftStatus("A newer draft of this task was saved in another tab or device. ", {
    problem: true,
    actions: [
      draftButton("Load that draft", () => { leaving = true; window.location.reload(); }),
      " or ",
      draftButton("keep this page's version", () => {
        draftBlocked = false;
        draftRevision = revision;
        saveDraft();
      }),
      ".",
    ],
  });
}

function showDraftFailure(status, data) {
  if (status === 409 && data && "revision" in data) return showDraftConflict(data.revision);
  if (status === 401) {
    return setDraftStatus("Your session has ended, so the draft is not saved; your work stays on this page. Log in again in a new tab, and it is saved when you come back here.", { problem: true });
  }
  const why = data ? Object.values(data.errors || {}).join(" ") : `status ${status}`;
  setDraftStatus(`The draft could not be saved (${why}); your work stays on this page.`, { problem: true });
}

async function saveDraft() {
  if (leaving || draftBlocked || draftSaving || changes === savedChanges) return;
  draftSaving = true;
  const upTo = changes;
  let reply = null;
  try {
    reply = await post(config.draftUrl, {
      page: pageId, revision: draftRevision, ...collect(), notes: notes.value,
    });
  } catch (error) {
    setDraftStatus(`Could not reach the server to save the draft (${error.message}); your work stays on this page and is saved with your next change.`, { problem: true });
  } finally {
    draftSaving = false;
  }
  if (!reply) return;
  if (reply.status !== 200 || !reply.data) return showDraftFailure(reply.status, reply.data);
  draftRevision = reply.data.revision;
  savedChanges = upTo;
  const at = new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  setDraftStatus(`Draft saved at ${at}.`);
  // Changes made while that save was on its way.
  if (changes > savedChanges) saveDraft();
}
// Back from logging in again in another tab: save what the ended session could not.
window.addEventListener("focus", saveDraft);

function restoreDraft(draft) {
  const byId = Object.fromEntries(letters.map((l) => [chip(l).dataset.candidate, l]));
  draft.ranking.forEach((bucket, i) => {
    const slot = document.querySelector(`#bucket-${i + 1} .chips`);
    for (const id of bucket) if (slot && byId[id]) slot.appendChild(chip(byId[id]));
  });
  for (const [id, value] of Object.entries(draft.likert)) {
    const input = document.querySelector(`.output[data-candidate="${id}"] .likert input[value="${value}"]`);
    if (input) input.checked = true;
  }
  // Drafts saved before Yes/No answers and prompt flags existed hold neither.
  const flagsNo = draft.flags_no || {};
  for (const c of document.querySelectorAll(".output")) {
    const id = c.dataset.candidate;
    setFlagAnswers(c.querySelector(".flags"), draft.flags[id], flagsNo[id]);
  }
  setFlagAnswers(promptFlags, draft.prompt_flags, draft.prompt_flags_no);
  notes.value = draft.notes;
  setDraftStatus("Your draft was restored.");
}

document.addEventListener("keydown", (event) => {
  if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
    event.preventDefault();
    return submit();
  }
  const typing = event.target.closest("textarea, input[type=text], select");
  if (typing) {
    if (event.key === "Escape") event.target.blur();
    return;
  }
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const digit = /^Digit(\d)$/.exec(event.code);
  const key = event.key.toLowerCase();
  if (digit && event.shiftKey && selectedLetter) {
    setLikert(selectedLetter, Number(digit[1]));
  } else if (digit && selectedLetter) {
    const rank = Number(digit[1]);
    const target = rank === 0 ? document.getElementById("unranked") : document.getElementById(`bucket-${rank}`);
    if (target) placeChip(chip(selectedLetter), target);
  } else if (key.length === 1 && letters.includes(key.toUpperCase())) {
    select(key.toUpperCase());
  } else if (key === "n") {
    notes.focus();
  } else if (key === "x" && selectedLetter && card(selectedLetter).querySelector(".flags input")) {
    const flags = card(selectedLetter).querySelector(".flags");
    flags.open = true;
    flags.querySelector("input").focus();
  } else if (key === "p" && promptFlags && promptFlags.querySelector("input")) {
    promptFlags.open = true;
    promptFlags.querySelector("input").focus();
  } else if (key === "s") {
    openSkip();
  } else if (event.key === "Escape" && selectedLetter) {
    deselect();
  } else if (event.key === "?") {
    const help = document.getElementById("shortcuts");
    help.open = !help.open;
    if (help.open) help.scrollIntoView({ block: "nearest" });
  } else {
    return;
  }
  event.preventDefault();
  refreshBadges();
});

if (config.draft) restoreDraft(config.draft);
refreshBadges();
showSelection();

// Back or Forward may restore this page from the browser's memory as it was left,
// though it has since been submitted or skipped here or in another tab; the server's
// page (the task with its saved draft, or "already submitted") is the current one.
// Leaving it was confirmed already, so the reload asks nothing.
window.addEventListener("pageshow", (event) => {
  if (!event.persisted) return;
  leaving = true;
  window.location.reload();
});
