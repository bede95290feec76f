// Runs on the audio thread: mono float samples at the context's rate -> 16 kHz int16 frames.
// Downsampling averages each output sample's span of input (a box low-pass, enough for speech
// recognition at 16 kHz) and keeps fractional positions across blocks, so no drift or clicks.
class PcmCapture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.step = sampleRate / 16000; // input samples per output sample
    this.pos = 0; // fractional read position of the next output sample in the pending input
    this.pending = new Float32Array(0);
    this.out = [];
    this.peak = 0;
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel) return true;
    const data = new Float32Array(this.pending.length + channel.length);
    data.set(this.pending);
    data.set(channel, this.pending.length);
    while (this.pos + this.step <= data.length) {
      const a = Math.floor(this.pos), b = Math.floor(this.pos + this.step);
      let sum = 0;
      for (let i = a; i < b; i++) sum += data[i];
      const v = Math.max(-1, Math.min(1, sum / Math.max(1, b - a)));
      this.peak = Math.max(this.peak, Math.abs(v));
      this.out.push(v < 0 ? v * 32768 : v * 32767);
      this.pos += this.step;
    }
    const keep = Math.floor(this.pos);
    this.pending = data.slice(keep);
    this.pos -= keep;
    if (this.out.length >= 1600) { // 100 ms per message
      const frame = Int16Array.from(this.out);
      this.out = [];
      this.port.postMessage({ pcm: frame.buffer, peak: this.peak }, [frame.buffer]);
      this.peak = 0;
    }
    return true;
  }
}

registerProcessor("pcm-capture", PcmCapture);
