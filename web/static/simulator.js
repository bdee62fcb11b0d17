// The phone simulator: texts go to /sim/sms, the thread comes from /sim/inbox,
// USSD screens from /ussd (Africa's Talking convention). No build step.
"use strict";

const SHORTCODE = document.querySelector(".phone").dataset.shortcode;
const thread = document.getElementById("thread");
const ussd = { session: null, inputs: [] };
let shown = "";

function currentNumber() {
  const who = document.querySelector("input[name=who]:checked").value;
  const field = who === "officer" ? "officer-number" : "citizen-number";
  return document.getElementById(field).value.trim();
}

function render(messages) {
  const key = JSON.stringify(messages.map((m) => m.id));
  if (key === shown) return;
  shown = key;
  thread.replaceChildren(...messages.map((m) => {
    const item = document.createElement("li");
    item.className = m.direction;
    item.dataset.id = m.id;
    item.textContent = m.text;
    return item;
  }));
  thread.scrollTop = thread.scrollHeight;
}

async function refresh() {
  const number = currentNumber();
  document.getElementById("current-number").textContent = number;
  if (!number) return render([]);
  try {
    const resp = await fetch("/sim/inbox?number=" + encodeURIComponent(number));
    if (resp.ok) render(await resp.json());
  } catch (err) {
    console.warn("inbox unavailable", err);
  }
}

async function sendSms(event) {
  event.preventDefault();
  const box = document.getElementById("sms-text");
  const text = box.value;
  if (!text.trim()) return;
  const resp = await fetch("/sim/sms", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ from: currentNumber(), text }),
  });
  if (resp.ok) box.value = "";
  await refresh();
}

function showUssd(text, finished) {
  document.getElementById("ussd").hidden = false;
  thread.hidden = true;
  document.getElementById("ussd-screen").textContent = text;
  document.getElementById("ussd-input").hidden = finished;
  document.getElementById("ussd-send").hidden = finished;
  if (!finished) document.getElementById("ussd-input").focus();
}

function closeUssd() {
  ussd.session = null;
  document.getElementById("ussd").hidden = true;
  thread.hidden = false;
}

async function ussdStep() {
  const body = new URLSearchParams({
    sessionId: ussd.session,
    serviceCode: "*" + SHORTCODE + "#",
    phoneNumber: currentNumber(),
    text: ussd.inputs.join("*"),
  });
  let resp;
  try {
    resp = await fetch("/ussd", { method: "POST", body });
  } catch (err) {
    return showUssd("Jaringan tidak tersedia.", true);
  }
  if (!resp.ok) return showUssd("USSD tidak tersedia (" + resp.status + ").", true);
  const reply = await resp.text();
  const finished = !reply.startsWith("CON ");
  showUssd(reply.replace(/^(CON|END) /, ""), finished);
  if (finished) ussd.session = null;
}

function dial() {
  ussd.session = "sim-" + Date.now() + "-" + Math.random().toString(36).slice(2, 8);
  ussd.inputs = [];
  ussdStep();
}

function answerUssd(event) {
  event.preventDefault();
  const input = document.getElementById("ussd-input");
  if (!ussd.session) return;
  ussd.inputs.push(input.value.trim());
  input.value = "";
  ussdStep();
}

document.getElementById("sms-form").addEventListener("submit", sendSms);
document.getElementById("dial").addEventListener("click", dial);
document.getElementById("ussd-form").addEventListener("submit", answerUssd);
document.getElementById("ussd-close").addEventListener("click", closeUssd);
// The chosen number survives a reload (new officers appear only after one).
const citizenField = document.getElementById("citizen-number");
citizenField.value = localStorage.getItem("lapor-sim-number") || citizenField.value;
document.getElementById("identity").addEventListener("change", () => {
  localStorage.setItem("lapor-sim-number", citizenField.value.trim());
  shown = "";
  refresh();
});
refresh();
setInterval(refresh, 1000);
