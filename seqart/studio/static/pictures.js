// seqart studio page, pictures: an image model's grid of pictures (each rated and
// downloadable) and its latent walks (a loop, or in time with a take), over /api/pictures
// and /api/walks. The model draws in Python; this file asks and shows what comes back.
// studio.js calls generate() below when the chosen model makes pictures, and tells us
// which model is chosen (the walk panel shows for an image model only).
"use strict";

(() => {
  const studio = window.seqartStudio;
  const { api, el, showStatus } = studio;
  const byId = (id) => document.getElementById(id);
  // takes: every take with a card, by id (what a walk may move in time with)
  const pictures = { takes: new Map(), refreshing: false };
  const WALK_FRAMES = { min: 2, max: 240, value: 48 };  // as the API bounds them (pictures.py)

  function plural(count, word) {
    return `${count} ${word}${count === 1 ? "" : "s"}`;
  }

  function insertCard(node) {
    const empty = byId("empty");
    empty.hidden = true;
    byId("takes").insertBefore(node, empty.nextSibling);
    node.scrollIntoView({ behavior: "smooth", block: "nearest" });
  }

  // ------------------------------------------------------------------ rating
  function showRating(tile) {
    studio.showRating(tile, tile.picture.rating);
  }

  async function rate(tile, rating) {
    try {
      const rated = await api(`/api/pictures/${tile.picture.id}/rating`, { rating });
      tile.picture.rating = rated.rating;
      showRating(tile);
      showStatus(`Picture ${rated.index} rated ${studio.ratingText(rated.rating)}; kept with its PNG in ` +
        `${rated.model_name}'s feedback store.`);
    } catch (error) {
      showStatus(error.message, true);
    }
  }

  // -------------------------------------------------------------------- grid
  function pictureTile(picture) {
    const tile = { picture };
    const image = el("img", { src: picture.image, alt: `picture ${picture.index} of ${picture.num}`,
      width: picture.width * 4, height: picture.height * 4 });
    tile.like = el("button", { type: "button", className: "like", textContent: "Like" });
    tile.like.addEventListener("click", () => rate(tile, "like"));
    tile.dislike = el("button", { type: "button", className: "dislike", textContent: "Dislike" });
    tile.dislike.addEventListener("click", () => rate(tile, "dislike"));
    tile.stars = [1, 2, 3, 4, 5].map((stars) => {
      const star = el("button", { type: "button", className: "star", textContent: "☆", title: `${stars} of 5` });
      star.addEventListener("click", () => rate(tile, stars));
      return star;
    });
    const download = el("a", { href: picture.download, download: "", textContent: "PNG" });
    tile.node = el("figure", { className: "picture" }, image,
      el("figcaption", {},
        el("span", { className: "rating" }, tile.like, tile.dislike),
        el("span", { className: "rating stars" }, ...tile.stars),
        download));
    tile.node.dataset.picture = picture.id;
    showRating(tile);
    return tile;
  }

  function addGrid(made) {
    const [first] = made;
    const title = `${first.model_name} · ${plural(made.length, "picture")} · seed ${first.seed}`;
    const card = el("article", { className: "card picture-grid" },
      el("div", { className: "card-head" },
        el("h3", { textContent: title }),
        el("span", { className: "help", textContent: new Date(first.created).toLocaleTimeString() })),
      el("div", { className: "pictures" }, ...made.map((picture) => pictureTile(picture).node)));
    card.setAttribute("aria-label", title);
    insertCard(card);
  }

  async function generate(request) {
    const body = { model: request.model, num: request.num, seed: request.options.seed ?? null };
    showStatus(`Drawing ${plural(request.num, "picture")}…`);
    try {
      const { pictures: made, warning } = await api("/api/pictures", body);
      addGrid(made);
      showStatus(warning || `${plural(made.length, "new picture")} (seed ${made[0].seed}): like the ones you ` +
        "like, then tune the model on them.", Boolean(warning));
    } catch (error) {
      showStatus(error.message, true);
    }
  }

  // -------------------------------------------------------------------- walks
  function takeLabel(take) {
    const which = take.index ? `take ${take.index} of ${take.num}` : "a take";
    return `${take.model_name} · ${which} · ${new Date(take.created).toLocaleTimeString()}`;
  }

  function refreshTakes() {
    pictures.refreshing = false;
    const select = byId("walk-take");
    const chosen = select.value;
    const options = [el("option", { value: "", textContent: "none: a closed loop" })];
    for (const take of pictures.takes.values()) {
      options.push(el("option", { value: take.id, textContent: takeLabel(take) }));
    }
    select.replaceChildren(...options);
    if (pictures.takes.has(chosen)) select.value = chosen;
    byId("walk-frames").disabled = select.value !== "";
  }

  function scheduleTakes() {
    if (pictures.refreshing) return;
    pictures.refreshing = true;
    queueMicrotask(refreshTakes);
  }

  function walkMeta(walk) {
    const parts = [plural(walk.frames, "frame"), `${walk.seconds.toFixed(1)} s`, `seed ${walk.seed}`];
    if (walk.take) parts.unshift(`in time with ${walk.take_title}, ${walk.steps_per_beat} frames a beat`);
    return parts.join(" · ");
  }

  function addWalk(walk) {
    const title = `${walk.model_name} · ${walk.take ? "walk in time with a take" : "latent walk"}`;
    const image = el("img", { className: "walk", src: walk.image, alt: title });
    const download = el("a", { href: walk.image, download: `${walk.model_name}-walk-${walk.seed}.gif`,
      textContent: "GIF" });
    const actions = el("div", { className: "actions" }, download);
    const take = walk.take ? pictures.takes.get(walk.take) : null;
    if (take) {  // the GIF starts again with the take's sound
      const audio = el("audio", { preload: "none", src: take.downloads.wav });
      const play = el("button", { type: "button", textContent: "Play with the take" });
      play.addEventListener("click", () => {
        image.src = `${walk.image}?from=${Date.now()}`;
        audio.currentTime = 0;
        audio.play().catch((error) => showStatus(`Cannot play: ${error.message}`, true));
      });
      actions.prepend(play, audio);
    }
    const card = el("article", { className: "card walk-card" },
      el("div", { className: "card-head" },
        el("h3", { textContent: title }),
        el("span", { className: "help", textContent: new Date(walk.created).toLocaleTimeString() })),
      el("p", { className: "meta", textContent: walkMeta(walk) }),
      image, actions);
    card.dataset.walk = walk.id;
    insertCard(card);
  }

  function numberOf(id) {
    const raw = byId(id).value.trim();
    return raw === "" ? null : Number(raw);
  }

  async function walk() {
    const model = studio.currentModel();
    const take = byId("walk-take").value;
    const body = { model: model.id, seed: numberOf("walk-seed") };
    if (take) body.take = take;
    else body.frames = numberOf("walk-frames");
    const button = byId("walk-start");
    button.disabled = true;
    showStatus(take ? "Walking in time with the take…" : "Walking through the latent space…");
    try {
      const made = await api("/api/walks", body);
      addWalk(made);
      showStatus(`A walk of ${plural(made.frames, "frame")} (seed ${made.seed}).`);
    } catch (error) {
      showStatus(error.message, true);
    } finally {
      button.disabled = false;
    }
  }

  // -------------------------------------------------------------------- start
  function showModel(model) {
    const makesPictures = Boolean(model && model.makes === "pictures");
    byId("walk-panel").hidden = !makesPictures;
    if (makesPictures) {
      byId("walk-note").textContent = `A GIF of ${model.name}'s pictures as its latent code moves: round a ` +
        "loop, or with the notes of a take (make one with a music model first).";
      byId("walk-start").disabled = Boolean(model.error);
    }
  }

  function start() {
    Object.assign(byId("walk-frames"), { min: String(WALK_FRAMES.min), max: String(WALK_FRAMES.max),
      value: String(WALK_FRAMES.value) });
    studio.onGenerate("pictures", generate);
    studio.onModel(showModel);
    studio.onCard((card) => {
      pictures.takes.set(card.take.id, card.take);
      scheduleTakes();
    });
    byId("walk-take").addEventListener("change", refreshTakes);
    byId("walk-start").addEventListener("click", walk);
    refreshTakes();
    showModel(studio.currentModel());
  }

  start();
})();
