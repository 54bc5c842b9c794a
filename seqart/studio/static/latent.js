// seqart studio page, blend and vary: controls on every card and the attribute sliders,
// over the latent-model API (/api/latent, /api/blend, /api/vary, /api/shift). The model
// does all the music in Python; this file only asks and draws the takes it gets back as
// strips of cards (studio.js builds each card: roll, playback, downloads, rating).
"use strict";

(() => {
  const studio = window.seqartStudio;
  const { api, el, showStatus } = studio;
  const byId = (id) => document.getElementById(id);
  // takes: every take with a card, by id (what "blend with…" offers); selected: the
  // take the sliders move; about: GET /api/latent's answer (failure: why it did not come)
  const latent = { takes: new Map(), selects: new Set(), selected: null, about: null, failure: null, refreshing: false };

  // ------------------------------------------------------------------ naming
  function signed(value) {
    return `${value > 0 ? "+" : ""}${Number(value).toFixed(1)}`;
  }

  // what a take is called in the strips' titles and (withTime) in "blend with…"
  function takeLabel(take, withTime) {
    const { settings } = take;
    let label = `${take.model_name} · take ${take.index} of ${take.num}`;
    if (settings.latent === "blend") label = `blend ${take.index} of ${take.num}`;
    else if (settings.latent === "vary") label = `variation ${take.index} of ${take.num}`;
    else if (settings.latent === "shift") label = `${settings.attribute} ${signed(settings.amount)}`;
    return withTime ? `${label} · ${new Date(take.created).toLocaleTimeString()}` : label;
  }

  function latentTitle(take) {
    const label = takeLabel(take, false);
    if (take.settings.latent === "blend") {
      const share = Math.round((100 * (take.index - 1)) / Math.max(take.num - 1, 1));
      return `${take.model_name} · ${label} (${share}% of the way)`;
    }
    return `${take.model_name} · ${label}`;
  }

  function currentModel() {
    if (!latent.about) return null;
    const chosen = byId("latent-model").value;
    return latent.about.models.find((model) => model.id === chosen) || latent.about.models[0] || null;
  }

  function usable() {
    const model = currentModel();
    return Boolean(model && !model.error);
  }

  // ------------------------------------------------------------------ strips
  function addStrip(title, takes) {
    const row = el("div", { className: "strip-cards" });
    const strip = el("section", { className: "strip" }, el("h3", { className: "strip-title", textContent: title }), row);
    strip.setAttribute("aria-label", title);
    const empty = byId("empty");
    empty.hidden = true;
    byId("takes").insertBefore(strip, empty.nextSibling);
    const cards = takes.map(studio.makeCard);
    for (const card of cards) row.append(card.node);
    for (const card of cards) studio.drawRoll(card.canvas, card.take, null);
    strip.scrollIntoView({ behavior: "smooth", block: "nearest" });
    return strip;
  }

  async function ask(path, body, title, button) {
    if (button) button.disabled = true;
    try {
      const { takes, warning, notice } = await api(path, body);
      addStrip(title, takes);
      const made = `${takes.length} new take${takes.length === 1 ? "" : "s"}: ${title}${notice ? `; ${notice}` : ""}.`;
      showStatus(warning || made, Boolean(warning));
      studio.refreshHistory();
    } catch (error) {
      showStatus(error.message, true);
    } finally {
      if (button) button.disabled = false;
    }
  }

  function numberOf(id) {
    const raw = byId(id).value.trim();
    return raw === "" ? null : Number(raw);
  }

  function withModel(body) {
    const model = currentModel();
    return model ? { ...body, model: model.id } : body;
  }

  function blend(from, select) {
    const to = latent.takes.get(select.value);
    select.value = "";
    if (!to) return;
    const steps = numberOf("blend-steps");
    showStatus(`Blending ${takeLabel(from)} into ${takeLabel(to)}…`);
    ask("/api/blend", withModel({ a: from.id, b: to.id, steps }),
      `blend from ${takeLabel(from)} to ${takeLabel(to)}`, select);
  }

  function vary(take, button) {
    const body = withModel({ take: take.id, num: numberOf("vary-num"), amount: numberOf("vary-amount") });
    showStatus(`Varying ${takeLabel(take)}…`);
    ask("/api/vary", body, `variations of ${takeLabel(take)}`, button);
  }

  function shift(attribute, slider) {
    const take = latent.selected;
    const amount = Number(slider.value);
    if (!take || amount === 0) return;
    showStatus(`Moving ${takeLabel(take)} along ${attribute.label.toLowerCase()}…`);
    ask("/api/shift", withModel({ take: take.id, attribute: attribute.name, amount }),
      `${takeLabel(take)} moved ${signed(amount)} in ${attribute.label.toLowerCase()}`, slider);
  }

  // ------------------------------------------------------------ card controls
  function refreshChoices() {
    latent.refreshing = false;
    for (const select of latent.selects) {
      if (!select.isConnected) {
        latent.selects.delete(select);
        continue;
      }
      const own = select.dataset.take;
      const options = [el("option", { value: "", textContent: "blend with…" })];
      for (const take of latent.takes.values()) {
        if (take.id !== own) options.push(el("option", { value: take.id, textContent: takeLabel(take, true) }));
      }
      select.replaceChildren(...options);
      select.disabled = options.length < 2 || !usable();
    }
  }

  function scheduleChoices() {
    if (latent.refreshing) return;
    latent.refreshing = true;
    queueMicrotask(refreshChoices);
  }

  function addControls(card) {
    const { take } = card;
    latent.takes.set(take.id, take);
    if (take.settings.latent) card.node.querySelector("h3").textContent = latentTitle(take);
    const select = el("select", { className: "blend-with", title: "blend this take into another: a strip of takes between them" });
    select.dataset.take = take.id;
    select.addEventListener("change", () => blend(take, select));
    latent.selects.add(select);
    const varyButton = el("button", { type: "button", className: "vary", textContent: "Vary" });
    varyButton.addEventListener("click", () => vary(take, varyButton));
    const sliders = el("button", { type: "button", className: "sliders", textContent: "Sliders" });
    sliders.addEventListener("click", () => selectTake(take));
    for (const control of [varyButton, sliders]) control.disabled = !usable();
    card.node.append(el("div", { className: "actions latent-actions" }, select, varyButton, sliders));
    scheduleChoices();
  }

  // ------------------------------------------------------------------ sliders
  function rounded(value) {
    return String(Number(value.toPrecision(2)));
  }

  function sliderField(attribute) {
    const output = el("output", { textContent: "0.0" });
    const slider = el("input", { type: "range", name: attribute.name, min: String(attribute.min),
      max: String(attribute.max), step: String(attribute.step), value: "0" });
    slider.addEventListener("input", () => { output.textContent = signed(slider.value); });
    slider.addEventListener("change", () => shift(attribute, slider));
    const spans = attribute.low !== null && attribute.high !== null
      ? `+1 moves a span from about ${rounded(attribute.low)} to ${rounded(attribute.high)} ${attribute.unit}`
      : attribute.unit;
    return el("label", { className: "field slider" },
      el("span", { className: "label" }, `${attribute.label} `, output),
      slider,
      el("span", { className: "help", textContent: spans }));
  }

  function buildSliders() {
    const model = currentModel();
    const sliders = byId("shift-sliders");
    sliders.replaceChildren(...(model ? model.attributes.map(sliderField) : []));
  }

  function selectTake(take) {
    latent.selected = take;
    byId("shift-panel").hidden = false;
    byId("shift-take").textContent = `Moving: ${takeLabel(take)}`;
    for (const slider of byId("shift-sliders").querySelectorAll("input")) {
      slider.value = "0";
      slider.dispatchEvent(new Event("input"));
    }
    byId("latent-panel").scrollIntoView({ behavior: "smooth", block: "nearest" });
    showStatus(`The sliders move ${takeLabel(take)}: move one and let go for a new take.`);
  }

  // -------------------------------------------------------------------- start
  function showModel() {
    const model = currentModel();
    const note = byId("latent-note");
    if (latent.failure) note.textContent = `Blending and varying are off: ${latent.failure}`;
    else if (!model) note.textContent = "No latent melody model is offered: blending and varying are off.";
    else if (model.error) note.textContent = `Cannot use ${model.name}: ${model.error}`;
    else {
      note.textContent = `${model.name} reads a take's top voice in spans of ${model.span_beats} beats; ` +
        "on every card, \"blend with…\" makes a strip of takes between two, Vary makes variations, " +
        "Sliders moves a take along an attribute.";
    }
    buildSliders();
    for (const control of document.querySelectorAll(".latent-actions button")) control.disabled = !usable();
    scheduleChoices();
  }

  function fillSettings(about) {
    const steps = byId("blend-steps");
    Object.assign(steps, { min: String(about.blend.min_steps), max: String(about.blend.max_steps),
      value: String(about.blend.steps) });
    const num = byId("vary-num");
    Object.assign(num, { min: "1", max: String(about.vary.max_num), value: String(about.vary.num) });
    const amount = byId("vary-amount");
    Object.assign(amount, { min: "0", max: String(about.vary.max_amount), value: String(about.vary.amount) });
    const select = byId("latent-model");
    select.replaceChildren(...about.models.map((model) => el("option", { value: model.id, textContent: model.name })));
    byId("latent-model-field").hidden = about.models.length < 2;
  }

  async function start() {
    studio.onCard(addControls);
    byId("latent-model").addEventListener("change", showModel);
    try {
      latent.about = await api("/api/latent");
      fillSettings(latent.about);
    } catch (error) {
      latent.failure = error.message;
    }
    showModel();
  }

  start();
})();
