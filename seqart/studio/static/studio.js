// seqart studio page: calls the JSON API and draws. Every musical decision is made in
// Python; this file only builds the form from the fields a model declares, uploads an
// idea to continue, shows the takes (piano roll, playback, downloads, rating) and the history,
// and starts a tune on the ratings, following its progress as Server-Sent Events.
// Times are in beats (a quarter note = 1 beat), as the API sends them. An image model's
// pictures and walks are pictures.js's (it registers how such a model generates).
"use strict";

(() => {
  const PITCH_NAMES = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"];
  const BLACK_KEYS = new Set([1, 3, 6, 8, 10]);
  const state = { models: new Map(), cards: new Map(), playing: null, idea: null, job: null, tuned: null,
    historyNext: null };
  // note colours: a take's own notes (blue) and the notes of the idea it continues (amber)
  const HUES = { new: 216, primer: 32 };
  const byId = (id) => document.getElementById(id);
  const cardHooks = [];  // run on every card built (latent.js adds its controls so)
  const modelHooks = [];  // run with the model whenever the form is built for one (pictures.js shows its panel)
  const generators = new Map();  // what a model makes ("pictures") -> how to generate with it, if not takes

  // ------------------------------------------------------------------ helpers
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    Object.assign(node, props || {});
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  function showStatus(text, isError) {
    const status = byId("status");
    status.textContent = text;
    status.classList.toggle("error", Boolean(isError));
  }

  async function api(path, body, contentType) {
    const init = { credentials: "same-origin", headers: { Accept: "application/json" } };
    if (body !== undefined) {
      init.method = "POST";
      init.headers["Content-Type"] = contentType || "application/json";
      init.body = contentType ? body : JSON.stringify(body);
    }
    const response = await fetch(path, init);
    let data = null;
    try {
      data = await response.json();
    } catch (_) {
      data = null;
    }
    if (!response.ok) {
      throw new Error((data && data.error) || `${response.status} ${response.statusText}`);
    }
    return data;
  }

  function pitchName(pitch) {
    return PITCH_NAMES[pitch % 12] + String(Math.floor(pitch / 12) - 1);
  }

  function ratingText(rating) {
    if (rating === null || rating === undefined) return "unrated";
    if (typeof rating === "number") return "★".repeat(rating);
    return rating;
  }

  // ---------------------------------------------------------------- the form
  function fieldControl(field) {
    if (field.kind === "choice") {
      const select = el("select", { name: field.name });
      for (const choice of field.choices) {
        select.append(el("option", { value: choice, textContent: choice || "(model's choice)" }));
      }
      return select;
    }
    if (field.kind === "key") {
      const tonic = el("select", { name: `${field.name}-tonic`, title: "tonic" });
      for (const choice of field.choices) {
        tonic.append(el("option", { value: choice, textContent: choice || "(model's choice)" }));
      }
      const mode = el("select", { name: `${field.name}-mode`, title: "mode" });
      for (const choice of field.modes) mode.append(el("option", { value: choice, textContent: choice }));
      return el("span", { className: "pair" }, tonic, mode);
    }
    const input = el("input", { name: field.name, type: field.kind === "text" ? "text" : "number" });
    if (field.kind !== "text") {
      if (field.minimum !== null) input.min = String(field.minimum);
      if (field.maximum !== null) input.max = String(field.maximum);
      input.step = field.kind === "int" ? "1" : String(field.step || "any");
    }
    if (field.default !== null && field.default !== undefined) input.value = String(field.default);
    else input.placeholder = "(model's choice)";
    return input;
  }

  function buildForm(model) {
    const fields = byId("fields");
    fields.replaceChildren();
    byId("model-note").textContent = model.error ? `Cannot use this model: ${model.error}` : `${model.type} · ${model.where}`;
    byId("generate").disabled = Boolean(model.error);
    for (const field of model.options) {
      fields.append(el("label", { className: "field" },
        el("span", { className: "label", textContent: field.label }),
        fieldControl(field),
        field.help ? el("span", { className: "help", textContent: field.help }) : null));
    }
    showGenerateLabel(model);
    for (const hook of modelHooks) hook(model);
  }

  function showGenerateLabel(model) {
    let label = "Generate";
    if (model && model.makes === "pictures") label = "Draw pictures";
    else if (state.idea) label = "Continue my idea";
    byId("generate").textContent = label;
  }

  function readForm() {
    const form = byId("settings");
    const model = state.models.get(form.elements.model.value);
    const options = {};
    let num = 1;
    for (const field of model.options) {
      let value;
      if (field.kind === "key") {
        const tonic = form.elements[`${field.name}-tonic`].value;
        value = tonic ? `${tonic} ${form.elements[`${field.name}-mode`].value}` : null;
      } else {
        const raw = form.elements[field.name].value.trim();
        if (raw === "") value = null;
        else if (field.kind === "int" || field.kind === "float") value = Number(raw);
        else value = raw;
      }
      if (field.name === "num") num = value === null ? 1 : value;
      else if (value !== null) options[field.name] = value;
    }
    if (state.idea && model.makes !== "pictures") {
      options.primer = state.idea.id;
      const track = byId("idea-track").value;
      if (track && model.continues === "line") options.track = Number(track);
    }
    return { model: model.id, num, options };
  }

  function setField(form, field, value) {
    if (field.kind === "key") {
      const [tonic, mode] = value ? String(value).split(/\s+/) : ["", ""];
      form.elements[`${field.name}-tonic`].value = tonic || "";
      form.elements[`${field.name}-mode`].value = mode || "major";
      return;
    }
    const control = form.elements[field.name];
    const text = value === null || value === undefined ? "" : String(value);
    if (control.tagName === "SELECT" && ![...control.options].some((option) => option.value === text)) {
      control.append(el("option", { value: text, textContent: text }));  // a value the list did not offer
    }
    control.value = text;
  }

  // Puts a take's settings in the form; false when its model is not offered.
  function fillForm(take) {
    const model = state.models.get(take.model);
    if (!model) {
      showStatus(`The model of that take (${take.model_name}) is not offered any more.`, true);
      return false;
    }
    const form = byId("settings");
    form.elements.model.value = model.id;
    buildForm(model);
    const values = { ...take.settings, seed: take.seed, num: take.num };
    for (const field of model.options) setField(form, field, values[field.name]);
    showTuneModel();
    return true;
  }

  // ---------------------------------------------------------- the piano roll
  function beatAt(seconds, tempos) {
    let elapsed = 0;
    for (let i = 0; i < tempos.length; i += 1) {
      const [beat, bpm] = tempos[i];
      const next = i + 1 < tempos.length ? tempos[i + 1][0] : Infinity;
      const span = ((next - beat) * 60) / bpm;
      if (seconds < elapsed + span) return beat + ((seconds - elapsed) * bpm) / 60;
      elapsed += span;
    }
    return 0;
  }

  // take: a take or an idea as the API sends it; allPrimer: draw every note as the idea's
  function drawRoll(canvas, take, playhead, allPrimer) {
    const pitches = take.notes.map((n) => n[0]);
    const low = (pitches.length ? Math.min(...pitches) : 60) - 1;
    const high = (pitches.length ? Math.max(...pitches) : 72) + 1;
    const rows = high - low + 1;
    const rowHeight = Math.max(4, Math.min(12, 260 / rows));
    const gutter = 38;
    const header = take.primer ? 14 : 0;  // a strip above the notes for the "continues" mark
    const footer = 16;
    const bottom = header + rows * rowHeight;
    const width = canvas.clientWidth || 600;
    const height = Math.round(bottom + footer);
    const ratio = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
      canvas.style.height = `${height}px`;
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const perBeat = (width - gutter - 4) / Math.max(take.end_beat, 1);
    const x = (beat) => gutter + beat * perBeat;
    const y = (pitch) => header + (high - pitch) * rowHeight;

    ctx.font = "10px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    for (let pitch = low; pitch <= high; pitch += 1) {
      if (BLACK_KEYS.has(pitch % 12)) {
        ctx.fillStyle = "#eef1f6";
        ctx.fillRect(gutter, y(pitch), width - gutter, rowHeight);
      }
      const labelled = rowHeight >= 9 || pitch % 12 === 0 || (rowHeight >= 5 && pitch % 12 === 7);
      if (labelled) {
        ctx.fillStyle = "#5b6576";
        ctx.fillText(pitchName(pitch), 2, y(pitch) + rowHeight / 2);
      }
    }
    if (take.primer) {
      ctx.fillStyle = "rgba(224, 140, 40, 0.10)";
      ctx.fillRect(x(take.primer[0]), header, (take.primer[1] - take.primer[0]) * perBeat, bottom - header);
    }
    take.bar_starts.forEach((beat, index) => {
      ctx.fillStyle = "#c3cad6";
      ctx.fillRect(Math.round(x(beat)), header, 1, bottom - header);
      ctx.fillStyle = "#5b6576";
      ctx.fillText(String(index + 1), x(beat) + 2, bottom + footer / 2);
    });
    take.notes.forEach(([pitch, start, duration, velocity], index) => {
      const loud = Math.max(1, Math.min(127, velocity)) / 127;
      const fromPrimer = allPrimer || Boolean(take.from_primer && take.from_primer[index]);
      ctx.fillStyle = `hsl(${fromPrimer ? HUES.primer : HUES.new}, 75%, ${Math.round(74 - loud * 40)}%)`;
      ctx.fillRect(x(start) + 0.5, y(pitch) + 0.5, Math.max(duration * perBeat - 1, 1.5), rowHeight - 1);
    });
    if (take.primer) {  // where the continuation starts
      const at = Math.round(x(take.primer[1]));
      ctx.fillStyle = "#c8701e";
      ctx.fillRect(at, 0, 2, bottom);
      ctx.fillText("continues ▸", Math.min(at + 5, width - 64), header / 2);
    }
    if (playhead !== null && playhead !== undefined) {
      ctx.fillStyle = "#d6336c";
      ctx.fillRect(Math.round(x(playhead)), header, 2, bottom - header);
    }
  }

  // ----------------------------------------------------------------- playback
  function stopOthers(card) {
    if (state.playing && state.playing !== card) state.playing.audio.pause();
  }

  function animate(card) {
    if (state.playing !== card || card.audio.paused) return;
    drawRoll(card.canvas, card.take, beatAt(card.audio.currentTime, card.take.tempos));
    window.requestAnimationFrame(() => animate(card));
  }

  function togglePlay(card) {
    if (!card.audio.paused) {
      card.audio.pause();
      return;
    }
    stopOthers(card);
    if (!card.audio.src) {
      card.play.textContent = "Rendering…";
      card.audio.src = card.take.downloads.wav;
    }
    card.audio.play().catch((error) => showStatus(`Cannot play: ${error.message}`, true));
  }

  function wireAudio(card) {
    const { audio } = card;
    audio.addEventListener("playing", () => {
      state.playing = card;
      card.play.textContent = "Pause";
      animate(card);
    });
    audio.addEventListener("pause", () => {
      card.play.textContent = "Play";
    });
    audio.addEventListener("ended", () => {
      card.play.textContent = "Play";
      drawRoll(card.canvas, card.take, null);
    });
    audio.addEventListener("error", () => {
      card.play.textContent = "Play";
      showStatus("The audio of that take could not be rendered.", true);
    });
  }

  // ------------------------------------------------------------------ rating
  async function rate(card, rating) {
    try {
      const rated = await api(`/api/takes/${card.take.id}/rating`, { rating });
      card.take.rating = rated.rating;
      showRating(card);
      showStatus(`Rated ${ratingText(rated.rating)}; kept in ${card.take.model_name}'s feedback store.`);
      refreshHistory();
    } catch (error) {
      showStatus(error.message, true);
    }
  }

  // Lights a card's rating controls (its like, dislike and stars); a picture's tile has the same ones.
  function showRating(card, rating = card.take.rating) {
    card.like.classList.toggle("on", rating === "like");
    card.dislike.classList.toggle("on", rating === "dislike");
    card.stars.forEach((star, index) => {
      const lit = typeof rating === "number" && index < rating;
      star.textContent = lit ? "★" : "☆";
      star.classList.toggle("on", lit);
    });
  }

  // ------------------------------------------------------------------- cards
  function describe(take) {
    const parts = [take.key || "no key", take.meter, `${Math.round(take.tempo)} bpm`,
      `${take.bars} bar${take.bars === 1 ? "" : "s"}`];
    if (take.style) parts.unshift(take.style);
    if (take.seed !== undefined && take.seed !== null) parts.push(`seed ${take.seed}`);
    return parts.join(" · ");
  }

  function cardTitle(take) {
    const which = take.index ? `take ${take.index} of ${take.num}` : "a take";
    const title = `${take.model_name} · ${take.earlier ? "earlier " : ""}${which}`;
    return take.primer_name ? `${title} · continues ${take.primer_name}` : title;
  }

  function makeCard(take) {
    const card = { take };
    card.canvas = el("canvas", { className: "roll" });
    card.canvas.setAttribute("role", "img");
    card.canvas.setAttribute("aria-label", `piano roll of ${take.notes.length} notes`);
    card.audio = el("audio", { preload: "none" });
    card.play = el("button", { type: "button", textContent: "Play" });
    card.play.addEventListener("click", () => togglePlay(card));
    wireAudio(card);
    const downloads = el("span", { className: "downloads" });
    for (const [format, label] of [["mid", "MIDI"], ["musicxml", "MusicXML"], ["wav", "WAV"]]) {
      downloads.append(el("a", { href: take.downloads[format], download: "", textContent: label }));
    }
    card.like = el("button", { type: "button", className: "like", textContent: "Like" });
    card.like.addEventListener("click", () => rate(card, "like"));
    card.dislike = el("button", { type: "button", className: "dislike", textContent: "Dislike" });
    card.dislike.addEventListener("click", () => rate(card, "dislike"));
    card.stars = [1, 2, 3, 4, 5].map((stars) => {
      const star = el("button", { type: "button", className: "star", textContent: "☆", title: `${stars} of 5` });
      star.addEventListener("click", () => rate(card, stars));
      return star;
    });
    card.node = el("article", { className: "card" },
      el("div", { className: "card-head" },
        el("h3", { textContent: cardTitle(take) }),
        el("span", { className: "help", textContent: when(take) })),
      el("p", { className: "meta", textContent: describe(take) }),
      card.canvas,
      card.audio,
      el("div", { className: "actions" },
        card.play,
        downloads,
        el("span", { className: "rating" }, card.like, card.dislike, ...card.stars)));
    card.node.dataset.take = take.id;
    state.cards.set(take.id, card);
    showRating(card);
    for (const hook of cardHooks) hook(card);
    return card;
  }

  function addTakes(takes) {
    const list = byId("takes");
    const empty = byId("empty");
    empty.hidden = true;
    const cards = takes.map(makeCard);
    for (const card of [...cards].reverse()) list.insertBefore(card.node, empty.nextSibling);
    for (const card of cards) drawRoll(card.canvas, card.take, null);
  }

  // ------------------------------------------------------------- your idea
  function trackChoices(idea) {
    const select = byId("idea-track");
    select.replaceChildren(el("option", { value: "", textContent: "All tracks (top voice)" }));
    for (const track of idea.tracks) {
      if (!track.notice) continue;  // a drum track or an empty one: nothing to continue
      select.append(el("option", { value: String(track.number),
        textContent: `${track.number} · ${track.name} (${track.notes} notes)` }));
    }
    byId("idea-track-field").hidden = idea.tracks.length < 2;
  }

  function showNotice() {
    const { idea } = state;
    if (!idea) return;
    const model = state.models.get(byId("settings").elements.model.value);
    const chosen = idea.tracks.find((track) => String(track.number) === byId("idea-track").value);
    let notice = chosen ? chosen.notice : idea.notice;
    if (model && !model.continues) notice = `${model.name} cannot continue an idea: choose another model.`;
    else if (model && model.continues === "all") notice = "This model continues every track.";
    byId("idea-notice").textContent = notice;
    byId("idea-track-field").hidden = idea.tracks.length < 2 || !model || model.continues !== "line";
    showGenerateLabel(model);
  }

  function showIdea(idea) {
    state.idea = idea;
    byId("idea").hidden = false;
    byId("idea-name").textContent = `${idea.name}${idea.transcribed ? " (transcribed)" : ""} · ${idea.notes.length} notes`;
    trackChoices(idea);
    showNotice();
    const count = idea.tracks.length;
    byId("idea-card").hidden = false;
    byId("idea-card-title").textContent = `Your idea: ${idea.name}`;
    byId("idea-card-meta").textContent = `${describe(idea)} · ${count} track${count === 1 ? "" : "s"}`;
    drawIdea();
  }

  function drawIdea() {
    if (state.idea) drawRoll(byId("idea-roll"), state.idea, null, true);
  }

  function forgetIdea() {
    state.idea = null;
    byId("idea").hidden = true;
    byId("idea-card").hidden = true;
    byId("idea-file").value = "";
    showGenerateLabel(currentModel());
    showStatus("Takes start fresh again.");
  }

  async function uploadIdea() {
    const file = byId("idea-file").files[0];
    if (!file) return;
    showStatus(`Reading ${file.name}…`);
    try {
      const idea = await api(`/api/primers?name=${encodeURIComponent(file.name)}`, file, "application/octet-stream");
      showIdea(idea);
      showStatus(`${idea.name} is ready: press Continue my idea.`);
    } catch (error) {
      showStatus(error.message, true);
    }
  }

  // ----------------------------------------------------------------- history
  const RECORDING_OFF = "Recording is off (SEQART_NO_RECORD=1 or --no-record): this session's takes are not " +
    "kept in the feedback stores and leave the history when the studio stops; a take you rate is kept.";

  function when(take) {
    const date = new Date(take.created);
    return take.earlier ? date.toLocaleString() : date.toLocaleTimeString();
  }

  function summarize(settings) {
    return Object.entries(settings)
      .map(([name, value]) => `${name} ${value}`)
      .join(", ");
  }

  function historyItem(take) {
    const parts = [`${take.model_name}${take.index ? ` #${take.index}` : ""}`];
    if (take.seed !== null && take.seed !== undefined) parts.push(`seed ${take.seed}`);
    if (take.idea) parts.push(`continues ${take.idea.name}`);
    const button = el("button", { type: "button", title: summarize(take.settings) },
      el("span", { className: "when", textContent: when(take) }),
      `${parts.join(" · ")} · `,
      el("span", { className: "rating", textContent: ratingText(take.rating) }));
    button.addEventListener("click", () => reopen(take));
    const item = el("li", { className: take.earlier ? "earlier" : "" }, button);
    item.dataset.take = take.id;
    return item;
  }

  // Lists the newest takes again, or (older) appends the next page.
  async function refreshHistory(older) {
    try {
      const query = older && state.historyNext ? `?before=${encodeURIComponent(state.historyNext)}` : "";
      const page = await api(`/api/history${query}`);
      const items = page.takes.map(historyItem);
      if (query) byId("history").append(...items);
      else byId("history").replaceChildren(...items);
      state.historyNext = page.next;
      byId("history-more").hidden = !page.next;
      const note = [page.recording ? "" : RECORDING_OFF, ...page.notes].filter(Boolean).join(" ");
      byId("history-note").textContent = note;
      byId("history-note").hidden = !note;
    } catch (error) {
      showStatus(error.message, true);
    }
  }

  // The idea a take continued, back as the one to continue (or none, as the take had none).
  async function restoreIdea(take) {
    if (!take.idea) {
      if (state.idea) forgetIdea();
      return "";
    }
    try {
      const { primer, track } = await api(`/api/history/${take.id}/primer`, {});
      showIdea(primer);
      byId("idea-track").value = track === null ? "" : String(track);
      showNotice();
      return `, with its idea ${primer.name}`;
    } catch (error) {
      if (state.idea) forgetIdea();
      throw error;
    }
  }

  async function showCard(take) {
    if (!state.cards.has(take.id)) addTakes([await api(`/api/history/${take.id}`)]);
    const card = state.cards.get(take.id);
    card.node.scrollIntoView({ behavior: "smooth", block: "nearest" });
    card.node.classList.add("flash");
    window.setTimeout(() => card.node.classList.remove("flash"), 1200);
  }

  // One click on the history: the take's settings and idea back in the form, its card in view.
  // A take of a model the picker does not offer (the latent model that blends and varies,
  // when none was offered) has no settings for the form: its card alone comes into view.
  async function reopen(take) {
    if (!state.models.has(take.model) && take.settings.latent) {
      try {
        await showCard(take);
        showStatus(`${take.model_name} made that take (${take.settings.latent}); it is not a model to generate with.`);
      } catch (error) {
        showStatus(error.message, true);
      }
      return;
    }
    if (!fillForm(take)) return;
    try {
      const idea = await restoreIdea(take);
      await showCard(take);
      const seed = take.seed === null ? "" : ` (seed ${take.seed})`;
      showStatus(`Settings of ${take.model_name} ${take.index ? `take ${take.index}` : "take"}${seed}${idea} ` +
        "are back in the form.");
    } catch (error) {
      showStatus(error.message, true);
    }
  }

  // ------------------------------------------------------- tune on my ratings
  function currentModel() {
    return state.models.get(byId("settings").elements.model.value);
  }

  function showTuneModel() {
    const model = currentModel();
    const running = Boolean(state.job && state.job.state === "running");
    let note = "";
    if (model && !model.tunable) note = `${model.name} cannot be tuned (a ${model.type} model): choose another model.`;
    else if (model && model.makes === "pictures") {
      note = `Makes a new model from ${model.name} (the model chosen under Generate) whose pictures come ` +
        "closer to the ones you liked. Like a few of its pictures first.";
    } else if (model) {
      note = `Makes a new model from ${model.name} (the model chosen under Generate): likelier to play what ` +
        "you liked, less what you disliked. Like a few of its takes first.";
    }
    byId("tune-note").textContent = note;
    byId("tune-start").disabled = running || !model || !model.tunable;
  }

  function jobText(job) {
    const loss = typeof job.loss === "number" ? ` · loss ${job.loss.toFixed(3)}` : "";
    if (job.state === "running") return `${job.title}: step ${job.step} of ${job.total}${loss} · ${job.phase}…`;
    if (job.state === "done") return `${job.title}: done in ${job.total} steps → ${job.result.model.name}`;
    if (job.state === "cancelled") return `${job.title}: cancelled at step ${job.step} of ${job.total}`;
    return `${job.title} failed: ${job.error}`;
  }

  function showJob(job) {
    state.job = job;
    const running = job.state === "running";
    byId("tune-job").hidden = false;
    byId("tune-cancel").hidden = !running;
    byId("tune-cancel").disabled = job.phase === "cancelling";
    const bar = byId("tune-progress");
    bar.max = Math.max(job.total, 1);
    bar.value = job.state === "done" ? bar.max : job.step;
    byId("tune-phase").textContent = jobText(job);
    byId("tune-phase").classList.toggle("error", job.state === "failed");
    showTuneModel();
  }

  function figureText(value) {
    return typeof value === "number" ? value.toFixed(3) : "—";
  }

  function showFigures(rows, caption) {
    const table = byId("tune-figures");
    table.caption.textContent = caption;
    table.tBodies[0].replaceChildren(...rows.map((row) => {
      const measured = typeof row.before === "number" && typeof row.after === "number" && row.before > 0;
      const change = measured ? (100 * (row.after / row.before - 1)).toFixed(1) : null;
      const shown = change === null ? "" : ` (${change > 0 ? "+" : ""}${change}%)`;
      const after = el("td", { textContent: figureText(row.after) + shown });
      if (change !== null) after.className = change < 0 ? "better" : "worse";
      return el("tr", {}, el("td", { textContent: row.figure, title: row.detail }),
        el("td", { textContent: figureText(row.before) }), after);
    }));
    table.hidden = rows.length === 0;
  }

  async function finishJob(job) {
    showJob(job);
    if (job.state === "done") {
      await loadModels();
      state.tuned = job.result.model.id;
      showFigures(job.result.figures, job.result.caption);
      byId("tune-lines").replaceChildren(...job.result.lines.map((line) => el("li", { textContent: line })));
      byId("tune-report").hidden = false;
      byId("tune-use").hidden = false;
      showStatus(`${job.result.model.name} is ready: choose it under Model, or press Generate with the tuned model.`);
    } else if (job.state === "failed") {
      showStatus(job.error, true);
    } else {
      showStatus("Tuning cancelled; no new model.");
    }
  }

  function followJob(job) {
    for (const id of ["tune-figures", "tune-report", "tune-use"]) byId(id).hidden = true;
    showJob(job);
    const source = new EventSource(`/api/jobs/${job.id}/events`);
    source.addEventListener("progress", (event) => showJob({ ...state.job, ...JSON.parse(event.data) }));
    source.addEventListener("end", (event) => {
      source.close();
      finishJob(JSON.parse(event.data));
    });
    source.addEventListener("error", () => {
      if (source.readyState === EventSource.CLOSED) showStatus("Lost the tune's progress: reload the page.", true);
    });
  }

  async function startTune() {
    const model = currentModel();
    const raw = byId("tune-steps").value.trim();
    const body = raw === "" ? { model: model.id } : { model: model.id, steps: Number(raw) };
    byId("tune-start").disabled = true;
    try {
      followJob(await api("/api/tune", body));
      showStatus(`Tuning ${model.name} on your ratings; generating goes on meanwhile.`);
    } catch (error) {
      showStatus(error.message, true);
      showTuneModel();
    }
  }

  async function cancelTune() {
    if (!state.job) return;
    byId("tune-cancel").disabled = true;
    try {
      showJob(await api(`/api/jobs/${state.job.id}/cancel`, {}));
    } catch (error) {
      showStatus(error.message, true);
    }
  }

  function useTuned() {
    const model = state.models.get(state.tuned);
    if (!model) return;
    const form = byId("settings");
    const fields = () => byId("fields").querySelectorAll("[name]");
    const kept = new Map([...fields()].map((control) => [control.name, control.value]));
    form.elements.model.value = model.id;
    buildForm(model);
    for (const control of fields()) {  // the settings stay: a tuned model takes the same options
      if (kept.has(control.name)) control.value = kept.get(control.name);
    }
    showNotice();
    showTuneModel();
    form.scrollIntoView({ behavior: "smooth", block: "nearest" });
    showStatus(`${model.name} is chosen, with the same settings: press Generate.`);
  }

  // The steps a tune of this model takes unless told otherwise (an image model's are more).
  function showTuneSteps(model) {
    if (model && model.tune_steps) byId("tune-steps").value = String(model.tune_steps);
  }

  // ------------------------------------------------------------------- start
  async function generate(event) {
    event.preventDefault();
    const request = readForm();
    const button = byId("generate");
    const other = generators.get(state.models.get(request.model).makes);
    button.disabled = true;
    if (other) {
      try {
        await other(request);
      } finally {
        button.disabled = false;
      }
      return;
    }
    showStatus(`Generating ${request.num} take${request.num === 1 ? "" : "s"}…`);
    try {
      const { takes, warning, notice } = await api("/api/takes", request);
      addTakes(takes);
      const seed = takes.length ? takes[0].seed : "";
      const made = `${takes.length} new take${takes.length === 1 ? "" : "s"} (seed ${seed})${notice ? `, ${notice}` : ""}.`;
      showStatus(warning || made, Boolean(warning));
      refreshHistory();
    } catch (error) {
      showStatus(error.message, true);
    } finally {
      button.disabled = false;
    }
  }

  // Adds the models the picker does not offer yet (all of them at first, a tuned one later).
  async function loadModels() {
    const { models, tune } = await api("/api/models");
    const select = byId("settings").elements.model;
    for (const model of models) {
      if (!state.models.has(model.id)) {
        select.append(el("option", { value: model.id, textContent: `${model.name} (${model.type})` }));
      }
      state.models.set(model.id, model);
    }
    return { models, tune };
  }

  async function start() {
    const form = byId("settings");
    form.addEventListener("submit", generate);
    form.elements.model.addEventListener("change", () => {
      const model = state.models.get(form.elements.model.value);
      buildForm(model);
      showNotice();
      showTuneModel();
      showTuneSteps(model);
    });
    byId("tune-start").addEventListener("click", startTune);
    byId("tune-cancel").addEventListener("click", cancelTune);
    byId("tune-use").addEventListener("click", useTuned);
    byId("idea-file").addEventListener("change", uploadIdea);
    byId("idea-track").addEventListener("change", showNotice);
    byId("idea-clear").addEventListener("click", forgetIdea);
    byId("history-more").addEventListener("click", () => refreshHistory(true));
    window.addEventListener("resize", () => {
      for (const card of state.cards.values()) drawRoll(card.canvas, card.take, null);
      drawIdea();
    });
    try {
      const { models, tune } = await loadModels();
      const steps = byId("tune-steps");
      steps.value = String(tune.steps);
      steps.max = String(tune.max_steps);
      if (!models.length) {
        showStatus("No model to offer: give one with seqart studio --model FOLDER.", true);
        showTuneModel();
        return;
      }
      buildForm(models[0]);
      showTuneModel();
      showTuneSteps(models[0]);
      showStatus("Ready.");
      refreshHistory();
      const { jobs } = await api("/api/jobs");
      const running = jobs.find((job) => job.state === "running");
      if (running) followJob(running);  // a page opened again while a tune runs
    } catch (error) {
      showStatus(error.message, true);
    }
  }

  window.seqartStudio = { api, el, showStatus, makeCard, drawRoll, refreshHistory, currentModel, ratingText, showIdea,
    showRating,
    onCard: (hook) => cardHooks.push(hook), onModel: (hook) => modelHooks.push(hook),
    onGenerate: (makes, generator) => generators.set(makes, generator) };
  start();
})();
