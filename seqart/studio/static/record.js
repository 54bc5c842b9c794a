// seqart studio, "Continue my idea" from the microphone: Record captures one voice or
// instrument with the Web Audio API (record-worklet.js copies the samples off the audio
// thread), shows its level and elapsed time, and Stop (or the length limit) ends it. The
// samples become a 16-bit mono WAV file here, which goes to the studio's own upload route
// (POST /api/primers?name=recording.wav) and nowhere else; the server transcribes it with
// the command line's reader, and the idea's card appears as for an uploaded file.
"use strict";

(() => {
  const studio = window.seqartStudio;
  const { api, showStatus } = studio;
  const byId = (id) => document.getElementById(id);
  // the server's upload limit in bytes (seqart.studio.uploads.MAX_UPLOAD: 5 MB)
  const MAX_UPLOAD = 5 * 1024 * 1024;
  const WAV_HEADER = 44;  // bytes before the samples in a plain PCM WAV file
  const LONGEST_SECONDS = 60;  // a recording stops by itself here even when the limit allows more
  const SHORTEST_SECONDS = 0.5;  // less is not sent: nothing a transcription could find notes in
  const NAME = "recording.wav";
  const FLUSH_WAIT_MS = 1000;  // how long Stop waits for the audio thread's last block
  // what the microphone should give: the raw signal (echo cancelling, noise suppression and
  // gain control smear the pitch and the onsets the transcription looks for)
  const MICROPHONE = { audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false,
    autoGainControl: false } };
  // phase: idle | starting | recording | stopping | sending; level: the meter's value, 0..1
  const rec = { phase: "idle", stream: null, context: null, node: null, blocks: [], count: 0, limit: 0, level: 0 };

  // ------------------------------------------------------------ the WAV file
  // samples: Float32Array in [-1, 1] (clipped beyond), one channel; sampleRate in Hz.
  // Returns an ArrayBuffer: a RIFF/WAVE file, PCM 16-bit little-endian, mono.
  function encodeWav(samples, sampleRate) {
    const dataBytes = 2 * samples.length;
    const view = new DataView(new ArrayBuffer(WAV_HEADER + dataBytes));
    const ascii = (offset, word) => {
      for (let i = 0; i < word.length; i += 1) view.setUint8(offset + i, word.charCodeAt(i));
    };
    ascii(0, "RIFF");
    view.setUint32(4, WAV_HEADER - 8 + dataBytes, true);  // the size of all that follows
    ascii(8, "WAVE");
    ascii(12, "fmt ");
    view.setUint32(16, 16, true);  // the fmt chunk's size
    view.setUint16(20, 1, true);  // PCM
    view.setUint16(22, 1, true);  // one channel
    view.setUint32(24, sampleRate, true);
    view.setUint32(28, 2 * sampleRate, true);  // bytes a second
    view.setUint16(32, 2, true);  // bytes a frame
    view.setUint16(34, 16, true);  // bits a sample
    ascii(36, "data");
    view.setUint32(40, dataBytes, true);
    for (let i = 0; i < samples.length; i += 1) {
      const sample = Math.max(-1, Math.min(1, samples[i]));
      view.setInt16(WAV_HEADER + 2 * i, Math.round(sample < 0 ? sample * 0x8000 : sample * 0x7fff), true);
    }
    return view.buffer;
  }

  // The most samples a recording at sampleRate (Hz) keeps: its WAV file stays within the upload
  // limit (54 s at 48 kHz, 59 s at 44.1 kHz), and within LONGEST_SECONDS.
  function maxSamples(sampleRate) {
    return Math.min(Math.floor((MAX_UPLOAD - WAV_HEADER) / 2), Math.floor(LONGEST_SECONDS * sampleRate));
  }

  // ----------------------------------------------------------------- showing
  function clock(seconds) {
    const whole = Math.floor(seconds);
    return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
  }

  function showPhase() {
    const button = byId("record");
    const recording = rec.phase === "recording";
    button.textContent = recording ? "Stop" : "Record";
    button.classList.toggle("on", recording);
    button.disabled = rec.phase !== "idle" && !recording;
    byId("idea-file").disabled = rec.phase !== "idle";
    byId("record-level").hidden = !recording;
    byId("record-time").hidden = !recording;
  }

  function showProgress() {
    const rate = rec.context.sampleRate;
    byId("record-level").value = rec.level;
    byId("record-time").textContent = `${clock(rec.count / rate)} of ${clock(rec.limit / rate)}`;
  }

  // A meter reading for a block's peak: -60 dBFS and below is empty, 0 dBFS full; it falls
  // back slowly, so a short peak stays visible.
  function meterLevel(samples) {
    let peak = 0;
    for (const sample of samples) peak = Math.max(peak, Math.abs(sample));
    const reading = peak > 0 ? Math.max(0, 1 + (20 * Math.log10(peak)) / 60) : 0;
    return Math.max(Math.min(reading, 1), rec.level * 0.85);
  }

  // One line for why the microphone did not open (error: getUserMedia's DOMException).
  function microphoneMessage(error) {
    const name = error && error.name;
    if (name === "NotAllowedError" || name === "SecurityError") {
      return "The browser denied the microphone: allow it for this page (the icon in the address bar) and press " +
        "Record again.";
    }
    if (name === "NotFoundError" || name === "OverconstrainedError") {
      return "No microphone found: connect one and press Record again.";
    }
    if (name === "NotReadableError" || name === "AbortError") {
      return "The microphone could not be opened (another program may be using it): press Record again.";
    }
    return `Cannot record: ${(error && error.message) || error}`;
  }

  // --------------------------------------------------------------- recording
  async function startRecording() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.AudioWorkletNode) {
      showStatus("This page cannot use a microphone: browsers give one only to secure pages and to this " +
        "machine's own address (open the studio at 127.0.0.1 or localhost).", true);
      return;
    }
    Object.assign(rec, { phase: "starting", blocks: [], count: 0, level: 0 });
    showPhase();
    try {
      rec.stream = await navigator.mediaDevices.getUserMedia(MICROPHONE);
      rec.context = new AudioContext();
      await rec.context.audioWorklet.addModule("/static/record-worklet.js");
      rec.node = new AudioWorkletNode(rec.context, "seqart-recorder", { numberOfInputs: 1, numberOfOutputs: 0,
        channelCount: 1, channelCountMode: "explicit" });
      rec.node.port.onmessage = (event) => takeBlock(event.data);
      rec.context.createMediaStreamSource(rec.stream).connect(rec.node);
      await rec.context.resume();
    } catch (error) {
      release();
      rec.phase = "idle";
      showPhase();
      showStatus(microphoneMessage(error), true);
      return;
    }
    rec.limit = maxSamples(rec.context.sampleRate);
    rec.phase = "recording";
    showPhase();
    showProgress();
    showStatus(`Recording (at most ${clock(rec.limit / rec.context.sampleRate)}): press Stop when the idea is done.`);
  }

  // A block from the worklet: { samples (Float32Array), last (the one after Stop) }.
  function takeBlock({ samples, last }) {
    if (rec.phase === "recording" || rec.phase === "stopping") {
      const room = rec.limit - rec.count;
      const kept = samples.length > room ? samples.subarray(0, room) : samples;
      rec.blocks.push(kept);
      rec.count += kept.length;
      rec.level = meterLevel(kept);
    }
    if (rec.phase === "recording") {
      showProgress();
      if (rec.count >= rec.limit) stopRecording();
    } else if (rec.phase === "stopping" && last) {
      sendRecording();
    }
  }

  function stopRecording() {
    if (rec.phase !== "recording") return;
    rec.phase = "stopping";
    showPhase();
    rec.node.port.postMessage("flush");  // the worklet answers with what it holds, marked last
    window.setTimeout(sendRecording, FLUSH_WAIT_MS);  // an audio thread that stalled: send what came
  }

  // Lets the microphone go (the browser's recording indicator goes off).
  function release() {
    if (rec.stream) for (const track of rec.stream.getTracks()) track.stop();
    if (rec.node) rec.node.port.onmessage = null;
    if (rec.context) rec.context.close();
    Object.assign(rec, { stream: null, node: null, context: null });
  }

  function recordedSamples() {
    const samples = new Float32Array(rec.count);
    let at = 0;
    for (const block of rec.blocks) {
      samples.set(block, at);
      at += block.length;
    }
    rec.blocks = [];
    return samples;
  }

  async function sendRecording() {
    if (rec.phase !== "stopping") return;  // sent already
    const rate = rec.context.sampleRate;
    const seconds = rec.count / rate;
    const full = rec.count >= rec.limit;
    const samples = recordedSamples();
    release();
    if (seconds < SHORTEST_SECONDS) {
      rec.phase = "idle";
      showPhase();
      showStatus(`Nothing to transcribe: the recording lasted ${seconds.toFixed(1)} s. Record a few notes.`, true);
      return;
    }
    rec.phase = "sending";
    showPhase();
    const stopped = full ? `${clock(seconds)}, the longest a recording may be` : clock(seconds);
    showStatus(`Transcribing the recording (${stopped})…`);
    try {
      const wav = new Blob([encodeWav(samples, rate)], { type: "audio/wav" });
      const idea = await api(`/api/primers?name=${encodeURIComponent(NAME)}`, wav, "application/octet-stream");
      studio.showIdea(idea);
      showStatus(`${idea.name} is transcribed (${idea.notes.length} notes): press Continue my idea.`);
    } catch (error) {
      showStatus(error.message, true);
    } finally {
      rec.phase = "idle";
      showPhase();
    }
  }

  function toggle() {
    if (rec.phase === "idle") startRecording();
    else stopRecording();
  }

  byId("record").addEventListener("click", toggle);
  window.seqartRecord = { encodeWav, maxSamples };
})();
