/**
 * Conference mixing (N − 1 mix): each party receives the sum of every other party's audio,
 * clipped to 16 bits, and never its own voice.
 */

/** For each input frame, the clipped sum of all the others (all frames the same length). */
export function mixFrames(inputs: readonly Int16Array[]): Int16Array[] {
  const length = inputs[0]?.length ?? 0;
  const total = new Int32Array(length);
  for (const frame of inputs) for (let i = 0; i < length; i++) total[i] += frame[i];
  return inputs.map((own) => {
    const out = new Int16Array(length);
    for (let i = 0; i < length; i++) {
      const v = total[i] - own[i];
      out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
    }
    return out;
  });
}
