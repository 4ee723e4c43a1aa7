// Word loads of the dot32 pieces for 16- and 32-byte fields at even byte
// offsets (put in front of each that uses them, after helpers.wgsl).

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
