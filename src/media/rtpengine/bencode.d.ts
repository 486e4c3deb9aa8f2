/** Types of the `bencode` package (v4, ESM), which ships none: what the ng client uses. */
declare module 'bencode' {
  /** A decoded value: byte strings come back as Uint8Array (dictionary keys as strings). */
  export type BencodeValue = number | Uint8Array | BencodeValue[] | { [key: string]: BencodeValue };
  interface Bencode {
    encode(value: unknown): Uint8Array;
    decode(data: Uint8Array): BencodeValue;
  }
  const bencode: Bencode;
  export default bencode;
}
