// Push-to-talk page: microphone -> 16 kHz int16 over GET /v1/stream, typed questions via POST /v1/ask.
// Everything is served by the skill itself: no CDN, no external fonts.
// window.b12 exposes the page's state for people debugging and for the browser tests.

const $ = (id) => document.getElementById(id);
const ui = {
  talk: $("talk"), talkLabel: $("talk-label"), state: $("state"), level: $("level"),
  transcript: $("transcript"), form: $("ask-form"), question: $("question"),
  box: $("answer-box"), text: $("answer-text"), reminder: $("reminder"), facts: $("facts"),
  player: $("player"), error: $("error"),
};
const b12 = (window.b12 = {
  state: "idle", session: sessionId(), answers: [], maxLevel: 0, audioPlaying: 0, audioEnded: 0,
  token: sessionStorage.getItem("b12-token") || "", checked: false,
});

function sessionId() {
  // One session per tab, so follow-ups ("tell me more") work for both spoken and typed questions.
  let id = sessionStorage.getItem("b12-session");
  if (!id) {
    const bytes = crypto.getRandomValues(new Uint8Array(8));
    id = "web-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    sessionStorage.setItem("b12-session", id);
  }
  return id;
}

// --- the access token (when the server asks for one) --------------------------------------------
// Asked once and kept for this tab only; sent as a header on every request, and on the WebSocket as a
// subprotocol (browsers cannot set its headers), never in a URL.

function withToken(headers = {}) {
  return b12.token ? { ...headers, Authorization: `Bearer ${b12.token}` } : headers;
}

function askForToken() {
  const given = window.prompt("This assistant needs its access token:");
  if (!given || !given.trim()) return false;
  b12.token = given.trim();
  sessionStorage.setItem("b12-token", b12.token);
  if (socket) { socket.close(); socket = null; }
  return true;
}

async function authorized(url, init = {}) {
  let res = await fetch(url, { ...init, headers: withToken(init.headers) });
  if (res.status === 401 && askForToken()) res = await fetch(url, { ...init, headers: withToken(init.headers) });
  return res;
}

async function checkAccess() {
  // Before the first WebSocket: its refusal cannot be read by the page, a fetch's can.
  if (b12.checked) return;
  const res = await authorized("/openapi.json");
  if (res.status === 401) throw new Error("the access token was not accepted");
  b12.checked = true;
}

function tokenProtocols() {
  if (!b12.token) return undefined;
  const b64 = btoa(String.fromCharCode(...new TextEncoder().encode(b12.token)));
  return ["b12", "b12-token." + b64.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")];
}

function setState(state) {
  b12.state = state;
  ui.state.textContent = state;
  ui.state.dataset.state = state;
}

function showError(message) {
  ui.error.textContent = message;
  ui.error.hidden = !message;
}

// --- the answer -------------------------------------------------------------------------------

function showAnswer(answer) {
  b12.answers.push(answer);
  // Every answer ends with the consult-a-doctor reminder: show it apart, so it is not missed.
  const sentences = answer.text.match(/[^.!?]+[.!?]+(\s|$)/g) || [answer.text];
  const reminder = sentences.length > 1 ? sentences.pop().trim() : "";
  ui.text.textContent = sentences.join("").trim();
  ui.reminder.textContent = reminder;
  ui.reminder.hidden = !reminder;
  ui.facts.replaceChildren(...answer.facts.map((id) => {
    const li = document.createElement("li");
    const code = document.createElement("code");
    code.textContent = id;
    li.append(code);
    return li;
  }));
  $("facts-box").hidden = answer.facts.length === 0;
  ui.box.classList.toggle("emergency", Boolean(answer.emergency));
  ui.box.hidden = false;
  if (answer.transcript != null) showTranscript(answer.transcript || "(nothing recognized)", true);
}

function showTranscript(text, final) {
  ui.transcript.textContent = text;
  ui.transcript.classList.toggle("muted", !final);
}

function playUrl(url) {
  ui.player.src = url;
  ui.player.play().catch((err) => { setState("idle"); showError(`Could not play the answer: ${err.message}`); });
}

ui.player.addEventListener("playing", () => { b12.audioPlaying += 1; setState("speaking"); });
ui.player.addEventListener("ended", () => { b12.audioEnded += 1; setState("idle"); });
ui.player.addEventListener("pause", () => { if (b12.state === "speaking") setState("idle"); });

function wavUrl(chunks, rate) {
  // The stream sends raw int16 PCM between audio-start and audio-end: wrap it in a WAV header.
  const size = chunks.reduce((n, c) => n + c.byteLength, 0);
  const buf = new ArrayBuffer(44 + size);
  const v = new DataView(buf);
  const str = (o, s) => [...s].forEach((ch, i) => v.setUint8(o + i, ch.charCodeAt(0)));
  str(0, "RIFF"); v.setUint32(4, 36 + size, true); str(8, "WAVE"); str(12, "fmt ");
  v.setUint32(16, 16, true); v.setUint16(20, 1, true); v.setUint16(22, 1, true);
  v.setUint32(24, rate, true); v.setUint32(28, rate * 2, true); v.setUint16(32, 2, true);
  v.setUint16(34, 16, true); str(36, "data"); v.setUint32(40, size, true);
  let o = 44;
  for (const c of chunks) { new Uint8Array(buf, o, c.byteLength).set(new Uint8Array(c)); o += c.byteLength; }
  if (ui.player.src.startsWith("blob:")) URL.revokeObjectURL(ui.player.src);
  return URL.createObjectURL(new Blob([buf], { type: "audio/wav" }));
}

// --- the WebSocket ------------------------------------------------------------------------------

let socket = null;
let audioIn = null; // {rate, chunks} while an answer's audio arrives

function connect() {
  if (socket && socket.readyState <= WebSocket.OPEN) return socket;
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const url = `${scheme}//${location.host}/v1/stream?session=${encodeURIComponent(b12.session)}`;
  socket = new WebSocket(url, tokenProtocols());
  socket.binaryType = "arraybuffer";
  socket.addEventListener("message", (ev) => {
    if (typeof ev.data !== "string") { if (audioIn) audioIn.chunks.push(ev.data); return; }
    const msg = JSON.parse(ev.data);
    if (msg.type === "partial") showTranscript(msg.text, false);
    else if (msg.type === "transcript") showTranscript(msg.text || "(nothing recognized)", true);
    else if (msg.type === "answer") { showError(""); showAnswer(msg); }
    else if (msg.type === "audio-start") audioIn = { rate: msg.rate, chunks: [] };
    else if (msg.type === "audio-end" && audioIn) { playUrl(wavUrl(audioIn.chunks, audioIn.rate)); audioIn = null; }
    else if (msg.type === "error") { setState("idle"); showError(msg.message); }
  });
  socket.addEventListener("close", () => { if (b12.state === "thinking") setState("idle"); });
  return socket;
}

function whenOpen(ws) {
  if (ws.readyState === WebSocket.OPEN) return Promise.resolve(ws);
  return new Promise((resolve, reject) => {
    ws.addEventListener("open", () => resolve(ws), { once: true });
    ws.addEventListener("error", () => reject(new Error("cannot reach the assistant")), { once: true });
  });
}

// --- push to talk -------------------------------------------------------------------------------

let mic = null; // {ctx, node} once the microphone is open
let talking = false;

async function openMic() {
  if (mic) return mic;
  const stream = await navigator.mediaDevices.getUserMedia({
    // The recognizer wants the voice as it is: browser processing alters it.
    audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
  });
  const ctx = new AudioContext();
  await ctx.audioWorklet.addModule("/static/capture-worklet.js");
  const node = new AudioWorkletNode(ctx, "pcm-capture");
  ctx.createMediaStreamSource(stream).connect(node);
  node.port.onmessage = ({ data }) => {
    ui.level.value = data.peak;
    b12.maxLevel = Math.max(b12.maxLevel, data.peak);
    if (talking && socket && socket.readyState === WebSocket.OPEN) socket.send(data.pcm);
  };
  mic = { ctx, node };
  return mic;
}

async function startTalking() {
  if (talking) return;
  talking = true;
  ui.player.pause(); // talking over the answer stops it
  ui.talk.setAttribute("aria-pressed", "true");
  ui.talkLabel.textContent = "Listening... let go when done";
  showError("");
  showTranscript("...", false);
  setState("listening");
  try {
    await checkAccess();
    const ws = await whenOpen(connect());
    await openMic();
    await mic.ctx.resume();
    if (talking) ws.send(JSON.stringify({ type: "start", rate: 16000, width: 2, channels: 1 }));
  } catch (err) {
    talking = false;
    resetTalk();
    setState("idle");
    showError(err.name === "NotAllowedError" ? "Microphone access was refused." : `Cannot listen: ${err.message}`);
  }
}

function stopTalking() {
  if (!talking) return;
  talking = false;
  resetTalk();
  if (socket && socket.readyState === WebSocket.OPEN) {
    socket.send(JSON.stringify({ type: "end" }));
    setState("thinking");
  } else setState("idle");
}

function resetTalk() {
  ui.talk.setAttribute("aria-pressed", "false");
  ui.talkLabel.textContent = "Hold to talk";
}

ui.talk.setAttribute("aria-pressed", "false");
ui.talk.addEventListener("pointerdown", (e) => { ui.talk.setPointerCapture(e.pointerId); startTalking(); });
ui.talk.addEventListener("pointerup", stopTalking);
ui.talk.addEventListener("pointercancel", stopTalking);
const typing = (e) => e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement;
document.addEventListener("keydown", (e) => {
  if (e.code !== "Space" || typing(e)) return;
  e.preventDefault(); // no page scroll, no button click
  if (!e.repeat) startTalking();
});
document.addEventListener("keyup", (e) => {
  if (e.code !== "Space" || typing(e)) return;
  e.preventDefault();
  stopTalking();
});

// --- typed questions ----------------------------------------------------------------------------

ui.form.addEventListener("submit", async (e) => {
  e.preventDefault();
  const text = ui.question.value.trim();
  if (!text) return;
  setState("thinking");
  showError("");
  try {
    const res = await authorized("/v1/ask", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ text, session: b12.session }),
    });
    const body = await res.json();
    if (!res.ok) throw new Error(body.message || `error ${res.status}`);
    showAnswer(body);
    showTranscript(text, true);
    const speech = await authorized(`/v1/speech?text=${encodeURIComponent(body.text)}`);
    if (!speech.ok) throw new Error(`the spoken answer failed (${speech.status})`);
    if (ui.player.src.startsWith("blob:")) URL.revokeObjectURL(ui.player.src);
    playUrl(URL.createObjectURL(await speech.blob()));
  } catch (err) {
    setState("idle");
    showError(`No answer: ${err.message}`);
  }
});

setState("idle");
