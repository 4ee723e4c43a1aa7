// Helpers of the dot32 pieces (put in front of each that uses them). Whole
// words are unpacked with one vector shift and mask: component i of the
// result comes from byte i (lowest first).

const DOT_BYTE_SHIFTS = vec4<u32>(0u, 8u, 16u, 24u);

// The four unsigned bytes of q.
fn dot_u8x4(q: u32) -> vec4<f32> {
  return vec4<f32>((vec4<u32>(q) >> DOT_BYTE_SHIFTS) & vec4<u32>(0xffu));
}

// The four signed bytes of q.
fn dot_i8x4(q: u32) -> vec4<f32> {
  return vec4<f32>(bitcast<vec4<i32>>(vec4<u32>(q) << (vec4<u32>(24u) - DOT_BYTE_SHIFTS)) >> vec4<u32>(24u));
}

// The four low (shift 0) or high (shift 4) nibbles of q, as integers.
fn dot_nibbles(q: u32, shift: u32) -> vec4<u32> {
  return (vec4<u32>(q >> shift) >> DOT_BYTE_SHIFTS) & vec4<u32>(15u);
}

// Words w .. w+3 of `weights`, or, when `half`, the 16 bytes that start 2
// bytes into word w (five loads): a field at an even byte offset o is
// dot_words4(o >> 2, (o & 2) != 0).
fn dot_words4(w: u32, half: bool) -> vec4<u32> {
  let a = vec4<u32>(weights[w], weights[w + 1u], weights[w + 2u], weights[w + 3u]);
  let b = vec4<u32>(a.yzw, weights[w + 4u]);
  return select(a, (a >> vec4<u32>(16u)) | (b << vec4<u32>(16u)), half);
}

// The same for 32 bytes (nine loads), as two vec4s.
fn dot_words8(w: u32, half: bool) -> array<vec4<u32>, 2> {
  let a = vec4<u32>(weights[w], weights[w + 1u], weights[w + 2u], weights[w + 3u]);
  let c = vec4<u32>(weights[w + 4u], weights[w + 5u], weights[w + 6u], weights[w + 7u]);
  let b = vec4<u32>(a.yzw, c.x);
  let e = vec4<u32>(c.yzw, weights[w + 8u]);
  let s = vec4<u32>(16u);
  return array<vec4<u32>, 2>(select(a, (a >> s) | (b << s), half), select(c, (c >> s) | (e << s), half));
}
