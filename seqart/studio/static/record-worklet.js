// seqart studio, recording: the audio-thread half (an AudioWorklet processor; record.js
// loads it). It copies the microphone's first channel, as float samples in [-1, 1] at the
// audio context's rate, and hands them to the page in blocks of BLOCK samples (the
// audio thread gives 128 at a time; posting each would be hundreds of messages a second).
// Each message is { samples, last }: "flush" from the page sends what is left, marked last.
"use strict";

const BLOCK = 2048;

class RecorderProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.block = new Float32Array(BLOCK);
    this.filled = 0;
    this.port.onmessage = (event) => {
      if (event.data === "flush") this.flush(true);
    };
  }

  flush(last) {
    const samples = this.block.slice(0, this.filled);
    this.filled = 0;
    this.port.postMessage({ samples, last }, [samples.buffer]);
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel) return true;  // no input connected yet: keep running
    let read = 0;
    while (read < channel.length) {
      const take = Math.min(channel.length - read, BLOCK - this.filled);
      this.block.set(channel.subarray(read, read + take), this.filled);
      this.filled += take;
      read += take;
      if (this.filled === BLOCK) this.flush(false);
    }
    return true;
  }
}

registerProcessor("seqart-recorder", RecorderProcessor);
